/**
 * The worker-host interface: what an executor needs from the place its workers run (threads of
 * this process, or child processes). The executor decides which slot to start or wake (the core
 * answers that); the host starts, wakes and stops the workers and reports how each one ended.
 */
import type { BrokenExecutor, WorkerEnd } from '../api/errors.js';
import type { ErrorDescriptor } from '../wire/errors.js';
import type { NativePool } from '../wire/native.js';
import type { StashBlock } from '../wire/frames.js';
import type { SharedMemoryTable } from '../wire/shared-memory.js';

/** How a worker ended, as its host saw it. */
export interface WorkerExit {
  /** Why the pool breaks, should the worker have died holding work. */
  reason: string;
  /** What the host knows of the cause (an `error` event, a failed initializer). */
  cause?: unknown;
  /** Its exit code, or `null` when it ended by a signal or never started. */
  exitCode: number | null;
  /** The signal that ended it (a child process), or `null`. */
  signal: string | null;
  /**
   * It died starting, before it could take a task (a child's initializer or flags): a replacement
   * would die the same way, so even `replaceCrashedWorkers` breaks the pool. (Threads: the core
   * tells, by the worker's state.)
   */
  beforeReady?: boolean;
}

/** What a host reports to its executor. */
export interface HostEvents {
  /** The worker of `slot` has exited, however it ended; its slot may be reused from now on. */
  exited(slot: number, exit: WorkerExit): void;
  /**
   * The pool must break (a worker's initializer threw), for `reason`. `failRunning`: tasks already
   * running fail too (Python's process pool); otherwise they finish (Python's thread pool).
   */
  broke(reason: string, cause: unknown, failRunning: boolean): void;
}

export interface WorkerHost {
  /**
   * How many idle workers may spin briefly in the core for work before they park. Threads that
   * take work from the core themselves may; a child process's work is taken for it by the main
   * thread, which must never spin (0).
   */
  readonly lingering: number;
  /**
   * Whether the main thread should poll for outcomes instead of waiting to be woken: worth it
   * only when workers complete in the core by themselves (threads), where a wake-up costs more
   * than a small task.
   */
  readonly pollsCompletions: boolean;
  /** How large views travel as blocks, where workers share this process's memory; `undefined`: they do not. */
  readonly stashBlock: StashBlock | undefined;
  /**
   * Where `ArrayBuffer`s can be moved to workers (`run`'s `transfer`; threads): `begin` before
   * the record is written, `end` after (`sent`: it was; answers the ids moved), `release` once
   * it settled. `undefined`: moved buffers are copied and left as they are (child processes).
   */
  readonly moved: { begin(buffers: readonly ArrayBuffer[]): void; end(sent: boolean): number[]; release(ids: readonly number[]): void } | undefined;
  /** Shared memory passed by reference (threads), or `undefined`: refused (child processes). */
  readonly sharedMemory: SharedMemoryTable | undefined;
  /** Workers started and not yet reported as exited. */
  readonly live: number;

  /** Binds the host to its executor's core, before any worker starts. */
  attach(core: NativePool, events: HostEvents): void;
  /** Starts a worker in `slot`. Never throws: a worker that cannot start is reported as exited. */
  start(slot: number): void;
  /** Rings the doorbell of the parked worker of `slot`. */
  wake(slot: number): void;
  /**
   * Tells the worker of `slot` that records it runs were stopped (`NativePool.stop`): it skips
   * their items not started, at its next checkpoint between items.
   */
  interrupt(slot: number): void;
  /**
   * Aborts the task of record `index` of the batch the worker of `slot` runs (`NativePool.stopTask`
   * marked it): its `currentTask().signal` fires, with `reason`.
   */
  abort(slot: number, index: number, reason: ErrorDescriptor): void;
  /** Ends the worker of `slot` at once, whatever it is doing; its exit is reported as any other. */
  stop(slot: number): void;
  /** Ends every worker at once (the pool broke). */
  stopAll(): void;
  /** The pool's `Broken*` error. */
  brokenError(message: string, cause?: unknown, end?: WorkerEnd): BrokenExecutor;
  /** What its workers are, in messages: 'worker thread', 'child process'. */
  readonly workerKind: string;
}

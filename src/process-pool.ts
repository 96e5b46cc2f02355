import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';

import { cloneError, encode, rebuildError, viewOf } from './codec.js';
import { BrokenProcessPool, type BrokenExecutor } from './errors.js';
import { PoolExecutor } from './executor.js';
import { Inbox, TAKE_EXIT, TAKE_IDLE } from './native.js';
import { checkArray, checkEnv, checkPositiveInteger, checkStringArray, defaultWorkers, MAX_TASKS_PER_WORKER, MAX_WORKERS } from './options.js';
import { describeTask, type TaskFn } from './task.js';

export interface ProcessPoolOptions {
  /** Default `os.availableParallelism()`. */
  maxWorkers?: number;
  /** Runs once in each child before its first task; if it throws, the pool breaks. */
  initializer?: TaskFn;
  initargs?: unknown[];
  /** A child exits after this many tasks and is replaced on demand. */
  maxTasksPerChild?: number;
  /** Node options of the children (default: this process's `process.execArgv`). */
  execArgv?: string[];
  /** Environment of the children (default: `process.env`). */
  env?: Record<string, string>;
}

/**
 * Messages from the executor to a child (see `child.ts`). A batch is the core's `take` frames;
 * `fns` carries the descriptors of the task functions the batch names that this child has not
 * been sent yet (a child cannot ask the core, which lives in this process).
 * @internal
 */
export type ParentMessage =
  | { t: 'init'; initializer: string; initargs: string | Uint8Array }
  | { t: 'run'; batch: Uint8Array; fns?: Array<[number, string]> }
  | { t: 'exit' };

/** Messages from a child: a batch's outcome frames (for the core's `complete`), or an initializer's failure. @internal */
export type ChildMessage = { t: 'done'; frames: Uint8Array; costNs: number } | { t: 'initFailed'; error: unknown };

const CHILD_FILE = path.join(__dirname, 'child.js');
/** How long `terminateWorkers()` lets a child that ignores SIGTERM run on before it sends SIGKILL. */
const TERMINATE_GRACE_MS = 3000;

/** The main thread's side of one child process: it takes batches from the core on the child's behalf. */
interface Child {
  readonly slot: number;
  readonly process: ChildProcess;
  /** Task functions whose descriptors this child has been sent. */
  readonly known: Set<number>;
  /** The child's measured mean run time per item (sizes its batches). */
  costNs: number;
  /** A batch was sent and its outcomes have not come back. */
  outstanding: boolean;
  /** Told to exit, or signalled: take nothing more for it. */
  ending: boolean;
  /** Its `exit` event has been seen (its `close` may still be due). */
  exitSeen: boolean;
  gone: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  error: unknown;
}

/**
 * Python's `ProcessPoolExecutor`, on `child_process.fork`: children start lazily, idle ones are
 * reused before a new one starts, never more than `maxWorkers`. The scheduling is the thread
 * pool's (the same core); a child does not attach to the core, the main thread takes for it
 * (`take(slot, cost, false)`, which never blocks) and relays batches and outcomes over IPC.
 */
export class ProcessPoolExecutor extends PoolExecutor {
  readonly #execArgv: string[] | undefined;
  readonly #env: Record<string, string> | undefined;
  readonly #initializer: string | undefined;
  readonly #initargs: string | Uint8Array;
  readonly #children = new Map<number, Child>();
  /** Where the core writes the batches taken for the children. */
  readonly #inbox = new Inbox();
  #initError: unknown;
  /** Set by `terminateWorkers()` / `killWorkers()`: children's deaths are expected, not a break. */
  #endedBy: string | undefined;

  constructor(options: ProcessPoolOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('ProcessPoolExecutor options must be an object');
    const maxWorkers = checkPositiveInteger('maxWorkers', options.maxWorkers, defaultWorkers(), MAX_WORKERS)!;
    const maxTasks = checkPositiveInteger('maxTasksPerChild', options.maxTasksPerChild, undefined, MAX_TASKS_PER_WORKER);
    const execArgv = checkStringArray('execArgv', options.execArgv);
    const env = checkEnv(options.env);
    const initializer = options.initializer === undefined ? undefined : describeTask(options.initializer, 'initializer');
    const initargs = checkArray('initargs', options.initargs);
    super(maxWorkers, maxTasks);
    this.#execArgv = execArgv === undefined ? undefined : [...execArgv];
    this.#env = env === undefined ? undefined : { ...env };
    this.#initializer = initializer;
    this.#initargs = encode(initargs, this);
  }

  /**
   * `shutdown({ wait: false, cancelFutures: true })`, then SIGTERM to every child; resolves once
   * all have exited. A child that handles or ignores SIGTERM is told to exit once it is idle, and
   * killed with SIGKILL if it is still running after TERMINATE_GRACE_MS.
   */
  terminateWorkers(): Promise<void> {
    return this.#endChildren('SIGTERM', 'terminateWorkers()');
  }

  /** As `terminateWorkers()`, with SIGKILL. */
  killWorkers(): Promise<void> {
    return this.#endChildren('SIGKILL', 'killWorkers()');
  }

  protected override spawn(slot: number): void {
    let child: ChildProcess;
    try {
      child = fork(CHILD_FILE, [], {
        execArgv: this.#execArgv,
        env: this.#env,
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
    } catch (error) {
      // Never throw out of `submit`: the slot is the core's "starting" worker; its loss breaks the pool.
      queueMicrotask(() => this.workerExited(slot, 'A child process could not be started', error));
      return;
    }
    const c: Child = {
      slot,
      process: child,
      known: new Set(),
      costNs: 0,
      outstanding: false,
      ending: false,
      exitSeen: false,
      gone: false,
      code: null,
      signal: null,
      error: undefined,
    };
    this.#children.set(slot, c);
    child.on('message', (message: ChildMessage) => this.#onMessage(c, message));
    child.on('error', (error) => {
      c.error ??= error;
      if (child.pid === undefined) this.#exited(c); // it never started: no `exit` will come
    });
    child.on('exit', (code, signal) => {
      c.exitSeen = true;
      c.code = code;
      c.signal = signal;
      // Outcomes may still be in the channel: wait for `close`, which comes once it is drained.
      if (c.outstanding) child.channel?.ref();
      else this.#exited(c);
    });
    child.on('close', () => this.#exited(c));
    // An idle executor never keeps the process alive: while work is pending the core's wake-up
    // is referenced (see `PoolExecutor`), which keeps the loop running for the replies as well.
    child.unref();
    child.channel?.unref(); // after `on('message')`, which would reference the channel
    if (this.#initializer !== undefined) {
      this.#send(c, { t: 'init', initializer: this.#initializer, initargs: this.#initargs });
    }
    // Messages are handled in order, so the first batch may follow the initializer at once.
    queueMicrotask(() => this.#pump(c));
  }

  protected override wake(slot: number): void {
    const c = this.#children.get(slot);
    // Deferred: a loop of submits is queued before the child takes its batch.
    if (c !== undefined) queueMicrotask(() => this.#pump(c));
  }

  protected override terminateAll(): void {
    for (const c of this.#children.values()) this.#signal(c, 'SIGKILL');
  }

  protected override liveWorkers(): number {
    return this.#children.size;
  }

  protected override brokenError(message: string, cause?: unknown): BrokenExecutor {
    if (this.#endedBy !== undefined && !this.isBroken) message = `${this.#endedBy} ended the child processes while the task was running`;
    return new BrokenProcessPool(message, cause === undefined ? undefined : { cause });
  }

  /** @internal */
  override idOf(_sab: SharedArrayBuffer): number {
    throw cloneError('a SharedArrayBuffer cannot be shared with a child process');
  }

  /** @internal */
  override get(_id: number): SharedArrayBuffer {
    throw cloneError('a SharedArrayBuffer cannot be shared with a child process');
  }

  /** Takes the next batch for `c` and sends it; parks it when there is none; tells it to exit. */
  #pump(c: Child): void {
    if (c.outstanding || c.ending || c.exitSeen) return;
    const taken = this.native.take(c.slot, c.costNs, false, this.#inbox.buffer);
    if (taken === TAKE_IDLE) return;
    if (taken === TAKE_EXIT) {
      c.ending = true;
      this.#keepAliveUntilExit(c);
      this.#send(c, { t: 'exit' });
      return;
    }
    // A view of the inbox is enough: `send` serializes the message before it returns.
    const frames = this.#inbox.framesOf(taken);
    const batch = typeof taken === 'number' ? frames.subarray(0, taken) : frames;
    const view = viewOf(batch);
    let fns: Array<[number, string]> | undefined;
    for (let at = 0; at < batch.length; at += 13 + view.getUint32(at + 9, true)) {
      const func = view.getUint32(at, true);
      if (!c.known.has(func)) {
        c.known.add(func);
        (fns ??= []).push([func, this.native.function(func)!]);
      }
    }
    c.outstanding = true;
    this.#send(c, fns === undefined ? { t: 'run', batch } : { t: 'run', batch, fns });
    this.#inbox.done(batch);
  }

  #send(c: Child, message: ParentMessage): void {
    // A failure (the child is gone) is reported by the `error` event; its `exit` decides.
    if (c.process.connected) c.process.send(message);
  }

  #onMessage(c: Child, message: ChildMessage): void {
    if (message.t === 'done') {
      c.outstanding = false;
      c.costNs = message.costNs;
      this.native.complete(c.slot, message.frames, message.frames.length, 0);
      if (c.exitSeen) this.#exited(c);
      else if (c.ending) this.#send(c, { t: 'exit' }); // it outlived a signal it ignores
      else this.#pump(c);
    } else if (message.t === 'initFailed' && this.#initError === undefined) {
      this.#initError = rebuildError(message.error as Parameters<typeof rebuildError>[0]);
      if (this.#endedBy === undefined) this.breakPool('A process initializer failed', this.#initError);
    }
  }

  /** The child has exited (and its channel is drained when it had a batch): account for it once. */
  #exited(c: Child): void {
    if (c.gone) return;
    c.gone = true;
    if (this.#children.get(c.slot) === c) this.#children.delete(c.slot);
    const how = c.signal !== null ? `signal ${c.signal}` : `exit code ${c.code}`;
    const reason =
      this.#initError !== undefined
        ? 'A process initializer failed'
        : `A child process terminated abruptly (${how}) while running or holding tasks; the process pool is not usable anymore`;
    const cause = this.#initError ?? c.error;
    // The core sees a death as a break when the child held records; a batch still in flight counts too.
    if (c.outstanding && !this.isBroken && this.#endedBy === undefined) this.breakPool(reason, cause);
    this.workerExited(c.slot, reason, cause);
  }

  /** An ending child's exit must be seen, even when nothing else keeps the event loop alive. */
  #keepAliveUntilExit(c: Child): void {
    c.process.ref();
  }

  #signal(c: Child, signal: NodeJS.Signals): void {
    if (c.gone) return;
    c.ending = true;
    this.#keepAliveUntilExit(c);
    if (c.outstanding) c.process.channel?.ref();
    c.process.kill(signal);
    // A child that handles or ignores the signal still ends: at once when idle, else after its batch.
    if (!c.outstanding) this.#send(c, { t: 'exit' });
  }

  async #endChildren(signal: NodeJS.Signals, what: string): Promise<void> {
    this.#endedBy ??= what;
    // Marks the executor shut down and cancels what has not started; resolves once every
    // future has settled and every child has exited.
    const done = this.shutdown({ wait: true, cancelFutures: true });
    // Fails what is running with BrokenProcessPool and hands out no more work, without marking
    // the executor broken: later submits throw ShutdownError.
    if (!this.isBroken) this.native.breakPool(true);
    for (const c of this.#children.values()) this.#signal(c, signal);
    // A child that ignores SIGTERM while its task runs on is killed after a grace period.
    const escalation =
      signal === 'SIGKILL'
        ? undefined
        : setTimeout(() => {
            for (const c of this.#children.values()) this.#signal(c, 'SIGKILL');
          }, TERMINATE_GRACE_MS);
    try {
      await done;
    } finally {
      clearTimeout(escalation);
    }
  }
}

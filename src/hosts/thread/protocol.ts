/** What the main thread and a `ThreadPoolExecutor` worker tell each other, besides the core. */
import type { ADDON_PATH_KEY } from '../../wire/native.js';

/** What a worker receives at start (its `workerData`). */
export interface WorkerConfig {
  /** The core's pool to attach to. */
  poolId: number;
  slot: number;
  /**
   * `[0]`: the worker parks on this (`Atomics.wait`) and the main thread rings it
   * (`Atomics.notify`). `[1]`: the interrupt word, set by the main thread when a record the
   * worker runs is stopped (`ThreadChunkControl` in `worker.ts`).
   */
  doorbell: Int32Array;
  /** Both ways: `SharedMessage`s, and the worker's `WorkerMessage`s. */
  port: import('node:worker_threads').MessagePort;
  /** The initializer's task descriptor, and its arguments as `encode` wrote them. */
  initializer: string | undefined;
  initargs: string | Uint8Array;
  /** The worker waits on this for the main thread's answer to a `want` (see `MovedBuffers`). */
  mailbox: Int32Array;
  /** Shared memory announced before this worker started. */
  shared: Array<[number, SharedArrayBuffer]>;
  /** The addon file the main thread loaded (see `wire/native.ts`). */
  [ADDON_PATH_KEY]: string | undefined;
}

/** Shared memory announced by either side, before a frame names it. */
export interface SharedMessage {
  type: 'shared';
  id: number;
  sab: SharedArrayBuffer;
}

/** A moved `ArrayBuffer`, either way (`null`: the main thread no longer has the one asked for). */
export interface MovedMessage {
  type: 'moved';
  id: number;
  buffer: ArrayBuffer | null;
}

/** Why record `index` of the worker's batch is aborted, posted before the interrupt word is set. */
export interface AbortMessage {
  type: 'abort';
  index: number;
  reason: import('../../wire/errors.js').ErrorDescriptor;
}

/** What the main thread posts on a worker's port. */
export type MainMessage = SharedMessage | MovedMessage | AbortMessage;

/** What a worker posts on its port: `want` asks for a buffer the main thread moved. */
export type WorkerMessage = SharedMessage | MovedMessage | { type: 'want'; id: number } | { type: 'initFailed'; error: unknown };

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
  /** Both ways: the main thread's `MainMessage`s, and the worker's `WorkerMessage`s. */
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

/** Shared memory the main thread announces, before a frame names it (see `MainSharedMemory`). */
export interface SharedMessage {
  type: 'shared';
  id: number;
  sab: SharedArrayBuffer;
}

/** The main thread let these ids go: no frame in flight names them. */
export interface ForgetMessage {
  type: 'forget';
  ids: number[];
}

/** Shared memory a worker's outcomes name: index `index` of batch `token` (see `WorkerSharedMemory`). */
export interface OutgoingSharedMessage {
  type: 'shared';
  token: number;
  index: number;
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
export type MainMessage = SharedMessage | ForgetMessage | MovedMessage | AbortMessage;

/**
 * The shared memory a worker writes its outcome frames into, each time it takes a new one: should
 * the worker die in the middle of a batch, the main thread hands over what it had finished (see
 * `DOORBELL_COMMITTED`).
 */
export interface OutcomesMessage {
  type: 'outcomes';
  generation: number;
  sab: SharedArrayBuffer;
}

/** What a worker posts on its port: `want` asks for a buffer the main thread moved. */
export type WorkerMessage =
  | OutgoingSharedMessage
  /** The batch of `token` is handed over. */
  | { type: 'sharedDone'; token: number }
  | MovedMessage
  | OutcomesMessage
  | { type: 'want'; id: number }
  | { type: 'initFailed'; error: unknown };

/**
 * The words of a worker's doorbell (an `Int32Array` on shared memory): the main thread rings
 * `DOORBELL_RING`, and sets `DOORBELL_INTERRUPT` when records of the batch were stopped. The worker
 * keeps in `DOORBELL_COMMITTED` how many bytes at the start of its outcome frames are the finished
 * outcomes of its batch (0 when nothing is to be handed over for it: none, or frames with blocks,
 * which live on its thread), and in `DOORBELL_GENERATION` which of its `outcomes` memories they are in.
 */
export const DOORBELL_RING = 0;
export const DOORBELL_INTERRUPT = 1;
export const DOORBELL_COMMITTED = 2;
export const DOORBELL_GENERATION = 3;
/** How many shared-memory messages the main thread has posted the worker (it reads its port when this moved). */
export const DOORBELL_POSTED = 4;
export const DOORBELL_WORDS = 5;

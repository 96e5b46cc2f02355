/**
 * What the main thread and a `ProcessPoolExecutor` child tell each other over IPC. A child does
 * not attach to the core (it lives in the parent): the main thread takes batches on its behalf
 * and relays them, with the descriptors of the task functions the child has not been sent yet.
 */

/** Where a child finds its parent's pid (in its environment), to end with it. */
export const PARENT_PID_ENV = 'CONCURRENT_FUTURES_PARENT_PID';

/** From the executor to a child. */
export type ParentMessage =
  /** Always the first message: the initializer to run, if any; the child answers `ready` (or `initFailed`). */
  | { t: 'init'; initializer: string | undefined; initargs: string | Uint8Array }
  /** A batch as the core's `take` wrote it. */
  | { t: 'run'; batch: Uint8Array; fns?: Array<[index: number, descriptor: string]> }
  /**
   * The records (by index) of the batch being run that were stopped: sent only while a batch is
   * out, so it always names the last `run` (messages arrive in order).
   */
  | { t: 'stop'; indices: number[]; reasons?: Array<[index: number, reason: import('../../wire/errors.js').ErrorDescriptor]> }
  | { t: 'exit' };

/** From a child: a batch's outcome frames (for the core's `complete`), or an initializer's failure. */
export type ChildMessage =
  | { t: 'done'; frames: Uint8Array; costNs: number; ending?: true } // `ending`: the child is exiting in the middle of its batch (the frames cover the records before)
  /** The outcome frame of the next `count` items of record `index` of the batch, ahead of `done`. */
  | { t: 'part'; index: number; count: number; frame: Uint8Array }
  | { t: 'initFailed'; error: unknown }
  /** Started, and its initializer (if any) ran: a death from now on is a task's, not start-up's. */
  | { t: 'ready' };

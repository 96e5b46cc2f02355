/**
 * What the main thread and a `ProcessPoolExecutor` child tell each other over IPC. A child does
 * not attach to the core (it lives in the parent): the main thread takes batches on its behalf
 * and relays them, with the descriptors of the task functions the child has not been sent yet.
 */

/** Where a child finds its parent's pid (in its environment), to end with it. */
export const PARENT_PID_ENV = 'CONCURRENT_FUTURES_PARENT_PID';

/** From the executor to a child. */
export type ParentMessage =
  | { t: 'init'; initializer: string; initargs: string | Uint8Array }
  /** A batch as the core's `take` wrote it. */
  | { t: 'run'; batch: Uint8Array; fns?: Array<[index: number, descriptor: string]> }
  | { t: 'exit' };

/** From a child: a batch's outcome frames (for the core's `complete`), or an initializer's failure. */
export type ChildMessage = { t: 'done'; frames: Uint8Array; costNs: number } | { t: 'initFailed'; error: unknown };

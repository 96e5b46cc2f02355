/**
 * `currentTask()`: inside a task, the task the worker is running, with its own `signal`, which
 * fires when the caller aborts the task or its `timeout` passes (see `run`).
 */
import { InvalidStateError } from './errors.js';

export interface CurrentTask {
  /**
   * Aborted when the caller's `signal` aborts the running task, or its `timeout` passes. `aborted`
   * and `throwIfAborted()` see it at once, even inside a synchronous loop; `abort` listeners run
   * when the worker's event loop next runs.
   */
  readonly signal: AbortSignal;
}

/**
 * Where a worker publishes the task it runs: a symbol from the global registry, so that the copy
 * of this package a `task()` module imports finds the worker's.
 */
export const CURRENT_TASK = Symbol.for('concurrent-futures.currentTask');

/** The task running on this worker; an `InvalidStateError` anywhere else. */
export function currentTask(): CurrentTask {
  const current = (globalThis as { [CURRENT_TASK]?: () => CurrentTask | undefined })[CURRENT_TASK]?.();
  if (current === undefined) throw new InvalidStateError('currentTask() is only available inside a task, on the worker running it');
  return current;
}

export { BrokenExecutor, BrokenProcessPool, BrokenThreadPool, CancelledError, FuturesError, InvalidStateError, ShutdownError, TimeoutError } from './errors.js';
export { Future } from './future.js';
export { Executor, type ExecutorStats, type MapInputs, type MapOptions, type ShutdownOptions } from './executor.js';
export { ThreadPoolExecutor, type ThreadPoolOptions } from './thread-pool.js';
export { ProcessPoolExecutor, type ProcessPoolOptions } from './process-pool.js';
export { ALL_COMPLETED, asCompleted, FIRST_COMPLETED, FIRST_EXCEPTION, wait, type AsCompletedIterator, type DoneAndNotDone, type ReturnWhen, type WaitOptions } from './wait.js';
export { task, TaskRef, type TaskFn } from './task.js';
export { repeat } from './map.js';

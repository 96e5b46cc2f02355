export { BrokenExecutor, BrokenProcessPool, BrokenThreadPool, CancelledError, FuturesError, InvalidStateError, ShutdownError, TimeoutError, WorkerCrashedError, type WorkerEnd } from './api/errors.js';
export { Future } from './api/future.js';
export { Executor, type ExecutorStats, type MapInputs, type MapOptions, type ShutdownOptions, type TaskOptions } from './api/executor.js';
export { ThreadPoolExecutor, type ThreadPoolOptions } from './executor/thread-pool.js';
export { ProcessPoolExecutor, type ProcessPoolOptions } from './executor/process-pool.js';
export { ALL_COMPLETED, asCompleted, FIRST_COMPLETED, FIRST_EXCEPTION, wait, type AsCompletedIterator, type DoneAndNotDone, type ReturnWhen, type WaitOptions } from './api/wait.js';
export { task, TaskRef, type TaskFn } from './api/task.js';
export { repeat } from './api/map.js';
export { move } from './api/transfer.js';

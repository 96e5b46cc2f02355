// ESM entry: re-exports the CommonJS build, so both entry points share one set of classes.
import cjs from '../dist/index.js';

export const {
  ALL_COMPLETED,
  asCompleted,
  BrokenExecutor,
  BrokenProcessPool,
  BrokenThreadPool,
  CancelledError,
  currentTask,
  Executor,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  Future,
  FuturesError,
  InvalidStateError,
  move,
  repeat,
  ProcessPoolExecutor,
  ShutdownError,
  task,
  TaskRef,
  ThreadPoolExecutor,
  TimeoutError,
  WorkerCrashedError,
  wait,
} = cjs;

// `import cf from 'concurrent-futures'` is the CommonJS exports object, as Node gives for a
// CommonJS package and as the shared type declarations describe.
export default cjs;

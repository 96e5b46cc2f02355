import * as check from '../api/options.js';
import type { TaskFn } from '../api/task.js';
import { ProcessHost } from '../hosts/process/host.js';
import { PoolExecutor } from './pool-executor.js';

export interface ProcessPoolOptions {
  /** Default `os.availableParallelism()`. */
  maxWorkers?: number | undefined;
  /**
   * A worker that dies abruptly (exit, signal, out of memory) fails only the task it was running,
   * with `WorkerCrashedError`, and is replaced; the executor is never broken by a crash. Default
   * `false`: Python's semantics (the executor breaks).
   */
  replaceCrashedWorkers?: boolean | undefined;
  /**
   * Milliseconds an aborted task (`run`'s `signal` or `timeout`) has to end by itself before it is
   * stopped: its worker ended and replaced, its future failed with the reason. Default 100;
   * `Infinity`: never stopped.
   */
  abortGrace?: number | undefined;
  /** Runs once in each child before its first task; if it throws, the pool breaks. */
  initializer?: TaskFn | undefined;
  initargs?: unknown[] | undefined;
  /** A child exits after this many tasks and is replaced on demand. */
  maxTasksPerChild?: number | undefined;
  /** Node options of the children (default: this process's `process.execArgv`). */
  execArgv?: string[] | undefined;
  /** Environment of the children (default: `process.env`). */
  env?: Record<string, string | undefined> | undefined;
}

/** How long `terminateWorkers()` lets a child that ignores SIGTERM run on before it sends SIGKILL. */
const TERMINATE_GRACE_MS = 3000;

/**
 * Python's `ProcessPoolExecutor`, on `child_process.fork`: children start lazily, idle ones are
 * reused before a new one starts, never more than `maxWorkers`. The scheduling is the thread
 * pool's (the same core).
 */
export class ProcessPoolExecutor extends PoolExecutor {
  readonly #host: ProcessHost;

  constructor(options: ProcessPoolOptions = {}) {
    const parsed = check.parseOptions('ProcessPoolExecutor', options, {
      maxWorkers: check.maxWorkers,
      maxTasksPerChild: check.maxTasks,
      execArgv: check.stringArray,
      env: check.environment,
      initializer: check.initializer,
      initargs: check.argumentList,
      replaceCrashedWorkers: check.flag,
      abortGrace: check.abortGrace,
    });
    const host = new ProcessHost({ ...parsed, initializer: parsed.initializer?.descriptor });
    super(parsed.maxWorkers, parsed.maxTasksPerChild, host, parsed.initializer === undefined ? [] : parsed.initializer.defines, parsed.replaceCrashedWorkers, parsed.abortGrace);
    this.#host = host;
  }

  /**
   * `shutdown({ wait: false, cancelFutures: true })`, then SIGTERM to every child; resolves once
   * all have exited. Running futures fail with `BrokenProcessPool`. A child that handles or
   * ignores SIGTERM is told to exit once it is idle, and killed with SIGKILL if it is still
   * running after 3 s.
   */
  terminateWorkers(): Promise<void> {
    return this.#endChildren('SIGTERM', 'terminateWorkers()');
  }

  /** As `terminateWorkers()`, with SIGKILL. */
  killWorkers(): Promise<void> {
    return this.#endChildren('SIGKILL', 'killWorkers()');
  }

  async #endChildren(signal: NodeJS.Signals, what: string): Promise<void> {
    // Marks the executor shut down and cancels what has not started; resolves once every
    // future has settled and every child has exited.
    const done = this.shutdown({ wait: true, cancelFutures: true });
    // Later submits throw ShutdownError, not a Broken* error.
    // The signal is the one sent: the children have not exited yet.
    this.failRunning(`${what} ended the child processes while the task was running`, { exitCode: null, signal });
    const ending = this.#host.endAll(signal, TERMINATE_GRACE_MS);
    try {
      await done;
    } finally {
      ending.cancelEscalation();
    }
  }
}

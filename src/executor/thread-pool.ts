import type { ResourceLimits } from 'node:worker_threads';

import * as check from '../api/options.js';
import type { TaskFn } from '../api/task.js';
import { ThreadHost } from '../hosts/thread/host.js';
import { PoolExecutor } from './pool-executor.js';

export interface ThreadPoolOptions {
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
  /** Workers are named `${threadNamePrefix}_${slot}`. */
  threadNamePrefix?: string | undefined;
  /** Runs once in each worker before its first task; if it throws, the pool breaks. */
  initializer?: TaskFn | undefined;
  initargs?: unknown[] | undefined;
  /** Recycle a worker after this many tasks. */
  maxTasksPerWorker?: number | undefined;
  resourceLimits?: ResourceLimits | undefined;
  execArgv?: string[] | undefined;
  env?: Record<string, string | undefined> | undefined;
}

/**
 * Python's `ThreadPoolExecutor`, on `worker_threads`: workers start lazily, idle ones are reused
 * before a new one starts, never more than `maxWorkers`.
 */
export class ThreadPoolExecutor extends PoolExecutor {
  constructor(options: ThreadPoolOptions = {}) {
    const parsed = check.parseOptions('ThreadPoolExecutor', options, {
      maxWorkers: check.maxWorkers,
      maxTasksPerWorker: check.maxTasks,
      resourceLimits: check.resourceLimits,
      execArgv: check.stringArray,
      env: check.environment,
      threadNamePrefix: check.optionalString,
      initializer: check.initializer,
      initargs: check.argumentList,
      replaceCrashedWorkers: check.flag,
      abortGrace: check.abortGrace,
    });
    const host = new ThreadHost({ ...parsed, initializer: parsed.initializer?.descriptor });
    super(parsed.maxWorkers, parsed.maxTasksPerWorker, host, parsed.initializer === undefined ? [] : parsed.initializer.defines, parsed.replaceCrashedWorkers, parsed.abortGrace);
  }
}

/** Python's `Executor`: the abstract base both pools (and any custom executor) extend. */
import { watchAbort } from './abort-watch.js';
import { TimeoutError } from './errors.js';
import { Future, MAX_TIMER_MS } from './future.js';
import { MapRun, parseMapArguments, type MapOptions, type MapSink } from './map.js';
import { checkKnownKeys } from './option-keys.js';
import type { NotInferred, TaskFn } from './task.js';
import { checkTransferList, isMoved, movedBuffers, unmoved } from './transfer.js';

export type { MapOptions } from './map.js';

export interface ShutdownOptions {
  /** Resolve only once every running task has finished and every worker has exited (default). */
  wait?: boolean | undefined;
  /** Cancel every future that has not started. */
  cancelFutures?: boolean | undefined;
}

export interface ExecutorStats {
  /** Workers alive. */
  workers: number;
  /** Workers alive and not running a task. */
  idle: number;
  /** Items submitted and not started. */
  queued: number;
  /** Items started and not finished. */
  running: number;
  /** Items finished since the executor was created. */
  completed: number;
  /** Per item, from submission to start, in milliseconds (an HdrHistogram's percentiles). */
  waitTime: TimePercentiles;
  /** Per item, from start to end, in milliseconds (a chunk's time shared among its items). */
  runTime: TimePercentiles;
  /** The share of the pool's capacity (`maxWorkers` since the first submit) spent running tasks, 0 to 1. */
  utilization: number;
}

/** Percentiles of a duration in milliseconds, over `count` items (all 0 before any). */
export interface TimePercentiles {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Per-task options of `run`. */
export interface TaskOptions {
  /**
   * Cancels the task while it has not started (its future's `CancelledError` has the signal's
   * reason as its `cause`); already aborted, the future `run` returns is cancelled already. Once
   * it runs, aborting fires the task's own `currentTask().signal`; a task still running
   * `abortGrace` ms later is stopped (its worker replaced) and its future fails with the reason.
   */
  signal?: AbortSignal | undefined;
  /**
   * Milliseconds of run time (counted from the moment the task starts, not from `run`): then the
   * task's own signal fires with a `TimeoutError`, as for `signal`.
   */
  timeout?: number | undefined;
  /**
   * `ArrayBuffer`s to move to the worker instead of copying them, as with `postMessage`: once the
   * task is submitted they are detached here (their memory is given back at once). A
   * `ProcessPoolExecutor` copies them and leaves them as they are.
   */
  transfer?: ArrayBuffer[] | undefined;
}

const TASK_OPTIONS = ['signal', 'timeout', 'transfer'];


/**
 * @internal `run`'s arguments and options, checked before anything is submitted: `args` with the
 * `move()` markers taken off (their buffers join `moving`, a copy of the `transfer` list).
 */
export function parseRun<A extends unknown[]>(args: A, options: TaskOptions): { args: A; signal: AbortSignal | undefined; timeout: number | undefined; moving: ArrayBuffer[] } {
  if (!Array.isArray(args)) throw new TypeError(`run(): args must be an array of the task's arguments, got ${args === null ? 'null' : typeof args}`);
  if (typeof options !== 'object' || options === null) throw new TypeError('run(): options must be an object');
  checkKnownKeys('run()', options, TASK_OPTIONS);
  const { signal, timeout, transfer = [] } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('run(): signal must be an AbortSignal');
  if (timeout !== undefined && typeof timeout !== 'number') throw new TypeError(`run(): timeout must be a number of milliseconds, got ${typeof timeout}`);
  if (timeout !== undefined && !(timeout >= 0)) throw new RangeError(`run(): timeout must be >= 0, got ${timeout}`);
  const moving = [...checkTransferList('run()', transfer)];
  const unwrapped = args.map((arg) => {
    if (!isMoved(arg)) return arg;
    for (const buffer of movedBuffers(arg)) if (!moving.includes(buffer)) moving.push(buffer);
    return unmoved(arg);
  }) as A;
  return { args: unwrapped, signal, timeout, moving };
}

/** One (async) iterable per parameter of the task function: `map`'s inputs, zipped. */
export type MapInputs<A extends unknown[]> = { [K in keyof A]: Iterable<A[K]> | AsyncIterable<A[K]> };
/** Any one of `map`'s inputs. */
type MapInput<T = unknown> = Iterable<T> | AsyncIterable<T>;
/** Inputs given as a spread of unknown count (`...lists`); `never` for a list of fixed length. */
type SpreadOnly<I extends unknown[]> = number extends I['length'] ? unknown : never;

/** Python's `Executor`: submit callables, map over iterables, shut down. */
export abstract class Executor {
  /** Schedules `fn(...args)`; the future settles with its outcome. */
  abstract submit<A extends unknown[], R>(fn: TaskFn<A, R>, ...args: A): Future<Awaited<R>>;

  /**
   * `fn` over the zipped iterables (shortest wins), results in input order. A trailing plain
   * object is the options: `{ timeout, chunksize, buffersize }`.
   *
   * The first two forms type each input from its parameter (they come first: a function whose
   * parameters are not annotated takes its types from them). The next two are API.md's explicit
   * `map<R>(...)`, reached only with `R` given (`R` is never inferred there): they check the
   * function's result against `R` and leave the inputs as any iterables. A spread of inputs
   * (`...lists`, whose count the checker does not know) takes the next two: each item is checked
   * against the union of the parameters' types. The next takes no input at all (an empty run, as
   * in Python), with or without options. The last two type each input from its parameter,
   * with extra inputs beyond the parameters (of any items); the last is the one a mismatch is
   * reported against ("string is not assignable to number"). So a typed function never takes
   * items its parameters do not accept.
   */
  map<A extends unknown[], R>(fn: TaskFn<A, R>, ...iterables: MapInputs<A>): AsyncIterableIterator<Awaited<R>>;
  map<A extends unknown[], R>(fn: TaskFn<A, R>, ...iterablesThenOptions: [...MapInputs<A>, MapOptions]): AsyncIterableIterator<Awaited<R>>;
  map<R = never>(fn: TaskFn<any[], NotInferred<R>>, ...iterables: MapInput[]): AsyncIterableIterator<Awaited<R>>;
  map<R = never>(fn: TaskFn<any[], NotInferred<R>>, ...iterablesThenOptions: [...MapInput[], MapOptions]): AsyncIterableIterator<Awaited<R>>;
  map<A extends unknown[], R, I extends MapInput<A[number]>[]>(fn: TaskFn<A, R>, ...iterables: I & SpreadOnly<I>): AsyncIterableIterator<Awaited<R>>;
  map<A extends unknown[], R, I extends MapInput<A[number]>[]>(fn: TaskFn<A, R>, ...iterablesThenOptions: [...I, MapOptions] & SpreadOnly<I>): AsyncIterableIterator<Awaited<R>>;
  map<R>(fn: TaskFn<any[], R>, options?: MapOptions): AsyncIterableIterator<Awaited<R>>;
  map<A extends unknown[], R>(fn: TaskFn<A, R>, ...iterablesThenOptions: [...MapInputs<A>, ...MapInput[], MapOptions]): AsyncIterableIterator<Awaited<R>>;
  map<A extends unknown[], R>(fn: TaskFn<A, R>, ...iterables: [...MapInputs<A>, ...MapInput[]]): AsyncIterableIterator<Awaited<R>>;
  map<R>(fn: TaskFn<any[], R>, ...rest: unknown[]): AsyncIterableIterator<Awaited<R>> {
    const { sources, options } = parseMapArguments(rest);
    this._checkOpen();
    return new MapRun<Awaited<R>>(this._mapSink(fn), sources, options);
  }

  /**
   * `submit(fn, ...args)` with per-task options: `signal` cancels it while it waits, `transfer`
   * moves the `ArrayBuffer`s listed (an argument wrapped in `move()` moves its buffer too).
   */
  run<A extends unknown[], R>(fn: TaskFn<A, R>, args: A, options: TaskOptions = {}): Future<Awaited<R>> {
    const { args: unwrapped, signal, timeout, moving } = parseRun(args, options);
    if (signal?.aborted) {
      this._checkTask(fn);
      const future = new Future<Awaited<R>>();
      future._cancelBecause(signal.reason);
      return future;
    }
    // Past what a timer can count (about 24.8 days), as `result(timeout)`: no deadline.
    const deadline = timeout !== undefined && timeout <= MAX_TIMER_MS ? timeout : undefined;
    const future = this._submitRun(fn, unwrapped, moving, signal !== undefined || deadline !== undefined);
    if (signal !== undefined) {
      const unwatch = watchAbort(signal, { cancelWaiting: (reason) => void future._cancelBecause(reason), abort: (reason) => this._abort(future, reason) });
      future.addDoneCallback(unwatch);
    }
    if (deadline !== undefined) this._watchTimeout(future, deadline);
    return future;
  }

  /**
   * @internal `run`'s submit: `moving`, the buffers that move with the arguments; `_stoppable`, the
   * task has a signal or a timeout (an executor that may end a worker to stop it keeps other
   * tasks out of the way).
   */
  _submitRun<A extends unknown[], R>(fn: TaskFn<A, R>, args: A, moving: ArrayBuffer[], _stoppable: boolean): Future<Awaited<R>> {
    return moving.length > 0 ? this._submitMoving(fn, args, moving) : this.submit(fn, ...args);
  }

  /**
   * @internal The caller aborted `future`'s task with `reason`: cancelled if it has not started.
   * By default, that is all (an executor that cannot reach a running task lets it finish).
   */
  _abort<T>(future: Future<T>, reason: unknown): void {
    future._cancelBecause(reason);
  }

  /**
   * @internal `run`'s `timeout`: by default (an executor that cannot tell when a task starts),
   * counted from `run`, and the future fails with a `TimeoutError` then.
   */
  _watchTimeout<T>(future: Future<T>, ms: number): void {
    const timer = setTimeout(() => future._finish(false, new TimeoutError(`the task did not finish within its timeout of ${ms} ms`)), ms);
    future.addDoneCallback(() => clearTimeout(timer));
  }

  /**
   * Releases the executor's resources; no task may be submitted after it. The base class has none
   * to release (as Python's `Executor.shutdown`, a no-op): executors that have override it.
   */
  async shutdown(_options?: ShutdownOptions): Promise<void> {}

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown({ wait: true });
  }

  /** @internal Throws when nothing may be submitted any more. */
  _checkOpen(): void {}

  /** @internal Throws what `submit(fn)` would throw for the executor's state or for `fn`, without submitting. */
  _checkTask(_fn: unknown): void {
    this._checkOpen();
  }

  /**
   * @internal `submit(fn, ...args)`, moving `buffers` (checked already) where the executor can:
   * by default they are copied and left as they are.
   */
  _submitMoving<A extends unknown[], R>(fn: TaskFn<A, R>, args: A, _buffers: ArrayBuffer[]): Future<Awaited<R>> {
    return this.submit(fn, ...args);
  }

  /** @internal Where `map` sends its items; by default, one `submit` per item. */
  _mapSink(fn: TaskFn<any[], unknown>): MapSink {
    return {
      submit: (items, spread, offset, _chunksize, receiver) => {
        const futures: Array<Future<unknown>> = [];
        for (const item of items) {
          try {
            futures.push(spread ? this.submit(fn, ...(item as unknown[])) : this.submit(fn, item));
          } catch (error) {
            // This item's `next()` throws it; the run ends there, so later items need not go.
            receiver.deliver(offset + futures.length, 1, { values: [], failAll: { error } });
            break;
          }
        }
        futures.forEach((f, i) =>
          f.then(
            (value) => receiver.deliver(offset + i, 1, { values: [value] }),
            (error) => receiver.deliver(offset + i, 1, { values: [], failAll: { error } }),
          ),
        );
        return () => futures.forEach((f) => f.cancel());
      },
    };
  }
}

import os from 'node:os';

import { BrokenExecutor, CancelledError, ShutdownError } from './errors.js';
import { decode, decodeOutcome, encode, KIND_CLONE, KIND_JSON, RECORD_CHUNK, RECORD_SPREAD, rebuildError, type SharedMemoryTable } from './codec.js';
import { Future, type TaskLink } from './future.js';
import { MapRun, parseMapArguments, type ChunkResults, type MapOptions, type MapSource } from './map.js';
import {
  DISPATCH_SPAWN,
  NativePool,
  STATE_RUNNING,
  STATUS_BROKEN,
  SUBMIT_BROKEN,
  SUBMIT_SHUTDOWN,
  WORKER_EXIT_BROKE,
} from './native.js';
import { describeTask, type TaskFn } from './task.js';

export type { MapOptions } from './map.js';

export interface ShutdownOptions {
  /** Resolve only once every running task has finished and every worker has exited (default). */
  wait?: boolean;
  /** Cancel every future that has not started. */
  cancelFutures?: boolean;
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
}

/** Python's `Executor`: submit callables, map over iterables, shut down. */
export abstract class Executor {
  /** Schedules `fn(...args)`; the future settles with its outcome. */
  abstract submit<A extends unknown[], R>(fn: TaskFn<A, R>, ...args: A): Future<Awaited<R>>;

  /**
   * `fn` over the zipped iterables (shortest wins), results in input order. A trailing plain
   * object is the options: `{ timeout, chunksize, buffersize }`.
   */
  map<R>(fn: TaskFn<any[], R>, ...iterables: Array<Iterable<unknown> | AsyncIterable<unknown>>): AsyncIterableIterator<Awaited<R>>;
  map<R>(fn: TaskFn<any[], R>, ...iterablesThenOptions: [...Array<Iterable<unknown> | AsyncIterable<unknown>>, MapOptions]): AsyncIterableIterator<Awaited<R>>;
  map<R>(fn: TaskFn<any[], R>, ...rest: unknown[]): AsyncIterableIterator<Awaited<R>> {
    const { sources, options } = parseMapArguments(rest);
    this._checkOpen();
    return new MapRun<Awaited<R>>(this._mapSink(fn), sources, options, this._workerCount());
  }

  abstract shutdown(options?: ShutdownOptions): Promise<void>;

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown({ wait: true });
  }

  /** @internal Throws when nothing may be submitted any more. */
  _checkOpen(): void {}

  /** @internal How many workers share a map (sizes its chunks). */
  _workerCount(): number {
    return 1;
  }

  /** @internal Where `map` sends its chunks; by default, one `submit` per item. */
  _mapSink(fn: TaskFn<any[], unknown>): MapSource {
    return {
      submitChunk: (items, spread) => {
        const futures = items.map((item) => (spread ? this.submit(fn, ...(item as unknown[])) : this.submit(fn, item)));
        const results: ChunkResults = { values: [], errors: new Map() };
        const settled = futures.map((f, i) =>
          f.then(
            (value) => void (results.values[i] = value),
            (error) => void results.errors!.set(i, error),
          ),
        );
        return { cancel: () => futures.forEach((f) => f.cancel()), outcomes: Promise.all(settled).then(() => results) };
      },
    };
  }
}

/** A chunk of a `map`, in flight as one record. */
interface PendingChunk {
  resolve(results: ChunkResults): void;
  items: number;
}

/**
 * The machinery both executors share: futures keyed by record id, the native pool, the
 * completion drain, breaking and shutdown. Subclasses provide the workers.
 * @internal
 */
export abstract class PoolExecutor extends Executor implements SharedMemoryTable {
  readonly maxWorkers: number;
  protected readonly native: NativePool;
  readonly #inFlight = new Map<number, Future<any> | PendingChunk>();
  readonly #functions = new WeakMap<object, number>();
  readonly #descriptors = new Map<string, number>();
  #pending = 0;
  #shutdown = false;
  #broken: BrokenExecutor | undefined;
  #idleWaiters: Array<() => void> = [];

  protected constructor(maxWorkers: number, maxTasksPerWorker: number | undefined) {
    super();
    this.maxWorkers = maxWorkers;
    // Workers may spin briefly when out of work, on the cores the main thread does not need.
    const lingering = Math.max(1, os.availableParallelism() - 1);
    this.native = new NativePool(maxWorkers, maxTasksPerWorker, lingering, () => this.#drain());
  }

  /** Starts a worker for `slot`. */
  protected abstract spawn(slot: number): void;
  /** Rings the doorbell of the parked worker of `slot`. */
  protected abstract wake(slot: number): void;
  /** Ends every worker at once (the pool broke). */
  protected abstract terminateAll(): void;
  /** Workers whose exit has not been seen yet. */
  protected abstract liveWorkers(): number;
  protected abstract brokenError(message: string, cause?: unknown): BrokenExecutor;
  /** Shared memory is passed by reference (threads) or refused (processes). */
  abstract idOf(sab: SharedArrayBuffer): number;
  abstract get(id: number): SharedArrayBuffer;

  override submit<A extends unknown[], R>(fn: TaskFn<A, R>, ...args: A): Future<Awaited<R>> {
    this._checkOpen();
    const func = this.#functionIndex(fn);
    const data = encode(args, this);
    const future = new Future<Awaited<R>>();
    const id = this.#push(func, 1, data, future);
    future._link = new RecordLink(this, id);
    return future;
  }

  override _checkOpen(): void {
    if (this.#broken !== undefined) throw this.brokenError(this.#broken.message, this.#broken.cause);
    if (this.#shutdown) throw new ShutdownError('cannot schedule new futures after shutdown');
  }

  override _workerCount(): number {
    return this.maxWorkers;
  }

  override _mapSink(fn: TaskFn<any[], unknown>): MapSource {
    const func = this.#functionIndex(fn, 'map()');
    return {
      submitChunk: (items, spread) => {
        this._checkOpen();
        let resolve!: PendingChunk['resolve'];
        const outcomes = new Promise<ChunkResults>((r) => (resolve = r));
        const flags = RECORD_CHUNK | (spread ? RECORD_SPREAD : 0);
        const id = this.#push(func, items.length, encode(items, this), { resolve, items: items.length }, flags);
        return {
          outcomes,
          cancel: () => {
            // Not started: the record never runs. Started: its outcomes are dropped on arrival.
            if (this.native.cancel(id)) this.#settled(id);
            else {
              const chunk = this.#inFlight.get(id) as PendingChunk | undefined;
              if (chunk) chunk.resolve = () => {};
            }
          },
        };
      },
    };
  }

  /** Python's `shutdown`. Idempotent; a later call with `cancelFutures` still cancels. */
  override async shutdown({ wait = true, cancelFutures = false }: ShutdownOptions = {}): Promise<void> {
    this.#shutdown = true;
    const { cancelled, wake } = this.native.shutdown(Boolean(cancelFutures));
    for (const id of cancelled) {
      const entry = this.#inFlight.get(id);
      this.#settled(id);
      if (entry instanceof Future) entry._markCancelled();
      else entry?.resolve({ values: [], failAll: { error: new CancelledError() } });
    }
    for (const slot of wake) this.wake(slot);
    if (wait) await this.#whenIdle();
  }

  /** Workers, idle workers, queued / running / completed items. */
  stats(): ExecutorStats {
    const { workers, idle, queued, running, completed } = this.native.stats();
    return { workers, idle, queued, running, completed };
  }

  /** @internal */
  _cancelRecord(id: number): boolean {
    if (!this.native.cancel(id)) return false;
    this.#settled(id);
    return true;
  }

  /** @internal */
  _recordStarted(id: number): boolean {
    return this.native.state(id) === STATE_RUNNING;
  }

  /** A worker has exited: replace it, or break the pool if it died holding tasks. */
  protected workerExited(slot: number, reason: string, cause?: unknown): void {
    const code = this.native.workerExited(slot);
    if (code === WORKER_EXIT_BROKE) this.breakPool(reason, cause);
    else this.#dispatch(code);
    this.#checkIdle();
  }

  /** Fails every pending future with the pool's `Broken*` error; later submits throw it. */
  protected breakPool(message: string, cause?: unknown): void {
    if (this.#broken === undefined) {
      this.#broken = this.brokenError(message, cause);
      this.native.breakPool();
      this.terminateAll();
    }
    this.#drain();
  }

  protected get isBroken(): boolean {
    return this.#broken !== undefined;
  }

  #functionIndex(fn: unknown, what?: string): number {
    const key = fn as object;
    let index = (typeof fn === 'function' || typeof fn === 'object') && fn !== null ? this.#functions.get(key) : undefined;
    if (index === undefined) {
      const descriptor = describeTask(fn, what);
      index = this.#descriptors.get(descriptor);
      if (index === undefined) {
        index = this.native.registerFunction(descriptor);
        this.#descriptors.set(descriptor, index);
      }
      this.#functions.set(key, index);
    }
    return index;
  }

  #push(func: number, items: number, data: string | Uint8Array, entry: Future<any> | PendingChunk, flags = 0): number {
    const packed =
      typeof data === 'string'
        ? this.native.submitText(func, items, KIND_JSON | flags, data)
        : this.native.submitBytes(func, items, KIND_CLONE | flags, data);
    if (packed === SUBMIT_BROKEN || packed === SUBMIT_SHUTDOWN) {
      this._checkOpen();
      throw new ShutdownError('cannot schedule new futures after shutdown');
    }
    const code = packed % 65536;
    const id = (packed - code) / 65536;
    this.#inFlight.set(id, entry);
    if (this.#pending++ === 0) this.native.setActive(true);
    this.#dispatch(code);
    return id;
  }



  #dispatch(code: number): void {
    if (code === 0) return;
    if (code < DISPATCH_SPAWN) this.wake(code - 1);
    else this.spawn(code - DISPATCH_SPAWN);
  }

  /** Settles everything the workers have completed (called by the core's wake-up). */
  #drain(): void {
    const frames = this.native.drain();
    if (frames === null) return;
    let at = 0;
    while (at < frames.length) {
      const id = frames.readDoubleLE(at);
      const status = frames[at + 8]!;
      const kind = frames[at + 9]!;
      const end = at + 14 + frames.readUInt32LE(at + 10);
      const entry = this.#inFlight.get(id);
      if (entry !== undefined) {
        this.#settled(id);
        if (status === STATUS_BROKEN) this.#fail(entry, this.#broken ?? this.brokenError('the pool broke'));
        else this.#complete(entry, kind, frames, at + 14, end);
      }
      at = end;
    }
    this.#checkIdle();
  }

  #complete(entry: Future<any> | PendingChunk, kind: number, frames: Buffer, start: number, end: number): void {
    let outcome: [boolean, unknown];
    try {
      outcome = entry instanceof Future ? decodeOutcome(kind, frames, start, end, this) : [true, decode(kind, frames, start, end, this)];
    } catch (error) {
      outcome = [false, error];
    }
    if (entry instanceof Future) {
      if (outcome[0]) entry.setResult(outcome[1]);
      else entry.setException(outcome[1]);
    } else if (!outcome[0]) {
      this.#fail(entry, outcome[1]);
    } else {
      entry.resolve(decodeChunkOutcomes(outcome[1] as ChunkOutcome));
    }
  }

  #fail(entry: Future<any> | PendingChunk, error: unknown): void {
    if (entry instanceof Future) entry.setException(error);
    else entry.resolve({ values: [], failAll: { error } });
  }

  #settled(id: number): void {
    if (this.#inFlight.delete(id) && --this.#pending === 0) this.native.setActive(false);
  }

  #whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #isIdle(): boolean {
    return this.#pending === 0 && this.liveWorkers() === 0;
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length > 0 && this.#isIdle()) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}

/** A chunk's outcome as the worker encodes it: values, and `[index, error descriptor]` pairs. */
export type ChunkOutcome = [unknown[], Array<[number, unknown]>];

function decodeChunkOutcomes([values, failures]: ChunkOutcome): ChunkResults {
  if (failures.length === 0) return { values };
  const rebuilt = failures.map(([index, error]): [number, unknown] => [index, rebuildError(error as Parameters<typeof rebuildError>[0])]);
  return { values, errors: new Map(rebuilt) };
}

/** Connects a future to its record in the pool (see `TaskLink`). */
class RecordLink implements TaskLink {
  constructor(
    private readonly executor: PoolExecutor,
    private readonly id: number,
  ) {}
  cancel(): boolean {
    return this.executor._cancelRecord(this.id);
  }
  started(): boolean {
    return this.executor._recordStarted(this.id);
  }
}

import os from 'node:os';

import { BrokenExecutor, CancelledError, ShutdownError } from './errors.js';
import { decodeOutcome, encode, FRAME_BLOCKS, FrameBlocks, FrameWriter, KIND_JSON, RECORD_CHUNK, RECORD_SPREAD, rebuildError, viewOf } from './codec.js';
import { Future } from './future.js';
import { InFlight } from './in-flight.js';
import { MapRun, parseMapArguments, type ChunkResults, type MapOptions, type MapSink, type RangeReceiver } from './map.js';
import {
  blocksOf,
  DISPATCH_SPAWN,
  framesLength,
  Inbox,
  NativePool,
  releaseIdleMemory,
  STATE_RUNNING,
  stashBlock,
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

/** One (async) iterable per parameter of the task function: `map`'s inputs, zipped. */
export type MapInputs<A extends unknown[]> = { [K in keyof A]: Iterable<A[K]> | AsyncIterable<A[K]> };
/** Any one of `map`'s inputs. */
type MapInput = Iterable<unknown> | AsyncIterable<unknown>;

/** Python's `Executor`: submit callables, map over iterables, shut down. */
export abstract class Executor {
  /** Schedules `fn(...args)`; the future settles with its outcome. */
  abstract submit<A extends unknown[], R>(fn: TaskFn<A, R>, ...args: A): Future<Awaited<R>>;

  /**
   * `fn` over the zipped iterables (shortest wins), results in input order. A trailing plain
   * object is the options: `{ timeout, chunksize, buffersize }`.
   *
   * The first two forms type the inputs from the function's parameters; the last two are
   * API.md's, for what those cannot take: an explicit `map<R>`, a spread of inputs, more inputs
   * than parameters.
   */
  map<A extends unknown[], R>(fn: TaskFn<A, R>, ...iterables: MapInputs<A>): AsyncIterableIterator<Awaited<R>>;
  map<A extends unknown[], R>(fn: TaskFn<A, R>, ...iterablesThenOptions: [...MapInputs<A>, MapOptions]): AsyncIterableIterator<Awaited<R>>;
  map<R>(fn: TaskFn<any[], R>, ...iterables: MapInput[]): AsyncIterableIterator<Awaited<R>>;
  map<R>(fn: TaskFn<any[], R>, ...iterablesThenOptions: [...MapInput[], MapOptions]): AsyncIterableIterator<Awaited<R>>;
  map<R>(fn: TaskFn<any[], R>, ...rest: unknown[]): AsyncIterableIterator<Awaited<R>> {
    const { sources, options } = parseMapArguments(rest);
    this._checkOpen();
    return new MapRun<Awaited<R>>(this._mapSink(fn), sources, options);
  }

  abstract shutdown(options?: ShutdownOptions): Promise<void>;

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown({ wait: true });
  }

  /** @internal Throws when nothing may be submitted any more. */
  _checkOpen(): void {}

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

/** Items of a `map` in flight as one record (a chunk) or one job (cut by the core). */
interface MapEntry {
  receiver: RangeReceiver;
  /** Index of the record's first item within the run. */
  offset: number;
  /** Items whose outcome has not arrived yet. */
  remaining: number;
}

/**
 * The machinery both executors share: futures keyed by record id, the native pool, the
 * completion drain, breaking and shutdown. Subclasses provide the workers. Not exported from the
 * package root, but declared, since the public executors extend it.
 */
export abstract class PoolExecutor extends Executor {
  readonly maxWorkers: number;
  protected readonly native: NativePool;
  readonly #inFlight = new InFlight<Future<any> | MapEntry>();
  readonly #functions = new WeakMap<object, number>();
  readonly #descriptors = new Map<string, number>();
  #pending = 0;
  #active = false;
  /**
   * Records submitted but not yet handed to the core. They go in one call at the end of the
   * current job (a microtask), or sooner: at once while a worker may be idle, when many pile up,
   * or when something needs the core's view. Large views among the arguments travel as blocks
   * where workers attach to the core (see `FrameWriter`).
   */
  readonly #batch = new FrameWriter(this.workersAttach ? stashBlock : undefined);
  #batched = 0;
  /** Where the core writes the completions that `drain` returns (see `#settle`). */
  readonly #inbox = new Inbox();
  #inboxInUse = false;
  #idleTimer: NodeJS.Timeout | undefined;
  #flushQueued = false;
  /** The id the core will give the next record: it numbers them 1, 2, ... in submission order. */
  #nextId = 1;
  #shutdown = false;
  #broken: BrokenExecutor | undefined;
  #idleWaiters: Array<() => void> = [];
  /**
   * Polling for outcomes. A worker wakes an idle main thread through the event loop (an eventfd
   * write, then the kernel waking a sleeping CPU): 15-30 µs on a small VM, more than a small task
   * takes. So after a submit or an outcome, while there is a core to spare (no more records
   * pending than cores beside the main thread's), the main thread looks at the completion queue
   * from `setImmediate` until POLL_WINDOW_MS pass with nothing new; workers do not wake it
   * meanwhile. The cost is bounded: at most one window of a spare core per submit or outcome.
   */
  #polling = false;
  /** `performance.now()` of the last submit or outcome. */
  #lastActivity = 0;

  protected constructor(maxWorkers: number, maxTasksPerWorker: number | undefined) {
    super();
    this.maxWorkers = maxWorkers;
    // Workers may spin briefly when out of work, on the cores the main thread does not need;
    // only threads can (the main thread takes work for child processes, and must not block).
    const lingering = this.workersAttach ? Math.max(1, SPARE_CORES) : 0;
    // The core's wake-up holds the executor weakly, so that an executor nobody references can
    // be collected; while work is pending, `activeExecutors` holds it (see `#updateActive`).
    const self = new WeakRef(this);
    this.native = new NativePool(maxWorkers, maxTasksPerWorker, lingering, () => {
      const executor = self.deref();
      if (executor !== undefined) executor.#drain();
    });
  }

  /**
   * Whether the workers are threads attached to the core, which take work and report outcomes
   * by themselves: they may linger for work, and polling can catch their outcomes before a
   * wake-up would. Child processes go through the main thread instead.
   */
  protected get workersAttach(): boolean {
    return false;
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
  /** @internal The codec's `SharedMemoryTable`: shared memory is passed by reference (threads) or refused (processes). */
  abstract idOf(sab: SharedArrayBuffer): number;
  /** @internal */
  abstract get(id: number): SharedArrayBuffer;

  override submit<A extends unknown[], R>(fn: TaskFn<A, R>, ...args: A): Future<Awaited<R>> {
    this._checkOpen();
    const func = this.#functionIndex(fn);
    const future = new Future<Awaited<R>>();
    const id = this.#push(func, 1, args, future);
    future._link = this;
    future._id = id;
    return future;
  }

  /** @internal */
  override _checkOpen(): void {
    if (this.#broken !== undefined) throw this.brokenError(this.#broken.message, this.#broken.cause);
    if (this.#shutdown) throw new ShutdownError('cannot schedule new futures after shutdown');
  }

  /** @internal */
  override _mapSink(fn: TaskFn<any[], unknown>): MapSink {
    const func = this.#functionIndex(fn, 'map()');
    return {
      submit: (items, spread, offset, chunksize, receiver) => {
        this._checkOpen();
        const flags = RECORD_CHUNK | (spread ? RECORD_SPREAD : 0);
        if (chunksize === 'auto') {
          let text: string | Uint8Array | undefined;
          try {
            text = encode(items, this);
          } catch {
            // An item cannot be cloned: the chunks below find which, and fail it alone.
          }
          // JSON: one job, which the core cuts into ranges as workers take them (guided
          // self-scheduling at each worker's measured speed).
          if (typeof text === 'string') return this.#pushJob(func, flags, text, { receiver, offset, remaining: items.length });
        }
        const sizes = chunksize === 'auto' ? this.native.planChunks(items.length) : [];
        const ids: number[] = [];
        // Not started: the record never runs. Started: its outcomes arrive after the run ended.
        const cancel = (): void => ids.forEach((id) => this.native.cancel(id) && this.#settled(id));
        for (let start = 0, i = 0; start < items.length; i++) {
          const size = chunksize === 'auto' ? sizes[i]! : chunksize;
          const chunk = items.slice(start, start + size);
          const entry = { receiver, offset: offset + start, remaining: chunk.length };
          try {
            ids.push(this.#push(func, chunk.length, chunk, entry, flags));
          } catch {
            this.#pushOneByOne(func, chunk, flags, receiver, offset + start, ids);
            return cancel;
          }
          start += size;
        }
        return cancel;
      },
    };
  }

  /** Python's `shutdown`. Idempotent; a later call with `cancelFutures` still cancels. */
  override async shutdown({ wait = true, cancelFutures = false }: ShutdownOptions = {}): Promise<void> {
    this._flush();
    this.#shutdown = true;
    const { cancelled, cancelledRanges, wake } = this.native.shutdown(Boolean(cancelFutures));
    for (const id of cancelled) {
      const entry = this.#inFlight.get(id);
      if (entry instanceof Future) {
        this.#settled(id);
        entry._markCancelled();
      } else if (entry !== undefined) {
        this.#mapOutcome(id, entry, 0, entry.remaining, { values: [], failAll: { error: new CancelledError() } });
      }
    }
    for (let i = 0; i < cancelledRanges.length; i += 3) {
      const [id, first, count] = cancelledRanges.slice(i, i + 3) as [number, number, number];
      const entry = this.#inFlight.get(id) as MapEntry | undefined;
      if (entry !== undefined) this.#mapOutcome(id, entry, first, count, { values: [], failAll: { error: new CancelledError() } });
    }
    for (const slot of wake) this.wake(slot);
    this.#checkIdle();
    if (wait) await this.#whenIdle();
  }

  /** Workers, idle workers, queued / running / completed items. */
  stats(): ExecutorStats {
    this._flush();
    const { workers, idle, queued, running, completed } = this.native.stats();
    return { workers, idle, queued, running, completed };
  }

  /** @internal */
  _cancelRecord(id: number): boolean {
    this._flush();
    if (!this.native.cancel(id)) return false;
    this.#settled(id);
    return true;
  }

  /** @internal */
  _recordStarted(id: number): boolean {
    this._flush();
    return this.native.state(id) === STATE_RUNNING;
  }

  /** A worker has exited: replace it, or break the pool if it died holding tasks. */
  protected workerExited(slot: number, reason: string, cause?: unknown): void {
    const code = this.native.workerExited(slot);
    if (code === WORKER_EXIT_BROKE) this.breakPool(reason, cause);
    else this.#dispatch(code);
    this.#checkIdle();
  }

  /**
   * Fails every pending future with the pool's `Broken*` error; later submits throw it.
   * `failRunning` (a worker died): the running ones fail too, and every worker is ended.
   * Otherwise (a thread's initializer failed, as in Python) running tasks finish as usual and
   * their workers then exit.
   */
  protected breakPool(message: string, cause?: unknown, failRunning = true): void {
    if (this.#broken === undefined) {
      this._flush();
      this.#broken = this.brokenError(message, cause);
      this.native.breakPool(failRunning);
      if (failRunning) this.terminateAll();
    }
    this.#drain();
  }

  protected get isBroken(): boolean {
    return this.#broken !== undefined;
  }

  #functionIndex(fn: unknown, what?: string): number {
    const known = this.#functions.get(fn as object);
    if (known !== undefined) return known;
    const descriptor = describeTask(fn, what);
    let index = this.#descriptors.get(descriptor);
    if (index === undefined) {
      index = this.native.registerFunction(descriptor);
      this.#descriptors.set(descriptor, index);
      // Only the first function of each descriptor: closures made anew in a loop would fill
      // the WeakMap (costly for the GC) and are found by their source text instead.
      this.#functions.set(fn as object, index);
    }
    return index;
  }

  /** Batches a record for `value` (throws, with nothing batched, when it cannot be cloned). */
  #push(func: number, items: number, value: unknown, entry: Future<any> | MapEntry, flags = 0): number {
    this.#batch.pushRecord(func, items, flags, value, this);
    const id = this.#nextId++;
    this.#inFlight.add(id, entry);
    if (this.#pending++ === 0) this.#updateActive();
    const batched = ++this.#batched;
    // With fewer records in the core than workers, one may be idle: the batch goes at once, so
    // that work starts while later submits are still being encoded. Large records go at once
    // too: a batch of them would only grow (and copy) the buffer.
    if (batched >= FLUSH_RECORDS || this.#batch.size >= FLUSH_BYTES || this.#pending - batched < this.maxWorkers) this._flush();
    else if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushSoon);
    }
    return id;
  }

  readonly #flushSoon = (): void => {
    this.#flushQueued = false;
    this._flush();
  };

  /** @internal Hands every batched record to the core, in one call. */
  _flush(): void {
    if (this.#batched === 0) return;
    const count = this.#batched;
    this.#batched = 0;
    const result = this.native.submitBatch(this.#batch.bytes, this.#batch.length, this.#batch.id);
    this.#batch.clear();
    const packed = result[0]!;
    const first = this.#nextId - count;
    if (packed < 0) {
      // The core broke between the submits and this call: those records never reach a worker.
      const error = packed === SUBMIT_BROKEN ? this.#brokenErrorOf() : new ShutdownError('cannot schedule new futures after shutdown');
      for (let id = first; id < first + count; id++) this.#failEntry(id, error);
      return;
    }
    if (packed / 65536 !== first) throw new Error(`concurrent-futures: record ids out of step (${packed / 65536} != ${first})`);
    for (let i = 1; i < result.length; i++) this.#dispatch(result[i]!);
    this.#lastActivity = performance.now();
    this.#startPolling();
  }

  #failEntry(id: number, error: unknown): void {
    const entry = this.#inFlight.get(id);
    if (entry instanceof Future) {
      this.#settled(id);
      entry._finish(false, error);
    } else if (entry !== undefined) {
      this.#mapOutcome(id, entry, 0, entry.remaining, { values: [], failAll: { error } });
    }
  }

  /**
   * A chunk that could not be encoded: its items go one record each up to the one that cannot
   * be cloned, which fails at its own position (a `next()` throws there, so the items before it
   * are still delivered). The run ends at that item; nothing after it is submitted.
   */
  #pushOneByOne(func: number, chunk: unknown[], flags: number, receiver: RangeReceiver, offset: number, ids: number[]): void {
    for (let i = 0; i < chunk.length; i++) {
      try {
        ids.push(this.#push(func, 1, [chunk[i]], { receiver, offset: offset + i, remaining: 1 }, flags));
      } catch (error) {
        receiver.deliver(offset + i, 1, { values: [], failAll: { error } });
        return;
      }
    }
  }

  /** Queues a `map` job; returns its cancel. */
  #pushJob(func: number, flags: number, text: string, entry: MapEntry): () => void {
    this._flush();
    const [packed, ...codes] = this.native.submitJob(func, KIND_JSON | flags, text) as [number, ...number[]];
    if (packed < 0) {
      this._checkOpen();
      throw new TypeError('map(): internal error: the items did not encode as a JSON array');
    }
    const id = this.#nextId++;
    if (packed / 65536 !== id) throw new Error(`concurrent-futures: record ids out of step (${packed / 65536} != ${id})`);
    this.#inFlight.add(id, entry);
    if (this.#pending++ === 0) this.#updateActive();
    for (const code of codes) this.#dispatch(code);
    return () => {
      const cancelled = this.native.cancelJob(id);
      if (cancelled > 0 && (entry.remaining -= cancelled) === 0) this.#settled(id);
    };
  }

  /** Delivers the outcome of items `first .. first + count` of a map record or job. */
  #mapOutcome(id: number, entry: MapEntry, first: number, count: number, results: ChunkResults): void {
    entry.receiver.deliver(entry.offset + first, count, results);
    if ((entry.remaining -= count) <= 0) this.#settled(id);
  }

  #dispatch(code: number): void {
    if (code === 0) return;
    if (code < DISPATCH_SPAWN) this.wake(code - 1);
    else this.spawn(code - DISPATCH_SPAWN);
  }

  /** Settles everything the workers have completed (called by the core's wake-up). */
  #drain(): void {
    if (this.#settle(false)) {
      this.#lastActivity = performance.now();
      this.#startPolling();
    }
  }

  #startPolling(): void {
    if (this.#polling || this.#pending === 0 || this.#pending > SPARE_CORES || !this.workersAttach) return;
    this.#polling = true;
    setImmediate(this.#poll);
  }

  readonly #poll = (): void => {
    const now = performance.now();
    if (this.#settle(true)) this.#lastActivity = now;
    // Polling goes on for the window even with nothing pending: the caller that just got an
    // outcome often submits again at once (a loop of awaited submits), and then neither the
    // polling nor the executor's active state has to be set up anew.
    if (this.#pending <= SPARE_CORES && this.#broken === undefined && now - this.#lastActivity < POLL_WINDOW_MS) {
      setImmediate(this.#poll);
      return;
    }
    this.#polling = false;
    // Ends the polling in the core too: from here on, a completing worker wakes this thread.
    this.#settle(false);
    if (this.#pending === 0) this.#updateActive();
  };

  /** Drains the core's completions (`polling`: see `#poll`) and settles them; `false` when there were none. */
  #settle(polling: boolean): boolean {
    // Done-callbacks run user code while the frames are read; should it re-enter (a callback
    // that ends a process pool's children breaks the pool, which drains), the inner drain must
    // not overwrite those frames: it gets a buffer of its own.
    const inUse = this.#inboxInUse;
    const drained = this.native.drain(polling, inUse ? EMPTY : this.#inbox.buffer);
    if (drained === 0) return false;
    // Taken at once, before a callback can drain again: they belong to these frames.
    const blocks = blocksOf(drained);
    const frames = inUse ? (drained as Buffer) : this.#inbox.framesOf(drained);
    const end = framesLength(drained);
    const view = viewOf(frames);
    this.#inboxInUse = true;
    try {
      this.#settleFrames(frames, view, end, blocks);
    } finally {
      this.#inboxInUse = inUse;
      this.#inbox.done(frames);
    }
    this.#checkIdle();
    return true;
  }

  #settleFrames(frames: Buffer, view: DataView, end: number, blocks: FrameBlocks | undefined): void {
    let at = 0;
    while (at < end) {
      const id = view.getFloat64(at, true);
      const first = view.getUint32(at + 8, true);
      const count = view.getUint32(at + 12, true);
      const status = frames[at + 16]!;
      const kind = frames[at + 17]!;
      const start = at + 22;
      at = start + view.getUint32(at + 18, true);
      if (kind & FRAME_BLOCKS && blocks !== undefined) blocks.next = blocks.frame(frames[start]!);
      const entry = this.#inFlight.get(id);
      if (entry === undefined) continue;
      if (entry instanceof Future) {
        this.#settled(id);
        if (status === STATUS_BROKEN) entry._finish(false, this.#brokenErrorOf());
        else this.#settleFuture(entry, kind, frames, start, at, blocks);
      } else {
        const results = status === STATUS_BROKEN ? { values: [], failAll: { error: this.#brokenErrorOf() } } : this.#decodeRange(kind, frames, start, at);
        this.#mapOutcome(id, entry, first, count, results);
      }
    }
  }

  #brokenErrorOf(): BrokenExecutor {
    return this.#broken ?? this.brokenError('the pool broke');
  }

  #settleFuture(future: Future<any>, kind: number, frames: Buffer, start: number, end: number, blocks: FrameBlocks | undefined): void {
    let outcome: [boolean, unknown];
    try {
      outcome = decodeOutcome(kind, frames, start, end, this, blocks);
    } catch (error) {
      outcome = [false, error];
    }
    future._finish(outcome[0], outcome[1]);
  }

  #decodeRange(kind: number, frames: Buffer, start: number, end: number): ChunkResults {
    try {
      const [ok, value] = decodeOutcome(kind, frames, start, end, this);
      return ok ? decodeChunkOutcomes(value as ChunkOutcome) : { values: [], failAll: { error: value } };
    } catch (error) {
      return { values: [], failAll: { error } };
    }
  }

  #settled(id: number): void {
    // While polling, the executor stays active until the polling ends (see `#poll`).
    if (this.#inFlight.delete(id) && --this.#pending === 0 && !this.#polling) {
      this.#updateActive();
    }
  }

  #whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    this.#updateActive();
    return idle;
  }

  /**
   * The event loop stays alive while records are pending or a `shutdown` waits for the workers
   * to exit (they are unref'd, so that an idle executor never keeps the process alive).
   */
  #updateActive(): void {
    const active = this.#pending > 0 || this.#idleWaiters.length > 0;
    if (active !== this.#active) {
      this.#active = active;
      this.native.setActive(active);
      if (active) {
        activeExecutors.add(this);
      } else {
        activeExecutors.delete(this);
        this.#releaseWhenIdle();
      }
    }
  }

  #releaseWhenIdle(): void {
    if (this.#shutdown && this.#isIdle()) {
      // Nothing will be submitted again: at once, and no timer that would hold the executor.
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
      this.#releaseIdleMemory();
      return;
    }
    // Not at once: a loop of awaited submits goes idle between its tasks, and would allocate
    // its large buffers afresh for each. One timer, re-armed each time.
    if (this.#idleTimer === undefined) this.#idleTimer = setTimeout(this.#releaseIdleMemory, IDLE_RELEASE_MS).unref();
    else this.#idleTimer.refresh();
  }

  /** Gives back what large payloads left behind, if the executor is still idle. */
  readonly #releaseIdleMemory = (): void => {
    if (this.#active) return;
    this.#inbox.shrink();
    releaseIdleMemory();
  };

  #isIdle(): boolean {
    return this.#pending === 0 && this.liveWorkers() === 0;
  }

  #checkIdle(): void {
    // Shut down (or broken) and idle: nothing will complete again; let the executor be collected.
    if ((this.#shutdown || this.#broken !== undefined) && this.#isIdle()) {
      this.native.close();
      if (!this.#active) this.#releaseWhenIdle();
    }
    if (this.#idleWaiters.length > 0 && this.#isIdle()) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      this.#updateActive();
      for (const resolve of waiters) resolve();
    }
  }
}

/** Executors with pending work: kept alive (and so is the process) until it is done. */
const activeExecutors = new Set<PoolExecutor>();

/** How long the main thread polls for outcomes after the last submit or outcome (see `#polling`). */
const POLL_WINDOW_MS = 0.05;
/** Cores beside the main thread's. */
const SPARE_CORES = os.availableParallelism() - 1;

const EMPTY = Buffer.alloc(0);

/** Batched records are handed to the core at the latest when this many pile up. */
const FLUSH_RECORDS = 256;
const FLUSH_BYTES = 256 * 1024;
/** An executor idle this long gives back the memory large payloads left behind (its inbox, the core's cached blocks). */
const IDLE_RELEASE_MS = 50;

/** A chunk's outcome as the worker encodes it: values, and `[index, error descriptor]` pairs. */
export type ChunkOutcome = [unknown[], Array<[number, unknown]>];

function decodeChunkOutcomes([values, failures]: ChunkOutcome): ChunkResults {
  if (failures.length === 0) return { values };
  const rebuilt = failures.map(([index, error]): [number, unknown] => [index, rebuildError(error as Parameters<typeof rebuildError>[0])]);
  return { values, errors: new Map(rebuilt) };
}

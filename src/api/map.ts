/**
 * `Executor.map`: zips the inputs, cuts them into chunks (one record each), and delivers the
 * items' outcomes in input order, one by one.
 *
 * Without `buffersize`, a synchronous input is consumed and submitted inside the `map()` call; an
 * asynchronous one is consumed in the background at once. With `buffersize: n`, at most `n` items
 * are in flight (`n + 1` while a `next()` waits) and the input is read as results are delivered,
 * in batches: once half the buffer or less is in flight, up to the limit at once, so that the
 * sink can still cut chunks. Nothing kept per submission outlives the delivery of its items, so
 * memory stays bounded by `buffersize` however long the input.
 */
import { watchAbort } from './abort-watch.js';
import { TimeoutError } from './errors.js';
import { checkKnownKeys } from './option-keys.js';
import { MAX_TIMER_MS, toTimeout } from './future.js';

export interface MapOptions {
  /** Milliseconds from the `map()` call until `next()` throws `TimeoutError`. */
  timeout?: number | undefined;
  /** Items per record: a positive integer, or `'auto'` (guided self-scheduling, the default). */
  chunksize?: number | 'auto' | undefined;
  /** Read the input lazily, with at most this many items in flight. */
  buffersize?: number | undefined;
  /**
   * Aborting it ends the run as `return()` does (every undelivered item is cancelled, and the
   * running ones' own signals fire); the pending `next()` rejects with the signal's reason.
   */
  signal?: AbortSignal | undefined;
}

/** The outcomes of a range of items: values, the errors of the items that threw, or one error for all. */
export interface ChunkResults {
  values: unknown[];
  errors?: Map<number, unknown>;
  failAll?: { error: unknown };
}

/** Receives the outcomes of a map run's items, a range at a time, in any order. */
export interface RangeReceiver {
  /** Items `first .. first + count` (indices within the run) have these outcomes. */
  deliver(first: number, count: number, results: ChunkResults): void;
}

/** Where a map run sends its items (an executor's business; exported for subclasses). */
export interface MapSink {
  /**
   * Schedules `items` (indices `offset ..` within the run); `spread`: each item is an argument
   * list, otherwise it is the only argument. Outcomes go to `receiver`. `chunksize` is the
   * caller's, or `'auto'` to let the scheduler cut. Returns a way to cancel what has not started
   * (and skip the unstarted items of running chunks); given a `reason` (the run's signal ended
   * it), what runs is aborted as `run`'s signal aborts a task. `stoppable`: the run has a signal
   * (its items may be stopped by ending their worker).
   */
  submit(items: unknown[], spread: boolean, offset: number, chunksize: number | 'auto', receiver: RangeReceiver, stoppable: boolean): (reason?: unknown) => void;
}

const mapTimeout = (): TimeoutError => new TimeoutError('map() results not ready within the timeout');

/** What `Zip` returns when an input is exhausted. */
const END: unique symbol = Symbol('end');

/**
 * Yields `value` forever (or `times` times): the way to pass one argument, such as a typed array
 * over a `SharedArrayBuffer`, to every item of a `map` (zip stops at the shortest input).
 *
 * ```js
 * ex.map(sumRange, repeat(data), starts, ends)
 * ```
 */
export function* repeat<T>(value: T, times = Infinity): Generator<T, void, undefined> {
  for (let i = 0; i < times; i++) yield value;
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return value != null && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value != null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

interface ParsedOptions {
  deadline: number | undefined;
  chunksize: number | 'auto';
  buffersize: number | undefined;
  signal: AbortSignal | undefined;
}

const MAP_OPTIONS = ['timeout', 'chunksize', 'buffersize', 'signal'];

/** An object literal (or `Object.create(null)`), of any realm: what `map` takes as its options. */
function isPlainObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? `an instance of ${name}` : 'an object';
}

/** Splits `map`'s arguments into inputs and options and validates both (synchronously). */
export function parseMapArguments(rest: unknown[]): { sources: Array<Iterable<unknown> | AsyncIterable<unknown>>; options: ParsedOptions } {
  let raw: MapOptions = {};
  const last = rest[rest.length - 1];
  if (isPlainObject(last) && !isIterable(last) && !isAsyncIterable(last)) {
    raw = last as MapOptions;
    rest = rest.slice(0, -1);
  }
  checkKnownKeys('map()', raw, MAP_OPTIONS);
  rest.forEach((input, i) => {
    if (!isIterable(input) && !isAsyncIterable(input)) {
      throw new TypeError(`map(): argument ${i + 2} must be an iterable or async iterable, got ${describeValue(input)}`);
    }
  });
  const { chunksize = 'auto', buffersize, signal } = raw;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('map(): signal must be an AbortSignal');
  const timeout = toTimeout(raw.timeout);
  if (chunksize !== 'auto') {
    if (typeof chunksize !== 'number') throw new TypeError(`map(): chunksize must be a positive integer or 'auto', got ${typeof chunksize}`);
    if (!Number.isInteger(chunksize) || chunksize < 1) throw new RangeError(`map(): chunksize must be a positive integer, got ${chunksize}`);
  }
  if (buffersize !== undefined) {
    if (typeof buffersize !== 'number' || !Number.isInteger(buffersize)) throw new TypeError(`map(): buffersize must be an integer, got ${String(buffersize)}`);
    if (buffersize < 1) throw new RangeError(`map(): buffersize must be >= 1, got ${buffersize}`);
  }
  return {
    sources: rest as Array<Iterable<unknown> | AsyncIterable<unknown>>,
    options: { deadline: timeout === undefined ? undefined : Date.now() + timeout, chunksize, buffersize, signal },
  };
}

/** Zips several (possibly async) iterators, shortest first. */
class Zip {
  readonly #iterators: Array<Iterator<unknown> | AsyncIterator<unknown>>;
  readonly async: boolean;
  /** One input: items are the values themselves, not one-element argument lists. */
  readonly single: boolean;
  #done: boolean;

  constructor(sources: Array<Iterable<unknown> | AsyncIterable<unknown>>) {
    this.#iterators = sources.map((s) => (isIterable(s) ? s[Symbol.iterator]() : s[Symbol.asyncIterator]()));
    this.async = sources.some((s) => !isIterable(s));
    this.single = sources.length === 1;
    this.#done = sources.length === 0;
  }

  get done(): boolean {
    return this.#done;
  }

  nextSync(): unknown {
    if (this.#done) return END;
    if (this.single) {
      const r = (this.#iterators[0] as Iterator<unknown>).next();
      return r.done ? this.#finish() : r.value;
    }
    const args = [];
    for (const it of this.#iterators) {
      const r = (it as Iterator<unknown>).next();
      if (r.done) return this.#finish();
      args.push(r.value);
    }
    return args;
  }

  async next(): Promise<unknown> {
    if (this.#done) return END;
    const args = [];
    for (const it of this.#iterators) {
      const r = await it.next();
      if (r.done) return this.#finish();
      args.push(r.value);
    }
    return this.single ? args[0] : args;
  }

  close(): void {
    if (this.#done) return;
    this.#done = true;
    for (const it of this.#iterators) {
      try {
        void it.return?.();
      } catch {
        // closing is best effort
      }
    }
  }

  #finish(): typeof END {
    this.close();
    return END;
  }
}

interface Range {
  count: number;
  results: ChunkResults;
}

export class MapRun<R> implements AsyncIterableIterator<R>, RangeReceiver {
  readonly #sink: MapSink;
  readonly #zip: Zip;
  readonly #options: ParsedOptions;
  /** The cancel of each submission whose items are not all delivered yet, in input order. */
  readonly #cancels: Array<{ end: number; cancel: (reason?: unknown) => void }> = [];
  /** The end of the first of `#cancels` (a double from the start: see `executor/shapes.ts`). */
  #firstCancelEnd = Infinity;
  /** Ranges that arrived and are not yet delivered, by first index. */
  readonly #ranges = new Map<number, Range>();
  #current: Range | undefined;
  #currentFirst = 0;
  /** Items submitted, and items delivered (the index of the next one). */
  #submitted = 0;
  #delivered = 0;
  #finished = false;
  /** Wakes the `next()` that waits for a range (or for the input), if any. */
  #arrived: (() => void) | undefined;
  /**
   * Overlapping `next()` calls run one after another, as an async generator's do: the promise
   * of the last one, and how many wait behind it. A call that finds none running and none
   * waiting runs at once (the common case: `for await` never overlaps).
   */
  #last: Promise<IteratorResult<R>> | undefined;
  #running = false;
  #queued = 0;
  #reading: Promise<void> | undefined;
  #readError: { error: unknown } | undefined;
  /** The signal's abort, for the `next()` it reaches first (which rejects with its reason). */
  #aborted: { reason: unknown } | undefined;
  readonly #onAbort = (reason: unknown): void => {
    this.#aborted = { reason };
    this.#finish(reason);
  };
  /** Stops watching the run's signal (see `watchAbort`). */
  #unwatch: (() => void) | undefined;

  constructor(sink: MapSink, sources: Array<Iterable<unknown> | AsyncIterable<unknown>>, options: ParsedOptions) {
    this.#sink = sink;
    this.#zip = new Zip(sources);
    this.#options = options;
    if (options.signal?.aborted) {
      this.#aborted = { reason: options.signal.reason };
      this.#finish();
      return;
    }
    if (options.signal !== undefined) this.#unwatch = watchAbort(options.signal, { abort: this.#onAbort });
    if (this.#zip.async) this.#reading = this.#readAsync(options.buffersize ?? Infinity);
    else this.#submit(this.#readSync(options.buffersize ?? Infinity));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<R>> {
    if (!this.#running && this.#queued === 0) return (this.#last = this.#next());
    this.#queued++;
    const run = (): Promise<IteratorResult<R>> => {
      this.#queued--;
      return this.#next();
    };
    return (this.#last = this.#last!.then(run, run));
  }

  async #next(): Promise<IteratorResult<R>> {
    if (this.#finished) return this.#end();
    this.#running = true;
    try {
      const index = this.#delivered;
      if (this.#options.buffersize !== undefined) {
        const reading = this.#topUp();
        if (reading !== undefined) await reading;
      }
      const range = await this.#rangeOf(index);
      if (range === undefined) {
        this.#finish();
        return this.#end();
      }
      const { results } = range;
      const at = index - this.#currentFirst;
      this.#delivered++;
      if (this.#delivered >= this.#firstCancelEnd) this.#releaseDelivered();
      if (results.failAll !== undefined) throw results.failAll.error;
      if (results.errors?.has(at)) throw results.errors.get(at);
      const value = results.values[at];
      results.values[at] = undefined;
      return { done: false, value: value as R };
    } catch (error) {
      this.#finish();
      throw error;
    } finally {
      this.#running = false;
    }
  }

  /** What a `next()` after the end gives: the end, or, the first time after an abort, its reason. */
  #end(): IteratorResult<R> {
    const aborted = this.#aborted;
    if (aborted === undefined) return { done: true, value: undefined };
    this.#aborted = undefined;
    throw aborted.reason;
  }

  /** Ends the run at once, also while a `next()` waits: that one then reports the end. */
  async return(): Promise<IteratorResult<R>> {
    this.#finish();
    return { done: true, value: undefined };
  }

  deliver(first: number, count: number, results: ChunkResults): void {
    if (this.#finished) return;
    this.#ranges.set(first, { count, results });
    this.#arrived?.();
  }

  /** Whether item `index` has arrived (its `next()` need not wait). */
  #hasArrived(index: number): boolean {
    return (this.#current !== undefined && index >= this.#currentFirst && index < this.#currentFirst + this.#current.count) || this.#ranges.has(index);
  }

  /** The range holding item `index`, once it has arrived; `undefined` past the end of the input. */
  async #rangeOf(index: number): Promise<Range | undefined> {
    for (;;) {
      if (this.#finished) return undefined; // `return()` while this waited
      if (this.#current !== undefined && index < this.#currentFirst + this.#current.count) return this.#current;
      const next = this.#ranges.get(index);
      if (next !== undefined) {
        this.#ranges.delete(index);
        this.#current = next;
        this.#currentFirst = index;
        return next;
      }
      if (this.#readError !== undefined) throw this.#readError.error;
      if (index >= this.#submitted && this.#reading === undefined && this.#zip.done) return undefined;
      await this.#await(new Promise<void>((resolve) => (this.#arrived = resolve)));
      this.#arrived = undefined;
    }
  }

  /**
   * Lazy mode: before waiting for a result, read more input, up to `buffersize + 1` items in
   * flight (Python reads one per result); once half the buffer or less is in flight, so that items
   * go in batches the sink can cut into chunks rather than one record each, or when this `next()`
   * must wait for its item (so that `buffersize + 1` run meanwhile, as in Python, from the first
   * `next()` on). A promise only while an async input is being read.
   */
  #topUp(): Promise<void> | undefined {
    if (this.#reading !== undefined) return this.#await(this.#reading).then(() => this.#topUp());
    const buffersize = this.#options.buffersize!;
    const inFlight = this.#submitted - this.#delivered;
    if (this.#zip.done) return undefined;
    if (inFlight > buffersize >> 1 && (inFlight > buffersize || this.#hasArrived(this.#delivered))) return undefined;
    const count = this.#delivered + buffersize + 1 - this.#submitted;
    if (!this.#zip.async) {
      this.#submit(this.#readSync(count));
      return undefined;
    }
    this.#reading = this.#readAsync(count);
    return this.#await(this.#reading);
  }

  #readSync(limit: number): unknown[] {
    const items: unknown[] = [];
    while (items.length < limit) {
      const item = this.#zip.nextSync();
      if (item === END) break;
      items.push(item);
    }
    return items;
  }

  async #readAsync(limit: number): Promise<void> {
    try {
      const items: unknown[] = [];
      while (items.length < limit) {
        const item = await this.#zip.next();
        if (item === END) break;
        items.push(item);
      }
      if (!this.#finished) this.#submit(items);
    } catch (error) {
      this.#readError = { error };
      this.#zip.close();
    } finally {
      this.#reading = undefined;
      this.#arrived?.();
    }
  }

  /** Submissions whose items are all delivered have nothing left to cancel: drop their cancels. */
  #releaseDelivered(): void {
    while (this.#cancels.length > 0 && this.#cancels[0]!.end <= this.#delivered) this.#cancels.shift();
    this.#firstCancelEnd = this.#cancels[0]?.end ?? Infinity;
  }

  #submit(items: unknown[]): void {
    if (items.length === 0) return;
    const offset = this.#submitted;
    this.#submitted += items.length;
    const cancel = this.#sink.submit(items, !this.#zip.single, offset, this.#options.chunksize, this, this.#options.signal !== undefined);
    this.#cancels.push({ end: this.#submitted, cancel });
    if (this.#cancels.length === 1) this.#firstCancelEnd = this.#submitted;
  }

  /** Awaits `promise`, or throws `TimeoutError` at the deadline. */
  #await<T>(promise: Promise<T>): Promise<T> {
    const { deadline } = this.#options;
    if (deadline === undefined) return promise;
    const left = deadline - Date.now();
    if (left > MAX_TIMER_MS) return promise;
    // Past the deadline, what is not ready now is late (as Python's `result(negative)`).
    if (left <= 0) return Promise.reject(mapTimeout());
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(mapTimeout()), left);
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /**
   * Ends the run: every undelivered item is cancelled, the input closed; `abortReason`: the
   * signal's, for the items running (see `MapSink.submit`).
   */
  #finish(abortReason?: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#unwatch?.();
    this.#zip.close();
    for (const { cancel } of this.#cancels) cancel(abortReason);
    this.#cancels.length = 0;
    this.#firstCancelEnd = Infinity;
    this.#ranges.clear();
    this.#current = undefined;
    this.#arrived?.();
  }
}

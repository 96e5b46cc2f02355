/**
 * `Executor.map`: zips the inputs, cuts them into chunks (one record each), and delivers the
 * items' outcomes in input order, one by one.
 *
 * Without `buffersize`, a synchronous input is consumed and submitted inside the `map()` call; an
 * asynchronous one is consumed in the background at once. With `buffersize: n`, at most `n` items
 * are in flight (`n + 1` while a `next()` waits) and the input is read as results are delivered.
 */
import { TimeoutError } from './errors.js';
import { checkTimeout, MAX_TIMER_MS } from './future.js';

export interface MapOptions {
  /** Milliseconds from the `map()` call until `next()` throws `TimeoutError`. */
  timeout?: number;
  /** Items per record: a positive integer, or `'auto'` (guided self-scheduling, the default). */
  chunksize?: number | 'auto';
  /** Read the input lazily, with at most this many items in flight. */
  buffersize?: number;
}

/** The outcomes of a chunk's items: values, the errors of the items that threw, or one error for all. */
export interface ChunkResults {
  values: unknown[];
  errors?: Map<number, unknown>;
  failAll?: { error: unknown };
}

/** One chunk in flight: its per-item outcomes, and a way to cancel what has not started. */
export interface SubmittedChunk {
  outcomes: Promise<ChunkResults>;
  cancel(): void;
}

/** @internal Where a map run sends its chunks. */
export interface MapSource {
  /** `spread`: each item is an argument list; otherwise each item is the only argument. */
  submitChunk(items: unknown[], spread: boolean): SubmittedChunk;
}

/** What `Zip` returns when an input is exhausted. */
const END: unique symbol = Symbol('end');

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
}

/** Splits `map`'s arguments into inputs and options and validates both (synchronously). */
export function parseMapArguments(rest: unknown[]): { sources: Array<Iterable<unknown> | AsyncIterable<unknown>>; options: ParsedOptions } {
  let raw: MapOptions = {};
  const last = rest[rest.length - 1];
  if (typeof last === 'object' && last !== null && !isIterable(last) && !isAsyncIterable(last)) {
    raw = last as MapOptions;
    rest = rest.slice(0, -1);
  }
  rest.forEach((input, i) => {
    if (!isIterable(input) && !isAsyncIterable(input)) {
      throw new TypeError(`map(): argument ${i + 2} must be an iterable or async iterable, got ${input === null ? 'null' : typeof input}`);
    }
  });
  const { timeout, chunksize = 'auto', buffersize } = raw;
  checkTimeout(timeout);
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
    options: { deadline: timeout === undefined ? undefined : Date.now() + timeout, chunksize, buffersize },
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

interface Chunk {
  submitted: SubmittedChunk;
  size: number;
  results?: ChunkResults;
}

/** Guided self-scheduling: a share of what is left, never more than 4096, 1 at the tail. */
function guidedChunk(remaining: number, workers: number): number {
  return Math.max(1, Math.min(4096, Math.ceil(remaining / (workers * 4))));
}

export class MapRun<R> implements AsyncIterableIterator<R> {
  readonly #sink: MapSource;
  readonly #zip: Zip;
  readonly #options: ParsedOptions;
  readonly #workers: number;
  readonly #chunks: Chunk[] = [];
  #head = 0;
  #offset = 0;
  #inFlight = 0;
  #finished = false;
  /** Items read but not yet submitted (async inputs, lazy mode). */
  #reading: Promise<void> | undefined;
  #readError: { error: unknown } | undefined;

  constructor(sink: MapSource, sources: Array<Iterable<unknown> | AsyncIterable<unknown>>, options: ParsedOptions, workers: number) {
    this.#sink = sink;
    this.#zip = new Zip(sources);
    this.#options = options;
    this.#workers = workers;
    if (options.buffersize === undefined) {
      if (this.#zip.async) this.#reading = this.#readAllAsync();
      else this.#submitAll(this.#readAllSync());
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<R>> {
    if (this.#finished) return { done: true, value: undefined };
    try {
      const chunk = await this.#headChunk();
      if (chunk === undefined) {
        this.#finish();
        return { done: true, value: undefined };
      }
      const results = chunk.results ?? (chunk.results = await this.#await(chunk.submitted.outcomes));
      const index = this.#offset;
      if (results.failAll !== undefined) throw results.failAll.error;
      if (results.errors?.has(index)) throw results.errors.get(index);
      const value = results.values[index];
      results.values[index] = undefined;
      this.#inFlight--;
      if (++this.#offset === chunk.size) {
        this.#chunks[this.#head] = undefined as unknown as Chunk;
        this.#head++;
        this.#offset = 0;
      }
      return { done: false, value: value as R };
    } catch (error) {
      this.#finish();
      throw error;
    }
  }

  async return(): Promise<IteratorResult<R>> {
    this.#finish();
    return { done: true, value: undefined };
  }

  /** The chunk holding the next item, reading and submitting more input first if needed. */
  async #headChunk(): Promise<Chunk | undefined> {
    if (this.#options.buffersize !== undefined) await this.#topUp();
    else if (this.#head === this.#chunks.length && this.#reading !== undefined) await this.#await(this.#reading);
    if (this.#readError !== undefined) throw this.#readError.error;
    return this.#chunks[this.#head];
  }

  /** Lazy mode: keep `buffersize` items in flight, plus the one a waiting `next()` needs. */
  async #topUp(): Promise<void> {
    const limit = this.#options.buffersize! + 1;
    while (this.#inFlight < limit && !this.#zip.done) {
      const room = limit - this.#inFlight;
      const size = this.#options.chunksize === 'auto' ? Math.min(room, Math.max(1, Math.floor(room / (2 * this.#workers)))) : Math.min(room, this.#options.chunksize);
      const items: unknown[] = [];
      while (items.length < size) {
        const item = this.#zip.async ? await this.#await(this.#zip.next()) : this.#zip.nextSync();
        if (item === END) break;
        items.push(item);
      }
      if (items.length > 0) this.#submit(items);
      if (this.#head < this.#chunks.length) break;
    }
  }

  #readAllSync(): unknown[] {
    const all: unknown[] = [];
    for (let item = this.#zip.nextSync(); item !== END; item = this.#zip.nextSync()) all.push(item);
    return all;
  }

  async #readAllAsync(): Promise<void> {
    try {
      const all: unknown[] = [];
      for (let item = await this.#zip.next(); item !== END; item = await this.#zip.next()) all.push(item);
      if (!this.#finished) this.#submitAll(all);
    } catch (error) {
      this.#readError = { error };
    }
  }

  #submitAll(all: unknown[]): void {
    const fixed = this.#options.chunksize;
    for (let start = 0; start < all.length; ) {
      const size = fixed === 'auto' ? guidedChunk(all.length - start, this.#workers) : fixed;
      this.#submit(all.slice(start, start + size));
      start += size;
    }
  }

  #submit(items: unknown[]): void {
    const submitted = this.#sink.submitChunk(items, !this.#zip.single);
    this.#chunks.push({ submitted, size: items.length });
    this.#inFlight += items.length;
  }

  /** Awaits `promise`, or throws `TimeoutError` at the deadline. */
  #await<T>(promise: Promise<T>): Promise<T> {
    const { deadline } = this.#options;
    if (deadline === undefined) return promise;
    const left = deadline - Date.now();
    if (left > MAX_TIMER_MS) return promise;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(`map() results not ready within the timeout`)), Math.max(0, left));
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

  /** Ends the run: every undelivered item is cancelled, the input closed. */
  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#zip.close();
    for (let i = this.#head; i < this.#chunks.length; i++) this.#chunks[i]!.submitted.cancel();
    this.#chunks.length = 0;
    this.#head = 0;
  }
}

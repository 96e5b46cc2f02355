/**
 * Runs task records inside a worker (thread or child process): resolves task functions from
 * their descriptors (compiled or imported once, then cached), decodes arguments, calls, awaits a
 * returned promise, and encodes each outcome as a frame for the core.
 */
import { detach, isMoved, movedBuffers, unmoved } from '../api/transfer.js';
import type { ErrorDescriptor } from '../wire/errors.js';
import { type Batch, FrameWriter, type RecordReader, type StashBlock } from '../wire/frames.js';
import type { SharedMemoryTable } from '../wire/shared-memory.js';
import { readDescriptor } from '../wire/task-descriptor.js';
import { type Amend, type ChunkOutcome, encodeError, errorDescriptor, pushChunkOutcome } from '../wire/outcomes.js';
import { OUTCOME_SKIPPED, RECORD_CHUNK, RECORD_SPREAD } from '../wire/values.js';
import { type Callable, resolve } from './functions.js';

const CAPTURE_HINT =
  'task functions are sent to workers by their source text, so they cannot use variables from the scope they were written in: pass values as arguments, or use task() to run a module export';

/** Says whether record `index` of the batch may run (`false`: it was cancelled or taken by another worker). */
export type Claim = (index: number) => boolean;

/** Where a result's buffers can move to the main thread instead of being copied (a worker thread's; see `hosts/thread/moved-buffers.ts`). */
export interface Moves {
  /** Starts writing a value that moves `buffers`. */
  begin(buffers: readonly ArrayBuffer[]): void;
  /** Ends it: `sent`, the buffers it named go, and the rest are detached; otherwise nothing moves. */
  end(sent: boolean): unknown;
}

export class Runner {
  readonly #functions: Array<Callable | undefined> = [];
  readonly #fromSource = new Set<number>();
  /** The outcome frames of the batches run so far; the caller hands them over and clears them. */
  readonly outcomes: FrameWriter;

  /** `stash`: see `FrameWriter` (a worker thread's; a child process sends its frames whole). */
  constructor(
    private readonly lookup: (index: number) => string | null,
    private readonly shared: SharedMemoryTable | undefined,
    stash?: StashBlock,
    private readonly moves?: Moves,
  ) {
    this.outcomes = new FrameWriter(stash);
  }

  async runInitializer(descriptor: string, args: unknown[]): Promise<void> {
    const fn = await resolve(readDescriptor(descriptor), true);
    await fn(...args);
  }

  /**
   * Runs every record of `batch` and appends their outcomes to `outcomes`, one per record, in
   * order; answers how many items it ran (for the core's cost estimate). `claim`, when given, is
   * asked before each record after the first (see `Claim`); a record it refuses is reported as
   * skipped. Synchronous while the tasks are (most are): a promise only once a task returns one or
   * a function must be imported.
   */
  runBatch(batch: Batch, claim?: Claim): number | Promise<number> {
    return this.#runFrom(batch.records(), 0, claim);
  }

  #runFrom(records: RecordReader, total: number, claim: Claim | undefined): number | Promise<number> {
    while (records.next()) {
      if (records.index > 0 && claim !== undefined && !claim(records.index)) {
        this.outcomes.pushEncoded(OUTCOME_SKIPPED, '');
        continue;
      }
      total += records.items;
      const pending = this.#runRecord(records);
      if (pending !== undefined) return pending.then(() => this.#runFrom(records, total, claim));
    }
    return total;
  }

  /** Runs the record `records` is on and pushes its outcome; a promise when that has to wait. */
  #runRecord(records: RecordReader): Promise<void> | undefined {
    const { func, kind } = records;
    const fn = this.#functions[func];
    if (fn === undefined) {
      return this.#load(func).then(
        () => this.#runRecord(records),
        (error: unknown) => this.#pushError(error, func),
      );
    }
    let input: unknown;
    try {
      input = records.value(this.shared);
    } catch (error) {
      return this.#pushError(error, func);
    }
    if ((kind & RECORD_CHUNK) === 0) {
      try {
        const value = fn(...(input as unknown[]));
        if (!isThenable(value)) return this.#pushValue(value);
        return Promise.resolve(value).then(
          (settled) => this.#pushValue(settled),
          (error: unknown) => this.#pushError(error, func),
        );
      } catch (error) {
        return this.#pushError(error, func);
      }
    }
    return this.#runChunk(fn, func, input as unknown[], (kind & RECORD_SPREAD) !== 0);
  }

  /** A `map` chunk: one outcome for the whole chunk, with each item's value or error. */
  #runChunk(fn: Callable, func: number, items: unknown[], spread: boolean): Promise<void> | undefined {
    const values: unknown[] = new Array(items.length);
    const failures: ChunkOutcome[1] = [];
    const runFrom = (first: number): Promise<void> | undefined => {
      for (let i = first; i < items.length; i++) {
        try {
          const value = spread ? fn(...(items[i] as unknown[])) : fn(items[i]);
          if (isThenable(value)) {
            return Promise.resolve(value).then(
              (settled) => {
                values[i] = settled;
                return runFrom(i + 1);
              },
              (error: unknown) => {
                values[i] = null;
                failures.push([i, errorDescriptor(error, this.shared, this.#hint(error, func))]);
                return runFrom(i + 1);
              },
            );
          }
          values[i] = value;
        } catch (error) {
          values[i] = null;
          failures.push([i, errorDescriptor(error, this.shared, this.#hint(error, func))]);
        }
      }
      try {
        const moved = unmoveAll(values);
        if (moved.length === 0) pushChunkOutcome(this.outcomes, values, failures, this.shared);
        else this.#moving(moved, () => pushChunkOutcome(this.outcomes, values, failures, this.shared));
      } catch (error) {
        this.#pushError(error);
      }
      return undefined;
    };
    return runFrom(0);
  }

  #pushValue(value: unknown): undefined {
    try {
      if (isMoved(value)) this.#pushMoving(unmoved(value), movedBuffers(value));
      else this.outcomes.pushOutcome(value, this.shared);
    } catch (error) {
      this.#pushError(error);
    }
    return undefined;
  }

  /** A result wrapped in `move()`: its `buffers` move where they can, and are detached here either way. */
  #pushMoving(value: unknown, buffers: ArrayBuffer[]): void {
    this.#moving(buffers, () => this.outcomes.pushOutcome(value, this.shared));
  }

  #moving(buffers: ArrayBuffer[], push: () => void): void {
    if (this.moves === undefined) {
      push();
      detach(buffers);
      return;
    }
    this.moves.begin(buffers);
    try {
      push();
    } catch (error) {
      this.moves.end(false);
      throw error;
    }
    this.moves.end(true);
  }

  #pushError(error: unknown, func?: number): undefined {
    const { kind, data } = encodeError(error, this.shared, func === undefined ? undefined : this.#hint(error, func));
    this.outcomes.pushEncoded(kind, data);
    return undefined;
  }

  /**
   * A `ReferenceError` from a function sent by source is most likely a captured variable: its
   * message (and the stack's first line) gets the reason after the task's own text. Only what is
   * sent changes: the error itself may be frozen, or the task's to keep.
   */
  #hint(error: unknown, func: number): Amend | undefined {
    if (!this.#fromSource.has(func) || !isReferenceError(error)) return undefined;
    return (descriptor: ErrorDescriptor) => {
      const { name = 'ReferenceError', message = '', stack } = descriptor;
      if (message.includes(CAPTURE_HINT)) return;
      const header = `${name}: ${message}`;
      descriptor.message = `${message} (${CAPTURE_HINT})`;
      if (typeof stack === 'string' && stack.startsWith(header)) descriptor.stack = `${name}: ${descriptor.message}${stack.slice(header.length)}`;
    };
  }

  async #load(func: number): Promise<Callable> {
    const text = this.lookup(func);
    if (text === null) throw new Error(`unknown task function #${func}`);
    const descriptor = readDescriptor(text);
    const fn = await resolve(descriptor);
    if ('source' in descriptor) this.#fromSource.add(func);
    this.#functions[func] = fn;
    return fn;
  }
}

/** Replaces each `move()` marker in `values` by its value; answers the buffers they move. */
function unmoveAll(values: unknown[]): ArrayBuffer[] {
  let moved: ArrayBuffer[] | undefined;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (!isMoved(value)) continue;
    for (const buffer of movedBuffers(value)) if (!(moved ??= []).includes(buffer)) moved.push(buffer);
    values[i] = unmoved(value);
  }
  return moved ?? [];
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

function isReferenceError(error: unknown): boolean {
  try {
    return error instanceof ReferenceError;
  } catch {
    return false; // a Proxy whose prototype cannot be looked at
  }
}

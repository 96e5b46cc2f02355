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
import { TaskScope } from './task-scope.js';

const CAPTURE_HINT =
  'task functions are sent to workers by their source text, so they cannot use variables from the scope they were written in: pass values as arguments, or use task() to run a module export';

/** Says whether record `index` of the batch may run (`false`: it was cancelled or taken by another worker). */
export type Claim = (index: number) => boolean;

/**
 * How a worker lets the `map` chunks of its batch report early and stop (see `ChunkWalk`).
 * Both are asked only at a chunk's checkpoints, between items.
 */
export interface ChunkControl {
  /** Whether record `index` of the batch was stopped (its `map` run was cancelled, or its `run` aborted): its items not started are skipped. */
  stopped(index: number): boolean;
  /** Why record `index` was stopped, for its task's `currentTask().signal` (asked once it is). */
  reason(index: number): unknown;
  /**
   * Hands over now the outcome frame in `part` (and clears it): the next `count` items of record
   * `index`, ahead of the rest of the batch. A promise when the worker lets its event loop turn
   * first (a child process: a stop arrives as a message).
   */
  handOver(index: number, count: number, part: FrameWriter): void | Promise<void>;
}

/** A finished item of a `map` chunk waits at most about this long for the rest of its chunk. */
const HAND_OVER_MS = 1;
/** Checkpoints this close together (tiny items) come less often, down to one per `MAX_STRIDE` items. */
const QUICK_CHECKPOINTS_MS = 0.1;
const MAX_STRIDE = 64;

/**
 * One `map` chunk being walked: the outcomes of its items not handed over yet, and when to look
 * at the clock and the stop flag. A look costs about 50 ns (`performance.now()`), as much as a
 * tiny item, so while items are tiny the looks thin out (one per `stride` items, the stride
 * doubling while looks come quicker than `QUICK_CHECKPOINTS_MS`); one slow item sets it back to
 * every item. So a finished item waits for its neighbours about `HAND_OVER_MS` at most, or the
 * time of the item after it when that one is slow and it was not, or of `MAX_STRIDE` items when
 * items turn slow in the middle of a run of tiny ones.
 */
class ChunkWalk {
  /** The outcomes of the items since the last hand-over: values, and `[index in values, error]`. */
  values: unknown[] = [];
  failures: ChunkOutcome[1] = [];
  #stride = 1;
  #countdown: number;
  #lastLook: number;
  #lastHandOver: number;

  /** `checked`: false when nobody is asked (a chunk then completes whole, with no checkpoint). */
  constructor(
    readonly index: number,
    checked: boolean,
  ) {
    this.#countdown = checked ? 1 : Infinity;
    this.#lastLook = this.#lastHandOver = performance.now();
  }

  /** Before an item: whether this is a checkpoint. */
  due(): boolean {
    return --this.#countdown <= 0;
  }

  /** At a checkpoint: whether the outcomes so far should be handed over now. */
  handOverDue(): boolean {
    if (this.values.length === 0 && this.#stride === 1) {
      // Before the first item, or again after a hand-over that let the event loop turn:
      // nothing to time or hand over yet.
      this.#countdown = 1;
      return false;
    }
    const now = performance.now();
    this.#stride = now - this.#lastLook < QUICK_CHECKPOINTS_MS ? Math.min(this.#stride * 2, MAX_STRIDE) : 1;
    this.#countdown = this.#stride;
    this.#lastLook = now;
    if (this.values.length === 0 || now - this.#lastHandOver < HAND_OVER_MS) return false;
    this.#lastHandOver = now;
    return true;
  }

  fail(error: ErrorDescriptor): void {
    this.failures.push([this.values.length, error]);
    this.values.push(null);
  }

  /** Forgets the outcomes handed over. */
  reset(): void {
    this.values = [];
    this.failures = [];
  }
}

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
  /** The outcome frame of the items of a chunk handed over ahead of the rest (see `ChunkControl`). */
  readonly #part: FrameWriter;
  /** The task running, for `currentTask()` (where the host can stop tasks). */
  readonly #scope: TaskScope | undefined;
  /** The chunk running, if one is (see `handOverRunning`). */
  #chunk: ChunkWalk | undefined;

  /**
   * `stash`: see `FrameWriter` (a worker thread's; a child process sends its frames whole).
   * `moves`: see `Moves`. `control`: how chunks report early and stop; without it, a chunk
   * completes whole. `allocateOutcomes`: where the outcome frames are written (see `FrameWriter`).
   */
  constructor(
    private readonly lookup: (index: number) => string | null,
    private readonly shared: SharedMemoryTable | undefined,
    stash?: StashBlock,
    private readonly moves?: Moves,
    private readonly control?: ChunkControl,
    allocateOutcomes?: (bytes: number) => Buffer,
  ) {
    this.outcomes = new FrameWriter(stash, allocateOutcomes);
    this.#part = new FrameWriter(stash);
    this.#scope = control === undefined ? undefined : new TaskScope({ aborted: (i) => control.stopped(i), reason: (i) => control.reason(i) });
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
      this.#scope?.enter(records.index);
      const pending = this.#runRecord(records);
      if (pending !== undefined) {
        return pending.then(() => {
          this.#scope?.leave();
          return this.#runFrom(records, total, claim);
        });
      }
      this.#scope?.leave();
    }
    return total;
  }

  /** Runs the record `records` is on and pushes its outcome; a promise when that has to wait. */
  #runRecord(records: RecordReader): Promise<void> | undefined {
    this.shared?.beginRecord?.();
    const { func, kind, index } = records;
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
    return this.#runChunk(fn, func, input as unknown[], (kind & RECORD_SPREAD) !== 0, index);
  }

  /**
   * A `map` chunk, record `index` of the batch: each item's value or error, in one outcome for
   * the chunk, or in several when items are slow (the items done so far are handed over at a
   * checkpoint, `ChunkWalk`). A stopped chunk skips the items it has not started; its last
   * outcome covers only the items it ran.
   */
  #runChunk(fn: Callable, func: number, items: unknown[], spread: boolean, index: number): Promise<void> | undefined {
    const { control } = this;
    const walk = (this.#chunk = new ChunkWalk(index, control !== undefined));
    const runFrom = (first: number): Promise<void> | undefined => {
      for (let i = first; i < items.length; i++) {
        if (walk.due()) {
          const stop = this.#checkpoint(walk, control!);
          if (stop === true) return this.#stopChunk(walk, control!);
          if (stop !== false) return stop.then((stopNow) => (stopNow ? this.#stopChunk(walk, control!) : runFrom(i)));
        }
        try {
          const value = spread ? fn(...(items[i] as unknown[])) : fn(items[i]);
          if (isThenable(value)) {
            return Promise.resolve(value).then(
              (settled) => {
                walk.values.push(settled);
                return runFrom(i + 1);
              },
              (error: unknown) => {
                walk.fail(errorDescriptor(error, this.shared, this.#hint(error, func)));
                return runFrom(i + 1);
              },
            );
          }
          walk.values.push(value);
        } catch (error) {
          walk.fail(errorDescriptor(error, this.shared, this.#hint(error, func)));
        }
      }
      return this.#endChunk(walk);
    };
    return runFrom(0);
  }

  /** Hands over the chunk's outcomes so far when that is due; answers whether the chunk was stopped. */
  #checkpoint(walk: ChunkWalk, control: ChunkControl): boolean | Promise<boolean> {
    if (walk.handOverDue()) {
      const count = walk.values.length;
      this.#pushChunk(this.#part, walk);
      const pending = control.handOver(walk.index, count, this.#part);
      if (pending !== undefined) return pending.then(() => control.stopped(walk.index));
    }
    return control.stopped(walk.index);
  }

  /** The chunk's last outcome: the items not handed over yet (possibly none). */
  #endChunk(walk: ChunkWalk): undefined {
    this.#chunk = undefined;
    this.#pushChunk(this.outcomes, walk);
    return undefined;
  }

  /**
   * The worker is ending in the middle of a chunk (one of its items called `process.exit`): hands
   * over the items the chunk finished, so that only the item running and those after it are lost
   * with the worker (a map delivers the items before a crash, even in the same chunk).
   */
  handOverRunning(): void {
    const walk = this.#chunk;
    if (walk === undefined || this.control === undefined || walk.values.length === 0) return;
    this.#chunk = undefined;
    const count = walk.values.length;
    this.#pushChunk(this.#part, walk);
    void this.control.handOver(walk.index, count, this.#part);
  }

  /**
   * A stopped chunk: the items it ran go ahead (`handOver`, with their exact count), and its last
   * outcome says that it ran none of the rest (`OUTCOME_SKIPPED`), which the core does not count
   * as completed.
   */
  #stopChunk(walk: ChunkWalk, control: ChunkControl): Promise<undefined> | undefined {
    this.#chunk = undefined;
    const count = walk.values.length;
    const skipRest = (): undefined => {
      this.outcomes.pushEncoded(OUTCOME_SKIPPED, '');
      return undefined;
    };
    if (count === 0) return skipRest();
    this.#pushChunk(this.#part, walk);
    const pending = control.handOver(walk.index, count, this.#part);
    return pending === undefined ? skipRest() : pending.then(skipRest);
  }

  #pushChunk(out: FrameWriter, walk: ChunkWalk): void {
    const { values, failures } = walk;
    try {
      const moved = unmoveAll(values);
      if (moved.length === 0) pushChunkOutcome(out, values, failures, this.shared);
      else this.#moving(moved, () => pushChunkOutcome(out, values, failures, this.shared));
    } catch (error) {
      const { kind, data } = encodeError(error, this.shared);
      out.pushEncoded(kind, data);
    }
    walk.reset();
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
    // The task threw its signal's reason: its future fails with the reason it was aborted with.
    const amend = this.#scope?.threwOwnReason(error) ? markOwnReason : func === undefined ? undefined : this.#hint(error, func);
    const { kind, data } = encodeError(error, this.shared, amend);
    this.outcomes.pushEncoded(kind, data);
    return undefined;
  }

  /**
   * A name the runtime found undefined (`x is not defined`) in a function sent by source is most
   * likely a captured variable: its message (and the stack's first line) gets the reason after the
   * runtime's text. Any other `ReferenceError` (one the task made) travels as it is. Only what is
   * sent changes: the error itself may be frozen, or the task's to keep.
   */
  #hint(error: unknown, func: number): Amend | undefined {
    if (!this.#fromSource.has(func) || !isReferenceError(error)) return undefined;
    return (descriptor: ErrorDescriptor) => {
      const { name = 'ReferenceError', message = '', stack } = descriptor;
      if (!UNDEFINED_NAME.test(message)) return;
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

const markOwnReason: Amend = (descriptor) => {
  descriptor.ownReason = true;
};

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** V8's message for a name that is not defined (one no parser saw: the hint applies). */
const UNDEFINED_NAME = /^[^\s()]+ is not defined$/;

function isReferenceError(error: unknown): boolean {
  try {
    return error instanceof ReferenceError;
  } catch {
    return false; // a Proxy whose prototype cannot be looked at
  }
}

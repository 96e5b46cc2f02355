/**
 * Submission: task functions registered once, records encoded straight into a batch, and the
 * batch handed to the core in one call.
 *
 * A record goes to the core at the end of the current job (a microtask), or sooner: at once while
 * a worker may be idle (fewer records in the core than workers, so that work starts while later
 * submits are still being encoded), after `FLUSH_RECORDS` records or `FLUSH_BYTES` bytes (a batch
 * of large records would only grow and copy its buffer), or when something needs the core's view
 * (`flush`). The core numbers records 1, 2, 3, ... in submission order, so each record's id is
 * known here before the batch goes.
 */
import { ShutdownError } from '../api/errors.js';
import { checkWorkerScope, describeTask } from '../api/task.js';
import type { WorkerHost } from '../hosts/host.js';
import { FrameWriter } from '../wire/frames.js';
import type { Root } from '../wire/snapshot.js';
import { dispatch, type NativePool, SUBMIT_BROKEN } from '../wire/native.js';
import { KIND_JSON } from '../wire/values.js';
import type { CompletionPump } from './completions.js';
import type { Lifecycle } from './lifecycle.js';
import type { Entry, MapEntry, Records } from './records.js';

/** Batched records are handed to the core at the latest when this many pile up. */
const FLUSH_RECORDS = 256;
const FLUSH_BYTES = 256 * 1024;

export class Submission {
  readonly #functions = new WeakMap<object, number>();
  readonly #descriptors = new Map<string, number>();
  /** Records submitted but not yet handed to the core. */
  readonly #batch: FrameWriter;
  #batched = 0;
  #flushQueued = false;
  /** The id the core will give the next record. */
  #nextId = 1;
  /**
   * Records pushed now may be stopped by ending their worker (`run`'s signal or timeout, a `map`
   * with a signal): the core hands each to a worker alone (`Pool::submit_batch_alone`), so that a
   * stop loses no other record's outcome. The batch holds records of one kind: `#batchAlone`.
   */
  #alone = false;
  #batchAlone = false;

  constructor(
    private readonly core: NativePool,
    private readonly host: WorkerHost,
    private readonly records: Records,
    private readonly completions: CompletionPump,
    private readonly lifecycle: Lifecycle,
    private readonly maxWorkers: number,
    private readonly initializerDefines: readonly string[] | null,
  ) {
    this.#batch = new FrameWriter(host.stashBlock);
  }

  /** The index of `fn` in the core's function table, registered on first use; `what` names the caller in errors. */
  functionIndex(fn: unknown, what?: string): number {
    const known = this.#functions.get(fn as object);
    if (known !== undefined) return known;
    const described = describeTask(fn, what);
    checkWorkerScope(described, what ?? 'submit()', this.initializerDefines);
    const { descriptor } = described;
    let index = this.#descriptors.get(descriptor);
    if (index === undefined) {
      index = this.core.registerFunction(descriptor);
      this.#descriptors.set(descriptor, index);
      // Only the first function of each descriptor: closures made anew in a loop would fill
      // the WeakMap (costly for the GC) and are found by their source text instead.
      this.#functions.set(fn as object, index);
    }
    return index;
  }

  /**
   * Batches a record of `items` items for `value` (`flags`: the codec's record flags; `root`: what
   * the value is, see `snapshot`; `read`: see `writeValue`); answers its id. Throws, with nothing batched, when `value`
   * cannot be cloned.
   */
  push(func: number, items: number, value: unknown, entry: Entry, flags = 0, root: Root = 'arguments', read = false): number {
    if (this.#alone !== this.#batchAlone) {
      this.flush();
      this.#batchAlone = this.#alone;
    }
    const shared = this.host.sharedMemory;
    try {
      this.#batch.pushRecord(func, items, flags, value, shared, root, read);
    } catch (error) {
      shared?.keepNamedFor?.(undefined);
      throw error;
    }
    const id = this.#nextId++;
    // The shared memory the record names lives until its outcome is read (`Records.forget`).
    shared?.keepNamedFor?.(id);
    this.records.add(id, entry);
    const batched = ++this.#batched;
    if (batched >= FLUSH_RECORDS || this.#batch.size >= FLUSH_BYTES || this.records.pending - batched < this.maxWorkers) this.flush();
    else if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushSoon);
    }
    return id;
  }

  /** `push`es (and `pushJob`s) `submit` makes are of records that may be stopped (see `#alone`). */
  stoppable<T>(submit: () => T): T {
    this.#alone = true;
    try {
      return submit();
    } finally {
      this.#alone = false;
    }
  }

  readonly #flushSoon = (): void => {
    this.#flushQueued = false;
    this.flush();
  };

  /** Hands every batched record to the core, in one call. */
  flush(): void {
    if (this.#batched === 0) return;
    const count = this.#batched;
    this.#batched = 0;
    const answer = this.core.submitBatch(this.#batch.bytes, this.#batch.length, this.#batch.id, this.#batchAlone);
    this.#batch.clear();
    const first = this.#nextId - count;
    if (answer[0]! < 0) {
      // The core broke between the submits and this call: those records never reach a worker.
      const error = answer[0] === SUBMIT_BROKEN ? this.lifecycle.brokenError() : new ShutdownError('cannot schedule new futures after shutdown');
      for (let id = first; id < first + count; id++) this.records.fail(id, error);
      return;
    }
    this.#checkStep(answer[0]!, first);
    for (let i = 1; i < answer.length; i++) dispatch(answer[i]!, this.host);
    this.completions.activity();
  }

  /**
   * Queues a `map` job: `text` is the JSON array of its items, which the core cuts into ranges as
   * workers take them. Answers its id (see `cancelJob`).
   */
  pushJob(func: number, flags: number, text: string, entry: MapEntry): number {
    this.flush();
    const [first, ...dispatches] = this.core.submitJob(func, KIND_JSON | flags, text, this.#alone) as [number, ...number[]];
    if (first < 0) {
      this.lifecycle.checkOpen();
      throw new TypeError('map(): internal error: the items did not encode as a JSON array');
    }
    const id = this.#nextId++;
    this.#checkStep(first, id);
    this.records.add(id, entry);
    for (const code of dispatches) dispatch(code, this.host);
    return id;
  }

  /**
   * Cancels the items of job `id` no worker has taken; answers whether some of it still runs
   * (to be stopped where it runs: `stop`).
   */
  cancelJob(id: number, entry: MapEntry): boolean {
    const cancelled = this.core.cancelJob(id);
    if (cancelled > 0 && (entry.remaining -= cancelled) === 0) {
      this.records.forget(id);
      return false;
    }
    return this.records.get(id) !== undefined;
  }

  /**
   * Stops a cancelled `map` run's record or job `id` where it runs: its workers skip the items
   * they have not started (`NativePool.stop`, then the host interrupts them). Answers whether some
   * worker runs it.
   */
  stop(id: number): boolean {
    if (this.records.get(id) === undefined) return false; // settled: nothing runs
    const slots = this.core.stop(id);
    for (const slot of slots) this.host.interrupt(slot);
    return slots.length > 0;
  }

  #checkStep(given: number, expected: number): void {
    if (given !== expected) throw new Error(`concurrent-futures: record ids out of step (${given} != ${expected})`);
  }
}

/**
 * The completion pump: takes the outcomes workers completed in the core, in batches, and settles
 * their futures (or delivers their `map` items).
 *
 * The core wakes the main thread once per drain (`drain`, its libuv callback). Waking an idle
 * main thread from a worker costs 15-30 µs on a small VM (an eventfd write, then the kernel waking
 * a sleeping CPU), more than a small task takes. So after a submit or an outcome, while there is a
 * core to spare (no more records pending than cores beside the main thread's), the main thread
 * polls the completion queue from `setImmediate` until `POLL_WINDOW_MS` pass with nothing new, and
 * workers do not wake it meanwhile. The cost is bounded: at most one window of a spare core per
 * submit or outcome. Only where workers complete by themselves (`WorkerHost.pollsCompletions`).
 */
import os from 'node:os';

import { Future } from '../api/future.js';
import type { ChunkResults } from '../api/map.js';
import type { WorkerHost } from '../hosts/host.js';
import { isOwnAbortReason } from '../wire/errors.js';
import { type ChunkOutcome, readChunkOutcome } from '../wire/outcomes.js';
import { type Batch, type CompletionReader, Inbox } from '../wire/frames.js';
import { CancelledError } from '../api/errors.js';
import { type NativePool, STATUS_BROKEN, STATUS_SKIPPED } from '../wire/native.js';
import type { Lifecycle } from './lifecycle.js';
import type { Records } from './records.js';

/** How long the main thread polls for outcomes after the last submit or outcome. */
const POLL_WINDOW_MS = 0.05;
/**
 * How long it polls after an abort of a running task (see `expect`): a task that sees its signal
 * ends within a fraction of this, and its outcome is then taken without a wake-up.
 */
export const ABORT_POLL_MS = 1;
/** Cores beside the main thread's. */
const SPARE_CORES = os.availableParallelism() - 1;

export class CompletionPump {
  /** Where the core writes the completions `drain` returns. */
  readonly #inbox = new Inbox();
  #polling = false;
  /**
   * `performance.now()` of the last submit or outcome; a double from the start (not the integer
   * 0), so that this field's representation never changes (see `shapes.ts`).
   */
  #lastActivity = -Infinity;
  /** `performance.now()` until which polling goes on whatever the window says (see `expect`). */
  #expectUntil = -Infinity;
  #lifecycle!: Lifecycle;

  constructor(
    private readonly core: NativePool,
    private readonly host: WorkerHost,
    private readonly records: Records,
  ) {}

  /** Set once the executor's parts exist (the lifecycle asks this pump whether it polls). */
  bind(lifecycle: Lifecycle): void {
    this.#lifecycle = lifecycle;
  }

  get polling(): boolean {
    return this.#polling;
  }

  /** Gives back the inbox's memory (the executor went idle). */
  shrink(): void {
    this.#inbox.shrink();
  }

  /** Settles everything the workers have completed (the core's wake-up calls this). */
  drain(): void {
    if (this.#settle(false)) this.activity();
  }

  /**
   * An outcome is expected within `ms` (a running task was just aborted): poll for it that long,
   * or until an outcome comes, where polling pays (see `activity`).
   */
  expect(ms: number): void {
    this.#expectUntil = performance.now() + ms;
    this.activity();
  }

  /** Records were submitted, or outcomes arrived: poll for the next outcomes, where that pays. */
  activity(): void {
    this.#lastActivity = performance.now();
    const pending = this.records.pending;
    if (this.#polling || pending === 0 || pending > SPARE_CORES || !this.host.pollsCompletions) return;
    this.#polling = true;
    setImmediate(poll, this);
  }

  /** One look at the completion queue while polling; the next is due at the next `setImmediate`. */
  poll(): void {
    const now = performance.now();
    if (this.#settle(true)) {
      this.#lastActivity = now;
      // What came is most likely the outcome expected: back to the usual window.
      this.#expectUntil = -Infinity;
    }
    // Polling goes on for the window even with nothing pending: the caller that just got an
    // outcome often submits again at once (a loop of awaited submits), and then neither the
    // polling nor the executor's active state has to be set up anew.
    if (this.records.pending <= SPARE_CORES && !this.#lifecycle.broken && (now - this.#lastActivity < POLL_WINDOW_MS || now < this.#expectUntil)) {
      setImmediate(poll, this);
      return;
    }
    this.#polling = false;
    // Ends the polling in the core too: from here on, a completing worker wakes this thread.
    this.#settle(false);
    this.#lifecycle.updateActive();
  }

  /** Drains the core's completions (`polling`: see above) and settles them; `false` when there were none. */
  #settle(polling: boolean): boolean {
    // Done-callbacks run user code while the batch is read; should it re-enter (a callback that
    // ends a process pool's children breaks the pool, which drains), the inner drain gets a
    // buffer of its own (see `Inbox.target`).
    const batch = this.#inbox.receive(this.core.drain(polling, this.#inbox.target));
    if (batch === undefined) return false;
    const shared = this.host.sharedMemory;
    shared?.beginDrain?.();
    try {
      this.#settleBatch(batch);
    } finally {
      this.#inbox.done(batch);
      shared?.endDrain?.();
    }
    this.#lifecycle.checkIdle();
    return true;
  }

  #settleBatch(batch: Batch): void {
    for (const done = batch.completions(); done.next(); ) {
      const entry = this.records.get(done.id);
      if (entry === undefined) continue;
      if (entry instanceof Future) {
        const aborted = this.records.abortReason(done.id);
        this.records.forget(done.id);
        this.#settleFuture(entry, done, aborted);
      } else {
        this.records.deliver(done.id, entry, done.first, done.count, this.#itemResults(done));
      }
    }
  }

  /** `aborted`: why the task was aborted while it ran, if it was (see `Records.abortReason`). */
  #settleFuture(future: Future<unknown>, done: CompletionReader, aborted: { reason: unknown } | undefined): void {
    if (done.status === STATUS_BROKEN) return future._finish(false, this.#lifecycle.brokenError());
    if (done.status === STATUS_SKIPPED) return future._finish(false, new CancelledError());
    let outcome: [boolean, unknown];
    try {
      outcome = done.outcome(this.host.sharedMemory);
    } catch (error) {
      outcome = [false, error];
    }
    // It threw the reason it was given: the future fails with the reason itself, not a copy.
    if (aborted !== undefined && !outcome[0] && isOwnAbortReason(outcome[1])) outcome[1] = aborted.reason;
    future._finish(outcome[0], outcome[1]);
  }

  /** A map record's outcome: each item's value or error, or one error for all. */
  #itemResults(done: CompletionReader): ChunkResults {
    if (done.status === STATUS_BROKEN) return { values: [], failAll: { error: this.#lifecycle.brokenError() } };
    // Items of a stopped chunk that never ran: their run was cancelled.
    if (done.status === STATUS_SKIPPED) return { values: [], failAll: { error: new CancelledError() } };
    try {
      const [ok, value] = done.outcome(this.host.sharedMemory);
      return ok ? readChunkOutcome(value as ChunkOutcome) : { values: [], failAll: { error: value } };
    } catch (error) {
      return { values: [], failAll: { error } };
    }
  }
}

/** `setImmediate`'s callback: one function for every pump, so that its optimized code is shared. */
function poll(pump: CompletionPump): void {
  pump.poll();
}

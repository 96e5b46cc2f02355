/**
 * The records an executor has in flight, by id, and where each one's outcome goes: a `submit`'s
 * future, or a range of a `map` run's items.
 */
import { CancelledError } from '../api/errors.js';
import { Future } from '../api/future.js';
import type { ChunkResults, RangeReceiver } from '../api/map.js';
import type { SharedMemoryTable } from '../wire/shared-memory.js';
import { InFlight } from './in-flight.js';

/** Items of a `map` run in flight as one record (a chunk) or one job (cut by the core). */
export interface MapEntry {
  receiver: RangeReceiver;
  /** Index of the record's first item within the run. */
  offset: number;
  /** Items whose outcome has not arrived yet. */
  remaining: number;
}

export type Entry = Future<any> | MapEntry;

/** Told when the first record goes in flight and when the last one leaves. */
export interface BusyObserver {
  updateActive(): void;
}

export class Records {
  readonly #entries = new InFlight<Entry>();
  /** Where the shared memory each record names is kept until it settles (thread pools). */
  readonly #shared: Pick<SharedMemoryTable, 'release'> | undefined;
  /** Why running records were aborted (`run`'s signal or timeout), until they settle. */
  readonly #abortReasons = new Map<number, unknown>();
  #pending = 0;
  #observer!: BusyObserver;

  constructor(shared?: Pick<SharedMemoryTable, 'release'>) {
    this.#shared = shared;
  }

  /** Set once the executor's parts exist. */
  bind(observer: BusyObserver): void {
    this.#observer = observer;
  }

  /** Records in flight. */
  get pending(): number {
    return this.#pending;
  }

  /** Adds record `id` (ids in increasing order). */
  add(id: number, entry: Entry): void {
    this.#entries.add(id, entry);
    if (++this.#pending === 1) this.#observer.updateActive();
  }

  get(id: number): Entry | undefined {
    return this.#entries.get(id);
  }

  /** Record `id`, running, was aborted with `reason` (see `abortReason`). */
  aborted(id: number, reason: unknown): void {
    if (this.#entries.get(id) !== undefined && !this.#abortReasons.has(id)) this.#abortReasons.set(id, reason);
  }

  /**
   * Why record `id` was aborted while it ran (the first reason given), if it was: a task that
   * threw its own signal's reason fails with it, as one its worker was stopped for would.
   */
  abortReason(id: number): { reason: unknown } | undefined {
    return this.#abortReasons.size === 0 || !this.#abortReasons.has(id) ? undefined : { reason: this.#abortReasons.get(id) };
  }

  /** Forgets record `id`: it is settled (or will never be); `false` when it was not in flight. */
  forget(id: number): boolean {
    if (this.#abortReasons.size > 0) this.#abortReasons.delete(id);
    if (!this.#entries.delete(id)) return false;
    this.#shared?.release?.(id);
    if (--this.#pending === 0) this.#observer.updateActive();
    return true;
  }

  /** Record `id` failed as a whole (its future, or every item it holds) with `error`. */
  fail(id: number, error: unknown): void {
    const entry = this.#entries.get(id);
    if (entry instanceof Future) {
      this.forget(id);
      entry._finish(false, error);
    } else if (entry !== undefined) {
      this.deliver(id, entry, 0, entry.remaining, { values: [], failAll: { error } });
    }
  }

  /** Items `[first, first + count)` of record `id` failed with `error` (a task's future: the whole record). */
  failItems(id: number, first: number, count: number, error: unknown): void {
    const entry = this.#entries.get(id);
    if (entry instanceof Future) this.fail(id, error);
    else if (entry !== undefined) this.deliver(id, entry, first, count, { values: [], failAll: { error } });
  }

  /** Record `id` was cancelled before it ran (its future, or every item it holds). */
  cancelled(id: number): void {
    const entry = this.#entries.get(id);
    if (entry instanceof Future) {
      this.forget(id);
      entry._markCancelled();
    } else if (entry !== undefined) {
      this.deliver(id, entry, 0, entry.remaining, { values: [], failAll: { error: new CancelledError() } });
    }
  }

  /** Delivers the outcome of items `first .. first + count` of the map record or job `id`. */
  deliver(id: number, entry: MapEntry, first: number, count: number, results: ChunkResults): void {
    entry.receiver.deliver(entry.offset + first, count, results);
    if ((entry.remaining -= count) <= 0) this.forget(id);
  }
}

/**
 * Where a pool's `map` sends its items (see `MapSink` in `api/map.ts`):
 *
 * - items that travel as JSON (the common case) go to the core as one job, which the core cuts
 *   into ranges as workers take them, sized by each worker's measured speed (guided
 *   self-scheduling, `crates/core/src/scheduler.rs`);
 * - other items are cut into chunks here (`planChunks`), one record each: one item each while
 *   the function's cost is unknown (workers then take several at once, by the cost they measure);
 * - an explicit `chunksize` is honoured exactly: one record per chunk.
 */
import type { MapSink, RangeReceiver } from '../api/map.js';
import type { NativePool } from '../wire/native.js';
import type { SharedMemoryTable } from '../wire/shared-memory.js';
import { type Root, snapshotItems } from '../wire/snapshot.js';
import { encodeSnapshot, RECORD_CHUNK, RECORD_SPREAD } from '../wire/values.js';
import type { Lifecycle } from './lifecycle.js';
import type { Records } from './records.js';
import type { Submission } from './submission.js';

export interface MapSinkParts {
  core: NativePool;
  shared: SharedMemoryTable | undefined;
  submission: Submission;
  records: Records;
  lifecycle: Lifecycle;
  /**
   * Aborts record or job `id` of a `map` run its signal ended, where it runs, as `run`'s signal
   * aborts a task: the running items' own signals fire with `reason`, and a worker still running
   * one after the executor's `abortGrace` is stopped.
   */
  abort(id: number, reason: unknown): void;
  /** Whether an aborted item may be stopped by ending its worker (a finite `abortGrace`). */
  mayStop: boolean;
}

/**
 * The sink of one `map` run of task function `func`. Each batch of items is read once
 * (`snapshotItems`): what goes to the workers is encoded from that reading, whether as one JSON
 * job or in chunks, so that no getter of an item runs twice.
 */
export function poolMapSink(func: number, { core, shared, submission, records, lifecycle, abort, mayStop }: MapSinkParts): MapSink {
  // Ended by its signal: aborted, as `run`'s. Otherwise (`break`, an error, its timeout) as
  // Python cancels: what runs finishes, only the items of a running chunk not started are skipped.
  const stopRunning = (id: number, reason: unknown): void => (reason === undefined ? void submission.stop(id) : abort(id, reason));
  return {
    submit: (items, spread, offset, chunksize, receiver, stoppable) =>
      stoppable && mayStop ? submission.stoppable(() => submitItems(items, spread, offset, chunksize, receiver)) : submitItems(items, spread, offset, chunksize, receiver),
  };

  function submitItems(items: unknown[], spread: boolean, offset: number, chunksize: number | 'auto', receiver: RangeReceiver): (reason?: unknown) => void {
    lifecycle.checkOpen();
    const flags = RECORD_CHUNK | (spread ? RECORD_SPREAD : 0);
    const root: Root & ('map items' | 'map argument lists') = spread ? 'map argument lists' : 'map items';
    const read = snapshotItems(items, shared, root);
    if (chunksize === 'auto' && read.json && read.refused === undefined) {
      const text = encodeSnapshot({ value: read.items, json: true, denseArrays: true, whole: false }, shared) as string;
      const entry = { receiver, offset, remaining: items.length };
      const job = submission.pushJob(func, flags, text, entry);
      return (reason) => {
        if (submission.cancelJob(job, entry)) stopRunning(job, reason);
      };
    }
    const ready = read.items;
    const sizes = chunksize === 'auto' ? core.planChunks(ready.length, func) : [];
    const ids: number[] = [];
    // Not started: the record never runs. Started: its worker skips the items it has not
    // started, and what it ran arrives after the run ended (and is dropped). Records still in
    // this tick's batch go to the core first, which only then knows them.
    const cancel = (reason?: unknown): void => {
      submission.flush();
      ids.forEach((id) => (core.cancel(id) ? records.forget(id) : stopRunning(id, reason)));
    };
    for (let start = 0, i = 0; start < ready.length; i++) {
      const size = chunksize === 'auto' ? sizes[i]! : chunksize;
      const chunk = ready.slice(start, start + size);
      try {
        ids.push(submission.push(func, chunk.length, chunk, { receiver, offset: offset + start, remaining: chunk.length }, flags, root, read.whole));
      } catch {
        // Only items too large for the walk (sent as they are) can fail here.
        pushOneByOne(submission, func, chunk, flags, root, receiver, offset + start, ids);
        return cancel;
      }
      start += size;
    }
    // The item that cannot be cloned fails at its own position; the run ends there (its
    // `next()` throws), so nothing after it goes.
    if (read.refused !== undefined) receiver.deliver(offset + read.refused.index, 1, { values: [], failAll: { error: read.refused.error } });
    return cancel;
  }
}

/**
 * A chunk that could not be encoded: its items go one record each up to the one that cannot
 * be cloned, which fails at its own position (a `next()` throws there, so the items before it
 * are still delivered). The run ends at that item; nothing after it is submitted.
 */
function pushOneByOne(submission: Submission, func: number, chunk: unknown[], flags: number, root: Root, receiver: RangeReceiver, offset: number, ids: number[]): void {
  for (let i = 0; i < chunk.length; i++) {
    try {
      ids.push(submission.push(func, 1, [chunk[i]], { receiver, offset: offset + i, remaining: 1 }, flags, root));
    } catch (error) {
      receiver.deliver(offset + i, 1, { values: [], failAll: { error } });
      return;
    }
  }
}

/**
 * Where a pool's `map` sends its items (see `MapSink` in `api/map.ts`):
 *
 * - items that travel as JSON (the common case) go to the core as one job, which the core cuts
 *   into ranges as workers take them, sized by each worker's measured speed (guided
 *   self-scheduling, `crates/core/src/scheduler.rs`);
 * - other items are cut into chunks here (`planChunks`), one record each;
 * - an explicit `chunksize` is honoured exactly: one record per chunk.
 */
import type { MapSink, RangeReceiver } from '../api/map.js';
import type { NativePool } from '../wire/native.js';
import type { SharedMemoryTable } from '../wire/shared-memory.js';
import type { Root } from '../wire/snapshot.js';
import { encode, RECORD_CHUNK, RECORD_SPREAD } from '../wire/values.js';
import type { Lifecycle } from './lifecycle.js';
import type { Records } from './records.js';
import type { Submission } from './submission.js';

export interface MapSinkParts {
  core: NativePool;
  shared: SharedMemoryTable | undefined;
  submission: Submission;
  records: Records;
  lifecycle: Lifecycle;
}

/** The sink of one `map` run of task function `func`. */
export function poolMapSink(func: number, { core, shared, submission, records, lifecycle }: MapSinkParts): MapSink {
  return {
    submit: (items, spread, offset, chunksize, receiver) => {
      lifecycle.checkOpen();
      const flags = RECORD_CHUNK | (spread ? RECORD_SPREAD : 0);
      const root: Root = spread ? 'map argument lists' : 'map items';
      if (chunksize === 'auto') {
        let text: string | Uint8Array | undefined;
        try {
          text = encode(items, shared, root);
        } catch {
          // An item cannot be cloned: the chunks below find which, and fail it alone.
        }
        if (typeof text === 'string') return submission.pushJob(func, flags, text, { receiver, offset, remaining: items.length });
      }
      const sizes = chunksize === 'auto' ? core.planChunks(items.length) : [];
      const ids: number[] = [];
      // Not started: the record never runs. Started: its outcomes arrive after the run ended.
      const cancel = (): void => ids.forEach((id) => core.cancel(id) && records.forget(id));
      for (let start = 0, i = 0; start < items.length; i++) {
        const size = chunksize === 'auto' ? sizes[i]! : chunksize;
        const chunk = items.slice(start, start + size);
        const entry = { receiver, offset: offset + start, remaining: chunk.length };
        try {
          ids.push(submission.push(func, chunk.length, chunk, entry, flags, root));
        } catch {
          pushOneByOne(submission, func, chunk, flags, root, receiver, offset + start, ids);
          return cancel;
        }
        start += size;
      }
      return cancel;
    },
  };
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

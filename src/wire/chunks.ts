/**
 * A `map` chunk's outcome: one value frame for all its items, `[values, failures]`, where
 * `failures` lists `[index, error descriptor]` for the items that threw (their value is `null`).
 * Each item's outcome is its own: should one value not clone, only that item fails.
 */
import { describeError, type ErrorDescriptor, rebuildError } from './errors.js';
import type { FrameWriter } from './frames.js';
import type { SharedMemoryTable } from './shared-memory.js';
import { encode } from './values.js';

export type ChunkOutcome = [values: unknown[], failures: Array<[index: number, error: ErrorDescriptor]>];

/** Appends the outcome frame of a chunk whose items returned `values` and threw `failures`. */
export function pushChunkOutcome(out: FrameWriter, values: unknown[], failures: ChunkOutcome[1], shared: SharedMemoryTable | undefined): void {
  try {
    out.pushOutcome([values, failures] satisfies ChunkOutcome, shared, 2);
    return;
  } catch {
    // Find the culprits below; the frame was not appended.
  }
  const failed = new Set(failures.map(([i]) => i));
  for (let i = 0; i < values.length; i++) {
    if (failed.has(i)) continue;
    try {
      encode(values[i], shared, 'result');
    } catch (error) {
      values[i] = null;
      failures.push([i, describeError(error)]);
    }
  }
  out.pushOutcome([values, failures] satisfies ChunkOutcome, shared, 2);
}

/** The items' values, and the errors of those that threw, by index. */
export function readChunkOutcome([values, failures]: ChunkOutcome): { values: unknown[]; errors?: Map<number, unknown> } {
  if (failures.length === 0) return { values };
  return { values, errors: new Map(failures.map(([index, error]) => [index, rebuildError(error)])) };
}

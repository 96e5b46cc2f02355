/**
 * The codec: how arguments, results and errors cross to a worker and back, with structured-clone
 * semantics. A value frame's `kind` says which encoding its data is in:
 *
 * - `KIND_JSON`: JSON text, for values that JSON round-trips exactly (finite numbers other than
 *   -0, strings, booleans, null, and plain arrays and objects of those). Several times faster
 *   than `v8.serialize` for small values.
 * - `KIND_CLONE`: `v8.Serializer` bytes (structured clone, `clone.ts`) for everything else.
 * - `KIND_F64` and `KIND_F64_ARRAY`: a number, or a plain array of numbers (typically a task's
 *   arguments), as raw little-endian doubles: exact for every number (-0 and NaN included), and
 *   nothing to build or parse.
 * - `KIND_RAW_ITEMS`: a plain array of numbers, strings, plain arrays of numbers and typed arrays
 *   (`raw-items.ts`); `KIND_RAW_ITEM`: one such item that is not a number (a result).
 *
 * Flags ORed into the kind: `OUTCOME_ERROR` (the value describes a thrown error, `errors.ts`),
 * `RECORD_CHUNK` and `RECORD_SPREAD` (a `map` chunk, `chunks.ts`), and the frame layout's own
 * `KIND_HAS_BLOCKS` (`frames.ts`). `OUTCOME_SKIPPED` (the core's `frames::KIND_SKIPPED`) is the outcome of a record a worker did not run, or of the rest of a stopped chunk.
 */
import { deserialize, serialize } from './clone.js';
import { type Root, type Snapshot, snapshot, TRUSTED } from './snapshot.js';
import type { FrameBlocks, FrameWriter } from './frames.js';
import { allNumbers, BLOCK_MIN_BYTES, decodeRawItems, integral, isPlainArray, rawItemBytes, rawItemsBytes, readDoubles, writeDoubles, writeRawItem, writeRawItems } from './raw-items.js';
import type { SharedMemoryTable } from './shared-memory.js';
import { viewOf } from './views.js';

export const KIND_JSON = 0;
export const KIND_CLONE = 1;
export const KIND_F64 = 2;
export const KIND_F64_ARRAY = 3;
export const KIND_RAW_ITEMS = 4;
export const KIND_RAW_ITEM = 5;
/** The outcome of a record the worker did not run (cancelled or stolen); the core drops it. */
export const OUTCOME_SKIPPED = 0x0f;
/** Flags an outcome whose value describes a thrown error (see `describeError`). */
export const OUTCOME_ERROR = 0x10;
/** Flags a record that carries a `map` chunk: a list of argument lists, one outcome per item. */
export const RECORD_CHUNK = 0x20;
/** With `RECORD_CHUNK`: each item is an argument list (several inputs), not the only argument. */
export const RECORD_SPREAD = 0x40;
const KIND_MASK = 0x0f;

/**
 * Encodes `value`: a string is `KIND_JSON` text, a `Uint8Array` is `KIND_CLONE` bytes. Throws a
 * `DataCloneError` (a `TypeError` by that name) for a value that cannot be cloned. `trusted`,
 * `root`: see `snapshot`.
 */
export function encode(value: unknown, shared?: SharedMemoryTable, root: Root = 'value'): string | Uint8Array {
  return encodeSnapshot(snapshot(value, shared, TRUSTED[root], root), shared);
}

export function encodeSnapshot(snap: Snapshot, shared: SharedMemoryTable | undefined): string | Uint8Array {
  return snap.json ? JSON.stringify(snap.value) : serialize(snap.value, shared);
}

/** Decodes what `encode` returned (e.g. `initargs`, sent whole to a worker). */
export function decodeEncoded(encoded: string | Uint8Array, shared?: SharedMemoryTable): unknown {
  if (typeof encoded === 'string') return JSON.parse(encoded);
  const bytes = Buffer.isBuffer(encoded) ? encoded : Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  return decode(KIND_CLONE, bytes, 0, bytes.length, shared);
}

export function kindOf(encoded: string | Uint8Array): number {
  return typeof encoded === 'string' ? KIND_JSON : KIND_CLONE;
}

/**
 * Decodes bytes `[start, end)` of `buf`, written by `encode` or `writeValue` as this `kind`;
 * `blocks` holds the blocks of a frame that has them (`KIND_HAS_BLOCKS`).
 */
export function decode(kind: number, buf: Buffer, start: number, end: number, shared?: SharedMemoryTable, blocks?: FrameBlocks): unknown {
  switch (kind & KIND_MASK) {
    case KIND_JSON:
      return JSON.parse(buf.toString('utf8', start, end));
    case KIND_F64:
      return integral(viewOf(buf).getFloat64(start, true));
    case KIND_F64_ARRAY:
      return readDoubles(viewOf(buf), start, (end - start) / 8);
    case KIND_RAW_ITEMS:
      return decodeRawItems(buf, start, end, shared, blocks);
    case KIND_RAW_ITEM:
      return decodeRawItems(buf, start, end, shared, blocks)[0];
  }
  return deserialize(buf, start, end, shared);
}

/**
 * Writes `value` into `out` as one value frame, its kind ORed with `flags`, in the fastest
 * encoding that carries it exactly (read once: see `snapshot`). Throws a `DataCloneError`, with
 * nothing written, for a value that cannot be cloned. `root` says what the value is (see
 * `snapshot`); `trusted` overrides how many levels of its arrays are this package's own. `read`:
 * the value holds what `snapshotItems` read, and items it left whole; it goes to the serializer.
 */
export function writeValue(out: FrameWriter, value: unknown, shared: SharedMemoryTable | undefined, flags: number, root: Root, trusted = TRUSTED[root], read = false): void {
  if (read) {
    // Read already (`snapshotItems`), with an item too large for the walk: the serializer
    // alone reads it, once more, and nothing else.
    const data = encodeSnapshot({ value, json: false, denseArrays: false, whole: true }, shared);
    return out.pushEncoded(kindOf(data) | flags, data);
  }
  if (typeof value === 'number') {
    const at = out.openValue(KIND_F64 | flags, 8, 0);
    out.view.setFloat64(at, value, true);
    return out.closeValue(at + 8, null);
  }
  // An argument list of ours holding numbers only (`fn(i)`, `fn(x, y)`): no copy needed.
  if (trusted > 0 && isPlainArray(value) && allNumbers(value)) return writeNumbers(out, value, flags);
  const snap = snapshot(value, shared, trusted, root);
  const copy = snap.value;
  if (snap.denseArrays) {
    const list = isPlainArray(copy);
    if (list && allNumbers(copy)) return writeNumbers(out, copy, flags);
    if (writeRaw(out, copy, list, shared, flags)) return;
  }
  const data = encodeSnapshot(snap, shared);
  out.pushEncoded(kindOf(data) | flags, data);
}

/** A plain array of numbers, as raw doubles (`KIND_F64_ARRAY`). */
function writeNumbers(out: FrameWriter, numbers: unknown[], flags: number): void {
  const at = out.openValue(KIND_F64_ARRAY | flags, 8 * numbers.length, 0);
  out.closeValue(writeDoubles(out.view, at, numbers as number[]), null);
}

/**
 * `value` (read once already) as raw items (`KIND_RAW_ITEMS` for a `list`, `KIND_RAW_ITEM` for one
 * item), when it is made of them; `false`, with nothing written, when it is not.
 */
function writeRaw(out: FrameWriter, value: unknown, list: boolean, shared: SharedMemoryTable | undefined, flags: number): boolean {
  const blocks = out.blocksFound;
  blocks.count = 0;
  const blockMin = out.stashesBlocks ? BLOCK_MIN_BYTES : Infinity;
  const bytes = list ? rawItemsBytes(value as unknown[], shared, blockMin, blocks) : rawItemBytes(value, shared, blockMin, blocks);
  if (bytes < 0) return false;
  const count = blocks.count;
  const at = out.openValue((list ? KIND_RAW_ITEMS : KIND_RAW_ITEM) | flags, bytes, count);
  const views = count > 0 ? out.blockViews : null;
  try {
    const end = list ? writeRawItems(out.bytes, out.view, at, value as unknown[], shared, views) : writeRawItem(out.bytes, out.view, at, value, shared, views);
    if (end !== at + bytes || (views !== null && views.length !== count)) throw new Error('concurrent-futures: raw items written otherwise than measured');
    out.closeValue(end, views);
  } finally {
    if (views !== null) views.length = 0;
  }
  return true;
}

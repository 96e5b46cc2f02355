/**
 * Raw items: the arguments of a task that works on numbers, text, arrays or typed arrays
 * (`fn(view, start, end)`, `fn(pixels, width)`, `fn(text)`), or one such result, written as they
 * are: a tag byte per item, then raw little-endian doubles or bytes. As a clone would carry them,
 * with no JSON to print and parse (about 100 µs each way for 10,000 doubles) and no
 * `v8.Serializer` (about 10 µs a record, 0.5-1 ms a megabyte).
 *
 * Where the writer can stash blocks (a worker thread's or a `ThreadPoolExecutor`'s), a view of
 * `BLOCK_MIN_BYTES` or more is written as its type and length alone: its bytes travel beside the
 * frame in a block of their own (`FrameWriter`, `FrameBlocks`).
 */
import { types } from 'node:util';

import { BareShared, VIEW_TYPES, viewType } from './clone.js';
import { cloneError } from './errors.js';
import type { FrameBlocks } from './frames.js';
import type { SharedMemoryTable } from './shared-memory.js';
import { viewOf } from './views.js';

/** Tags of `KIND_RAW_ITEMS`: a number; a plain array of numbers; a string, one byte or two per
 * character; ORed with a view's index in
 * `VIEW_TYPES`, a copied view (the index alone: a view over shared memory). */
const TAG_NUMBER = 0xff;
const TAG_NUMBERS = 0xfe;
const TAG_LATIN1 = 0xfd;
const TAG_UTF16 = 0xfc;
const TAG_COPIED = 0x80;
/** With `TAG_COPIED`: the bytes are not in the frame but in the next of the frame's blocks. */
const TAG_BLOCK = 0x40;
const TAG_VIEW_TYPE = 0x3f;
/** Without `TAG_COPIED`: a view over the whole of a moved buffer, by the id it is moved under. */
const TAG_MOVED = 0x40;
/** Views of this many bytes or more travel as blocks, where the writer can stash them. */
export const BLOCK_MIN_BYTES = 64 * 1024;
/**
 * A double read from memory that holds an int32 comes back as that int32 (-0 excepted). V8 keeps
 * a read double boxed; a task like `fib(n)` given a boxed 30 computes in boxed doubles, 2-3x
 * slower than on the small integer that `JSON.parse('30')` or structured clone would give.
 */
export function integral(value: number): number {
  const int = value | 0;
  return int === value && (int !== 0 || 1 / value > 0) ? int : value;
}

/** A plain array: not a subclass, not a proxy (whose traps could answer differently each time). */
export function isPlainArray(value: unknown): value is unknown[] {
  return Array.isArray(value) && Object.getPrototypeOf(value) === Array.prototype && !types.isProxy(value);
}

export function allNumbers(items: unknown[]): boolean {
  for (let i = 0; i < items.length; i++) if (typeof items[i] !== 'number') return false;
  return true;
}

/**
 * The `KIND_RAW_ITEMS` size of a plain array whose items are all raw (see `rawItemBytes`), or -1.
 * An object met twice is not raw (the clone keeps one where raw items would make two), nor are
 * two views of one ordinary buffer (the clone copies it once, for both).
 */
export function rawItemsBytes(items: unknown[], shared: SharedMemoryTable | undefined, blockMin: number, blocks: BlockCount): number {
  let bytes = 0;
  let objects = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item === 'number') {
      bytes += 9;
      continue;
    }
    // Argument lists are short; a long list of objects (points, rows) is data, for JSON.
    const size = ++objects > MAX_RAW_OBJECTS ? -1 : rawItemBytes(item, shared, blockMin, blocks);
    if (size < 0) return -1;
    if (typeof item === 'object' && (items.indexOf(item, i + 1) !== -1 || (ArrayBuffer.isView(item) && sharesBuffer(items, i)))) return -1;
    bytes += size;
  }
  return bytes;
}
const MAX_RAW_OBJECTS = 16;

/** Whether the view at `index` copies a buffer that another view among `items` copies too. */
function sharesBuffer(items: unknown[], index: number): boolean {
  const { buffer } = items[index] as ArrayBufferView;
  if (buffer instanceof SharedArrayBuffer) return false;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (i !== index && ArrayBuffer.isView(item) && item.buffer === buffer) return true;
  }
  return false;
}

/**
 * The `KIND_RAW_ITEMS` size of one item (its tag included), or -1 when it is not raw:
 * - a number (`TAG_NUMBER`): a double;
 * - a view over shared memory (its `VIEW_TYPES` index, only with a `shared` table): the
 *   buffer's id, the offset and the length, as doubles;
 * - a view over the whole of an ordinary fixed-size buffer (`TAG_COPIED` | its index): the
 *   length as a double, then the bytes, which arrive in a new buffer, as a clone would;
 * - a plain dense array of numbers (`TAG_NUMBERS`): the count as a double, then the doubles;
 * - a string: its length in bytes as a double, then its characters, one byte each when they
 *   all fit (`TAG_LATIN1`), else as UTF-16 code units (`TAG_UTF16`, lone surrogates kept).
 *   Copied as they are, with nothing to escape or parse: a 1 MB string in 30 µs and read back
 *   in 130, where `v8.Serializer` took about 1 ms for both.
 *
 * A copied view of `blockMin` bytes or more (`TAG_BLOCK`) is its length alone: its bytes travel
 * as a block; `blocks` counts those.
 */
export function rawItemBytes(item: unknown, shared: SharedMemoryTable | undefined, blockMin: number, blocks: BlockCount): number {
  if (typeof item === 'number') return 9;
  if (typeof item === 'string') return 9 + (isLatin1(item) ? item.length : 2 * item.length);
  if (ArrayBuffer.isView(item)) {
    const { buffer, byteOffset, byteLength } = item;
    if (buffer instanceof SharedArrayBuffer) return shared !== undefined && !(item instanceof BareShared) ? 25 : -1;
    // A part of a buffer travels with the whole buffer (see `ViewSerializer`); an empty view may
    // be over a detached buffer, which cannot be cloned.
    const whole = byteOffset === 0 && byteLength === buffer.byteLength && byteLength > 0;
    if (!whole || (buffer as { resizable?: boolean }).resizable) return -1;
    if (shared?.movingId?.(buffer) !== undefined) return 9;
    if (byteLength < blockMin) return 9 + byteLength;
    blocks.count++;
    return 9;
  }
  if (!isPlainArray(item)) return -1;
  for (let i = 0; i < item.length; i++) if (typeof item[i] !== 'number') return -1;
  return 9 + 8 * item.length;
}

/** How many of the items measured travel as blocks (counted by `rawItemBytes`). */
export interface BlockCount {
  count: number;
}

/** Writes `numbers` as little-endian doubles from `at`; returns where they end. */
export function writeDoubles(view: DataView, at: number, numbers: number[]): number {
  for (let i = 0; i < numbers.length; i++) view.setFloat64(at + 8 * i, numbers[i]!, true);
  return at + 8 * numbers.length;
}

/** Reads `count` doubles from `at` into a plain array (see `integral`). */
export function readDoubles(view: DataView, at: number, count: number): number[] {
  const numbers: number[] = new Array(count);
  for (let i = 0; i < count; i++) numbers[i] = integral(view.getFloat64(at + 8 * i, true));
  return numbers;
}

/** Writes `items` as `rawItemsBytes` measured them; returns where the next frame goes. */
export function writeRawItems(buf: Buffer, view: DataView, at: number, items: unknown[], shared: SharedMemoryTable | undefined, blocks: ArrayBufferView[] | null): number {
  for (let i = 0; i < items.length; i++) at = writeRawItem(buf, view, at, items[i], shared, blocks);
  return at;
}

/**
 * Whether every character of `text` fits in one byte. V8 compiles a regular expression apart for
 * strings stored one byte per character, where this class cannot match: the answer for those is
 * immediate, whatever their length. A string stored two bytes per character is scanned up to its
 * first character past U+00FF.
 */
function isLatin1(text: string): boolean {
  return !BEYOND_LATIN1.test(text);
}
const BEYOND_LATIN1 = /[^\x00-\xff]/;

/**
 * Writes one item as `rawItemBytes` describes it; returns where the next one goes. A view that
 * travels as a block is added to `blocks` (null: none does).
 */
export function writeRawItem(buf: Buffer, view: DataView, at: number, item: unknown, shared: SharedMemoryTable | undefined, blocks: ArrayBufferView[] | null): number {
  if (typeof item === 'number') {
    view.setUint8(at, TAG_NUMBER);
    view.setFloat64(at + 1, item, true);
    return at + 9;
  }
  if (typeof item === 'string') {
    const latin1 = isLatin1(item);
    const bytes = buf.write(item, at + 9, latin1 ? 'latin1' : 'utf16le');
    view.setUint8(at, latin1 ? TAG_LATIN1 : TAG_UTF16);
    view.setFloat64(at + 1, bytes, true);
    return at + 9 + bytes;
  }
  if (Array.isArray(item)) {
    view.setUint8(at, TAG_NUMBERS);
    view.setFloat64(at + 1, item.length, true);
    return writeDoubles(view, at + 9, item as number[]);
  }
  const { buffer, byteOffset, byteLength } = item as ArrayBufferView;
  if (buffer instanceof SharedArrayBuffer) {
    view.setUint8(at, viewType(item as ArrayBufferView));
    view.setFloat64(at + 1, shared!.idOf(buffer), true);
    view.setFloat64(at + 9, byteOffset, true);
    view.setFloat64(at + 17, byteLength, true);
    return at + 25;
  }
  const moved = shared?.movingId?.(buffer);
  if (moved !== undefined) {
    view.setUint8(at, TAG_MOVED | viewType(item as ArrayBufferView));
    view.setFloat64(at + 1, moved, true);
    return at + 9;
  }
  view.setFloat64(at + 1, byteLength, true);
  if (blocks !== null && byteLength >= BLOCK_MIN_BYTES) {
    view.setUint8(at, TAG_COPIED | TAG_BLOCK | viewType(item as ArrayBufferView));
    blocks.push(item as ArrayBufferView);
    return at + 9;
  }
  view.setUint8(at, TAG_COPIED | viewType(item as ArrayBufferView));
  new Uint8Array(view.buffer, view.byteOffset + at + 9, byteLength).set(new Uint8Array(buffer, 0, byteLength));
  return at + 9 + byteLength;
}

export function decodeRawItems(buf: Buffer, at: number, end: number, shared: SharedMemoryTable | undefined, blocks: FrameBlocks | undefined): unknown[] {
  const view = viewOf(buf);
  const items: unknown[] = [];
  while (at < end) at = decodeRawItem(buf, view, at, shared, blocks, items);
  return items;
}

/** Reads the item at `at` into `into`; returns where the next one starts. */
function decodeRawItem(buf: Buffer, view: DataView, at: number, shared: SharedMemoryTable | undefined, blocks: FrameBlocks | undefined, into: unknown[]): number {
  const tag = view.getUint8(at);
  const size = view.getFloat64(at + 1, true);
  at += 9;
  if (tag === TAG_NUMBER) {
    into.push(integral(size));
    return at;
  }
  if (tag === TAG_LATIN1 || tag === TAG_UTF16) {
    into.push(buf.toString(tag === TAG_LATIN1 ? 'latin1' : 'utf16le', at, at + size));
    return at + size;
  }
  if (tag === TAG_NUMBERS) {
    into.push(readDoubles(view, at, size));
    return at + 8 * size;
  }
  const Type = VIEW_TYPES[tag & TAG_VIEW_TYPE];
  if (Type === undefined) throw cloneError('malformed message: unknown view type');
  const width = Type === DataView ? 1 : (Type as Uint8ArrayConstructor).BYTES_PER_ELEMENT;
  if ((tag & (TAG_COPIED | TAG_MOVED)) === TAG_MOVED) {
    if (shared?.takeMoved === undefined) throw cloneError('unexpected moved ArrayBuffer');
    const moved = shared.takeMoved(size);
    into.push(Type === DataView ? new DataView(moved) : new (Type as Uint8ArrayConstructor)(moved, 0, moved.byteLength / width));
    return at;
  }
  if (tag & TAG_BLOCK) {
    // The block arrived in a buffer of exactly its bytes: the view is its whole buffer, as a
    // clone's would be.
    const block = blocks?.take();
    if (block === undefined || block.byteOffset !== 0 || block.buffer.byteLength !== size) throw cloneError('malformed message: a block does not match its view');
    into.push(Type === DataView ? new DataView(block.buffer) : new (Type as Uint8ArrayConstructor)(block.buffer, 0, size / width));
    return at;
  }
  if (tag & TAG_COPIED) {
    // Not zero-filled first, as `new ArrayBuffer` would be: every byte is written at once.
    const copy = Buffer.allocUnsafeSlow(size);
    copy.set(new Uint8Array(view.buffer, view.byteOffset + at, size));
    into.push(Type === DataView ? new DataView(copy.buffer) : new (Type as Uint8ArrayConstructor)(copy.buffer, 0, size / width));
    return at + size;
  }
  if (shared === undefined) throw cloneError('unexpected SharedArrayBuffer reference');
  const sab = shared.get(size) as unknown as ArrayBuffer;
  const byteOffset = view.getFloat64(at, true);
  const byteLength = view.getFloat64(at + 8, true);
  into.push(Type === DataView ? new DataView(sab, byteOffset, byteLength) : new (Type as Uint8ArrayConstructor)(sab, byteOffset, byteLength / width));
  return at + 16;
}


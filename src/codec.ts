/**
 * The codec: how arguments, results and errors cross to a worker and back, with structured-clone
 * semantics.
 *
 * - `KIND_JSON`: JSON text, for values that JSON round-trips exactly (finite numbers other than
 *   -0, strings, booleans, null, and plain arrays and objects of those). Several times faster
 *   than `v8.serialize` for small values.
 * - `KIND_CLONE`: `v8.Serializer` bytes (structured clone) for everything else, preceded by the
 *   ids of the `SharedArrayBuffer`s it references, which travel by id and stay shared.
 * - `KIND_F64` and `KIND_F64_ARRAY`: a number, or a plain array of numbers (typically a task's
 *   arguments), as raw little-endian doubles: exact for every number (-0 and NaN included), and
 *   nothing to build or parse. Only `FrameWriter` writes them, straight into its buffer.
 * - `KIND_RAW_ITEMS`: a plain array of numbers, strings, plain arrays of numbers and typed arrays
 *   (the arguments of a task that works on text, arrays or shared memory), each item a tag byte
 *   and raw doubles or bytes (see `rawItemBytes`); `KIND_RAW_ITEM`: one such item that is not a
 *   number (a result). As a clone would carry them, with no JSON to print and parse (about 100 µs
 *   each way for 10,000 doubles) and no `v8.Serializer` (about 10 µs a record, 0.5-1 ms a megabyte).
 * - `FRAME_BLOCKS` flags a raw frame whose large views travel beside it, in blocks of their own.
 * - `OUTCOME_ERROR` flags an outcome whose value describes a thrown error (see `describeError`).
 */
import v8 from 'node:v8';
import { types } from 'node:util';

export const KIND_JSON = 0;
export const KIND_CLONE = 1;
export const KIND_F64 = 2;
export const KIND_F64_ARRAY = 3;
export const KIND_RAW_ITEMS = 4;
export const KIND_RAW_ITEM = 5;
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
export const OUTCOME_ERROR = 0x10;
/**
 * A raw frame (a record's arguments or an outcome) whose data starts with a count `n`: `n` views
 * it holds travel beside the frame, each copied into a block of its own when encoded
 * (`FrameWriter`'s `stash`) and out of it into a new buffer when received (`FrameBlocks`).
 */
export const FRAME_BLOCKS = 0x80;
/** Views of this many bytes or more travel as blocks, where the writer can stash them. */
const BLOCK_MIN_BYTES = 64 * 1024;
/** The outcome of a record the worker did not run (cancelled or stolen); the core drops it. */
export const OUTCOME_SKIPPED = 0x0f;
/** Flags a record that carries a `map` chunk: a list of argument lists, one outcome per item. */
export const RECORD_CHUNK = 0x20;
/** With `RECORD_CHUNK`: each item is an argument list (several inputs), not the only argument. */
export const RECORD_SPREAD = 0x40;
const KIND_MASK = 0x0f;

/** Maps shared memory to ids and back, so that it crosses by reference. */
export interface SharedMemoryTable {
  idOf(sab: SharedArrayBuffer): number;
  get(id: number): SharedArrayBuffer;
}

const MAX_JSON_DEPTH = 64;
const MAX_JSON_STRING = 1024;
const MAX_JSON_KEYS = 64;

/**
 * `true` when `JSON.parse(JSON.stringify(value))` is the structured clone of `value`, and JSON is
 * the faster way there. An object met twice is not (the clone keeps one object where JSON would
 * make two): `seen` holds the nested objects, and is made only once the root has an object inside,
 * so arrays of numbers need none. Strings over `MAX_JSON_STRING` characters and objects of more
 * than `MAX_JSON_KEYS` keys go to the serializer, which is faster for them.
 */
function jsonSafe(value: unknown, depth: number, seen: Set<object> | null): boolean {
  switch (typeof value) {
    case 'string':
      // Escaping and parsing cost per character; the serializer copies a long string as it is
      // (a 4,096-character string: 17 µs through JSON, 4 µs cloned).
      return value.length <= MAX_JSON_STRING;
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && (value !== 0 || 1 / value > 0);
    case 'object': {
      if (value === null) return true;
      if (depth > MAX_JSON_DEPTH || types.isProxy(value)) return false;
      if (seen !== null) {
        if (seen.has(value)) return false;
        seen.add(value);
      }
      const proto = Object.getPrototypeOf(value);
      if (proto === Array.prototype) {
        const array = value as unknown[];
        for (let i = 0; i < array.length; i++) {
          if (!(i in array)) return false;
          const item = array[i];
          if (typeof item === 'object' && item !== null) seen ??= new Set();
          if (!jsonSafe(item, depth + 1, seen)) return false;
        }
        return true;
      }
      if (proto !== Object.prototype && proto !== null) return false;
      let keys = 0;
      for (const key in value) {
        // `JSON.parse` builds a wide object one property (and hidden class) at a time: past
        // about 64 keys the deserializer is faster (1,000 keys: 130 µs parsed, 40 µs cloned).
        if (++keys > MAX_JSON_KEYS) return false;
        const item = (value as Record<string, unknown>)[key];
        if (typeof item === 'object' && item !== null) seen ??= new Set();
        if (!jsonSafe(item, depth + 1, seen)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * Typed arrays and `DataView`s are written as host objects, so that a view over shared memory
 * travels as `[shared id, offset, length]` and is rebuilt over the same memory: Node 20's
 * `v8.Deserializer` cannot resolve `SharedArrayBuffer` ids itself. A bare `SharedArrayBuffer` is
 * first wrapped in a `BareShared` view (see `wrapBareShared`) and unwrapped on arrival.
 */
const VIEW_TYPES = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView,
] as const;
type ViewConstructor = (typeof VIEW_TYPES)[number];

class BareShared extends Uint8Array {}

const VIEW_COPIED = 0;
const VIEW_SHARED = 1;
const BARE_SHARED = 2;

function viewType(view: ArrayBufferView): number {
  for (let i = 0; i < VIEW_TYPES.length; i++) if (view instanceof VIEW_TYPES[i]!) return i;
  throw cloneError(`${view.constructor.name} could not be cloned`);
}

class ViewSerializer extends v8.Serializer {
  bareShared = false;
  /** The copied buffers written so far, by their index in the message. */
  readonly #buffers = new Map<ArrayBufferLike, number>();
  constructor(private readonly shared: SharedMemoryTable | undefined) {
    super();
    // Public in Node (`DefaultSerializer` calls it), missing from @types/node.
    (this as unknown as { _setTreatArrayBufferViewsAsHostObjects(on: boolean): void })._setTreatArrayBufferViewsAsHostObjects(true);
  }

  _getSharedArrayBufferId(): number {
    this.bareShared = true;
    throw cloneError('retry with the bare SharedArrayBuffer wrapped');
  }

  _writeHostObject(view: object): void {
    if (!ArrayBuffer.isView(view)) throw cloneError(`${Object.prototype.toString.call(view)} could not be cloned`);
    const { buffer, byteOffset, byteLength } = view;
    if (buffer instanceof SharedArrayBuffer) {
      if (this.shared === undefined) throw cloneError('a SharedArrayBuffer cannot be shared with a child process');
      this.writeUint32(view instanceof BareShared ? BARE_SHARED : VIEW_SHARED);
      this.writeUint32(viewType(view));
      this.writeDouble(this.shared.idOf(buffer));
      this.writeDouble(byteOffset);
      this.writeDouble(byteLength);
      return;
    }
    // As structured clone does: the whole buffer, once per message, so that a view keeps its
    // offset and views of one buffer still share it on arrival.
    this.writeUint32(VIEW_COPIED);
    this.writeUint32(viewType(view));
    let index = this.#buffers.get(buffer);
    if (index === undefined) {
      index = this.#buffers.size;
      this.#buffers.set(buffer, index);
      this.writeUint32(index);
      this.writeDouble(buffer.byteLength);
      this.writeRawBytes(new Uint8Array(buffer));
    } else {
      this.writeUint32(index);
    }
    this.writeDouble(byteOffset);
    this.writeDouble(byteLength);
  }
}

class ViewDeserializer extends v8.Deserializer {
  /** The copied buffers read so far, by their index in the message. */
  readonly #buffers: ArrayBuffer[] = [];
  constructor(
    data: Buffer,
    private readonly shared: SharedMemoryTable | undefined,
  ) {
    super(data);
  }

  _readHostObject(): unknown {
    const how = this.readUint32();
    const Type = VIEW_TYPES[this.readUint32()] as ViewConstructor;
    const width = Type === DataView ? 1 : (Type as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    if (how === VIEW_COPIED) {
      const index = this.readUint32();
      if (index === this.#buffers.length) {
        const size = this.readDouble();
        const copy = new ArrayBuffer(size);
        new Uint8Array(copy).set(this.readRawBytes(size) as Uint8Array);
        this.#buffers.push(copy);
      }
      const buffer = this.#buffers[index];
      if (buffer === undefined) throw cloneError('malformed message: unknown buffer');
      const byteOffset = this.readDouble();
      const byteLength = this.readDouble();
      if (Type === DataView) return new DataView(buffer, byteOffset, byteLength);
      return new (Type as Uint8ArrayConstructor)(buffer, byteOffset, byteLength / width);
    }
    if (this.shared === undefined) throw cloneError('unexpected SharedArrayBuffer reference');
    const sab = this.shared.get(this.readDouble());
    const byteOffset = this.readDouble();
    const byteLength = this.readDouble();
    if (how === BARE_SHARED) return sab;
    if (Type === DataView) return new DataView(sab as unknown as ArrayBuffer, byteOffset, byteLength);
    return new (Type as Uint8ArrayConstructor)(sab as unknown as ArrayBuffer, byteOffset, byteLength / width);
  }
}

/** A copy of `value` in which every bare `SharedArrayBuffer` is a `BareShared` view. */
function wrapBareShared(value: unknown, seen = new Map<object, unknown>()): unknown {
  if (value instanceof SharedArrayBuffer) return new BareShared(value as unknown as ArrayBuffer);
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value;
  if (seen.has(value)) return seen.get(value);
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array(value.length);
    seen.set(value, copy);
    for (let i = 0; i < value.length; i++) if (i in value) copy[i] = wrapBareShared(value[i], seen);
    return copy;
  }
  if (value instanceof Map) {
    const copy = new Map();
    seen.set(value, copy);
    for (const [k, v] of value) copy.set(wrapBareShared(k, seen), wrapBareShared(v, seen));
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set();
    seen.set(value, copy);
    for (const v of value) copy.add(wrapBareShared(v, seen));
    return copy;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const copy: Record<string, unknown> = {};
  seen.set(value, copy);
  for (const key of Object.keys(value)) copy[key] = wrapBareShared((value as Record<string, unknown>)[key], seen);
  return copy;
}

function serialize(value: unknown, shared: SharedMemoryTable | undefined): Buffer {
  const serializer = new ViewSerializer(shared);
  serializer.writeHeader();
  try {
    serializer.writeValue(value);
  } catch (error) {
    if (serializer.bareShared && shared !== undefined) return serialize(wrapBareShared(value), shared);
    if (serializer.bareShared) throw cloneError('a SharedArrayBuffer cannot be shared with a child process');
    throw asCloneError(error);
  }
  return serializer.releaseBuffer();
}

/**
 * Encodes `value`: a string is `KIND_JSON` text, a `Uint8Array` is `KIND_CLONE` bytes. Throws a
 * `DataCloneError` (a `TypeError` by that name) for a value that cannot be cloned.
 */
export function encode(value: unknown, shared?: SharedMemoryTable): string | Uint8Array {
  if (jsonSafe(value, 0, null)) return JSON.stringify(value);
  return serialize(value, shared);
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

let viewed: Uint8Array | undefined;
let lastView: DataView | undefined;

/** Drops the view kept for `bytes`, a buffer of frames that will not be read again. */
export function forgetView(bytes: Uint8Array): void {
  if (viewed === bytes) {
    viewed = undefined;
    lastView = undefined;
  }
}

/**
 * A `DataView` over `bytes`, kept for the last buffer asked about: frames arrive in one buffer
 * that each thread reuses. Frames are read and written through views because `DataView`'s
 * methods are V8 builtins, fast from the first call, while `Buffer`'s `readUInt32LE` and the
 * like are JavaScript that each new worker runs slowly until its JIT has warmed up.
 */
export function viewOf(bytes: Uint8Array): DataView {
  // A large buffer is a one-off (frames that did not fit the reused ones): not kept alive here.
  if (bytes.byteLength > MAX_KEPT_BYTES) return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes !== viewed || lastView === undefined) {
    viewed = bytes;
    lastView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return lastView;
}

/**
 * The blocks of the frames of one `take` or `drain` (see `FRAME_BLOCKS`), in frame order; `next`
 * is the one the frame being decoded reads first.
 */
export class FrameBlocks {
  next = 0;
  #counted = 0;
  constructor(readonly list: Buffer[]) {}

  /** Counts the next `FRAME_BLOCKS` frame's `count` blocks, in frame order; answers its first. */
  frame(count: number): number {
    const first = this.#counted;
    this.#counted += count;
    return first;
  }

  take(): Buffer {
    const block = this.list[this.next++];
    if (block === undefined) throw cloneError('malformed message: a block is missing');
    return block;
  }
}

/**
 * Decodes bytes `[start, end)` of `buf`, written by `encode` or `FrameWriter` as this `kind`;
 * `blocks` holds those of a `FRAME_BLOCKS` frame.
 */
export function decode(kind: number, buf: Buffer, start: number, end: number, shared?: SharedMemoryTable, blocks?: FrameBlocks): unknown {
  if (kind & FRAME_BLOCKS) {
    if (blocks === undefined) throw cloneError('malformed message: blocks without their list');
    start += 1; // the count, which the caller has read
  }
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
  const deserializer = new ViewDeserializer(buf.subarray(start, end), shared);
  deserializer.readHeader();
  return deserializer.readValue();
}

/** Python-side `DataCloneError`: a `TypeError` named as the DOM's, so that it is an `Error`. */
export function cloneError(message: string): TypeError {
  const error = new TypeError(message);
  error.name = 'DataCloneError';
  return error;
}

function asCloneError(error: unknown): unknown {
  if (error instanceof Error && (error.name === 'DataCloneError' || /could not be cloned/.test(error.message))) {
    return error.name === 'DataCloneError' && error instanceof TypeError ? error : cloneError(error.message);
  }
  return error;
}

// ---------------------------------------------------------------------------------------------
// Errors: a thrown value travels as a plain descriptor and is rebuilt on the other side.

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

interface ErrorDescriptor {
  /** A thrown non-Error value, as itself. */
  thrown?: unknown;
  ctor?: string;
  name?: string;
  message?: string;
  stack?: string;
  props?: Record<string, unknown>;
  cause?: ErrorDescriptor;
  errors?: ErrorDescriptor[];
}

function isError(value: unknown): value is Error {
  return value instanceof Error || types.isNativeError(value);
}

/** Turns any thrown value into a cloneable descriptor. */
export function describeError(error: unknown, depth = 0, chain: unknown[] = []): ErrorDescriptor {
  if (!isError(error) || depth > 8) return { thrown: error };
  const descriptor: ErrorDescriptor = {
    ctor: builtinName(error),
    name: error.name,
    message: error.message,
    stack: error.stack,
    props: { ...error },
  };
  delete descriptor.props!.cause; // assigned (enumerable) rather than given to the constructor: kept below
  chain.push(error);
  // A cause that is the error itself or one of its effects (a cycle) is left out: a descriptor
  // is a tree.
  if (Object.prototype.hasOwnProperty.call(error, 'cause') && !chain.includes(error.cause)) {
    descriptor.cause = describeError(error.cause, depth + 1, chain);
  }
  if (error instanceof AggregateError) descriptor.errors = error.errors.map((e) => describeError(e, depth + 1, [...chain]));
  return descriptor;
}

function builtinName(error: Error): string | undefined {
  if (typeof DOMException !== 'undefined' && error instanceof DOMException) return 'DOMException';
  if (error.name === 'DataCloneError' && error instanceof TypeError) return 'TypeError';
  if (error instanceof AggregateError) return 'AggregateError';
  for (let proto = Object.getPrototypeOf(error); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const name = proto.constructor?.name;
    if (typeof name === 'string' && BUILTIN_ERRORS[name] === proto.constructor) return name;
  }
  return undefined;
}

/** Rebuilds the thrown value described by `descriptor` (built-in classes as themselves). */
export function rebuildError(descriptor: ErrorDescriptor): unknown {
  if ('thrown' in descriptor) return descriptor.thrown;
  const { ctor = 'Error', name = 'Error', message = '' } = descriptor;
  let error: Error;
  if (ctor === 'DOMException') error = new DOMException(message, name);
  else if (ctor === 'AggregateError') error = new AggregateError((descriptor.errors ?? []).map(rebuildError), message);
  else error = new (BUILTIN_ERRORS[ctor] ?? Error)(message);
  if (error.name !== name) {
    Object.defineProperty(error, 'name', { value: name, writable: true, configurable: true, enumerable: false });
  }
  if (descriptor.cause !== undefined) {
    Object.defineProperty(error, 'cause', { value: rebuildError(descriptor.cause), writable: true, configurable: true, enumerable: false });
  }
  if (descriptor.props) Object.assign(error, descriptor.props);
  if (descriptor.stack !== undefined) {
    Object.defineProperty(error, 'stack', { value: descriptor.stack, writable: true, configurable: true, enumerable: false });
  }
  return error;
}

/** Encodes a thrown value as an outcome; falls back to dropping what cannot be cloned. */
export function encodeError(error: unknown, shared?: SharedMemoryTable): { kind: number; data: string | Uint8Array } {
  const descriptor = describeError(error);
  let data: string | Uint8Array;
  try {
    data = encode(descriptor, shared);
  } catch {
    try {
      data = encode(cloneableDescriptor(descriptor, shared), shared);
    } catch {
      data = encode({ ctor: 'Error', name: descriptor.name, message: descriptor.message, stack: descriptor.stack });
    }
  }
  return { kind: kindOf(data) | OUTCOME_ERROR, data };
}

/**
 * `descriptor` without what cannot be cloned: each own property that cannot is dropped alone
 * (the others, the class, the cause, stay), and a thrown value that cannot becomes a `TypeError`.
 */
function cloneableDescriptor(descriptor: ErrorDescriptor, shared?: SharedMemoryTable): ErrorDescriptor {
  if ('thrown' in descriptor) {
    return canEncode(descriptor.thrown, shared)
      ? descriptor
      : describeError(new TypeError(`task threw a value that cannot be cloned: ${safeString(descriptor.thrown)}`));
  }
  const out: ErrorDescriptor = { ...descriptor };
  if (out.props !== undefined) out.props = Object.fromEntries(Object.entries(out.props).filter(([, value]) => canEncode(value, shared)));
  if (out.cause !== undefined) out.cause = cloneableDescriptor(out.cause, shared);
  if (out.errors !== undefined) out.errors = out.errors.map((e) => cloneableDescriptor(e, shared));
  return out;
}

function canEncode(value: unknown, shared?: SharedMemoryTable): boolean {
  try {
    encode(value, shared);
    return true;
  } catch {
    return false;
  }
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

/** Decodes an outcome: `[true, value]` or `[false, error]`. */
export function decodeOutcome(kind: number, buf: Buffer, start: number, end: number, shared?: SharedMemoryTable, blocks?: FrameBlocks): [boolean, unknown] {
  const value = decode(kind, buf, start, end, shared, blocks);
  return kind & OUTCOME_ERROR ? [false, rebuildError(value as ErrorDescriptor)] : [true, value];
}

/**
 * A double read from memory that holds an int32 comes back as that int32 (-0 excepted). V8 keeps
 * a read double boxed; a task like `fib(n)` given a boxed 30 computes in boxed doubles, 2-3x
 * slower than on the small integer that `JSON.parse('30')` or structured clone would give.
 */
function integral(value: number): number {
  const int = value | 0;
  return int === value && (int !== 0 || 1 / value > 0) ? int : value;
}

/** A plain array: not a subclass, not a proxy (whose traps could answer differently each time). */
function isPlainArray(value: unknown): value is unknown[] {
  return Array.isArray(value) && Object.getPrototypeOf(value) === Array.prototype && !types.isProxy(value);
}

function allNumbers(items: unknown[]): boolean {
  for (let i = 0; i < items.length; i++) if (typeof items[i] !== 'number') return false;
  return true;
}

/**
 * The `KIND_RAW_ITEMS` size of a plain array whose items are all raw (see `rawItemBytes`), or -1.
 * An object met twice is not raw (the clone keeps one where raw items would make two), nor are
 * two views of one ordinary buffer (the clone copies it once, for both).
 */
function rawItemsBytes(items: unknown[], shared: SharedMemoryTable | undefined, blockMin: number): number {
  let bytes = 0;
  let objects = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item === 'number') {
      bytes += 9;
      continue;
    }
    // Argument lists are short; a long list of objects (points, rows) is data, for JSON.
    const size = ++objects > MAX_RAW_OBJECTS ? -1 : rawItemBytes(item, shared, blockMin);
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
 * as a block. `blocksMeasured` counts those.
 */
function rawItemBytes(item: unknown, shared: SharedMemoryTable | undefined, blockMin: number): number {
  if (typeof item === 'number') return 9;
  if (typeof item === 'string') return 9 + (isLatin1(item) ? item.length : 2 * item.length);
  if (ArrayBuffer.isView(item)) {
    const { buffer, byteOffset, byteLength } = item;
    if (buffer instanceof SharedArrayBuffer) return shared !== undefined && !(item instanceof BareShared) ? 25 : -1;
    // A part of a buffer travels with the whole buffer (see `ViewSerializer`); an empty view may
    // be over a detached buffer, which cannot be cloned.
    const whole = byteOffset === 0 && byteLength === buffer.byteLength && byteLength > 0;
    if (!whole || (buffer as { resizable?: boolean }).resizable) return -1;
    if (byteLength < blockMin) return 9 + byteLength;
    blocksMeasured++;
    return 9;
  }
  if (!isPlainArray(item)) return -1;
  for (let i = 0; i < item.length; i++) if (typeof item[i] !== 'number') return -1;
  return 9 + 8 * item.length;
}

let blocksMeasured = 0;

/** Writes `numbers` as little-endian doubles from `at`; returns where they end. */
function writeDoubles(view: DataView, at: number, numbers: number[]): number {
  for (let i = 0; i < numbers.length; i++) view.setFloat64(at + 8 * i, numbers[i]!, true);
  return at + 8 * numbers.length;
}

/** Reads `count` doubles from `at` into a plain array (see `integral`). */
function readDoubles(view: DataView, at: number, count: number): number[] {
  const numbers: number[] = new Array(count);
  for (let i = 0; i < count; i++) numbers[i] = integral(view.getFloat64(at + 8 * i, true));
  return numbers;
}

/** Writes `items` as `rawItemsBytes` measured them; returns where the next frame goes. */
function writeRawItems(buf: Buffer, view: DataView, at: number, items: unknown[], shared: SharedMemoryTable | undefined, blocks: ArrayBufferView[] | null): number {
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
function writeRawItem(buf: Buffer, view: DataView, at: number, item: unknown, shared: SharedMemoryTable | undefined, blocks: ArrayBufferView[] | null): number {
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

function decodeRawItems(buf: Buffer, at: number, end: number, shared: SharedMemoryTable | undefined, blocks: FrameBlocks | undefined): unknown[] {
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

/** Appends `[kind u8][len u32][data]` frames to a growable buffer (worker → core). */
const INITIAL_BYTES = 64 * 1024;
const MAX_KEPT_BYTES = 4 * 1024 * 1024;

let nextWriterId = 1;

export class FrameWriter {
  #buf: Buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  #view: DataView = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
  #offset = 0;
  /** The views of the frame being written that travel as blocks. */
  readonly #blocks: ArrayBufferView[] = [];
  /** This writer, to the binding's `stashBlock`, `submitBatch` and `complete` (0: no blocks). */
  readonly id: number;
  /** The bytes of the blocks stashed for the frames so far. */
  #blockBytes = 0;

  /**
   * `stash`, where given, copies a large view's bytes into a block of their own (the binding's
   * `stashBlock`), kept for this writer until its frames are handed over: such views then
   * travel beside their frame (`FRAME_BLOCKS`), copied once on each side instead of in and out
   * of the frames.
   */
  constructor(private readonly stash?: (writer: number, bytes: Uint8Array) => void) {
    this.id = stash === undefined ? 0 : nextWriterId++;
  }

  push(kind: number, data: string | Uint8Array): void {
    const room = typeof data === 'string' ? data.length * 3 : data.length;
    this.#reserve(5 + room);
    const buf = this.#buf;
    const at = this.#offset;
    buf[at] = kind;
    const written = typeof data === 'string' ? buf.write(data, at + 5) : (buf.set(data, at + 5), data.length);
    this.#view.setUint32(at + 1, written, true);
    this.#offset = at + 5 + written;
  }

  /**
   * Appends the frame of `value` (kind bits ORed with `flags`). Throws a `DataCloneError`, with
   * nothing appended, for a value that cannot be cloned.
   */
  pushValue(value: unknown, shared: SharedMemoryTable | undefined, flags = 0): void {
    if (typeof value === 'number') return this.#pushNumbers(KIND_F64 | flags, value);
    const list = isPlainArray(value);
    if (list && allNumbers(value)) return this.#pushNumbers(KIND_F64_ARRAY | flags, value as number[]);
    const blockMin = this.stash === undefined ? Infinity : BLOCK_MIN_BYTES;
    blocksMeasured = 0;
    const bytes = list ? rawItemsBytes(value, shared, blockMin) : rawItemBytes(value, shared, blockMin);
    if (bytes < 0) {
      const data = encode(value, shared);
      return this.push(kindOf(data) | flags, data);
    }
    const count = blocksMeasured;
    const head = count > 0 ? 1 : 0;
    this.#reserve(5 + head + bytes);
    const at = this.#offset;
    this.#view.setUint8(at, (list ? KIND_RAW_ITEMS : KIND_RAW_ITEM) | flags | (count > 0 ? FRAME_BLOCKS : 0));
    this.#view.setUint32(at + 1, head + bytes, true);
    if (count > 0) this.#view.setUint8(at + 5, count);
    const blocks = count > 0 ? this.#blocks : null;
    const start = at + 5 + head;
    try {
      const end = list ? writeRawItems(this.#buf, this.#view, start, value, shared, blocks) : writeRawItem(this.#buf, this.#view, start, value, shared, blocks);
      // Getters (an array's accessor items) run again while writing: should they answer
      // otherwise, the frame would not be what was measured.
      if (end !== start + bytes || (blocks !== null && blocks.length !== count)) throw cloneError('the value changed while it was being cloned');
      // Copied now, as a clone is taken when the task returns: the views may change before the
      // batch's outcomes are handed over.
      if (blocks !== null) {
        for (const view of blocks) {
          this.stash!(this.id, new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
          this.#blockBytes += view.byteLength;
        }
      }
      this.#offset = end;
    } finally {
      this.#blocks.length = 0;
    }
  }

  /** Appends raw doubles: one (`KIND_F64`) or an array of them (`KIND_F64_ARRAY`). */
  #pushNumbers(kind: number, numbers: number | number[]): void {
    const count = typeof numbers === 'number' ? 1 : numbers.length;
    this.#reserve(5 + 8 * count);
    const view = this.#view;
    const at = this.#offset + 5;
    view.setUint8(at - 5, kind);
    view.setUint32(at - 4, 8 * count, true);
    if (typeof numbers === 'number') view.setFloat64(at, numbers, true);
    else writeDoubles(view, at, numbers);
    this.#offset = at + 8 * count;
  }

  /**
   * Appends a record frame `[func u32][items u32][kind u8][len u32][data]` (main → core) for
   * `value`; throws, with nothing appended, for a value that cannot be cloned.
   */
  pushRecord(func: number, items: number, flags: number, value: unknown, shared: SharedMemoryTable | undefined): void {
    const start = this.#offset;
    this.#reserve(8);
    this.#view.setUint32(start, func, true);
    this.#view.setUint32(start + 4, items, true);
    this.#offset = start + 8;
    try {
      this.pushValue(value, shared, flags);
    } catch (error) {
      this.#offset = start;
      throw error;
    }
  }

  /** The buffer the frames are in: its first `length` bytes, valid until the next change. */
  get bytes(): Buffer {
    return this.#buf;
  }

  get length(): number {
    return this.#offset;
  }

  /** The bytes the frames so far carry: their length and their blocks'. */
  get size(): number {
    return this.#offset + this.#blockBytes;
  }

  /** Forgets the frames (they were handed over). */
  clear(): void {
    this.#offset = 0;
    this.#blockBytes = 0;
    // After a large value, start small again rather than hold the memory for good.
    if (this.#buf.length > MAX_KEPT_BYTES) this.#setBuffer(Buffer.allocUnsafe(INITIAL_BYTES));
  }

  /** The frames so far, then `clear()`; valid until the next push. */
  take(): Buffer {
    const frames = this.#buf.subarray(0, this.#offset);
    this.clear();
    return frames;
  }

  #reserve(bytes: number): void {
    if (this.#offset + bytes <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#offset + bytes));
    this.#buf.copy(grown, 0, 0, this.#offset);
    this.#setBuffer(grown);
  }

  #setBuffer(buf: Buffer): void {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
}

/**
 * Structured clone through `v8.Serializer`, for the values no faster encoding carries exactly.
 * Typed arrays and `DataView`s are written as host objects, so that a view over shared memory
 * travels by id (see `SharedMemoryTable`) and a view over an ordinary buffer brings that whole
 * buffer, once per message, as `structuredClone` does.
 */
import v8 from 'node:v8';

import { asCloneError, cloneError } from './errors.js';
import type { SharedMemoryTable } from './shared-memory.js';

/**
 * Typed arrays and `DataView`s are written as host objects, so that a view over shared memory
 * travels as `[shared id, offset, length]` and is rebuilt over the same memory: Node 20's
 * `v8.Deserializer` cannot resolve `SharedArrayBuffer` ids itself. A bare `SharedArrayBuffer` is
 * first wrapped in a `BareShared` view (see `wrapBare`) and unwrapped on arrival.
 */
export const VIEW_TYPES = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView,
] as const;
export type ViewConstructor = (typeof VIEW_TYPES)[number];

/** A bare `SharedArrayBuffer`, wrapped so that it travels as a host object (see `wrapBare`). */
export class BareShared extends Uint8Array {}

const VIEW_COPIED = 0;
const VIEW_SHARED = 1;
const BARE_SHARED = 2;


/** The index of `view`'s class in `VIEW_TYPES`. */
export function viewType(view: ArrayBufferView): number {
  for (let i = 0; i < VIEW_TYPES.length; i++) if (view instanceof VIEW_TYPES[i]!) return i;
  throw cloneError(`${view.constructor.name} could not be cloned`);
}

class ViewSerializer extends v8.Serializer {
  bareShared = false;
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
    // The buffer goes through the serializer itself, as the clone's does: written once per
    // message whether it comes bare or under views (in either order), resizable if it was.
    this.writeUint32(VIEW_COPIED);
    this.writeUint32(viewType(view));
    this.writeValue(buffer);
    this.writeDouble(byteOffset);
    this.writeDouble(byteLength);
    this.writeUint32(tracksLength(view) ? 1 : 0);
  }
}

/**
 * Whether `view`, over a resizable buffer, follows its buffer's length (it was made without a
 * length), which the clone keeps. Nothing says so short of resizing. A tracking view covers its
 * buffer to within one element of the end; then, where the buffer may grow by an element, it
 * grows and shrinks back (nothing is lost, and nothing else runs meanwhile). A buffer at its
 * maximum length is not touched: a clone of the view is shrunk to where the view starts, which
 * leaves a tracking view empty and a fixed one out of bounds.
 */
function tracksLength(view: ArrayBufferView): boolean {
  const buffer = view.buffer as ResizableBuffer;
  if (buffer.resizable !== true) return false;
  const width = view instanceof DataView ? 1 : (view as Uint8Array).BYTES_PER_ELEMENT;
  const length = buffer.byteLength;
  if (view.byteOffset + view.byteLength + width <= length) return false;
  if (length + width <= buffer.maxByteLength!) {
    const before = view.byteLength;
    buffer.resize!(length + width);
    const after = view.byteLength;
    buffer.resize!(length);
    return after !== before;
  }
  const copy = structuredClone(view);
  (copy.buffer as ResizableBuffer).resize!(view.byteOffset);
  return inBounds(copy);
}

/**
 * A length-tracking typed array over `buffer` (just received, so ours to resize): the constructor
 * wants whole elements up to the buffer's end, which a tracking view does not need afterwards.
 */
function trackingView(Type: Uint8ArrayConstructor, buffer: ResizableBuffer, byteOffset: number, width: number): ArrayBufferView {
  const length = buffer.byteLength;
  const spare = (length - byteOffset) % width;
  if (spare === 0 || length < byteOffset) return new Type(buffer, byteOffset);
  const tail = new Uint8Array(buffer, length - spare).slice();
  buffer.resize!(length - spare);
  const view = new Type(buffer, byteOffset);
  buffer.resize!(length);
  new Uint8Array(buffer, length - spare).set(tail);
  return view;
}

type ResizableBuffer = ArrayBuffer & { resizable?: boolean; maxByteLength?: number; resize?(length: number): void };

/** Whether `view` is within its buffer (reading a DataView out of bounds throws, and so does slicing a typed array). */
function inBounds(view: ArrayBufferView): boolean {
  try {
    if (view instanceof DataView) void view.byteLength;
    else (view as Uint8Array).slice(0, 0);
    return true;
  } catch {
    return false;
  }
}

class ViewDeserializer extends v8.Deserializer {
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
      const buffer = this.readValue() as ArrayBuffer;
      const byteOffset = this.readDouble();
      const byteLength = this.readDouble();
      const tracking = this.readUint32() === 1;
      if (Type === DataView) return tracking ? new DataView(buffer, byteOffset) : new DataView(buffer, byteOffset, byteLength);
      if (!tracking) return new (Type as Uint8ArrayConstructor)(buffer, byteOffset, byteLength / width);
      return trackingView(Type as Uint8ArrayConstructor, buffer as ResizableBuffer, byteOffset, width);
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
    for (const key of Object.keys(value)) setOwn(copy, key, wrapBareShared((value as unknown as Record<string, unknown>)[key], seen));
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
  for (const key of Object.keys(value)) setOwn(copy, key, wrapBareShared((value as Record<string, unknown>)[key], seen));
  return copy;
}

/** `object[key] = value` as an own data property, even for `__proto__`. */
function setOwn(object: object, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
  else (object as Record<string, unknown>)[key] = value;
}

/**
 * `value` as `v8.Serializer` bytes (structured clone); a `DataCloneError` when it cannot be cloned.
 * After the header, the ids of the buffers the message moves (see `SharedMemoryTable.moving`):
 * the serializer writes each, bare or under views, as a transfer of its own, which the
 * deserializer is given before it reads the value, as `postMessage` does.
 */
export function serialize(value: unknown, shared: SharedMemoryTable | undefined, wrapped = false): Buffer {
  const serializer = new ViewSerializer(shared);
  serializer.writeHeader();
  const moving = shared?.moving?.() ?? NOTHING_MOVES;
  serializer.writeUint32(moving.length);
  for (let i = 0; i < moving.length; i++) {
    serializer.writeDouble(shared!.movingId!(moving[i]!)!);
    serializer.transferArrayBuffer(i, moving[i]!);
  }
  try {
    serializer.writeValue(value);
  } catch (error) {
    if (serializer.bareShared && shared !== undefined && !wrapped) return serialize(wrapBareShared(value), shared, true);
    if (serializer.bareShared) throw cloneError('a SharedArrayBuffer cannot be shared with a child process');
    throw asCloneError(error);
  }
  return serializer.releaseBuffer();
}

const NOTHING_MOVES: readonly ArrayBuffer[] = [];

/** The value `serialize` wrote into bytes `[start, end)` of `buf`. */
export function deserialize(buf: Buffer, start: number, end: number, shared: SharedMemoryTable | undefined): unknown {
  const deserializer = new ViewDeserializer(buf.subarray(start, end), shared);
  deserializer.readHeader();
  const moved = deserializer.readUint32();
  for (let i = 0; i < moved; i++) {
    const id = deserializer.readDouble();
    if (shared?.takeMoved === undefined) throw cloneError('unexpected moved ArrayBuffer');
    deserializer.transferArrayBuffer(i, shared.takeMoved(id));
  }
  return deserializer.readValue();
}

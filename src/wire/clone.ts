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
 * buffer to within one element of the end; then, where the buffer may grow to where such a view
 * would gain an element, it grows and shrinks back (nothing is lost, and nothing else runs
 * meanwhile). Otherwise the buffer is not touched: a clone of the view is shrunk to where the view
 * starts, which leaves a tracking view empty and a fixed one out of bounds; an empty view that can
 * never gain an element is taken as fixed (no one could tell the difference).
 */
function tracksLength(view: ArrayBufferView): boolean {
  const buffer = view.buffer as ResizableBuffer;
  if (buffer.resizable !== true) return false;
  const width = view instanceof DataView ? 1 : (view as Uint8Array).BYTES_PER_ELEMENT;
  const length = buffer.byteLength;
  if (view.byteOffset + view.byteLength + width <= length) return false;
  // Where a tracking view would gain an element: the next whole element past the end.
  const gains = view.byteOffset + (Math.floor((length - view.byteOffset) / width) + 1) * width;
  if (gains <= buffer.maxByteLength!) {
    const before = view.byteLength;
    buffer.resize!(gains);
    const after = view.byteLength;
    buffer.resize!(length);
    return after !== before;
  }
  // An empty view that could never gain an element: tracking or not, nothing can tell (shrunk,
  // both stay empty or fall out of bounds together), and structuredClone keeps it fixed.
  if (view.byteLength === 0) return false;
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
 * Whether this runtime's `node:v8` has the `Serializer` class (Node, Deno). Bun's has only
 * `v8.serialize`/`v8.deserialize` (its own structured clone, which copies shared memory): there,
 * a value is sent as `[copy, placeholders, descriptors]`, in which every `SharedArrayBuffer` or
 * view over one is replaced by a fresh empty object. The clone keeps the identity of objects
 * within one message, so the receiver finds each placeholder again and puts back the shared
 * memory it describes (`[how, view type, shared id, byteOffset, byteLength]`, as the host objects
 * above). Only arrays, `Map`s, `Set`s and plain objects are looked into, as `wrapBareShared` does;
 * shared memory elsewhere (in a class instance) is refused rather than silently copied.
 */
const HAS_SERIALIZER = (() => {
  try {
    new v8.Serializer();
    return true;
  } catch {
    return false;
  }
})();

/** Whether `value` holds a `SharedArrayBuffer`, bare or under a view, anywhere within. */
function holdsSharedMemory(value: unknown, seen = new Set<object>()): boolean {
  if (typeof value !== 'object' || value === null || seen.has(value)) return false;
  if (value instanceof SharedArrayBuffer) return true;
  if (ArrayBuffer.isView(value)) return value.buffer instanceof SharedArrayBuffer;
  seen.add(value);
  if (value instanceof Map) {
    for (const [k, v] of value) if (holdsSharedMemory(k, seen) || holdsSharedMemory(v, seen)) return true;
    return false;
  }
  if (value instanceof Set) {
    for (const v of value) if (holdsSharedMemory(v, seen)) return true;
    return false;
  }
  for (const key of Object.keys(value)) if (holdsSharedMemory((value as Record<string, unknown>)[key], seen)) return true;
  return false;
}

/** Placeholders for the shared memory in a value, and what each stands for. */
interface SharedPlaceholders {
  shared: SharedMemoryTable;
  objects: object[];
  descriptors: number[][];
  seen: Map<object, unknown>;
}

/** A copy of `value` with a placeholder for each `SharedArrayBuffer` and view over one. */
function replaceShared(value: unknown, p: SharedPlaceholders): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (p.seen.has(value)) return p.seen.get(value);
  const shared = value instanceof SharedArrayBuffer ? value : ArrayBuffer.isView(value) && value.buffer instanceof SharedArrayBuffer ? value : undefined;
  if (shared !== undefined) {
    const placeholder = {};
    p.seen.set(value, placeholder);
    p.objects.push(placeholder);
    p.descriptors.push(
      shared instanceof SharedArrayBuffer
        ? [BARE_SHARED, 0, p.shared.idOf(shared), 0, shared.byteLength]
        : [shared instanceof BareShared ? BARE_SHARED : VIEW_SHARED, viewType(shared as ArrayBufferView), p.shared.idOf((shared as ArrayBufferView).buffer as SharedArrayBuffer), (shared as ArrayBufferView).byteOffset, (shared as ArrayBufferView).byteLength],
    );
    return placeholder;
  }
  if (ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array(value.length);
    p.seen.set(value, copy);
    for (let i = 0; i < value.length; i++) if (i in value) copy[i] = replaceShared(value[i], p);
    return copy;
  }
  if (value instanceof Map) {
    const copy = new Map();
    p.seen.set(value, copy);
    for (const [k, v] of value) copy.set(replaceShared(k, p), replaceShared(v, p));
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set();
    p.seen.set(value, copy);
    for (const v of value) copy.add(replaceShared(v, p));
    return copy;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const copy: Record<string, unknown> = {};
  p.seen.set(value, copy);
  for (const key of Object.keys(value)) copy[key] = replaceShared((value as Record<string, unknown>)[key], p);
  return copy;
}

/** Puts the shared memory back where `replaceShared` left placeholders (in place: `value` is a fresh clone). */
function restoreShared(value: unknown, found: Map<object, unknown>, seen = new Set<object>()): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (found.has(value)) return found.get(value);
  if (seen.has(value) || ArrayBuffer.isView(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (i in value) value[i] = restoreShared(value[i], found, seen);
  } else if (value instanceof Map) {
    const entries = [...value];
    value.clear();
    for (const [k, v] of entries) value.set(restoreShared(k, found, seen), restoreShared(v, found, seen));
  } else if (value instanceof Set) {
    const items = [...value];
    value.clear();
    for (const v of items) value.add(restoreShared(v, found, seen));
  } else {
    for (const key of Object.keys(value)) (value as Record<string, unknown>)[key] = restoreShared((value as Record<string, unknown>)[key], found, seen);
  }
  return value;
}

/** `serialize` where `node:v8` has no `Serializer` (Bun): the runtime's own structured clone. */
function serializeWithoutSerializer(value: unknown, shared: SharedMemoryTable | undefined): Buffer {
  let message: unknown[] = [value];
  if (holdsSharedMemory(value)) {
    if (shared === undefined) throw cloneError('a SharedArrayBuffer cannot be shared with a child process');
    const p: SharedPlaceholders = { shared, objects: [], descriptors: [], seen: new Map() };
    const copy = replaceShared(value, p);
    if (holdsSharedMemory(copy)) throw cloneError('a SharedArrayBuffer inside a class instance cannot be shared on this runtime (its node:v8 has no Serializer); put it in a plain object or an array');
    message = [copy, p.objects, p.descriptors];
  }
  try {
    return v8.serialize(message);
  } catch (error) {
    throw asCloneError(error);
  }
}

/** `deserialize` for `serializeWithoutSerializer`. */
function deserializeWithoutSerializer(bytes: Buffer, shared: SharedMemoryTable | undefined): unknown {
  const [value, objects, descriptors] = v8.deserialize(bytes) as [unknown, object[]?, number[][]?];
  if (objects === undefined || descriptors === undefined) return value;
  if (shared === undefined) throw cloneError('unexpected SharedArrayBuffer reference');
  const found = new Map<object, unknown>();
  objects.forEach((placeholder, i) => {
    const [how, type, id, byteOffset, byteLength] = descriptors[i]!;
    const sab = shared.get(id!);
    const Type = VIEW_TYPES[type!] as ViewConstructor;
    const width = Type === DataView ? 1 : (Type as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    found.set(
      placeholder,
      how === BARE_SHARED ? sab : Type === DataView ? new DataView(sab as unknown as ArrayBuffer, byteOffset, byteLength) : new (Type as Uint8ArrayConstructor)(sab as unknown as ArrayBuffer, byteOffset, byteLength! / width),
    );
  });
  return restoreShared(value, found);
}

/**
 * `value` as `v8.Serializer` bytes (structured clone); a `DataCloneError` when it cannot be cloned.
 * After the header, the ids of the buffers the message moves (see `SharedMemoryTable.moving`):
 * the serializer writes each, bare or under views, as a transfer of its own, which the
 * deserializer is given before it reads the value, as `postMessage` does.
 */
export function serialize(value: unknown, shared: SharedMemoryTable | undefined, wrapped = false): Buffer {
  if (!HAS_SERIALIZER) return serializeWithoutSerializer(value, shared);
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
  if (!HAS_SERIALIZER) return deserializeWithoutSerializer(buf.subarray(start, end), shared);
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

/**
 * Reading a value the way structured clone reads it, once. Every encoder after this reads the
 * snapshot, not the value, so that what arrives is what `structuredClone` would give:
 *
 * - each own enumerable property is read once (a getter runs once), in the engine's order;
 *   `toJSON` is never called (the snapshot's objects are fresh plain ones);
 * - plain objects, class instances, arrays (holes and named properties included), `Map`s and
 *   `Set`s are copied; an object met twice is copied once (shared references and cycles kept);
 * - everything else (typed arrays and their buffers, `Date`, `RegExp`, boxed primitives, errors
 *   and the like) is kept as it is: the serializer reads it as the clone does, without getters;
 * - a bare `SharedArrayBuffer` becomes a `BareShared` view, so that it travels by id.
 *
 * The walk also tells whether JSON carries the snapshot exactly (`json`). A value too large for
 * it (an array of more than `MAX_ELEMENTS` elements, more than `MAX_OBJECTS` objects, or nested
 * deeper than `MAX_DEPTH`) is left whole, for `v8.Serializer` to read as it is, when the part read
 * so far has no getter (reading it again then gives the same values); when it has one, the walk
 * reads on, without those limits, and the serializer reads the copy (only a value nested so deep
 * that the walk runs out of stack is then left whole after all, see `outOfStack`).
 */
import { types } from 'node:util';

import { BareShared } from './clone.js';
import { cloneError } from './errors.js';
import type { SharedMemoryTable } from './shared-memory.js';

/** Past these, the walk leaves the value whole (see above). Past 1,024 elements, `v8.Serializer` is faster than JSON for an array anyway. */
const MAX_ELEMENTS = 1024;
const MAX_OBJECTS = 65536;
const MAX_DEPTH = 512;
/** JSON is not used past this depth (the old rule; the serializer is as fast there). */
const MAX_JSON_DEPTH = 64;
/** JSON parses long strings and wide objects slower than the deserializer rebuilds them. */
const MAX_JSON_STRING = 1024;
const MAX_JSON_KEYS = 64;

/** What reading a value found. */
export interface Snapshot {
  /** The value to encode: the copy, or the value itself when it was left whole. */
  value: unknown;
  /** `JSON.stringify(value)` gives back what structured clone would. */
  json: boolean;
  /** Every array in it is dense, with no named properties: the raw encodings carry them exactly. */
  denseArrays: boolean;
  /** The value was too large for the walk: `value` is the original, for the serializer alone. */
  whole: boolean;
}

/**
 * What the root of a value is, for naming where it holds what cannot be cloned: an argument list
 * (its items are "argument 1", ...), a map chunk (its items are map items, each an argument list
 * when the map has several inputs), or one value.
 */
export type Root = 'arguments' | 'map items' | 'map argument lists' | 'result' | 'map results' | 'value';

/**
 * How many levels of arrays from the root down are this package's own, for each kind of root
 * ('map results': a chunk's outcome, `[values, failures]`).
 */
export const TRUSTED: Readonly<Record<Root, number>> = { arguments: 1, 'map items': 1, 'map argument lists': 2, result: 0, 'map results': 2, value: 0 };

/**
 * The depth of the array of ours whose items are values apart (each a result of its own), for the
 * roots that have one: an item too large for the walk is left whole alone, and the walk goes on to
 * the next, so that one that cannot be cloned is still found.
 */
const APART: Readonly<Record<Root, number>> = { arguments: -1, 'map items': -1, 'map argument lists': -1, result: -1, 'map results': 1, value: -1 };

/**
 * Reads `value` once (see the module's doc). `trusted`: how many levels of arrays from the root
 * down are this package's own (an argument list, a map chunk): plain and dense, with no getters,
 * so they are read without copying. Throws a `DataCloneError` naming where the value holds what
 * cannot be cloned (a function, a symbol, a Proxy); an error a getter throws goes on as it is.
 */
export function snapshot(value: unknown, shared: SharedMemoryTable | undefined, trusted = 0, root: Root = 'value'): Snapshot {
  const walk = new Walk(shared, trusted, APART[root]);
  try {
    const copy = walk.read(value, 0);
    return { value: copy, json: walk.json, denseArrays: walk.denseArrays, whole: false };
  } catch (error) {
    if (error === TOO_LARGE || walk.outOfStack(error)) return { value, json: false, denseArrays: false, whole: true };
    if (error instanceof Unclonable) throw cloneError(`${where(error.path, root)}: ${error.what} could not be cloned${error.hint}`);
    throw error;
  }
}

/** What reading `map`'s items found: see `snapshotItems`. */
export interface ItemsSnapshot {
  /** The items read (copies; an item too large for the walk as it is), up to the first that cannot be cloned. */
  items: unknown[];
  /** JSON carries `items` exactly. */
  json: boolean;
  /** Some item was too large for the walk (and is as it was given). */
  whole: boolean;
  /** The first item that cannot be read (its `DataCloneError`, or what its getter threw). */
  refused?: { index: number; error: unknown };
}

/**
 * Reads `map`'s items once, each as `snapshot` reads a value (`root`: each item is one argument,
 * or an argument list), one after another: the items before one that cannot be read (it cannot be
 * cloned, or a getter throws) are read, and still go; an item too large for the walk is left
 * whole, alone.
 */
export function snapshotItems(items: unknown[], shared: SharedMemoryTable | undefined, root: 'map items' | 'map argument lists'): ItemsSnapshot {
  const walk = new Walk(shared, TRUSTED[root]);
  // A copy of the list only once an item reads as something else (an object copied): a list of
  // primitives is sent as it is.
  let read: unknown[] | undefined;
  let whole = false;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    // Each item is cloned apart, as each call's arguments are: an object two items share
    // arrives as one object in each.
    if (typeof item === 'object' && item !== null) walk.forget();
    let value: unknown;
    try {
      value = walk.read(item, 1);
    } catch (error) {
      if (error !== TOO_LARGE && !walk.outOfStack(error)) {
        // What cannot be cloned, or what a getter threw: that item fails alone.
        if (error instanceof Unclonable) {
          error.path.unshift(i);
          error = cloneError(`${where(error.path, root)}: ${error.what} could not be cloned${error.hint}`);
        }
        return { items: (read ?? items).slice(0, i), json: false, whole, refused: { index: i, error } };
      }
      whole = true;
      value = item;
    }
    if (read !== undefined) read.push(value);
    else if (value !== item) (read = items.slice(0, i)).push(value);
  }
  if (read === undefined) read = items;
  return { items: read, json: !whole && walk.json, whole };
}

/** Thrown by the walk to leave the value whole. */
const TOO_LARGE = Symbol('too large');

/** What cannot be cloned, and where: the keys from the root, innermost last. */
class Unclonable {
  readonly path: Array<string | number> = [];
  constructor(
    readonly what: string,
    readonly hint = '',
  ) {}
}

/** `move()`'s brand (see `api/transfer.ts`). */
const MOVE_MARK = Symbol.for('concurrent-futures.move');
const MOVE_HINT =
  ': move() marks a whole argument of run() or submit(), or a task\'s whole result; inside another value it cannot move its buffer (return move([a, b]) for several, or list the buffers in run()\'s transfer)';

const FUNCTION_HINT = ': functions are not values a worker can receive; to run a function in the worker, submit it, or put it in a module and submit task(module, exportName)';

function where(path: Array<string | number>, root: Root): string {
  let text: string;
  let rest: Array<string | number>;
  if (root === 'arguments' && path.length > 0) [text, rest] = [`argument ${Number(path[0]) + 1}`, path.slice(1)];
  else if (root === 'map items' && path.length > 0) [text, rest] = ['the map item', path.slice(1)];
  else if (root === 'map argument lists' && path.length > 1) [text, rest] = [`argument ${Number(path[1]) + 1} of the map item`, path.slice(2)];
  else if (root === 'map results' && path.length > 1) [text, rest] = ["the task's result", path.slice(2)];
  else [text, rest] = [root === 'result' ? "the task's result" : 'the value', path];
  for (const key of rest) text += typeof key === 'number' ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  return text;
}

class Walk {
  /** JSON carries everything read so far exactly. */
  json = !('toJSON' in Object.prototype) && !('toJSON' in Array.prototype);
  /** No array read so far has holes or named properties. */
  denseArrays = true;
  #objects = 0;
  /** The value has outgrown `MAX_ELEMENTS`/`MAX_OBJECTS` after a getter was read: it is read whole. */
  #unlimited = false;
  /** Copies by original, once the first object is met. */
  #seen: Map<object, unknown> | undefined;
  /** The errors whose `cause` is being read (see `#readObject`). */
  #errorsBeingRead: Set<object> | undefined;

  constructor(
    private readonly shared: SharedMemoryTable | undefined,
    private readonly trusted: number,
    private readonly apart = -1,
  ) {}

  /** Starts a new value: objects met so far are not known in it. */
  forget(): void {
    this.#seen = undefined;
    this.#errorsBeingRead = undefined;
    this.#objects = 0;
    this.#unlimited = false;
  }

  /**
   * Whether `error` is the engine's stack overflow in a walk gone past `MAX_DEPTH`: the value is
   * then left whole, and the serializer, whose frames are smaller, reads it (or refuses it as the
   * clone does): the one case where a getter is read twice.
   */
  outOfStack(error: unknown): boolean {
    return this.#unlimited && error instanceof RangeError;
  }

  /**
   * The value is too large for the walk: it is left whole (`TOO_LARGE`) unless a getter was read
   * on the way here, in which case the walk goes on to its end (see the module's doc).
   */
  #outgrown(): void {
    if (this.#unlimited) return;
    if (!this.#seen || !readAnAccessor(this.#seen)) throw TOO_LARGE;
    this.#unlimited = true;
    this.json = false;
  }

  read(value: unknown, depth: number): unknown {
    switch (typeof value) {
      case 'number':
        if (!Number.isFinite(value) || (value === 0 && 1 / value < 0)) this.json = false;
        return value;
      case 'string':
        if (value.length > MAX_JSON_STRING) this.json = false;
        return value;
      case 'boolean':
        return value;
      case 'undefined':
      case 'bigint':
        this.json = false;
        return value;
      case 'function':
        throw new Unclonable(value.name === '' ? 'a function' : `function ${value.name}`, FUNCTION_HINT);
      case 'symbol':
        throw new Unclonable(String(value));
    }
    return value === null ? null : this.#readObject(value as object, depth);
  }

  #readObject(value: object, depth: number): unknown {
    const seen = (this.#seen ??= new Map());
    const known = seen.get(value);
    if (known !== undefined) {
      // V8 serializes an error met again inside its own cause, but cannot deserialize it
      // (structuredClone throws "Unable to deserialize cloned data."): refused here, where it can
      // fail its own item.
      if (this.#errorsBeingRead?.has(value)) throw new Unclonable('an error whose cause refers back to it');
      this.json = false; // JSON would make two of what the clone keeps as one
      return known;
    }
    if (++this.#objects > MAX_OBJECTS || depth > MAX_DEPTH) this.#outgrown();
    if (depth > MAX_JSON_DEPTH) this.json = false;
    if (types.isProxy(value)) throw new Unclonable('a Proxy');
    // The common cases first: a plain object, then an array.
    if (Object.getPrototypeOf(value) === Object.prototype) return this.#readProperties(value, depth, seen);
    if (Array.isArray(value)) return this.#readArray(value, depth, seen);
    if (ArrayBuffer.isView(value)) return this.#readView(value, seen);
    if (types.isSharedArrayBuffer(value)) return this.#readShared(value, seen);
    if (types.isMap(value)) return this.#readMap(value, depth, seen);
    if (types.isSet(value)) return this.#readSet(value, depth, seen);
    if (isOrdinary(value)) return this.#readProperties(value, depth, seen);
    if (types.isNativeError(value)) return this.#readError(value as Error, depth, seen);
    // Buffers, dates, regular expressions, boxed primitives, errors: the serializer reads these
    // without running any getter; what cannot be cloned at all, it refuses.
    this.json = false;
    seen.set(value, value);
    return value;
  }

  #readArray(array: unknown[], depth: number, seen: Map<object, unknown>): unknown[] {
    if (depth < this.trusted) {
      // One of ours: dense and plain. Copied only if one of its items is.
      seen.set(array, array);
      let copy: unknown[] | undefined;
      const apart = depth === this.apart;
      for (let i = 0; i < array.length; i++) {
        const item = array[i];
        const read = apart ? this.#itemApart(item, i, depth + 1) : this.#item(item, i, depth + 1);
        if (read !== item) (copy ??= array.slice())[i] = read;
      }
      if (copy !== undefined) seen.set(array, copy);
      return copy ?? array;
    }
    const length = array.length;
    if (length > MAX_ELEMENTS) this.#outgrown();
    const copy: unknown[] = new Array(length);
    seen.set(array, copy);
    // The engine lists an array's keys as its indices in order, then its named properties.
    const keys = Object.keys(array);
    if (keys.length === length && (length === 0 || keys[length - 1] === String(length - 1))) {
      let i = 0;
      try {
        for (; i < length; i++) copy[i] = this.read(array[i], depth + 1);
      } catch (error) {
        throw at(error, i);
      }
      return copy;
    }
    // Holes or named properties: the clone keeps both, JSON and the raw encodings would not.
    this.json = false;
    this.denseArrays = false;
    for (const key of keys) {
      const index = Number(key);
      if (Number.isInteger(index) && index >= 0 && index < length && String(index) === key) copy[index] = this.#item(array[index], index, depth + 1);
      else this.#property(copy as unknown as Record<string, unknown>, array, key, depth);
    }
    return copy;
  }

  #readProperties(object: object, depth: number, seen: Map<object, unknown>): object {
    const copy: Record<string, unknown> = {};
    seen.set(object, copy);
    const keys = Object.keys(object);
    // A `move()` marker has no keys of its own but its symbol, which a clone would drop (`{}`).
    if (keys.length === 0 && MOVE_MARK in object) throw new Unclonable('a move() marker', MOVE_HINT);
    if (keys.length > MAX_JSON_KEYS) this.json = false;
    // One `try` for all the properties (`#property` has one each): the walk's hottest loop.
    let key = '';
    try {
      for (let k = 0; k < keys.length; k++) {
        key = keys[k]!;
        const read = this.read((object as Record<string, unknown>)[key], depth + 1);
        if (key === '__proto__') Object.defineProperty(copy, key, { value: read, writable: true, enumerable: true, configurable: true });
        else copy[key] = read;
      }
    } catch (error) {
      throw at(error, key);
    }
    return copy;
  }

  /** Copies `object[key]` into `copy` as an own data property (even `__proto__`). */
  #property(copy: Record<string, unknown>, object: object, key: string, depth: number): void {
    let read: unknown;
    try {
      read = this.read((object as Record<string, unknown>)[key], depth + 1);
    } catch (error) {
      throw at(error, key);
    }
    if (key === '__proto__') Object.defineProperty(copy, key, { value: read, writable: true, enumerable: true, configurable: true });
    else copy[key] = read;
  }

  /** An item of the array of values apart (see `APART`): left whole, alone, when too large. */
  #itemApart(item: unknown, index: number, depth: number): unknown {
    if (typeof item !== 'object' || item === null) return this.#item(item, index, depth); // never too large
    const objects = this.#objects;
    try {
      return this.#item(item, index, depth);
    } catch (error) {
      if (error !== TOO_LARGE && !this.outOfStack(error)) throw error;
      this.json = false;
      this.denseArrays = false;
      this.#objects = objects;
      this.#unlimited = false;
      return item;
    }
  }

  #item(item: unknown, index: number, depth: number): unknown {
    try {
      return this.read(item, depth);
    } catch (error) {
      throw at(error, index);
    }
  }

  /**
   * An error, as the clone reads one: its `name` (read as any property), and its `message`,
   * `stack` and `cause` where they are data properties; nothing else. Copied, so that its cause
   * is read by this walk (an object it shares with the rest of the value stays one object).
   */
  #readError(error: Error, depth: number, seen: Map<object, unknown>): Error {
    this.json = false;
    const copy = new Error();
    seen.set(error, copy);
    (this.#errorsBeingRead ??= new Set()).add(error);
    delete (copy as { stack?: string }).stack;
    const name = error.name;
    Object.defineProperty(copy, 'name', { value: name, writable: true, configurable: true });
    for (const key of ['message', 'stack', 'cause'] as const) {
      const found = dataProperty(error, key);
      if (found === undefined) continue;
      const value = key === 'cause' ? this.read(found.value, depth + 1) : found.value;
      Object.defineProperty(copy, key, { value, writable: true, configurable: true });
    }
    this.#errorsBeingRead.delete(error);
    return copy;
  }

  #readMap(map: Map<unknown, unknown>, depth: number, seen: Map<object, unknown>): Map<unknown, unknown> {
    this.json = false;
    const copy = new Map();
    seen.set(map, copy);
    for (const [key, item] of map) copy.set(this.read(key, depth + 1), this.read(item, depth + 1));
    return copy;
  }

  #readSet(set: Set<unknown>, depth: number, seen: Map<object, unknown>): Set<unknown> {
    this.json = false;
    const copy = new Set();
    seen.set(set, copy);
    for (const item of set) copy.add(this.read(item, depth + 1));
    return copy;
  }

  #readView(view: ArrayBufferView, seen: Map<object, unknown>): ArrayBufferView {
    this.json = false;
    if (types.isSharedArrayBuffer(view.buffer) && this.shared === undefined) throw new Unclonable('a view of a SharedArrayBuffer', SHARED_HINT);
    seen.set(view, view);
    return view;
  }

  #readShared(sab: SharedArrayBuffer, seen: Map<object, unknown>): BareShared {
    this.json = false;
    if (this.shared === undefined) throw new Unclonable('a SharedArrayBuffer', SHARED_HINT);
    const marker = new BareShared(sab as unknown as ArrayBuffer);
    seen.set(sab, marker);
    return marker;
  }
}

const SHARED_HINT = ': a SharedArrayBuffer cannot be shared with a child process (shared memory reaches worker threads only)';

/** Adds `key` to the path of an `Unclonable` passing through; any other error goes on as it is. */
function at(error: unknown, key: string | number): unknown {
  if (error instanceof Unclonable) error.path.unshift(key);
  return error;
}

/** The data property `key` of `object` or of its prototypes, as the clone looks for one; `undefined` for none, or an accessor. */
function dataProperty(object: object, key: string): { value: unknown } | undefined {
  for (let o: object | null = object; o !== null; o = Object.getPrototypeOf(o)) {
    const descriptor = Object.getOwnPropertyDescriptor(o, key);
    if (descriptor !== undefined) return 'value' in descriptor ? { value: descriptor.value } : undefined;
  }
  return undefined;
}

/**
 * Whether an own enumerable property of an object the walk read (the originals `seen` holds) is
 * an accessor, or an error's `name` is: whether reading them again could give something else.
 */
function readAnAccessor(seen: Map<object, unknown>): boolean {
  for (const [original, read] of seen) {
    if (read === original || types.isMap(original) || types.isSet(original)) continue; // not read by property
    if (types.isNativeError(original)) {
      if (accessorOnChain(original, 'name')) return true;
      continue;
    }
    for (const key of Object.keys(original)) {
      if (Object.getOwnPropertyDescriptor(original, key)?.get !== undefined) return true;
    }
  }
  return false;
}

function accessorOnChain(object: object, key: string): boolean {
  for (let o: object | null = object; o !== null; o = Object.getPrototypeOf(o)) {
    const descriptor = Object.getOwnPropertyDescriptor(o, key);
    if (descriptor !== undefined) return descriptor.get !== undefined;
  }
  return false;
}

/**
 * An ordinary object, which the clone copies as a plain one: its own enumerable properties, not
 * its prototype. That includes class instances, and objects whose class or prototype carries a
 * `Symbol.toStringTag` (`Object.create(new Map())` is an ordinary object too). Not ordinary:
 * objects with internal state of the engine's or of the runtime's (dates, boxed primitives,
 * errors, promises, weak collections, iterators, `Intl` objects, key objects, and what Node
 * clones or transfers by a method of its own, e.g. `Blob`): the serializer decides for them. So
 * does a tagged object without own enumerable properties, which has nothing to copy (a `URL`, a
 * `MessagePort`): whatever it is, the serializer reads nothing of the caller's in it.
 */
function isOrdinary(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return true;
  if (types.isDate(value) || types.isRegExp(value) || types.isNativeError(value) || types.isBoxedPrimitive(value) || types.isArgumentsObject(value)) return false;
  if (!(Symbol.toStringTag in value)) return true;
  return !hasInternalState(value, proto) && Object.keys(value).length > 0;
}

/** The kinds of tagged objects the clone does not copy as plain objects (see `isOrdinary`). */
function hasInternalState(value: object, proto: object): boolean {
  return (
    types.isAnyArrayBuffer(value) ||
    types.isPromise(value) ||
    types.isWeakMap(value) ||
    types.isWeakSet(value) ||
    types.isGeneratorObject(value) ||
    types.isMapIterator(value) ||
    types.isSetIterator(value) ||
    types.isModuleNamespaceObject?.(value) ||
    types.isKeyObject?.(value) ||
    types.isCryptoKey?.(value) ||
    types.isExternal?.(value) ||
    value instanceof WeakRef ||
    value instanceof FinalizationRegistry ||
    INTL_CLASSES.some((cls) => value instanceof cls) ||
    clonedByRuntime(proto)
  );
}

const INTL_CLASSES = (['Collator', 'DateTimeFormat', 'DisplayNames', 'ListFormat', 'Locale', 'NumberFormat', 'PluralRules', 'RelativeTimeFormat', 'Segmenter'] as const)
  .map((name) => (Intl as unknown as Record<string, unknown>)[name])
  .filter((cls): cls is abstract new (...args: never[]) => object => typeof cls === 'function');

/** Node marks the classes it clones or transfers itself by methods under these symbols. */
const RUNTIME_CLONE_SYMBOLS = new Set(['messaging_clone_symbol', 'messaging_transfer_symbol', 'messaging_transfer_list_symbol']);
const clonedByRuntimeCache = new WeakMap<object, boolean>();

/** Whether a prototype on `proto`'s chain has one of Node's clone or transfer methods. */
function clonedByRuntime(proto: object): boolean {
  let answer = clonedByRuntimeCache.get(proto);
  if (answer === undefined) {
    answer = Object.getOwnPropertySymbols(proto).some((symbol) => RUNTIME_CLONE_SYMBOLS.has(symbol.description ?? ''));
    if (!answer) {
      const next = Object.getPrototypeOf(proto) as object | null;
      answer = next !== null && clonedByRuntime(next);
    }
    clonedByRuntimeCache.set(proto, answer);
  }
  return answer;
}

/**
 * Moving `ArrayBuffer`s instead of copying them, as `postMessage` does with a transfer list:
 * `run`'s `transfer` option for arguments, and `move()` for a task's result.
 *
 * What arrives is the same either way (a copy of the bytes as they were when sent); what differs
 * is the sender's buffer afterwards: a moved buffer is detached (its `byteLength` reads 0) and its
 * memory is given back, so a large payload is not held twice. A `ProcessPoolExecutor` takes the
 * same calls and copies, leaving the sender's buffers as they were: nothing is shared with a child.
 */
import { types } from 'node:util';

import { cloneError } from '../wire/errors.js';

/** Brands a `move()` marker; a symbol from the global registry, so that a task module's copy of the package makes markers the worker knows. */
const MOVED: unique symbol = Symbol.for('concurrent-futures.move') as never;

interface Moved {
  readonly [MOVED]: unknown;
}

/**
 * Marks a task's result (or one of `run`'s arguments) to be moved rather than copied: the
 * `ArrayBuffer` it is, or that it views, or, for an array, that its items are or view, is
 * detached once the value is sent (as piscina's `move`). Typed as the value itself, so that a
 * task returning `move(array)` is typed as returning the array.
 *
 * ```ts
 * const f = (n: number) => { const out = new Float64Array(n); ...; return move(out); };
 * ```
 */
export function move<T>(value: T): T {
  return { [MOVED]: value } as Moved as T;
}

/** Whether `value` is a `move()` marker. */
export function isMoved(value: unknown): value is Moved {
  return typeof value === 'object' && value !== null && MOVED in value;
}

/** Whether any of `args` is a `move()` marker (`submit` then moves as `run` does). */
export function hasMovedArgument(args: readonly unknown[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg === 'object' && arg !== null && MOVED in arg) return true;
  }
  return false;
}

/** A `move()` marker's value; anything else as it is. */
export function unmoved(value: unknown): unknown {
  return isMoved(value) ? value[MOVED] : value;
}

/** The buffers a `move()` marker moves: its value's, or its array items'. */
export function movedBuffers(marker: Moved): ArrayBuffer[] {
  const value = marker[MOVED];
  const buffers: ArrayBuffer[] = [];
  const add = (item: unknown): void => {
    const buffer = types.isArrayBuffer(item) ? item : ArrayBuffer.isView(item) ? item.buffer : undefined;
    if (buffer !== undefined && types.isArrayBuffer(buffer) && !buffers.includes(buffer)) buffers.push(buffer);
  };
  if (Array.isArray(value)) value.forEach(add);
  else add(value);
  return buffers;
}

/**
 * Checks a `transfer` list as `postMessage` does before anything is sent: an array of
 * `ArrayBuffer`s (a `TypeError` otherwise), each once (a `DataCloneError` otherwise).
 */
export function checkTransferList(what: string, transfer: unknown): ArrayBuffer[] {
  if (!Array.isArray(transfer)) throw new TypeError(`${what}: transfer must be an array of ArrayBuffers, got ${transfer === null ? 'null' : typeof transfer}`);
  for (let i = 0; i < transfer.length; i++) {
    const item: unknown = transfer[i];
    if (!types.isArrayBuffer(item)) {
      const kind = types.isSharedArrayBuffer(item) ? 'a SharedArrayBuffer (shared already: leave it out)' : ArrayBuffer.isView(item) ? 'a view (list its .buffer)' : item === null ? 'null' : typeof item;
      throw new TypeError(`${what}: transfer[${i}] is ${kind}, not an ArrayBuffer`);
    }
    if (transfer.indexOf(item) !== i) throw cloneError(`${what}: transfer lists one ArrayBuffer twice (items ${transfer.indexOf(item)} and ${i})`);
  }
  return transfer as ArrayBuffer[];
}

/**
 * Detaches `buffers` once their contents were sent, as a transfer does. Buffers that cannot be
 * detached (Node's pooled `Buffer` memory) are left as they are, as `postMessage` leaves them.
 */
export function detach(buffers: readonly ArrayBuffer[]): void {
  if (buffers.length > 0) structuredClone(undefined, { transfer: buffers as ArrayBuffer[] });
}

/**
 * `ArrayBuffer`s moved between the main thread and worker threads (`run`'s `transfer`, a task's
 * `move()`), without a copy, as `postMessage` moves them. A frame names a moved buffer by an id
 * (unique in the process: the addon's counter); the buffer itself goes over the worker's port.
 *
 * - Main thread → worker: the main thread cannot know which worker will take a record, so it
 *   keeps the buffers (moved out of the caller's, which are detached at once) until the worker
 *   that decodes the record asks for them (`want`) and waits on its mailbox for the answer. A
 *   record that settles without being decoded (cancelled, failed) lets its buffers go.
 * - Worker → main thread: the worker posts the buffer before it completes the record, so the
 *   main thread finds it on that worker's port by the time it decodes the outcome.
 */
import { detach } from '../../api/transfer.js';
import { cloneError } from '../../wire/errors.js';
import { nextSharedMemoryId } from '../../wire/native.js';

export class MovedBuffers {
  /** The buffers the value being written may move, and the ids of those it names. */
  #moving: readonly ArrayBuffer[] | undefined;
  #ids: Map<ArrayBuffer, number> | undefined;
  /** Buffers that arrived here, until decoded. */
  readonly #arrived = new Map<number, ArrayBuffer>();
  /** Ids the other side answered it does not have (let go, or never sent). */
  readonly #missing = new Set<number>();

  /**
   * `send` hands over a buffer the written value named, once the value is sent; `fetch` brings
   * the buffers of `id`'s side that have not arrived yet (and calls `arrive` for each).
   */
  constructor(
    private readonly send: (id: number, buffer: ArrayBuffer) => void,
    private readonly fetch: (id: number) => void,
  ) {}

  /** Starts writing a value that moves `buffers`. */
  begin(buffers: readonly ArrayBuffer[]): void {
    this.#moving = buffers;
    this.#ids = undefined;
  }

  /** The buffers the value being written may move. */
  get moving(): readonly ArrayBuffer[] {
    return this.#moving ?? [];
  }

  /** The id `buffer` moves under in the value being written; `undefined`: it is copied. */
  idOf(buffer: ArrayBuffer): number | undefined {
    if (this.#moving === undefined || !this.#moving.includes(buffer)) return undefined;
    const ids = (this.#ids ??= new Map());
    let id = ids.get(buffer);
    if (id === undefined) ids.set(buffer, (id = nextSharedMemoryId()));
    return id;
  }

  /** Whether `id` is named by the value being written. */
  writing(id: number): boolean {
    if (this.#ids !== undefined) for (const named of this.#ids.values()) if (named === id) return true;
    return false;
  }

  /**
   * Ends the value: when it was `sent`, the buffers it named are handed over and the others
   * listed are detached, as a transfer leaves them; when it was not (it could not be cloned),
   * nothing moves. Answers the ids handed over.
   */
  end(sent: boolean): number[] {
    const moving = this.#moving;
    const ids = this.#ids;
    this.#moving = undefined;
    this.#ids = undefined;
    if (!sent || moving === undefined) return [];
    const handed: number[] = [];
    const rest: ArrayBuffer[] = [];
    for (const buffer of moving) {
      const id = ids?.get(buffer);
      if (id === undefined) rest.push(buffer);
      else {
        this.send(id, buffer);
        handed.push(id);
      }
    }
    detach(rest);
    return handed;
  }

  /** A buffer of the other side's arrived (`null`: the other side does not have it). */
  arrive(id: number, buffer: ArrayBuffer | null): void {
    if (buffer === null) this.#missing.add(id);
    else this.#arrived.set(id, buffer);
  }

  has(id: number): boolean {
    return this.#arrived.has(id) || this.#missing.has(id);
  }

  /** The buffer moved here under `id`, once. */
  take(id: number): ArrayBuffer {
    if (!this.has(id)) this.fetch(id);
    const buffer = this.#arrived.get(id);
    this.#arrived.delete(id);
    this.#missing.delete(id);
    if (buffer === undefined) throw cloneError(`the ArrayBuffer moved with this task did not arrive (moved buffer ${id})`);
    return buffer;
  }
}

/**
 * The main thread's side: buffers moved with a submitted record are kept until the worker that
 * decodes it asks for them (`want`), or until the record settles without that (`release`).
 */
export class MainThreadMoves {
  readonly buffers: MovedBuffers;
  readonly #held = new Map<number, ArrayBuffer>();
  /** Asked for while the value naming them was still being written (a worker was that quick). */
  readonly #wanted = new Map<number, (buffer: ArrayBuffer | null) => void>();

  /** `fetch`: reads the workers' ports, where buffers moved by their tasks' results arrive. */
  constructor(fetch: () => void) {
    this.buffers = new MovedBuffers((id, buffer) => this.#hold(id, buffer), fetch);
  }

  begin(buffers: readonly ArrayBuffer[]): void {
    this.buffers.begin(buffers);
  }

  end(sent: boolean): number[] {
    return this.buffers.end(sent);
  }

  /** Lets go of the buffers of a record that settled; those a worker took are gone already. */
  release(ids: readonly number[]): void {
    for (const id of ids) this.#held.delete(id);
  }

  /** A worker asks for buffer `id`; `answer` sends it (`null`: it is not here). */
  want(id: number, answer: (buffer: ArrayBuffer | null) => void): void {
    const buffer = this.#held.get(id);
    if (buffer !== undefined) {
      this.#held.delete(id);
      answer(buffer);
    } else if (this.buffers.writing(id)) this.#wanted.set(id, answer);
    else answer(null);
  }

  /** Moves the caller's `buffer` into one of ours (no copy: the caller's is detached). */
  #hold(id: number, buffer: ArrayBuffer): void {
    const ours = structuredClone(buffer, { transfer: [buffer] });
    const waiting = this.#wanted.get(id);
    if (waiting === undefined) this.#held.set(id, ours);
    else {
      this.#wanted.delete(id);
      waiting(ours);
    }
  }
}

/**
 * The shared memory of one executor's threads, on either side (the main thread or a worker): each
 * `SharedArrayBuffer` sent gets an id, unique in the process (the addon's counter), announced to
 * the other side before the message that names it arrives, and found again by that id there.
 */
import { cloneError } from '../../wire/errors.js';
import { nextSharedMemoryId } from '../../wire/native.js';
import type { SharedMemoryTable } from '../../wire/shared-memory.js';
import type { MovedBuffers } from './moved-buffers.js';

export class SharedMemoryRegistry implements SharedMemoryTable {
  readonly #byId = new Map<number, SharedArrayBuffer>();
  readonly #ids = new WeakMap<SharedArrayBuffer, number>();

  /**
   * `announce` tells the other side(s) of a new id (over a message port, which delivers it before
   * any frame can name it); `receiveAnnouncements` reads those already sent to this side, for an
   * id not seen yet. `known`: ids announced before this side started.
   */
  constructor(
    private readonly announce: (id: number, sab: SharedArrayBuffer) => void,
    private readonly receiveAnnouncements: () => void,
    known: Iterable<[number, SharedArrayBuffer]> = [],
  ) {
    for (const [id, sab] of known) this.remember(id, sab);
  }

  /** The buffers moved to and from this side (see `MovedBuffers`), set once by its owner. */
  moved: MovedBuffers | undefined;

  movingId(buffer: ArrayBuffer): number | undefined {
    return this.moved?.idOf(buffer);
  }

  moving(): readonly ArrayBuffer[] {
    return this.moved?.moving ?? [];
  }

  takeMoved(id: number): ArrayBuffer {
    if (this.moved === undefined) throw cloneError('unexpected moved ArrayBuffer');
    return this.moved.take(id);
  }

  idOf(sab: SharedArrayBuffer): number {
    let id = this.#ids.get(sab);
    if (id === undefined) {
      id = nextSharedMemoryId();
      this.remember(id, sab);
      this.announce(id, sab);
    }
    return id;
  }

  get(id: number): SharedArrayBuffer {
    let sab = this.#byId.get(id);
    if (sab === undefined) {
      this.receiveAnnouncements();
      sab = this.#byId.get(id);
    }
    if (sab === undefined) throw cloneError(`unknown SharedArrayBuffer ${id}`);
    return sab;
  }

  /** Records an id the other side announced. */
  remember(id: number, sab: SharedArrayBuffer): void {
    this.#byId.set(id, sab);
    this.#ids.set(sab, id);
  }

  /** Every id known so far, for a worker that starts now. */
  entries(): Array<[number, SharedArrayBuffer]> {
    return [...this.#byId];
  }
}

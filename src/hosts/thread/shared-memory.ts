/**
 * The shared memory of one executor's threads. A `SharedArrayBuffer` travels in a frame as a
 * number; the object itself goes over the worker's message port, which delivers it before the
 * frame naming it can be read (the reader drains the port when it meets a number it does not
 * know). Each direction has its own numbering, so that memory nobody uses any more is let go:
 *
 * - **Main thread → workers** (`MainSharedMemory`): an id per object the main thread sends,
 *   announced once to every worker. The main thread holds the object weakly (it is the caller's),
 *   except while a record that names it is in flight (`keepNamedFor`: its entry keeps it). Once
 *   the caller has let it go and it is collected, the workers are told to forget the id: no frame
 *   in flight can name it any more.
 * - **Workers → main thread** (`WorkerSharedMemory`): memory in a worker's outcomes is numbered
 *   per batch (a token, and an index in it; frames hold `-1 - (token · 2^20 + index)`), posted as
 *   it is first written, and dropped by the main thread once the batch's outcomes are settled
 *   (`sharedDone`, after the next drains; see `settled`). Memory a record brought goes back in
 *   its own outcome by its main-thread id: the record's entry keeps it alive until that is read.
 */
import { cloneError } from '../../wire/errors.js';
import { nextSharedMemoryId } from '../../wire/native.js';
import type { SharedMemoryTable } from '../../wire/shared-memory.js';
import type { MovedBuffers } from './moved-buffers.js';

/** Memory in a batch's outcomes: at most this many distinct buffers per batch. */
const PER_TOKEN = 2 ** 20;

/** A worker-side reference: token and index, in one negative number (main-thread ids are positive). */
function workerRef(token: number, index: number): number {
  return -1 - (token * PER_TOKEN + index);
}

/** The moved-buffer side of both tables (see `MovedBuffers`). */
abstract class MovingTable {
  /** The buffers moved to and from this side, set once by its owner. */
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
}

/** A batch's memory, as a worker posted it: by index. */
interface ReceivedBatch {
  from: object;
  buffers: SharedArrayBuffer[];
}

/** The main thread's table (see the module's comment). */
export class MainSharedMemory extends MovingTable implements SharedMemoryTable {
  /** Ids of what this thread sent, by object; and the objects, weakly, by id. */
  readonly #ids = new WeakMap<SharedArrayBuffer, number>();
  readonly #sent = new Map<number, WeakRef<SharedArrayBuffer>>();
  readonly #collected = new FinalizationRegistry<number>((id) => this.#forget(id));
  /** Ids collected, to be forgotten by the workers at the end of this job (one message each). */
  #forgotten: number[] = [];
  /** What the value being written named, until `keepNamedFor`. */
  #named: SharedArrayBuffer[] = [];
  /** What each record entry in flight names, kept alive with it. */
  readonly #kept = new WeakMap<object, SharedArrayBuffer[]>();
  /** Memory the workers' outcomes name, by token. */
  readonly #received = new Map<number, ReceivedBatch>();
  /** Tokens whose batch is over, with the count of drains settled when this thread heard so. */
  readonly #closing = new Map<number, number>();
  /** Workers gone, likewise: their tokens go too. */
  readonly #gone = new Map<object, number>();
  #drains = 0;

  /**
   * `announce` tells every worker of a new id; `forget` tells them to drop ids; `receiveAnnouncements`
   * reads what the workers have posted so far (for a number not known yet).
   */
  constructor(
    private readonly announce: (id: number, sab: SharedArrayBuffer) => void,
    private readonly forget: (ids: number[]) => void,
    private readonly receiveAnnouncements: () => void,
  ) {
    super();
  }

  idOf(sab: SharedArrayBuffer): number {
    let id = this.#ids.get(sab);
    if (id === undefined) {
      id = nextSharedMemoryId();
      this.#ids.set(sab, id);
      this.#sent.set(id, new WeakRef(sab));
      this.#collected.register(sab, id);
      this.announce(id, sab);
    }
    if (this.#named[this.#named.length - 1] !== sab) this.#named.push(sab);
    return id;
  }

  /**
   * What the value just written named stays alive as long as `owner` (a record's entry, in flight
   * until its outcome is read); `undefined`: the value was not sent.
   */
  keepNamedFor(owner: object | undefined): void {
    if (this.#named.length === 0) return;
    const named = this.#named;
    this.#named = [];
    if (owner === undefined) return;
    const kept = this.#kept.get(owner);
    if (kept === undefined) this.#kept.set(owner, named);
    else kept.push(...named);
  }

  get(id: number): SharedArrayBuffer {
    const sab = id >= 0 ? this.#sent.get(id)?.deref() : this.#fromWorker(-1 - id);
    if (sab === undefined) throw cloneError(`unknown SharedArrayBuffer ${id}`);
    return sab;
  }

  #fromWorker(ref: number): SharedArrayBuffer | undefined {
    const token = Math.floor(ref / PER_TOKEN);
    const index = ref % PER_TOKEN;
    const sab = this.#received.get(token)?.buffers[index];
    if (sab !== undefined) return sab;
    this.receiveAnnouncements();
    return this.#received.get(token)?.buffers[index];
  }

  /** A worker (`from`) posted memory its outcomes name. */
  received(from: object, token: number, index: number, sab: SharedArrayBuffer): void {
    let batch = this.#received.get(token);
    if (batch === undefined) this.#received.set(token, (batch = { from, buffers: [] }));
    batch.buffers[index] = sab;
  }

  /** A worker's batch that named memory is over: its outcomes are in the core (see `settled`). */
  closed(token: number): void {
    this.#closing.set(token, this.#drains);
  }

  /** A worker ended; what it handed over is in the core (see `settled`). */
  gone(from: object): void {
    this.#gone.set(from, this.#drains);
  }

  /**
   * The completions of a drain are settled. A batch closed (or a worker gone) before this thread
   * took a drain's completions had them in the core by then (it said so after handing them over):
   * its memory goes after the second drain from then, in case it was heard of while a drain read.
   */
  settled(): void {
    const drains = ++this.#drains;
    for (const [token, heard] of this.#closing) {
      if (drains - heard < 2) continue;
      this.#closing.delete(token);
      this.#received.delete(token);
    }
    if (this.#gone.size === 0) return;
    for (const [from, heard] of this.#gone) {
      if (drains - heard < 2) continue;
      this.#gone.delete(from);
      for (const [token, batch] of this.#received) if (batch.from === from) this.#received.delete(token);
    }
  }

  /** Every id alive, for a worker that starts now. */
  entries(): Array<[number, SharedArrayBuffer]> {
    const alive: Array<[number, SharedArrayBuffer]> = [];
    for (const [id, ref] of this.#sent) {
      const sab = ref.deref();
      if (sab !== undefined) alive.push([id, sab]);
    }
    return alive;
  }

  /** How many buffers this table holds or knows of (sent, and received from workers); for tests. */
  get size(): { sent: number; received: number } {
    return { sent: this.#sent.size, received: this.#received.size };
  }

  #forget(id: number): void {
    this.#sent.delete(id);
    if (this.#forgotten.push(id) > 1) return;
    queueMicrotask(() => {
      const ids = this.#forgotten;
      this.#forgotten = [];
      this.forget(ids);
    });
  }
}

/** A worker's table (see the module's comment). */
export class WorkerSharedMemory extends MovingTable implements SharedMemoryTable {
  /** The main thread's memory, by its id, until it says to forget it. */
  readonly #byId = new Map<number, SharedArrayBuffer>();
  /** What the record running brought, by object: it goes back by its id (its entry keeps it alive on the main thread until its outcome is read). */
  readonly #brought = new Map<SharedArrayBuffer, number>();
  /** This batch's own memory in its outcomes: its token (0: none yet) and the index of each. */
  #token = 0;
  readonly #written = new Map<SharedArrayBuffer, number>();

  /**
   * `post` sends the main thread memory an outcome names; `done` tells it the batch of `token` is
   * over; `receiveAnnouncements` reads the port (for an id not known yet). `known`: ids announced
   * before this worker started.
   */
  constructor(
    private readonly post: (token: number, index: number, sab: SharedArrayBuffer) => void,
    private readonly done: (token: number) => void,
    private readonly receiveAnnouncements: () => void,
    known: Iterable<[number, SharedArrayBuffer]> = [],
  ) {
    super();
    for (const [id, sab] of known) this.#byId.set(id, sab);
  }

  idOf(sab: SharedArrayBuffer): number {
    const brought = this.#brought.get(sab);
    if (brought !== undefined) return brought;
    let index = this.#written.get(sab);
    if (index === undefined) {
      index = this.#written.size;
      if (index >= PER_TOKEN) throw cloneError(`more than ${PER_TOKEN} SharedArrayBuffers in the outcomes of one batch`);
      if (index === 0) this.#token = nextSharedMemoryId();
      this.#written.set(sab, index);
      this.post(this.#token, index, sab);
    }
    return workerRef(this.#token, index);
  }

  get(id: number): SharedArrayBuffer {
    let sab = this.#byId.get(id);
    if (sab === undefined) {
      this.receiveAnnouncements();
      sab = this.#byId.get(id);
    }
    if (sab === undefined) throw cloneError(`unknown SharedArrayBuffer ${id}`);
    this.#brought.set(sab, id);
    return sab;
  }

  /** The main thread announced `id`. */
  remember(id: number, sab: SharedArrayBuffer): void {
    this.#byId.set(id, sab);
  }

  /** The main thread let these go: no record in flight names them. */
  forget(ids: readonly number[]): void {
    for (const id of ids) this.#byId.delete(id);
  }

  beginRecord(): void {
    this.#brought.clear();
  }

  /** The batch's outcomes are handed over: its memory is the main thread's to let go. */
  batchEnded(): void {
    this.#brought.clear();
    if (this.#written.size === 0) return;
    this.#written.clear();
    this.done(this.#token);
  }
}

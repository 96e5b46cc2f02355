/**
 * The shared memory of one executor's threads. A `SharedArrayBuffer` travels in a frame as a
 * number; the object itself goes over the worker's message port, which delivers it before the
 * frame naming it can be read (the reader drains the port when it meets a number it does not
 * know). Each direction has its own numbering, so that memory nobody uses any more is let go:
 *
 * - **Main thread → workers** (`MainSharedMemory`): an id per object the main thread sends,
 *   announced once to every worker. The main thread holds the object weakly (it is the caller's),
 *   except while a record that names it is in flight (`keepNamedFor`, until `release` once its
 *   outcome is read). Once the caller has let it go and it is collected, the workers are told to
 *   forget the id: no frame in flight can name it any more. A worker reads its port between
 *   batches when something was posted (`DOORBELL_POSTED`), so one task that runs long holds what
 *   was posted meanwhile until it ends.
 * - **Workers → main thread** (`WorkerSharedMemory`): memory in a worker's outcomes is numbered by
 *   token and index (frames hold `-1 - (token · 2^20 + index)`), posted as it is first written. A
 *   token belongs to one handover (a batch's outcomes, or a part of a `map` chunk handed over
 *   early), so the main thread drops it once it has settled the completion that names it; should
 *   that completion never be read (its future gone), the token goes two drains after its batch's
 *   end is heard (`sharedDone`), or with its worker. Memory a record brought goes back in its own
 *   outcome by its main-thread id: the record keeps it alive until that outcome is read.
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
  /** What each record in flight names, by record id, kept alive until its outcome is read. */
  readonly #kept = new Map<number, SharedArrayBuffer[]>();
  /** What the executor names for good (its `initargs`). */
  readonly #keptForGood: SharedArrayBuffer[] = [];
  /** Records whose outcome was read in the drain under way: released as it ends. */
  #releasing: number[] = [];
  /** Memory the workers' outcomes name, by token; and the tokens the drain under way read. */
  readonly #received = new Map<number, ReceivedBatch>();
  #read: number[] = [];
  /** Tokens whose batch is over, with the count of drains settled when this thread heard so. */
  readonly #closing = new Map<number, number>();
  /** Workers gone, likewise: their tokens go too. */
  readonly #gone = new Map<object, number>();
  /** Drains settled (outermost ones), and how deep the drains under way are nested. */
  #drains = 0;
  #depth = 0;

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
   * What the value just written named stays alive until record `id`'s outcome is read (`release`),
   * or for good (`'always'`); `undefined`: the value was not sent.
   */
  keepNamedFor(id: number | 'always' | undefined): void {
    if (this.#named.length === 0) return;
    const named = this.#named;
    this.#named = [];
    if (id === undefined) return;
    if (id === 'always') this.#keptForGood.push(...named);
    else this.#kept.set(id, named);
  }

  /** Record `id` is settled or will never run: what it named is no longer kept for it. */
  release(id: number): void {
    if (this.#kept.size === 0) return;
    // Inside a drain its outcome may still be being read: at the drain's end.
    if (this.#depth > 0) this.#releasing.push(id);
    else this.#kept.delete(id);
  }

  /** A drain begins: outcomes are read until `endDrain`. */
  beginDrain(): void {
    this.#depth++;
  }

  get(id: number): SharedArrayBuffer {
    const sab = id >= 0 ? this.#sent.get(id)?.deref() : this.#fromWorker(-1 - id);
    if (sab === undefined) throw cloneError(`unknown SharedArrayBuffer ${id}`);
    return sab;
  }

  #fromWorker(ref: number): SharedArrayBuffer | undefined {
    const token = Math.floor(ref / PER_TOKEN);
    const index = ref % PER_TOKEN;
    let sab = this.#received.get(token)?.buffers[index];
    if (sab === undefined) {
      this.receiveAnnouncements();
      sab = this.#received.get(token)?.buffers[index];
    }
    if (sab !== undefined && this.#read[this.#read.length - 1] !== token) this.#read.push(token);
    return sab;
  }

  /** A worker (`from`) posted memory its outcomes name. */
  received(from: object, token: number, index: number, sab: SharedArrayBuffer): void {
    let batch = this.#received.get(token);
    if (batch === undefined) this.#received.set(token, (batch = { from, buffers: [] }));
    batch.buffers[index] = sab;
  }

  /** A handover that named memory is made (`sharedDone`): its outcomes are in the core (see `endDrain`). */
  closed(token: number): void {
    this.#closing.set(token, this.#drains);
  }

  /** A worker ended; what it handed over is in the core (see `endDrain`). */
  gone(from: object): void {
    this.#gone.set(from, this.#drains);
  }

  /**
   * A drain's completions are settled. Once the outermost drain ends: the tokens it read go (each
   * belongs to one completion), and so does what the records it settled kept. A token never read
   * (its completion's future was gone) goes after the second drain from when its batch's end (or
   * its worker's) was heard: that drain took the completion, which was in the core by then.
   */
  endDrain(): void {
    if (--this.#depth > 0) return;
    const drains = ++this.#drains;
    if (this.#read.length > 0) {
      for (const token of this.#read) {
        this.#received.delete(token);
        this.#closing.delete(token);
      }
      this.#read = [];
    }
    if (this.#releasing.length > 0) {
      for (const id of this.#releasing) this.#kept.delete(id);
      this.#releasing = [];
    }
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
  /** The token being numbered (0: none yet) and its next index; what is numbered, by object. */
  #token = 0;
  #index = 0;
  readonly #written = new Map<SharedArrayBuffer, number>();
  /** Tokens of the batch not handed over yet; of those, the ones the record running opened. */
  #batchTokens: number[] = [];
  #recordTokens: number[] = [];

  /**
   * `post` sends the main thread memory an outcome names; `done` tells it the handover of `token`
   * is made; `receiveAnnouncements` reads the port (for an id not known yet). `known`: ids
   * announced before this worker started.
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
    let ref = this.#written.get(sab);
    if (ref === undefined) {
      if (this.#token === 0 || this.#index === PER_TOKEN) this.#openToken();
      const index = this.#index++;
      ref = workerRef(this.#token, index);
      this.#written.set(sab, ref);
      this.post(this.#token, index, sab);
    }
    return ref;
  }

  #openToken(): void {
    this.#token = nextSharedMemoryId();
    this.#index = 0;
    this.#batchTokens.push(this.#token);
    this.#recordTokens.push(this.#token);
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

  /** A record starts: what it brings may go back by its id; what it writes gets tokens of its own. */
  beginRecord(): void {
    this.#brought.clear();
    this.#newScope();
    if (this.#recordTokens.length > 0) this.#recordTokens = [];
  }

  /**
   * Outcomes of the record running were handed over ahead of the batch (a `map` chunk's items):
   * the tokens it opened are theirs alone (the records before it write theirs into the batch's
   * outcomes, under tokens of their own).
   */
  partHandedOver(): void {
    this.#close(this.#recordTokens);
    this.#batchTokens = this.#batchTokens.filter((token) => !this.#recordTokens.includes(token));
    this.#recordTokens = [];
    this.#newScope();
  }

  /** The batch's outcomes are handed over: its memory is the main thread's to let go. */
  batchEnded(): void {
    this.#brought.clear();
    this.#close(this.#batchTokens);
    this.#batchTokens = [];
    this.#recordTokens = [];
    this.#newScope();
  }

  #newScope(): void {
    this.#token = 0;
    if (this.#written.size > 0) this.#written.clear();
  }

  #close(tokens: readonly number[]): void {
    for (const token of tokens) this.done(token);
  }
}

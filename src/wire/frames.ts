/**
 * Frames: the only reader and writer, on this side, of the layouts `crates/core/src/frames.rs`
 * defines (their constants come from the addon). Records travel main → core → worker, outcomes
 * worker → core, completions core → main:
 *
 * ```text
 * value frame       [kind u8][len u32][data]                 (KIND_HAS_BLOCKS: data starts with a block count u8)
 * record frame      [func u32][items u32] value frame
 * outcome frame     value frame
 * completion frame  [id f64][first item u32][items u32][status u8] value frame
 * batch             [flags u32] frames                       (what `take` and `drain` write)
 * ```
 *
 * `FrameWriter` appends frames to a growable buffer that is handed to the core in one call;
 * `Inbox` receives a batch the core wrote; `RecordReader` and `CompletionReader` walk a batch
 * frame by frame, decoding values with `values.ts`.
 */
import { cloneError } from './errors.js';
import { layout, takeBlocks } from './native.js';
import type { SharedMemoryTable } from './shared-memory.js';
import { decodeOutcome } from './outcomes.js';
import { decode, writeValue } from './values.js';
import { forgetView, MAX_KEPT_BYTES, viewOf } from './views.js';
import type { BlockCount } from './raw-items.js';
import type { Root } from './snapshot.js';

const { VALUE_HEADER, VALUE_LEN, RECORD_FUNC, RECORD_ITEMS, RECORD_VALUE, COMPLETION_ID, COMPLETION_FIRST, COMPLETION_ITEMS, COMPLETION_STATUS, COMPLETION_VALUE, BATCH_HEADER, BATCH_HAS_BLOCKS, KIND_HAS_BLOCKS } = layout;

/** Copies a large view's bytes into a block of `writer`'s (the binding's `stashBlock`). */
export type StashBlock = (writer: number, bytes: Uint8Array) => void;

const INITIAL_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer, EMPTY.byteOffset, 0);
let nextWriterId = 1;

/**
 * Appends frames to a growable buffer, handed over whole (`bytes`, `length`, `id`) to the core's
 * `submitBatch` or `complete`, then `clear`ed.
 */
export class FrameWriter {
  /**
   * The buffer the frames are in (its first `length` bytes), and a view of it; valid until the
   * next change. Read-only outside. Allocated on first use.
   */
  bytes: Buffer = EMPTY;
  view: DataView = EMPTY_VIEW;
  #offset = 0;
  /** This writer, to the binding's `stashBlock`, `submitBatch` and `complete` (0: no blocks). */
  readonly id: number;
  /** The bytes of the blocks stashed for the frames so far. */
  #blockBytes = 0;
  /** Scratch for `writeValue`: the views of the value being written that travel as blocks, and their count when measured. */
  readonly blockViews: ArrayBufferView[] = [];
  readonly blocksFound: BlockCount = { count: 0 };

  /**
   * `stash`, where given, copies a large view's bytes into a block of their own, kept for this
   * writer until its frames are handed over: such views then travel beside their frame, copied
   * once on each side instead of in and out of the frames.
   */
  /** `allocate`: where the frames are written (a worker thread's outcomes: shared memory, see `hosts/thread/worker.ts`). */
  constructor(
    private readonly stash?: StashBlock,
    private readonly allocate: (bytes: number) => Buffer = Buffer.allocUnsafe,
  ) {
    this.id = stash === undefined ? 0 : nextWriterId++;
  }

  /** Whether large views may travel as blocks. */
  get stashesBlocks(): boolean {
    return this.stash !== undefined;
  }

  /**
   * Appends a record frame for `value` (main → core), its kind ORed with `flags`; `root` says
   * what the value is (see `snapshot`). Throws, with nothing appended, for a value that cannot be
   * cloned.
   */
  /** `read`: `value` was read already (see `writeValue`). */
  pushRecord(func: number, items: number, flags: number, value: unknown, shared: SharedMemoryTable | undefined, root: Root, read = false): void {
    const start = this.#offset;
    this.#reserve(RECORD_VALUE);
    this.view.setUint32(start + RECORD_FUNC, func, true);
    this.view.setUint32(start + RECORD_ITEMS, items, true);
    this.#offset = start + RECORD_VALUE;
    try {
      writeValue(this, value, shared, flags, root, undefined, read);
    } catch (error) {
      this.#offset = start;
      throw error;
    }
  }

  /**
   * Appends an outcome frame for `value` (worker → core); throws, with nothing appended, when it
   * cannot be cloned. `root`: see `snapshot` ('map results': a map chunk's outcome, lists of ours).
   */
  pushOutcome(value: unknown, shared: SharedMemoryTable | undefined, root: 'result' | 'map results' = 'result'): void {
    writeValue(this, value, shared, 0, root);
  }

  /** Appends a value frame of already encoded `data` (JSON text or bytes). */
  pushEncoded(kind: number, data: string | Uint8Array): void {
    const room = typeof data === 'string' ? data.length * 3 : data.length;
    this.#reserve(VALUE_HEADER + room);
    const at = this.#offset;
    this.bytes[at] = kind;
    const written = typeof data === 'string' ? this.bytes.write(data, at + VALUE_HEADER) : (this.bytes.set(data, at + VALUE_HEADER), data.length);
    this.view.setUint32(at + VALUE_LEN, written, true);
    this.#offset = at + VALUE_HEADER + written;
  }

  /**
   * Starts a value frame of `kind` with `bytes` of data that owns `blocks` blocks, written by the
   * caller from the offset answered, through `bytes`/`view`; `closeValue` ends it.
   */
  openValue(kind: number, bytes: number, blocks: number): number {
    const head = blocks > 0 ? 1 : 0;
    this.#reserve(VALUE_HEADER + head + bytes);
    const at = this.#offset;
    this.view.setUint8(at, blocks > 0 ? kind | KIND_HAS_BLOCKS : kind);
    this.view.setUint32(at + VALUE_LEN, head + bytes, true);
    if (blocks > 0) this.view.setUint8(at + VALUE_HEADER, blocks);
    return at + VALUE_HEADER + head;
  }

  /**
   * Ends the value frame `openValue` started, at `end`. `blocks`: its views that travel as blocks,
   * copied now, as a clone is taken when the value is sent (the views may change before the
   * frames are handed over).
   */
  closeValue(end: number, blocks: ArrayBufferView[] | null): void {
    if (blocks !== null) {
      for (const view of blocks) {
        this.stash!(this.id, new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
        this.#blockBytes += view.byteLength;
      }
    }
    this.#offset = end;
  }

  get length(): number {
    return this.#offset;
  }

  /** Some frame so far has blocks (held for this writer on this thread). */
  get hasBlocks(): boolean {
    return this.#blockBytes > 0;
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
    if (this.bytes.length > MAX_KEPT_BYTES) this.#setBuffer(this.allocate(INITIAL_BYTES));
  }

  /** The frames so far, then `clear()`; valid until the next push. */
  take(): Buffer {
    const frames = this.bytes.subarray(0, this.#offset);
    this.clear();
    return frames;
  }

  #reserve(bytes: number): void {
    if (this.#offset + bytes <= this.bytes.length) return;
    const grown = this.allocate(Math.max(INITIAL_BYTES, this.bytes.length * 2, this.#offset + bytes));
    this.bytes.copy(grown, 0, 0, this.#offset);
    this.#setBuffer(grown);
  }

  #setBuffer(buf: Buffer): void {
    this.bytes = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
}

/**
 * The blocks of a batch's frames, in frame order. Each frame that has blocks is counted as it is
 * read (`frame`), so that a frame skipped or failed does not shift the blocks of the others;
 * `next` is the one the frame being decoded reads first.
 */
export class FrameBlocks {
  next = 0;
  #counted = 0;
  constructor(readonly list: Buffer[]) {}

  /** Counts a frame's `count` blocks, in frame order; answers its first. */
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
 * A batch of frames a native call wrote (`take`: records; `drain`: completions), and the blocks
 * they own. An inbox reuses one for every batch it receives, and a batch reuses its readers.
 */
export class Batch {
  bytes!: Buffer;
  view!: DataView;
  end = 0;
  blocks: FrameBlocks | undefined;
  #records: RecordReader | undefined;
  #completions: CompletionReader | undefined;

  /** `bytes[0, end)`; its blocks, when its header says it has some, are taken from the addon at once. */
  constructor(bytes: Buffer, end: number) {
    this.reset(bytes, end);
  }

  /** Now the batch in `bytes[0, end)`. */
  reset(bytes: Buffer, end: number): this {
    this.bytes = bytes;
    this.view = viewOf(bytes);
    this.end = end;
    this.blocks = (this.view.getUint32(0, true) & BATCH_HAS_BLOCKS) !== 0 ? new FrameBlocks(takeBlocks()) : undefined;
    return this;
  }

  /** A reader of its record frames, before the first. */
  records(): RecordReader {
    return (this.#records ??= new RecordReader(this)).restart();
  }

  /** A reader of its completion frames, before the first. */
  completions(): CompletionReader {
    return (this.#completions ??= new CompletionReader(this)).restart();
  }
}

/** Bytes of the buffer each thread starts with for the batches it receives. */
const INBOX_BYTES = 64 * 1024;
const MAX_INBOX_BYTES = 4 * 1024 * 1024;

/**
 * The buffer a thread reuses for the batches a native call writes into it (`take`, `drain`).
 * A batch that does not fit comes back in a buffer of its own; after two such in a row the inbox
 * grows to hold them (up to 4 MB, until `shrink`), since a fresh buffer per call costs its page
 * faults besides the copy: 0.4 ms a megabyte on this project's 2-vCPU VM.
 */
export class Inbox {
  /** Allocated on first use. */
  #buffer: Buffer | undefined;
  /** The batch in `#buffer`, reused; being read until `done`. */
  #batch: Batch | undefined;
  #reading = false;
  /** Answers in a buffer of their own since the last that fitted. */
  #oneOffs = 0;

  /**
   * Where the next native call writes: the inbox, or nowhere while a batch in it is being read
   * (a callback re-entered; the call then answers a buffer of its own).
   */
  get target(): Buffer {
    if (this.#reading) return EMPTY;
    return (this.#buffer ??= Buffer.allocUnsafe(INBOX_BYTES));
  }

  /**
   * The batch a native call answered to `target`: its length in the inbox, or a buffer of its
   * own; `undefined` for 0 (nothing). Its blocks are taken at once: the thread's next `take` or
   * `drain` replaces them. `done` must follow once it has been read.
   */
  receive(answer: number | Buffer): Batch | undefined {
    if (typeof answer === 'number') {
      if (answer === 0) return undefined;
      this.#oneOffs = 0;
      this.#reading = true;
      const buffer = this.#buffer!;
      return this.#batch === undefined ? (this.#batch = new Batch(buffer, answer)) : this.#batch.reset(buffer, answer);
    }
    if (++this.#oneOffs >= 2 && answer.length > (this.#buffer?.length ?? 0) && answer.length <= MAX_INBOX_BYTES) {
      this.#buffer = Buffer.allocUnsafe(Math.min(MAX_INBOX_BYTES, 2 ** Math.ceil(Math.log2(answer.length))));
    }
    return new Batch(answer, answer.length);
  }

  /** Done with `batch`: the inbox may be written again; a buffer of its own is not kept alive (by `viewOf`). */
  done(batch: Batch): void {
    if (batch === this.#batch) this.#reading = false;
    else forgetView(batch.bytes);
  }

  /** Back to the initial size (an executor that went idle gives the memory back). */
  shrink(): void {
    this.#oneOffs = 0;
    if (this.#buffer !== undefined && this.#buffer.length > INBOX_BYTES && !this.#reading) {
      forgetView(this.#buffer);
      this.#buffer = Buffer.allocUnsafe(INBOX_BYTES);
    }
  }
}

/**
 * Reads the value frame at `at` into `reader`, counting its blocks in frame order (so that a
 * frame skipped or failed does not shift the blocks of the others); answers where the next
 * frame starts.
 */
function readValue(reader: ValueCursor, batch: Batch, at: number): number {
  const kind = batch.bytes[at]!;
  let start = at + VALUE_HEADER;
  const end = start + batch.view.getUint32(at + VALUE_LEN, true);
  if (kind & KIND_HAS_BLOCKS) {
    reader.firstBlock = batch.blocks === undefined ? 0 : batch.blocks.frame(batch.bytes[start]!);
    start++;
  }
  reader.kind = kind & ~KIND_HAS_BLOCKS;
  reader.start = start;
  reader.end = end;
  return end;
}

/** The value frame a reader is on. */
abstract class ValueCursor {
  /** The value's kind (the codec's, without the frame's block flag). */
  kind = 0;
  /** Its data: `bytes[start, end)`. */
  start = 0;
  end = 0;
  firstBlock = 0;
  protected at = BATCH_HEADER;

  constructor(protected readonly batch: Batch) {}

  /** Decodes the frame's value. */
  value(shared: SharedMemoryTable | undefined): unknown {
    const { blocks } = this.batch;
    if (blocks !== undefined) blocks.next = this.firstBlock;
    return decode(this.kind, this.batch.bytes, this.start, this.end, shared, blocks);
  }

  /** Decodes the frame's value as an outcome: `[true, value]` or `[false, error]`. */
  outcome(shared: SharedMemoryTable | undefined): [boolean, unknown] {
    const { blocks } = this.batch;
    if (blocks !== undefined) blocks.next = this.firstBlock;
    return decodeOutcome(this.kind, this.batch.bytes, this.start, this.end, shared, blocks);
  }
}

/** Walks the record frames of a batch (`take`), one per `next()`. */
export class RecordReader extends ValueCursor {
  func = 0;
  items = 0;
  /** The record's index in the batch (what `startNext` claims). */
  index = -1;

  /** Back before the first record. */
  restart(): this {
    this.at = BATCH_HEADER;
    this.index = -1;
    return this;
  }

  /** Moves to the next record; `false` past the last. */
  next(): boolean {
    const { at, batch } = this;
    if (at >= batch.end) return false;
    this.index++;
    this.func = batch.view.getUint32(at + RECORD_FUNC, true);
    this.items = batch.view.getUint32(at + RECORD_ITEMS, true);
    this.at = readValue(this, batch, at + RECORD_VALUE);
    return true;
  }
}

/** Walks the completion frames of a batch (`drain`), one per `next()`. */
export class CompletionReader extends ValueCursor {
  id = 0;
  /** The items the outcome covers: `first .. first + count`. */
  first = 0;
  count = 0;
  status = 0;

  /** Back before the first completion. */
  restart(): this {
    this.at = BATCH_HEADER;
    return this;
  }

  next(): boolean {
    const { at, batch } = this;
    if (at >= batch.end) return false;
    this.id = batch.view.getFloat64(at + COMPLETION_ID, true);
    this.first = batch.view.getUint32(at + COMPLETION_FIRST, true);
    this.count = batch.view.getUint32(at + COMPLETION_ITEMS, true);
    this.status = batch.bytes[at + COMPLETION_STATUS]!;
    this.at = readValue(this, batch, at + COMPLETION_VALUE);
    return true;
  }
}

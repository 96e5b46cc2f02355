/**
 * Runs task records inside a worker (thread or child process): resolves task functions from
 * their descriptors (compiled or imported once, then cached), decodes arguments, calls, awaits a
 * returned promise, and encodes each outcome as a frame for the core.
 */
import { decode, describeError, encode, encodeError, FRAME_BLOCKS, FrameBlocks, FrameWriter, OUTCOME_SKIPPED, RECORD_CHUNK, RECORD_SPREAD, type SharedMemoryTable, viewOf } from './codec.js';
import type { ChunkOutcome } from './executor.js';

type Callable = (...args: unknown[]) => unknown;

interface Descriptor {
  source?: string;
  name?: string;
  path?: string;
  module?: string;
  export?: string;
}

const CAPTURE_HINT =
  'task functions are sent to workers by their source text, so they cannot use variables from the scope they were written in: pass values as arguments, or use task() to run a module export';

export class Runner {
  readonly #functions: Array<Callable | undefined> = [];
  readonly #fromSource = new Set<number>();
  /** The outcome frames of the batches run so far; the caller hands them over and clears them. */
  readonly outcomes: FrameWriter;

  /** `stash`: see `FrameWriter` (a worker thread's; a child process sends its frames whole). */
  constructor(
    private readonly lookup: (index: number) => string | null,
    private readonly shared: SharedMemoryTable | undefined,
    stash?: (writer: number, bytes: Uint8Array) => void,
  ) {
    this.outcomes = new FrameWriter(stash);
  }

  async runInitializer(descriptor: string, args: unknown[]): Promise<void> {
    const fn = await resolve(JSON.parse(descriptor) as Descriptor);
    await fn(...args);
  }

  /**
   * Runs every record of a batch (`[func u32][items u32][kind u8][len u32][data]` frames in the
   * first `end` bytes of `batch`) and appends their outcomes to `outcomes`; answers how many items
   * it ran (for the core's cost estimate). `claim(index)`, when given, is asked before each
   * record after the first: `false` means the record was cancelled or taken by another worker,
   * and it is skipped. Synchronous while the tasks are (most are): a promise only once a task
   * returns one or a function must be imported.
   */
  runBatch(batch: Buffer, end: number, claim?: (index: number) => boolean, blocks?: FrameBlocks): number | Promise<number> {
    return this.#runFrom(batch, end, 0, 0, 0, claim, blocks);
  }

  #runFrom(batch: Buffer, end: number, at: number, records: number, total: number, claim?: (index: number) => boolean, blocks?: FrameBlocks): number | Promise<number> {
    const view = viewOf(batch);
    for (; at < end; records++) {
      const func = view.getUint32(at, true);
      const items = view.getUint32(at + 4, true);
      const kind = batch[at + 8]!;
      const start = at + 13;
      at = start + view.getUint32(at + 9, true);
      const firstBlock = kind & FRAME_BLOCKS && blocks !== undefined ? blocks.frame(batch[start]!) : 0;
      if (records > 0 && claim !== undefined && !claim(records)) {
        this.outcomes.push(OUTCOME_SKIPPED, '');
        continue;
      }
      total += items;
      const pending = this.#runRecord(func, kind, batch, start, at, blocks, firstBlock);
      if (pending !== undefined) {
        return pending.then(() => this.#runFrom(batch, end, at, records + 1, total, claim, blocks));
      }
    }
    return total;
  }

  /** Runs one record and pushes its outcome; a promise when that has to wait. */
  #runRecord(func: number, kind: number, batch: Buffer, start: number, end: number, blocks: FrameBlocks | undefined, firstBlock: number): Promise<void> | undefined {
    const fn = this.#functions[func];
    if (fn === undefined) {
      return this.#load(func).then(
        () => this.#runRecord(func, kind, batch, start, end, blocks, firstBlock),
        (error: unknown) => this.#pushError(error, func),
      );
    }
    let input: unknown;
    try {
      if (blocks !== undefined) blocks.next = firstBlock;
      input = decode(kind, batch, start, end, this.shared, blocks);
    } catch (error) {
      return this.#pushError(error, func);
    }
    if ((kind & RECORD_CHUNK) === 0) {
      try {
        const value = fn(...(input as unknown[]));
        if (!isThenable(value)) return this.#pushValue(value);
        return Promise.resolve(value).then(
          (settled) => this.#pushValue(settled),
          (error: unknown) => this.#pushError(error, func),
        );
      } catch (error) {
        return this.#pushError(error, func);
      }
    }
    return this.#runChunk(fn, func, input as unknown[], (kind & RECORD_SPREAD) !== 0);
  }

  /** A `map` chunk: one outcome for the whole chunk, with each item's value or error. */
  #runChunk(fn: Callable, func: number, items: unknown[], spread: boolean): Promise<void> | undefined {
    const values: unknown[] = new Array(items.length);
    const failures: ChunkOutcome[1] = [];
    const runFrom = (first: number): Promise<void> | undefined => {
      for (let i = first; i < items.length; i++) {
        try {
          const value = spread ? fn(...(items[i] as unknown[])) : fn(items[i]);
          if (isThenable(value)) {
            return Promise.resolve(value).then(
              (settled) => {
                values[i] = settled;
                return runFrom(i + 1);
              },
              (error: unknown) => {
                values[i] = null;
                failures.push([i, describeError(this.#hint(error, func))]);
                return runFrom(i + 1);
              },
            );
          }
          values[i] = value;
        } catch (error) {
          values[i] = null;
          failures.push([i, describeError(this.#hint(error, func))]);
        }
      }
      this.#pushChunk(values, failures);
      return undefined;
    };
    return runFrom(0);
  }

  /**
   * Pushes a chunk's outcome. Should a value not clone, only its own item fails: the others are
   * still delivered (each item's outcome is its own, whatever the chunking).
   */
  #pushChunk(values: unknown[], failures: ChunkOutcome[1]): void {
    try {
      this.outcomes.pushValue([values, failures] satisfies ChunkOutcome, this.shared);
      return;
    } catch {
      // Find the culprits below; the frame was not appended.
    }
    const failed = new Set(failures.map(([i]) => i));
    for (let i = 0; i < values.length; i++) {
      if (failed.has(i)) continue;
      try {
        encode(values[i], this.shared);
      } catch (error) {
        values[i] = null;
        failures.push([i, describeError(error)]);
      }
    }
    this.#pushValue([values, failures] satisfies ChunkOutcome);
  }

  #pushValue(value: unknown): undefined {
    try {
      this.outcomes.pushValue(value, this.shared);
    } catch (error) {
      this.#pushError(error);
    }
    return undefined;
  }

  #pushError(error: unknown, func?: number): undefined {
    const { kind, data } = encodeError(func === undefined ? error : this.#hint(error, func), this.shared);
    this.outcomes.push(kind, data);
    return undefined;
  }

  /**
   * A `ReferenceError` from a function sent by source is most likely a captured variable: its
   * message (and the stack's first line) gets the reason after the task's own text.
   */
  #hint(error: unknown, func: number): unknown {
    if (error instanceof ReferenceError && this.#fromSource.has(func) && !error.message.includes(CAPTURE_HINT)) {
      const header = `${error.name}: ${error.message}`;
      const { stack } = error; // read first: V8 formats it on first use, from the message then
      error.message = `${error.message} (${CAPTURE_HINT})`;
      if (typeof stack === 'string' && stack.startsWith(header)) error.stack = `${error.name}: ${error.message}${stack.slice(header.length)}`;
    }
    return error;
  }

  async #load(func: number): Promise<Callable> {
    const text = this.lookup(func);
    if (text === null) throw new Error(`unknown task function #${func}`);
    const descriptor = JSON.parse(text) as Descriptor;
    const fn = await resolve(descriptor);
    if (descriptor.source !== undefined) this.#fromSource.add(func);
    this.#functions[func] = fn;
    return fn;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** Turns a descriptor back into a callable (see `task.ts`). */
async function resolve(descriptor: Descriptor): Promise<Callable> {
  if (descriptor.source !== undefined) return compile(descriptor.source, descriptor.name ?? '');
  if (descriptor.path !== undefined) {
    const keys = descriptor.path.split('.');
    const owner = keys.slice(0, -1).reduce<any>((object, key) => object?.[key], globalThis);
    const fn = owner?.[keys[keys.length - 1]!];
    if (typeof fn !== 'function') throw new TypeError(`${descriptor.path} is not a function in this worker`);
    // A prototype's method runs unbound, as `const f = Array.prototype.push; f(7)` does on the
    // main thread (a TypeError, never a push onto this worker's prototype). A namespace's
    // function (`console.log`, `crypto.getRandomValues`) keeps its namespace, which some need.
    const self = keys[keys.length - 2] === 'prototype' ? undefined : owner;
    return (...args) => fn.apply(self, args);
  }
  const imported = await import(descriptor.module!);
  let fn = imported[descriptor.export!];
  // A CommonJS module whose exports Node cannot detect statically (`module.exports = make()`):
  // its names are properties of `module.exports`, which is the default export.
  if (fn === undefined && descriptor.export !== 'default' && imported.default != null) fn = imported.default[descriptor.export!];
  if (typeof fn !== 'function') {
    throw new TypeError(`task(${descriptor.module}, ${descriptor.export}): the export is ${typeof fn}, not a function`);
  }
  return fn as Callable;
}

/** Compiles a function's source in the global scope (so it sees no module variables). */
function compile(source: string, name: string): Callable {
  try {
    return (0, eval)(`(${source}\n)`) as Callable;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    // A method written with the shorthand syntax: `f(x) { ... }`, `async f() {}`, `*f() {}`.
    const holder = (0, eval)(`({ ${source}\n})`) as Record<string, Callable>;
    const fn = holder[name] ?? Object.values(holder)[0];
    if (typeof fn !== 'function') throw error;
    return fn;
  }
}

/**
 * Errors no task's outcome can carry: thrown by a timer a task left behind, or a rejection
 * nobody handled. Node would end the worker (`where`), and the pool would break, failing
 * whichever task ran then. As Python reports an exception in a thread a task started
 * (`threading.excepthook`) and goes on, these are reported on stderr and the worker goes on.
 */
export function reportStrayErrors(where: string): void {
  const report = (what: string, error: unknown): void => {
    let shown: string;
    try {
      shown = error instanceof Error ? (error.stack ?? String(error)) : String(error);
    } catch {
      shown = typeof error;
    }
    console.error(`concurrent-futures: ${what} in ${where}, outside any task's outcome (from a timer or promise a task left behind):\n${shown}`);
  };
  process.on('uncaughtException', (error) => report('an uncaught exception', error));
  process.on('unhandledRejection', (reason) => report('an unhandled rejection', reason));
}

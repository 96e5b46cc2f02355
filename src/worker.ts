/**
 * A worker thread of `ThreadPoolExecutor`: attaches to the pool's core, then loops
 * take → run → complete. A busy worker takes its next batch at once; an idle one is parked by the
 * core and sleeps on its doorbell (`Atomics.wait`) until the main thread rings it.
 */
import { receiveMessageOnPort, threadId, workerData } from 'node:worker_threads';

import { cloneError, decodeEncoded, describeError, type SharedMemoryTable } from './codec.js';
import { blocksOf, framesLength, Inbox, NativePool, stashBlock, TAKE_EXIT, TAKE_IDLE } from './native.js';
import type { WorkerConfig, WorkerMessage } from './thread-pool.js';
import { reportStrayErrors, Runner } from './runner.js';

const config = workerData as WorkerConfig;
const { slot, doorbells, port } = config;

/** Shared memory by id: the main thread's (positive) and this worker's own (negative). */
class SharedMemory implements SharedMemoryTable {
  readonly #byId = new Map<number, SharedArrayBuffer>(config.shared);
  readonly #ids = new WeakMap<SharedArrayBuffer, number>(config.shared.map(([id, sab]) => [sab, id]));
  #nextOwn = 1;

  idOf(sab: SharedArrayBuffer): number {
    let id = this.#ids.get(sab);
    if (id === undefined) {
      id = -(this.#nextOwn++ * 65536 + slot + 1);
      this.#byId.set(id, sab);
      this.#ids.set(sab, id);
      port.postMessage({ type: 'shared', id, sab } satisfies WorkerMessage);
    }
    return id;
  }

  get(id: number): SharedArrayBuffer {
    let sab = this.#byId.get(id);
    while (sab === undefined) {
      const received = receiveMessageOnPort(port);
      if (received === undefined) throw cloneError(`unknown SharedArrayBuffer ${id}`);
      const message = received.message as WorkerMessage;
      if (message.type === 'shared') {
        this.#byId.set(message.id, message.sab);
        this.#ids.set(message.sab, message.id);
      }
      sab = this.#byId.get(id);
    }
    return sab;
  }
}

/**
 * Sleeps until the main thread rings this worker's doorbell. With nothing else to do, in
 * `Atomics.wait` (the quickest wake-up). When something a task left behind waits on the event
 * loop (a timer, an immediate, a socket, output being flushed), the loop must run meanwhile, so
 * the worker waits with `Atomics.waitAsync`; that alone does not keep the loop alive, the
 * interval does.
 */
async function park(): Promise<void> {
  if (process.getActiveResourcesInfo().length === 0) {
    Atomics.wait(doorbells, slot, 0);
  } else {
    const keepAlive = setInterval(noop, 2 ** 30);
    await waitAsync(doorbells, slot, 0).value;
    clearInterval(keepAlive);
  }
  Atomics.store(doorbells, slot, 0);
}

const noop = (): void => {};
/** `Atomics.waitAsync` (ES2024; Node 16+), typed here: the project's `lib` is older. */
const waitAsync = (Atomics as unknown as { waitAsync(array: Int32Array, index: number, value: number): { value: string | Promise<string> } }).waitAsync;

reportStrayErrors(`worker thread ${threadId}`);

async function main(): Promise<void> {
  const pool = NativePool.attach(config.poolId);
  const shared = new SharedMemory();
  const runner = new Runner((index) => pool.function(index), shared, stashBlock);
  if (config.initializer !== undefined) {
    try {
      await runner.runInitializer(config.initializer, decodeEncoded(config.initargs, shared) as unknown[]);
    } catch (error) {
      port.postMessage({ type: 'initFailed', error: describeError(error) } satisfies WorkerMessage);
      return;
    }
  }
  let itemCostNs = 0;
  const claim = (index: number): boolean => pool.startNext(slot, index);
  // The core writes each batch here (a larger one comes in a buffer of its own); decoding copies
  // what it reads, so the next batch may overwrite it.
  const inbox = new Inbox();
  const { outcomes } = runner;
  // A task that calls `process.exit` ends this thread in the middle of a batch: the records
  // before it have their outcomes here, and are reported; the core fails the rest (`complete`).
  process.once('exit', () => {
    if (outcomes.length > 0) pool.complete(slot, outcomes.bytes, outcomes.length, outcomes.id);
  });
  for (;;) {
    const taken = pool.take(slot, itemCostNs, true, inbox.buffer);
    if (taken === TAKE_IDLE) {
      await park();
      continue;
    }
    if (taken === TAKE_EXIT) return;
    const started = performance.now();
    const blocks = blocksOf(taken);
    const batch = inbox.framesOf(taken);
    // Awaited even when it ran synchronously: microtasks the tasks queued run between batches.
    const items = await runner.runBatch(batch, framesLength(taken), claim, blocks);
    inbox.done(batch);
    pool.complete(slot, outcomes.bytes, outcomes.length, outcomes.id);
    outcomes.clear();
    if (items > 0) itemCostNs = ((performance.now() - started) * 1e6) / items;
  }
}

void main().then(
  () => process.exit(0),
  (error) => {
    console.error('concurrent-futures worker failed:', error);
    process.exit(1);
  },
);


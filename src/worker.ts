/**
 * A worker thread of `ThreadPoolExecutor`: attaches to the pool's core, then loops
 * take → run → complete. A busy worker takes its next batch at once; an idle one is parked by the
 * core and sleeps on its doorbell (`Atomics.wait`) until the main thread rings it.
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads';

import { cloneError, decodeEncoded, describeError, type SharedMemoryTable } from './codec.js';
import { INBOX_BYTES, NativePool, TAKE_EXIT, TAKE_IDLE } from './native.js';
import type { WorkerConfig, WorkerMessage } from './thread-pool.js';
import { Runner } from './runner.js';

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

async function main(): Promise<void> {
  const pool = NativePool.attach(config.poolId);
  const shared = new SharedMemory();
  const runner = new Runner((index) => pool.function(index), shared);
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
  const inbox = Buffer.allocUnsafe(INBOX_BYTES);
  const { outcomes } = runner;
  for (;;) {
    const taken = pool.take(slot, itemCostNs, true, inbox);
    if (taken === TAKE_IDLE) {
      Atomics.wait(doorbells, slot, 0);
      Atomics.store(doorbells, slot, 0);
      continue;
    }
    if (taken === TAKE_EXIT) return;
    const started = performance.now();
    const batch = typeof taken === 'number' ? inbox : taken;
    // Awaited even when it ran synchronously: microtasks the tasks queued run between batches.
    const items = await runner.runBatch(batch, typeof taken === 'number' ? taken : taken.length, claim);
    pool.complete(slot, outcomes.bytes, outcomes.length);
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


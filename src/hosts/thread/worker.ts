/**
 * A worker thread of `ThreadPoolExecutor`: attaches to the pool's core, then loops
 * take → run → complete. A busy worker takes its next batch at once; an idle one is parked by the
 * core and sleeps on its doorbell (`Atomics.wait`) until the main thread rings it.
 */
import { receiveMessageOnPort, threadId, workerData } from 'node:worker_threads';

import { describeError, type ErrorDescriptor, rebuildError } from '../../wire/errors.js';
import { cancelledRun } from '../../worker/task-scope.js';
import { type FrameWriter, Inbox } from '../../wire/frames.js';
import { NativePool, startNext, stashBlock, TAKE_EXIT, TAKE_IDLE } from '../../wire/native.js';
import { decodeEncoded } from '../../wire/values.js';
import { type ChunkControl, Runner } from '../../worker/runner.js';
import { reportStrayErrors } from '../../worker/stray-errors.js';
import { MovedBuffers } from './moved-buffers.js';
import { DOORBELL_COMMITTED, DOORBELL_GENERATION, DOORBELL_POSTED, type MainMessage, type WorkerConfig, type WorkerMessage } from './protocol.js';
import { WorkerSharedMemory } from './shared-memory.js';

const config = workerData as WorkerConfig;
const { slot, doorbell, port, mailbox } = config;

/**
 * Sleeps until the main thread rings this worker's doorbell. With nothing else to do, in
 * `Atomics.wait` (the quickest wake-up). When something a task left behind waits on the event
 * loop (a timer, an immediate, a socket, output being flushed), the loop must run meanwhile, so
 * the worker waits with `Atomics.waitAsync`; that alone does not keep the loop alive, the
 * interval does.
 */
async function park(): Promise<void> {
  if (process.getActiveResourcesInfo().length === 0) {
    Atomics.wait(doorbell, 0, 0);
  } else {
    const keepAlive = setInterval(noop, 2 ** 30);
    await waitAsync(doorbell, 0, 0).value;
    clearInterval(keepAlive);
  }
  Atomics.store(doorbell, 0, 0);
}

const noop = (): void => {};

/**
 * Awaits a task that returned a promise with the event loop kept alive meanwhile: a task waiting
 * on nothing but an `unref()`'d timer, or on a promise that never settles, would otherwise let the
 * loop empty and the thread exit, which breaks the pool. It keeps its worker instead, as a child
 * process's task does.
 */
async function whileAlive<T>(pending: Promise<T>): Promise<T> {
  const keepAlive = setInterval(noop, 2 ** 30);
  try {
    return await pending;
  } finally {
    clearInterval(keepAlive);
  }
}
/** `Atomics.waitAsync` (ES2024; Node 16+), typed here: the project's `lib` is older. */
const waitAsync = (Atomics as unknown as { waitAsync(array: Int32Array, index: number, value: number): { value: string | Promise<string> } }).waitAsync;

reportStrayErrors(`worker thread ${threadId}`);

/** What the main thread posts on the port: shared memory announced, buffers moved here. */
function receiveMessages(): void {
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    const message = m.message as MainMessage;
    if (message.type === 'shared') shared.remember(message.id, message.sab);
    else if (message.type === 'forget') shared.forget(message.ids);
    else if (message.type === 'moved') moved.arrive(message.id, message.buffer);
    else if (message.type === 'abort') abortReasons.set(message.index, message.reason);
  }
}

/** Shared memory: the main thread's comes on the port; what outcomes name goes to it there. */
const shared = new WorkerSharedMemory(
  (token, index, sab) => port.postMessage({ type: 'shared', token, index, sab } satisfies WorkerMessage),
  (token) => port.postMessage({ type: 'sharedDone', token } satisfies WorkerMessage),
  receiveMessages,
  config.shared,
);

/**
 * Buffers moved with records (asked for from the main thread, which keeps them until then, and
 * waited for on the mailbox) and with results (posted before the record completes).
 */
const moved = new MovedBuffers(
  (id, buffer) => port.postMessage({ type: 'moved', id, buffer } satisfies WorkerMessage, [buffer]),
  (id) => {
    receiveMessages();
    if (moved.has(id)) return;
    port.postMessage({ type: 'want', id } satisfies WorkerMessage);
    while (!moved.has(id)) {
      // The answer comes when the main thread's event loop next runs.
      Atomics.wait(mailbox, 0, 0, 1000);
      Atomics.store(mailbox, 0, 0);
      receiveMessages();
    }
  },
);
shared.moved = moved;

const NONE_STOPPED: readonly number[] = [];

/** Why records of the current batch were aborted (`run`'s signal or timeout), by index: the main thread posts it before it sets the interrupt word. */
const abortReasons = new Map<number, ErrorDescriptor>();

/**
 * The chunks of this worker's batch hand their finished items over straight to the core, and
 * learn that their run was cancelled from the interrupt word (`doorbell[1]`), which the main
 * thread sets after the core has marked the records (`Pool::stop`). The word is cleared before
 * the core is asked which records are stopped, so a stop is never missed, at worst asked twice.
 * What the core answers holds for the current batch only: `newBatch` forgets it.
 */
class ThreadChunkControl implements ChunkControl {
  #stopped = NONE_STOPPED;

  constructor(private readonly pool: NativePool) {}

  newBatch(): void {
    this.#stopped = NONE_STOPPED;
    abortReasons.clear();
  }

  stopped(index: number): boolean {
    if (Atomics.load(doorbell, 1) !== 0) {
      Atomics.store(doorbell, 1, 0);
      this.#stopped = this.pool.stopped(slot);
    }
    return this.#stopped.length > 0 && this.#stopped.includes(index);
  }

  reason(index: number): unknown {
    receiveMessages();
    const reason = abortReasons.get(index);
    return reason === undefined ? cancelledRun() : rebuildError(reason);
  }

  handOver(index: number, count: number, part: FrameWriter): void {
    this.pool.completePart(slot, index, count, part.bytes, part.length, part.id);
    part.clear();
    shared.partHandedOver();
  }
}

let outcomesGeneration = 0;

/**
 * Memory for the outcome frames, shared with the main thread, which learns of each new one (the
 * frames grow into a new one, copied): what `DOORBELL_COMMITTED` counts is readable there after
 * this thread is gone.
 */
function allocateOutcomes(bytes: number): Buffer {
  Atomics.store(doorbell, DOORBELL_COMMITTED, 0); // until the frames are in the new memory
  const sab = new SharedArrayBuffer(bytes);
  port.postMessage({ type: 'outcomes', generation: ++outcomesGeneration, sab } satisfies WorkerMessage);
  Atomics.store(doorbell, DOORBELL_GENERATION, outcomesGeneration);
  return Buffer.from(sab);
}

async function main(): Promise<void> {
  const pool = NativePool.attach(config.poolId);
  const control = new ThreadChunkControl(pool);
  const runner = new Runner((index) => pool.function(index), shared, stashBlock, moved, control, allocateOutcomes);
  if (config.initializer !== undefined) {
    try {
      await runner.runInitializer(config.initializer, decodeEncoded(config.initargs, shared) as unknown[]);
    } catch (error) {
      port.postMessage({ type: 'initFailed', error: describeError(error) } satisfies WorkerMessage);
      return;
    }
  }
  let itemCostNs = 0;
  const claim = (index: number): boolean => {
    // The records before this one are finished: should this thread die running it (out of
    // memory, say), the main thread hands their outcomes over (see `DOORBELL_COMMITTED`).
    Atomics.store(doorbell, DOORBELL_COMMITTED, outcomes.hasBlocks ? 0 : outcomes.length);
    return startNext(slot, index);
  };
  // The core writes each batch here (a larger one comes in a buffer of its own); decoding copies
  // what it reads, so the next batch may overwrite it.
  const inbox = new Inbox();
  const { outcomes } = runner;
  // A task that calls `process.exit` ends this thread in the middle of a batch: the records
  // before it have their outcomes here, and are reported, as are the items a running chunk
  // finished; the core fails the rest (`complete`).
  process.once('exit', () => {
    runner.handOverRunning();
    Atomics.store(doorbell, DOORBELL_COMMITTED, 0);
    if (outcomes.length > 0) pool.complete(slot, outcomes.bytes, outcomes.length, outcomes.id);
  });
  let postedSeen = 0;
  for (;;) {
    // Shared memory announced or let go meanwhile: read between batches, so that the port does
    // not hold memory let go (a parked worker is rung when memory is let go).
    const posted = Atomics.load(doorbell, DOORBELL_POSTED);
    if (posted !== postedSeen) {
      postedSeen = posted;
      receiveMessages();
    }
    const taken = pool.take(slot, itemCostNs, true, inbox.target);
    if (taken === TAKE_IDLE) {
      await park();
      continue;
    }
    if (taken === TAKE_EXIT) return;
    const started = performance.now();
    control.newBatch();
    const batch = inbox.receive(taken)!;
    const ran = runner.runBatch(batch, claim);
    // Awaited even when it ran synchronously: microtasks the tasks queued run between batches.
    const items = typeof ran === 'number' ? await ran : await whileAlive(ran);
    inbox.done(batch);
    Atomics.store(doorbell, DOORBELL_COMMITTED, 0); // handed over here, never twice
    pool.complete(slot, outcomes.bytes, outcomes.length, outcomes.id);
    outcomes.clear();
    shared.batchEnded();
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

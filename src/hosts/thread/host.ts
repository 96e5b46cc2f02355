/**
 * The host of a `ThreadPoolExecutor`'s workers: `worker_threads` that attach to the core by its
 * id and take their work from it themselves (`worker.ts`). Each has a doorbell it sleeps on when
 * idle, and a message port for what the core does not carry (shared memory, a failed initializer).
 */
import os from 'node:os';
import path from 'node:path';
import { MessageChannel, type MessagePort, receiveMessageOnPort, type ResourceLimits, Worker } from 'node:worker_threads';

import { BrokenThreadPool, type BrokenExecutor, type WorkerEnd } from '../../api/errors.js';
import { type ErrorDescriptor, rebuildError } from '../../wire/errors.js';
import { encode } from '../../wire/values.js';
import { ADDON_PATH_KEY, addonPath, type NativePool, stashBlock } from '../../wire/native.js';
import type { HostEvents, WorkerHost } from '../host.js';
import { DOORBELL_COMMITTED, DOORBELL_GENERATION, DOORBELL_POSTED, DOORBELL_WORDS, type MainMessage, type WorkerConfig, type WorkerMessage } from './protocol.js';
import { MainThreadMoves } from './moved-buffers.js';
import { MainSharedMemory } from './shared-memory.js';

const WORKER_FILE = path.join(__dirname, 'worker.js');

export interface ThreadHostOptions {
  threadNamePrefix: string | undefined;
  resourceLimits: ResourceLimits | undefined;
  execArgv: string[] | undefined;
  env: Record<string, string> | undefined;
  initializer: string | undefined;
  initargs: unknown[];
}

interface LiveWorker {
  worker: Worker;
  port: MessagePort;
  mailbox: Int32Array;
  /** The memory its outcome frames are in, as it last said (see `#handOverFinished`). */
  outcomes: { generation: number; bytes: Buffer } | undefined;
}

export class ThreadHost implements WorkerHost {
  // Idle workers may spin briefly on the cores the main thread does not need.
  readonly lingering = Math.max(1, os.availableParallelism() - 1);
  readonly pollsCompletions = true;
  readonly workerKind = 'worker thread';
  readonly stashBlock = stashBlock;
  readonly sharedMemory: MainSharedMemory;
  readonly moved = new MainThreadMoves(() => this.#workers.forEach((live) => this.#drainPort(live)));
  readonly #workers = new Map<number, LiveWorker>();
  /**
   * Each worker's doorbell, apart from `#workers`: `wake` is on the submit path, and a typed
   * array's hidden class outlives every worker (see `executor/shapes.ts`), an object literal's
   * does not.
   */
  readonly #doorbells = new Map<number, Int32Array>();
  #core!: NativePool;
  #events!: HostEvents;
  /** The initializer's arguments, encoded once for every worker. */
  readonly #initargs: string | Uint8Array;
  #initError: unknown;

  constructor(private readonly options: ThreadHostOptions) {
    this.sharedMemory = new MainSharedMemory(
      (id, sab) => this.#post({ type: 'shared', id, sab }),
      (ids) => this.#post({ type: 'forget', ids }, true),
      () => this.#workers.forEach((live) => this.#drainPort(live)),
    );
    this.sharedMemory.moved = this.moved.buffers;
    this.#initargs = encode(options.initargs, this.sharedMemory, 'arguments');
    // Every worker that ever starts is given them.
    this.sharedMemory.keepNamedFor('always');
  }

  get live(): number {
    return this.#workers.size;
  }

  attach(core: NativePool, events: HostEvents): void {
    this.#core = core;
    this.#events = events;
  }

  start(slot: number): void {
    const { port1, port2 } = new MessageChannel();
    const doorbell = new Int32Array(new SharedArrayBuffer(DOORBELL_WORDS * 4));
    const mailbox = new Int32Array(new SharedArrayBuffer(4));
    const config: WorkerConfig = {
      poolId: this.#core.id,
      slot,
      doorbell,
      port: port2,
      mailbox,
      initializer: this.options.initializer,
      initargs: this.#initargs,
      shared: this.sharedMemory.entries(),
      [ADDON_PATH_KEY]: addonPath,
    };
    let worker: Worker;
    try {
      worker = new Worker(WORKER_FILE, {
        workerData: config,
        transferList: [port2],
        name: `${this.options.threadNamePrefix ?? `ThreadPoolExecutor-${this.#core.id}`}_${slot}`,
        resourceLimits: this.options.resourceLimits,
        execArgv: this.options.execArgv,
        env: this.options.env,
      } as ConstructorParameters<typeof Worker>[1]);
    } catch (error) {
      // Never throw out of a submit: the slot is the core's "starting" worker; its loss breaks the pool.
      port1.close();
      const reason = `A worker thread could not be started: ${String(error)}`;
      queueMicrotask(() => this.#events.exited(slot, { reason, cause: error, exitCode: null, signal: null }));
      return;
    }
    worker.unref();
    const live: LiveWorker = { worker, port: port1, mailbox, outcomes: undefined };
    port1.on('message', (message: WorkerMessage) => this.#onMessage(message, live));
    port1.unref(); // after `on('message')`, which refs the port again
    let crash: unknown;
    worker.on('error', (error) => (crash = error));
    worker.on('exit', (exitCode) => {
      this.#drainPort(live);
      port1.close();
      this.#handOverFinished(slot, doorbell, live);
      this.sharedMemory.gone(live);
      this.#workers.delete(slot);
      this.#doorbells.delete(slot);
      const reason = this.#initError !== undefined ? 'A thread initializer failed' : `A worker thread exited abruptly (exit code ${exitCode}) while running a task`;
      this.#events.exited(slot, { reason, cause: this.#initError ?? crash, exitCode, signal: null });
    });
    this.#workers.set(slot, live);
    this.#doorbells.set(slot, doorbell);
  }

  wake(slot: number): void {
    const doorbell = this.#doorbells.get(slot);
    if (doorbell === undefined) return;
    Atomics.store(doorbell, 0, 1);
    Atomics.notify(doorbell, 0, 1);
  }

  interrupt(slot: number): void {
    const doorbell = this.#doorbells.get(slot);
    if (doorbell !== undefined) Atomics.store(doorbell, 1, 1);
  }

  abort(slot: number, index: number, reason: ErrorDescriptor): void {
    // The reason first: the worker reads its port once it sees the interrupt word.
    this.#workers.get(slot)?.port.postMessage({ type: 'abort', index, reason } satisfies MainMessage);
    this.interrupt(slot);
  }

  stop(slot: number): void {
    void this.#workers.get(slot)?.worker.terminate();
  }

  stopAll(): void {
    for (const slot of this.#workers.keys()) this.stop(slot);
  }

  brokenError(message: string, cause?: unknown, end?: WorkerEnd): BrokenExecutor {
    return new BrokenThreadPool(message, { ...(cause === undefined ? {} : { cause }), ...end });
  }

  /**
   * Tells every worker of shared memory: its id (the main thread sends it for the first time), or
   * ids to let go (`ring`: a parked worker wakes to do so, see `MainSharedMemory`).
   */
  #post(message: MainMessage, ring = false): void {
    for (const [slot, { port }] of this.#workers) {
      port.postMessage(message);
      // Counted, so that a worker reads its port between batches (see `WorkerSharedMemory`).
      const doorbell = this.#doorbells.get(slot);
      if (doorbell !== undefined) Atomics.add(doorbell, DOORBELL_POSTED, 1);
      if (ring) this.wake(slot);
    }
  }

  /**
   * A worker ended in the middle of a batch without handing its outcomes over (it ran out of
   * memory, or was terminated): the outcomes of the records it finished are in the memory it
   * shared, and go to the core as it would have sent them, so that only the record it was running
   * fails. Nothing when it handed them over itself, or they are in memory this thread has not
   * been told of yet.
   */
  #handOverFinished(slot: number, doorbell: Int32Array, live: LiveWorker): void {
    const committed = Atomics.load(doorbell, DOORBELL_COMMITTED);
    const outcomes = live.outcomes;
    if (committed <= 0 || outcomes === undefined || outcomes.generation !== Atomics.load(doorbell, DOORBELL_GENERATION)) return;
    live.outcomes = undefined;
    this.#core.complete(slot, outcomes.bytes, Math.min(committed, outcomes.bytes.length), 0);
  }

  #drainPort(live: LiveWorker): void {
    const { port } = live;
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) this.#onMessage(m.message as WorkerMessage, live);
  }

  #onMessage(message: WorkerMessage, from: LiveWorker): void {
    if (message.type === 'shared') {
      this.sharedMemory.received(from, message.token, message.index, message.sab);
    } else if (message.type === 'sharedDone') {
      this.sharedMemory.closed(message.token);
    } else if (message.type === 'outcomes') {
      from.outcomes = { generation: message.generation, bytes: Buffer.from(message.sab) };
    } else if (message.type === 'moved') {
      this.moved.buffers.arrive(message.id, message.buffer);
    } else if (message.type === 'want') {
      this.moved.want(message.id, (buffer) => {
        from.port.postMessage({ type: 'moved', id: message.id, buffer } satisfies MainMessage, buffer === null ? [] : [buffer]);
        Atomics.store(from.mailbox, 0, 1);
        Atomics.notify(from.mailbox, 0);
      });
    } else if (message.type === 'initFailed' && this.#initError === undefined) {
      this.#initError = rebuildError(message.error as ErrorDescriptor);
      this.#events.broke('A thread initializer failed', this.#initError, false);
    }
  }
}

import { MessageChannel, type MessagePort, receiveMessageOnPort, type ResourceLimits, Worker } from 'node:worker_threads';
import path from 'node:path';

import { cloneError, encode, rebuildError } from './codec.js';
import { BrokenThreadPool, type BrokenExecutor } from './errors.js';
import { PoolExecutor } from './executor.js';
import { checkArray, checkEnv, checkPositiveInteger, checkResourceLimits, checkStringArray, defaultWorkers, MAX_TASKS_PER_WORKER, MAX_WORKERS } from './options.js';
import { ADDON_PATH_KEY, addonPath } from './native.js';
import { describeTask, type TaskFn } from './task.js';

export interface ThreadPoolOptions {
  /** Default `os.availableParallelism()`. */
  maxWorkers?: number;
  threadNamePrefix?: string;
  /** Runs once in each worker before its first task; if it throws, the pool breaks. */
  initializer?: TaskFn;
  initargs?: unknown[];
  /** Recycle a worker after this many tasks. */
  maxTasksPerWorker?: number;
  resourceLimits?: ResourceLimits;
  execArgv?: string[];
  env?: Record<string, string>;
}

/** What a worker receives at start; see `worker.ts`. @internal */
export interface WorkerConfig {
  poolId: number;
  slot: number;
  doorbells: Int32Array;
  port: MessagePort;
  initializer: string | undefined;
  initargs: string | Uint8Array;
  shared: Array<[number, SharedArrayBuffer]>;
  /** The addon file the main thread loaded (see `native.ts`). */
  [ADDON_PATH_KEY]: string | undefined;
}

/** Messages a worker posts on its port. @internal */
export type WorkerMessage =
  | { type: 'initFailed'; error: unknown }
  | { type: 'shared'; id: number; sab: SharedArrayBuffer };

const WORKER_FILE = path.join(__dirname, 'worker.js');

interface LiveWorker {
  worker: Worker;
  port: MessagePort;
}

/**
 * Python's `ThreadPoolExecutor`, on `worker_threads`: workers start lazily, idle ones are reused
 * before a new one starts, never more than `maxWorkers`.
 */
export class ThreadPoolExecutor extends PoolExecutor {
  readonly #options: ThreadPoolOptions;
  readonly #prefix: string;
  readonly #initializer: string | undefined;
  readonly #initargs: string | Uint8Array;
  /** One doorbell per slot: a parked worker waits on it (see `worker.ts`). */
  readonly #doorbells: Int32Array;
  readonly #workers = new Map<number, LiveWorker>();
  /** Shared memory by id, both ways: positive ids are the main thread's, negative a worker's. */
  readonly #sharedById = new Map<number, SharedArrayBuffer>();
  readonly #sharedIds = new WeakMap<SharedArrayBuffer, number>();
  #nextSharedId = 1;
  #initError: unknown;

  constructor(options: ThreadPoolOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('ThreadPoolExecutor options must be an object');
    const maxWorkers = checkPositiveInteger('maxWorkers', options.maxWorkers, defaultWorkers(), MAX_WORKERS)!;
    const maxTasks = checkPositiveInteger('maxTasksPerWorker', options.maxTasksPerWorker, undefined, MAX_TASKS_PER_WORKER);
    checkResourceLimits(options.resourceLimits);
    checkStringArray('execArgv', options.execArgv);
    checkEnv(options.env);
    if (options.threadNamePrefix !== undefined && typeof options.threadNamePrefix !== 'string') {
      throw new TypeError('threadNamePrefix must be a string');
    }
    const initializer = options.initializer === undefined ? undefined : describeTask(options.initializer, 'initializer');
    const initargs = checkArray('initargs', options.initargs);
    super(maxWorkers, maxTasks);
    this.#options = options;
    this.#prefix = options.threadNamePrefix ?? `ThreadPoolExecutor-${this.native.id}`;
    this.#initializer = initializer;
    this.#initargs = encode(initargs, this);
    this.#doorbells = new Int32Array(new SharedArrayBuffer(4 * maxWorkers));
  }

  protected override get workersAttach(): boolean {
    return true;
  }

  protected override spawn(slot: number): void {
    const { port1, port2 } = new MessageChannel();
    const config: WorkerConfig = {
      poolId: this.native.id,
      slot,
      doorbells: this.#doorbells,
      port: port2,
      initializer: this.#initializer,
      initargs: this.#initargs,
      shared: [...this.#sharedById],
      [ADDON_PATH_KEY]: addonPath,
    };
    Atomics.store(this.#doorbells, slot, 0);
    let worker: Worker;
    try {
      worker = new Worker(WORKER_FILE, {
        workerData: config,
        transferList: [port2],
        name: `${this.#prefix}_${slot}`,
        resourceLimits: this.#options.resourceLimits,
        execArgv: this.#options.execArgv,
        env: this.#options.env,
      } as ConstructorParameters<typeof Worker>[1]);
    } catch (error) {
      // Never throw out of a submit: the slot is the core's "starting" worker; its loss breaks the pool.
      port1.close();
      queueMicrotask(() => this.workerExited(slot, `A worker thread could not be started: ${String(error)}`, error));
      return;
    }
    worker.unref();
    port1.on('message', (message: WorkerMessage) => this.#onMessage(message));
    port1.unref(); // after `on('message')`, which refs the port again
    let crash: unknown;
    worker.on('error', (error) => (crash = error));
    worker.on('exit', (code) => {
      this.#drainPort(port1);
      port1.close();
      this.#workers.delete(slot);
      const why = this.#initError !== undefined ? 'A thread initializer failed' : `A worker thread exited abruptly (exit code ${code}) while running a task`;
      this.workerExited(slot, why, this.#initError ?? crash);
    });
    this.#workers.set(slot, { worker, port: port1 });
  }

  protected override wake(slot: number): void {
    Atomics.store(this.#doorbells, slot, 1);
    Atomics.notify(this.#doorbells, slot, 1);
  }

  protected override terminateAll(): void {
    for (const { worker } of this.#workers.values()) void worker.terminate();
  }

  protected override liveWorkers(): number {
    return this.#workers.size;
  }

  protected override brokenError(message: string, cause?: unknown): BrokenExecutor {
    return new BrokenThreadPool(message, cause === undefined ? undefined : { cause });
  }

  /** @internal */
  override idOf(sab: SharedArrayBuffer): number {
    let id = this.#sharedIds.get(sab);
    if (id === undefined) {
      id = this.#nextSharedId++;
      this.#remember(id, sab);
      for (const { port } of this.#workers.values()) port.postMessage({ type: 'shared', id, sab });
    }
    return id;
  }

  /** @internal */
  override get(id: number): SharedArrayBuffer {
    let sab = this.#sharedById.get(id);
    if (sab === undefined) {
      for (const { port } of this.#workers.values()) this.#drainPort(port);
      sab = this.#sharedById.get(id);
    }
    if (sab === undefined) throw cloneError(`unknown SharedArrayBuffer ${id}`);
    return sab;
  }

  #remember(id: number, sab: SharedArrayBuffer): void {
    this.#sharedById.set(id, sab);
    this.#sharedIds.set(sab, id);
  }

  #drainPort(port: MessagePort): void {
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) this.#onMessage(m.message);
  }

  #onMessage(message: WorkerMessage): void {
    if (message.type === 'shared') this.#remember(message.id, message.sab);
    else if (message.type === 'initFailed' && this.#initError === undefined) {
      this.#initError = rebuildError(message.error as Parameters<typeof rebuildError>[0]);
      this.breakPool('A thread initializer failed', this.#initError, false);
    }
  }
}

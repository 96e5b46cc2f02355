/**
 * A worker host: a BullMQ `Worker` that runs each job's items on a local pool of this package and
 * pushes their outcomes, a range at a time, to the results list of the client that queued them.
 * A job completes in BullMQ only once its outcomes are in Redis, so a host that dies mid-job
 * leaves the job to be handed to another host (at least once).
 */
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';

import { BrokenExecutor, TimeoutError } from '../api/errors.js';
import type { Executor } from '../api/executor.js';
import type { Future } from '../api/future.js';
import type { ChunkResults, MapSink, RangeReceiver } from '../api/map.js';
import { checkKnownKeys } from '../api/option-keys.js';
import { type TaskRef, taskFromDescriptor } from '../api/task.js';
import { ProcessPoolExecutor } from '../executor/process-pool.js';
import { ThreadPoolExecutor } from '../executor/thread-pool.js';
import { readDescriptor, type TaskDescriptor } from '../wire/task-descriptor.js';
import { checkConnection, connect } from './connection.js';
import type { Connection } from './connection-options.js';
import { abortChannel, abortedKey, cancelledKey, DEFAULT_QUEUE, decodeAbort, decodeItems, encodeMessage, errorOutcome, type JobData, type Message, type Outcome, PREFIX, PROTOCOL_VERSION, RESULTS_TTL_MS, resultsKey, stoppedOutcome, valueOutcomes } from './protocol.js';

export interface WorkerHostOptions {
  connection: Connection;
  /** Default `'concurrent-futures'`, as the executor's. */
  queue?: string | undefined;
  /** The local pool's size; default `os.availableParallelism()`. The host takes at most one job more. */
  maxWorkers?: number | undefined;
  /** The local pool: `'thread'` (default) or `'process'`. */
  pool?: 'thread' | 'process' | undefined;
  /** `'tasks'`: run `task()` module exports only; functions sent by source and built-ins by path are refused. */
  only?: 'tasks' | undefined;
  /** Allow-list of `task()` modules (paths, file URLs or package names); others are refused unimported. */
  modules?: string[] | undefined;
  /** BullMQ's job lock (ms): a dead host's job is handed on after about `lockDuration + stalledInterval`. Default 10,000. */
  lockDuration?: number | undefined;
  /** How often (ms) this host looks for jobs of dead hosts. Default 5,000. */
  stalledInterval?: number | undefined;
}

export interface WorkerHost {
  /** Stops taking jobs, lets the running ones finish, shuts the local pool down. */
  close(): Promise<void>;
}

const DEFAULT_LOCK_MS = 10_000;
const DEFAULT_STALLED_INTERVAL_MS = 5_000;
const RETRY_PUSH_MS = 200;
/** A job's start is told its client at most this late (ms); see `Outbox.started`. */
const START_NOTICE_MS = 1;

/** Starts a worker host; resolves once it is connected and taking jobs. */
export async function startWorkerHost(options: WorkerHostOptions): Promise<WorkerHost> {
  const config = parseHostOptions(options);
  const redis = connect(config.connection, { maxRetriesPerRequest: null });
  reportErrors(redis, 'results connection');
  // Aborts of running jobs come by pub/sub (`abortChannel`), on a connection of their own.
  const subscriber = connect(config.connection, { maxRetriesPerRequest: null });
  reportErrors(subscriber, 'abort subscription');
  const runner = new JobRunner(config, redis, new Outbox(redis, config.queue));
  subscriber.on('messageBuffer', (_channel: Buffer, message: Buffer) => runner.abortMessage(message));
  await subscriber.subscribe(abortChannel(config.queue));
  // BullMQ leaves a connection it was given open when it closes: closed below.
  const workerConnection = connect(config.connection, { maxRetriesPerRequest: null });
  // Concurrency 1 while the host runs nothing, `maxWorkers + 1` while it runs a job (set by the
  // runner): an idle BullMQ worker of concurrency above 1 asks Redis for a second job (one more
  // round trip) before it starts the first it woke up for. Raised synchronously as a job starts
  // (BullMQ calls the processor from within `processJob`), so the next jobs are fetched while it runs.
  const worker: Worker<JobData> = new Worker<JobData>(config.queue, (job: Job<JobData>) => runner.run(job.data, job.id ?? ''), {
    connection: workerConnection,
    prefix: PREFIX,
    concurrency: 1,
    lockDuration: config.lockDuration,
    stalledInterval: config.stalledInterval,
    maxStalledCount: 1,
  });
  runner.onBusy = (busy) => (worker.concurrency = busy ? config.maxWorkers + 1 : 1);
  reportErrors(worker, 'worker');
  // A job BullMQ fails itself: its hosts died running it more often than allowed (a job that
  // kills every host it runs on), or something unforeseen; its client must hear of it.
  worker.on('failed', (job: Job<JobData> | undefined, error: Error) => {
    if (job?.data?.c !== undefined) void runner.failed(job.data, error);
  });
  await worker.waitUntilReady();
  let closed: Promise<void> | undefined;
  return {
    close: () =>
      (closed ??= (async () => {
        await worker.close();
        await runner.close();
        workerConnection.disconnect();
        subscriber.disconnect();
        await redis.quit().catch(() => redis.disconnect());
      })()),
  };
}

interface HostConfig {
  connection: Connection;
  queue: string;
  maxWorkers: number;
  pool: 'thread' | 'process';
  onlyTasks: boolean;
  /** Normalised allow-list of modules, or `undefined`: any. */
  modules: Set<string> | undefined;
  lockDuration: number;
  stalledInterval: number;
}

const HOST_OPTIONS = ['connection', 'queue', 'maxWorkers', 'pool', 'only', 'modules', 'lockDuration', 'stalledInterval'];

function parseHostOptions(options: WorkerHostOptions): HostConfig {
  const what = 'startWorkerHost()';
  if (typeof options !== 'object' || options === null) throw new TypeError(`${what}: options must be an object with a connection`);
  checkKnownKeys(what, options, HOST_OPTIONS);
  const { queue = DEFAULT_QUEUE, maxWorkers = os.availableParallelism(), pool = 'thread', only, modules } = options;
  if (typeof queue !== 'string' || queue === '' || queue.includes(':')) throw new TypeError(`${what}: queue must be a non-empty string without ':'`);
  if (!Number.isInteger(maxWorkers)) throw new TypeError(`${what}: maxWorkers must be an integer, got ${String(maxWorkers)}`);
  if (maxWorkers < 1) throw new RangeError(`${what}: maxWorkers must be >= 1, got ${maxWorkers}`);
  if (pool !== 'thread' && pool !== 'process') throw new TypeError(`${what}: pool must be 'thread' or 'process', got ${String(pool)}`);
  if (only !== undefined && only !== 'tasks') throw new TypeError(`${what}: only must be 'tasks' or undefined, got ${String(only)}`);
  if (modules !== undefined && (!Array.isArray(modules) || modules.some((m) => typeof m !== 'string' || m === ''))) {
    throw new TypeError(`${what}: modules must be an array of module paths, file URLs or package names`);
  }
  return {
    connection: checkConnection(what, options.connection),
    queue,
    maxWorkers,
    pool,
    onlyTasks: only === 'tasks',
    modules: modules === undefined ? undefined : new Set(modules.map(normalizeModule)),
    lockDuration: positive(what, 'lockDuration', options.lockDuration, DEFAULT_LOCK_MS),
    stalledInterval: positive(what, 'stalledInterval', options.stalledInterval, DEFAULT_STALLED_INTERVAL_MS),
  };
}

function positive(what: string, name: string, value: unknown, otherwise: number): number {
  if (value === undefined) return otherwise;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new RangeError(`${what}: ${name} must be a positive number of milliseconds, got ${String(value)}`);
  return value;
}

/** As `task()` writes a module: a path becomes its file URL, a file URL is normalised, a package name stays. */
export function normalizeModule(module: string): string {
  if (module.startsWith('file:')) return new URL(module).href;
  if (module.startsWith('.') || path.isAbsolute(module)) return pathToFileURL(path.resolve(module)).href;
  return module;
}

/** An emitter's `error` events, reported on stderr once per distinct message (a reconnecting connection repeats them). */
function reportErrors(emitter: Redis | Worker, what: string): void {
  let last = '';
  emitter.on('error', (error: Error) => {
    if (error.message === last) return;
    last = error.message;
    process.stderr.write(`concurrent-futures worker host: ${what}: ${error.message}\n`);
  });
}

/** Runs jobs on the local pool, with the host's policy on what may run. */
class JobRunner {
  #pool: Executor;
  #sinks = new Map<string, MapSink>();
  /** Task functions of `run` jobs, by descriptor. */
  #fns = new Map<string, TaskRef>();
  /** Why a descriptor is refused (`undefined`: it is not), by descriptor. */
  #refusals = new Map<string, TypeError | undefined>();
  /** The jobs running here that their client may abort (`run` with a signal), by job id. */
  #abortable = new Map<string, AbortController>();
  /** The jobs of several items running here, by id: how to abort them (a map's signal, `abortMessage`). */
  #abortableItems = new Map<string, (reason: unknown) => void>();
  #active = 0;
  /** Told when the host starts running something (`true`) and when it runs nothing any more. */
  onBusy: (busy: boolean) => void = () => {};

  constructor(
    private readonly config: HostConfig,
    private readonly redis: Redis,
    private readonly outbox: Outbox,
  ) {
    this.#pool = this.#newPool();
  }

  /**
   * The local pool. A worker that dies fails only the task it ran (`replaceCrashedWorkers`): the
   * other tasks this host holds are other clients' jobs, taken here by chance.
   */
  #newPool(): Executor {
    const options = { maxWorkers: this.config.maxWorkers, replaceCrashedWorkers: true };
    return this.config.pool === 'process' ? new ProcessPoolExecutor(options) : new ThreadPoolExecutor(options);
  }

  /** Runs every item of a job; resolves once their outcomes are in Redis. */
  async run(data: JobData, jobId: string): Promise<void> {
    // Synchronously, as BullMQ calls this: see the worker's concurrency in `startWorkerHost`.
    if (this.#active++ === 0) this.onBusy(true);
    try {
      await this.#run(data, jobId);
    } finally {
      // Back to one job at a time once idle after a job of one task; after a job of several (a map
      // chunk, or many submits of one tick), more like it are likely on their way.
      if (--this.#active === 0 && data.n === 1) this.onBusy(false);
    }
  }

  async #run(data: JobData, jobId: string): Promise<void> {
    const { c: client, k: key, n: count } = data;
    const refused = data.v === PROTOCOL_VERSION ? this.#refusal(data.f) : new TypeError(`job ${jobId} is of protocol version ${String(data.v)}; this host speaks ${PROTOCOL_VERSION}`);
    if (refused !== undefined) return this.outbox.send(client, [errorOutcome(key, 0, count, refused)]);
    this.outbox.started(client, key);
    let items: unknown[];
    try {
      items = decodeItems(data);
    } catch (error) {
      return this.outbox.send(client, [errorOutcome(key, 0, count, error)]);
    }
    if (data.x === 1 || data.t !== undefined) return this.#runWithOptions(data, jobId, items[0] as unknown[]);
    // One task (a one-at-a-time submit): a plain submit to the pool, a few µs less than its map sink.
    if (count === 1 && data.m === 0) return this.outbox.send(client, await this.#runOnPool(data, items[0] as unknown[], undefined));
    // A map chunk its client aborted before this host took it never runs: the abort may be said
    // before the job is known here (kept under `abortedKey`), or while it is being set up.
    const abortable = data.m === 1 && data.p === 1;
    let abortedMeanwhile = false;
    if (abortable) this.#abortableItems.set(jobId, () => void (abortedMeanwhile = true));
    const [skip, abortedBefore] = await Promise.all([
      data.m === 0 && count > 1 ? this.#cancelledItems(jobId) : new Set<number>(),
      abortable ? this.#abortedBefore(jobId) : false,
    ]);
    if (abortedBefore || abortedMeanwhile) {
      this.#abortableItems.delete(jobId);
      return;
    }
    const cancels: Array<(reason?: unknown) => void> = [];
    await new Promise<void>((resolve) => {
      let left = count - skip.size;
      if (left === 0) return resolve();
      // Aborted by its client (a map's signal): its running items see their signal fire, the rest
      // never run, and the job ends here (what its running items still give is sent, and dropped).
      this.#abortableItems.set(jobId, (reason) => {
        for (const cancel of cancels) cancel(reason);
        resolve();
      });
      const pool = this.#pool;
      const receiver: RangeReceiver = {
        deliver: (first: number, n: number, results: ChunkResults): void => {
          // A task of this job broke the pool (it killed its worker): the next jobs get a new one.
          if (results.failAll?.error instanceof BrokenExecutor) this.#replacePool(pool);
          left -= n;
          const sent = this.outbox.send(client, outcomesOf(key, first, n, results));
          if (left === 0) sent.then(resolve);
        },
      };
      for (const [first, end] of runsWithout(count, skip)) {
        const cancel = this.#submitItems(data, items, first, end, receiver);
        if (cancel !== undefined) cancels.push(cancel);
      }
    }).finally(() => this.#abortableItems.delete(jobId));
  }

  /**
   * A job of one `run` with a signal or a timeout: run with them on the local pool, so that the
   * task's own signal fires when its client aborts it (`abortMessage`) or its timeout passes here,
   * and the pool stops it `abortGrace` later if it still runs.
   */
  async #runWithOptions(data: JobData, jobId: string, args: unknown[]): Promise<void> {
    const controller = new AbortController();
    if (data.x === 1) {
      this.#abortable.set(jobId, controller);
      // An abort said before this host took the job (or to a host that died running it).
      this.redis.getBuffer(abortedKey(this.config.queue, jobId)).then(
        (bytes) => bytes !== null && abortWith(controller, bytes),
        () => {},
      );
    }
    try {
      await this.outbox.send(data.c, await this.#runOnPool(data, args, controller));
    } finally {
      this.#abortable.delete(jobId);
    }
  }

  /** Runs a job's one task on the pool, with `controller`'s signal and the job's timeout when given; its outcome. */
  #runOnPool(data: JobData, args: unknown[], controller: AbortController | undefined): Promise<Outcome[]> {
    const key = data.k;
    let fn = this.#fns.get(data.f);
    if (fn === undefined) this.#fns.set(data.f, (fn = taskFromDescriptor(data.f)));
    for (let attempt = 0; ; attempt++) {
      const pool = this.#pool;
      let future: Future<unknown>;
      try {
        future = controller === undefined ? pool.submit(fn, ...args) : pool.run(fn, args, { signal: controller.signal, timeout: data.t });
      } catch (error) {
        if (error instanceof BrokenExecutor && attempt === 0) {
          this.#replacePool(pool);
          continue;
        }
        return Promise.resolve([errorOutcome(key, 0, 1, error)]);
      }
      return future.then(
        (value) => valueOutcomes(key, 0, [value]),
        (error: unknown) => {
          if (error instanceof BrokenExecutor) this.#replacePool(pool);
          // A TimeoutError (the pool's own, whether the task was stopped or threw its signal's
          // reason; or one the task threw itself, which reads the same to the client), or the
          // abort's reason itself: the task was stopped, never started, or threw that reason.
          // Else the task ended with this error.
          if (controller === undefined) return [errorOutcome(key, 0, 1, error)];
          if (error instanceof TimeoutError) return [stoppedOutcome(key, error, true)];
          const { signal } = controller;
          if (signal.aborted && (error === signal.reason || future.cancelled())) return [stoppedOutcome(key, signal.reason, false)];
          return [errorOutcome(key, 0, 1, error)];
        },
      );
    }
  }

  /** An abort published by a client: the job's task is aborted if it runs here. */
  abortMessage(bytes: Buffer): void {
    let jobId: string;
    try {
      jobId = decodeAbort(bytes).jobId;
    } catch {
      return;
    }
    const controller = this.#abortable.get(jobId);
    if (controller !== undefined) return abortWith(controller, bytes);
    this.#abortableItems.get(jobId)?.(abortReason(bytes));
  }

  /**
   * Hands items `first .. end` of a job to the local pool; a pool an earlier job broke is replaced
   * first. Answers how to cancel them (see `MapSink.submit`), unless they failed at once.
   */
  #submitItems(data: JobData, items: unknown[], first: number, end: number, receiver: RangeReceiver): ((reason?: unknown) => void) | undefined {
    for (let attempt = 0; ; attempt++) {
      const pool = this.#pool;
      try {
        // A chunk of a map with a signal may be aborted by its client (see `abortMessage`): stoppable.
        return this.#sink(data.f).submit(items.slice(first, end), data.s === 1, first, data.m === 1 ? 'auto' : 1, receiver, data.m === 1 && data.p === 1);
      } catch (error) {
        if (error instanceof BrokenExecutor && attempt === 0) {
          this.#replacePool(pool);
          continue;
        }
        receiver.deliver(first, end - first, { values: [], failAll: { error } });
        return undefined;
      }
    }
  }

  /** Tells the client of a job BullMQ failed that its items failed. */
  failed(data: JobData, error: Error): Promise<void> {
    const { c: client, k: key, n: count } = data;
    if (/stalled more than allowable limit/.test(error.message)) {
      const message = `the worker hosts running this job died (or lost Redis) more often than BullMQ's stalled-job limit allows: ${error.message}`;
      return this.outbox.send(client, [[key, 0, count, 2, message]]);
    }
    return this.outbox.send(client, [errorOutcome(key, 0, count, error)]);
  }

  /** Why this host will not run `descriptorText`, or `undefined`. A refused module is never imported. */
  #refusal(descriptorText: string): TypeError | undefined {
    if (this.#refusals.has(descriptorText)) return this.#refusals.get(descriptorText);
    const refusal = this.#readRefusal(descriptorText);
    if (this.#refusals.size >= 1000) this.#refusals.clear();
    this.#refusals.set(descriptorText, refusal);
    return refusal;
  }

  #readRefusal(descriptorText: string): TypeError | undefined {
    let descriptor: TaskDescriptor;
    try {
      descriptor = readDescriptor(descriptorText);
    } catch {
      return new TypeError('the job names its task function in a form this host cannot read');
    }
    if ('module' in descriptor) {
      const allowed = this.config.modules;
      if (allowed !== undefined && !allowed.has(normalizeModule(descriptor.module))) {
        return new TypeError(`this worker host does not run the module ${descriptor.module}: it is not in the host's modules (--module) list`);
      }
      return undefined;
    }
    if (this.config.onlyTasks) {
      const what = 'source' in descriptor ? `a function sent by its source text (${descriptor.name || 'anonymous'})` : `the built-in ${descriptor.path}`;
      return new TypeError(`this worker host runs task() module exports only (only: 'tasks' / --only-tasks); it refuses ${what}`);
    }
    return undefined;
  }

  /** The items of a job of several tasks that their client cancelled before it started. */
  /** Whether the client aborted job `jobId` before this host took it (see `abortedKey`); a Redis that does not answer says no. */
  async #abortedBefore(jobId: string): Promise<boolean> {
    try {
      return (await this.redis.exists(abortedKey(this.config.queue, jobId))) === 1;
    } catch {
      return false;
    }
  }

  async #cancelledItems(jobId: string): Promise<Set<number>> {
    const members = await this.redis.smembers(cancelledKey(this.config.queue, jobId));
    return new Set(members.map(Number));
  }

  #sink(descriptor: string): MapSink {
    let sink = this.#sinks.get(descriptor);
    if (sink === undefined) {
      sink = this.#pool._mapSink(taskFromDescriptor(descriptor));
      this.#sinks.set(descriptor, sink);
    }
    return sink;
  }

  /** Replaces the local pool `broken`, unless that was done already. */
  #replacePool(broken: Executor): void {
    if (this.#pool !== broken) return;
    this.#pool = this.#newPool();
    this.#sinks.clear();
    broken.shutdown({ wait: false }).catch(() => {});
  }

  async close(): Promise<void> {
    await this.#pool.shutdown({ wait: true });
    await this.outbox.idle();
  }
}

/** Aborts `controller` with the reason an abort message carries (once: a second abort is a no-op). */
function abortWith(controller: AbortController, bytes: Buffer): void {
  if (!controller.signal.aborted) controller.abort(abortReason(bytes));
}

/** The reason an abort message carries (what decoding it threw, if it could not be). */
function abortReason(bytes: Buffer): unknown {
  try {
    return decodeAbort(bytes).reason;
  } catch (error) {
    return error;
  }
}

/**
 * A message as bytes; should it not encode (`valueOutcomes` checks each value first, so this is a
 * last resort), each of its outcomes fails with why, rather than the host.
 */
function encodeSafely(message: Message): Buffer {
  try {
    return encodeMessage(message);
  } catch (error) {
    const failed = (message.o ?? []).map(([key, first, count]) => errorOutcome(key, first, count, error));
    return encodeMessage({ ...message, o: failed });
  }
}

/** Ranges `[first, end)` of `0 .. count` without the indices in `skip`. */
function* runsWithout(count: number, skip: Set<number>): Generator<[number, number]> {
  for (let i = 0; i < count; ) {
    while (i < count && skip.has(i)) i++;
    let end = i;
    while (end < count && !skip.has(end)) end++;
    if (end > i) yield [i, end];
    i = end;
  }
}

/** The outcomes of a delivered range: the failed items alone, the runs of values between them. */
function outcomesOf(key: number, first: number, count: number, results: ChunkResults): Outcome[] {
  if (results.failAll !== undefined) return [errorOutcome(key, first, count, results.failAll.error)];
  const errors = results.errors;
  if (errors === undefined || errors.size === 0) return valueOutcomes(key, first, results.values.slice(0, count));
  const out: Outcome[] = [];
  let run = 0;
  for (let i = 0; i <= count; i++) {
    if (i < count && !errors.has(i)) continue;
    if (i > run) out.push(...valueOutcomes(key, first + run, results.values.slice(run, i)));
    if (i < count) out.push(errorOutcome(key, first + i, 1, errors.get(i)));
    run = i + 1;
  }
  return out;
}

/**
 * @internal
 * The messages for clients, gathered for the rest of the current turn of the event loop and pushed
 * in one round trip; a push that fails (Redis away) is retried until it succeeds.
 */
export class Outbox {
  #pending = new Map<string, Message>();
  #next: { promise: Promise<void>; resolve: () => void } | undefined;
  #pushing: Promise<void> = Promise.resolve();
  #startTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly queue: string,
    /** How long a start notice waits for its job's outcomes (ms). */
    private readonly noticeMs = START_NOTICE_MS,
  ) {}

  /**
   * Job `key` has started. Said a moment later (`noticeMs`), or with the job's first outcomes
   * when they come by then: a short task then costs its client one message, not two.
   */
  started(client: string, key: number): void {
    (this.#message(client).s ??= []).push(key);
    if (this.#startTimer === undefined) this.#startNoticeAt(performance.now() + this.noticeMs);
  }

  /**
   * Sends the start notices waiting at `due` (`performance.now()`), unless their job's outcomes
   * take them first. A timer may fire early: Node counts it from the event loop's clock, in whole
   * milliseconds and as last read, and a 1 ms timer set in a socket's callback (a job starts on
   * a reply from Redis) fired before 1 ms had passed in nearly every try. So it is set again for
   * the rest; else a task of a few hundred µs would often cost its client two messages, and two
   * wake-ups.
   */
  #startNoticeAt(due: number): void {
    this.#startTimer = setTimeout(() => {
      this.#startTimer = undefined;
      if (performance.now() < due) this.#startNoticeAt(due);
      else if (this.#pending.size > 0) void this.#scheduled();
    }, Math.max(1, Math.ceil(due - performance.now())));
  }

  /** Resolves once `outcomes` are in the client's results list. */
  send(client: string, outcomes: Outcome[]): Promise<void> {
    const message = this.#message(client);
    (message.o ??= []).push(...outcomes);
    return this.#scheduled();
  }

  idle(): Promise<void> {
    if (this.#pending.size > 0) return this.#scheduled();
    return this.#next?.promise ?? this.#pushing;
  }

  #message(client: string): Message {
    let message = this.#pending.get(client);
    if (message === undefined) this.#pending.set(client, (message = {}));
    return message;
  }

  #scheduled(): Promise<void> {
    if (this.#next !== undefined) return this.#next.promise;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#next = { promise, resolve };
    // At the end of this job of the event loop: the outcomes a pool's drain delivered together go together.
    queueMicrotask(() => {
      const next = this.#next!;
      this.#next = undefined;
      const batch = this.#pending;
      this.#pending = new Map();
      // The start notices waiting go with this batch: their timer would wake the host for nothing.
      if (this.#startTimer !== undefined) {
        clearTimeout(this.#startTimer);
        this.#startTimer = undefined;
      }
      // Pushes go out in order on one connection (a client reads a job's start before its
      // outcomes) without waiting for the one before.
      this.#pushing = this.#push(batch).then(next.resolve);
    });
    return promise;
  }

  async #push(batch: Map<string, Message>): Promise<void> {
    for (;;) {
      const pipeline = this.redis.pipeline();
      for (const [client, message] of batch) {
        const key = resultsKey(this.queue, client);
        pipeline.rpush(key, encodeSafely(message)).pexpire(key, RESULTS_TTL_MS);
      }
      try {
        await pipeline.exec();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, RETRY_PUSH_MS));
      }
    }
  }
}

/**
 * `DistributedExecutor`: the executor contract over BullMQ on Redis. Tasks become BullMQ jobs;
 * worker hosts (`host.ts`) run them on local pools and push each outcome to this client's own
 * results list, which one blocking connection drains in batches.
 *
 * Submits made in the same tick go in one `addBulk`; when there are many, consecutive ones of
 * the same function share a job (up to `MAX_TASKS_PER_JOB`), which is what lets 20,000 tiny tasks
 * cost a few hundred jobs. A `map` is cut into chunks, one job each.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

import { watchAbort } from '../api/abort-watch.js';
import { CancelledError, FuturesError, ShutdownError, TimeoutError, WorkerCrashedError } from '../api/errors.js';
import { Executor, parseRun, type ShutdownOptions, type TaskOptions } from '../api/executor.js';
import { Future, MAX_TIMER_MS } from '../api/future.js';
import { hasMovedArgument } from '../api/transfer.js';
import type { ChunkResults, MapSink, RangeReceiver } from '../api/map.js';
import { checkKnownKeys } from '../api/option-keys.js';
import { checkWorkerScope, describeTask, type TaskFn } from '../api/task.js';
import { serialize } from '../wire/clone.js';
import { snapshot } from '../wire/snapshot.js';
import { checkConnection, connect, describeConnection, ProcessHold } from './connection.js';
import type { Connection } from './connection-options.js';
import { abortChannel, abortedKey, cancelledKey, DEFAULT_QUEUE, decodeMessage, encodeAbort, encodeItems, type JobData, type Message, type Outcome, PROTOCOL_VERSION, PREFIX, rebuildOutcomeError, RESULTS_TTL_MS, resultsKey, sharedMemoryRefused } from './protocol.js';
import { randomUUID } from 'node:crypto';

export interface DistributedExecutorOptions {
  /** A `redis://` / `rediss://` URL, or ioredis options (AUTH, TLS and the rest pass through). */
  connection: Connection;
  /** The BullMQ queue; default `'concurrent-futures'`, as the worker hosts'. */
  queue?: string | undefined;
}

/** Per-task options of `run` on a `DistributedExecutor`. */
export interface DistributedTaskOptions extends TaskOptions {
  /**
   * Aborting it cancels the task while it waits (its job is removed); while it runs, the task's
   * own signal fires on its host, which stops it `abortGrace` later if it still runs.
   */
  signal?: AbortSignal | undefined;
  /** Milliseconds of run time, counted by the host from the moment it starts the task: then as `signal`, with a `TimeoutError`. */
  timeout?: number | undefined;
}

/** At most this many submitted tasks share a job. */
const MAX_TASKS_PER_JOB = 64;
/** A tick's submits share jobs only past this many: a few tasks go one job each, spread over the hosts. */
const GROUP_FROM = 128;
/** A `map` chunk of `'auto'` size holds at most this many items. */
const MAX_AUTO_CHUNK = 4096;
/** How long the first command waits for the first connection before its futures fail. */
const FIRST_CONNECT_MS = 10_000;
/** Messages drained per blocking read. */
const READ_BATCH = 1000;
/**
 * A task stopped by its signal or timeout whose outcome has not come this long after (its host
 * gone, and no other host to take its job): its future fails on this side. A live host says the
 * outcome within its pool's `abortGrace` (100 ms) of the abort.
 */
const STOP_SAFETY_MS = 30_000;

const ok = (): void => {};

/** A submitted task until it is sent: its function, arguments read once, and future. */
interface Unsent {
  descriptor: string;
  /** The arguments as read at submit: a copy JSON carries exactly (`json`), */
  args: unknown[];
  json: boolean;
  /** else their structured-clone bytes (base64), written at submit: a snapshot, as locally. */
  encoded: string | undefined;
  future: Future<unknown>;
  /** A `run` with options: a job of its own. */
  alone: boolean;
  timeout: number | undefined;
  /** A `run` with a signal: its host listens for aborts. */
  abortable: boolean;
  /** Cancelled before it was sent: left out of the flush. */
  cancelled: boolean;
}

/** Where a task is: not sent yet, or item `index` of `job`. */
interface TaskPlace {
  unsent?: Unsent;
  job?: SentJob;
  index: number;
}

/** A job this client has queued, until each of its items has its outcome (or is given up). */
class SentJob {
  readonly id: string;
  started = false;
  /** Its client aborted its running task (`run`'s signal), with this reason. */
  aborted = false;
  abortReason: unknown;
  /** Settles once the `add` that queues it has (set when it is sent). */
  added: Promise<unknown> | undefined;
  /** Items not yet settled. */
  left: number;
  readonly #settled: Uint8Array;

  constructor(
    client: string,
    readonly key: number,
    readonly data: JobData,
    /** A `submit` job: one future per item, */
    readonly futures: Array<Future<unknown>> | undefined,
    /** a `map` chunk: where its items' outcomes go. */
    readonly map: { receiver: RangeReceiver; offset: number } | undefined,
    /** For a `run` with a timeout: milliseconds of run time. */
    readonly timeout: number | undefined,
  ) {
    this.id = `${client}-${key}`;
    this.left = data.n;
    this.#settled = new Uint8Array(data.n);
  }

  /** Marks item `index` settled; `false` if it already was (an outcome that came twice). */
  settle(index: number): boolean {
    if (this.#settled[index] === 1) return false;
    this.#settled[index] = 1;
    this.left--;
    return true;
  }

  isSettled(index: number): boolean {
    return this.#settled[index] === 1;
  }
}

/**
 * Python's `Executor` over BullMQ: `submit`, `run`, `map`, `shutdown`, with futures that mix with
 * local ones in `wait` and `asCompleted`. Tasks run at least once (a host that dies mid-task has
 * its jobs handed to another): they should be idempotent.
 */
export class DistributedExecutor extends Executor {
  readonly queueName: string;
  readonly #client = randomUUID();
  readonly #redis: Redis;
  /** Dedicated to the blocking reads of the results list. */
  readonly #reader: Redis;
  readonly #hold: ProcessHold;
  #queue: Queue | undefined;
  #everReady = false;
  #nextTaskId = 1;
  #nextKey = 1;
  /** Tasks submitted in this tick, sent at its end. */
  #unsent: Unsent[] = [];
  /** Of those, the ones not cancelled. */
  #unsentLive = 0;
  #flushQueued = false;
  /** Chunks of `map` runs made in this tick, sent with the tasks. */
  #unsentChunks: SentJob[] = [];
  readonly #tasks = new Map<number, TaskPlace>();
  readonly #jobs = new Map<number, SentJob>();
  readonly #timers = new Map<number, NodeJS.Timeout>();
  #reading = false;
  #shutdown = false;
  /** Shutdown's wait: resolves once nothing is pending and the connections are closed. */
  #closed: Promise<void> | undefined;
  #disconnected = false;
  readonly #withdrawals = new Set<Promise<void>>();
  #idleWaiters: Array<() => void> = [];

  constructor(options: DistributedExecutorOptions) {
    super();
    if (typeof options !== 'object' || options === null) throw new TypeError('DistributedExecutor: options must be an object with a connection');
    checkKnownKeys('DistributedExecutor', options, ['connection', 'queue']);
    const connection = checkConnection('DistributedExecutor', options.connection);
    const queue = options.queue ?? DEFAULT_QUEUE;
    if (typeof queue !== 'string' || queue === '' || queue.includes(':')) throw new TypeError(`DistributedExecutor: queue must be a non-empty string without ':', got ${String(queue)}`);
    this.queueName = queue;
    // Connected on first use; a command never waits in ioredis' offline queue (see `#whenConnected`).
    this.#redis = connect(connection, { lazyConnect: true, maxRetriesPerRequest: null });
    this.#reader = connect(connection, { lazyConnect: true, maxRetriesPerRequest: null });
    this.#redis.on('ready', () => (this.#everReady = true));
    // Errors are reported to the futures they concern; a connection's own 'error' events would
    // otherwise be printed by ioredis while it reconnects.
    this.#redis.on('error', ok);
    this.#reader.on('error', ok);
    this.#hold = new ProcessHold([this.#redis, this.#reader]);
    this.#hold.set(false);
  }

  override submit<A extends unknown[], R>(fn: TaskFn<A, R>, ...args: A): Future<Awaited<R>> {
    // An argument wrapped in `move()` is unwrapped as `run` does it (and copied: nothing moves across machines).
    if (hasMovedArgument(args)) return this.run(fn, args);
    return this.#submit(fn, args, 'submit()', undefined, undefined);
  }

  /**
   * `submit(fn, ...args)` with per-task options: `signal`, `timeout` (see `DistributedTaskOptions`).
   * `transfer` and `move()` are accepted and copy, as for a process pool: memory cannot move to
   * another machine.
   */
  override run<A extends unknown[], R>(fn: TaskFn<A, R>, args: A, options: DistributedTaskOptions = {}): Future<Awaited<R>> {
    const { args: unwrapped, signal, timeout } = parseRun(args, options);
    return this.#submit(fn, unwrapped, 'run()', signal, timeout);
  }

  #submit<R>(fn: TaskFn<any[], R>, args: unknown[], what: string, signal: AbortSignal | undefined, timeout: number | undefined): Future<Awaited<R>> {
    this._checkOpen();
    const descriptor = this.#describe(fn, what);
    const read = this.#readArguments(args);
    const future = new Future<Awaited<R>>();
    if (signal?.aborted) {
      future._cancelBecause(signal.reason);
      return future;
    }
    const id = this.#nextTaskId++;
    future._id = id;
    future._link = this;
    // A timeout past what a timer can count means none, as on a local pool.
    if (timeout !== undefined && timeout > MAX_TIMER_MS) timeout = undefined;
    const unsent: Unsent = { descriptor, args: read.value as unknown[], json: read.json, encoded: read.encoded, future: future as Future<unknown>, alone: signal !== undefined || timeout !== undefined, timeout, abortable: signal !== undefined, cancelled: false };
    this.#tasks.set(id, { unsent, index: 0 });
    this.#unsent.push(unsent);
    this.#unsentLive++;
    if (signal !== undefined) this.#watch(id, future as Future<unknown>, signal);
    this.#queueFlush();
    return future;
  }

  /** The task function's descriptor; throws `TypeError` for what cannot be sent. */
  #describe(fn: unknown, what: string): string {
    const described = describeTask(fn, what);
    checkWorkerScope(described, what, []);
    return described.descriptor;
  }

  /**
   * Reads the arguments once, as structured clone does, now: a copy when JSON carries them, else
   * their bytes (what cannot be cloned throws here, as a local pool's `submit` does; shared
   * memory cannot leave this machine).
   */
  #readArguments(args: unknown[]): { value: unknown; json: boolean; encoded: string | undefined } {
    try {
      const read = snapshot(args, undefined, 1, 'arguments');
      if (read.json) return { value: read.value, json: true, encoded: undefined };
      return { value: undefined, json: false, encoded: serialize(read.value, undefined).toString('base64') };
    } catch (error) {
      throw sharedMemoryRefused(error);
    }
  }

  /**
   * An abort while the task waits cancels it (its job is removed); while it runs, reaches the
   * task on its host, whose outcome then settles the future. Either way the abort is published:
   * a host may have taken the job since it last said so.
   */
  #watch(id: number, future: Future<unknown>, signal: AbortSignal): void {
    const abort = (reason: unknown): void => {
      const place = this.#tasks.get(id);
      if (place === undefined) return;
      const job = place.job;
      if (job?.started) this.#abortRunning(id, job, reason);
      else future._cancelBecause(reason); // through `_cancelRecord`, with the reason as its cause
      if (job !== undefined) this.#publishAbort(job, reason);
    };
    future.addDoneCallback(watchAbort(signal, { abort }));
  }

  /** @internal */
  override _checkOpen(): void {
    if (this.#shutdown) throw new ShutdownError('cannot schedule new futures after shutdown');
  }

  /** @internal `Future.cancel()`: succeeds while the host has not started the task's job. */
  _cancelRecord(id: number): boolean {
    const place = this.#tasks.get(id);
    if (place === undefined) return false;
    if (place.job?.started) return false;
    this.#cancelTask(id, place);
    return true;
  }

  /** @internal `Future.running()`: a host has started the task's job. */
  _recordStarted(id: number): boolean {
    return this.#tasks.get(id)?.job?.started === true;
  }

  #cancelTask(id: number, place: TaskPlace): void {
    this.#tasks.delete(id);
    if (place.unsent !== undefined) {
      place.unsent.cancelled = true;
      this.#unsentLive--;
      place.unsent.future._markCancelled();
      this.#checkIdle();
      return;
    }
    const job = place.job!;
    job.futures![place.index]!._markCancelled();
    job.settle(place.index);
    this.#withdraw(job, place.index);
  }

  /**
   * The running task of `job` is aborted: its host aborts the task's own signal and says its
   * outcome. Should none come (the host gone, no other to take the job), the future fails after
   * `STOP_SAFETY_MS` with the reason.
   */
  #abortRunning(id: number, job: SentJob, reason: unknown): void {
    job.aborted = true;
    job.abortReason = reason;
    this.#setTimer(job, STOP_SAFETY_MS, () => this.#giveUp(id, { job, index: 0 }, reason));
  }

  /**
   * Tells the hosts that `job`'s tasks are aborted: published, and kept for a host that takes the
   * job later (a `run`'s; a map's chunk too, whose removal fails once a host holds it).
   */
  #publishAbort(job: SentJob, reason: unknown): void {
    const bytes = encodeAbort(job.id, reason);
    const channel = abortChannel(this.queueName);
    const key = abortedKey(this.queueName, job.id);
    this.#track(this.#redis.multi().set(key, bytes, 'PX', RESULTS_TTL_MS).publish(channel, bytes).exec());
  }

  #setTimer(job: SentJob, ms: number, fire: () => void): void {
    const key = job.key;
    const previous = this.#timers.get(key);
    if (previous !== undefined) clearTimeout(previous);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      if (this.#jobs.get(key) === job) fire();
    }, ms);
    // A safety net only: it never keeps the process alive by itself (the pending job's connection does).
    timer.unref();
    this.#timers.set(key, timer);
  }

  /** The task may still run on its host, but its future fails now; its outcome will be dropped. */
  #giveUp(id: number, place: TaskPlace, error: unknown): void {
    this.#tasks.delete(id);
    const job = place.job!;
    if (job.settle(place.index)) job.futures![place.index]!._finish(false, error);
    if (job.left === 0) this.#forget(job);
  }

  /**
   * Item `index` of `job` is cancelled: the job leaves the queue once none of its items is wanted;
   * until then a host skips the cancelled ones (`cancelledKey`).
   */
  #withdraw(job: SentJob, index: number): void {
    if (job.left === 0) {
      this.#forget(job);
      this.#remove(job);
    } else if (job.data.n > 1) {
      const key = cancelledKey(this.queueName, job.id);
      this.#track(this.#redis.multi().sadd(key, index).pexpire(key, 86_400_000).exec());
    }
  }

  /**
   * Takes `job` out of the queue if no host has taken it, once its `add` is done (a cancel may
   * come while the add is on its way: removing first would remove nothing).
   */
  #remove(job: SentJob): void {
    if (job.added === undefined) return;
    this.#track(job.added.then(() => this.#queue?.remove(job.id)));
  }

  /** A withdrawal still on its way to Redis: the connections close only after it (see `#close`). */
  #track(command: Promise<unknown>): void {
    const settled = command.then(ok, ok);
    this.#withdrawals.add(settled);
    void settled.then(() => this.#withdrawals.delete(settled));
  }

  #forget(job: SentJob): void {
    this.#jobs.delete(job.key);
    const timer = this.#timers.get(job.key);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(job.key);
    this.#checkIdle();
  }

  /** @internal */
  override _mapSink(fn: TaskFn<any[], unknown>): MapSink {
    const descriptor = this.#describe(fn, 'map()');
    return {
      submit: (items, spread, offset, chunksize, receiver, stoppable) => {
        this._checkOpen();
        const size = chunksize === 'auto' ? Math.min(MAX_AUTO_CHUNK, Math.max(1, Math.ceil(items.length / 64))) : chunksize;
        const chunks: SentJob[] = [];
        for (let start = 0; start < items.length; start += size) {
          const slice = items.slice(start, start + size);
          let encoded: Pick<JobData, 'a' | 'b'>;
          try {
            encoded = encodeItems(slice, spread);
          } catch (error) {
            // This item's `next()` throws; the run ends there, so nothing after it goes.
            const refused = sharedMemoryRefused(error);
            this.#sendChunksUpTo(chunks, slice, start, spread, descriptor, offset, receiver, refused, stoppable);
            return (reason) => this.#cancelChunks(chunks, reason);
          }
          chunks.push(this.#chunk(descriptor, slice.length, spread, encoded, offset + start, receiver, stoppable));
        }
        this.#unsentChunks.push(...chunks);
        this.#queueFlush();
        return (reason) => this.#cancelChunks(chunks, reason);
      },
    };
  }

  /** A chunk that cannot travel whole: its items up to the one refused go one job each, that one fails. */
  #sendChunksUpTo(chunks: SentJob[], slice: unknown[], start: number, spread: boolean, descriptor: string, offset: number, receiver: RangeReceiver, refused: unknown, stoppable: boolean): void {
    for (let i = 0; i < slice.length; i++) {
      try {
        chunks.push(this.#chunk(descriptor, 1, spread, encodeItems([slice[i]], spread), offset + start + i, receiver, stoppable));
      } catch (error) {
        receiver.deliver(offset + start + i, 1, { values: [], failAll: { error: sharedMemoryRefused(error) ?? refused } });
        break;
      }
    }
    this.#unsentChunks.push(...chunks);
    this.#queueFlush();
  }

  /** `stoppable`: the map run has a signal (see `JobData.p`). */
  #chunk(descriptor: string, n: number, spread: boolean, encoded: Pick<JobData, 'a' | 'b'>, offset: number, receiver: RangeReceiver, stoppable: boolean): SentJob {
    const key = this.#nextKey++;
    const data: JobData = { v: PROTOCOL_VERSION, c: this.#client, k: key, f: descriptor, s: spread ? 1 : 0, m: 1, n, ...encoded };
    if (stoppable) data.p = 1;
    const job = new SentJob(this.#client, key, data, undefined, { receiver, offset }, undefined);
    this.#jobs.set(key, job);
    this.#checkIdle();
    return job;
  }

  /**
   * A map run ended: its chunks not started leave the queue; outcomes of the others are dropped.
   * Ended by its signal (`reason`), the hosts are told too: the items they run see their own
   * signal fire, as on a local pool (a chunk this client has not heard started may be running).
   */
  #cancelChunks(chunks: SentJob[], reason?: unknown): void {
    const sent: SentJob[] = [];
    for (const job of chunks) {
      if (!this.#jobs.has(job.key)) continue;
      const unsent = this.#unsentChunks.indexOf(job);
      if (unsent !== -1) this.#unsentChunks.splice(unsent, 1);
      this.#forget(job);
      if (unsent !== -1) continue;
      if (!job.started) this.#remove(job);
      sent.push(job);
    }
    if (reason === undefined) return;
    // The last chunks first: a host that runs an early chunk and holds later ones hears of those
    // before the early one ends, so that its worker never starts them in between. Kept too: a
    // host may take a chunk after its abort was published (its removal fails once a host holds it).
    for (let i = sent.length - 1; i >= 0; i--) this.#publishAbort(sent[i]!, reason);
  }

  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    this.#hold.set(true);
    queueMicrotask(() => {
      this.#flushQueued = false;
      this.#flush();
    });
  }

  /** Sends this tick's tasks and chunks in one `addBulk`. */
  #flush(): void {
    const jobs = this.#groupTasks(this.#unsentLive === this.#unsent.length ? this.#unsent : this.#unsent.filter((t) => !t.cancelled));
    this.#unsent = [];
    this.#unsentLive = 0;
    jobs.push(...this.#unsentChunks);
    this.#unsentChunks = [];
    if (jobs.length === 0) return this.#checkIdle();
    this.#ensureReading();
    const added = this.#send(jobs);
    for (const job of jobs) job.added = added;
    added.catch((error: unknown) => this.#failUnsent(jobs, error));
  }

  /** This tick's tasks as jobs: one each when few, else consecutive ones of a function together. */
  #groupTasks(tasks: Unsent[]): SentJob[] {
    const jobs: SentJob[] = [];
    const perJob = tasks.length < GROUP_FROM ? 1 : Math.min(MAX_TASKS_PER_JOB, Math.floor(tasks.length / GROUP_FROM) + 1);
    for (let i = 0; i < tasks.length; ) {
      const first = tasks[i]!;
      let end = i + 1;
      if (!first.alone) {
        while (end < tasks.length && end - i < perJob && !tasks[end]!.alone && tasks[end]!.descriptor === first.descriptor) end++;
      }
      jobs.push(this.#taskJob(tasks.slice(i, end)));
      i = end;
    }
    return jobs;
  }

  #taskJob(tasks: Unsent[]): SentJob {
    const key = this.#nextKey++;
    // Each task's arguments as read at submit: together as JSON, else each as its bytes.
    const encoded = tasks.every((t) => t.json) ? { a: tasks.map((t) => t.args) } : { e: tasks.map((t) => t.encoded ?? serialize(t.args, undefined).toString('base64')) };
    const data: JobData = { v: PROTOCOL_VERSION, c: this.#client, k: key, f: tasks[0]!.descriptor, s: 1, m: 0, n: tasks.length, ...encoded };
    const first = tasks[0]!;
    if (first.timeout !== undefined) data.t = first.timeout;
    if (first.abortable) data.x = 1;
    const futures = tasks.map((t) => t.future);
    const job = new SentJob(this.#client, key, data, futures, undefined, tasks[0]!.timeout);
    futures.forEach((future, index) => this.#tasks.set(future._id, { job, index }));
    this.#jobs.set(key, job);
    return job;
  }

  async #send(jobs: SentJob[]): Promise<void> {
    await this.#whenConnected();
    if (this.#queue === undefined) {
      this.#queue = new Queue(this.queueName, { connection: this.#redis, prefix: PREFIX });
      this.#queue.on('error', ok); // said to the futures concerned (`#failUnsent`)
    }
    const opts = (job: SentJob) => ({ jobId: job.id, removeOnComplete: true, removeOnFail: true });
    // One job alone (one-at-a-time use): `add` is one script call, `addBulk` a transaction around it.
    if (jobs.length === 1) await this.#queue.add('cf', jobs[0]!.data, opts(jobs[0]!));
    else await this.#queue.addBulk(jobs.map((job) => ({ name: 'cf', data: job.data, opts: opts(job) })));
  }

  /**
   * Resolves once connected. The first connection is waited for (up to `FIRST_CONNECT_MS`);
   * after that, a lost connection fails the command at once rather than queueing it unseen.
   */
  async #whenConnected(): Promise<void> {
    const redis = this.#redis;
    if (redis.status === 'ready') return;
    if (redis.status === 'wait') redis.connect().catch(ok);
    if (this.#everReady) throw new Error(`the connection is ${redis.status}`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`not connected within ${FIRST_CONNECT_MS} ms`)), FIRST_CONNECT_MS);
      const onReady = (): void => done(undefined);
      // The first attempt failing (refused, unknown host, bad password) fails the command now.
      const onError = (error: Error): void => done(error);
      const done = (error: Error | undefined): void => {
        clearTimeout(timer);
        redis.off('ready', onReady);
        redis.off('error', onError);
        if (error === undefined) resolve();
        else reject(error);
      };
      redis.on('ready', onReady);
      redis.on('error', onError);
    });
  }

  /** Jobs that could not be queued: each item not settled otherwise fails with why. */
  #failUnsent(jobs: SentJob[], cause: unknown): void {
    const why = cause instanceof Error ? cause.message : String(cause);
    const error = new FuturesError(`could not queue the task: ${describeConnection(this.#redis)} is unreachable (${why}); nothing was queued for it`, { cause });
    for (const job of jobs) {
      if (!this.#jobs.has(job.key)) continue;
      this.#settleRange(job, 0, job.data.n, { values: [], failAll: { error } });
    }
  }

  #ensureReading(): void {
    if (this.#reading) return;
    this.#reading = true;
    this.#read().finally(() => {
      this.#reading = false;
      if (this.#jobs.size > 0 && !this.#disconnected) this.#ensureReading();
    });
  }

  /**
   * Drains the results list while jobs are out, a batch of messages per read. A read is sent
   * after the jobs of the current tick (a `setImmediate` later): its command would otherwise be
   * written first and delay theirs (a socket write costs tens of µs on a small VM), which a
   * caller going one task at a time pays on every round trip.
   */
  async #read(): Promise<void> {
    const key = resultsKey(this.queueName, this.#client);
    await new Promise(setImmediate);
    while (this.#jobs.size > 0 && !this.#disconnected) {
      let reply: [Buffer, Buffer[]] | null;
      try {
        if (this.#reader.status === 'wait') await this.#reader.connect();
        reply = await this.#reader.blmpopBuffer(1, 1, key, 'LEFT', 'COUNT', READ_BATCH);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      if (reply === null) continue;
      for (const bytes of reply[1]) this.#receive(decodeMessage(bytes));
      // Nothing left out: a caller going one task at a time submits the next at once, in the
      // microtasks of the futures just settled; its job goes first (see above).
      if (this.#jobs.size === 0) await new Promise(setImmediate);
    }
  }

  #receive(message: Message): void {
    if (message.s !== undefined) for (const key of message.s) this.#started(key);
    if (message.o !== undefined) for (const outcome of message.o) this.#outcome(outcome);
  }

  #started(key: number): void {
    const job = this.#jobs.get(key);
    if (job === undefined) return;
    job.started = true;
    // The host counts the timeout and stops the task. Should its outcome not come (the host gone,
    // no other to take the job), the future fails this much later. A host that takes the job again
    // says so: the count restarts, as the host's does.
    const timeout = job.timeout;
    if (timeout !== undefined && !job.aborted && timeout + STOP_SAFETY_MS <= MAX_TIMER_MS) {
      this.#setTimer(job, timeout + STOP_SAFETY_MS, () => {
        const future = job.futures?.[0];
        if (future === undefined || future.done()) return;
        const error = new TimeoutError(`the task ran for more than its timeout of ${timeout} ms, and its host has not said its outcome ${STOP_SAFETY_MS} ms later (it may still be running there)`);
        this.#giveUp(future._id, { job, index: 0 }, error);
      });
    }
  }

  #outcome(outcome: Outcome): void {
    const [key, first, count] = outcome;
    const job = this.#jobs.get(key);
    if (job === undefined) return;
    job.started = true;
    const results: ChunkResults = outcome[3] === 1 ? { values: outcome[4] } : { values: [], failAll: { error: outcomeError(job, outcome) } };
    this.#settleRange(job, first, count, results);
  }

  /** Items `first .. first + count` of `job` have these outcomes; items already settled keep theirs. */
  #settleRange(job: SentJob, first: number, count: number, results: ChunkResults): void {
    if (job.map !== undefined) {
      const { receiver, offset } = job.map;
      for (let i = 0; i < count; i++) {
        // Runs of items not yet settled (an outcome may come twice: a job re-run after its host died).
        if (!job.settle(first + i)) continue;
        let end = i + 1;
        while (end < count && job.settle(first + end)) end++;
        const slice: ChunkResults = results.failAll !== undefined ? { values: [], failAll: results.failAll } : { values: results.values.slice(i, end) };
        receiver.deliver(offset + first + i, end - i, slice);
        i = end - 1;
      }
    } else {
      for (let i = first; i < first + count; i++) {
        if (!job.settle(i)) continue;
        const future = job.futures![i]!;
        this.#tasks.delete(future._id);
        if (results.failAll !== undefined) future._finish(false, results.failAll.error);
        else future._finish(true, results.values[i - first]);
      }
    }
    if (job.left === 0) this.#forget(job);
  }

  #checkIdle(): void {
    const idle = this.#jobs.size === 0 && this.#unsentLive === 0 && this.#unsentChunks.length === 0;
    this.#hold.set(!idle);
    if (idle && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  #whenIdle(): Promise<void> {
    if (this.#jobs.size === 0 && this.#unsentLive === 0 && this.#unsentChunks.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Python's `shutdown`: no new tasks; with `cancelFutures`, every task not started is cancelled
   * (its job removed); with `wait`, resolves once every queued and running task has its outcome.
   * The connections close once nothing is pending.
   */
  override async shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (typeof options !== 'object' || options === null) throw new TypeError('shutdown(): options must be an object');
    checkKnownKeys('shutdown()', options, ['wait', 'cancelFutures']);
    const { wait = true, cancelFutures = false } = options;
    this.#shutdown = true;
    if (cancelFutures) this.#cancelNotStarted();
    this.#closed ??= this.#whenIdle().then(() => this.#close());
    if (wait) await this.#closed;
  }

  #cancelNotStarted(): void {
    for (const [id, place] of [...this.#tasks]) if (!place.job?.started) this.#cancelTask(id, place);
    for (const job of [...this.#jobs.values()]) {
      if (job.map === undefined || job.started) continue;
      this.#settleRange(job, 0, job.data.n, { values: [], failAll: { error: new CancelledError() } });
      this.#remove(job);
    }
  }

  async #close(): Promise<void> {
    this.#disconnected = true;
    // The connections of an idle executor do not keep the process alive: without this timer, a
    // process whose last step is `await ex.shutdown()` could end while the replies are on their
    // way (Node then exits with code 13, an unsettled top-level await). Bounded, should Redis not
    // answer: the connections are then dropped, and `shutdown()` resolves all the same.
    let keepAlive: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (keepAlive = setTimeout(resolve, CLOSE_KEEPALIVE_MS)));
    try {
      await Promise.race([this.#closeConnections(), bound]);
    } finally {
      clearTimeout(keepAlive);
      this.#reader.disconnect();
      if (this.#redis.status !== 'end') this.#redis.disconnect();
    }
  }

  async #closeConnections(): Promise<void> {
    await Promise.all(this.#withdrawals);
    await this.#queue?.close().catch(ok);
    this.#reader.disconnect();
    if (this.#redis.status === 'ready') await this.#redis.quit().catch(ok);
  }
}


/** How long closing the connections may keep the process alive (see `#close`). */
const CLOSE_KEEPALIVE_MS = 10_000;
/** The error of a failed outcome of `job`. */
function outcomeError(job: SentJob, outcome: Exclude<Outcome, [number, number, number, 1, unknown[]]>): unknown {
  switch (outcome[3]) {
    case 0:
      return rebuildOutcomeError(outcome[4]);
    case 2:
      return new WorkerCrashedError(outcome[4], { exitCode: null, signal: null });
    case 3: {
      // Stopped by its timeout: a `TimeoutError` as a local pool gives; by its signal: the signal's
      // reason, this side's own object when this client aborted it.
      if (outcome[5] === 1) return new TimeoutError(String((rebuildOutcomeError(outcome[4]) as Error)?.message ?? 'the task ran for more than its timeout'));
      return job.aborted ? job.abortReason : rebuildOutcomeError(outcome[4]);
    }
  }
}


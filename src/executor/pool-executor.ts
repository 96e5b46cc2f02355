/**
 * What both pools are: the core's pool (`NativePool`), a host for the workers, and the parts that
 * move records between them. Submission encodes records and hands them to the core; the
 * completion pump settles their outcomes; `Records` knows where each outcome goes; `Lifecycle`
 * keeps the executor open, shut down or broken, active or idle.
 */
import { Executor, type ExecutorStats, type ShutdownOptions } from '../api/executor.js';
import { CancelledError, TimeoutError, type WorkerEnd, WorkerCrashedError } from '../api/errors.js';
import { checkKnownKeys } from '../api/option-keys.js';
import { Future, MAX_TIMER_MS } from '../api/future.js';
import type { MapSink } from '../api/map.js';
import type { TaskFn } from '../api/task.js';
import type { WorkerExit, WorkerHost } from '../hosts/host.js';
import { describeError, type ErrorDescriptor } from '../wire/errors.js';
import { hasMovedArgument } from '../api/transfer.js';
import { dispatch, NativePool, STATE_RUNNING } from '../wire/native.js';
import { ABORT_POLL_MS, CompletionPump } from './completions.js';
import { Lifecycle } from './lifecycle.js';
import { poolMapSink } from './map-sink.js';
import { Records } from './records.js';
import './shapes.js';
import { RunTimeouts } from './run-timeouts.js';
import { Submission } from './submission.js';

/**
 * An executor collected without `shutdown()` (nothing references it, so nothing is pending: see
 * `Lifecycle`) shuts its core down, and its idle workers exit, as Python's do once their executor
 * is collected.
 */
const dropped = new FinalizationRegistry<{ core: NativePool; host: WorkerHost }>(({ core, host }) => {
  for (const slot of core.shutdown(false).wake) host.wake(slot);
});

/**
 * The machinery both pools share. Not exported from the package root, but declared, since the
 * public executors extend it.
 */
export abstract class PoolExecutor extends Executor {
  readonly #maxWorkers: number;
  readonly #core: NativePool;
  readonly #host: WorkerHost;
  readonly #records: Records;
  readonly #completions: CompletionPump;
  readonly #lifecycle: Lifecycle;
  readonly #submission: Submission;
  readonly #replaceCrashedWorkers: boolean;
  readonly #abortGrace: number;
  /** Made on first use: a closure made in the constructor would keep the executor alive through the host's (see `host.attach`). */
  #runTimeouts: RunTimeouts | undefined;
  /** Workers being ended because the task they run was aborted and did not end: the task's id and the reason its future fails with. */
  readonly #stopping = new Map<number, { id: number; reason: unknown }>();

  /** `initializerDefines`: the globals the initializer defines, which tasks sent by source may read (`null`: not known). */
  protected constructor(
    maxWorkers: number,
    maxTasksPerWorker: number | undefined,
    host: WorkerHost,
    initializerDefines: readonly string[] | null,
    replaceCrashedWorkers = false,
    abortGrace = 100,
  ) {
    super();
    this.#replaceCrashedWorkers = replaceCrashedWorkers;
    this.#abortGrace = abortGrace;
    this.#maxWorkers = maxWorkers;
    // The core's wake-up holds the executor weakly, so that an executor nobody references can be
    // collected; while work is pending, the lifecycle holds it.
    const self = new WeakRef(this);
    const core = new NativePool(maxWorkers, maxTasksPerWorker, host.lingering, () => {
      const executor = self.deref();
      if (executor !== undefined) executor.#completions.drain();
    });
    const records = new Records(host.sharedMemory);
    const completions = new CompletionPump(core, host, records);
    const lifecycle = new Lifecycle({ owner: this, core, host, records, completions });
    records.bind(lifecycle);
    completions.bind(lifecycle);
    this.#core = core;
    this.#host = host;
    this.#records = records;
    this.#completions = completions;
    this.#lifecycle = lifecycle;
    this.#submission = new Submission(core, host, records, completions, lifecycle, maxWorkers, initializerDefines);
    // The host's workers outlive any reference to the executor, so the host holds it weakly too.
    host.attach(core, {
      exited: (slot, exit) => {
        const executor = self.deref();
        if (executor !== undefined) executor.#workerExited(slot, exit);
      },
      broke: (reason, cause, failRunning) => {
        const executor = self.deref();
        if (executor !== undefined) executor.#break(reason, cause, failRunning);
      },
    });
    dropped.register(this, { core, host }, this);
  }

  override submit<A extends unknown[], R>(fn: TaskFn<A, R>, ...args: A): Future<Awaited<R>> {
    this.#lifecycle.checkOpen();
    // An argument wrapped in `move()`: moved, as `run` moves it.
    if (hasMovedArgument(args)) return this.run(fn, args);
    const func = this.#submission.functionIndex(fn);
    const future = new Future<Awaited<R>>();
    future._id = this.#submission.push(func, 1, args, future);
    future._link = this;
    return future;
  }

  /** @internal */
  override _checkOpen(): void {
    this.#lifecycle.checkOpen();
  }

  /**
   * @internal `run`'s signal aborted: a task not started is cancelled; a running one's own signal
   * fires (see `#abortRunning`).
   */
  override _abort<T>(future: Future<T>, reason: unknown): void {
    if (future._cancelBecause(reason) || future.done()) return;
    this.#abortRunning(future, reason);
  }

  /** The most workers this executor runs at once (read-only, as in Python). */
  get maxWorkers(): number {
    return this.#maxWorkers;
  }

  /** Whether an aborted task still running `abortGrace` later is stopped: `Infinity`, or past what a timer can count (about 24.8 days), means never. */
  get #stopsWorkers(): boolean {
    return this.#abortGrace <= MAX_TIMER_MS;
  }

  /** @internal `run`'s timeout, counted from the moment the task starts (see `RunTimeouts`). */
  override _watchTimeout<T>(future: Future<T>, ms: number): void {
    this.#runTimeouts ??= new RunTimeouts(this.#core, this.#submission, (expired, after) => this.#abortRunning(expired, new TimeoutError(`the task ran for more than its timeout of ${after} ms`)));
    this.#runTimeouts.watch(future as Future<unknown>, ms);
  }

  /**
   * A running task was aborted: the worker running it is told why (its `currentTask().signal`
   * fires), and if the task has not ended `abortGrace` ms later, that worker is ended and
   * replaced and the future fails with `reason` (`#workerExited`).
   */
  #abortRunning<T>(future: Future<T>, reason: unknown): void {
    const timer = this.#abortRecord(future._id, reason, () => future.done());
    if (timer !== undefined) future.addDoneCallback(() => clearTimeout(timer));
  }

  /**
   * Aborts record or job `id` where it runs (see `#abortRunning`; `settled`: whether it has
   * ended). Answers the timer of its forced stop, if one is due.
   */
  #abortRecord(id: number, reason: unknown, settled: () => boolean): NodeJS.Timeout | undefined {
    this.#submission.flush();
    const running = this.#core.stopTask(id);
    if (running.length === 0) return undefined; // it finished meanwhile: its outcome is on its way
    this.#records.aborted(id, reason);
    const described = describeReason(reason);
    for (const { slot, index } of running) this.#host.abort(slot, index, described);
    this.#completions.expect(ABORT_POLL_MS);
    if (!this.#stopsWorkers) return undefined;
    return setTimeout(() => {
      if (settled()) return;
      for (const { slot } of this.#core.stopTask(id)) {
        this.#stopping.set(slot, { id, reason });
        this.#host.stop(slot);
      }
    }, this.#abortGrace);
  }

  /** @internal */
  override _checkTask(fn: unknown): void {
    this.#lifecycle.checkOpen();
    this.#submission.functionIndex(fn, 'run()');
  }

  /**
   * @internal A task that may be stopped goes to a worker alone (see `Submission.stoppable`);
   * with `abortGrace: Infinity` none is ever stopped.
   */
  override _submitRun<A extends unknown[], R>(fn: TaskFn<A, R>, args: A, moving: ArrayBuffer[], stoppable: boolean): Future<Awaited<R>> {
    if (!stoppable || !this.#stopsWorkers) return super._submitRun(fn, args, moving, false);
    return this.#submission.stoppable(() => super._submitRun(fn, args, moving, true));
  }

  /** @internal Where workers are threads, the buffers move with the record; children get copies. */
  override _submitMoving<A extends unknown[], R>(fn: TaskFn<A, R>, args: A, buffers: ArrayBuffer[]): Future<Awaited<R>> {
    const { moved } = this.#host;
    if (moved === undefined) return this.submit(fn, ...args);
    moved.begin(buffers);
    let future: Future<Awaited<R>>;
    try {
      future = this.submit(fn, ...args);
    } catch (error) {
      moved.end(false);
      throw error;
    }
    const ids = moved.end(true);
    if (ids.length > 0) future.addDoneCallback(() => moved.release(ids));
    return future;
  }

  /** @internal */
  override _mapSink(fn: TaskFn<any[], unknown>): MapSink {
    const func = this.#submission.functionIndex(fn, 'map()');
    const abort = (id: number, reason: unknown): void => void this.#abortRecord(id, reason, () => this.#records.get(id) === undefined);
    return poolMapSink(func, { core: this.#core, shared: this.#host.sharedMemory, submission: this.#submission, records: this.#records, lifecycle: this.#lifecycle, abort, mayStop: this.#stopsWorkers });
  }

  /** Python's `shutdown`. Idempotent; a later call with `cancelFutures` still cancels. */
  override async shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (typeof options !== 'object' || options === null) throw new TypeError('shutdown(): options must be an object');
    checkKnownKeys('shutdown()', options, ['wait', 'cancelFutures']);
    const { wait = true, cancelFutures = false } = options;
    this.#submission.flush();
    this.#lifecycle.markShutdown();
    const { cancelled, cancelledRanges, wake } = this.#core.shutdown(Boolean(cancelFutures));
    for (const id of cancelled) this.#records.cancelled(id);
    for (const { id, first, count } of cancelledRanges) {
      const entry = this.#records.get(id);
      if (entry !== undefined && !(entry instanceof Future)) this.#records.deliver(id, entry, first, count, { values: [], failAll: { error: new CancelledError() } });
    }
    for (const slot of wake) this.#host.wake(slot);
    this.#lifecycle.checkIdle();
    if (wait) await this.#lifecycle.whenIdle();
  }

  /** Workers, idle workers, queued / running / completed items; wait and run time percentiles, utilization. */
  stats(): ExecutorStats {
    this.#submission.flush();
    const { workers, idle, queued, running, completed } = this.#core.stats();
    const { waitTime, runTime, utilization } = this.#core.timing();
    return { workers, idle, queued, running, completed, waitTime, runTime, utilization };
  }

  /** @internal */
  _cancelRecord(id: number): boolean {
    this.#submission.flush();
    if (!this.#core.cancel(id)) return false;
    this.#records.forget(id);
    return true;
  }

  /** @internal */
  _recordStarted(id: number): boolean {
    this.#submission.flush();
    return this.#core.state(id) === STATE_RUNNING;
  }

  /** @internal The objects the executor is made of (a test checks that `shapes.ts` keeps their hidden classes). */
  _parts(): object[] {
    return [this.#core, this.#host, this.#records, this.#completions, this.#lifecycle, this.#submission];
  }

  /**
   * @internal Fails the running tasks with the pool's `Broken*` error for `reason` and hands out
   * no more work, without marking the executor broken: its workers are being ended on purpose.
   */
  protected failRunning(reason: string, end?: WorkerEnd): void {
    this.#lifecycle.failRunning(reason, end);
  }

  /**
   * A worker has exited: replace it, or break the pool if it died holding tasks (Python's rule);
   * with `replaceCrashedWorkers`, only the tasks it was running fail, with `WorkerCrashedError`.
   */
  #workerExited(slot: number, exit: WorkerExit): void {
    const stopped = this.#stopping.get(slot);
    this.#stopping.delete(slot);
    if (this.#replaceCrashedWorkers || stopped !== undefined) {
      const { broke, crashed, dispatch: replacement } = this.#core.workerCrashed(slot);
      if (broke || exit.beforeReady === true) {
        this.#break(exit.reason, exit.cause, true, exit);
        const error = this.#lifecycle.brokenError();
        for (const { id, first, count } of crashed) this.#records.failItems(id, first, count, error);
      } else {
        if (crashed.length > 0) {
          const how = exit.signal !== null ? `signal ${exit.signal}` : `exit code ${exit.exitCode}`;
          const message = `The ${this.#host.workerKind} running this task exited abruptly (${how}); a new one replaces it`;
          const error = new WorkerCrashedError(message, { ...(exit.cause === undefined ? {} : { cause: exit.cause }), exitCode: exit.exitCode, signal: exit.signal });
          // The aborted task's future fails with its reason; anything else the worker held, with the crash.
          for (const { id, first, count } of crashed) this.#records.failItems(id, first, count, id === stopped?.id ? stopped.reason : error);
        }
        dispatch(replacement, this.#host);
      }
    } else {
      const { broke, dispatch: replacement } = this.#core.workerExited(slot);
      if (broke) this.#break(exit.reason, exit.cause, true, exit);
      else dispatch(replacement, this.#host);
    }
    this.#lifecycle.checkIdle();
  }

  /**
   * Fails every pending future with the pool's `Broken*` error; later submits throw it.
   * `failRunning` (a worker died): the running ones fail too, and every worker is ended.
   * Otherwise (a thread's initializer failed, as in Python) running tasks finish as usual and
   * their workers then exit.
   */
  #break(message: string, cause: unknown, failRunning: boolean, end?: WorkerEnd): void {
    if (!this.#lifecycle.broken) {
      this.#submission.flush();
      this.#lifecycle.markBroken(this.#host.brokenError(message, cause, end && { exitCode: end.exitCode, signal: end.signal }));
      this.#core.breakPool(failRunning);
      if (failRunning) this.#host.stopAll();
    }
    this.#completions.drain();
  }
}

/**
 * An abort's reason as the worker is told it: described as a thrown value is; one that cannot be
 * cloned (an object holding a function) is told as an `AbortError` saying so. The future still
 * fails with the reason itself.
 */
function describeReason(reason: unknown): ErrorDescriptor {
  const described = describeError(reason);
  try {
    structuredClone(described);
    return described;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    // A plain Error named so (a DOMException is not something every channel carries).
    const told = new Error(`The operation was aborted (its reason cannot be sent to the worker: ${why})`);
    told.name = 'AbortError';
    return describeError(told);
  }
}

/**
 * An executor's life: open, shut down or broken; active (work pending, which keeps the process
 * alive) or idle (which never does); and what an idle executor gives back.
 */
import { type BrokenExecutor, ShutdownError, type WorkerEnd } from '../api/errors.js';
import type { WorkerHost } from '../hosts/host.js';
import { type NativePool, releaseIdleMemory } from '../wire/native.js';
import type { Records } from './records.js';

/** Executors with pending work: kept alive (and so is the process) until it is done. */
const activeExecutors = new Set<object>();

/** An executor idle this long gives back the memory large payloads left behind (its inbox, the core's cached blocks). */
const IDLE_RELEASE_MS = 50;

export interface LifecycleParts {
  /** The executor, held strongly while it is active. */
  owner: object;
  core: NativePool;
  host: WorkerHost;
  records: Records;
  /** The completion pump: while it polls, the executor stays active; idle, it gives back its inbox. */
  completions: { readonly polling: boolean; shrink(): void };
}

export class Lifecycle {
  #shutdown = false;
  #broken: BrokenExecutor | undefined;
  /** The error of running records failed on purpose while the executor is not broken (see `failRunning`). */
  #runningFailure: BrokenExecutor | undefined;
  #active = false;
  #idleWaiters: Array<() => void> = [];
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly parts: LifecycleParts) {}

  /** Throws when nothing may be submitted any more: the pool's `Broken*` error first, then `ShutdownError`. */
  checkOpen(): void {
    const broken = this.#broken;
    if (broken !== undefined) throw this.parts.host.brokenError(broken.message, broken.cause, { exitCode: broken.exitCode, signal: broken.signal });
    if (this.#shutdown) throw new ShutdownError('cannot schedule new futures after shutdown');
  }

  get broken(): boolean {
    return this.#broken !== undefined;
  }

  /** What a record the core failed as broken fails with. */
  brokenError(): BrokenExecutor {
    return this.#broken ?? this.#runningFailure ?? this.parts.host.brokenError('the pool broke');
  }

  markShutdown(): void {
    this.#shutdown = true;
  }

  /** The pool is broken by `error`; answers `false` when it already was. */
  markBroken(error: BrokenExecutor): boolean {
    if (this.#broken !== undefined) return false;
    this.#broken = error;
    return true;
  }

  /**
   * Running records fail with the pool's `Broken*` error for `reason`, and the core hands out no
   * more work, without marking the executor broken (its workers are being ended on purpose).
   */
  failRunning(reason: string, end?: WorkerEnd): void {
    if (this.#broken !== undefined) return;
    this.#runningFailure ??= this.parts.host.brokenError(reason, undefined, end);
    this.parts.core.breakPool(true);
  }

  /**
   * The event loop stays alive while records are pending, the main thread polls for their
   * outcomes, or a `shutdown` waits for the workers to exit (they are unref'd, so that an idle
   * executor never keeps the process alive).
   */
  updateActive(): void {
    const active = this.parts.records.pending > 0 || this.#idleWaiters.length > 0 || this.parts.completions.polling;
    if (active === this.#active) return;
    this.#active = active;
    this.parts.core.setActive(active);
    if (active) {
      activeExecutors.add(this.parts.owner);
    } else {
      activeExecutors.delete(this.parts.owner);
      this.#releaseWhenIdle();
    }
  }

  /** Resolves once nothing is pending and every worker has exited. */
  whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    this.updateActive();
    return idle;
  }

  /** To be called after anything that may have made the executor idle. */
  checkIdle(): void {
    // Shut down (or broken) and idle: nothing will complete again; let the executor be collected.
    if ((this.#shutdown || this.#broken !== undefined) && this.#isIdle()) {
      this.parts.core.close();
      if (!this.#active) this.#releaseWhenIdle();
    }
    if (this.#idleWaiters.length > 0 && this.#isIdle()) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      this.updateActive();
      for (const resolve of waiters) resolve();
    }
  }

  #isIdle(): boolean {
    return this.parts.records.pending === 0 && this.parts.host.live === 0;
  }

  #releaseWhenIdle(): void {
    if (this.#shutdown && this.#isIdle()) {
      // Nothing will be submitted again: at once, and no timer that would hold the executor.
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
      this.#releaseIdleMemory();
      return;
    }
    // Not at once: a loop of awaited submits goes idle between its tasks, and would allocate
    // its large buffers afresh for each. One timer, re-armed each time.
    if (this.#idleTimer === undefined) this.#idleTimer = setTimeout(this.#releaseIdleMemory, IDLE_RELEASE_MS).unref();
    else this.#idleTimer.refresh();
  }

  /** Gives back what large payloads left behind, if the executor is still idle. */
  readonly #releaseIdleMemory = (): void => {
    if (this.#active) return;
    this.parts.completions.shrink();
    releaseIdleMemory();
  };
}

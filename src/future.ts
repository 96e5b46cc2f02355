import { CancelledError, InvalidStateError, TimeoutError } from './errors.js';

type State = 'pending' | 'running' | 'cancelled' | 'finished';

/**
 * The executor's side of a submitted future: the pool decides `cancel` and `running`, because a
 * worker may take the task at any moment (see `crates/core/src/task.rs`).
 * @internal
 */
export interface TaskLink {
  /** `true` when the pool cancelled the task (it will never run). */
  cancel(): boolean;
  /** `true` when a worker has started the task. */
  started(): boolean;
}

const noop = (): void => {};

/** Longer timeouts than this overflow `setTimeout`; they mean "wait forever". */
export const MAX_TIMER_MS = 0x7fffffff;

/**
 * The result of an asynchronous computation, with Python's states and transitions:
 * PENDING → RUNNING → FINISHED, or PENDING → CANCELLED.
 *
 * A `Future` is a thenable: `await future` gives what `result()` gives. It never causes an
 * `unhandledRejection` by itself: only the promises you ask for can.
 */
export class Future<T = unknown> implements PromiseLike<T> {
  #state: State = 'pending';
  #value: T | undefined;
  #error: unknown;
  #failed = false;
  #callbacks: Array<(f: Future<T>) => void> | undefined;
  #promise: Promise<T> | undefined;
  #resolve: ((value: T) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  #guarded = false;
  /** @internal */
  _link: TaskLink | undefined;

  /** Cancels the future if it has not started: `true` if it is (now) cancelled. */
  cancel(): boolean {
    if (this.#state === 'cancelled') return true;
    if (this.#state !== 'pending') return false;
    if (this._link !== undefined && !this._link.cancel()) {
      this.#state = 'running';
      return false;
    }
    this._markCancelled();
    return true;
  }

  cancelled(): boolean {
    return this.#state === 'cancelled';
  }

  running(): boolean {
    if (this.#state === 'pending' && this._link?.started()) this.#state = 'running';
    return this.#state === 'running';
  }

  done(): boolean {
    return this.#state === 'cancelled' || this.#state === 'finished';
  }

  /**
   * The task's value. Rejects with the task's error, with `CancelledError`, or with
   * `TimeoutError` when `timeout` ms pass first (`0`: do not wait).
   */
  result(timeout?: number): Promise<T> {
    return this.#settled(timeout, () => this.#outcome());
  }

  /** The task's error, or `undefined` when it succeeded. Rejects as `result()` for the rest. */
  exception(timeout?: number): Promise<unknown> {
    return this.#settled(timeout, () =>
      this.#state === 'cancelled'
        ? Promise.reject(new CancelledError())
        : Promise.resolve(this.#failed ? this.#error : undefined),
    );
  }

  /** Calls `fn(this)` when the future is done (at once if it already is), in registration order. */
  addDoneCallback(fn: (f: Future<T>) => void): void {
    if (typeof fn !== 'function') throw new TypeError('addDoneCallback expects a function');
    if (this.done()) this.#invoke(fn);
    else (this.#callbacks ??= []).push(fn);
  }

  /** @internal Finished by raising (not cancelled). */
  _raised(): boolean {
    return this.#state === 'finished' && this.#failed;
  }

  /** @internal Removes a callback registered by `wait` or `asCompleted`. */
  _removeDoneCallback(fn: (f: Future<T>) => void): void {
    const i = this.#callbacks?.indexOf(fn) ?? -1;
    if (i !== -1) this.#callbacks!.splice(i, 1);
  }

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#outcome(false).then(onfulfilled, onrejected);
  }

  /** Marks the future running; `false` if it was cancelled (the caller must not run it). */
  setRunningOrNotifyCancel(): boolean {
    if (this.#state === 'cancelled') return false;
    if (this.#state !== 'pending') throw new InvalidStateError(`Future in unexpected state: ${this}`);
    this.#state = 'running';
    return true;
  }

  setResult(value: T): void {
    this.#checkNotDone();
    this.#value = value;
    this.#finish();
  }

  setException(error: unknown): void {
    this.#checkNotDone();
    this.#error = error;
    this.#failed = true;
    this.#finish();
  }

  toString(): string {
    if (this.#state !== 'finished') return `<Future state=${this.#state}>`;
    return this.#failed
      ? `<Future state=finished raised ${typeName(this.#error)}>`
      : `<Future state=finished returned ${typeName(this.#value)}>`;
  }

  /** @internal Cancellation decided by the pool (shutdown with `cancelFutures`). */
  _markCancelled(): void {
    this.#state = 'cancelled';
    this.#reject?.(new CancelledError());
    this.#runCallbacks();
  }

  #checkNotDone(): void {
    if (this.done()) throw new InvalidStateError(`${this} is already done`);
  }

  #finish(): void {
    this.#state = 'finished';
    if (this.#failed) this.#reject?.(this.#error);
    else this.#resolve?.(this.#value as T);
    this.#runCallbacks();
  }

  #runCallbacks(): void {
    const callbacks = this.#callbacks;
    if (callbacks === undefined) return;
    this.#callbacks = undefined;
    for (const fn of callbacks) this.#invoke(fn);
  }

  #invoke(fn: (f: Future<T>) => void): void {
    try {
      fn(this);
    } catch (error) {
      console.error(`exception calling callback for ${this}:`, error);
    }
  }

  /**
   * The shared promise of the outcome. Unless the caller attaches handlers at once (`guard`
   * false), it is marked handled, so that it never reports an unhandled rejection by itself.
   */
  #outcome(guard = true): Promise<T> {
    if (guard && !this.#guarded) {
      this.#guarded = true;
      this.#outcome(false).catch(noop);
    }
    if (this.#promise === undefined) {
      if (this.#state === 'finished') {
        this.#promise = this.#failed ? Promise.reject(this.#error) : Promise.resolve(this.#value as T);
      } else if (this.#state === 'cancelled') {
        this.#promise = Promise.reject(new CancelledError());
      } else {
        this.#promise = new Promise<T>((resolve, reject) => {
          this.#resolve = resolve;
          this.#reject = reject;
        });
      }
    }
    return this.#promise;
  }

  #settled<R>(timeout: number | undefined, outcome: () => Promise<R>): Promise<R> {
    checkTimeout(timeout);
    if (this.done()) return outcome();
    if (timeout === 0) return Promise.reject(new TimeoutError(`${this} did not finish within 0 ms`));
    if (timeout === undefined || timeout > MAX_TIMER_MS) {
      return new Promise<void>((resolve) => this.addDoneCallback(() => resolve())).then(outcome);
    }
    return new Promise<R>((resolve, reject) => {
      const onDone = (): void => {
        clearTimeout(timer);
        outcome().then(resolve, reject);
      };
      const timer = setTimeout(() => {
        this._removeDoneCallback(onDone);
        reject(new TimeoutError(`${this} did not finish within ${timeout} ms`));
      }, timeout);
      this.addDoneCallback(onDone);
    });
  }
}

/** Validates a timeout in milliseconds: `undefined` (forever) or a number >= 0. */
export function checkTimeout(timeout: unknown, name = 'timeout'): asserts timeout is number | undefined {
  if (timeout === undefined) return;
  if (typeof timeout !== 'number') throw new TypeError(`${name} must be a number of milliseconds or undefined, got ${typeof timeout}`);
  if (Number.isNaN(timeout) || timeout < 0) throw new RangeError(`${name} must be >= 0 milliseconds, got ${timeout}`);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object' || typeof value === 'function') {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' ? name : typeof value;
  }
  return typeof value;
}

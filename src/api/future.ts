import { CancelledError, InvalidStateError, TimeoutError } from './errors.js';

type State = 'pending' | 'running' | 'cancelled' | 'finished';

/**
 * The executor's side of a submitted future: the pool decides `cancel` and `running`, because a
 * worker may take the task at any moment (see `crates/core/src/task.rs`).
 * @internal
 */
export interface TaskLink {
  /** `true` when the pool cancelled record `id` (it will never run). */
  _cancelRecord(id: number): boolean;
  /** `true` when a worker has started record `id`. */
  _recordStarted(id: number): boolean;
}

const noop = (): void => {};

/** Longer timeouts than this overflow `setTimeout`; they mean "wait forever". */
export const MAX_TIMER_MS = 0x7fffffff;

// The resolving functions of the promise being constructed: `super()` cannot hand them to the
// instance directly, and a module-level executor allocates no closure per future.
let nextResolve: ((value: any) => void) | undefined;
let nextReject: ((error: unknown) => void) | undefined;
function captureResolvers(resolve: (value: any) => void, reject: (error: unknown) => void): void {
  nextResolve = resolve;
  nextReject = reject;
}

/**
 * The result of an asynchronous computation, with Python's states and transitions:
 * PENDING → RUNNING → FINISHED, or PENDING → CANCELLED.
 *
 * A `Future` is itself the promise of its outcome: `await future` gives what `result()` gives,
 * and `Promise.all(futures)` takes futures as they are (see the note below the class). It never
 * causes an `unhandledRejection` by itself: only the promises you derive from it can.
 */
/**
 * The holes of a future's callbacks (see `_removeDoneCallback`): the first index that may hold a
 * callback, and how many are removed. Kept aside, by the array: most futures never lose one.
 */
const callbackHoles = new WeakMap<object, { first: number; count: number }>();

/** Why futures cancelled by an aborted signal were cancelled (kept aside: most futures never need it). */
const cancelReasons = new WeakMap<object, unknown>();

export class Future<T = unknown> extends Promise<T> {
  #state: State = 'pending';
  #value: T | undefined;
  #error: unknown;
  #failed = false;
  /** In registration order; a removed one leaves a hole (`null`), see `_removeDoneCallback`. */
  #callbacks: Array<((f: Future<T>) => void) | null> | undefined;
  readonly #resolve: (value: T) => void;
  readonly #reject: (error: unknown) => void;
  /** @internal */
  _link: TaskLink | undefined;
  /** @internal The record's id in `_link`'s pool. */
  _id = 0;

  /**
   * A bare, pending future (executors make their own; tests and adapters use this).
   *
   * `executor` is for the `Promise` statics only: `Future.resolve(x)`, `Future.all(xs)` and the
   * like construct their result through it, as they do for any subclass of `Promise`. The future
   * they return finishes with what the promise would have.
   */
  constructor(executor?: (resolve: (value: T) => void, reject: (error: unknown) => void) => void) {
    super(captureResolvers);
    this.#resolve = nextResolve!;
    this.#reject = nextReject!;
    // Not kept: the last future (and what it references) would stay reachable.
    nextResolve = nextReject = undefined;
    if (executor !== undefined) {
      executor(
        (value) => this._finish(true, value),
        (error) => this._finish(false, error),
      );
    }
  }

  /** Cancels the future if it has not started: `true` if it is (now) cancelled. */
  cancel(): boolean {
    if (this.#state === 'cancelled') return true;
    if (this.#state !== 'pending') return false;
    if (this._link !== undefined && !this._link._cancelRecord(this._id)) {
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
    if (this.#state === 'pending' && this._link?._recordStarted(this._id)) this.#state = 'running';
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
    if (timeout === undefined) return this;
    return this.#settled(timeout, () => this);
  }

  /** The task's error, or `undefined` when it succeeded. Rejects as `result()` for the rest. */
  exception(timeout?: number): Promise<unknown> {
    return this.#settled(timeout, () =>
      this.#state === 'cancelled'
        ? Promise.reject(this.#cancelledError())
        : Promise.resolve(this.#failed ? this.#error : undefined),
    );
  }

  /** Calls `fn(this)` when the future is done (at once if it already is), in registration order. */
  addDoneCallback(fn: (f: Future<T>) => void): void {
    if (typeof fn !== 'function') throw new TypeError('addDoneCallback expects a function');
    if (this.done()) this.#invoke(fn);
    else (this.#callbacks ??= []).push(fn);
  }

  /**
   * @internal The executor's outcome; ignored once the future is done (its owner settled or
   * cancelled it by hand, as Python's public `set_result` allows).
   */
  _finish(ok: boolean, value: unknown): void {
    if (this.done()) return;
    if (ok) this.setResult(value as T);
    else this.setException(value);
  }

  /** @internal Finished by raising (not cancelled). */
  _raised(): boolean {
    return this.#state === 'finished' && this.#failed;
  }

  /** @internal Removes a callback registered by `wait` or `asCompleted`. */
  _removeDoneCallback(fn: (f: Future<T>) => void): void {
    const callbacks = this.#callbacks;
    if (callbacks === undefined) return;
    // Waiters mostly leave in the order they came (timeouts, `wait`s that ended): looked for from
    // the first one left, and left as a hole, so that many waiters on one future cost each a
    // constant (a splice moved all after it).
    let holes = callbackHoles.get(callbacks);
    const i = callbacks.indexOf(fn, holes?.first ?? 0);
    if (i === -1) return;
    callbacks[i] = null;
    if (holes === undefined) callbackHoles.set(callbacks, (holes = { first: 0, count: 0 }));
    holes.count++;
    while (holes.first < callbacks.length && callbacks[holes.first] === null) holes.first++;
    if (holes.count > 32 && holes.count * 2 > callbacks.length) this.#callbacks = callbacks.filter((callback) => callback !== null);
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
    this.#state = 'finished';
    this.#resolve(value);
    this.#runCallbacks();
  }

  setException(error: unknown): void {
    this.#checkNotDone();
    this.#error = error;
    this.#failed = true;
    this.#state = 'finished';
    this.#rejectHandled(error);
    this.#runCallbacks();
  }

  override toString(): string {
    this.running(); // a pending executor future may have started
    if (this.#state !== 'finished') return `<Future state=${this.#state}>`;
    return this.#failed
      ? `<Future state=finished raised ${typeName(this.#error)}>`
      : `<Future state=finished returned ${typeName(this.#value)}>`;
  }

  /** `util.inspect` and `console.log` show the state, as `toString` does. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** @internal Cancellation decided by the pool (shutdown with `cancelFutures`). */
  _markCancelled(): void {
    if (this.done()) return;
    this.#state = 'cancelled';
    this.#rejectHandled(this.#cancelledError());
    this.#runCallbacks();
  }

  /**
   * @internal `cancel()` because an `AbortSignal` was aborted: the `CancelledError` has the
   * signal's reason as its `cause`.
   */
  _cancelBecause(reason: unknown): boolean {
    if (this.done()) return this.cancelled();
    cancelReasons.set(this, reason);
    const cancelled = this.cancel();
    if (!cancelled) cancelReasons.delete(this);
    return cancelled;
  }

  #cancelledError(): CancelledError {
    return cancelReasons.has(this) ? new CancelledError(undefined, { cause: cancelReasons.get(this) }) : new CancelledError();
  }

  #checkNotDone(): void {
    if (this.done()) throw new InvalidStateError(`${this} is already done`);
  }

  /** Rejects, with a handler attached first: a failure nobody awaits is not an `unhandledRejection`. */
  #rejectHandled(error: unknown): void {
    super.then(undefined, noop);
    this.#reject(error);
  }

  #runCallbacks(): void {
    const callbacks = this.#callbacks;
    if (callbacks === undefined) return;
    this.#callbacks = undefined;
    for (const fn of callbacks) if (fn !== null) this.#invoke(fn);
  }

  #invoke(fn: (f: Future<T>) => void): void {
    try {
      const returned: unknown = fn(this);
      // An async callback's failure is reported as a thrown one is, not left an unhandled rejection.
      if (typeof returned === 'object' && returned !== null && typeof (returned as PromiseLike<unknown>).then === 'function') {
        (returned as PromiseLike<unknown>).then(undefined, (error: unknown) => this.#reportCallbackError(error));
      }
    } catch (error) {
      this.#reportCallbackError(error);
    }
  }

  #reportCallbackError(error: unknown): void {
    console.error(`exception calling callback for ${this}:`, error);
  }

  #settled<R>(timeout: number | undefined, outcome: () => Promise<R>): Promise<R> {
    try {
      timeout = toTimeout(timeout);
    } catch (error) {
      return Promise.reject(error);
    }
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

// `Promise.resolve(x)` and `await x` take a native promise as it is only when `x.constructor` is
// `Promise`; for anything else they queue a job that calls `x.then`, and `Promise.all` over
// 100,000 futures then costs ~1 µs more per future. Futures therefore present `Promise` as their
// constructor (which also makes `then`, `catch` and `finally` derive plain promises). `instanceof
// Future` is unaffected.
Object.defineProperty(Future.prototype, 'constructor', { value: Promise, writable: true, configurable: true });

/**
 * A timeout in milliseconds: `undefined` (wait forever) or a number. As in Python, a negative
 * (or NaN) timeout means "do not wait", the same as `0`. Anything else is a `TypeError`.
 */
export function toTimeout(timeout: unknown, name = 'timeout'): number | undefined {
  if (timeout === undefined) return undefined;
  if (typeof timeout !== 'number') throw new TypeError(`${name} must be a number of milliseconds or undefined, got ${typeof timeout}`);
  return timeout > 0 ? timeout : 0;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object' || typeof value === 'function') {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    // An error of a custom class from a worker arrives as an `Error` named after its class.
    if (name === 'Error' && value instanceof Error && typeof value.name === 'string' && value.name !== '') return value.name;
    return typeof name === 'string' && name !== '' ? name : typeof value;
  }
  return typeof value;
}

import { PACKAGE_ERROR, registerPackageErrors } from '../wire/errors.js';

/**
 * Base class of every error this package raises. Made without a message, each class has one of
 * its own (`defaultMessage`): an error never reads as empty.
 */
export class FuturesError extends Error {
  static readonly defaultMessage: string = 'an executor or future failed';
  static readonly [PACKAGE_ERROR] = true;

  /**
   * `instanceof` holds too for an error made by another copy of this package's classes, of the
   * same name: a worker runs a bundled copy, while a task module imports the package's own, so
   * the `TimeoutError` a task's signal gives is one for both.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (typeof value !== 'object' || value === null) return false;
    for (let proto = Object.getPrototypeOf(value); proto !== null; proto = Object.getPrototypeOf(proto)) {
      const ctor = Object.hasOwn(proto, 'constructor') ? (proto.constructor as { [PACKAGE_ERROR]?: boolean; name?: string } | undefined) : undefined;
      if (ctor?.[PACKAGE_ERROR] === true && ctor.name === this.name) return true;
    }
    return false;
  }

  constructor(message?: string, options?: ErrorOptions) {
    super(message ?? new.target.defaultMessage, options);
    this.name = new.target.name;
  }
}

/** The future was cancelled. */
export class CancelledError extends FuturesError {
  static override readonly defaultMessage: string = 'the future was cancelled';
}

/** The operation is not allowed in the future's current state (e.g. `setResult` twice). */
export class InvalidStateError extends FuturesError {
  static override readonly defaultMessage: string = "the operation is not allowed in the future's current state";
}

/** A deadline passed. */
export class TimeoutError extends FuturesError {
  static override readonly defaultMessage: string = 'the deadline passed';
}

/** `submit` or `map` after `shutdown` (Python raises `RuntimeError`). */
export class ShutdownError extends FuturesError {
  static override readonly defaultMessage: string = 'cannot schedule new futures after shutdown';
}

/** How a worker ended: its exit code, or the signal that ended it (each `null` when not known). */
export interface WorkerEnd {
  exitCode: number | null;
  signal: string | null;
}

/**
 * The executor can no longer run tasks: a worker died or an initializer failed. When a worker's
 * death broke it, `exitCode` and `signal` say how that worker ended.
 */
export class BrokenExecutor extends FuturesError {
  static override readonly defaultMessage: string = 'the executor is broken: it can no longer run tasks';
  exitCode: number | null;
  signal: string | null;

  constructor(message?: string, options?: ErrorOptions & Partial<WorkerEnd>) {
    super(message, options);
    this.exitCode = options?.exitCode ?? null;
    this.signal = options?.signal ?? null;
  }
}

export class BrokenThreadPool extends BrokenExecutor {
  static override readonly defaultMessage: string = 'a worker thread ended abruptly: the pool can no longer run tasks';
}

export class BrokenProcessPool extends BrokenExecutor {
  static override readonly defaultMessage: string = 'a child process ended abruptly: the pool can no longer run tasks';
}

/**
 * The worker running this task died abruptly (it exited, was killed by a signal, ran out of
 * memory), in an executor that replaces crashed workers (`replaceCrashedWorkers: true`): only
 * this task failed, and the executor goes on.
 */
export class WorkerCrashedError extends FuturesError {
  static override readonly defaultMessage: string = 'the worker running the task ended abruptly';
  readonly exitCode: number | null;
  readonly signal: string | null;

  constructor(message?: string, options?: ErrorOptions & Partial<WorkerEnd>) {
    super(message, options);
    this.exitCode = options?.exitCode ?? null;
    this.signal = options?.signal ?? null;
  }
}

// Errors of these classes cross to and from workers as themselves (see `wire/errors.ts`).
registerPackageErrors({ FuturesError, CancelledError, InvalidStateError, TimeoutError, ShutdownError, BrokenExecutor, BrokenThreadPool, BrokenProcessPool, WorkerCrashedError });

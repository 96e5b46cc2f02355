/** Base class of every error this package raises. */
export class FuturesError extends Error {
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The future was cancelled. */
export class CancelledError extends FuturesError {
  constructor(message = 'the future was cancelled', options?: ErrorOptions) {
    super(message, options);
  }
}

/** The operation is not allowed in the future's current state (e.g. `setResult` twice). */
export class InvalidStateError extends FuturesError {}

/** A deadline passed. */
export class TimeoutError extends FuturesError {}

/** `submit` or `map` after `shutdown` (Python raises `RuntimeError`). */
export class ShutdownError extends FuturesError {}

/** The executor can no longer run tasks: a worker died or an initializer failed. */
export class BrokenExecutor extends FuturesError {}

export class BrokenThreadPool extends BrokenExecutor {}

export class BrokenProcessPool extends BrokenExecutor {}

/**
 * One worker died while running the task (its future fails with this); the executor goes on.
 * `exitCode` and `signal` are the worker's, as far as they are known.
 */
export class WorkerCrashedError extends FuturesError {
  readonly exitCode: number | null;
  readonly signal: string | null;

  constructor(message = 'the worker running the task died', options: ErrorOptions & { exitCode?: number | null; signal?: string | null } = {}) {
    super(message, options);
    this.exitCode = options.exitCode ?? null;
    this.signal = options.signal ?? null;
  }
}

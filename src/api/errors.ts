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
  exitCode: number | null;
  signal: string | null;

  constructor(message?: string, options?: ErrorOptions & Partial<WorkerEnd>) {
    super(message, options);
    this.exitCode = options?.exitCode ?? null;
    this.signal = options?.signal ?? null;
  }
}

export class BrokenThreadPool extends BrokenExecutor {}

export class BrokenProcessPool extends BrokenExecutor {}

/**
 * The worker running this task died abruptly (it exited, was killed by a signal, ran out of
 * memory), in an executor that replaces crashed workers (`replaceCrashedWorkers: true`): only
 * this task failed, and the executor goes on.
 */
export class WorkerCrashedError extends FuturesError {
  readonly exitCode: number | null;
  readonly signal: string | null;

  constructor(message: string, options: ErrorOptions & WorkerEnd) {
    super(message, options);
    this.exitCode = options.exitCode;
    this.signal = options.signal;
  }
}

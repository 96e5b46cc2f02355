/**
 * The task a worker is running, for `currentTask()` (`api/current-task.ts`): the runner enters a
 * record's scope before it calls the task and leaves it once the task has ended. Its signal is made
 * on first use and reads the abort where the host keeps it (`AbortSource`): a worker thread's
 * interrupt word in shared memory, a child's stop page (or, where it has none, its last `stop`
 * message).
 */
import { CURRENT_TASK, type CurrentTask } from '../api/current-task.js';

/** Where a worker learns that a record of its batch was aborted, and why. */
export interface AbortSource {
  /** Whether record `index` of the current batch was aborted (cheap: called in tight loops). */
  aborted(index: number): boolean;
  /** Why record `index` was aborted (asked once, after `aborted` said so). */
  reason(index: number): unknown;
}

/** The reason of a task stopped without one of its own (its `map` run was cancelled). */
export function cancelledRun(): DOMException {
  return new DOMException('The task was aborted: its run was cancelled', 'AbortError');
}

/** How often a task's signal looks for an abort while the worker's event loop runs (for `abort` listeners). */
const LISTENER_POLL_MS = 5;

export class TaskScope {
  #index = -1;
  #task: RunningTask | undefined;
  /**
   * Looks for an abort every `LISTENER_POLL_MS` while tasks that asked for their signal run, so
   * that `abort` listeners fire: one timer for the worker, which stops itself once such a task has
   * ended and no other has asked (a timer per task cost more than the rest of the signal).
   */
  #listenerPoll: NodeJS.Timeout | undefined;

  constructor(private readonly source: AbortSource) {
    (globalThis as { [CURRENT_TASK]?: () => CurrentTask | undefined })[CURRENT_TASK] = () => this.#current();
  }

  /** Record `index` of the batch starts. */
  enter(index: number): void {
    this.#index = index;
    this.#task = undefined;
  }

  /** Whether `error`, which the running task threw, is its own signal's reason. */
  threwOwnReason(error: unknown): boolean {
    return this.#task !== undefined && this.#task.isOwnReason(error);
  }

  /** The record's task has ended. */
  leave(): void {
    this.#task?.end();
    this.#index = -1;
    this.#task = undefined;
  }

  #current(): CurrentTask | undefined {
    if (this.#index < 0) return undefined;
    if (this.#task === undefined) {
      this.#task = new RunningTask(this.source, this.#index);
      this.#pollForListeners();
    }
    return this.#task;
  }

  #pollForListeners(): void {
    if (this.#listenerPoll !== undefined) return;
    this.#listenerPoll = setInterval(() => {
      if (this.#task !== undefined) {
        this.#task.aborted();
        return;
      }
      clearInterval(this.#listenerPoll);
      this.#listenerPoll = undefined;
    }, LISTENER_POLL_MS);
    this.#listenerPoll.unref();
  }
}

/** The running task a signal belongs to (see `TASK_SIGNAL`). */
const RUNNING = Symbol('running task');

interface TaskSignal extends AbortSignal {
  [RUNNING]: RunningTask;
}

/**
 * The prototype of every task's signal, between it and `AbortSignal.prototype`: its `aborted`,
 * `reason` and `throwIfAborted` read the abort where the host keeps it, so that a synchronous loop
 * sees it without the event loop running. Shared, so that making a signal defines nothing.
 */
const TASK_SIGNAL: object = Object.create(AbortSignal.prototype, {
  aborted: {
    get(this: TaskSignal): boolean {
      return this[RUNNING].aborted();
    },
    configurable: true,
  },
  reason: {
    get(this: TaskSignal): unknown {
      const task = this[RUNNING];
      return task.aborted() ? task.reason : undefined;
    },
    configurable: true,
  },
  throwIfAborted: {
    value(this: TaskSignal): void {
      const task = this[RUNNING];
      if (task.aborted()) throw task.reason;
    },
    configurable: true,
    writable: true,
  },
});

class RunningTask implements CurrentTask {
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  #aborted = false;
  /** The task has ended: its signal stays as it was (the source's marks are about later tasks now). */
  #ended = false;
  reason: unknown;

  constructor(
    private readonly source: AbortSource,
    private readonly index: number,
  ) {
    const signal = this.#controller.signal as TaskSignal;
    Object.setPrototypeOf(signal, TASK_SIGNAL);
    signal[RUNNING] = this;
    this.signal = signal;
  }

  /** Whether the task was aborted; the first time it sees so, its signal's listeners are due. */
  aborted(): boolean {
    if (!this.#aborted && !this.#ended && this.source.aborted(this.index)) {
      this.#aborted = true;
      this.reason = this.source.reason(this.index);
      // Listeners run from the event loop, as a signal's do, never inside the task's own call.
      setImmediate(() => this.#controller.abort(this.reason));
    }
    return this.#aborted;
  }

  /** Whether `error` is this task's reason, as its signal gave it (the task threw what it was told). */
  isOwnReason(error: unknown): boolean {
    return this.#aborted && error === this.reason;
  }

  end(): void {
    this.#ended = true;
  }
}

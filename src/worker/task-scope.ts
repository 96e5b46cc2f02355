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

  constructor(private readonly source: AbortSource) {
    (globalThis as { [CURRENT_TASK]?: () => CurrentTask | undefined })[CURRENT_TASK] = () => this.#current();
  }

  /** Record `index` of the batch starts. */
  enter(index: number): void {
    this.#index = index;
    this.#task = undefined;
  }

  /** The record's task has ended. */
  leave(): void {
    this.#task?.end();
    this.#index = -1;
    this.#task = undefined;
  }

  #current(): CurrentTask | undefined {
    if (this.#index < 0) return undefined;
    return (this.#task ??= new RunningTask(this.source, this.#index));
  }
}

class RunningTask implements CurrentTask {
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  #aborted = false;
  #reason: unknown;
  readonly #poll: NodeJS.Timeout;

  constructor(source: AbortSource, index: number) {
    const signal = this.#controller.signal;
    const poll = (): boolean => {
      if (!this.#aborted && source.aborted(index)) {
        this.#aborted = true;
        this.#reason = source.reason(index);
        // Listeners run from the event loop, as a signal's do, never inside the task's own call.
        setImmediate(() => this.#controller.abort(this.#reason));
      }
      return this.#aborted;
    };
    // The signal's own `aborted`, `reason` and `throwIfAborted` read the abort where it is kept,
    // so that a synchronous loop sees it without the event loop running.
    Object.defineProperties(signal, {
      aborted: { get: poll, configurable: true },
      reason: { get: () => (poll() ? this.#reason : undefined), configurable: true },
      throwIfAborted: {
        value: () => {
          if (poll()) throw this.#reason;
        },
        configurable: true,
      },
    });
    this.#poll = setInterval(poll, LISTENER_POLL_MS);
    this.#poll.unref();
    this.signal = signal;
  }

  end(): void {
    clearInterval(this.#poll);
  }
}

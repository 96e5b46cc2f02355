/**
 * `run`'s `timeout`, counted from the moment each task starts (the core notes it,
 * `NativePool.runningFor`). Tasks that have not started wait in one list, in submission order,
 * which one timer looks through from the front: a task that started gets a timer of its own for
 * the rest of its time. A timer per waiting task, each asking the core again every few
 * milliseconds, made 20,000 queued tasks with a timeout cost the main thread ten times what
 * they cost without.
 */
import type { Future } from '../api/future.js';
import type { NativePool } from '../wire/native.js';
import type { Submission } from './submission.js';

/** How often the waiting tasks are looked at (sooner for a shorter timeout). */
const LOOK_MS = 20;
/** The waiting tasks looked at each time: those near the front are the next to start. */
const LOOK_AT = 64;

interface Waiting {
  future: Future<unknown>;
  ms: number;
}

export class RunTimeouts {
  /** The tasks not seen started yet, in submission order, from `#head`; a hole (`undefined`) is one seen since. */
  readonly #waiting: Array<Waiting | undefined> = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;
  #lookMs = LOOK_MS;

  constructor(
    private readonly core: NativePool,
    private readonly submission: Submission,
    /** Aborts the running task of `future` because its time is up. */
    private readonly expire: (future: Future<unknown>, ms: number) => void,
  ) {}

  /** Watches `future`'s task: `ms` of run time at most. */
  watch(future: Future<unknown>, ms: number): void {
    this.#waiting.push({ future, ms });
    // The earliest it can run out of time is `ms` after now.
    this.#lookMs = Math.min(this.#lookMs, Math.max(1, ms));
    this.#timer ??= setTimeout(() => this.#look(), this.#lookMs);
  }

  #look(): void {
    this.#timer = undefined;
    this.submission.flush();
    const waiting = this.#waiting;
    let looked = 0;
    for (let i = this.#head; i < waiting.length && looked < LOOK_AT; i++) {
      const entry = waiting[i];
      if (entry === undefined) continue;
      if (entry.future.done()) {
        waiting[i] = undefined;
        continue;
      }
      const ran = this.core.runningFor(entry.future._id);
      if (ran < 0) {
        looked++; // not started yet (or finishing)
        continue;
      }
      waiting[i] = undefined;
      this.#runningFor(entry, ran);
    }
    while (this.#head < waiting.length && waiting[this.#head] === undefined) this.#head++;
    if (this.#head === waiting.length) {
      waiting.length = 0;
      this.#head = 0;
      this.#lookMs = LOOK_MS;
      return;
    }
    if (this.#head > 1024 && this.#head * 2 > waiting.length) {
      waiting.splice(0, this.#head);
      this.#head = 0;
    }
    this.#timer = setTimeout(() => this.#look(), this.#lookMs);
  }

  /** A started task: its own timer for the rest of its time. */
  #runningFor({ future, ms }: Waiting, ran: number): void {
    if (ran >= ms) return this.expire(future, ms);
    const timer = setTimeout(() => {
      if (future.done()) return;
      const now = this.core.runningFor(future._id);
      // Finishing (its outcome on the way) or, rarely, not started after all: looked at again.
      if (now < 0) this.watch(future, ms);
      else this.#runningFor({ future, ms }, now);
    }, ms - ran);
    future.addDoneCallback(() => clearTimeout(timer));
  }
}

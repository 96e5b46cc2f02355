import { TimeoutError } from './errors.js';
import { Future, MAX_TIMER_MS, toTimeout } from './future.js';
import { checkKnownKeys } from './option-keys.js';

export const FIRST_COMPLETED = 'FIRST_COMPLETED';
export const FIRST_EXCEPTION = 'FIRST_EXCEPTION';
export const ALL_COMPLETED = 'ALL_COMPLETED';
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

export interface WaitOptions {
  timeout?: number | undefined;
  returnWhen?: ReturnWhen | undefined;
}

export interface DoneAndNotDone<F extends Future<any>> {
  done: Set<F>;
  notDone: Set<F>;
}

function uniqueFutures<F extends Future<any>>(fs: Iterable<F>, caller: string): Set<F> {
  if (fs == null || typeof (fs as Iterable<F>)[Symbol.iterator] !== 'function') {
    throw new TypeError(`${caller}() expects an iterable of futures`);
  }
  const set = new Set(fs);
  for (const f of set) {
    if (!(f instanceof Future)) throw new TypeError(`${caller}() expects futures, got ${typeof f}`);
  }
  return set;
}

/** Options are an object (Python's positional `wait(fs, timeout)` would otherwise wait forever). */
function checkOptions(what: string, options: unknown, known: readonly string[]): void {
  if (typeof options !== 'object' || options === null) {
    const hint = typeof options === 'number' ? `; pass { timeout: ${options} }` : '';
    throw new TypeError(`${what}: options must be an object, got ${options === null ? 'null' : typeof options}${hint}`);
  }
  checkKnownKeys(what, options, known);
}

/**
 * Waits for the futures, as Python's `concurrent.futures.wait`. Never rejects on timeout: it
 * resolves with the split at that moment.
 */
export function wait<F extends Future<any>>(fs: Iterable<F>, options: WaitOptions = {}): Promise<DoneAndNotDone<F>> {
  try {
    checkOptions('wait()', options, ['timeout', 'returnWhen']);
    const { returnWhen = ALL_COMPLETED } = options;
    const timeout = toTimeout(options.timeout);
    if (returnWhen !== FIRST_COMPLETED && returnWhen !== FIRST_EXCEPTION && returnWhen !== ALL_COMPLETED) {
      throw new RangeError(`Invalid returnWhen value: ${String(returnWhen)}`);
    }
    const futures = uniqueFutures(fs, 'wait');
    return waitFor(futures, returnWhen, timeout);
  } catch (error) {
    return Promise.reject(error);
  }
}

function waitFor<F extends Future<any>>(futures: Set<F>, returnWhen: ReturnWhen, timeout: number | undefined): Promise<DoneAndNotDone<F>> {
  const split = (): DoneAndNotDone<F> => {
    const done = new Set<F>();
    const notDone = new Set<F>();
    for (const f of futures) (f.done() ? done : notDone).add(f);
    return { done, notDone };
  };
  const satisfied = (): boolean => {
    let allDone = true;
    for (const f of futures) {
      if (!f.done()) allDone = false;
      else if (returnWhen === FIRST_COMPLETED) return true;
      else if (returnWhen === FIRST_EXCEPTION && f._raised()) return true;
    }
    return allDone;
  };
  if (satisfied() || timeout === 0) return Promise.resolve(split());
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let unfinished = 0;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      for (const f of futures) f._removeDoneCallback(onDone);
      resolve(split());
    };
    // Constant work per completion (not a rescan of every future).
    const onDone = (f: Future<any>): void => {
      unfinished--;
      if (unfinished === 0 || returnWhen === FIRST_COMPLETED || (returnWhen === FIRST_EXCEPTION && f._raised())) finish();
    };
    for (const f of futures) {
      if (!f.done()) {
        unfinished++;
        f.addDoneCallback(onDone);
      }
    }
    if (timeout !== undefined && timeout <= MAX_TIMER_MS) timer = setTimeout(finish, timeout);
  });
}

/**
 * What `asCompleted` returns: an async iterator of the futures themselves. A named interface, not
 * `AsyncIterableIterator<F>` itself: for that one, TypeScript types the variable of `for await`
 * as the awaited value (`T`), while at run time it is the future (`Future<T>`).
 */
export interface AsCompletedIterator<F extends Future<any>> extends AsyncIterableIterator<F> {
  [Symbol.asyncIterator](): AsCompletedIterator<F>;
}

/**
 * Yields the futures as they complete: those already done first, then the rest in completion
 * order, each once. With `timeout` (counted from the first `next()`), throws `TimeoutError`.
 */
export function asCompleted<F extends Future<any>>(fs: Iterable<F>, options: { timeout?: number | undefined } = {}): AsCompletedIterator<F> {
  checkOptions('asCompleted()', options, ['timeout']);
  const timeout = toTimeout(options.timeout);
  const futures = uniqueFutures(fs, 'asCompleted');
  return completionOrder(futures, timeout);
}

/**
 * A hand-written iterator, not an `async function*`: an async generator awaits what it yields,
 * and a `Future` is a thenable, so it would yield results instead of futures.
 */
function completionOrder<F extends Future<any>>(futures: Set<F>, timeout: number | undefined): AsCompletedIterator<F> {
  const total = futures.size;
  const ready: F[] = [];
  const pending = new Set<F>();
  let next = 0;
  let deadline: number | undefined;
  let finished = false;
  /** Wakes every waiting `next()` (overlapping calls each wait; each takes its own future). */
  let waiters: Array<() => void> = [];
  const wakeAll = (): void => {
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
  };
  const onDone = (f: Future<any>): void => {
    if (pending.delete(f as F)) {
      ready.push(f as F);
      wakeAll();
    }
  };
  const finish = (): IteratorResult<F> => {
    finished = true;
    for (const f of pending) f._removeDoneCallback(onDone);
    pending.clear();
    wakeAll();
    return { done: true, value: undefined };
  };
  for (const f of futures) {
    if (f.done()) ready.push(f);
    else pending.add(f);
  }
  for (const f of pending) f.addDoneCallback(onDone);

  const iterator: AsCompletedIterator<F> = {
    [Symbol.asyncIterator]: () => iterator,
    async next(): Promise<IteratorResult<F>> {
      deadline ??= timeout === undefined ? Infinity : Date.now() + timeout;
      for (;;) {
        if (finished) return { done: true, value: undefined };
        if (next < ready.length) return { done: false, value: ready[next++]! };
        if (pending.size === 0) return finish();
        const left = deadline - Date.now();
        if (left <= 0) {
          const unfinished = pending.size;
          finish();
          throw new TimeoutError(`${unfinished} (of ${total}) futures unfinished`);
        }
        await new Promise<void>((resolve) => {
          const timer = left <= MAX_TIMER_MS ? setTimeout(resolve, left) : undefined;
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    async return(): Promise<IteratorResult<F>> {
      return finish();
    },
  };
  return iterator;
}

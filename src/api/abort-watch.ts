/**
 * One `abort` listener per signal, however many tasks and `map` runs watch it. One
 * `AbortController` for a whole batch is the usual way; a listener each made `run` and `map`
 * quadratic in the number sharing a signal (`addEventListener` looks through the ones there), and
 * Node warns of a leak past ten.
 */

/** What to do when a watched signal aborts. */
export interface AbortWatcher {
  /**
   * Called first, for every watcher: cancel what has not started, so that a worker freed by an
   * aborted task takes none of it.
   */
  cancelWaiting?(reason: unknown): void;
  /** Then, for every watcher still watching, in the order they began. */
  abort(reason: unknown): void;
}

const watchersBySignal = new WeakMap<AbortSignal, Set<AbortWatcher>>();

/** Watches `signal` (not aborted yet) for `watcher`, until the function answered is called. */
export function watchAbort(signal: AbortSignal, watcher: AbortWatcher): () => void {
  let watchers = watchersBySignal.get(signal);
  if (watchers === undefined) {
    const all = (watchers = new Set());
    watchersBySignal.set(signal, all);
    const fire = (): void => {
      watchersBySignal.delete(signal);
      const { reason } = signal;
      // A watcher that stops watching meanwhile (its future ended) is not visited again.
      for (const w of all) w.cancelWaiting?.(reason);
      for (const w of all) w.abort(reason);
      all.clear();
    };
    signal.addEventListener('abort', fire, { once: true });
  }
  const all = watchers;
  all.add(watcher);
  return () => void all.delete(watcher);
}

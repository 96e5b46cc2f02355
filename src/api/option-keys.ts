/**
 * Options objects take only the keys the API knows: any other is a `TypeError` naming it (Python
 * raises for an unknown keyword too), with the known key it most likely meant.
 */

/**
 * Throws a `TypeError` for the first own key of `options` not in `known`. `what` names the call
 * (`'ThreadPoolExecutor'`, `'map()'`).
 */
export function checkKnownKeys(what: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const meant = suggestion(key, known);
    throw new TypeError(`${what}: unknown option '${key}'${meant === undefined ? '' : `; did you mean '${meant}'?`} (known options: ${known.join(', ')})`);
  }
}

/** Lower case, without `_` and `-`: `max_workers`, `MaxWorkers` and `maxWorkers` are one. */
function normalize(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

/** Spellings (normalized) too far from the key meant for a guess: the other pool's name, Python's. */
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  maxtasksperchild: ['maxTasksPerWorker'],
  maxtasksperworker: ['maxTasksPerChild'],
  workers: ['maxWorkers'],
  cancel: ['cancelFutures'],
  returnwhen: ['returnWhen'],
  chunks: ['chunksize'],
};

function suggestion(key: string, known: readonly string[]): string | undefined {
  const wanted = normalize(key);
  const alias = ALIASES[wanted]?.find((name) => known.includes(name));
  if (alias !== undefined) return alias;
  let best: string | undefined;
  let bestDistance = Math.min(3, Math.floor(wanted.length / 3) + 1);
  for (const candidate of known) {
    const distance = editDistance(wanted, normalize(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Edit distance: insertions, deletions, substitutions and swaps of neighbours (`wiat` is one from `wait`). */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      current[j] = d;
    }
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}

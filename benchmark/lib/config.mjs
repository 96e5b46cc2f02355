// The run's settings that the harness helpers and the workloads read: the pool size and
// quick/full. run.mjs sets them from its command line (configure) before it imports the
// workloads, since a workload's repetitions, title and parameters depend on --quick.
// Exported as live bindings: `import { N, Q } from '../lib/config.mjs'` sees configure()'s values.

import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The benchmark/ directory (rss.mjs, py_w8.py, results.json live there). */
export const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Workers per pool, for every contender. */
export let N = os.availableParallelism();
/** Quick run (fewer repetitions, W3 on 100k items). */
export let Q = false;

export function configure({ workers, quick }) {
  N = workers;
  Q = quick;
}

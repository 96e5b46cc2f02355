// W7 probe, run by run.mjs in a fresh process per contender:
//
//   node --expose-gc benchmark/rss.mjs <contender|none> [--workers N] [--tasks N] [--baseline DIR]
//
// Opens a thread pool of N workers (default os.availableParallelism()), runs W1 on it
// (100k tasks of x + 1, all in flight), collects garbage, and prints one JSON line:
//   { contender, workers, tasks, rssMB, peakRssMB, heapUsedMB, externalMB }
// measured while the pool (and its workers) are still alive. `none` measures a bare
// Node process that opens no pool (the reference row). `before` (with --baseline DIR) is
// the package built in the checkout DIR, as for run.mjs --baseline.

import os from 'node:os';
import { openThreadPool, runW1, warmUp, setBaseline, BEFORE, CONTENDERS } from './lib/pools.mjs';

const args = process.argv.slice(2);
const contender = args[0];
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const workers = opt('--workers', os.availableParallelism());
const tasks = opt('--tasks', 100_000);
const baseline = args.includes('--baseline') ? args[args.indexOf('--baseline') + 1] : null;

if (contender !== 'none' && !CONTENDERS.includes(contender) && !(contender === BEFORE && baseline)) {
  console.error(`usage: node rss.mjs <${CONTENDERS.join('|')}|none|${BEFORE} --baseline DIR> [--workers N] [--tasks N]`);
  process.exit(2);
}
if (baseline) setBaseline(baseline);

const MB = 1024 * 1024;
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
};

let pool = null;
try {
  if (contender !== 'none') {
    pool = await openThreadPool(contender, workers);
    await warmUp(pool, workers);
    const sum = await runW1(contender, pool, tasks);
    if (sum !== (tasks * (tasks + 1)) / 2) throw new Error(`wrong W1 sum ${sum}`);
  }
  await settle();
  const mu = process.memoryUsage();
  console.log(
    JSON.stringify({
      contender,
      workers,
      tasks: contender === 'none' ? 0 : tasks,
      rssMB: mu.rss / MB,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      heapUsedMB: mu.heapUsed / MB,
      externalMB: mu.external / MB,
    }),
  );
} catch (e) {
  console.log(JSON.stringify({ contender, error: String((e && e.message) || e) }));
  process.exitCode = 1;
} finally {
  if (pool) await pool.close();
}

// W11 probe, run by workloads/w11.mjs in a fresh process per sample, so that one contender's
// garbage and retained memory do not count against the next one's peak RSS:
//
//   node --expose-gc benchmark/large-payload-probe.mjs <contender> --variant copy|transfer
//        [--workers N] [--tasks 200] [--mb 4] [--baseline DIR]
//
// Creates `tasks` distinct Float64Arrays of `mb` MB (input i holds i + j at index j), opens a
// thread pool of N workers, warms it up with 2·N tasks of the same size and variant, then times
// all `tasks` tasks in flight: each worker returns a new array of 2·a[j] + 1.
//   copy:     call(scale, a): the argument and the result are copied.
//   transfer: the argument's buffer is moved (ours run(fn, [a], { transfer: [a.buffer] }), the
//             peers' transfer lists) and the result moved back (ours move(), Piscina.move,
//             Tinypool.move, workerpool.Transfer; poolifier 5.3 cannot move a result: copied).
// Each result is checked (length and one element, which depends on the task and the index) as it
// arrives and then dropped, so that the 200 results are never all held at once; the inputs are
// held until the end (in the copy variant the caller keeps its data, which is what copying means).
// Prints one JSON line:
//   { contender, variant, workers, tasks, mb, tasksPerS, rssBeforeMB, peakRssMB, peakRssGrowthMB,
//     peakBeforeRunMB, inputsDetached }
// peakRssGrowthMB = the process's peak RSS (getrusage maxRSS, all threads) minus its RSS at the
// start of the clock (inputs created, pool warm, garbage collected).

import os from 'node:os';
import { BEFORE, CONTENDERS, callTransfer, openThreadPool, preload, setBaseline } from './lib/pools.mjs';

const args = process.argv.slice(2);
const contender = args[0];
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const workers = Number(opt('--workers', os.availableParallelism()));
const tasks = Number(opt('--tasks', 200));
const mb = Number(opt('--mb', 4));
const variant = opt('--variant', 'copy');
const baseline = opt('--baseline', null);

if ((!CONTENDERS.includes(contender) && !(contender === BEFORE && baseline)) || !['copy', 'transfer'].includes(variant)) {
  console.error(`usage: node large-payload-probe.mjs <${CONTENDERS.join('|')}|${BEFORE} --baseline DIR> --variant copy|transfer [--workers N] [--tasks N] [--mb N]`);
  process.exit(2);
}
if (baseline) setBaseline(baseline);

const MB = 1024 * 1024;
const LEN = (mb * MB) / 8;
const maxRssMB = () => process.resourceUsage().maxRSS / 1024; // maxRSS is in KB
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
};

function makeInput(i) {
  const a = new Float64Array(LEN);
  for (let j = 0; j < LEN; j++) a[j] = i + j;
  return a;
}
/** Throws unless `r` is the result for input `i`; checks the length and one element. */
function check(r, i) {
  if (!(r instanceof Float64Array) || r.length !== LEN) throw new Error(`task ${i}: result is not a Float64Array of ${LEN} (${r?.constructor?.name} of ${r?.length})`);
  const k = (i * 7919 + 13) % LEN;
  if (r[k] !== 2 * (i + k) + 1) throw new Error(`task ${i}: result[${k}] = ${r[k]}, expected ${2 * (i + k) + 1}`);
}
const submit = (pool, a) => (variant === 'transfer' ? callTransfer(contender, pool, 'scaleMoved', a, [a.buffer]) : pool.call('scale', a));

let pool = null;
try {
  await preload(contender);
  const inputs = Array.from({ length: tasks }, (_, i) => makeInput(i));
  pool = await openThreadPool(contender, workers);
  // Warm-up: same size and variant as the timed tasks, own inputs (a moved input is gone).
  const warm = 2 * workers;
  await Promise.all(Array.from({ length: warm }, (_, i) => submit(pool, makeInput(tasks + i)).then((r) => check(r, tasks + i))));
  await settle();
  const rssBeforeMB = process.memoryUsage().rss / MB;
  const peakBeforeRunMB = maxRssMB();

  let checked = 0;
  const pending = new Array(tasks);
  const t0 = performance.now();
  for (let i = 0; i < tasks; i++)
    pending[i] = submit(pool, inputs[i]).then((r) => {
      check(r, i);
      checked++;
    });
  await Promise.all(pending);
  const dt = performance.now() - t0;
  const peakRssMB = maxRssMB();
  if (checked !== tasks) throw new Error(`${checked} of ${tasks} results checked`);

  // The inputs afterwards: moved ones are detached; copied ones must be as they were.
  let inputsDetached = 0;
  for (let i = 0; i < tasks; i++) {
    const a = inputs[i];
    if (a.byteLength === 0) inputsDetached++;
    else if (a[LEN - 1] !== i + LEN - 1) throw new Error(`input ${i} changed after a ${variant} task`);
  }
  if (variant === 'copy' && inputsDetached > 0) throw new Error(`${inputsDetached} inputs detached by a copying call`);

  console.log(
    JSON.stringify({
      contender,
      variant,
      workers,
      tasks,
      mb,
      tasksPerS: (tasks / dt) * 1000,
      rssBeforeMB,
      peakRssMB,
      peakRssGrowthMB: peakRssMB - rssBeforeMB,
      peakBeforeRunMB,
      inputsDetached,
    }),
  );
} catch (e) {
  console.log(JSON.stringify({ contender, variant, error: String((e && e.message) || e) }));
  process.exitCode = 1;
} finally {
  if (pool) await pool.close();
}

// W11 / W11t: large payloads. 200 tasks in flight, each with its own 4 MB Float64Array argument
// (not shared) and a new 4 MB Float64Array result (2·a[j] + 1): tasks/s and peak RSS growth.
//   W11  (copy):     arguments and results copied (ours submit(fn, a); the peers' plain calls).
//   W11t (transfer): arguments moved with each library's transfer list (ours run(fn, [a],
//                    { transfer: [a.buffer] })) and results moved back (ours move(), Piscina.move,
//                    Tinypool.move, workerpool.Transfer; poolifier 5.3's worker has no way to move
//                    a result, so its results are copied).
// Every sample runs in a fresh process (large-payload-probe.mjs), so that one contender's garbage
// and retained memory do not count against the next one's peak RSS. The 200 inputs (distinct
// arrays, the same for everyone: a moved input is detached, so no run can reuse another's) are
// created there before the clock starts; each result is checked (length and one element) as it
// arrives and then dropped, so that the results are never all held at once.
// The table shows tasks/s (the ratio is on it) and the peak RSS growth over the RSS at the start
// of the clock; results.json keeps both per sample.

import path from 'node:path';
import { HERE, N, Q } from '../lib/config.mjs';
import { fmt } from '../lib/format.mjs';
import { median } from '../lib/harness.mjs';
import { BEFORE, baselineDir, isOurs, loadOurs } from '../lib/pools.mjs';
import { runNode } from '../lib/subprocess.mjs';

const TASKS = 200;
const MB_PER_ARRAY = 4;

function largePayload(variant) {
  const transfer = variant === 'transfer';
  return {
    id: transfer ? 'W11t' : 'W11',
    // `--only W11` runs both variants.
    group: 'W11',
    title: `${TASKS} × ${MB_PER_ARRAY} MB f64 in and out, ${transfer ? 'transferred' : 'copied'}`,
    metric: 'tasks/s, peak RSS growth',
    unit: 'tasks/s',
    better: 'higher',
    reps: Q ? 1 : 3,
    timeoutMs: 180_000,
    params: {
      tasks: TASKS,
      mbPerArray: MB_PER_ARRAY,
      variant,
      how: 'node --expose-gc benchmark/large-payload-probe.mjs <contender> --variant ' + variant + ', one fresh process per sample',
    },
    fmt: fmt.rate,
    // Charted beside tasks/s: peak RSS growth relative to piscina's (piscina / contender).
    secondFigure: { field: 'peakRssGrowthMB', better: 'lower', label: 'peak RSS growth' },
    async skip(c) {
      if (transfer && isOurs(c)) {
        const cf = await loadOurs(c);
        if (cf && (typeof cf.move !== 'function' || typeof cf.ThreadPoolExecutor.prototype.run !== 'function')) return 'no run(fn, args, { transfer }) and move() in this build';
      }
      return null;
    },
    setup() {
      this.probes = {};
    },
    async sample(c) {
      const baseline = c === BEFORE ? ['--baseline', baselineDir()] : [];
      const j = await runNode(
        ['--expose-gc', path.join(HERE, 'large-payload-probe.mjs'), c, '--variant', variant, '--workers', String(N), '--tasks', String(TASKS), '--mb', String(MB_PER_ARRAY), ...baseline],
        this.timeoutMs,
      );
      (this.probes[c] ||= []).push(j);
      return j.tasksPerS;
    },
    extra(_m, c) {
      const js = this.probes[c] || [];
      if (!js.length) return {};
      const growth = js.map((j) => j.peakRssGrowthMB);
      return {
        peakRssGrowthMB: median(growth),
        peakRssGrowthSamples: growth,
        rssBeforeMB: median(js.map((j) => j.rssBeforeMB)),
        peakRssMB: median(js.map((j) => j.peakRssMB)),
        inputsDetached: js.map((j) => j.inputsDetached),
        // false: the process's peak came before the clock, so the growth is an upper bound.
        peakDuringRun: js.map((j) => j.peakRssMB > j.peakBeforeRunMB),
      };
    },
    cellSuffix(r) {
      return r.peakRssGrowthMB !== undefined ? ` +${fmt.mb(r.peakRssGrowthMB)}` : '';
    },
    notes(res, results) {
      const lines = [];
      // Said once, under W11 (or under W11t when W11 did not run).
      if (!transfer || !results.W11)
        lines.push(
          `W11/W11t cell: tasks/s and the peak RSS growth over the RSS at the start of the clock (the ${TASKS} inputs of ${MB_PER_ARRAY} MB created, pool warm, garbage collected), ` +
            'each sample in a fresh process; W11t moves arguments (transfer lists) and results (poolifier 5.3 cannot move results: copied).',
        );
      // A transfer list a library ignored would show as inputs still attached after the run.
      if (transfer)
        for (const [c, r] of Object.entries(res.contenders))
          if (r.inputsDetached && r.inputsDetached.some((d) => d !== TASKS)) lines.push(`W11t ${c}: only ${r.inputsDetached.join('/')} of ${TASKS} inputs were detached after the run.`);
      return lines;
    },
  };
}

export const w11 = largePayload('copy');
export const w11t = largePayload('transfer');

// W1: 100k tasks of x + 1, all submitted at once: per-task overhead under a deep queue.
// Reference: the floor of that overhead, the main thread alone creating and settling the same
// number of our Futures (no pool): ours' W1 rate as a fraction of it is printed beside W1.

import { N, Q } from '../lib/config.mjs';
import { fmt } from '../lib/format.mjs';
import { now, refMedian, withPool } from '../lib/harness.mjs';
import { isOurs, loadOurs, runW1, warmUp } from '../lib/pools.mjs';

export default {
  id: 'W1',
  title: '100k tasks x+1, all in flight',
  metric: 'tasks/s',
  unit: 'tasks/s',
  better: 'higher',
  reps: Q ? 1 : 3,
  timeoutMs: 180_000,
  params: { tasks: 100_000 },
  refLabel: 'Futures alone',
  fmt: fmt.rate,
  async sample(c) {
    const n = this.params.tasks;
    return withPool('thread', c, (p) => warmUp(p, N, 'inc'), async (p) => {
      const t0 = now();
      const sum = await runW1(c, p, n);
      const dt = now() - t0;
      if (sum !== (n * (n + 1)) / 2) throw new Error(`wrong sum ${sum}`);
      return (n / dt) * 1000;
    });
  },
  // The floor: what W1 does on the main thread minus the pool. Creates n Futures, awaits them all
  // with Promise.all (as W1 does right after its submit loop), settles each with i + 1 (a worker's
  // result), and sums what Promise.all gives.
  async reference() {
    if (!this.contenders?.includes('ours')) return undefined;
    const cf = await loadOurs('ours');
    if (!cf) return undefined;
    const n = this.params.tasks;
    const t0 = now();
    const futures = new Array(n);
    for (let i = 0; i < n; i++) futures[i] = new cf.Future();
    const all = Promise.all(futures);
    for (let i = 0; i < n; i++) futures[i].setResult(i + 1);
    const results = await all;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += results[i];
    const dt = now() - t0;
    if (sum !== (n * (n + 1)) / 2) throw new Error(`wrong sum ${sum}`);
    return (n / dt) * 1000;
  },
  // ours' (and before's) rate as a fraction of the floor; the goal is at least 0.6.
  extra(m, c) {
    return isOurs(c) && refMedian.W1 ? { ofFloor: m / refMedian.W1 } : {};
  },
  cellSuffix(r) {
    return r.ofFloor !== undefined ? `, ${r.ofFloor.toFixed(2)}× floor` : '';
  },
  notes(res) {
    const floor = res.reference?.figure;
    if (floor === undefined) return [];
    const ours = Object.entries(res.contenders).filter(([, r]) => r.ofFloor !== undefined);
    return [
      `W1 floor: the main thread alone creating and settling ${this.params.tasks.toLocaleString('en-US')} Futures (new Future(), Promise.all, setResult): ${fmt.rate(floor)}; ` +
        (ours.length ? ours.map(([c, r]) => `${c} runs W1 at ${r.ofFloor.toFixed(2)}× of it`).join(', ') : 'ours has no W1 figure') +
        ' (goal ≥ 0.6×).',
    ];
  },
};

// W4: 40 × fib(30), all in flight: CPU-bound wall time and parallel efficiency.

import { N, Q } from '../lib/config.mjs';
import { bareThreadsW4 } from '../lib/bare-threads.mjs';
import { fmt } from '../lib/format.mjs';
import { fibLocal, now, refMedian, withPool } from '../lib/harness.mjs';
import { warmUp } from '../lib/pools.mjs';

export default {
  id: 'W4',
  title: '40 × fib(30), CPU-bound',
  metric: 'wall ms (parallel efficiency)',
  unit: 'ms',
  better: 'lower',
  reps: Q ? 2 : 9, // CPU-bound on a shared VM: the noisiest figures
  timeoutMs: 120_000,
  params: { tasks: 40, n: 30 },
  refLabel: '1 thread',
  fmt: fmt.ms,
  // The ceiling of this machine: N bare worker_threads pulling the 40 calls from a shared
  // counter. Its efficiency shows what the cores deliver when both compute at once.
  variants: { 'bare threads': 'ours' },
  variantNote: (v, r) =>
    `W4 ${v} (${N} worker_threads taking the calls from a shared counter, no pool: the machine's ceiling): ${fmt.ms(r.figure)}` +
    (r.efficiency !== undefined ? ` ${(r.efficiency * 100).toFixed(0)}%.` : '.'),
  async sample(c) {
    const { tasks, n } = this.params;
    if (c === 'bare threads') return bareThreadsW4(tasks, n);
    const expect = fibLocal(n);
    return withPool('thread', c, (p) => warmUp(p, N, 'fib', 20), async (p) => {
      const t0 = now();
      const rs = await Promise.all(Array.from({ length: tasks }, () => p.call('fib', n)));
      const dt = now() - t0;
      if (rs.some((r) => r !== expect)) throw new Error('wrong fib result');
      return dt;
    });
  },
  async reference() {
    const { tasks, n } = this.params;
    fibLocal(20);
    const t0 = now();
    let s = 0;
    for (let i = 0; i < tasks; i++) s += fibLocal(n);
    const dt = now() - t0;
    if (s !== tasks * fibLocal(n)) throw new Error('wrong fib result');
    return dt;
  },
  // parallel efficiency = t1 / (workers * tN)
  extra(medianMs) {
    const t1 = refMedian.W4;
    return t1 ? { efficiency: t1 / (N * medianMs) } : {};
  },
  cellSuffix(r) {
    return r.efficiency !== undefined ? ` ${(r.efficiency * 100).toFixed(0)}%` : '';
  },
};

// W1: 100k tasks of x + 1, all submitted at once: per-task overhead under a deep queue.

import { N, Q } from '../lib/config.mjs';
import { fmt } from '../lib/format.mjs';
import { now, withPool } from '../lib/harness.mjs';
import { runW1, warmUp } from '../lib/pools.mjs';

export default {
  id: 'W1',
  title: '100k tasks x+1, all in flight',
  metric: 'tasks/s',
  unit: 'tasks/s',
  better: 'higher',
  reps: Q ? 1 : 3,
  timeoutMs: 180_000,
  params: { tasks: 100_000 },
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
};

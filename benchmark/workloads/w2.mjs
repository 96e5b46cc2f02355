// W2: one x + 1 task at a time, awaited, 5,000 times: the latency of an idle pool.

import { N, Q } from '../lib/config.mjs';
import { fmt } from '../lib/format.mjs';
import { now, withPool } from '../lib/harness.mjs';
import { warmUp } from '../lib/pools.mjs';

export default {
  id: 'W2',
  title: '5,000 sequential round trips',
  metric: 'µs per round trip',
  unit: 'µs',
  better: 'lower',
  reps: Q ? 2 : 5,
  timeoutMs: 120_000,
  params: { roundTrips: 5_000 },
  fmt: fmt.us,
  async sample(c) {
    const n = this.params.roundTrips;
    return withPool('thread', c, (p) => warmUp(p, N, 'inc'), async (p) => {
      let acc = 0;
      const t0 = now();
      for (let i = 0; i < n; i++) acc += await p.call('inc', i);
      const dt = now() - t0;
      if (acc !== (n * (n + 1)) / 2) throw new Error(`wrong sum ${acc}`);
      return (dt * 1000) / n;
    });
  },
};

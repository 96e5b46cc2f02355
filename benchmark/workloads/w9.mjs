// W9: a progress bar over slow items. map of 400 items of 10 ms each on N workers (each item
// blocks its worker: the figure measures scheduling, not the load of the shared machine),
// counting results as they arrive. Ours: map() with its defaults (chunksize 'auto'), results in
// input order; the peers get one task per item, all at once, counted as each settles. Figure:
// total time (ideal: work / workers); beside it, the time to the first result and the longest
// gap between two arrivals. Goals for ours: first result within 2 task durations, no gap over 3,
// total within 5% of the ideal.

import { N, Q } from '../lib/config.mjs';
import { fmt } from '../lib/format.mjs';
import { median, now, withPool } from '../lib/harness.mjs';
import { isOurs, OURS_FNS, warmUp } from '../lib/pools.mjs';

const ITEMS = 400;
const TASK_MS = 10;

export default {
  id: 'W9',
  title: `map ${ITEMS} items of ${TASK_MS} ms, progress counted`,
  metric: 'ms total',
  unit: 'ms',
  better: 'lower',
  reps: Q ? 1 : 3,
  timeoutMs: 120_000,
  params: { items: ITEMS, taskMs: TASK_MS, idealMs: (ITEMS * TASK_MS) / N },
  refLabel: 'ideal',
  fmt: fmt.ms,
  setup() {
    this.firsts = {};
    this.gaps = {};
  },
  async sample(c) {
    const input = Array.from({ length: ITEMS }, () => TASK_MS);
    return withPool('thread', c, (p) => warmUp(p, N, 'inc'), async (p) => {
      const arrivals = [];
      const t0 = now();
      if (isOurs(c)) {
        for await (const ms of p.raw.map(OURS_FNS.spin, input)) {
          if (ms !== TASK_MS) throw new Error(`wrong result ${ms}`);
          arrivals.push(now());
        }
      } else {
        const progress = (ms) => {
          if (ms !== TASK_MS) throw new Error(`wrong result ${ms}`);
          arrivals.push(now());
        };
        await Promise.all(input.map((ms) => Promise.resolve(p.call('spin', ms)).then(progress)));
      }
      const total = now() - t0;
      if (arrivals.length !== ITEMS) throw new Error(`${arrivals.length} results`);
      let gap = 0;
      for (let i = 1; i < arrivals.length; i++) gap = Math.max(gap, arrivals[i] - arrivals[i - 1]);
      (this.firsts[c] ||= []).push(arrivals[0] - t0);
      (this.gaps[c] ||= []).push(gap);
      return total;
    });
  },
  reference() {
    return this.params.idealMs;
  },
  extra(m, c) {
    if (!this.firsts[c]) return {};
    return { firstMs: median(this.firsts[c]), maxGapMs: median(this.gaps[c]), overIdeal: m / this.params.idealMs };
  },
  cellSuffix(r) {
    return r.firstMs !== undefined ? ` (first ${fmt.ms(r.firstMs)}, gap ${fmt.ms(r.maxGapMs)})` : '';
  },
};

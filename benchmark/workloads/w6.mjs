// W6: new pool → first result of x + 1 (the close is not timed).

import { Q } from '../lib/config.mjs';
import { fmt } from '../lib/format.mjs';
import { close, killAll, now, open, withTimeout } from '../lib/harness.mjs';
import { preload } from '../lib/pools.mjs';

export default {
  id: 'W6',
  title: 'new pool → first result',
  metric: 'ms',
  unit: 'ms',
  better: 'lower',
  reps: Q ? 3 : 7,
  timeoutMs: 30_000,
  params: { note: 'one untimed open/close per contender first (module loading, file cache)' },
  fmt: fmt.ms,
  // `this.contenders` is set by the driver (the contenders of this run).
  async setup() {
    for (const c of this.contenders) {
      try {
        await preload(c);
        await withTimeout(this.once(c), this.timeoutMs, `${c} warm-up`);
      } catch {
        await killAll();
      }
    }
  },
  async once(c) {
    const t0 = now();
    const p = await open('thread', c);
    try {
      const r = await p.call('inc', 41);
      const dt = now() - t0;
      if (r !== 42) throw new Error(`wrong result ${r}`);
      return dt;
    } finally {
      await close(p);
    }
  },
  sample(c) {
    return this.once(c);
  },
};

// W8: process pools, 10k tiny tasks in flight; the ratio is relative to CPython's
// concurrent.futures.ProcessPoolExecutor (py_w8.py), since piscina has no process mode.

import path from 'node:path';
import { HERE, N, Q } from '../lib/config.mjs';
import { fmt } from '../lib/format.mjs';
import { close, now, open } from '../lib/harness.mjs';
import { PROCESS_MODE, isOurs, loadOurs, warmUp } from '../lib/pools.mjs';
import { PYTHON, runPython } from '../lib/subprocess.mjs';

export default {
  id: 'W8',
  title: 'process pool: 10k tiny tasks in flight',
  metric: 'tasks/s',
  unit: 'tasks/s',
  better: 'higher',
  reps: Q ? 2 : 5,
  timeoutMs: 120_000,
  params: { tasks: 10_000, modes: PROCESS_MODE },
  refLabel: 'CPython',
  ratioBase: 'reference',
  fmt: fmt.rate,
  async skip(c) {
    if (c === 'piscina') return 'piscina has no process mode';
    if (isOurs(c)) {
      const cf = await loadOurs(c);
      if (cf && typeof cf.ProcessPoolExecutor !== 'function') return 'ProcessPoolExecutor is not exported (yet)';
    }
    return null;
  },
  async sample(c) {
    const n = this.params.tasks;
    const p = await open('process', c);
    try {
      await warmUp(p, N, 'inc');
      const t0 = now();
      const fs = new Array(n);
      for (let i = 0; i < n; i++) fs[i] = p.call('inc', i);
      const rs = await Promise.all(fs);
      const dt = now() - t0;
      let sum = 0;
      for (const r of rs) sum += r;
      if (sum !== (n * (n + 1)) / 2) throw new Error(`wrong sum ${sum}`);
      return (n / dt) * 1000;
    } finally {
      await close(p);
    }
  },
  async reference() {
    if (!PYTHON) return undefined;
    const j = await runPython([path.join(HERE, 'py_w8.py'), '--workers', String(N), '--tasks', String(this.params.tasks)], this.timeoutMs);
    this.pyInfo = { python: j.python, startMethod: j.start_method };
    return j.tasks_per_s;
  },
};

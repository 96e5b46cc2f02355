// W7: resident set size of a fresh process with an N-worker pool after running W1 in it
// (benchmark/rss.mjs, one process per sample).

import path from 'node:path';
import { HERE, N, Q } from '../lib/config.mjs';
import { fmt } from '../lib/format.mjs';
import { median } from '../lib/harness.mjs';
import { BEFORE, baselineDir } from '../lib/pools.mjs';
import { runNode } from '../lib/subprocess.mjs';

export default {
  id: 'W7',
  title: 'process RSS with 2 workers after W1',
  metric: 'MB',
  unit: 'MB',
  better: 'lower',
  reps: Q ? 1 : 2,
  timeoutMs: 180_000,
  params: { tasks: 100_000, how: 'node --expose-gc benchmark/rss.mjs <contender>, one fresh process per sample' },
  refLabel: 'bare node',
  fmt: fmt.mb,
  async probe(who) {
    // 'before' loads the baseline's build in the probe process too.
    const baseline = who === BEFORE ? ['--baseline', baselineDir()] : [];
    const j = await runNode(['--expose-gc', path.join(HERE, 'rss.mjs'), who, '--workers', String(N), '--tasks', String(this.params.tasks), ...baseline], this.timeoutMs);
    return j;
  },
  async sample(c) {
    const j = await this.probe(c);
    (this.peaks[c] ||= []).push(j.peakRssMB);
    return j.rssMB;
  },
  async reference() {
    return (await this.probe('none')).rssMB;
  },
  setup() {
    this.peaks = {};
  },
  extra(_m, c) {
    return this.peaks[c] ? { peakRssMB: median(this.peaks[c]), peakSamples: this.peaks[c] } : {};
  },
};

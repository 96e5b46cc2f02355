// W5: Σ sqrt·sin over 2^24 f64 on a SharedArrayBuffer, 64 chunks: speed-up over one thread.

import { N, Q } from '../lib/config.mjs';
import { bareThreadsW5 } from '../lib/bare-threads.mjs';
import { fmt } from '../lib/format.mjs';
import { now, refMedian, withPool } from '../lib/harness.mjs';
import { OURS_FNS, isOurs } from '../lib/pools.mjs';

const W5_LEN = 1 << 24;
const W5_CHUNKS = 64;
let w5 = null; // { sab, f64, bounds, expected }

export default {
  id: 'W5',
  title: 'Σ sqrt·sin over 2^24 f64 on a SAB, 64 chunks',
  metric: 'speed-up vs 1 thread',
  unit: 'ms',
  better: 'higher', // of the figure (speed-up)
  reps: Q ? 2 : 9, // CPU-bound on a shared VM: the noisiest figures
  timeoutMs: 120_000,
  params: { length: W5_LEN, chunks: W5_CHUNKS },
  refLabel: '1 thread',
  fmt: fmt.x,
  sampleFmt: fmt.ms, // samples are wall times; the figure is t1 / tN
  // The ceiling no pool can pass: N bare worker_threads, one message each, with an equal
  // contiguous share of the array (no queue, no chunking, no imbalance).
  variants: { 'bare threads': 'ours' },
  variantNote: (v, r) => `W5 ${v} (${N} worker_threads given one equal share each, no pool: the machine's ceiling): ${fmt.x(r.figure)}.`,
  setup() {
    const sab = new SharedArrayBuffer(W5_LEN * 8);
    const f64 = new Float64Array(sab);
    let seed = 12345;
    for (let i = 0; i < W5_LEN; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      f64[i] = (seed / 4294967296) * 1000;
    }
    const step = W5_LEN / W5_CHUNKS;
    const bounds = Array.from({ length: W5_CHUNKS }, (_, k) => [k * step, (k + 1) * step]);
    w5 = { sab, f64, bounds, expected: null };
    w5.expected = this.single();
  },
  teardown() {
    w5 = null;
  },
  single() {
    let total = 0;
    for (const [s, e] of w5.bounds) total += OURS_FNS.sabChunk(w5.f64, s, e);
    return total;
  },
  check(total) {
    if (Math.abs(total - w5.expected) > 1e-6 * Math.abs(w5.expected)) throw new Error(`wrong sum ${total} != ${w5.expected}`);
  },
  async sample(c) {
    const { sab, f64, bounds } = w5;
    if (c === 'bare threads') return bareThreadsW5(sab, W5_LEN, (total) => this.check(total));
    // Warm-up chunks of the timed size, so that every worker's loop is optimized, as it is for
    // the 1-thread reference and the bare-threads ceiling: the timing is the pool's, not V8's
    // tiering in a fresh isolate (about 3 ms per worker, paid alike by every pool).
    // Ours and 'before' get the typed array itself (shared, not copied); the peers the SAB.
    const [s0, e0] = bounds[0];
    const warm = (p) =>
      Promise.all(
        Array.from({ length: N * 2 }, () => (isOurs(c) ? p.raw.submit(OURS_FNS.sabChunk, f64, s0, e0) : p.call('sabChunk', { sab, start: s0, end: e0 }))),
      );
    return withPool('thread', c, warm, async (p) => {
      const t0 = now();
      const parts = isOurs(c)
        ? await Promise.all(bounds.map(([s, e]) => p.raw.submit(OURS_FNS.sabChunk, f64, s, e)))
        : await Promise.all(bounds.map(([s, e]) => p.call('sabChunk', { sab, start: s, end: e })));
      const dt = now() - t0;
      let total = 0;
      for (const x of parts) total += x;
      this.check(total);
      return dt;
    });
  },
  async reference() {
    const t0 = now();
    const total = this.single();
    const dt = now() - t0;
    this.check(total);
    return dt;
  },
  // the figure is the speed-up t1 / tN, from the medians
  figure(medianMs) {
    return refMedian.W5 ? refMedian.W5 / medianMs : NaN;
  },
  refFigure() {
    return 1;
  },
};

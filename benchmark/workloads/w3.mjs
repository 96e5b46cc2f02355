// W3: map x * 2 over 1M items (quick: 100k). Ours (and 'before') use map() with its default
// chunksize; the peers send one task per item.

import { N, Q } from '../lib/config.mjs';
import { fmt } from '../lib/format.mjs';
import { now, withPool } from '../lib/harness.mjs';
import { isOurs, warmUp } from '../lib/pools.mjs';

const W3_BATCH = 10_000;
let w3Input = null;

export default {
  id: 'W3',
  title: `map x*2 over ${Q ? '100k' : '1M'} items`,
  metric: 'items/s',
  unit: 'items/s',
  better: 'higher',
  reps: Q ? 1 : 2,
  timeoutMs: 360_000,
  params: { items: Q ? 100_000 : 1_000_000, peerBatch: W3_BATCH },
  // ours' map() chunks by default (chunksize 'auto'); this variant sends one task per
  // item, as the peers do. Reported beside the table, not in it. (The 'before' one runs only
  // with --baseline: a variant runs when its base contender does.)
  // The buffersize variants stream the same input lazily (at most 10,000 items in flight).
  variants: { 'ours chunksize=1': 'ours', 'before chunksize=1': 'before', 'ours buffersize=10000': 'ours', 'before buffersize=10000': 'before' },
  variantNote(v, r) {
    const how = v.endsWith('buffersize=10000') ? 'map() with { buffersize: 10_000 }, the input read lazily' : 'one task per item, like the peers';
    const ratio = r.ratio !== undefined ? ` (${r.ratio.toFixed(2)}× piscina)` : '';
    return `W3 ${v} (${how}): ${this.fmt(r.figure)}${ratio}; the '${this.variants[v]}' column uses map()'s default chunksize 'auto'.`;
  },
  refLabel: 'plain loop',
  fmt: fmt.rate,
  setup() {
    const n = this.params.items;
    w3Input = Array.from({ length: n }, (_, i) => i);
  },
  teardown() {
    w3Input = null;
  },
  check(sum) {
    const n = this.params.items;
    if (sum !== n * (n - 1)) throw new Error(`wrong sum ${sum}`);
  },
  async sample(c) {
    const input = w3Input;
    const n = input.length;
    const lib = this.variants[c] || c;
    return withPool('thread', lib, (p) => warmUp(p, N, 'double'), async (p) => {
      let sum = 0;
      const t0 = now();
      if (isOurs(c)) {
        for await (const r of p.raw.map((x) => x * 2, input)) sum += r;
      } else if (isOurs(lib) && c.endsWith('buffersize=10000')) {
        for await (const r of p.raw.map((x) => x * 2, input, { buffersize: 10_000 })) sum += r;
      } else if (isOurs(lib)) {
        // 'ours chunksize=1' / 'before chunksize=1'
        for await (const r of p.raw.map((x) => x * 2, input, { chunksize: 1 })) sum += r;
      } else {
        // One task per item, all in flight -- in batches of W3_BATCH, because
        // tinypool and workerpool slow down quadratically with 1M tasks queued.
        for (let b = 0; b < n; b += W3_BATCH) {
          const e = Math.min(n, b + W3_BATCH);
          const fs = new Array(e - b);
          for (let i = b; i < e; i++) fs[i - b] = p.call('double', input[i]);
          const rs = await Promise.all(fs);
          for (let i = 0; i < rs.length; i++) sum += rs[i];
        }
      }
      const dt = now() - t0;
      this.check(sum);
      return (n / dt) * 1000;
    });
  },
  async reference() {
    const input = w3Input;
    const n = input.length;
    const out = new Array(n);
    const t0 = now();
    for (let i = 0; i < n; i++) out[i] = input[i] * 2;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += out[i];
    const dt = now() - t0;
    this.check(sum);
    return (n / dt) * 1000;
  },
};

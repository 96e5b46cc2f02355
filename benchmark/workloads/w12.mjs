// W12: medium payloads. 20,000 tasks in flight, each with its own ~2 KB plain object (an order
// record: nested objects and arrays, strings and numbers) and a result of about the same size
// (its summary: the order lines with subtotals, the total): tasks/s, and the main thread's time
// in the submit loop per task, beside the cost of JSON.stringify of one such record measured in
// the same run (the reference, alternating with the contenders like one of them).
// Every result is checked against the summary computed on the main thread before the clock.

import { N, Q } from '../lib/config.mjs';
import { fmt } from '../lib/format.mjs';
import { median, now, refMedian, withPool } from '../lib/harness.mjs';
import { OURS_FNS, isOurs } from '../lib/pools.mjs';

const TASKS = 20_000;
const ORDERS_PER_RECORD = 18; // about 2,000 characters of JSON per record

/** Record `i`: distinct numbers and strings, the same shape for every record. */
function orderRecord(i) {
  const orders = [];
  for (let k = 0; k < ORDERS_PER_RECORD; k++)
    orders.push({
      sku: 'SKU-' + String((i * 31 + k * 7) % 100_000).padStart(6, '0'),
      qty: 1 + ((i + k) % 9),
      price: 0.25 * (1 + ((i * 7 + k * 13) % 400)),
      note: 'leave at the back door if nobody answers',
    });
  return {
    id: i,
    name: `Customer ${i}`,
    email: `customer${i}@example.com`,
    address: { street: `${i % 997} Long Street`, city: 'Springfield', zip: String(10_000 + (i % 89_999)), country: 'US' },
    tags: ['priority', 'wholesale', `region-${i % 12}`, 'newsletter'],
    scores: Array.from({ length: 12 }, (_, k) => ((i * 13 + k * 101) % 1000) / 8),
    orders,
  };
}

let w12 = null; // { records, expected: [{ total, items }] }

export default {
  id: 'W12',
  title: '20k × 2 KB objects in and out, all in flight',
  metric: 'tasks/s, submit µs/task',
  unit: 'tasks/s',
  better: 'higher',
  reps: Q ? 1 : 3,
  timeoutMs: 180_000,
  params: { tasks: TASKS, ordersPerRecord: ORDERS_PER_RECORD },
  refLabel: 'JSON.stringify',
  fmt: fmt.rate,
  refFmt: fmt.us,
  setup() {
    const records = Array.from({ length: TASKS }, (_, i) => orderRecord(i));
    const expected = records.map((r) => {
      const s = OURS_FNS.summarize(r);
      return { total: s.total, items: s.items };
    });
    this.params.jsonChars = JSON.stringify(records[0]).length;
    this.submitUs = {};
    w12 = { records, expected };
  },
  teardown() {
    w12 = null;
  },
  check(results) {
    const { records, expected } = w12;
    if (results.length !== TASKS) throw new Error(`${results.length} results for ${TASKS} tasks`);
    for (let i = 0; i < TASKS; i++) {
      const r = results[i];
      if (!r || r.id !== i || r.total !== expected[i].total || r.items !== expected[i].items || r.lines?.length !== ORDERS_PER_RECORD || r.zip !== records[i].address.zip)
        throw new Error(`task ${i}: wrong result ${JSON.stringify(r)?.slice(0, 120)}`);
    }
  },
  async sample(c) {
    const { records } = w12;
    const warmRecord = orderRecord(TASKS);
    const warm = (p) => Promise.all(Array.from({ length: 2 * N }, () => p.call('summarize', warmRecord)));
    return withPool('thread', c, warm, async (p) => {
      const futures = new Array(TASKS);
      const t0 = now();
      if (isOurs(c)) {
        const ex = p.raw;
        for (let i = 0; i < TASKS; i++) futures[i] = ex.submit(OURS_FNS.summarize, records[i]);
      } else {
        for (let i = 0; i < TASKS; i++) futures[i] = p.call('summarize', records[i]);
      }
      const tSubmitted = now();
      const results = await Promise.all(futures);
      const dt = now() - t0;
      this.check(results);
      (this.submitUs[c] ||= []).push(((tSubmitted - t0) / TASKS) * 1000);
      return (TASKS / dt) * 1000;
    });
  },
  // µs per record for JSON.stringify of the same 20,000 records, on the main thread.
  async reference() {
    const { records } = w12;
    let chars = 0;
    const t0 = now();
    for (let i = 0; i < TASKS; i++) chars += JSON.stringify(records[i]).length;
    const dt = now() - t0;
    if (chars < TASKS * 1000) throw new Error(`JSON.stringify gave ${chars} characters`);
    return (dt / TASKS) * 1000;
  },
  extra(_m, c) {
    const us = this.submitUs[c];
    if (!us) return {};
    const submitUsPerTask = median(us);
    return {
      submitUsPerTask,
      submitUsSamples: us,
      ...(refMedian.W12 ? { submitVsStringify: submitUsPerTask / refMedian.W12 } : {}),
    };
  },
  cellSuffix(r) {
    return r.submitUsPerTask !== undefined ? `, submit ${fmt.us(r.submitUsPerTask)}` : '';
  },
  notes(res) {
    const ref = res.reference?.figure;
    const parts = Object.entries(res.contenders)
      .filter(([, r]) => r.submitUsPerTask !== undefined)
      .map(([c, r]) => `${c} ${fmt.us(r.submitUsPerTask)}${r.submitVsStringify !== undefined ? ` (${r.submitVsStringify.toFixed(2)}×)` : ''}`);
    if (!parts.length) return [];
    return [
      `W12 submit loop, main thread per task (× JSON.stringify of one ${this.params.jsonChars}-character record, ${ref !== undefined ? fmt.us(ref) : '—'}; goal for ours ≤ 2×): ${parts.join(', ')}.`,
    ];
  },
};

// A parallel numeric job on shared memory: the sum of sqrt(x) * sin(x) over a large Float64Array.
// The array lives in a SharedArrayBuffer, so every worker thread reads the same memory (nothing is
// copied); each task sums one range. The result is checked against a single-threaded sum.
//
//   node examples/shared-memory-sum.mjs [length]
import os from 'node:os';
import { performance } from 'node:perf_hooks';

import { repeat, ThreadPoolExecutor } from 'concurrent-futures';

const length = Number(process.argv[2] ?? 4_000_000);
const values = new Float64Array(new SharedArrayBuffer(length * Float64Array.BYTES_PER_ELEMENT));
for (let i = 0; i < length; i++) values[i] = (i % 10_000) * 0.01;

// Self-contained: it travels to the workers by its source text, so it may use only its arguments.
function sumRange(values, start, end) {
  let sum = 0;
  for (let i = start; i < end; i++) sum += Math.sqrt(values[i]) * Math.sin(values[i]);
  return sum;
}

let t0 = performance.now();
const expected = sumRange(values, 0, length);
const singleMs = performance.now() - t0;

const workers = Math.min(os.availableParallelism(), 8);
const chunks = workers * 4;
const starts = Array.from({ length: chunks }, (_, i) => Math.floor((i * length) / chunks));
const ends = starts.map((_, i) => (i + 1 < chunks ? starts[i + 1] : length));

const ex = new ThreadPoolExecutor({ maxWorkers: workers });
try {
  // Warm up the workers (start them, compile sumRange), so that the timing below is the job's.
  for await (const _ of ex.map(sumRange, repeat(values), [0], [1000], { chunksize: 1 }));

  t0 = performance.now();
  let total = 0;
  // One task per range; repeat(values) hands the same shared array to each of them.
  for await (const partial of ex.map(sumRange, repeat(values), starts, ends, { chunksize: 1 })) total += partial;
  const parallelMs = performance.now() - t0;

  const relativeError = Math.abs(total - expected) / Math.abs(expected);
  console.log(`elements:       ${length.toLocaleString('en')} (shared, ${(values.byteLength / 2 ** 20).toFixed(0)} MiB)`);
  console.log(`single thread:  ${expected.toFixed(6)} in ${singleMs.toFixed(1)} ms`);
  console.log(`${String(workers).padStart(2)} workers:     ${total.toFixed(6)} in ${parallelMs.toFixed(1)} ms (${chunks} ranges)`);
  console.log(`relative error: ${relativeError.toExponential(2)}`);
  if (!(relativeError < 1e-9)) {
    console.error('MISMATCH: the parallel sum differs from the single-threaded one');
    process.exitCode = 1;
  } else {
    console.log('match: yes');
  }
} finally {
  await ex.shutdown();
}

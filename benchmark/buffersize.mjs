// map() with and without `buffersize` over a long generated input: throughput, and the heap after
// each million items (after a full collection), so that a per-item leak shows as growth.
//
//   node --expose-gc benchmark/buffersize.mjs [--items 10000000] [--buffersize 10000] [--root DIR]
//
// DIR: the root of a built checkout of this package (default: this one), e.g. a baseline.

import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const items = Number(arg('items', 10_000_000));
const buffersize = Number(arg('buffersize', 10_000));
const root = path.resolve(arg('root', path.join(path.dirname(fileURLToPath(import.meta.url)), '..')));
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const { ThreadPoolExecutor } = await import(pathToFileURL(path.join(root, 'esm', 'index.mjs')).href);

const heapMB = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

for (const options of [{}, { buffersize }]) {
  const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
  await Promise.all([1, 2, 3, 4].map((i) => ex.submit((x) => x * 2, i)));
  function* naturals() {
    for (let i = 0; i < items; i++) yield i;
  }
  const heap = [heapMB()];
  let sum = 0;
  let seen = 0;
  let timed = 0;
  let t0 = performance.now();
  for await (const v of ex.map((x) => x * 2, naturals(), options)) {
    sum += v;
    if (++seen % 1_000_000 === 0) {
      timed += performance.now() - t0; // the collections are not timed
      heap.push(heapMB());
      t0 = performance.now();
    }
  }
  timed += performance.now() - t0;
  if (sum !== items * (items - 1)) throw new Error(`wrong sum ${sum}`);
  const report = {
    options,
    items,
    itemsPerS: Math.round((items / timed) * 1000),
    heapMB: heap.map((h) => +h.toFixed(1)),
    heapGrowthMB: +(heap[heap.length - 1] - heap[1]).toFixed(1),
    rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
  console.log(JSON.stringify(report));
  await ex.shutdown();
}

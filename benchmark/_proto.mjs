import { Piscina } from 'piscina';
import { Tinypool } from 'tinypool';
import workerpool from 'workerpool';
import { FixedThreadPool } from 'poolifier';
import { fileURLToPath } from 'node:url';
const W = '/work/main/benchmark/workers/';
const N = +process.argv[2] || 100000;
const mk = {
  piscina: () => { const p = new Piscina({ filename: W + 'piscina.mjs', minThreads: 2, maxThreads: 2 }); return { run: (x) => p.run(x, { name: 'inc' }), close: () => p.destroy() }; },
  tinypool: () => { const p = new Tinypool({ filename: W + 'piscina.mjs', minThreads: 2, maxThreads: 2 }); return { run: (x) => p.run(x, { name: 'inc' }), close: () => p.destroy() }; },
  workerpool: () => { const p = workerpool.pool(W + 'workerpool.cjs', { minWorkers: 2, maxWorkers: 2, workerType: 'thread' }); return { run: (x) => p.exec('inc', [x]), close: () => p.terminate() }; },
  poolifier: () => { const p = new FixedThreadPool(2, W + 'poolifier.mjs'); return { run: (x) => p.execute(x, 'inc'), close: () => p.destroy() }; },
};
for (const name of process.argv.slice(3)) {
  const p = mk[name]();
  await Promise.all([p.run(1), p.run(2)]);
  const m0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const fs = new Array(N);
  for (let i = 0; i < N; i++) fs[i] = p.run(i);
  const tsub = performance.now() - t0;
  const r = await Promise.all(fs);
  const t = performance.now() - t0;
  console.log(name, N, 'submit', tsub.toFixed(0), 'ms total', t.toFixed(0), 'ms', (N / t * 1000).toFixed(0), '/s', 'rss+', ((process.memoryUsage().rss - m0) / 1e6).toFixed(0), 'MB', r[N - 1]);
  await p.close();
}

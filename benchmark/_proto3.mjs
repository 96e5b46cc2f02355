import { Tinypool } from 'tinypool';
import workerpool from 'workerpool';
import { FixedClusterPool } from 'poolifier';
const W = '/work/main/benchmark/workers/';
const N = 10000;
const mk = {
  tinypool: () => { const p = new Tinypool({ filename: W + 'piscina.mjs', minThreads: 2, maxThreads: 2, runtime: 'child_process' }); return { run: (x) => p.run(x, { name: 'inc' }), close: () => p.destroy() }; },
  workerpool: () => { const p = workerpool.pool(W + 'workerpool.cjs', { minWorkers: 2, maxWorkers: 2, workerType: 'process' }); return { run: (x) => p.exec('inc', [x]), close: () => p.terminate() }; },
  poolifier: () => { const p = new FixedClusterPool(2, W + 'poolifier-cluster.cjs'); return { run: (x) => p.execute(x, 'inc'), close: () => p.destroy() }; },
};
for (const name of process.argv.slice(2)) {
  const p = mk[name]();
  await Promise.all([p.run(1), p.run(2)]);
  const t0 = performance.now();
  const fs = new Array(N);
  for (let i = 0; i < N; i++) fs[i] = p.run(i);
  const r = await Promise.all(fs);
  const t = performance.now() - t0;
  console.log(name, N, t.toFixed(0), 'ms', (N / t * 1000).toFixed(0), '/s', r.reduce((a, b) => a + b, 0));
  await p.close();
}

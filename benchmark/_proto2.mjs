import { Piscina } from 'piscina';
import { Tinypool } from 'tinypool';
import workerpool from 'workerpool';
import { FixedThreadPool } from 'poolifier';
const W = '/work/main/benchmark/workers/';
const N = +process.argv[2] || 100000;
const WIN = +process.argv[3];
const mk = {
  piscina: () => { const p = new Piscina({ filename: W + 'piscina.mjs', minThreads: 2, maxThreads: 2 }); return { run: (x) => p.run(x, { name: 'double' }), close: () => p.destroy() }; },
  tinypool: () => { const p = new Tinypool({ filename: W + 'piscina.mjs', minThreads: 2, maxThreads: 2 }); return { run: (x) => p.run(x, { name: 'double' }), close: () => p.destroy() }; },
  workerpool: () => { const p = workerpool.pool(W + 'workerpool.cjs', { minWorkers: 2, maxWorkers: 2, workerType: 'thread' }); return { run: (x) => p.exec('double', [x]), close: () => p.terminate() }; },
  poolifier: () => { const p = new FixedThreadPool(2, W + 'poolifier.mjs'); return { run: (x) => p.execute(x, 'double'), close: () => p.destroy() }; },
};
for (const name of process.argv.slice(4)) {
  const p = mk[name]();
  await Promise.all([p.run(1), p.run(2)]);
  const input = Float64Array.from({ length: N }, (_, i) => i);
  const t0 = performance.now();
  let sum = 0;
  for (let b = 0; b < N; b += WIN) {
    const e = Math.min(N, b + WIN);
    const fs = new Array(e - b);
    for (let i = b; i < e; i++) fs[i - b] = p.run(input[i]);
    const r = await Promise.all(fs);
    for (const v of r) sum += v;
  }
  const t = performance.now() - t0;
  console.log(name, N, 'win', WIN, t.toFixed(0), 'ms', (N / t * 1000).toFixed(0), '/s', sum);
  await p.close();
}

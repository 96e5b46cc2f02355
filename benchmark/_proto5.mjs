import { Piscina } from 'piscina';
import { Tinypool } from 'tinypool';
import workerpool from 'workerpool';
import { FixedThreadPool } from 'poolifier';
const W = '/work/main/benchmark/workers/';
const N = +process.argv[2] || 100000;
const K = +process.argv[3];
const mk = {
  piscina: () => { const p = new Piscina({ filename: W + 'piscina.mjs', minThreads: 2, maxThreads: 2 }); return { run: (x) => p.run(x, { name: 'double' }), close: () => p.destroy() }; },
  tinypool: () => { const p = new Tinypool({ filename: W + 'piscina.mjs', minThreads: 2, maxThreads: 2 }); return { run: (x) => p.run(x, { name: 'double' }), close: () => p.destroy() }; },
  workerpool: () => { const p = workerpool.pool(W + 'workerpool.cjs', { minWorkers: 2, maxWorkers: 2, workerType: 'thread' }); return { run: (x) => p.exec('double', [x]), close: () => p.terminate() }; },
  poolifier: () => { const p = new FixedThreadPool(2, W + 'poolifier.mjs'); return { run: (x) => p.execute(x, 'double'), close: () => p.destroy() }; },
};
for (const name of process.argv.slice(4)) {
  const p = mk[name]();
  await Promise.all([p.run(1), p.run(2)]);
  const input = Array.from({ length: N }, (_, i) => i);
  const out = new Array(N);
  const t0 = performance.now();
  let next = 0, inflight = 0;
  await new Promise((resolve, reject) => {
    const launch = () => {
      while (inflight < K && next < N) {
        const i = next++; inflight++;
        p.run(input[i]).then((v) => { out[i] = v; inflight--; if (next < N) launch(); else if (inflight === 0) resolve(); }, reject);
      }
    };
    launch();
  });
  const t = performance.now() - t0;
  let sum = 0; for (const v of out) sum += v;
  console.log(name, N, 'slide', K, t.toFixed(0), 'ms', (N / t * 1000).toFixed(0), '/s', sum);
  await p.close();
}

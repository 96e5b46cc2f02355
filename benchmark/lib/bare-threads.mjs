// The machine's ceilings for W4 and W5 (the notes under the table): N bare worker_threads,
// no pool, no queue.

import { Worker } from 'node:worker_threads';
import { N } from './config.mjs';
import { fibLocal, now } from './harness.mjs';
import { OURS_FNS } from './pools.mjs';

/** W5's ceiling: N bare worker_threads each sum one equal share (the second time: warm); ms from the posts to the last reply.
 *  `length` is the array's, `check(total)` W5's result check. */
export async function bareThreadsW5(sab, length, check) {
  const source = `const { parentPort, workerData } = require('node:worker_threads');
const a = new Float64Array(workerData);
const sum = ${OURS_FNS.sabChunk.toString()};
parentPort.on('message', ([s, e]) => parentPort.postMessage(sum(a, s, e)));`;
  return withBareThreads(source, sab, async (call) => {
    const share = length / N;
    const run = () => Promise.all(Array.from({ length: N }, (_, k) => call(k, [Math.floor(k * share), Math.floor((k + 1) * share)])));
    await run(); // untimed: every thread's loop fully optimized, as it would be after many chunks
    const t0 = now();
    const parts = await run();
    const dt = now() - t0;
    check(parts.reduce((a, b) => a + b, 0));
    return dt;
  });
}

/** Starts N bare worker_threads from `source`, runs `body(call)` where `call(k, message)` posts to
 *  thread k and resolves with its reply, and always ends the threads. */
async function withBareThreads(source, workerData, body) {
  const workers = Array.from({ length: N }, () => new Worker(source, { eval: true, workerData }));
  const call = (k, message) => new Promise((resolve, reject) => {
    workers[k].once('message', resolve);
    workers[k].once('error', reject);
    workers[k].postMessage(message);
  });
  try {
    return await body(call);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** W4's ceiling: N bare worker_threads that take task indices from one shared counter (the best
 *  dynamic split, with no queue, messages or promises per task), warmed up like the pools; ms
 *  from the posts to the last reply. */
export async function bareThreadsW4(tasks, n) {
  const source = `const { parentPort } = require('node:worker_threads');
const fib = ${OURS_FNS.fib.toString()};
parentPort.on('message', ({ counter, tasks, n }) => {
  const next = new Int32Array(counter);
  let sum = 0;
  while (Atomics.add(next, 0, 1) < tasks) sum += fib(n);
  parentPort.postMessage(sum);
});`;
  return withBareThreads(source, undefined, async (call) => {
    const run = (count, arg) => {
      const counter = new SharedArrayBuffer(4);
      return Promise.all(Array.from({ length: N }, (_, k) => call(k, { counter, tasks: count, n: arg })));
    };
    await run(N * 2, 20); // as `warmUp(p, N, 'fib', 20)` warms the pools
    const t0 = now();
    const sums = await run(tasks, n);
    const dt = now() - t0;
    if (sums.reduce((a, b) => a + b, 0) !== tasks * fibLocal(n)) throw new Error('wrong fib result');
    return dt;
  });
}

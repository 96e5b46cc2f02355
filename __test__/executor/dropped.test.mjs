// An executor that goes out of reach without shutdown() is collected, and its idle workers exit
// (as Python's do once their executor is collected); see `dropped` in src/executor/pool-executor.ts.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import test from 'ava';

import { ProcessPoolExecutor, ThreadPoolExecutor } from '../../esm/index.mjs';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

/** Collects garbage until `check` holds or 20 s pass; answers whether it held. */
async function collectUntil(check) {
  for (const end = Date.now() + 20_000; Date.now() < end; ) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (await check()) return true;
  }
  return false;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a dropped ThreadPoolExecutor is collected and its idle worker threads exit', async (t) => {
  // Each worker marks its slot of `exited` when its thread exits.
  const exited = new Int32Array(new SharedArrayBuffer(8));
  await (async () => {
    const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const slots = await Promise.all(
      [0, 1].map((slot) =>
        ex.submit(
          (exited, gate, slot) => {
            // Both tasks run at once, so each worker has one.
            Atomics.add(gate, 0, 1);
            while (Atomics.load(gate, 0) < 2) Atomics.wait(gate, 0, Atomics.load(gate, 0), 5);
            process.on('exit', () => Atomics.store(exited, slot, 1));
            return slot;
          },
          exited,
          gate,
          slot,
        ),
      ),
    );
    t.deepEqual(slots, [0, 1]);
  })();
  t.deepEqual([...exited], [0, 0], 'the workers run while their executor is in reach');
  t.true(await collectUntil(() => exited[0] === 1 && exited[1] === 1), 'both workers exited once the executor was collected');
});

test('a dropped ProcessPoolExecutor is collected and its idle children exit', async (t) => {
  const pids = await (async () => {
    const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    return [await ex.submit(() => process.pid)];
  })();
  t.true(alive(pids[0]), 'the child runs while its executor is in reach');
  t.true(await collectUntil(() => !alive(pids[0])), 'the child exited once the executor was collected');
});

test('an executor with pending work is not collected: the work completes', async (t) => {
  const results = (() => {
    const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
    return Array.from({ length: 4 }, (_, i) =>
      ex
        .submit((ms, i) => new Promise((resolve) => setTimeout(() => resolve(i), ms)), 100, i)
        .result(),
    );
  })();
  gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
  gc();
  t.deepEqual(await Promise.all(results), [0, 1, 2, 3]);
});

// Shared memory on a ThreadPoolExecutor goes by reference whichever side created it (see
// src/hosts/thread/shared-memory.ts): the main thread, or any worker.
import test from 'ava';

import { ThreadPoolExecutor } from '../../esm/index.mjs';

const threadId = () => process.getBuiltinModule('node:worker_threads').threadId;

/** Runs `fn` on every worker of `ex` at once (each blocks until all have started), answering by thread. */
async function onEachWorker(ex, fn, ...args) {
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const all = Array.from({ length: ex.maxWorkers }, () =>
    ex.submit(
      (gate, workers, fn, ...args) => {
        Atomics.add(gate, 0, 1);
        while (Atomics.load(gate, 0) < workers) Atomics.wait(gate, 0, Atomics.load(gate, 0), 5);
        return [process.getBuiltinModule('node:worker_threads').threadId, (0, eval)(`(${fn})`)(...args)];
      },
      gate,
      ex.maxWorkers,
      fn.toString(),
      ...args,
    ),
  );
  return new Map(await Promise.all(all));
}

test("a worker's own SharedArrayBuffer, returned and sent on, is the same memory on every other worker", async (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 3 });
  try {
    const made = await onEachWorker(ex, () => {
      const view = new Int32Array(new SharedArrayBuffer(8));
      view[0] = 7;
      return view;
    });
    t.is(made.size, 3, 'every worker made one');
    for (const [maker, view] of made) {
      t.is(view[0], 7);
      // Every worker, the maker included, writes through the view it is sent; all writes land in one buffer.
      const seen = await onEachWorker(ex, (view) => Atomics.add(view, 1, 1) + 0 * view[0], view);
      t.is(seen.size, 3);
      t.true(seen.has(maker));
      t.is(Atomics.load(view, 1), 3, `all three workers wrote into the buffer worker ${maker} made`);
    }
  } finally {
    await ex.shutdown();
  }
});

test('shared memory made on the main thread after the workers started reaches each of them', async (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
  try {
    await onEachWorker(ex, threadId);
    const view = new Float64Array(new SharedArrayBuffer(16));
    const seen = await onEachWorker(ex, (view) => Atomics.add(new Int32Array(view.buffer), 0, 1), view);
    t.is(seen.size, 2);
    t.is(new Int32Array(view.buffer)[0], 2);
  } finally {
    await ex.shutdown();
  }
});

// Shared memory on a ThreadPoolExecutor goes by reference whichever side created it (see
// src/hosts/thread/shared-memory.ts): the main thread, or any worker; and is let go once the
// caller lets it go.
import { fileURLToPath } from 'node:url';

import test from 'ava';

import { ThreadPoolExecutor } from '../../esm/index.mjs';
import { jsonLines, runNode } from '../reliability/fixtures/reliability-helpers.mjs';

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

test('a SharedArrayBuffer a task returns as it got it is the very object sent; one of its own arrives as new shared memory', async (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
  try {
    const sab = new SharedArrayBuffer(64);
    const view = new Int32Array(sab);
    const back = await ex.submit((v) => v, view);
    t.is(back.buffer, sab, 'the same SharedArrayBuffer object');
    const [own, again] = await ex.submit((v) => {
      const mine = new Int32Array(new SharedArrayBuffer(8));
      mine[0] = 5;
      return [mine, mine];
    }, view);
    t.is(own.buffer, again.buffer, 'one buffer named twice in a result is one buffer');
    t.is(own[0], 5);
    // Sent on to both workers, the worker's own memory is still one memory.
    await Promise.all([ex.submit((m) => Atomics.add(m, 1, 1), own), ex.submit((m) => Atomics.add(m, 1, 1), own)]);
    t.is(own[1], 2);
  } finally {
    await ex.shutdown();
  }
});

test('shared memory the caller let go is let go by the executor too, both ways (main thread and workers)', async (t) => {
  const file = fileURLToPath(new URL('fixtures/shared-memory-release.mjs', import.meta.url));
  // 60 rounds of 16 MB: 960 MB sent by the main thread, a third of it returned as is, 320 MB made
  // by the workers. Each was held for good before (RSS grew by 1.3 GB).
  // glibc would otherwise raise its mmap threshold as the first buffers are freed, and keep later
  // ones in its heap once freed: the RSS would not tell what was let go.
  const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072' };
  const run = await runNode(file, ['60', '16'], { nodeArgs: ['--expose-gc'], env, timeout: 120_000 });
  t.false(run.timedOut, 'the child finished in time');
  t.is(run.code, 0, run.stderr);
  const lines = jsonLines(run);
  const baseline = lines.find((l) => l.phase === 'baseline');
  const end = lines.find((l) => l.phase === 'end');
  const mb = (bytes) => bytes / 1048576;
  const growthMb = mb(end.rss - baseline.rss);
  t.log(`RSS growth after 60 × 16 MB of shared memory, let go: ${growthMb.toFixed(1)} MB`);
  t.true(growthMb < 200, `RSS grew by ${growthMb.toFixed(1)} MB: shared memory let go by the caller is still held`);
  // 20 × 16 MB whose futures are kept: 320 MB if the futures kept their arguments.
  const kept = lines.find((l) => l.phase === 'futures kept');
  t.log(`futures kept: RSS ${mb(kept.rss - baseline.rss).toFixed(1)} MB above the start`);
  t.true(mb(kept.rss - end.rss) < 150, `keeping ${kept.futures} settled futures kept ${mb(kept.rss - end.rss).toFixed(1)} MB of their arguments`);
  // 30 items of 16 MB in one chunk, handed over one by one: 480 MB at its peak if the chunk's
  // buffers were kept until its end.
  const map = lines.find((l) => l.phase === 'map');
  t.log(`map chunk: peak RSS ${mb(map.peak - baseline.rss).toFixed(1)} MB above the start`);
  t.true(mb(map.peak - kept.rss) < 250, `the chunk's items' buffers were held together: peak ${mb(map.peak - kept.rss).toFixed(1)} MB`);
});

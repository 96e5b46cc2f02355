// A worker that dies abruptly. By default the executor breaks, as Python's process pool does, and
// its Broken* error says how the worker ended; with `replaceCrashedWorkers: true` only the task the
// worker was running fails, with WorkerCrashedError, and a new worker replaces it.
import test from 'ava';

import { BrokenProcessPool, BrokenThreadPool, ProcessPoolExecutor, ThreadPoolExecutor, WorkerCrashedError } from '../../esm/index.mjs';

const POOLS = [
  ['ThreadPoolExecutor', ThreadPoolExecutor, BrokenThreadPool],
  ['ProcessPoolExecutor', ProcessPoolExecutor, BrokenProcessPool],
];

const spin = (ms, value) => {
  const end = Date.now() + ms;
  while (Date.now() < end);
  return value;
};

for (const [name, Pool, Broken] of POOLS) {
  test(`${name}: with replaceCrashedWorkers, a task whose worker exits fails alone and the executor goes on`, async (t) => {
    const ex = new Pool({ maxWorkers: 2, replaceCrashedWorkers: true });
    try {
      const before = Array.from({ length: 4 }, (_, i) => ex.submit(spin, 30, i));
      const crash = ex.submit(() => process.exit(3));
      const after = Array.from({ length: 4 }, (_, i) => ex.submit(spin, 30, 10 + i));
      const error = await t.throwsAsync(crash, { instanceOf: WorkerCrashedError });
      t.is(error.exitCode, 3);
      t.is(error.signal, null);
      t.regex(error.message, /exited abruptly \(exit code 3\)/);
      t.deepEqual(await Promise.all([...before, ...after]), [0, 1, 2, 3, 10, 11, 12, 13]);
      t.is(await ex.submit((x) => x * 2, 21), 42);
      const again = await t.throwsAsync(ex.submit(() => process.exit(5)), { instanceOf: WorkerCrashedError });
      t.is(again.exitCode, 5, 'a replacement crashing is replaced too');
      t.is(await ex.submit((x) => x + 1, 1), 2);
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: with replaceCrashedWorkers, a map item whose worker dies fails at its position`, async (t) => {
    const ex = new Pool({ maxWorkers: 1, replaceCrashedWorkers: true });
    try {
      const seen = [];
      const error = await t.throwsAsync(async () => {
        for await (const x of ex.map((i) => (i === 2 ? process.exit(9) : i), [0, 1, 2, 3], { chunksize: 1 })) seen.push(x);
      }, { instanceOf: WorkerCrashedError });
      t.deepEqual(seen, [0, 1]);
      t.is(error.exitCode, 9);
      t.is(await ex.submit(() => 'alive'), 'alive');
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: with replaceCrashedWorkers, the items a chunk finished before its worker died are delivered`, async (t) => {
    const ex = new Pool({ maxWorkers: 1, replaceCrashedWorkers: true });
    try {
      for (const [chunksize, count, crashAt] of [
        [4, 4, 1],
        [4, 8, 6],
        ['auto', 400, 300],
      ]) {
        const seen = [];
        const items = Array.from({ length: count }, (_, i) => i);
        await t.throwsAsync(async () => {
          for await (const x of ex.map((i, at) => (i === at ? process.exit(9) : i), items, items.map(() => crashAt), { chunksize })) seen.push(x);
        }, { instanceOf: WorkerCrashedError });
        t.deepEqual(seen, items.slice(0, crashAt), `chunksize ${chunksize}: every item before the crash, in order`);
      }
      t.is(await ex.submit(() => 'alive'), 'alive');
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: by default a crash breaks the executor, and its ${Broken.name} says how the worker ended`, async (t) => {
    const ex = new Pool({ maxWorkers: 1 });
    try {
      const error = await t.throwsAsync(ex.submit(() => process.exit(7)), { instanceOf: Broken });
      t.is(error.exitCode, 7);
      t.is(error.signal, null);
      const thrown = t.throws(() => ex.submit(() => 1), { instanceOf: Broken });
      t.is(thrown.exitCode, 7);
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: replaceCrashedWorkers must be a boolean; a failing initializer still breaks the executor`, async (t) => {
    t.throws(() => new Pool({ replaceCrashedWorkers: 'yes' }), { instanceOf: TypeError, message: /replaceCrashedWorkers must be a boolean/ });
    const ex = new Pool({
      maxWorkers: 1,
      replaceCrashedWorkers: true,
      initializer: () => {
        throw new Error('no setup');
      },
    });
    try {
      await t.throwsAsync(ex.submit(() => 1), { instanceOf: Broken });
      t.throws(() => ex.submit(() => 1), { instanceOf: Broken });
    } finally {
      await ex.shutdown();
    }
  });
}

test('ProcessPoolExecutor: with replaceCrashedWorkers, a child killed by a signal fails its task with that signal', async (t) => {
  const ex = new ProcessPoolExecutor({ maxWorkers: 2, replaceCrashedWorkers: true });
  try {
    const error = await t.throwsAsync(ex.submit(() => process.kill(process.pid, 'SIGKILL')), { instanceOf: WorkerCrashedError });
    t.is(error.exitCode, null);
    t.is(error.signal, 'SIGKILL');
    t.is(await ex.submit((x) => x, 'next'), 'next');
  } finally {
    await ex.shutdown();
  }
});

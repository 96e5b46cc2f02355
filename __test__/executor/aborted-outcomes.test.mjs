// What an aborted, stopped or crashed task leaves behind, on both pools:
// - a task that throws its own signal's reason fails its future with that reason itself (the
//   caller's object; a `TimeoutError` of this package for `timeout`), as a stopped one does;
// - this package's error classes thrown in a worker arrive as themselves;
// - stopping a worker (abortGrace) or a crash (process.exit; a worker thread out of memory) fails
//   that task alone: the tasks submitted with it, before and after it, all end with their own
//   outcomes.
// Timing never decides these tests: the bounds only tell a hang from an answer.
import test from 'ava';

import * as cf from '../../esm/index.mjs';

const { ProcessPoolExecutor, task, ThreadPoolExecutor, TimeoutError, WorkerCrashedError } = cf;

const POOLS = [
  ['ThreadPoolExecutor', ThreadPoolExecutor],
  ['ProcessPoolExecutor', ProcessPoolExecutor],
];

const until = (condition) =>
  new Promise((resolve) => {
    const look = () => (condition() ? resolve() : setTimeout(look, 2));
    look();
  });

const fixture = (name) => task(new URL('./fixtures/current-task.mjs', import.meta.url).href, name);

async function using(ex, body) {
  try {
    return await body(ex);
  } finally {
    await ex.shutdown({ cancelFutures: true });
  }
}

// Sent by source: a synchronous loop that looks at its signal, and an async task that ends on its abort event.
const spinUntilAborted = (ms) => {
  const { signal } = currentTask();
  const end = Date.now() + ms;
  while (Date.now() < end) signal.throwIfAborted();
  return 'not aborted';
};
const awaitAbort = (ms) => {
  const { signal } = currentTask();
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms, 'not aborted');
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
};
const double = (x) => x * 2;
const busy = (ms) => {
  const end = Date.now() + ms;
  while (Date.now() < end);
  return ms;
};
const exitWith = (code) => {
  if (code !== 0) process.exit(code);
  return 0;
};

const outcomes = (futures) => Promise.all(futures.map((f) => f.then((v) => ['ok', v], (e) => ['failed', e])));

for (const [name, Pool] of POOLS) {
  for (const [how, fn] of [
    ['a synchronous loop', spinUntilAborted],
    ['an abort listener', awaitAbort],
  ]) {
    test(`${name}: ${how} that throws its signal's reason fails the future with the caller's reason itself`, (t) =>
      using(new Pool({ maxWorkers: 1, abortGrace: Infinity }), async (ex) => {
        const controller = new AbortController();
        const reason = new RangeError('stop now');
        const future = ex.run(fn, [20_000], { signal: controller.signal });
        await until(() => future.running());
        controller.abort(reason);
        const error = await t.throwsAsync(future);
        t.is(error, reason);
      }),
    );

    test(`${name}: ${how} that throws its timeout's reason fails with this package's TimeoutError`, (t) =>
      using(new Pool({ maxWorkers: 1, abortGrace: Infinity }), async (ex) => {
        const error = await t.throwsAsync(ex.run(fn, [20_000], { timeout: 30 }), { instanceOf: TimeoutError });
        t.regex(error.message, /timeout of 30 ms/);
      }),
    );
  }

  test(`${name}: the reason a task's signal gives for a timeout is this package's TimeoutError in the worker too`, (t) =>
    using(new Pool({ maxWorkers: 1, abortGrace: Infinity }), async (ex) => {
      t.true(await ex.run(fixture('reasonIsTimeoutError'), [], { timeout: 20 }));
    }),
  );

  test(`${name}: an error that wraps the signal's reason arrives as the task threw it, the reason as its cause`, (t) =>
    using(new Pool({ maxWorkers: 1, abortGrace: Infinity }), async (ex) => {
      const wrap = () => {
        try {
          for (;;) currentTask().signal.throwIfAborted();
        } catch (cause) {
          throw new Error('gave up', { cause });
        }
      };
      const error = await t.throwsAsync(ex.run(wrap, [], { timeout: 20 }), { instanceOf: Error, message: 'gave up' });
      t.true(error.cause instanceof TimeoutError);
    }),
  );

  for (const errorName of ['CancelledError', 'InvalidStateError', 'TimeoutError', 'ShutdownError', 'BrokenThreadPool', 'BrokenProcessPool', 'WorkerCrashedError', 'FuturesError']) {
    test(`${name}: a ${errorName} a task throws arrives as this package's ${errorName}`, (t) =>
      using(new Pool({ maxWorkers: 1 }), async (ex) => {
        const error = await t.throwsAsync(ex.submit(fixture('throwPackageError'), errorName), { instanceOf: cf[errorName] });
        t.true(error instanceof cf.FuturesError);
        t.is(error.name, errorName);
        t.is(error.detail, 42);
        if (errorName === 'WorkerCrashedError') t.is(error.exitCode, 7);
        else t.is(error.message, `a ${errorName}`);
      }),
    );
  }

  test(`${name}: a stopped task's worker takes no other task's outcome with it`, (t) =>
    using(new Pool({ maxWorkers: 1, abortGrace: 10 }), async (ex) => {
      // Measured first, so that the pool hands these out several at a time.
      await Promise.all(Array.from({ length: 8 }, (_, i) => ex.submit(double, i)));
      for (let round = 0; round < 3; round++) {
        const controller = new AbortController();
        const reason = new Error(`stop ${round}`);
        const before = Array.from({ length: 6 }, (_, i) => ex.submit(double, i));
        const stopped = ex.run(busy, [20_000], { signal: controller.signal });
        const after = Array.from({ length: 6 }, (_, i) => ex.submit(double, 10 + i));
        await Promise.all(before);
        setTimeout(() => controller.abort(reason), 20);
        t.deepEqual(await outcomes([...before, ...after]), [...before, ...after].map((_, i) => ['ok', 2 * (i < 6 ? i : 4 + i)]));
        t.is(await stopped.then(() => 'resolved', (e) => e), reason);
      }
    }),
  );

  test(`${name}: a task that exits fails alone (replaceCrashedWorkers): the tasks around it in its batch end as they should`, (t) =>
    using(new Pool({ maxWorkers: 1, replaceCrashedWorkers: true }), async (ex) => {
      // Both functions measured, so that the pool hands the next ones out together.
      for (let i = 0; i < 3; i++) await Promise.all([ex.submit(double, 1), ex.submit(exitWith, 0)]);
      const futures = Array.from({ length: 20 }, (_, i) => (i === 7 ? ex.submit(exitWith, 3) : ex.submit(double, i)));
      const got = await outcomes(futures);
      got.forEach(([status, value], i) => {
        if (i === 7) {
          t.is(status, 'failed');
          t.true(value instanceof WorkerCrashedError);
          t.is(value.exitCode, 3);
        } else {
          t.deepEqual([status, value], ['ok', 2 * i], `task ${i}`);
        }
      });
    }),
  );
}

const hoardOrDouble = (n) => {
  if (n === -1) {
    const hoard = [];
    for (;;) hoard.push(new Array(1e5).fill(n));
  }
  if (n === -2) process.kill(process.pid, 'SIGKILL');
  return n * 2;
};

for (const [name, Pool, options, how, code] of [
  ['ThreadPoolExecutor', ThreadPoolExecutor, { resourceLimits: { maxOldGenerationSizeMb: 32 } }, 'runs out of memory', -1],
  ['ProcessPoolExecutor', ProcessPoolExecutor, { execArgv: ['--max-old-space-size=32'] }, 'runs out of memory', -1],
  ['ProcessPoolExecutor', ProcessPoolExecutor, {}, 'is killed (SIGKILL)', -2],
]) {
  for (const fatal of [5, 0]) {
    test(`${name}: a task whose worker ${how} fails alone (task ${fatal} of its batch): the tasks finished before it keep their outcomes, those after it run`, (t) =>
      using(new Pool({ maxWorkers: 1, replaceCrashedWorkers: true, ...options }), async (ex) => {
        // Measured first, so that the pool hands the next ones out together.
        for (let i = 0; i < 3; i++) await Promise.all([ex.submit(hoardOrDouble, 1), ex.submit(hoardOrDouble, 2)]);
        const got = await outcomes(Array.from({ length: 12 }, (_, i) => ex.submit(hoardOrDouble, i === fatal ? code : i)));
        got.forEach(([status, value], i) => {
          if (i === fatal) t.true(status === 'failed' && value instanceof WorkerCrashedError, `the task whose worker ${how}`);
          else t.deepEqual([status, value], ['ok', 2 * i], `task ${i}`);
        });
      }),
    );
  }
}

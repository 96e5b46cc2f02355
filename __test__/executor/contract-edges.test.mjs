// Corners of the contract (API.md) found by an audit: a map ended before its first next(), delays
// past what a timer can count, and an Executor subclass that has nothing to shut down. Timing
// never decides these tests: the bounds only tell a hang from an answer.
import test from 'ava';

import { currentTask, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor } from '../../esm/index.mjs';

const POOLS = [
  ['ThreadPoolExecutor', ThreadPoolExecutor],
  ['ProcessPoolExecutor', ProcessPoolExecutor],
];

/** Runs `body`, and answers it with the warnings the process emitted meanwhile (a turn after). */
async function warningsDuring(body) {
  const warnings = [];
  const onWarning = (warning) => warnings.push(warning.name);
  process.on('warning', onWarning);
  try {
    const value = await body();
    await new Promise((resolve) => setTimeout(resolve, 20));
    return { value, warnings };
  } finally {
    process.off('warning', onWarning);
  }
}

for (const [name, Pool] of POOLS) {
  test(`${name}: return() right after map(), before any next(), cancels every item not started`, async (t) => {
    const ex = new Pool({ maxWorkers: 1 });
    try {
      const it = ex.map((ms) => new Promise((resolve) => setTimeout(resolve, ms, ms)), [200, 200, 200, 200], { chunksize: 1 });
      t.deepEqual(await it.return(), { done: true, value: undefined });
      t.deepEqual(await it.next(), { done: true, value: undefined });
    } finally {
      await ex.shutdown({ wait: true });
    }
    t.true(ex.stats().completed <= 1, `at most the item already running ran (${ex.stats().completed})`);
  });

  test(`${name}: abortGrace and timeout past what a timer can count mean never, with no warning`, async (t) => {
    const ex = new Pool({ maxWorkers: 1, abortGrace: 3e9 });
    try {
      const { value, warnings } = await warningsDuring(async () => {
        const controller = new AbortController();
        // Ignores its signal: with a grace of 34 days it is not stopped, and ends by itself.
        const ignoring = ex.run((ms) => new Promise((resolve) => setTimeout(resolve, ms, 'ran to its end')), [300], { signal: controller.signal });
        while (!ignoring.running()) await new Promise((resolve) => setTimeout(resolve, 2));
        controller.abort(new Error('stop'));
        const long = ex.run(() => currentTask().signal.aborted, [], { timeout: 3e9 });
        return [await ignoring, await long];
      });
      t.deepEqual(value, ['ran to its end', false]);
      t.deepEqual(warnings, []);
      t.is(ex.stats().workers, 1, 'the worker was never replaced');
    } finally {
      await ex.shutdown();
    }
  });
}

test('an Executor subclass that only submits inherits a shutdown that does nothing, and its async dispose', async (t) => {
  class Inline extends Executor {
    submit(fn, ...args) {
      const future = new Future();
      try {
        future.setResult(fn(...args));
      } catch (error) {
        future.setException(error);
      }
      return future;
    }
  }
  const ex = new Inline();
  t.is(await ex.submit((x) => x * 2, 21), 42);
  const doubled = [];
  for await (const x of ex.map((x) => x * 2, [1, 2, 3])) doubled.push(x);
  t.deepEqual(doubled, [2, 4, 6]);
  t.is(await ex.shutdown(), undefined);
  t.is(await ex[Symbol.asyncDispose](), undefined);
});

// A ProcessPoolExecutor child sees an abort at once inside a synchronous loop that never yields:
// its parent marks the stop in memory the two share (the child's stop page) before it sends the
// `stop` message, which the child's event loop would never read. With abortGrace: Infinity nothing
// is ever killed, so a task that did not see its abort never ends: the bound below only tells such
// a hang from an answer, timing decides nothing. The same child goes on (same pid). Each task says
// (a file) that its loop has begun before it is aborted: a `stop` message that came before would
// be read anyway.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import test from 'ava';

import { currentTask, ProcessPoolExecutor, TimeoutError } from '../../esm/index.mjs';

const HANG_MS = 15_000;

const until = (condition) =>
  new Promise((resolve) => {
    const look = () => (condition() ? resolve() : setTimeout(look, 2));
    look();
  });

/** `promise`, or a rejection saying what hung. */
function within(promise, what) {
  let timer;
  const hang = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung: ${what}`)), HANG_MS);
  });
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

async function using(ex, body) {
  try {
    return await body(ex);
  } finally {
    await ex.killWorkers();
  }
}

const pidOf = (ex) => ex.submit(() => process.pid);

const dir = mkdtempSync(path.join(tmpdir(), 'cf-process-stopping-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
let markers = 0;

/** A file a task creates as its loop begins (`begun(file)` in the task), and a promise of its creation. */
function marker() {
  const file = path.join(dir, `begun-${markers++}`);
  return { file, begun: until(() => existsSync(file)) };
}

test('run’s signal: a synchronous loop in a child sees it at once and ends by itself with the reason; the child goes on', (t) =>
  using(new ProcessPoolExecutor({ maxWorkers: 1, abortGrace: Infinity }), async (ex) => {
    const pid = await pidOf(ex);
    const controller = new AbortController();
    const { file, begun } = marker();
    const future = ex.run((file) => {
      process.getBuiltinModule('node:fs').writeFileSync(file, '');
      while (!currentTask().signal.aborted);
      return [process.pid, currentTask().signal.reason?.message];
    }, [file], { signal: controller.signal });
    await begun;
    controller.abort(new RangeError('enough'));
    t.deepEqual(await within(future, 'the loop never saw its abort'), [pid, 'enough'], 'the task ended itself, in the same child, and read the reason');
    t.is(await pidOf(ex), pid, 'the child was not replaced');
    t.is(ex.stats().workers, 1);
  }));

test('throwIfAborted() in a child’s synchronous loop throws the signal’s reason: a custom error, or any value', (t) =>
  using(new ProcessPoolExecutor({ maxWorkers: 1, abortGrace: Infinity }), async (ex) => {
    const pid = await pidOf(ex);
    class Refused extends Error {}
    const reasons = [
      Object.assign(new Refused('refused', { cause: new TypeError('underneath') }), { code: 'E_REFUSED', detail: { tries: 3 } }),
      { why: 'a plain object', n: [1, 2] },
    ];
    for (const reason of reasons) {
      const controller = new AbortController();
      const { file, begun } = marker();
      const future = ex.run((file) => {
        const { signal } = currentTask();
        process.getBuiltinModule('node:fs').writeFileSync(file, '');
        for (let spins = 0; ; spins++) signal.throwIfAborted();
      }, [file], { signal: controller.signal });
      await begun;
      controller.abort(reason);
      const error = await within(
        future.then(
          () => t.fail('it returned'),
          (e) => e,
        ),
        'throwIfAborted never threw',
      );
      if (reason instanceof Error) {
        t.true(error instanceof Error);
        t.is(error.message, 'refused');
        t.is(error.code, 'E_REFUSED');
        t.deepEqual(error.detail, { tries: 3 });
        t.true(error.cause instanceof TypeError);
        t.is(error.cause.message, 'underneath');
      } else {
        t.deepEqual(error, reason);
      }
      t.is(await pidOf(ex), pid, 'the child was not replaced');
    }
  }));

// The loop begins about a millisecond after the task starts, long before its timeout.
test('timeout: a synchronous loop in a child sees it at once and ends with the TimeoutError', (t) =>
  using(new ProcessPoolExecutor({ maxWorkers: 1, abortGrace: Infinity }), async (ex) => {
    const pid = await pidOf(ex);
    const future = ex.run(() => {
      while (!currentTask().signal.aborted);
      currentTask().signal.throwIfAborted();
    }, [], { timeout: 300 });
    const error = await within(
      future.then(
        () => t.fail('it returned'),
        (e) => e,
      ),
      'the loop never saw its timeout',
    );
    // Rebuilt from what the child threw, as for a worker thread: an Error named after it.
    t.is(error.name, new TimeoutError('').name, String(error));
    t.regex(error.message, /timeout of 300 ms/);
    t.is(await pidOf(ex), pid, 'the child was not replaced');
  }));

test('a stop is about its own task only: neither the next task of the batch nor the next batch sees it', (t) =>
  using(new ProcessPoolExecutor({ maxWorkers: 1, abortGrace: Infinity }), async (ex) => {
    const pid = await pidOf(ex);
    const looksAborted = () => {
      const { signal } = currentTask();
      let seen = false;
      for (let i = 0; i < 100_000; i++) if (signal.aborted) seen = true;
      return [process.pid, seen];
    };
    for (let round = 0; round < 3; round++) {
      const controller = new AbortController();
      // Submitted together: most often one batch, the stopped task first, its neighbours after it.
      const { file, begun } = marker();
      const stopped = ex.run((file) => {
        process.getBuiltinModule('node:fs').writeFileSync(file, '');
        while (!currentTask().signal.aborted);
        return 'stopped';
      }, [file], { signal: controller.signal });
      const neighbours = [ex.submit(looksAborted), ex.submit(looksAborted)];
      await begun;
      controller.abort(new Error('only this one'));
      t.is(await within(stopped, 'the loop never saw its abort'), 'stopped');
      t.deepEqual(await Promise.all(neighbours), [
        [pid, false],
        [pid, false],
      ]);
      // The next batch, at the same index as the stopped record.
      t.deepEqual(await ex.submit(looksAborted), [pid, false]);
    }
  }));

test('map’s signal: a synchronous chunk in a child sees it at once; the items it has not started never run', (t) =>
  using(new ProcessPoolExecutor({ maxWorkers: 1, abortGrace: Infinity }), async (ex) => {
    const pid = await pidOf(ex);
    const controller = new AbortController();
    const reason = new Error('no more');
    const { file, begun } = marker();
    const run = ex.map(
      ([i, file]) => {
        if (i === 0) {
          process.getBuiltinModule('node:fs').writeFileSync(file, '');
          while (!currentTask().signal.aborted);
        }
        return [i, currentTask().signal.aborted];
      },
      Array.from({ length: 8 }, (_, i) => [i, file]),
      { chunksize: 8, signal: controller.signal },
    );
    const first = run.next();
    await begun;
    controller.abort(reason);
    t.is(await t.throwsAsync(first), reason);
    t.is(await within(pidOf(ex), 'the chunk never saw its stop'), pid, 'the child ended the chunk itself and goes on');
    await until(() => ex.stats().running === 0);
    t.true(ex.stats().completed < 1 + 8 + 1, `the items after the first never ran (completed: ${ex.stats().completed})`);
  }));

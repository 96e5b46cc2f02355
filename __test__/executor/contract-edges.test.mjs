// Corners of the contract (API.md) found by audits: a map ended before its first next(), delays
// past what a timer can count, an Executor subclass that has nothing to shut down, map's input
// read as Python reads it with buffersize, options that are not objects, a task's own
// ReferenceError, the read-only maxWorkers, the signal terminateWorkers sent, sloppy functions,
// async done-callbacks, a child's output at its exit, move() outside run(), children that die
// starting. Timing never decides these tests: the bounds only tell a hang from an answer.
import { fileURLToPath } from 'node:url';

import test from 'ava';

import { asCompleted, BrokenProcessPool, currentTask, Executor, Future, move, ProcessPoolExecutor, ThreadPoolExecutor, wait } from '../../esm/index.mjs';
import { runNode } from '../reliability/fixtures/reliability-helpers.mjs';

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

test('map with buffersize reads one item more than the buffer while a next() waits, from the first next() on (as Python)', async (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
  try {
    for (const buffersize of [1, 4]) {
      let read = 0;
      function* items() {
        for (let i = 0; i < 10; i++) {
          read++;
          yield i;
        }
      }
      const gate = new Int32Array(new SharedArrayBuffer(4));
      const it = ex.map(
        (x, gate) => {
          while (Atomics.load(gate, 0) === 0) Atomics.wait(gate, 0, 0, 50);
          return x;
        },
        items(),
        [gate, gate, gate, gate, gate, gate, gate, gate, gate, gate],
        { buffersize, chunksize: 1 },
      );
      t.is(read, buffersize, `buffersize ${buffersize}: map() reads the buffer`);
      const first = it.next();
      t.is(read, buffersize + 1, `buffersize ${buffersize}: the first next() reads one more before it waits`);
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
      t.deepEqual(await first, { done: false, value: 0 });
      const rest = [];
      for await (const v of it) rest.push(v);
      t.deepEqual(rest, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
  } finally {
    await ex.shutdown();
  }
});

test("wait() and asCompleted() refuse options that are not an object (Python's positional timeout would wait forever)", async (t) => {
  const pending = new Future();
  await t.throwsAsync(wait([pending], 100), { instanceOf: TypeError, message: /options must be an object, got number; pass \{ timeout: 100 \}/ });
  await t.throwsAsync(wait([pending], 'x'), { instanceOf: TypeError });
  await t.throwsAsync(wait([pending], null), { instanceOf: TypeError });
  t.throws(() => asCompleted([pending], 100), { instanceOf: TypeError, message: /pass \{ timeout: 100 \}/ });
  const settled = new Future();
  settled.setResult(1);
  t.is((await wait([settled], undefined)).done.size, 1, 'undefined options are the defaults');
  const shutdownTypo = new ThreadPoolExecutor({ maxWorkers: 1 });
  await t.throwsAsync(() => shutdownTypo.shutdown({ wiat: true }), { instanceOf: TypeError, message: /did you mean 'wait'/ }, 'a swap of two letters is one edit');
  await shutdownTypo.shutdown();
});

test('map takes only a plain object as its trailing options; any other non-iterable is a TypeError', (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  class Opts {
    chunksize = 0;
  }
  for (const last of [new Date(), Promise.resolve(), new Opts()]) {
    t.throws(() => ex.map((x) => x, [1, 2], last), { instanceOf: TypeError, message: /argument 3 must be an iterable or async iterable, got an instance of/ });
  }
  t.throws(() => ex.map((x) => x, [1, 2], Object.assign(Object.create(null), { chunksize: 0 })), { instanceOf: RangeError }, 'a null-prototype object is options');
  void ex.shutdown();
});

test("a task's own ReferenceError keeps its message; only a name the runtime found undefined gets the hint", async (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  try {
    const own = await t.throwsAsync(
      ex.submit(() => {
        throw Object.assign(new ReferenceError('cache miss'), { code: 'E_MISS' });
      }),
      { instanceOf: ReferenceError },
    );
    t.is(own.message, 'cache miss');
    t.is(own.code, 'E_MISS');
    const undefinedName = await t.throwsAsync(ex.submit(() => globalThis.eval('notDefinedAnywhere')), { instanceOf: ReferenceError });
    t.regex(undefinedName.message, /^notDefinedAnywhere is not defined \(task functions are sent to workers by their source text/);
  } finally {
    await ex.shutdown();
  }
});

for (const [name, Pool] of POOLS) {
  test(`${name}: maxWorkers is read-only`, async (t) => {
    const ex = new Pool({ maxWorkers: 1 });
    t.throws(() => {
      ex.maxWorkers = 2;
    }, { instanceOf: TypeError });
    t.is(ex.maxWorkers, 1);
    await ex.shutdown();
  });
}

for (const [what, signal] of [
  ['terminateWorkers', 'SIGTERM'],
  ['killWorkers', 'SIGKILL'],
]) {
  test(`ProcessPoolExecutor: ${what}() fails a running task with BrokenProcessPool carrying the signal it sent`, async (t) => {
    const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    const running = ex.submit(() => new Promise(() => setInterval(() => {}, 1000)));
    while (!running.running() && !running.done()) await new Promise((resolve) => setTimeout(resolve, 5));
    await ex[what]();
    const error = await t.throwsAsync(running, { instanceOf: BrokenProcessPool });
    t.is(error.signal, signal);
    t.is(error.exitCode, null);
  });
}

test('a sloppy function runs as where written: a name it assigns first is a global; a name read inside with may be the object\'s', async (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  try {
    // Sloppy code: eval in the global scope of this (strict) module makes sloppy functions.
    const implicit = (0, eval)('(function () { implicitTmp = 7; return implicitTmp * 2; })');
    t.is(implicit(), 14);
    delete globalThis.implicitTmp;
    t.is(await ex.submit(implicit), 14);
    const withObject = (0, eval)('(function (o) { with (o) { return a + b; } })');
    t.is(await ex.submit(withObject, { a: 1, b: 2 }), 3);
    // A name the worker does not have, read outside any with and never assigned, is still refused.
    const missing = (0, eval)('(function () { return notAGlobalAnywhere + 1; })');
    t.throws(() => ex.submit(missing), { instanceOf: TypeError, message: /notAGlobalAnywhere is not defined in the worker/ });
  } finally {
    await ex.shutdown();
  }
});

test('an async done-callback that rejects is reported as a throwing one is, not an unhandled rejection', async (t) => {
  const unhandled = [];
  const onUnhandled = (reason) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const errors = [];
  const original = console.error;
  console.error = (...args) => errors.push(args);
  try {
    const future = new Future();
    let later = false;
    future.addDoneCallback(async () => {
      throw new Error('async callback failed');
    });
    future.addDoneCallback(() => (later = true));
    future.setResult(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    t.true(later, 'later callbacks still run');
    t.deepEqual(unhandled, []);
    t.true(errors.some((args) => args.some((a) => a instanceof Error && a.message === 'async callback failed')), 'the failure was reported');
  } finally {
    console.error = original;
    process.off('unhandledRejection', onUnhandled);
  }
});

for (const [name, Pool] of POOLS) {
  test(`${name}: a running task aborted with a reason that cannot be cloned sees an AbortError; its future fails with the reason itself`, async (t) => {
    const ex = new Pool({ maxWorkers: 1 });
    try {
      // A warm worker: a child's first task starts tens of ms after it counts as running (the
      // child's start-up), which a loaded machine can stretch past abortGrace.
      await ex.submit((x) => x, 0);
      const controller = new AbortController();
      const future = ex.run(
        () => {
          const { signal } = currentTask();
          while (!signal.aborted);
          return `${signal.reason.name}: ${signal.reason.message}`;
        },
        [],
        { signal: controller.signal },
      );
      while (!future.running() && !future.done()) await new Promise((resolve) => setTimeout(resolve, 2));
      const reason = { why: 'done here', fn: () => 1 };
      controller.abort(reason);
      t.regex(await future, /^AbortError: The operation was aborted \(its reason cannot be sent to the worker/);
      const failing = new AbortController();
      const stopped = ex.run(
        () => {
          const { signal } = currentTask();
          while (!signal.aborted);
          signal.throwIfAborted();
        },
        [],
        { signal: failing.signal },
      );
      while (!stopped.running() && !stopped.done()) await new Promise((resolve) => setTimeout(resolve, 2));
      failing.abort(reason);
      const outcome = await stopped.then(() => 'resolved', (error) => error);
      // Compared by hand: AVA cannot report an object holding a function.
      t.true(outcome === reason, `the future fails with the reason itself, not ${outcome?.name}: ${outcome?.message}`);
      t.is(await ex.submit((x) => x + 1, 1), 2);
    } finally {
      await ex.shutdown();
    }
  });
}

for (const how of ['shutdown', 'retire']) {
  test(`ProcessPoolExecutor: what a task writes to stdout and stderr all arrives, though its child exits at once (${how})`, async (t) => {
    const file = fileURLToPath(new URL('fixtures/child-output.mjs', import.meta.url));
    const run = await runNode(file, ['2000', how], { timeout: 60_000 });
    t.is(run.code, 0, run.stderr.slice(-500));
    const out = run.lines.map((l) => l.text);
    t.is(out.length, 2001, `${out.length} of 2001 lines on stdout`);
    t.is(out[out.length - 1], 'LAST-LINE');
    t.is(run.stderr.split('\n').filter(Boolean).length, 2001, 'every line on stderr');
  });
}

for (const [name, Pool] of POOLS) {
  test(`${name}: submit(fn, move(x)) moves as run does (threads) or copies (processes); move() nested in a value is a DataCloneError saying so`, async (t) => {
    const ex = new Pool({ maxWorkers: 1 });
    try {
      const bytes = new Uint8Array([1, 2, 3]);
      t.deepEqual(await ex.submit((u) => [...u], move(bytes)), [1, 2, 3]);
      t.is(bytes.byteLength, name === 'ThreadPoolExecutor' ? 0 : 3, 'moved on threads, copied for a child');
      t.throws(() => ex.submit((o) => o, { inner: move(new Uint8Array(2)) }), { name: 'DataCloneError', message: /move\(\) marker.*whole argument/ });
      await t.throwsAsync(ex.submit(() => ({ r: move(new Uint8Array(2)) })), { name: 'DataCloneError', message: /move\(\) marker/ });
      const results = [];
      await t.throwsAsync(async () => {
        for await (const v of ex.map((u) => u.length, [new Uint8Array(1), move(new Uint8Array(2))], { chunksize: 1 })) results.push(v);
      }, { name: 'DataCloneError' });
      t.deepEqual(results, [1], 'the item before it is delivered');
    } finally {
      await ex.shutdown();
    }
  });
}

for (const [what, options] of [
  ['an initializer that exits', { initializer: () => process.exit(7) }],
  ['a flag node refuses', { execArgv: ['--no-such-flag-for-a-test'] }],
]) {
  test(`ProcessPoolExecutor with replaceCrashedWorkers: children that die starting (${what}) break the pool rather than loop`, async (t) => {
    const ex = new ProcessPoolExecutor({ maxWorkers: 1, replaceCrashedWorkers: true, ...options });
    const error = await t.throwsAsync(ex.submit((x) => x, 1), { instanceOf: BrokenProcessPool });
    t.regex(error.message, /while starting|initializer/);
    t.throws(() => ex.submit((x) => x, 2), { instanceOf: BrokenProcessPool });
    await ex.shutdown();
  });
}

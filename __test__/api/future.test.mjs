// A bare `new Future()`, driven by hand through its executor-side methods, and the error classes.
// Checked against /work/shared/API.md ("Errors" and "Future<T>").
import test from 'ava';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect } from 'node:util';

import {
  BrokenExecutor,
  BrokenProcessPool,
  BrokenThreadPool,
  CancelledError,
  Future,
  FuturesError,
  InvalidStateError,
  ShutdownError,
  ThreadPoolExecutor,
  TimeoutError,
  WorkerCrashedError,
} from '../../esm/index.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const entry = pathToFileURL(path.join(here, '..', '..', 'esm', 'index.mjs')).href;

const nextMacrotask = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Records whether `promise` has settled, and how, without making it handled-or-not differently. */
function track(promise) {
  const state = { settled: false, value: undefined, error: undefined };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

function state(f) {
  return { done: f.done(), running: f.running(), cancelled: f.cancelled() };
}

// ---------------------------------------------------------------------------------------------
// States and transitions

test('a new Future is PENDING', (t) => {
  const f = new Future();
  t.deepEqual(state(f), { done: false, running: false, cancelled: false });
  t.is(f.toString(), '<Future state=pending>');
});

test('setRunningOrNotifyCancel: PENDING -> RUNNING, returns true', (t) => {
  const f = new Future();
  t.true(f.setRunningOrNotifyCancel());
  t.deepEqual(state(f), { done: false, running: true, cancelled: false });
  t.is(f.toString(), '<Future state=running>');
});

test('setRunningOrNotifyCancel on a cancelled future returns false and keeps it cancelled', (t) => {
  const f = new Future();
  t.true(f.cancel());
  t.false(f.setRunningOrNotifyCancel());
  t.deepEqual(state(f), { done: true, running: false, cancelled: true });
});

test('setResult: PENDING -> FINISHED', async (t) => {
  const f = new Future();
  f.setResult(42);
  t.deepEqual(state(f), { done: true, running: false, cancelled: false });
  t.is(await f.result(), 42);
  t.is(f.toString(), '<Future state=finished returned number>');
});

test('setResult: RUNNING -> FINISHED', async (t) => {
  const f = new Future();
  f.setRunningOrNotifyCancel();
  f.setResult('x');
  t.deepEqual(state(f), { done: true, running: false, cancelled: false });
  t.is(await f.result(), 'x');
});

test('setException: PENDING -> FINISHED (raised)', async (t) => {
  const f = new Future();
  const error = new RangeError('bad');
  f.setException(error);
  t.deepEqual(state(f), { done: true, running: false, cancelled: false });
  t.is(await f.exception(), error);
  t.is(f.toString(), '<Future state=finished raised RangeError>');
});

test('setException: RUNNING -> FINISHED (raised)', async (t) => {
  const f = new Future();
  f.setRunningOrNotifyCancel();
  const error = new TypeError('bad');
  f.setException(error);
  t.deepEqual(state(f), { done: true, running: false, cancelled: false });
  t.is(await f.exception(), error);
});

// ---------------------------------------------------------------------------------------------
// cancel()

test('cancel() on PENDING -> CANCELLED, returns true', (t) => {
  const f = new Future();
  t.true(f.cancel());
  t.deepEqual(state(f), { done: true, running: false, cancelled: true });
  t.is(f.toString(), '<Future state=cancelled>');
});

test('cancel() on RUNNING returns false and leaves it running', (t) => {
  const f = new Future();
  f.setRunningOrNotifyCancel();
  t.false(f.cancel());
  t.deepEqual(state(f), { done: false, running: true, cancelled: false });
  t.is(f.toString(), '<Future state=running>');
});

test('cancel() on FINISHED returns false and leaves it finished', async (t) => {
  const ok = new Future();
  ok.setResult(1);
  t.false(ok.cancel());
  t.deepEqual(state(ok), { done: true, running: false, cancelled: false });
  t.is(await ok.result(), 1);

  const failed = new Future();
  const error = new Error('boom');
  failed.setException(error);
  t.false(failed.cancel());
  t.deepEqual(state(failed), { done: true, running: false, cancelled: false });
  t.is(await failed.exception(), error);
});

test('cancel() on an already cancelled future returns true and does not run callbacks again', (t) => {
  const f = new Future();
  let calls = 0;
  f.addDoneCallback(() => calls++);
  t.true(f.cancel());
  t.is(calls, 1);
  t.true(f.cancel());
  t.true(f.cancel());
  t.is(calls, 1);
  t.true(f.cancelled());
});

// ---------------------------------------------------------------------------------------------
// result() / exception() / await

test('result() without timeout waits for the value', async (t) => {
  const f = new Future();
  const p = f.result();
  const tracked = track(p);
  await nextMacrotask();
  t.false(tracked.settled);
  setTimeout(() => f.setResult('later'), 5);
  t.is(await p, 'later');
});

test('result() without timeout rejects with the task error', async (t) => {
  const f = new Future();
  const error = new RangeError('task failed');
  setImmediate(() => f.setException(error));
  const thrown = await t.throwsAsync(f.result());
  t.is(thrown, error);
});

test('result() rejects with CancelledError when the future is cancelled (before and while waiting)', async (t) => {
  const before = new Future();
  before.cancel();
  await t.throwsAsync(before.result(), { instanceOf: CancelledError });

  const during = new Future();
  const p = during.result();
  setImmediate(() => during.cancel());
  const error = await t.throwsAsync(p, { instanceOf: CancelledError });
  t.true(error instanceof FuturesError);
  t.is(error.name, 'CancelledError');
});

test('result(0) on a pending future rejects with TimeoutError at once', async (t) => {
  const f = new Future();
  const tracked = track(f.result(0));
  await nextMacrotask(); // only microtasks have run since: "at once"
  t.true(tracked.settled);
  t.true(tracked.error instanceof TimeoutError);
  t.is(tracked.error.name, 'TimeoutError');
  t.false(f.done(), 'a timeout does not change the future');
  t.false(f.cancelled());
});

test('result(0) on a running future rejects with TimeoutError', async (t) => {
  const f = new Future();
  f.setRunningOrNotifyCancel();
  await t.throwsAsync(f.result(0), { instanceOf: TimeoutError });
  t.true(f.running());
});

test('result(0) on a done future gives its outcome', async (t) => {
  const ok = new Future();
  ok.setResult(7);
  t.is(await ok.result(0), 7);

  const failed = new Future();
  const error = new TypeError('nope');
  failed.setException(error);
  t.is(await t.throwsAsync(failed.result(0)), error);

  const cancelled = new Future();
  cancelled.cancel();
  await t.throwsAsync(cancelled.result(0), { instanceOf: CancelledError });
});

test('result(positive) rejects with TimeoutError when the future does not finish in time', async (t) => {
  const f = new Future();
  await t.throwsAsync(f.result(20), { instanceOf: TimeoutError });
  t.deepEqual(state(f), { done: false, running: false, cancelled: false });
  // The future is still usable afterwards.
  f.setResult('after');
  t.is(await f.result(), 'after');
});

test('result(positive) resolves when the future finishes in time', async (t) => {
  const f = new Future();
  setImmediate(() => f.setResult({ a: 1 }));
  t.deepEqual(await f.result(60_000), { a: 1 });

  const g = new Future();
  const error = new SyntaxError('x');
  setImmediate(() => g.setException(error));
  t.is(await t.throwsAsync(g.result(60_000)), error);

  const h = new Future();
  setImmediate(() => h.cancel());
  await t.throwsAsync(h.result(60_000), { instanceOf: CancelledError });
});

test('result(positive) on a done future resolves with the value', async (t) => {
  const f = new Future();
  f.setResult('done');
  t.is(await f.result(10), 'done');
});

test('result() gives the same value object every time', async (t) => {
  const f = new Future();
  const value = { big: [1, 2, 3] };
  f.setResult(value);
  t.is(await f.result(), value);
  t.is(await f.result(), value);
  t.is(await f.result(0), value);
});

test('exception() resolves undefined on success (any timeout)', async (t) => {
  const f = new Future();
  const p = f.exception();
  setImmediate(() => f.setResult(5));
  t.is(await p, undefined);
  t.is(await f.exception(0), undefined);
  t.is(await f.exception(100), undefined);
});

test('exception() resolves with the error the task raised (any timeout)', async (t) => {
  const f = new Future();
  const error = new RangeError('r');
  const p = f.exception();
  const q = f.exception(60_000);
  setImmediate(() => f.setException(error));
  t.is(await p, error);
  t.is(await q, error);
  t.is(await f.exception(0), error);
});

test('exception() resolves with a non-Error thrown value as itself', async (t) => {
  const f = new Future();
  f.setException(42);
  t.is(await f.exception(), 42);
  t.is(await t.throwsAsync(f.result(), { any: true }), 42);
});

test('exception() rejects with CancelledError on a cancelled future', async (t) => {
  const f = new Future();
  f.cancel();
  await t.throwsAsync(f.exception(), { instanceOf: CancelledError });
  await t.throwsAsync(f.exception(0), { instanceOf: CancelledError });
  await t.throwsAsync(f.exception(50), { instanceOf: CancelledError });

  const g = new Future();
  const p = g.exception();
  setImmediate(() => g.cancel());
  await t.throwsAsync(p, { instanceOf: CancelledError });
});

test('exception() with timeout 0 / positive rejects with TimeoutError on an unfinished future', async (t) => {
  const f = new Future();
  const tracked = track(f.exception(0));
  await nextMacrotask();
  t.true(tracked.error instanceof TimeoutError);
  await t.throwsAsync(f.exception(20), { instanceOf: TimeoutError });
  f.setRunningOrNotifyCancel();
  await t.throwsAsync(f.exception(0), { instanceOf: TimeoutError });
  await t.throwsAsync(f.exception(20), { instanceOf: TimeoutError });
  t.false(f.done());
});

test('await future gives what result() gives: value', async (t) => {
  const f = new Future();
  const value = { v: 1 };
  setImmediate(() => f.setResult(value));
  const awaited = await f;
  t.is(awaited, value);
  t.is(awaited, await f.result());
  // Awaiting a done future works too.
  t.is(await f, value);
});

test('await future gives what result() gives: error and CancelledError', async (t) => {
  const f = new Future();
  const error = new TypeError('t');
  setImmediate(() => f.setException(error));
  const viaAwait = await t.throwsAsync(async () => await f);
  t.is(viaAwait, error);
  t.is(await t.throwsAsync(f.result()), viaAwait);

  const c = new Future();
  setImmediate(() => c.cancel());
  await t.throwsAsync(async () => await c, { instanceOf: CancelledError });
});

test('future.then works as a PromiseLike (both handlers)', async (t) => {
  const f = new Future();
  f.setResult(3);
  t.is(await f.then((v) => v * 2), 6);
  const g = new Future();
  g.setException(new Error('e'));
  t.is(await g.then(() => 'no', (e) => e.message), 'e');
  t.is(await Promise.resolve(f), 3, 'a Promise adopts the future as a thenable');
});

// ---------------------------------------------------------------------------------------------
// A Future is a native promise (its prototype's constructor is `Promise`)

test('a Future is a native Promise: instanceof Promise and Future, constructor is Promise', (t) => {
  const f = new Future();
  t.true(f instanceof Promise);
  t.true(f instanceof Future);
  t.is(f.constructor, Promise);
  t.is(Object.prototype.toString.call(f), '[object Promise]');
});

test('Promise.resolve(future) returns the future itself, bare or from ThreadPoolExecutor.submit', async (t) => {
  const f = new Future();
  t.is(Promise.resolve(f), f);
  f.setResult(1);
  t.is(Promise.resolve(f), f, 'done futures are not wrapped either');

  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  try {
    const submitted = ex.submit((x) => x + 1, 41);
    t.true(submitted instanceof Future);
    t.true(submitted instanceof Promise);
    t.is(Promise.resolve(submitted), submitted);
    t.is(await submitted, 42);
    t.is(Promise.resolve(submitted), submitted);
  } finally {
    await ex.shutdown();
  }
});

test('await on a future settled beforehand: setResult, setException, cancel', async (t) => {
  const ok = new Future();
  ok.setResult(7);
  t.is(await ok, 7);

  const failed = new Future();
  const error = new SyntaxError('s');
  failed.setException(error);
  t.is(await t.throwsAsync(async () => await failed), error);

  const cancelled = new Future();
  t.true(cancelled.cancel());
  await t.throwsAsync(async () => await cancelled, { instanceOf: CancelledError });
});

test('then / catch / finally on a future derive plain Promises, not Futures', async (t) => {
  const f = new Future();
  const derived = [f.then(() => {}), f.then(undefined, () => {}), f.catch(() => {}), f.finally(() => {})];
  for (const p of derived) {
    t.is(Object.getPrototypeOf(p), Promise.prototype);
    t.false(p instanceof Future);
    t.not(p, f);
  }
  f.setResult(5);
  t.is(await f.then((v) => v + 1), 6);
  t.is(await f.finally(() => 'ignored'), 5, 'finally passes the value through');
  t.is(await f.catch(() => 'unused'), 5);

  const g = new Future();
  const caught = g.catch((e) => `caught ${e.message}`);
  const passed = g.finally(() => {});
  t.is(Object.getPrototypeOf(caught), Promise.prototype);
  t.is(Object.getPrototypeOf(passed), Promise.prototype);
  const error = new Error('boom');
  g.setException(error);
  t.is(await caught, 'caught boom');
  t.is(await t.throwsAsync(passed), error, 'finally passes the error through');
});

test('util.inspect shows the future state', async (t) => {
  const f = new Future();
  t.regex(inspect(f), /state=pending/);
  f.setRunningOrNotifyCancel();
  t.regex(inspect(f), /state=running/);
  f.setResult('v');
  t.regex(inspect(f), /state=finished/);
  t.is(inspect(f), f.toString());

  const c = new Future();
  c.cancel();
  t.regex(inspect(c), /state=cancelled/);
  const r = new Future();
  r.setException(new RangeError('x'));
  t.regex(inspect(r), /state=finished raised RangeError/);
  // Inside a container too (console.log of an array of futures).
  t.regex(inspect([f, c]), /state=finished[\s\S]*state=cancelled/);
});

test('Promise.all over 1000 ThreadPoolExecutor futures gives the values in order', async (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
  try {
    const futures = Array.from({ length: 1000 }, (_, i) => ex.submit((x) => x * 3 + 1, i));
    t.true(futures.every((f) => f instanceof Future));
    const values = await Promise.all(futures);
    t.is(values.length, 1000);
    t.deepEqual(values, Array.from({ length: 1000 }, (_, i) => i * 3 + 1));
    t.true(futures.every((f) => f.done() && !f.cancelled()));
  } finally {
    await ex.shutdown();
  }
});

// ---------------------------------------------------------------------------------------------
// addDoneCallback

test('addDoneCallback: callbacks run synchronously at completion, in registration order, with the future', (t) => {
  const f = new Future();
  const calls = [];
  f.addDoneCallback((g) => calls.push(['a', g]));
  f.addDoneCallback((g) => calls.push(['b', g]));
  f.addDoneCallback((g) => calls.push(['c', g]));
  t.deepEqual(calls, []);
  f.setResult(1);
  t.deepEqual(
    calls.map(([name]) => name),
    ['a', 'b', 'c'],
  );
  for (const [, g] of calls) t.is(g, f);
});

test('addDoneCallback: callbacks see the future already done', (t) => {
  const f = new Future();
  let seen;
  f.addDoneCallback((g) => {
    seen = { done: g.done(), text: g.toString() };
  });
  f.setException(new RangeError('x'));
  t.deepEqual(seen, { done: true, text: '<Future state=finished raised RangeError>' });
});

test('addDoneCallback: runs at completion by setException and by cancel', (t) => {
  const failed = new Future();
  const cancelled = new Future();
  const calls = [];
  failed.addDoneCallback(() => calls.push('failed'));
  cancelled.addDoneCallback(() => calls.push('cancelled'));
  failed.setException(new Error('x'));
  t.deepEqual(calls, ['failed']);
  cancelled.cancel();
  t.deepEqual(calls, ['failed', 'cancelled']);
});

test('addDoneCallback: not run when a running future refuses cancel()', (t) => {
  const f = new Future();
  let calls = 0;
  f.addDoneCallback(() => calls++);
  f.setRunningOrNotifyCancel();
  t.false(f.cancel());
  t.is(calls, 0);
  f.setResult(1);
  t.is(calls, 1);
});

test('addDoneCallback on a done future runs at once (synchronously)', (t) => {
  for (const finish of [(f) => f.setResult(1), (f) => f.setException(new Error('x')), (f) => f.cancel()]) {
    const f = new Future();
    finish(f);
    let got;
    f.addDoneCallback((g) => {
      got = g;
    });
    t.is(got, f);
  }
});

test('each callback runs once only', (t) => {
  const f = new Future();
  let calls = 0;
  f.addDoneCallback(() => calls++);
  f.setResult(1);
  t.throws(() => f.setResult(2), { instanceOf: InvalidStateError });
  f.cancel();
  t.is(calls, 1);
});

test.serial('a throwing callback is reported (not thrown to the caller) and later callbacks still run', async (t) => {
  const reports = [];
  const originalError = console.error;
  const originalWrite = process.stderr.write;
  const onWarning = (warning) => reports.push(['warning', warning]);
  console.error = (...args) => reports.push(['console.error', args]);
  process.stderr.write = function (chunk, ...rest) {
    reports.push(['stderr', String(chunk)]);
    return true;
  };
  process.on('warning', onWarning);
  const order = [];
  try {
    const f = new Future();
    f.addDoneCallback(() => order.push(1));
    f.addDoneCallback(() => {
      order.push(2);
      throw new Error('callback failure');
    });
    f.addDoneCallback(() => order.push(3));
    t.notThrows(() => f.setResult('v'));
    t.deepEqual(order, [1, 2, 3]);
    t.is(await f.result(), 'v');

    // Also for a callback added to an already-done future.
    t.notThrows(() =>
      f.addDoneCallback(() => {
        order.push(4);
        throw new Error('late callback failure');
      }),
    );
    t.deepEqual(order, [1, 2, 3, 4]);

    // And on cancel.
    const g = new Future();
    g.addDoneCallback(() => {
      throw new Error('cancel callback failure');
    });
    g.addDoneCallback(() => order.push(5));
    let returned;
    t.notThrows(() => {
      returned = g.cancel();
    });
    t.true(returned);
    t.deepEqual(order, [1, 2, 3, 4, 5]);

    await nextMacrotask(); // process warnings are emitted on a later tick
  } finally {
    console.error = originalError;
    process.stderr.write = originalWrite;
    process.off('warning', onWarning);
  }
  const text = reports.map(([, payload]) => (payload instanceof Error ? payload.message : Array.isArray(payload) ? payload.map(String).join(' ') : payload)).join('\n');
  t.true(reports.length >= 3, `expected three reports, got ${reports.length}`);
  t.regex(text, /callback failure/);
  t.regex(text, /late callback failure/);
  t.regex(text, /cancel callback failure/);
});

test('addDoneCallback with a non-function throws TypeError', (t) => {
  const f = new Future();
  t.throws(() => f.addDoneCallback(42), { instanceOf: TypeError });
});

// ---------------------------------------------------------------------------------------------
// InvalidStateError

test('setResult / setException on a finished future throw InvalidStateError and change nothing', async (t) => {
  const f = new Future();
  f.setResult('first');
  t.throws(() => f.setResult('second'), { instanceOf: InvalidStateError });
  t.throws(() => f.setException(new Error('x')), { instanceOf: InvalidStateError });
  t.is(await f.result(), 'first');
  t.is(await f.exception(), undefined);

  const g = new Future();
  const error = new RangeError('first');
  g.setException(error);
  t.throws(() => g.setResult(1), { instanceOf: InvalidStateError });
  t.throws(() => g.setException(new Error('second')), { instanceOf: InvalidStateError });
  t.is(await g.exception(), error);
});

test('setResult / setException on a cancelled future throw InvalidStateError and change nothing', async (t) => {
  const f = new Future();
  f.cancel();
  const e1 = t.throws(() => f.setResult(1), { instanceOf: InvalidStateError });
  const e2 = t.throws(() => f.setException(new Error('x')), { instanceOf: InvalidStateError });
  for (const e of [e1, e2]) {
    t.true(e instanceof FuturesError);
    t.is(e.name, 'InvalidStateError');
  }
  t.true(f.cancelled());
  await t.throwsAsync(f.result(), { instanceOf: CancelledError });
});

// ---------------------------------------------------------------------------------------------
// toString

test('toString gives the exact strings of API.md', (t) => {
  const f = new Future();
  t.is(f.toString(), '<Future state=pending>');
  t.is(String(f), '<Future state=pending>');
  f.setRunningOrNotifyCancel();
  t.is(f.toString(), '<Future state=running>');
  f.setResult(12.5);
  t.is(f.toString(), '<Future state=finished returned number>');
  t.is(`${f}`, '<Future state=finished returned number>');

  const c = new Future();
  c.cancel();
  t.is(c.toString(), '<Future state=cancelled>');

  const r = new Future();
  r.setException(new RangeError('x'));
  t.is(r.toString(), '<Future state=finished raised RangeError>');
});

// ---------------------------------------------------------------------------------------------
// No unhandledRejection

const unobservedScript = `
import { Future, wait, asCompleted, ThreadPoolExecutor, FIRST_EXCEPTION } from ${JSON.stringify(entry)};
const fired = [];
process.on('unhandledRejection', (reason) => fired.push(String(reason && reason.message || reason)));
const scenarios = [];

// 1. failed, nobody looks
new Future().setException(new Error('unobserved 1'));
// 2. running, then failed
{ const f = new Future(); f.setRunningOrNotifyCancel(); f.setException(new Error('unobserved 2')); }
// 3. cancelled, nobody looks
new Future().cancel();
// 4. failed, observed only through a done callback
{ const f = new Future(); f.addDoneCallback(() => {}); f.setException(new Error('unobserved 4')); }
// 5. failed after a done callback; then cancelled-with-callback
{ const f = new Future(); f.addDoneCallback(() => {}); f.cancel(); }
// 6. failed while someone waits with exception() (which resolves)
{ const f = new Future(); f.exception().then(() => {}); f.setException(new Error('unobserved 6')); }
// 7. failed while wait() and asCompleted() look at it
{
  const f = new Future(); const g = new Future();
  wait([f, g], { returnWhen: FIRST_EXCEPTION }).then(() => {});
  (async () => { for await (const x of asCompleted([f, g])) { void x; } })().catch(() => {});
  f.setException(new Error('unobserved 7')); g.cancel();
}
// 8. a result() with a timeout that passes, and later failure
{ const f = new Future(); f.result(1).catch(() => {}); setTimeout(() => f.setException(new Error('unobserved 8')), 10); }
// 9. exception(timeout) then failure
{ const f = new Future(); f.exception(10000).then(() => {}); setTimeout(() => f.setException(new Error('unobserved 9')), 5); }
// 10. a failing task in a thread pool, nobody looks at its future
const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
const failing = ex.submit(() => { throw new Error('unobserved 10'); });
const cancelledLater = ex.submit((x) => x, 1);
// poll (no observer) until both have finished, then shut down
for (let i = 0; i < 2000 && !(failing.done() && cancelledLater.done()); i++) await new Promise((r) => setTimeout(r, 5));
// (a timer keeps the loop alive meanwhile: this script is about rejections, not process lifetime)
const keepAlive = setInterval(() => {}, 1000);
await ex.shutdown({ wait: true });
clearInterval(keepAlive);
// let everything settle: several macrotask rounds
for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
await new Promise((r) => setTimeout(r, 50));
for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
process.stdout.write(JSON.stringify({ fired, failingDone: failing.done() }));
process.exit(0);
`;

test('a failed future that nobody observes never causes an unhandledRejection', async (t) => {
  const { stdout, stderr, code } = await new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', unobservedScript],
      { timeout: 20_000 },
      (error, stdout, stderr) => resolve({ stdout, stderr, code: error ? error.code ?? error.signal : 0 }),
    );
  });
  t.is(code, 0, `child failed: ${stderr}`);
  const out = JSON.parse(stdout);
  t.deepEqual(out.fired, []);
  t.true(out.failingDone);
});

test('in-process: a failed bare future with no observer fires no unhandledRejection', async (t) => {
  const fired = [];
  const onUnhandled = (reason) => fired.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const marker = new Error('in-process unobserved');
    new Future().setException(marker);
    const f = new Future();
    f.addDoneCallback(() => {});
    f.setException(marker);
    new Future().cancel();
    for (let i = 0; i < 10; i++) await nextMacrotask();
    await sleep(20);
    t.deepEqual(
      fired.filter((r) => r === marker || r instanceof CancelledError),
      [],
    );
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

// ---------------------------------------------------------------------------------------------
// Error classes

const errorClasses = {
  FuturesError,
  CancelledError,
  InvalidStateError,
  TimeoutError,
  ShutdownError,
  BrokenExecutor,
  BrokenThreadPool,
  BrokenProcessPool,
};

test('every error class extends FuturesError (and Error) and sets name to its class name', (t) => {
  for (const [name, Class] of Object.entries(errorClasses)) {
    t.is(typeof Class, 'function', name);
    t.is(Class.name, name);
    const e = new Class('message of ' + name);
    t.true(e instanceof Error, name);
    t.true(e instanceof FuturesError, name);
    t.true(e instanceof Class, name);
    t.is(e.name, name);
    t.is(e.message, 'message of ' + name);
    t.true(String(e).startsWith(name + ': '), name);
    t.is(typeof e.stack, 'string');
  }
});

test('every error class made without arguments has a message of its own, and no exit for the Broken* family', (t) => {
  const messages = new Set();
  for (const [name, Class] of Object.entries({ ...errorClasses, WorkerCrashedError })) {
    const e = new Class();
    t.is(e.name, name);
    t.is(typeof e.message, 'string', name);
    t.true(e.message.length > 0, `${name} has a message`);
    messages.add(e.message);
    if (e instanceof BrokenExecutor || e instanceof WorkerCrashedError) t.deepEqual([e.exitCode, e.signal], [null, null], name);
  }
  t.is(messages.size, 9, 'each says what it is');
  const crashed = new WorkerCrashedError('gone', { exitCode: 3, signal: null });
  t.deepEqual([crashed.message, crashed.exitCode, crashed.signal], ['gone', 3, null]);
  t.is(new TimeoutError('').message, '', 'an explicit message is kept, even empty');
});

test('error class hierarchy: direct children of FuturesError and the Broken* family', (t) => {
  for (const Class of [CancelledError, InvalidStateError, TimeoutError, ShutdownError, BrokenExecutor]) {
    t.is(Object.getPrototypeOf(Class), FuturesError, Class.name);
  }
  t.is(Object.getPrototypeOf(FuturesError), Error);
  t.is(Object.getPrototypeOf(BrokenThreadPool), BrokenExecutor);
  t.is(Object.getPrototypeOf(BrokenProcessPool), BrokenExecutor);
  t.true(new BrokenThreadPool() instanceof BrokenExecutor);
  t.true(new BrokenProcessPool() instanceof BrokenExecutor);
  t.false(new BrokenThreadPool() instanceof BrokenProcessPool);
  t.false(new BrokenProcessPool() instanceof BrokenThreadPool);
  t.false(new CancelledError() instanceof TimeoutError);
  t.false(new TimeoutError() instanceof CancelledError);
  t.false(new ShutdownError() instanceof BrokenExecutor);
});

test('error classes accept a cause (ErrorOptions)', (t) => {
  const cause = new Error('root');
  for (const [name, Class] of Object.entries(errorClasses)) {
    const e = new Class('m', { cause });
    t.is(e.cause, cause, name);
  }
});

test('errors the future raises itself carry their class name', async (t) => {
  const f = new Future();
  const timeout = await t.throwsAsync(f.result(0));
  t.is(timeout.name, 'TimeoutError');
  t.true(timeout instanceof TimeoutError);
  f.cancel();
  const cancelled = await t.throwsAsync(f.result());
  t.is(cancelled.name, 'CancelledError');
  const invalid = t.throws(() => f.setResult(1));
  t.is(invalid.name, 'InvalidStateError');
  t.true(invalid instanceof InvalidStateError);
});

// ---------------------------------------------------------------------------------------------
// Timeouts that mean "do not wait", bad timeouts, the Promise statics, a future settled by hand
// while its executor runs it

for (const timeout of [-1, -Infinity, NaN]) {
  test(`result / exception with a negative or NaN timeout do not wait (${timeout})`, async (t) => {
    await t.throwsAsync(new Future().result(timeout), { instanceOf: TimeoutError });
    await t.throwsAsync(new Future().exception(timeout), { instanceOf: TimeoutError });
    const done = new Future();
    done.setResult(7);
    t.is(await done.result(timeout), 7);
    t.is(await done.exception(timeout), undefined);
  });
}

test('result / exception reject (never throw) on a timeout that is not a number', async (t) => {
  const f = new Future();
  let result;
  t.notThrows(() => {
    result = f.result('1');
  });
  await t.throwsAsync(result, { instanceOf: TypeError, message: /timeout must be a number/ });
  await t.throwsAsync(f.exception(null), { instanceOf: TypeError, message: /timeout must be a number/ });
});

test('the Promise statics work on Future: resolve, reject, all, race', async (t) => {
  const resolved = Future.resolve(1);
  t.true(resolved instanceof Future);
  t.true(resolved.done());
  t.is(await resolved, 1);
  const rejected = Future.reject(new RangeError('r'));
  await t.throwsAsync(rejected, { instanceOf: RangeError });
  t.is(String(rejected), '<Future state=finished raised RangeError>');
  const a = new Future();
  const all = Future.all([a, Promise.resolve(2)]);
  a.setResult(1);
  t.deepEqual(await Promise.race([all, sleep(5_000).then(() => 'still pending')]), [1, 2]);
  t.is(await Future.race([Promise.resolve('x'), new Future()]), 'x');
});

test('toString names an error of a custom class by its name', (t) => {
  const f = new Future();
  const error = new Error('custom');
  error.name = 'ParseError';
  f.setException(error);
  t.is(String(f), '<Future state=finished raised ParseError>');
});

/** Task: marks cell 0 (started), then blocks until cell 1 is set; returns `value`. */
function hold(sab, value) {
  const cells = new Int32Array(sab);
  Atomics.store(cells, 0, 1);
  Atomics.wait(cells, 1, 0);
  return value;
}
const newHold = () => {
  const sab = new SharedArrayBuffer(8);
  return { sab, cells: new Int32Array(sab) };
};

test('setResult by hand on a running executor future wins; the late outcome is dropped, others settle', async (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  const uncaught = [];
  const onUncaught = (error) => uncaught.push(error);
  process.on('uncaughtException', onUncaught);
  try {
    const { sab, cells } = newHold();
    const f1 = ex.submit(hold, sab, 'from the worker');
    const f2 = ex.submit((x) => x + 1, 1);
    const f3 = ex.submit((x) => x + 2, 1);
    while (Atomics.load(cells, 0) === 0) await sleep(5);
    f1.setResult('by hand');
    Atomics.store(cells, 1, 1);
    Atomics.notify(cells, 1);
    const outcome = await Promise.race([Promise.all([f1, f2, f3]), sleep(10_000).then(() => 'still pending')]);
    t.deepEqual(outcome, ['by hand', 2, 3]);
    await ex.shutdown({ wait: true });
    t.deepEqual(uncaught, []);
  } finally {
    process.off('uncaughtException', onUncaught);
    await ex.shutdown({ wait: false });
  }
});

test('a queued executor future settled by hand stays finished through shutdown({ cancelFutures })', async (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  const { sab, cells } = newHold();
  const running = ex.submit(hold, sab, 'held');
  const queued = ex.submit((x) => x, 'from the worker');
  while (Atomics.load(cells, 0) === 0) await sleep(5);
  queued.setResult('by hand');
  const shutdown = ex.shutdown({ cancelFutures: true });
  t.false(queued.cancelled());
  t.is(await queued, 'by hand');
  Atomics.store(cells, 1, 1);
  Atomics.notify(cells, 1);
  await shutdown;
  t.is(await running, 'held');
});

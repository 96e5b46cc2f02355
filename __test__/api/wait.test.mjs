// `wait` and `asCompleted`, with bare futures settled by hand and with ThreadPoolExecutor futures.
// Checked against /work/shared/API.md ("Future<T>" and "Module functions").
//
// Executor tasks are held by "gates" in a SharedArrayBuffer (the worker blocks in Atomics.wait
// until the test opens its gate), so which task finishes first is decided by the test, never by
// timing.
import test from 'ava';

import {
  ALL_COMPLETED,
  asCompleted,
  CancelledError,
  FIRST_COMPLETED,
  FIRST_EXCEPTION,
  Future,
  FuturesError,
  ThreadPoolExecutor,
  TimeoutError,
  wait,
} from '../../esm/index.mjs';

const nextMacrotask = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const rounds = async (n = 5) => {
  for (let i = 0; i < n; i++) await nextMacrotask();
};

/** Task: blocks until gate `i` opens; 1 → returns i, 2 → throws RangeError. Self-contained. */
function gate(sab, i) {
  const cells = new Int32Array(sab);
  Atomics.wait(cells, i, 0);
  if (Atomics.load(cells, i) === 2) throw new RangeError('gate ' + i + ' failed');
  return i;
}

const GATES = 16;
const newGates = () => new SharedArrayBuffer(GATES * 4);
function open(sab, i, how = 1) {
  const cells = new Int32Array(sab);
  Atomics.store(cells, i, how);
  Atomics.notify(cells, i);
}
/** Opens every gate still closed (so that no worker stays blocked). */
function openAll(sab) {
  const cells = new Int32Array(sab);
  for (let i = 0; i < GATES; i++) {
    Atomics.compareExchange(cells, i, 0, 1);
    Atomics.notify(cells, i);
  }
}

/** Records whether a promise has settled. */
function track(promise) {
  const state = { settled: false, value: undefined, error: undefined };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

function done(value) {
  const f = new Future();
  f.setResult(value);
  return f;
}
function failed(error) {
  const f = new Future();
  f.setException(error);
  return f;
}
function cancelled() {
  const f = new Future();
  f.cancel();
  return f;
}

const sameSet = (t, actual, expected, message) => {
  t.true(actual instanceof Set, `${message}: a Set`);
  t.is(actual.size, expected.length, `${message}: size`);
  for (const f of expected) t.true(actual.has(f), `${message}: has ${f}`);
};

/**
 * Iterates `iterator`, calling `after[k]` (if any) once the k-th item has been received. Returns
 * the items. Steps are keyed by position, so a wrong item never makes the loop wait forever.
 */
async function drive(iterator, after = []) {
  const items = [];
  for await (const item of iterator) {
    items.push(item);
    after[items.length - 1]?.();
  }
  return items;
}

/** A ThreadPoolExecutor and its gates; always opens every gate and shuts down. */
async function withPool(t, maxWorkers, body) {
  const ex = new ThreadPoolExecutor({ maxWorkers });
  const sab = newGates();
  try {
    await body(ex, sab);
  } finally {
    openAll(sab);
    await ex.shutdown({ wait: true });
  }
}

// =============================================================================================
// wait() with bare futures

test('constants', (t) => {
  t.is(FIRST_COMPLETED, 'FIRST_COMPLETED');
  t.is(FIRST_EXCEPTION, 'FIRST_EXCEPTION');
  t.is(ALL_COMPLETED, 'ALL_COMPLETED');
});

test('wait: ALL_COMPLETED (the default) resolves only once every future is done', async (t) => {
  const [a, b, c] = [new Future(), new Future(), new Future()];
  for (const options of [undefined, {}, { returnWhen: ALL_COMPLETED }]) {
    t.false(track(wait([a, b, c], options)).settled);
  }
  const p = wait([a, b, c]);
  const tracked = track(p);
  const explicit = wait([a, b, c], { returnWhen: ALL_COMPLETED });
  await rounds();
  t.false(tracked.settled);
  a.setResult(1);
  await rounds();
  t.false(tracked.settled);
  b.setException(new Error('b failed'));
  await rounds();
  t.false(tracked.settled, 'an exception does not end ALL_COMPLETED');
  setImmediate(() => c.setResult(3));
  for (const result of [await p, await explicit]) {
    sameSet(t, result.done, [a, b, c], 'done');
    sameSet(t, result.notDone, [], 'notDone');
  }
});

test('wait: everything already done resolves at once', async (t) => {
  const fs = [done(1), failed(new Error('x')), cancelled()];
  for (const returnWhen of [ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION]) {
    const { done: d, notDone } = await wait(fs, { returnWhen });
    sameSet(t, d, fs, returnWhen);
    sameSet(t, notDone, [], returnWhen);
  }
});

test('wait: an empty iterable resolves with two empty sets', async (t) => {
  for (const returnWhen of [ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION]) {
    const result = await wait([], { returnWhen });
    sameSet(t, result.done, [], 'done');
    sameSet(t, result.notDone, [], 'notDone');
  }
});

test('wait: FIRST_COMPLETED resolves when any future finishes (result, exception or cancel)', async (t) => {
  for (const finish of [(f) => f.setResult('v'), (f) => f.setException(new Error('e')), (f) => f.cancel()]) {
    const [a, b, c] = [new Future(), new Future(), new Future()];
    const p = wait([a, b, c], { returnWhen: FIRST_COMPLETED });
    const tracked = track(p);
    await rounds();
    t.false(tracked.settled);
    setImmediate(() => finish(b));
    const { done: d, notDone } = await p;
    sameSet(t, d, [b], 'done');
    sameSet(t, notDone, [a, c], 'notDone');
  }
});

test('wait: FIRST_COMPLETED with one already done resolves at once', async (t) => {
  const a = done(1);
  const b = new Future();
  const { done: d, notDone } = await wait([b, a], { returnWhen: FIRST_COMPLETED });
  sameSet(t, d, [a], 'done');
  sameSet(t, notDone, [b], 'notDone');
});

test('wait: FIRST_EXCEPTION resolves at the first exception', async (t) => {
  const [a, b, c] = [new Future(), new Future(), new Future()];
  const p = wait([a, b, c], { returnWhen: FIRST_EXCEPTION });
  const tracked = track(p);
  a.setResult('ok');
  await rounds();
  t.false(tracked.settled, 'a success does not end FIRST_EXCEPTION');
  setImmediate(() => b.setException(new RangeError('b')));
  const { done: d, notDone } = await p;
  sameSet(t, d, [a, b], 'done');
  sameSet(t, notDone, [c], 'notDone');
});

test('wait: FIRST_EXCEPTION with an exception already there resolves at once', async (t) => {
  const a = failed(new Error('x'));
  const b = new Future();
  const { done: d, notDone } = await wait([a, b], { returnWhen: FIRST_EXCEPTION });
  sameSet(t, d, [a], 'done');
  sameSet(t, notDone, [b], 'notDone');
});

test('wait: FIRST_EXCEPTION without any exception behaves as ALL_COMPLETED', async (t) => {
  const [a, b, c] = [new Future(), new Future(), new Future()];
  const p = wait([a, b, c], { returnWhen: FIRST_EXCEPTION });
  const tracked = track(p);
  a.setResult(1);
  await rounds();
  t.false(tracked.settled);
  b.setResult(2);
  await rounds();
  t.false(tracked.settled);
  setImmediate(() => c.setResult(3));
  const { done: d, notDone } = await p;
  sameSet(t, d, [a, b, c], 'done');
  sameSet(t, notDone, [], 'notDone');
});

test('wait: FIRST_EXCEPTION does not count a cancellation as an exception (as Python)', async (t) => {
  const [a, b] = [new Future(), new Future()];
  const p = wait([a, b], { returnWhen: FIRST_EXCEPTION });
  const tracked = track(p);
  a.cancel();
  await rounds();
  t.false(tracked.settled);
  setImmediate(() => b.setResult(2));
  const { done: d, notDone } = await p;
  sameSet(t, d, [a, b], 'done');
  sameSet(t, notDone, [], 'notDone');
});

test('wait: a timeout resolves with the split at that moment, never rejects', async (t) => {
  const a = done(1);
  const b = new Future();
  const c = new Future();
  const d = new Future();
  setImmediate(() => c.setException(new Error('c')));
  for (const returnWhen of [ALL_COMPLETED, FIRST_EXCEPTION]) {
    const split = await wait([a, b, c, d].filter((f) => returnWhen === ALL_COMPLETED || f !== c), {
      timeout: 30,
      returnWhen,
    });
    if (returnWhen === ALL_COMPLETED) {
      sameSet(t, split.done, [a, c], returnWhen + ' done');
      sameSet(t, split.notDone, [b, d], returnWhen + ' notDone');
    } else {
      sameSet(t, split.done, [a], returnWhen + ' done');
      sameSet(t, split.notDone, [b, d], returnWhen + ' notDone');
    }
  }
  const first = await wait([b, d], { timeout: 20, returnWhen: FIRST_COMPLETED });
  sameSet(t, first.done, [], 'FIRST_COMPLETED done');
  sameSet(t, first.notDone, [b, d], 'FIRST_COMPLETED notDone');
  t.false(b.done());
});

test('wait: timeout 0 resolves with the current split at once', async (t) => {
  const a = done(1);
  const b = new Future();
  const c = cancelled();
  for (const returnWhen of [ALL_COMPLETED, FIRST_EXCEPTION]) {
    const tracked = track(wait([a, b, c], { timeout: 0, returnWhen }));
    await nextMacrotask(); // only microtasks ran: "at once"
    t.true(tracked.settled, returnWhen);
    t.is(tracked.error, undefined);
    sameSet(t, tracked.value.done, [a, c], returnWhen + ' done');
    sameSet(t, tracked.value.notDone, [b], returnWhen + ' notDone');
  }
  const none = await wait([b, new Future()], { timeout: 0, returnWhen: FIRST_COMPLETED });
  t.is(none.done.size, 0);
  t.is(none.notDone.size, 2);
});

test('wait: a timeout does not cut a wait that is satisfied first', async (t) => {
  const a = new Future();
  setImmediate(() => a.setResult(1));
  const { done: d, notDone } = await wait([a], { timeout: 60_000 });
  sameSet(t, d, [a], 'done');
  sameSet(t, notDone, [], 'notDone');
});

test('wait: duplicates collapse', async (t) => {
  const a = done(1);
  const b = new Future();
  const timedOut = await wait([a, a, b, b, a], { timeout: 0 });
  sameSet(t, timedOut.done, [a], 'done');
  sameSet(t, timedOut.notDone, [b], 'notDone');
  setImmediate(() => b.setResult(2));
  const all = await wait([b, a, b, a]);
  sameSet(t, all.done, [a, b], 'done');
  sameSet(t, all.notDone, [], 'notDone');
});

test('wait: accepts any iterable of futures (Set, generator)', async (t) => {
  const a = done(1);
  const b = done(2);
  const fromSet = await wait(new Set([a, b]));
  sameSet(t, fromSet.done, [a, b], 'set');
  const fromGenerator = await wait(
    (function* () {
      yield a;
      yield b;
    })(),
  );
  sameSet(t, fromGenerator.done, [a, b], 'generator');
});

test('wait: an invalid returnWhen is a RangeError', async (t) => {
  const a = new Future();
  for (const returnWhen of ['first_completed', 'ANY', 42, null]) {
    // sync throw or rejection are both accepted: the async wrapper turns the one into the other
    await t.throwsAsync(async () => wait([a], { returnWhen }), { instanceOf: RangeError }, String(returnWhen));
  }
  await t.throwsAsync(async () => wait([done(1)], { returnWhen: 'NOPE' }), { instanceOf: RangeError }, 'even when everything is done');
});

test('wait: a cancelled future counts as done at once (before and during the wait)', async (t) => {
  const c = cancelled();
  const pending = new Future();
  const first = await wait([pending, c], { returnWhen: FIRST_COMPLETED });
  sameSet(t, first.done, [c], 'done');
  sameSet(t, first.notDone, [pending], 'notDone');

  const all = await wait([c]);
  sameSet(t, all.done, [c], 'done');

  const x = new Future();
  const y = done(1);
  const p = wait([x, y]);
  const tracked = track(p);
  await rounds();
  t.false(tracked.settled);
  x.cancel();
  const split = await p;
  sameSet(t, split.done, [x, y], 'done after cancel');
  sameSet(t, split.notDone, [], 'notDone after cancel');
});

test('wait: the futures are left untouched (a wait registers nothing visible)', async (t) => {
  const a = new Future();
  await wait([a], { timeout: 5 });
  const calls = [];
  a.addDoneCallback(() => calls.push('mine'));
  a.setResult(1);
  t.deepEqual(calls, ['mine']);
  t.is(await a.result(), 1);
});

// =============================================================================================
// wait() with a ThreadPoolExecutor

test('wait + executor: ALL_COMPLETED', async (t) => {
  t.timeout(20_000);
  await withPool(t, 2, async (ex, sab) => {
    const fs = [0, 1, 2].map((i) => ex.submit(gate, sab, i));
    const p = wait(fs);
    const tracked = track(p);
    await rounds();
    t.false(tracked.settled);
    open(sab, 0);
    await fs[0];
    await rounds();
    t.false(tracked.settled);
    open(sab, 2, 2);
    open(sab, 1);
    const { done: d, notDone } = await p;
    sameSet(t, d, fs, 'done');
    sameSet(t, notDone, [], 'notDone');
    t.is(await fs[0].result(), 0);
    t.is(await fs[1].result(), 1);
    t.true((await fs[2].exception()) instanceof RangeError);
  });
});

test('wait + executor: FIRST_COMPLETED', async (t) => {
  t.timeout(20_000);
  await withPool(t, 2, async (ex, sab) => {
    const fs = [0, 1].map((i) => ex.submit(gate, sab, i));
    const p = wait(fs, { returnWhen: FIRST_COMPLETED });
    const tracked = track(p);
    await rounds();
    t.false(tracked.settled);
    open(sab, 1);
    const { done: d, notDone } = await p;
    sameSet(t, d, [fs[1]], 'done');
    sameSet(t, notDone, [fs[0]], 'notDone');
    t.is(await fs[1].result(), 1);
  });
});

test('wait + executor: FIRST_EXCEPTION', async (t) => {
  t.timeout(20_000);
  await withPool(t, 2, async (ex, sab) => {
    // 2 workers: gates 0 and 1 run, 2 waits in the queue.
    const fs = [0, 1, 2].map((i) => ex.submit(gate, sab, i));
    const p = wait(fs, { returnWhen: FIRST_EXCEPTION });
    const tracked = track(p);
    open(sab, 0);
    t.is(await fs[0].result(), 0);
    await rounds();
    t.false(tracked.settled, 'a success does not end FIRST_EXCEPTION');
    open(sab, 1, 2);
    const { done: d, notDone } = await p;
    // gate 2 may have started once gate 0's worker was free, but it is still closed.
    sameSet(t, d, [fs[0], fs[1]], 'done');
    sameSet(t, notDone, [fs[2]], 'notDone');
    const error = await fs[1].exception();
    t.true(error instanceof RangeError);
    t.is(error.message, 'gate 1 failed');
  });
});

test('wait + executor: FIRST_EXCEPTION with no exception behaves as ALL_COMPLETED', async (t) => {
  t.timeout(20_000);
  await withPool(t, 2, async (ex, sab) => {
    const fs = [0, 1, 2].map((i) => ex.submit(gate, sab, i));
    const p = wait(fs, { returnWhen: FIRST_EXCEPTION });
    const tracked = track(p);
    open(sab, 0);
    await fs[0];
    open(sab, 1);
    await fs[1];
    await rounds();
    t.false(tracked.settled);
    open(sab, 2);
    const { done: d, notDone } = await p;
    sameSet(t, d, fs, 'done');
    sameSet(t, notDone, [], 'notDone');
  });
});

test('wait + executor: a timeout resolves with the split, without rejecting', async (t) => {
  t.timeout(20_000);
  await withPool(t, 2, async (ex, sab) => {
    const quick = ex.submit((x) => x * 2, 21);
    t.is(await quick, 42);
    const blocked = ex.submit(gate, sab, 0);
    for (const returnWhen of [ALL_COMPLETED, FIRST_EXCEPTION]) {
      const { done: d, notDone } = await wait([quick, blocked], { timeout: 30, returnWhen });
      sameSet(t, d, [quick], returnWhen + ' done');
      sameSet(t, notDone, [blocked], returnWhen + ' notDone');
    }
    const zero = await wait([quick, blocked], { timeout: 0 });
    sameSet(t, zero.done, [quick], 'timeout 0 done');
    sameSet(t, zero.notDone, [blocked], 'timeout 0 notDone');
    const first = await wait([blocked], { timeout: 10, returnWhen: FIRST_COMPLETED });
    sameSet(t, first.notDone, [blocked], 'FIRST_COMPLETED notDone');
    open(sab, 0);
    t.is(await blocked, 0);
  });
});

test('wait + executor: a cancelled (queued) future counts as done at once', async (t) => {
  t.timeout(20_000);
  await withPool(t, 2, async (ex, sab) => {
    const running = [0, 1].map((i) => ex.submit(gate, sab, i));
    const queued = ex.submit(gate, sab, 2); // both workers are held: it cannot start
    t.true(queued.cancel());
    t.true(queued.cancelled());
    const first = await wait([running[0], queued], { returnWhen: FIRST_COMPLETED });
    sameSet(t, first.done, [queued], 'done');
    sameSet(t, first.notDone, [running[0]], 'notDone');
    const zero = await wait([...running, queued], { timeout: 0 });
    sameSet(t, zero.done, [queued], 'timeout 0 done');
    await t.throwsAsync(queued.result(), { instanceOf: CancelledError });
  });
});

test('wait + executor: duplicates collapse', async (t) => {
  t.timeout(20_000);
  await withPool(t, 2, async (ex, sab) => {
    const f = ex.submit(gate, sab, 0);
    const g = ex.submit((x) => x, 'g');
    setImmediate(() => open(sab, 0));
    const { done: d, notDone } = await wait([f, g, f, g, f]);
    sameSet(t, d, [f, g], 'done');
    sameSet(t, notDone, [], 'notDone');
  });
});

test('wait: futures from two executors and bare futures mix', async (t) => {
  t.timeout(20_000);
  const ex1 = new ThreadPoolExecutor({ maxWorkers: 1 });
  const ex2 = new ThreadPoolExecutor({ maxWorkers: 1 });
  const sab = newGates();
  try {
    const f1 = ex1.submit(gate, sab, 1);
    const f2 = ex2.submit(gate, sab, 2);
    const bare = new Future();
    const all = [f1, f2, bare];

    const zero = await wait(all, { timeout: 0 });
    sameSet(t, zero.notDone, all, 'nothing done yet');

    open(sab, 2);
    const first = await wait(all, { returnWhen: FIRST_COMPLETED });
    sameSet(t, first.done, [f2], 'FIRST_COMPLETED done');
    sameSet(t, first.notDone, [f1, bare], 'FIRST_COMPLETED notDone');

    bare.setException(new TypeError('bare failed'));
    const exc = await wait(all, { returnWhen: FIRST_EXCEPTION });
    sameSet(t, exc.done, [f2, bare], 'FIRST_EXCEPTION done');
    sameSet(t, exc.notDone, [f1], 'FIRST_EXCEPTION notDone');

    setImmediate(() => open(sab, 1));
    const every = await wait(all);
    sameSet(t, every.done, all, 'ALL_COMPLETED done');
    t.is(await f1, 1);
    t.is(await f2, 2);
  } finally {
    openAll(sab);
    await Promise.all([ex1.shutdown(), ex2.shutdown()]);
  }
});

// =============================================================================================
// asCompleted() with bare futures

// FAILING (library bug): asCompleted yields the futures' values, not the futures; see report
test('asCompleted: next() gives Future objects (not their values)', async (t) => {
  t.timeout(10_000);
  const a = done('value of a');
  const b = failed(new RangeError('b failed'));
  const c = cancelled();
  const it = asCompleted([a, b, c]);
  t.is(typeof it[Symbol.asyncIterator], 'function');
  t.is(it[Symbol.asyncIterator](), it);
  const seen = [];
  for (;;) {
    let r;
    try {
      r = await it.next();
    } catch (error) {
      t.fail(`next() threw ${error}`);
      return;
    }
    if (r.done) break;
    t.true(r.value instanceof Future, `yielded ${String(r.value)}`);
    seen.push(r.value);
  }
  sameSet(t, new Set(seen), [a, b, c], 'yielded');
  t.is(seen.length, 3);
});

// FAILING (library bug): asCompleted yields the futures' values, not the futures; see report
test('asCompleted: already-done futures first, then the rest in completion order, each once', async (t) => {
  t.timeout(10_000);
  const a = done(1);
  const b = new Future();
  const c = new Future();
  const d = failed(new Error('d'));
  const e = new Future();
  const items = await drive(asCompleted([b, a, c, d, e]), [
    undefined,
    () => setImmediate(() => c.setResult(3)), // after both already-done futures
    () => setImmediate(() => e.setException(new Error('e'))),
    () => setImmediate(() => b.cancel()),
  ]);
  t.is(items.length, 5);
  t.true(items.every((f) => f instanceof Future), 'yields futures');
  sameSet(t, new Set(items.slice(0, 2)), [a, d], 'already done first');
  t.deepEqual(items.slice(2), [c, e, b]);
});

// FAILING (library bug): asCompleted yields the futures' values, not the futures; see report
test('asCompleted: futures finishing in the same tick come in completion order', async (t) => {
  t.timeout(10_000);
  const [a, b, c] = [new Future(), new Future(), new Future()];
  setImmediate(() => {
    c.setResult('c');
    a.setException(new Error('a'));
    b.setResult('b');
  });
  const items = await drive(asCompleted([a, b, c]));
  t.deepEqual(items, [c, a, b]);
});

// FAILING (library bug): asCompleted yields the futures' values, not the futures; see report
test('asCompleted: duplicates are yielded once', async (t) => {
  t.timeout(10_000);
  const a = done(1);
  const b = new Future();
  setImmediate(() => b.setResult(2));
  const items = await drive(asCompleted([a, b, a, b, b]));
  t.is(items.length, 2);
  t.deepEqual(items, [a, b]);
});

test('asCompleted: an empty iterable finishes at once', async (t) => {
  const it = asCompleted([]);
  t.deepEqual(await it.next(), { done: true, value: undefined });
});

// FAILING (library bug): asCompleted yields the futures' values, not the futures; see report
test('asCompleted: timeout throws TimeoutError "N (of M) futures unfinished"', async (t) => {
  t.timeout(10_000);
  const a = done(1);
  const b = new Future();
  const c = new Future();
  const it = asCompleted([a, b, c], { timeout: 50 });
  const first = await it.next();
  t.false(first.done);
  t.is(first.value, a);
  const error = await t.throwsAsync(it.next(), { instanceOf: TimeoutError });
  t.true(error instanceof FuturesError);
  t.is(error.name, 'TimeoutError');
  t.is(error.message, '2 (of 3) futures unfinished');
});

// FAILING (library bug): asCompleted yields the futures' values, not the futures; see report
test('asCompleted: the timeout message counts distinct futures; finished ones are yielded before it', async (t) => {
  t.timeout(10_000);
  const a = done(1);
  const b = new Future();
  const c = new Future();
  const items = [];
  const error = await t.throwsAsync(
    async () => {
      for await (const f of asCompleted([a, b, c, b, a], { timeout: 100 })) {
        items.push(f);
        if (items.length === 1) c.setResult(3);
      }
    },
    { instanceOf: TimeoutError },
  );
  t.is(error.message, '1 (of 3) futures unfinished');
  t.deepEqual(items, [a, c]);
});

// FAILING (library bug): asCompleted yields the futures' values, not the futures; see report
test('asCompleted: timeout 0 yields what is done, then throws for the rest', async (t) => {
  t.timeout(10_000);
  const a = done(1);
  const b = cancelled();
  const allDone = await drive(asCompleted([a, b], { timeout: 0 }));
  sameSet(t, new Set(allDone), [a, b], 'all done: no error');

  const c = new Future();
  const items = [];
  const error = await t.throwsAsync(
    async () => {
      for await (const f of asCompleted([c, a], { timeout: 0 })) items.push(f);
    },
    { instanceOf: TimeoutError },
  );
  t.is(error.message, '1 (of 2) futures unfinished');
  t.deepEqual(items, [a]);
});

// FAILING (library bug): asCompleted yields the futures' values, not the futures; see report
test('asCompleted: the clock starts at the first next(), not at the call', async (t) => {
  t.timeout(10_000);
  // Everything done by the time of the first next(): iterating succeeds although the timeout
  // (counted from the call) would have passed long ago.
  const [a, b] = [new Future(), new Future()];
  const it1 = asCompleted([a, b], { timeout: 20 });
  await sleep(100);
  a.setResult(1);
  b.setResult(2);
  const items1 = await drive(it1);
  sameSet(t, new Set(items1), [a, b], 'all yielded');

  // One still pending at the second next(), long after call + timeout: it is still waited for,
  // as the deadline is first next() + timeout.
  const c = done('c');
  const d = new Future();
  const it2 = asCompleted([c, d], { timeout: 200 });
  await sleep(300);
  const first = await it2.next();
  t.is(first.value, c);
  const secondPromise = it2.next();
  d.setResult('d');
  const second = await secondPromise;
  t.is(second.value, d);
  t.true((await it2.next()).done);
});

// FAILING (library bug): asCompleted yields the futures' values, not the futures; see report
test('asCompleted: failed and cancelled futures are yielded, not thrown', async (t) => {
  t.timeout(10_000);
  const a = new Future();
  const b = new Future();
  setImmediate(() => {
    a.setException(new RangeError('a'));
    b.cancel();
  });
  const items = await drive(asCompleted([a, b]));
  t.deepEqual(items, [a, b]);
  t.true((await a.exception()) instanceof RangeError);
  t.true(b.cancelled());
});

// FAILING (library bug): asCompleted yields the futures' values, not the futures; see report
test('asCompleted: breaking out early leaves the futures usable', async (t) => {
  t.timeout(10_000);
  const a = done(1);
  const b = new Future();
  for await (const f of asCompleted([a, b])) {
    t.is(f, a);
    break;
  }
  const calls = [];
  b.addDoneCallback(() => calls.push('mine'));
  b.setResult(2);
  t.deepEqual(calls, ['mine']);
});

// =============================================================================================
// asCompleted() with executors

// FAILING (library bug): asCompleted yields the futures' values, not the futures; see report
test('asCompleted + executor: every future once, in completion order', async (t) => {
  t.timeout(20_000);
  await withPool(t, 2, async (ex, sab) => {
    const fs = [0, 1, 2, 3].map((i) => ex.submit(gate, sab, i));
    // Two workers hold gates 0 and 1; 2 and 3 wait in the queue. Open 1; after each item, open
    // the next gate, always one whose task can run by then: 0 (fails), then 3, then 2.
    open(sab, 1);
    const items = await drive(asCompleted(fs), [() => open(sab, 0, 2), () => open(sab, 3), () => open(sab, 2)]);
    t.deepEqual(items, [fs[1], fs[0], fs[3], fs[2]]);
    t.true((await fs[0].exception()) instanceof RangeError);
    t.deepEqual(await Promise.all([fs[1], fs[2], fs[3]]), [1, 2, 3]);
  });
});

// FAILING (library bug): asCompleted yields the futures' values, not the futures; see report
test('asCompleted + executor: timeout', async (t) => {
  t.timeout(20_000);
  await withPool(t, 2, async (ex, sab) => {
    const quick = ex.submit((x) => x + 1, 1);
    await quick;
    const blocked = ex.submit(gate, sab, 0);
    const items = [];
    const error = await t.throwsAsync(
      async () => {
        for await (const f of asCompleted([blocked, quick], { timeout: 50 })) items.push(f);
      },
      { instanceOf: TimeoutError },
    );
    t.is(error.message, '1 (of 2) futures unfinished');
    t.deepEqual(items, [quick]);
  });
});

// FAILING (library bug): asCompleted yields the futures' values, not the futures; see report
test('asCompleted: futures from two executors and bare futures mix', async (t) => {
  t.timeout(20_000);
  const ex1 = new ThreadPoolExecutor({ maxWorkers: 2 });
  const ex2 = new ThreadPoolExecutor({ maxWorkers: 2 });
  const sab = newGates();
  try {
    const f1 = ex1.submit(gate, sab, 1);
    const f2 = ex2.submit(gate, sab, 2);
    const f3 = ex1.submit(gate, sab, 3);
    const bare = new Future();
    const early = done('early');
    const items = await drive(asCompleted([f1, bare, f2, early, f3]), [
      () => bare.setResult('bare'),
      () => open(sab, 2),
      () => open(sab, 3, 2),
      () => open(sab, 1),
    ]);
    t.deepEqual(items, [early, bare, f2, f3, f1]);
    t.is(await f2, 2);
    t.true((await f3.exception()) instanceof RangeError);
    t.is(await f1, 1);
  } finally {
    openAll(sab);
    await Promise.all([ex1.shutdown(), ex2.shutdown()]);
  }
});

// ---------------------------------------------------------------------------------------------
// Negative timeouts, overlapping next() calls, return() while waiting

for (const timeout of [-1, -Infinity, NaN]) {
  test(`wait: a negative or NaN timeout means "do not wait" (${timeout})`, async (t) => {
    const done = new Future();
    done.setResult(1);
    const pending = new Future();
    const { done: d, notDone } = await wait([done, pending], { timeout });
    t.deepEqual([...d], [done]);
    t.deepEqual([...notDone], [pending]);
  });

  test(`asCompleted: a negative or NaN timeout yields what is done, then throws (${timeout})`, async (t) => {
    const done = new Future();
    done.setResult(1);
    const it = asCompleted([done, new Future()], { timeout });
    t.is((await it.next()).value, done);
    await t.throwsAsync(it.next(), { instanceOf: TimeoutError, message: '1 (of 2) futures unfinished' });
  });
}

test('asCompleted: overlapping next() calls each get their own future, then done', async (t) => {
  const fs = [new Future(), new Future(), new Future()];
  const it = asCompleted(fs);
  const calls = [it.next(), it.next(), it.next(), it.next()];
  await rounds();
  fs[2].setResult('c');
  fs[0].setResult('a');
  fs[1].setException(new RangeError('b'));
  const outcomes = await Promise.race([Promise.all(calls), sleep(5_000).then(() => 'a next() never settled')]);
  t.deepEqual(
    outcomes.map((r) => (r.done ? 'done' : r.value)),
    [fs[2], fs[0], fs[1], 'done'],
  );
});

test('asCompleted: return() while a next() waits ends the iteration; that next() resolves done', async (t) => {
  const f = new Future();
  const it = asCompleted([f], { timeout: 60_000 });
  const waiting = it.next();
  await rounds();
  t.deepEqual(await it.return(), { done: true, value: undefined });
  const outcome = await Promise.race([waiting, sleep(5_000).then(() => 'still pending')]);
  t.deepEqual(outcome, { done: true, value: undefined });
  f.setResult(1);
  t.deepEqual(await it.next(), { done: true, value: undefined });
});

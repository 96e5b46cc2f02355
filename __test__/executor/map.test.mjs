// `Executor.map` on a ThreadPoolExecutor, checked against /work/shared/API.md ("Executor").
//
// Task functions travel by source text: every one below is self-contained and gets what it
// needs as arguments. Tasks that must stay unfinished are held by "gates" in a SharedArrayBuffer
// (the worker blocks in Atomics.wait until the test opens the gate), and tasks that must be
// counted add to a SharedArrayBuffer counter, so nothing is decided by timing.
import test from 'ava';

import { ShutdownError, ThreadPoolExecutor, TimeoutError } from '../../esm/index.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Task: blocks until gate `i` opens; 1 → returns i, 2 → throws RangeError. */
function gate(sab, i) {
  const cells = new Int32Array(sab);
  Atomics.add(cells, 0, 1); // cell 0 counts the tasks that started
  Atomics.wait(cells, i, 0);
  if (Atomics.load(cells, i) === 2) throw new RangeError('gate ' + i + ' failed');
  return i;
}
const GATES = 64;
const newGates = () => new SharedArrayBuffer(GATES * 4);
function open(sab, i, how = 1) {
  const cells = new Int32Array(sab);
  Atomics.store(cells, i, how);
  Atomics.notify(cells, i);
}
function openAll(sab) {
  const cells = new Int32Array(sab);
  for (let i = 1; i < GATES; i++) {
    Atomics.compareExchange(cells, i, 0, 1);
    Atomics.notify(cells, i);
  }
}
const started = (sab) => Atomics.load(new Int32Array(sab), 0);

/** Task: counts itself in cell 0 of `sab`, then resolves with `ms` after `ms` ms. */
function slowCounted(sab, ms) {
  Atomics.add(new Int32Array(sab), 0, 1);
  return new Promise((resolve) => setTimeout(() => resolve(ms), ms));
}

function* range(n) {
  for (let i = 0; i < n; i++) yield i;
}
/** The same object, forever. */
function* repeat(x) {
  for (;;) yield x;
}

async function collect(iterator) {
  const out = [];
  for await (const v of iterator) out.push(v);
  return out;
}

async function withPool(maxWorkers, body) {
  const ex = new ThreadPoolExecutor({ maxWorkers });
  try {
    await body(ex);
  } finally {
    await ex.shutdown({ wait: true });
  }
}

// =============================================================================================
// Results, zipping, options

test('map returns an async iterator of the results, in input order', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    const it = ex.map((x) => x * 2, [1, 2, 3]);
    t.is(typeof it.next, 'function');
    t.is(it[Symbol.asyncIterator](), it);
    t.deepEqual(await collect(it), [2, 4, 6]);
    t.deepEqual(await it.next(), { done: true, value: undefined });
  });
});

test('results come in input order even when later items finish first', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    const delays = [60, 50, 40, 30, 20, 10, 0, 0];
    const results = await collect(
      ex.map((ms, i) => new Promise((resolve) => setTimeout(() => resolve(i), ms)), delays, range(delays.length), { chunksize: 1 }),
    );
    t.deepEqual(results, [0, 1, 2, 3, 4, 5, 6, 7]);
  });
});

test('async task functions are awaited in the worker', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    t.deepEqual(await collect(ex.map(async (x) => x + 1, [1, 2, 3])), [2, 3, 4]);
  });
});

test('several iterables are zipped; the shortest wins', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    const zipped = await collect(ex.map((a, b, c) => [a, b, c], [1, 2, 3], 'abcd', new Set([true, false, null, 7, 8])));
    t.deepEqual(zipped, [
      [1, 'a', true],
      [2, 'b', false],
      [3, 'c', null],
    ]);
    // An infinite iterable is fine next to a finite one, in either position.
    t.deepEqual(await collect(ex.map((a, b) => a + b, [10, 20, 30], range(Infinity))), [10, 21, 32]);
    t.deepEqual(await collect(ex.map((a, b) => a + b, range(Infinity), [10, 20, 30])), [10, 21, 32]);
    t.deepEqual(await collect(ex.map((a, b) => a + b, [1, 2], [])), []);
  });
});

test('no iterables: empty', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    t.deepEqual(await collect(ex.map((x) => x)), []);
    t.deepEqual(await collect(ex.map(() => 1, { chunksize: 2 })), []);
    const it = ex.map(() => 1);
    t.deepEqual(await it.next(), { done: true, value: undefined });
  });
});

test('a trailing plain object is the options; an iterable last argument is an input', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    t.deepEqual(await collect(ex.map((x) => x + 1, [1, 2, 3], { chunksize: 2 })), [2, 3, 4]);
    t.deepEqual(await collect(ex.map((x) => x + 1, [1, 2, 3], {})), [2, 3, 4]);
    t.deepEqual(await collect(ex.map((x, y) => x * y, [1, 2, 3], [4, 5, 6], { timeout: 60_000, chunksize: 'auto' })), [4, 10, 18]);
    // A Map is iterable: it is an input, not the options.
    const pairs = await collect(ex.map((x, entry) => [x, entry], [1, 2], new Map([['k', 'v'], ['k2', 'v2']])));
    t.deepEqual(pairs, [
      [1, ['k', 'v']],
      [2, ['k2', 'v2']],
    ]);
  });
});

test('chunksize 1, 7, "auto" and the default all give the same results for 10,000 items', async (t) => {
  t.timeout(30_000);
  await withPool(2, async (ex) => {
    const n = 10_000;
    const expected = Array.from({ length: n }, (_, i) => i * 3 + 1);
    for (const options of [{ chunksize: 1 }, { chunksize: 7 }, { chunksize: 'auto' }, {}]) {
      const results = await collect(ex.map((x) => x * 3 + 1, range(n), options));
      t.is(results.length, n, JSON.stringify(options));
      t.deepEqual(results, expected, JSON.stringify(options));
    }
  });
});

test('without buffersize, all input is consumed inside the map() call', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    let pulls = 0;
    function* counted() {
      for (let i = 0; i < 50; i++) {
        pulls++;
        yield i;
      }
    }
    const it = ex.map((x) => -x, counted(), { chunksize: 3 });
    t.is(pulls, 50, 'consumed synchronously, before any next()');
    const results = await collect(it);
    t.deepEqual(
      results,
      Array.from({ length: 50 }, (_, i) => -i),
    );
  });
});

// =============================================================================================
// Errors

test('a task error is thrown by the next() at its position; earlier items in the same chunk come first; then done', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    const fail = (x) => {
      if (x === 5) {
        const error = new RangeError('bad item ' + x);
        error.code = 'E_BAD';
        throw error;
      }
      return x * 10;
    };
    for (const chunksize of [10, 1, 'auto']) {
      const it = ex.map(fail, range(20), { chunksize });
      const got = [];
      for (let i = 0; i < 5; i++) {
        const r = await it.next();
        t.false(r.done);
        got.push(r.value);
      }
      t.deepEqual(got, [0, 10, 20, 30, 40], `chunksize ${chunksize}`);
      const error = await t.throwsAsync(it.next(), { instanceOf: RangeError }, `chunksize ${chunksize}`);
      t.is(error.message, 'bad item 5');
      t.is(error.code, 'E_BAD');
      t.deepEqual(await it.next(), { done: true, value: undefined }, 'finished after the throw');
      t.deepEqual(await it.next(), { done: true, value: undefined });
    }
  });
});

test('a result that cannot be cloned fails only its own item; earlier items in its chunk are delivered', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    for (const chunksize of [10, 'auto']) {
      const it = ex.map((x) => (x === 5 ? Symbol('not cloneable') : x), range(20), { chunksize });
      const got = [];
      for (let i = 0; i < 5; i++) got.push((await it.next()).value);
      t.deepEqual(got, [0, 1, 2, 3, 4], `chunksize ${chunksize}`);
      const error = await t.throwsAsync(it.next(), undefined, `chunksize ${chunksize}`);
      t.is(error.name, 'DataCloneError');
      t.deepEqual(await it.next(), { done: true, value: undefined });
    }
  });
});

test('a task error ends a for-await loop at its position', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    const got = [];
    const error = await t.throwsAsync(async () => {
      for await (const v of ex.map((x) => (x === 3 ? Promise.reject(new TypeError('three')) : x), range(8), { chunksize: 4 })) got.push(v);
    });
    t.true(error instanceof TypeError);
    t.is(error.message, 'three');
    t.deepEqual(got, [0, 1, 2]);
  });
});

test('after a task error, the undelivered items are cancelled', async (t) => {
  t.timeout(20_000);
  const sab = newGates();
  await withPool(1, async (ex) => {
    const n = 10;
    // Item 0 fails at once; the others are held by gates 1..n-1 (the one worker takes item 1).
    const task = (sab, i) => {
      const cells = new Int32Array(sab);
      Atomics.add(cells, 0, 1);
      if (i === 0) throw new Error('first fails');
      Atomics.wait(cells, i, 0);
      return i;
    };
    try {
      const it = ex.map(task, repeat(sab), range(n), { chunksize: 1 });
      await t.throwsAsync(it.next(), { message: 'first fails' });
      t.deepEqual(await it.next(), { done: true, value: undefined });
    } finally {
      openAll(sab);
    }
    await ex.shutdown({ wait: true });
    // Item 0 and item 1 (already taken by the worker) may have started; 2..n-1 never.
    t.true(started(sab) <= 2, `${started(sab)} of ${n} items started`);
  });
});

// =============================================================================================
// Timeout

test('timeout: next() throws TimeoutError when an item is not ready by the deadline; then the iterator is done', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    const slow = (ms) => new Promise((resolve) => setTimeout(() => resolve(ms), ms));
    // No item can be ready within 50 ms: each takes at least 2 s (a wide margin: on a loaded
    // machine the timer and the first outcome can be seen in the same turn of the event loop).
    const it = ex.map(slow, [2000, 2000, 2000], { timeout: 50, chunksize: 1 });
    const error = await t.throwsAsync(it.next(), { instanceOf: TimeoutError });
    t.is(error.name, 'TimeoutError');
    t.deepEqual(await it.next(), { done: true, value: undefined });
  });
});

test('timeout: the undelivered items are cancelled', async (t) => {
  t.timeout(20_000);
  const sab = newGates();
  await withPool(2, async (ex) => {
    try {
      // Two workers take gates 1 and 2; gates 3..6 wait in the queue and must never run.
      const it = ex.map(gate, repeat(sab), [1, 2, 3, 4, 5, 6], { timeout: 50, chunksize: 1 });
      await t.throwsAsync(it.next(), { instanceOf: TimeoutError });
      t.deepEqual(await it.next(), { done: true, value: undefined });
    } finally {
      openAll(sab);
    }
    await ex.shutdown({ wait: true });
    t.true(started(sab) <= 2, `${started(sab)} of 6 items started`);
  });
});

test('timeout: the deadline is the map() call plus timeout (not the first next())', async (t) => {
  t.timeout(20_000);
  const sab = newGates();
  await withPool(1, async (ex) => {
    try {
      const it = ex.map(gate, repeat(sab), [1], { timeout: 300 });
      await sleep(400); // the deadline has passed; the item is still held by its gate
      const next = it.next();
      // Counted from map(), next() throws at once; counted from next(), the item would arrive
      // (its gate opens at 150 ms) well before 300 ms.
      const timer = setTimeout(() => open(sab, 1), 150);
      try {
        await t.throwsAsync(next, { instanceOf: TimeoutError });
      } finally {
        clearTimeout(timer);
      }
    } finally {
      openAll(sab);
    }
  });
});

test('timeout: items that arrive in time are delivered', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    t.deepEqual(await collect(ex.map((x) => x + 1, range(100), { timeout: 60_000 })), Array.from({ length: 100 }, (_, i) => i + 1));
  });
});

// =============================================================================================
// return() / break

test.serial('break out of for-await (return()) cancels the undelivered items', async (t) => {
  t.timeout(20_000);
  await withPool(1, async (ex) => {
    const counter = new SharedArrayBuffer(4);
    const n = 20;
    const it = ex.map(slowCounted, repeat(counter), Array(n).fill(100), { chunksize: 1 });
    const got = [];
    for await (const v of it) {
      got.push(v);
      break;
    }
    t.deepEqual(got, [100]);
    t.deepEqual(await it.next(), { done: true, value: undefined }, 'the iterator is finished');
    await ex.shutdown({ wait: true });
    const ran = Atomics.load(new Int32Array(counter), 0);
    t.log(`${ran} of ${n} items ran`);
    t.true(ran < n, `${ran} of ${n} items ran`);
  });
});

test('return() called directly cancels the undelivered items', async (t) => {
  t.timeout(20_000);
  const sab = newGates();
  await withPool(1, async (ex) => {
    try {
      const it = ex.map(gate, repeat(sab), [1, 2, 3, 4], { chunksize: 1 });
      const first = it.next();
      open(sab, 1);
      t.deepEqual(await first, { done: false, value: 1 });
      const r = await it.return();
      t.true(r.done);
      t.deepEqual(await it.next(), { done: true, value: undefined });
    } finally {
      openAll(sab);
    }
    await ex.shutdown({ wait: true });
    // Item 1 ran; item 2 may have been taken by the worker before return(); 3 and 4 never.
    t.true(started(sab) <= 2, `${started(sab)} of 4 items started`);
  });
});

// =============================================================================================
// buffersize, async inputs

test('buffersize: an infinite generator is consumed lazily', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    for (const buffersize of [1, 4]) {
      let pulls = 0;
      function* naturals() {
        for (let i = 0; ; i++) {
          pulls++;
          yield i;
        }
      }
      const got = [];
      for await (const v of ex.map((x) => x * 2, naturals(), { buffersize })) {
        got.push(v);
        if (got.length === 20) break;
      }
      t.deepEqual(
        got,
        Array.from({ length: 20 }, (_, i) => i * 2),
      );
      t.true(pulls <= 20 + buffersize + 1, `buffersize ${buffersize}: pulled ${pulls} times`);
    }
  });
});

test('buffersize: at most buffersize items are read before the first next()', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    let pulls = 0;
    function* naturals() {
      for (let i = 0; ; i++) {
        pulls++;
        yield i;
      }
    }
    const it = ex.map((x) => x, naturals(), { buffersize: 3 });
    await sleep(20);
    t.true(pulls <= 3 + 1, `pulled ${pulls} times before any next()`);
    t.deepEqual(await it.next(), { done: false, value: 0 });
    await it.return();
  });
});

test('buffersize with chunksize and a finite input gives every result in order', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    for (const chunksize of [1, 3, 'auto']) {
      const results = await collect(ex.map((x) => x + 0.5, range(50), { buffersize: 5, chunksize }));
      t.deepEqual(
        results,
        Array.from({ length: 50 }, (_, i) => i + 0.5),
        `chunksize ${chunksize}`,
      );
    }
  });
});

test('async iterables are accepted as inputs', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    async function* slowly(n) {
      for (let i = 0; i < n; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        yield i;
      }
    }
    t.deepEqual(await collect(ex.map((x) => x * x, slowly(10))), [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
    t.deepEqual(await collect(ex.map((x) => x * x, slowly(10), { chunksize: 3 })), [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
    // Mixed with a sync iterable: zipped, the shortest wins.
    t.deepEqual(await collect(ex.map((a, b) => a + b, slowly(5), 'xyz')), ['0x', '1y', '2z']);
    // With buffersize.
    t.deepEqual(await collect(ex.map((x) => 10 - x, slowly(10), { buffersize: 2 })), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });
});

test('buffersize with an infinite async generator', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    let pulls = 0;
    async function* naturals() {
      for (let i = 0; ; i++) {
        pulls++;
        await null;
        yield i;
      }
    }
    const got = [];
    for await (const v of ex.map((x) => x + 100, naturals(), { buffersize: 2 })) {
      got.push(v);
      if (got.length === 20) break;
    }
    t.deepEqual(
      got,
      Array.from({ length: 20 }, (_, i) => i + 100),
    );
    t.true(pulls <= 20 + 2 + 1, `pulled ${pulls} times`);
  });
});

// =============================================================================================
// Argument checking (synchronous)

test('invalid chunksize throws RangeError synchronously from map()', async (t) => {
  await withPool(1, async (ex) => {
    for (const chunksize of [0, -1, 1.5]) {
      t.throws(() => ex.map((x) => x, [1, 2], { chunksize }), { instanceOf: RangeError }, `chunksize ${chunksize}`);
    }
    t.throws(() => ex.map((x) => x, [1, 2], { chunksize: '2' }), { instanceOf: TypeError }, 'a wrong type is a TypeError');
  });
});

test('invalid buffersize throws synchronously from map(): non-integer TypeError, < 1 RangeError', async (t) => {
  await withPool(1, async (ex) => {
    t.throws(() => ex.map((x) => x, [1, 2], { buffersize: 1.5 }), { instanceOf: TypeError }, 'buffersize 1.5');
    t.throws(() => ex.map((x) => x, [1, 2], { buffersize: '2' }), { instanceOf: TypeError }, "buffersize '2'");
    t.throws(() => ex.map((x) => x, [1, 2], { buffersize: 0 }), { instanceOf: RangeError }, 'buffersize 0');
    t.throws(() => ex.map((x) => x, [1, 2], { buffersize: -3 }), { instanceOf: RangeError }, 'buffersize -3');
  });
});

test('a non-iterable argument throws TypeError synchronously from map()', async (t) => {
  await withPool(1, async (ex) => {
    t.throws(() => ex.map((x) => x, 5), { instanceOf: TypeError });
    t.throws(() => ex.map((x) => x, [1], 5), { instanceOf: TypeError });
    t.throws(() => ex.map((x) => x, null), { instanceOf: TypeError });
    t.throws(() => ex.map((x) => x, undefined, [1]), { instanceOf: TypeError });
    t.throws(() => ex.map((x, y) => x, {}, [1]), { instanceOf: TypeError }, 'a plain object is options only when it is last');
  });
});

test('invalid arguments do not leave work behind: the executor keeps working', async (t) => {
  t.timeout(20_000);
  await withPool(1, async (ex) => {
    t.throws(() => ex.map((x) => x, [1, 2], { chunksize: 0 }));
    t.throws(() => ex.map((x) => x, 5));
    t.deepEqual(await collect(ex.map((x) => x, [1, 2])), [1, 2]);
  });
});

test('map after shutdown throws ShutdownError synchronously', async (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  t.deepEqual(await collect(ex.map((x) => x, [1])), [1]);
  await ex.shutdown();
  t.throws(() => ex.map((x) => x, [1, 2]), { instanceOf: ShutdownError });
  t.throws(() => ex.map((x) => x), { instanceOf: ShutdownError });
  const never = new ThreadPoolExecutor({ maxWorkers: 1 });
  await never.shutdown({ wait: false });
  t.throws(() => never.map((x) => x, [1]), { instanceOf: ShutdownError });
});

// =============================================================================================
// Shared memory

test('a SharedArrayBuffer-backed Float64Array passed to every item: right sums', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    const n = 10_000;
    const arr = new Float64Array(new SharedArrayBuffer(n * 8));
    for (let i = 0; i < n; i++) arr[i] = i * 0.5;
    const starts = Array.from({ length: 100 }, (_, k) => k * 100);
    const ends = starts.map((s) => s + 100);
    const sum = (a, start, end) => {
      let s = 0;
      for (let i = start; i < end; i++) s += a[i];
      return s;
    };
    const expected = starts.map((s, k) => sum(arr, s, ends[k]));
    for (const options of [{}, { chunksize: 1 }, { chunksize: 16 }]) {
      const results = await collect(
        ex.map(
          (a, start, end) => {
            let s = 0;
            for (let i = start; i < end; i++) s += a[i];
            return s;
          },
          repeat(arr),
          starts,
          ends,
          options,
        ),
      );
      t.deepEqual(results, expected, JSON.stringify(options));
    }
  });
});

test('writes by tasks into a shared Float64Array are visible on the main thread', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    const n = 200;
    const arr = new Float64Array(new SharedArrayBuffer(n * 8));
    const lengths = await collect(
      ex.map(
        (a, i) => {
          a[i] = i * 2 + 1;
          return [a.length, a instanceof Float64Array, a.buffer instanceof SharedArrayBuffer];
        },
        repeat(arr),
        range(n),
        { chunksize: 7 },
      ),
    );
    for (const r of lengths) t.deepEqual(r, [n, true, true]);
    t.deepEqual(
      Array.from(arr),
      Array.from({ length: n }, (_, i) => i * 2 + 1),
    );
  });
});

test('a view at an offset into shared memory is shared too', async (t) => {
  t.timeout(20_000);
  await withPool(2, async (ex) => {
    const sab = new SharedArrayBuffer(64 * 8);
    const view = new Float64Array(sab, 16 * 8, 32); // elements 16..47 of the buffer
    const whole = new Float64Array(sab);
    const results = await collect(
      ex.map(
        (v, i) => {
          v[i] = 1000 + i;
          return v.length;
        },
        repeat(view),
        range(32),
      ),
    );
    t.true(results.every((len) => len === 32));
    for (let i = 0; i < 64; i++) t.is(whole[i], i >= 16 && i < 48 ? 1000 + (i - 16) : 0, `element ${i}`);
  });
});

// =============================================================================================
// Overlapping calls, cancellation while waiting, items that cannot be cloned, timeouts

/** Settles within `ms`, or reports that it is still pending (never decides a pass by speed alone). */
const settledWithin = (promise, ms = 10_000) =>
  Promise.race([
    promise.then(
      (r) => (r.done ? 'done' : r.value),
      (e) => `threw ${e.name}`,
    ),
    sleep(ms).then(() => 'still pending'),
  ]);

for (const options of [{}, { chunksize: 1 }, { buffersize: 2 }]) {
  test(`overlapping next() calls are served in order, each settles once (${JSON.stringify(options)})`, async (t) => {
    t.timeout(30_000);
    await withPool(2, async (ex) => {
      const sab = newGates();
      const it = ex.map(gate, repeat(sab), [1, 2, 3, 4], options);
      const calls = [it.next(), it.next(), it.next(), it.next(), it.next()];
      openAll(sab);
      t.deepEqual(await Promise.all(calls.map((p) => settledWithin(p))), [1, 2, 3, 4, 'done']);
    });
  });
}

test('return() while a next() waits ends the run at once; that next() resolves done', async (t) => {
  t.timeout(30_000);
  await withPool(1, async (ex) => {
    const sab = newGates();
    const it = ex.map(gate, repeat(sab), [1, 2, 3], { chunksize: 1 });
    const waiting = it.next();
    while (started(sab) === 0) await sleep(5);
    t.deepEqual(await it.return(), { done: true, value: undefined });
    t.is(await settledWithin(waiting, 5_000), 'done');
    t.deepEqual(await it.next(), { done: true, value: undefined });
    open(sab, 1);
    await ex.shutdown({ wait: true });
    t.is(started(sab), 1, 'the undelivered items were cancelled');
  });
});

for (const options of [{}, { chunksize: 2 }, { chunksize: 1 }, { buffersize: 1 }, { buffersize: 2 }]) {
  test(`an item that cannot be cloned fails at its own position; earlier items are delivered (${JSON.stringify(options)})`, async (t) => {
    t.timeout(30_000);
    await withPool(2, async (ex) => {
      const it = ex.map((x) => x * 10, [1, 2, 3, () => 4, 5], options);
      t.is((await it.next()).value, 10);
      t.is((await it.next()).value, 20);
      t.is((await it.next()).value, 30);
      const error = await it.next().then(() => undefined, (e) => e);
      t.is(error?.name, 'DataCloneError');
      t.true(error instanceof TypeError);
      t.deepEqual(await it.next(), { done: true, value: undefined });
      t.is(await ex.submit((x) => x + 1, 1), 2, 'the executor stays usable');
    });
  });
}

for (const timeout of [-1, NaN]) {
  test(`a negative or NaN timeout means "do not wait" (${timeout})`, async (t) => {
    t.timeout(30_000);
    await withPool(1, async (ex) => {
      const sab = newGates();
      const it = ex.map(gate, repeat(sab), [1, 2], { timeout });
      await t.throwsAsync(it.next(), { instanceOf: TimeoutError });
      openAll(sab);
    });
  });
}

// `run(fn, args, options)`: `submit` with per-task options. `transfer` and `move()` move
// ArrayBuffers instead of copying them (thread pools; a process pool copies), `signal` cancels a
// task that has not started. What arrives is compared with structuredClone in
// __test__/wire/structured-clone.property.test.mjs; here, what the caller sees.
import test from 'ava';

import { CancelledError, move, ProcessPoolExecutor, ThreadPoolExecutor } from '../../esm/index.mjs';

const POOLS = [
  ['ThreadPoolExecutor', ThreadPoolExecutor, true],
  ['ProcessPoolExecutor', ProcessPoolExecutor, false],
];

async function using(make, body) {
  const ex = make();
  try {
    return await body(ex);
  } finally {
    await ex.shutdown({ cancelFutures: true });
  }
}

const sum = (...views) => views.reduce((s, v) => s + v.reduce((a, b) => a + b, 0), 0);

for (const [name, Pool, moves] of POOLS) {
  const make = () => new Pool({ maxWorkers: 2 });
  test(`${name}: run(fn, args) is submit(fn, ...args)`, (t) =>
    using(make, async (ex) => {
      t.is(await ex.run((a, b) => a * b, [6, 7]), 42);
      t.deepEqual(await ex.run(() => 'no args', []), 'no args');
    }));

  test(`${name}: transfer ${moves ? 'moves the buffers (the caller’s are detached)' : 'copies the buffers and leaves them as they are'}`, (t) =>
    using(make, async (ex) => {
      const small = new Uint8Array([1, 2, 3]); // travels in its frame
      const large = new Float64Array(1 << 15).fill(0.5); // 256 KB: a block of its own
      const unlisted = new Uint8Array([9, 9]);
      const listedOnly = new ArrayBuffer(16); // listed, not in the arguments
      const future = ex.run(sum, [small, large, unlisted], { transfer: [small.buffer, large.buffer, listedOnly] });
      t.deepEqual([small.byteLength, large.byteLength, listedOnly.byteLength], moves ? [0, 0, 0] : [3, 1 << 18, 16]);
      t.is(unlisted.byteLength, 2, 'a buffer not listed is copied');
      t.is(await future, 6 + (1 << 15) * 0.5 + 18);
    }));

  test(`${name}: move() of an argument moves its buffer; one buffer under two views arrives as one`, (t) =>
    using(make, async (ex) => {
      const buffer = new ArrayBuffer(8 * 1024);
      const whole = new Uint8Array(buffer).fill(1);
      const part = new Uint8Array(buffer, 0, 4);
      const same = await ex.run((o, w) => o.a.buffer === o.b.buffer && o.a.buffer === w.buffer && o.b.length === 4, [{ a: whole, b: part }, move(whole)]);
      t.true(same);
      t.is(buffer.byteLength, moves ? 0 : 8 * 1024);
    }));

  test(`${name}: a result wrapped in move() arrives, bare, as a view, or as items of an array`, (t) =>
    using(make, async (ex) => {
      const big = await ex.run((n) => move(new Float64Array(n).fill(2)), [1 << 16]);
      t.true(big instanceof Float64Array);
      t.is(big.length, 1 << 16);
      t.is(big[12345], 2);
      const bare = await ex.run(() => move(new Uint8Array([5, 6]).buffer), []);
      t.true(bare instanceof ArrayBuffer);
      t.deepEqual([...new Uint8Array(bare)], [5, 6]);
      const [a, b] = await ex.run(() => move([new Int32Array([1]), new Int16Array(70000).fill(3)]), []);
      t.deepEqual([a[0], b.length, b[69999]], [1, 70000, 3]);
      const results = [];
      for await (const r of ex.map((n) => move(new Uint8Array(n).fill(n)), [1, 2, 3], { chunksize: 2 })) results.push([...r]);
      t.deepEqual(results, [[1], [2, 2], [3, 3, 3]]);
    }));

  test(`${name}: a task's moved result is detached in its worker`, (t) =>
    using(() => new Pool({ maxWorkers: 1 }), async (ex) => {
      await ex.run(() => {
        const kept = new Float64Array(1000);
        globalThis.keptForTheTest = kept;
        return move(kept);
      }, []);
      t.is(await ex.run(() => globalThis.keptForTheTest.byteLength, []), 0);
    }));

  test(`${name}: run checks its arguments and options before anything moves`, (t) =>
    using(make, async (ex) => {
      const f = (x) => x;
      t.throws(() => ex.run(f, 1), { instanceOf: TypeError, message: /args must be an array/ });
      t.throws(() => ex.run(f, [], null), { instanceOf: TypeError, message: /options must be an object/ });
      t.throws(() => ex.run(f, [], { transfr: [] }), { instanceOf: TypeError, message: /unknown option 'transfr'; did you mean 'transfer'/ });
      t.throws(() => ex.run(f, [], { signal: {} }), { instanceOf: TypeError, message: /signal must be an AbortSignal/ });
      t.throws(() => ex.run(f, [], { transfer: new ArrayBuffer(1) }), { instanceOf: TypeError, message: /transfer must be an array/ });
      t.throws(() => ex.run(f, [], { transfer: [new SharedArrayBuffer(8)] }), { instanceOf: TypeError, message: /transfer\[0\] is a SharedArrayBuffer/ });
      t.throws(() => ex.run(f, [], { transfer: [new Uint8Array(2)] }), { instanceOf: TypeError, message: /transfer\[0\] is a view/ });
      const twice = new ArrayBuffer(4);
      t.throws(() => ex.run(f, [], { transfer: [twice, twice] }), { name: 'DataCloneError', message: /twice/ });
      // A value that cannot be cloned: nothing is submitted, nothing moves.
      const kept = new ArrayBuffer(64);
      t.throws(() => ex.run(f, [{ fn() {} }, kept], { transfer: [kept] }), { name: 'DataCloneError' });
      t.is(kept.byteLength, 64);
      t.is(await ex.run(f, ['still usable']), 'still usable');
    }));

  test(`${name}: an aborted signal cancels a task that has not started, with the reason as cause`, (t) =>
    using(() => new Pool({ maxWorkers: 1 }), async (ex) => {
      const gate = new Int32Array(new SharedArrayBuffer(4));
      const already = new AbortController();
      already.abort(new Error('too late'));
      const pre = ex.run((x) => x, [1], { signal: already.signal });
      t.true(pre.cancelled(), 'cancelled before run returns');
      const error = await t.throwsAsync(pre, { instanceOf: CancelledError });
      t.is(error.cause.message, 'too late');

      if (ex instanceof ThreadPoolExecutor) {
        const blocker = ex.submit((g) => Atomics.wait(g, 0, 0, 10_000), gate);
        while (!blocker.running()) await new Promise((resolve) => setTimeout(resolve, 5));
        const controller = new AbortController();
        const waiting = ex.run((x) => x * 2, [21], { signal: controller.signal });
        const reason = new Error('stop');
        controller.abort(reason);
        t.true(waiting.cancelled());
        t.is((await t.throwsAsync(waiting, { instanceOf: CancelledError })).cause, reason);
        Atomics.store(gate, 0, 1);
        Atomics.notify(gate, 0);
        // 'not-equal' when the gate opened before the task reached its wait.
        t.true(['ok', 'not-equal'].includes(await blocker));
      }
      const done = new AbortController();
      const finished = ex.run((x) => x + 1, [1], { signal: done.signal });
      t.is(await finished, 2);
      done.abort();
      t.false(finished.cancelled(), 'an abort after the task finished changes nothing');
    }));
}

test('ThreadPoolExecutor: many moved payloads both ways, with cancelled ones among them, all arrive intact', async (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
  try {
    const sizes = Array.from({ length: 60 }, (_, i) => 1 + ((i * 7919) % 200_000));
    const futures = sizes.map((n, i) => {
      const input = new Uint32Array(n).fill(i);
      return ex.run((a) => move(a.map((x) => x + 1)), [input], { transfer: [input.buffer] });
    });
    futures.filter((_, i) => i % 5 === 4).forEach((f) => f.cancel());
    for (const [i, f] of futures.entries()) {
      if (f.cancelled()) continue;
      const r = await f;
      t.is(r.length, sizes[i]);
      t.is(r[0], i + 1);
      t.is(r[r.length - 1], i + 1);
    }
  } finally {
    await ex.shutdown();
  }
});

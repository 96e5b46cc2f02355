import test from 'ava';
import { execFile } from 'node:child_process';
import util, { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import {
  BrokenThreadPool,
  CancelledError,
  Executor,
  Future,
  InvalidStateError,
  ProcessPoolExecutor,
  ShutdownError,
  task,
  ThreadPoolExecutor,
} from '../../esm/index.mjs';
import defaultExport from '../../esm/index.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name) => path.join(here, 'fixtures', name);
const tasks = pathToFileURL(fixture('tasks.mjs'));
const run = (file) => promisify(execFile)(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const slow = (ms, value) => new Promise((resolve) => setTimeout(() => resolve(value), ms));

async function withPool(options, body) {
  const ex = new ThreadPoolExecutor(options);
  try {
    return await body(ex);
  } finally {
    await ex.shutdown({ cancelFutures: true });
  }
}

/** Runs `body` with a new executor of each kind in turn, shut down after it. */
async function withEachExecutor(options, body) {
  for (const Executor of [ThreadPoolExecutor, ProcessPoolExecutor]) {
    const ex = new Executor(options);
    try {
      await body(ex, Executor.name);
    } finally {
      await ex.shutdown();
    }
  }
}

test('submit runs a self-contained function on a worker thread', async (t) => {
  await withPool({}, async (ex) => {
    t.true(ex instanceof Executor);
    const f = ex.submit((a, b) => a ** b, 2, 10);
    t.true(f instanceof Future);
    t.is(await f.result(), 1024);
    t.is(await f, 1024);
    t.is(String(f), '<Future state=finished returned number>');
    const workerThread = await ex.submit(task(tasks, 'threadId'));
    t.true(workerThread > 0, 'ran off the main thread');
  });
});

test('function forms: declaration, expression, arrow, async, method shorthand', async (t) => {
  await withPool({ maxWorkers: 2 }, async (ex) => {
    function declared(x) {
      return x + 1;
    }
    const expressed = function (x) {
      return x + 2;
    };
    const holder = {
      method(x) {
        return x + 3;
      },
    };
    t.is(await ex.submit(declared, 1), 2);
    t.is(await ex.submit(expressed, 1), 3);
    t.is(await ex.submit(async (x) => x + 4, 1), 5);
    t.is(await ex.submit(holder.method, 1), 4);
    t.is(await ex.submit((ms) => new Promise((r) => setTimeout(() => r('awaited'), ms)), 20), 'awaited');
  });
});

test('built-ins reachable from globalThis are sent by path', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    t.is(await ex.submit(Math.pow, 3, 4), 81);
    t.is(await ex.submit(JSON.stringify, { a: [1] }), '{"a":[1]}');
    t.is(await ex.submit(Math.max, 1, 9, 4), 9);
    t.is(await ex.submit(parseInt, 'ff', 16), 255);
  });
});

test('task() references: ESM default and named, CommonJS module.exports and named, URL and relative', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    t.is(await ex.submit(task(tasks), 7), 49);
    t.is(await ex.submit(task(tasks, 'add'), 2, 3), 5);
    t.is(await ex.submit(task(tasks.href, 'later'), 'x', 5), 'x');
    t.is(await ex.submit(task(fixture('tasks.cjs')), 5), 15);
    t.is(await ex.submit(task(fixture('tasks.cjs'), 'negate'), 5), -5);
    const relative = path.relative(process.cwd(), fixture('tasks.mjs'));
    t.is(await ex.submit(task(relative.startsWith('.') ? relative : `./${relative}`, 'add'), 1, 1), 2);
    const missing = await t.throwsAsync(ex.submit(task(tasks, 'notAFunction')));
    t.true(missing instanceof TypeError);
    // A path with no file is refused by task() itself, naming the file it looked for.
    t.throws(() => task(fixture('no-such-module.mjs')), { instanceOf: TypeError, message: `task(): there is no file at ${fixture('no-such-module.mjs')}; a task() path names the module's file, with its extension` });
  });
});

test('what cannot be submitted is a TypeError from submit itself', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const bound = ((x) => x).bind(null);
    t.throws(() => ex.submit(bound, 1), { instanceOf: TypeError, message: /bound function/ });
    t.throws(() => ex.submit(class Foo {}, 1), { instanceOf: TypeError, message: /class/ });
    const unreachable = Object.getOwnPropertyDescriptor(Object.prototype, '__proto__').get;
    t.throws(() => ex.submit(unreachable), { instanceOf: TypeError, message: /not reachable from globalThis/ });
    t.throws(() => ex.submit(42), { instanceOf: TypeError });
    t.throws(() => ex.submit(null), { instanceOf: TypeError });
    t.is(await ex.submit((x) => x, 'still usable'), 'still usable');
  });
});

test('a function that reads a variable of its scope is refused by submit, naming it; with an initializer, the worker ReferenceError explains why', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const factor = 3;
    const refused = t.throws(() => ex.submit((x) => x * factor, 2), { instanceOf: TypeError });
    t.regex(refused.message, /^submit\(\): factor is not defined in the worker; task functions are sent to workers by their source text/);
    // A ReferenceError from a task() function is the module's own bug: no hint.
    const plain = await t.throwsAsync(ex.submit(task(tasks, 'undefinedName')));
    t.is(plain.message, 'notDefinedAnywhere is not defined');
  });
  // An initializer that defines globals otherwise than by name: every name passes submit, and
  // the worker's ReferenceError says why it failed.
  await withPool({ maxWorkers: 1, initializer: () => { globalThis.defined = 2; } }, async (ex) => {
    t.is(await ex.submit((x) => x * defined, 2), 4, 'a global the initializer assigns by name passes');
    const factor = 3;
    t.throws(() => ex.submit((x) => x * factor, 2), { instanceOf: TypeError, message: /factor is not defined in the worker/ }, 'the initializer defines no factor');
  });
  await withPool({ maxWorkers: 1, initializer: (values) => Object.assign(globalThis, values), initargs: [{ defined: 2 }] }, async (ex) => {
    t.is(await ex.submit((x) => x * defined, 2), 4);
    const factor = 3;
    const error = await t.throwsAsync(ex.submit((x) => x * factor, 2));
    t.true(error instanceof ReferenceError);
    t.regex(error.message, /^factor is not defined \(task functions are sent to workers by their source text, so they cannot use variables from the scope they were written in/, 'the task\'s own message, then why');
    t.true(error.stack.startsWith(`ReferenceError: ${error.message}\n`), 'the stack starts with the same message');
  });
});

test('values round-trip with structured-clone semantics', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const identity = (v) => v;
    const values = [
      0,
      -0,
      NaN,
      Infinity,
      'text ünïcødé \u{1F600}',
      null,
      undefined,
      true,
      12345678901234567890n,
      [1, , 3],
      { nested: { deep: [1, { x: 'y' }] } },
      new Date(0),
      new Map([[1, { a: 2 }]]),
      new Set(['a', 'b']),
      /re/gi,
      new Uint8Array([1, 2, 3]),
      new Float64Array([0.5, -1]),
      Object.create(null),
      // Wide objects and long strings take the serializer's path, short ones JSON's.
      Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i % 3 ? i : { nested: [i, 'x'.repeat(i * 10)] }])),
      { 2: 'b', 1: 'a', z: 'z', a: 'a' },
    ];
    for (const value of values) t.deepEqual(await ex.submit(identity, value), value);
    const wide = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`key${99 - i}`, i]));
    t.deepEqual(Object.keys(await ex.submit(identity, wide)), Object.keys(wide), 'key order');
    t.true(Object.is(await ex.submit(identity, -0), -0));
    t.is(await ex.submit(() => undefined), undefined);
    t.deepEqual(await ex.submit((...args) => args.length, 1, 2, 3), 3);
  });
});

test('both executors keep what structured clone keeps: shared references, a view\'s offset and buffer', async (t) => {
  t.timeout(30_000);
  for (const Executor of [ThreadPoolExecutor, ProcessPoolExecutor]) {
    const ex = new Executor({ maxWorkers: 1 });
    try {
      const o = { a: 1 };
      // One object twice stays one object, both ways (JSON would make two).
      t.true(await ex.submit((pair) => pair[0] === pair[1], [o, o]), Executor.name);
      const back = await ex.submit(() => {
        const shared = { b: 2 };
        return { x: shared, y: [shared] };
      });
      t.is(back.x, back.y[0], Executor.name);
      // A view keeps its offset into the whole buffer, and two views of one buffer share it.
      const buffer = new ArrayBuffer(16);
      new Uint8Array(buffer).set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
      const seen = await ex.submit(
        (a, b) => [a.byteOffset, a.buffer.byteLength, [...a], a.buffer === b.buffer, b.byteOffset, new Int16Array(b.buffer, 0, 1)[0]],
        new Uint8Array(buffer, 4, 4),
        new Int16Array(buffer, 8, 2),
      );
      t.deepEqual(seen, [4, 16, [4, 5, 6, 7], true, 8, new Int16Array(structuredClone(buffer), 0, 1)[0]], Executor.name);
    } finally {
      await ex.shutdown();
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Numbers and arrays of numbers travel as raw float64 frames (KIND_F64, KIND_F64_ARRAY): exact
// for every double. One executor for this section.

const f64Pool = new ThreadPoolExecutor({ maxWorkers: 2 });
test.after.always(() => f64Pool.shutdown({ cancelFutures: true }));

const specialNumbers = [-0, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 2, 0.1];
/** Exact text of a double (String() is shortest-round-trip; only -0 needs help). */
const describeNumber = (x) => (Object.is(x, -0) ? '-0' : `${typeof x}:${String(x)}`);

test('f64: each special number round-trips exactly as the only argument and as the result', async (t) => {
  for (const value of specialNumbers) {
    const back = await f64Pool.submit((x) => x, value);
    t.true(Object.is(back, value), `identity of ${describeNumber(value)} gave ${describeNumber(back)}`);
  }
});

test('f64: special numbers arrive exactly as arguments (checked on the worker)', async (t) => {
  const describe = (...a) => a.map((x) => (Object.is(x, -0) ? '-0' : `${typeof x}:${String(x)}`));
  // One argument at a time, and all of them as one argument list.
  for (const value of specialNumbers) {
    t.deepEqual(await f64Pool.submit(describe, value), [describeNumber(value)]);
  }
  t.deepEqual(await f64Pool.submit(describe, ...specialNumbers), specialNumbers.map(describeNumber));
});

test('f64: special numbers made on the worker come back exactly as results', async (t) => {
  // The worker builds each number from text, so only the result path is exercised.
  for (const value of specialNumbers) {
    const back = await f64Pool.submit((s) => (s === '-0' ? -0 : Number(s.slice('number:'.length))), describeNumber(value));
    t.true(Object.is(back, value), `${describeNumber(value)} came back as ${describeNumber(back)}`);
  }
  const all = await f64Pool.submit(() => [-0, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 2, 0.1]);
  t.true(Array.isArray(all));
  t.is(all.length, specialNumbers.length);
  specialNumbers.forEach((value, i) => t.true(Object.is(all[i], value), `element ${i}: ${describeNumber(all[i])}`));
});

test('f64: an argument list of numbers echoed back as an array keeps every element exactly', async (t) => {
  const back = await f64Pool.submit((...a) => a, ...specialNumbers);
  t.is(Object.getPrototypeOf(back), Array.prototype);
  t.is(back.length, specialNumbers.length);
  specialNumbers.forEach((value, i) => t.true(Object.is(back[i], value), `element ${i}: ${describeNumber(back[i])}`));
  // An empty argument list and an empty returned array.
  t.deepEqual(await f64Pool.submit((...a) => a), []);
  t.deepEqual(await f64Pool.submit(() => []), []);
});

test('f64: a returned array of numbers [1, -0, NaN] is a plain Array, element-wise exact', async (t) => {
  const back = await f64Pool.submit(() => [1, -0, NaN]);
  t.true(Array.isArray(back));
  t.is(Object.getPrototypeOf(back), Array.prototype);
  t.is(back.length, 3);
  t.true(Object.is(back[0], 1));
  t.true(Object.is(back[1], -0));
  t.true(Object.is(back[2], NaN));
  // The same array sent as an argument and echoed.
  const echoed = await f64Pool.submit((a) => a, [1, -0, NaN]);
  t.is(Object.getPrototypeOf(echoed), Array.prototype);
  t.is(echoed.length, 3);
  [1, -0, NaN].forEach((value, i) => t.true(Object.is(echoed[i], value), `element ${i}`));
});

test('f64: a sparse array of numbers keeps its hole (structured clone, not f64)', async (t) => {
  // eslint-disable-next-line no-sparse-arrays
  const made = await f64Pool.submit(() => [1, , 3]);
  t.is(made.length, 3);
  t.false(1 in made, 'hole in a returned array');
  t.is(made[0], 1);
  t.is(made[2], 3);
  // eslint-disable-next-line no-sparse-arrays
  const echoed = await f64Pool.submit((a) => a, [1, , 3]);
  t.is(echoed.length, 3);
  t.false(1 in echoed, 'hole in an echoed argument');
  t.deepEqual(Object.keys(echoed), ['0', '2']);
  // eslint-disable-next-line no-sparse-arrays
  t.deepEqual(await f64Pool.submit((a) => [a.length, 1 in a, a[0], a[2]], [1, , 3]), [3, false, 1, 3], 'the worker sees the hole');
  // A trailing hole, and an array of holes only.
  const trailing = await f64Pool.submit(() => {
    const a = [1, 2];
    a.length = 3;
    return a;
  });
  t.is(trailing.length, 3);
  t.false(2 in trailing);
  const empty = await f64Pool.submit(() => new Array(2));
  t.is(empty.length, 2);
  t.false(0 in empty);
  t.false(1 in empty);
});

test('f64: an array of numbers with an extra own property keeps its elements and the property, as structuredClone does', async (t) => {
  const withExtra = Object.assign([1.5, -0, NaN], { extra: 'x' });
  const echoed = await f64Pool.submit((a) => a, withExtra);
  t.true(Array.isArray(echoed));
  t.is(echoed.length, 3);
  [1.5, -0, NaN].forEach((value, i) => t.true(Object.is(echoed[i], value), `element ${i}`));
  const made = await f64Pool.submit(() => Object.assign([1.5, -0, NaN], { extra: 'x' }));
  t.true(Array.isArray(made));
  t.is(made.length, 3);
  [1.5, -0, NaN].forEach((value, i) => t.true(Object.is(made[i], value), `element ${i}`));
  t.is(echoed.extra, 'x', 'the argument keeps its named property');
  t.is(made.extra, 'x', 'the result keeps its named property');
  // Named properties whatever their siblings: alone, beside numbers, beside a string.
  for (const value of [Object.assign([], { constructor: 'z' }), Object.assign([1], { x: 1 }), [Object.assign([2], { y: 2 }), 'text']]) {
    t.deepEqual(await f64Pool.submit((a) => a, value), structuredClone(value));
  }
});

test('f64: a task taking several numeric arguments computes with them', async (t) => {
  const fma = (a, b, c) => a * b + c;
  t.is(await f64Pool.submit(fma, 2, 3, 4), 10);
  t.true(Object.is(await f64Pool.submit(fma, 0.1, 3, 0.2), 0.1 * 3 + 0.2));
  t.true(Object.is(await f64Pool.submit(fma, -0, 5, -0), -0));
  t.true(Object.is(await f64Pool.submit(fma, Infinity, 0, 1), NaN));
  t.true(Object.is(await f64Pool.submit(fma, 2 ** 53, 1, 2), 2 ** 53 + 2));
  t.true(Object.is(await f64Pool.submit(fma, Number.MAX_VALUE, 2, 0), Infinity));
});

test('f64: map((x) => -x, [0, 1, NaN]) yields -0, -1, NaN exactly', async (t) => {
  const out = [];
  for await (const v of f64Pool.map((x) => -x, [0, 1, NaN])) out.push(v);
  t.is(out.length, 3);
  t.true(Object.is(out[0], -0), `got ${describeNumber(out[0])}`);
  t.true(Object.is(out[1], -1), `got ${describeNumber(out[1])}`);
  t.true(Object.is(out[2], NaN), `got ${describeNumber(out[2])}`);
  // Finite, JSON-safe inputs (a different path into the pool) and chunksize 1.
  const finite = [];
  for await (const v of f64Pool.map((x) => -x, [0, 1, 2.5])) finite.push(v);
  t.true(Object.is(finite[0], -0), `JSON-safe inputs: got ${describeNumber(finite[0])}`);
  t.deepEqual(finite.slice(1), [-1, -2.5]);
  const single = [];
  for await (const v of f64Pool.map((x) => -x, [0, 1, NaN], { chunksize: 1 })) single.push(v);
  [-0, -1, NaN].forEach((value, i) => t.true(Object.is(single[i], value), `chunksize 1, element ${i}: ${describeNumber(single[i])}`));
});

test('batches and outcomes larger than the reused frame buffers arrive intact, and small ones after them', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const texts = Array.from({ length: 6 }, (_, i) => String.fromCharCode(97 + i).repeat(70_000));
    // Each argument alone exceeds 64 KB, so every batch the worker takes does, and so does every
    // drain of the outcomes (each result is twice its argument).
    const doubled = await Promise.all(texts.map((text) => ex.submit((s) => s + s, text)));
    t.deepEqual(doubled, texts.map((text) => text + text));
    // Then numbers again, read through the reused buffers: nothing stale from the large frames.
    const sums = await Promise.all([1, 2, 3].map((x) => ex.submit((a, b) => a + b, x, 0.5)));
    t.deepEqual(sums, [1.5, 2.5, 3.5]);
    t.is(await ex.submit((n) => 'z'.repeat(n), 70_000), 'z'.repeat(70_000));
    t.true(Object.is(await ex.submit((x) => -x, 0), -0));
    // The buffers grew to hold those frames (up to 4 MB); frames past that and smaller ones
    // after them, in turn, are still read whole and from the right buffer.
    for (const bytes of [3 << 20, 5 << 20, 100, 5 << 20, 1 << 20, 8]) {
      const sent = new Uint8Array(bytes).map((_, i) => (i * 7 + bytes) & 255);
      const back = await ex.submit((a) => a.map((x) => 255 - x), sent);
      t.true(back.length === bytes && back.every((x, i) => x === 255 - sent[i]), `${bytes} bytes`);
    }
  });
});

test('a SharedArrayBuffer is shared with the workers, not copied', async (t) => {
  await withPool({ maxWorkers: 2 }, async (ex) => {
    const sab = new SharedArrayBuffer(16);
    const view = new Int32Array(sab);
    await Promise.all([0, 1, 2, 3].map((i) => ex.submit((a, i) => Atomics.store(a, i, i + 10), view, i)));
    t.deepEqual([...view], [10, 11, 12, 13]);
    const returned = await ex.submit((a) => a, view);
    returned[0] = 99;
    t.is(view[0], 99, 'the returned view is over the same memory');
    const fresh = await ex.submit(() => {
      const a = new Int32Array(new SharedArrayBuffer(8));
      a[1] = 7;
      return a;
    });
    t.true(fresh.buffer instanceof SharedArrayBuffer);
    t.is(fresh[1], 7);
  });
});

test('views over shared memory among number arguments keep their type, offset, length and memory', async (t) => {
  await withPool({ maxWorkers: 2 }, async (ex) => {
    const sab = new SharedArrayBuffer(64);
    const describe = (...args) =>
      args.map((a) => (typeof a === 'number' ? (Object.is(a, -0) ? '-0' : String(a)) : `${a.constructor.name}@${a.byteOffset}+${a.byteLength}:${a.buffer instanceof SharedArrayBuffer}`));
    const views = [new Uint8Array(sab, 3, 5), new Float64Array(sab, 8, 2), new BigInt64Array(sab, 24, 1), new DataView(sab, 40, 7), new Int16Array(sab)];
    t.deepEqual(await ex.submit(describe, views[0], -0, NaN, views[1], 2.5, views[2], views[3], Infinity, views[4]), [
      'Uint8Array@3+5:true', '-0', 'NaN', 'Float64Array@8+16:true', '2.5', 'BigInt64Array@24+8:true', 'DataView@40+7:true', 'Infinity', 'Int16Array@0+64:true',
    ]);
    // Writes through each view land in the caller's memory.
    await ex.submit((u8, f64, dv) => { u8[0] = 200; f64[1] = 1.5; dv.setInt8(6, -3); }, views[0], views[1], views[3]);
    t.is(new Uint8Array(sab)[3], 200);
    t.is(new Float64Array(sab, 16, 1)[0], 1.5);
    t.is(new Int8Array(sab)[46], -3);
    // A subclass arrives as its built-in class, as structured clone gives it; a view over an
    // ordinary buffer is still a copy.
    class Pixels extends Uint8Array {}
    t.deepEqual(await ex.submit(describe, new Pixels(sab, 0, 4), 1), ['Uint8Array@0+4:true', '1']);
    const own = new Uint8Array([1, 2, 3]);
    t.deepEqual(await ex.submit((a, i) => { a[i] = 9; return [...a]; }, own, 0), [9, 2, 3]);
    t.deepEqual([...own], [1, 2, 3]);
    // As map items: one view per item.
    const halves = [new Float64Array(sab, 0, 4), new Float64Array(sab, 32, 4)];
    const offsets = [];
    for await (const offset of ex.map((a) => a.byteOffset, halves)) offsets.push(offset);
    t.deepEqual(offsets, [0, 32]);
  });
});

test('typed arrays, DataViews, Buffers and arrays of numbers arrive as fresh copies of their type and contents, both ways and in both executors', async (t) => {
  t.timeout(60_000);
  const exact = (a) => [...(a instanceof DataView ? new Uint8Array(a.buffer, a.byteOffset, a.byteLength) : a)].map((x) => (Object.is(x, -0) ? '-0' : String(x)));
  const views = [
    new Int8Array([-128, 127]), new Uint8Array([0, 255]), new Uint8ClampedArray([7]), new Int16Array([-3, 4]), new Uint16Array([65535]),
    new Int32Array([-(2 ** 31), 5]), new Uint32Array([2 ** 32 - 1]), new Float32Array([0.5, -0, NaN]), new Float64Array([-0, NaN, Infinity, 0.1]),
    new BigInt64Array([-(2n ** 63n)]), new BigUint64Array([2n ** 64n - 1n]), new DataView(new Uint8Array([1, 2, 3]).buffer), Buffer.from(new Uint8Array([9, 8, 7]).buffer),
  ];
  for (const Executor of [ThreadPoolExecutor, ProcessPoolExecutor]) {
    const ex = new Executor({ maxWorkers: 1 });
    try {
      for (const view of views) {
        const what = `${Executor.name} ${view.constructor.name}`;
        const expected = view instanceof Buffer ? 'Uint8Array' : view.constructor.name;
        // Checked on the worker, then echoed: the worker's writes do not reach the caller.
        const seen = await ex.submit((v, n) => {
          const before = [v.constructor.name, v.byteOffset, v.byteLength, v.buffer.byteLength, v.buffer instanceof SharedArrayBuffer];
          if (v instanceof DataView) v.setUint8(0, 42);
          else v[0] = typeof v[0] === 'bigint' ? 1n : 42;
          return [before, v, n];
        }, view, -0);
        t.deepEqual(seen[0], [expected, 0, view.byteLength, view.byteLength, false], what);
        t.is(seen[1].constructor.name, expected, what);
        t.deepEqual(exact(seen[1]).slice(1), exact(view).slice(1), what);
        t.not(exact(seen[1])[0], exact(view)[0], `${what}: the copy was written, the original was not`);
        t.true(Object.is(seen[2], -0), what);
      }
      // Made on the worker: a result that is a single view, and nested arrays of numbers.
      const made = await ex.submit(() => new Float64Array([1.5, -0, NaN]));
      t.true(made instanceof Float64Array, Executor.name);
      t.deepEqual(exact(made), ['1.5', '-0', 'NaN'], Executor.name);
      const nested = await ex.submit((a, b, n) => [a, b, n, [a.length + b.length]], [1, -0, NaN], [], 3);
      t.deepEqual(nested.map((x) => (Array.isArray(x) ? exact(x) : x)), [['1', '-0', 'NaN'], [], 3, ['3']], Executor.name);
      // One array or view passed twice stays one object; a part of a buffer brings the whole buffer.
      const numbers = [1, 2];
      t.true(await ex.submit((a, b) => a === b, numbers, numbers), Executor.name);
      const bytes = new Uint8Array([1, 2, 3, 4]);
      t.true(await ex.submit((a, b) => a === b, bytes, bytes), Executor.name);
      t.deepEqual(await ex.submit((a) => [a.byteOffset, a.buffer.byteLength, [...a]], bytes.subarray(2)), [2, 4, [3, 4]], Executor.name);
      // Empty views and views over a resizable buffer take the clone's path and still arrive.
      t.deepEqual(await ex.submit((a, b) => [a.constructor.name, a.length, [...b]], new Float64Array(0), new Uint8Array(new ArrayBuffer(2, { maxByteLength: 8 })).fill(5)), ['Float64Array', 0, [5, 5]], Executor.name);
      // A megabyte each way, several in flight: past the reused frame buffers and batch limits.
      const big = Float64Array.from({ length: 131_072 }, (_, i) => i * 0.5);
      const results = await Promise.all([0, 1, 2, 3].map((k) => ex.submit((a, k) => a.map((x) => x + k), big, k)));
      results.forEach((result, k) => t.true(result.length === big.length && result.every((x, i) => x === big[i] + k), `${Executor.name} megabyte ${k}`));
    } finally {
      await ex.shutdown();
    }
  }
});

// Views of 64 KB and more travel beside their frame, each in a block of its own (see `FrameWriter`
// in src/wire/frames.ts) for a ThreadPoolExecutor, inline for a ProcessPoolExecutor: the same values must
// arrive either way.
const LARGE = 96 * 1024;
const largeViews = () => [
  new Int8Array(LARGE).fill(-3), new Uint8Array(LARGE).fill(200), new Uint8ClampedArray(LARGE).fill(9), new Int16Array(LARGE / 2).fill(-300),
  new Uint16Array(LARGE / 2).fill(60000), new Int32Array(LARGE / 4).fill(-(2 ** 31)), new Uint32Array(LARGE / 4).fill(2 ** 32 - 1),
  new Float32Array(LARGE / 4).fill(0.25), Float64Array.from({ length: LARGE / 8 }, (_, i) => i - 0.5), new BigInt64Array(LARGE / 8).fill(-5n),
  new BigUint64Array(LARGE / 8).fill(2n ** 64n - 1n), new DataView(new Uint8Array(LARGE).fill(4).buffer), Buffer.alloc(LARGE, 7),
];
const sameBytes = (a, b) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
/** What a clone of `view` shows: its type, a whole buffer of its own, not shared. */
const shape = (view) => [view.constructor.name, view.byteOffset, view.byteLength, view.buffer.byteLength, view.buffer instanceof SharedArrayBuffer];

test('large typed arrays and DataViews arrive as whole copies of their own, both ways and in both executors', async (t) => {
  t.timeout(60_000);
  await withEachExecutor({ maxWorkers: 1 }, async (ex, name) => {
    for (const view of largeViews()) {
      const what = `${name} ${view.constructor.name}`;
      const expected = [view instanceof Buffer ? 'Uint8Array' : view.constructor.name, 0, view.byteLength, view.byteLength, false];
      const [seen, back, n] = await ex.submit((v, n) => {
        const seen = [v.constructor.name, v.byteOffset, v.byteLength, v.buffer.byteLength, v.buffer instanceof SharedArrayBuffer];
        const copy = v instanceof DataView ? new DataView(v.buffer.slice(0)) : v.slice();
        if (v instanceof DataView) v.setUint8(0, 42);
        else v[0] = typeof v[0] === 'bigint' ? 1n : 42;
        return [seen, copy, n];
      }, view, 3);
      t.deepEqual(seen, expected, `${what}: as the task sees it`);
      t.deepEqual(shape(back), [expected[0], 0, view.byteLength, view.byteLength, false], `${what}: as the caller gets it`);
      t.true(sameBytes(back, view), `${what}: the bytes`);
      t.is(n, 3, what);
      t.not(view instanceof DataView ? view.getUint8(0) : view[0], 42, `${what}: the task wrote its copy, not the caller's`);
    }
    // Several among other arguments, and a list of them returned.
    const [a, b] = [Float64Array.from({ length: 20_000 }, (_, i) => i), new Uint8Array(70_000).fill(1)];
    const list = await ex.submit((a, small, b, text, n) => [b, n, a, text, small], a, new Uint16Array([1, 2]), b, 'text', 5);
    t.deepEqual(list.map((x) => x?.constructor.name), ['Uint8Array', 'Number', 'Float64Array', 'String', 'Uint16Array'], name);
    t.true(sameBytes(list[0], b) && sameBytes(list[2], a), name);
    t.deepEqual([...list[4]], [1, 2], name);
    t.is(list[3], 'text', name);
  });
});

test('a large view a task returns is copied as it returns: a later task of the batch that changes it does not change the result', async (t) => {
  await withEachExecutor({ maxWorkers: 1 }, async (ex, what) => {
    // Each task fills one buffer of the worker's and returns it; the next task changes it before
    // the batch's outcomes go back.
    const results = await Promise.all(Array.from({ length: 40 }, (_, k) => ex.submit((k) => {
      globalThis.reused ??= new Float64Array(10_000);
      return globalThis.reused.fill(k);
    }, k)));
    results.forEach((result, k) => t.true(result.length === 10_000 && result.every((x) => x === k), `${what}: result ${k}`));
    t.is(new Set(results.map((r) => r.buffer)).size, results.length, `${what}: a buffer each`);
  });
});

test('large views mixed with errors, small values, large strings and cancelled tasks each reach their own future', async (t) => {
  t.timeout(60_000);
  await withEachExecutor({ maxWorkers: 2 }, async (ex, name) => {
    const fill = (k) => new Int32Array(LARGE / 4).fill(k);
    const text = 'z'.repeat(100_000);
    // Outcomes of every kind in the same batches and drains: views, lists of two views, errors,
    // numbers and strings larger than the reused frame buffers.
    const futures = Array.from({ length: 90 }, (_, k) => ex.submit((k, view, text) => {
      switch (k % 5) {
        case 0: return view;
        case 1: throw new RangeError(`task ${k}`);
        case 2: return [view, k, new Float64Array(view.length).fill(k)];
        case 3: return text + k;
        default: return k;
      }
    }, k, fill(k), text));
    // Cancel some still queued: the arguments of the others must not shift into their places.
    const cancelled = futures.filter((f, k) => k >= 60 && k % 7 === 0 && f.cancel());
    for (const [k, future] of futures.entries()) {
      if (cancelled.includes(future)) continue;
      const what = `${name} task ${k}`;
      if (k % 5 === 1) {
        await t.throwsAsync(future, { instanceOf: RangeError, message: `task ${k}` }, what);
        continue;
      }
      const value = await future;
      if (k % 5 === 0) t.true(value instanceof Int32Array && value.every((x) => x === k), what);
      else if (k % 5 === 2) t.true(value[0].every((x) => x === k) && value[1] === k && value[2].every((x) => x === k), what);
      else if (k % 5 === 3) t.is(value, text + k, what);
      else t.is(value, k, what);
    }
    // map over large views: chunks of them both ways.
    const views = Array.from({ length: 6 }, (_, k) => fill(k));
    const last = [];
    for await (const value of ex.map((v) => v[v.length - 1], views)) last.push(value);
    t.deepEqual(last, [0, 1, 2, 3, 4, 5], name);
    const made = [];
    for await (const value of ex.map((k) => new Int32Array(24_576).fill(k), [7, 8])) made.push(value);
    t.true(made.every((v, i) => v.every((x) => x === 7 + i)), name);
  });
});

test('executors on one thread keep their large arguments apart, submitted in the same job', async (t) => {
  const executors = [new ThreadPoolExecutor({ maxWorkers: 1 }), new ThreadPoolExecutor({ maxWorkers: 2 }), new ProcessPoolExecutor({ maxWorkers: 1 })];
  try {
    // Interleaved without a turn of the event loop between them: each executor's batch holds its
    // own blocks until it is handed over.
    const futures = [];
    for (let k = 0; k < 30; k++) {
      for (const [e, ex] of executors.entries()) futures.push([k, e, ex.submit((v, small) => [v[0], v[v.length - 1], v.length, small[0]], new Float64Array(10_000).fill(k * 10 + e), new Uint8Array([e]))]);
    }
    for (const [k, e, future] of futures) t.deepEqual(await future, [k * 10 + e, k * 10 + e, 10_000, e], `task ${k} of executor ${e}`);
  } finally {
    await Promise.all(executors.map((ex) => ex.shutdown()));
  }
});

test('strings of every kind arrive exactly as arguments and results, alone and among other arguments', async (t) => {
  const strings = [
    '', 'a', 'plain ascii '.repeat(200), 'é ÿ \u0000 \u0001'.repeat(300), '€ and 😀'.repeat(300), '\uD800', 'x\uDC00y',
    'a'.repeat(5000) + '\u20AC', 'ab'.repeat(1 << 19),
  ];
  const codes = (text) => Array.from({ length: text.length }, (_, i) => text.charCodeAt(i)).join();
  for (const Executor of [ThreadPoolExecutor, ProcessPoolExecutor]) {
    const ex = new Executor({ maxWorkers: 1 });
    try {
      for (const text of strings) {
        const what = `${Executor.name} ${JSON.stringify(text.slice(0, 12))} (${text.length})`;
        const [length, back, number] = await ex.submit((s, n) => [s.length, s, n], text, -0);
        t.is(length, text.length, what);
        t.true(back === text, what);
        t.true(Object.is(number, -0), what);
        // Made on the worker, returned alone.
        const made = await ex.submit((s) => s.split('').reverse().join(''), text);
        t.is(codes(made), codes(text.split('').reverse().join('')), what);
      }
    } finally {
      await ex.shutdown();
    }
  }
});

test('arguments are copied at submit: changes made after it are not seen by a task still queued', async (t) => {
  for (const Executor of [ThreadPoolExecutor, ProcessPoolExecutor]) {
    const ex = new Executor({ maxWorkers: 1 });
    try {
      // The only worker is busy, so the next tasks wait in the queue while their arguments change.
      const busy = ex.submit(() => { const end = Date.now() + 150; while (Date.now() < end); });
      const object = { n: 1, list: ['a'] };
      const numbers = [1, 2, 3];
      const bytes = new Float64Array([0.5, 1.5]);
      const large = new Float64Array(LARGE / 8).fill(1); // a block of its own in a thread pool
      const seen = ex.submit((o, a, f) => [o.n, o.list.length, a[0], f[0]], object, numbers, bytes);
      const alone = ex.submit((f) => f[1], bytes);
      const seenLarge = ex.submit((f) => [f[0], f[f.length - 1]], large);
      object.n = 2;
      object.list.push('b');
      numbers[0] = 100;
      bytes[0] = 100;
      bytes[1] = 100;
      large.fill(2);
      await busy;
      t.deepEqual(await seen, [1, 1, 1, 0.5], Executor.name);
      t.is(await alone, 1.5, Executor.name);
      t.deepEqual(await seenLarge, [1, 1], Executor.name);
    } finally {
      await ex.shutdown();
    }
  }
});

test('an argument that cannot be cloned fails that submit and the executor keeps working', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const error = t.throws(() => ex.submit((f) => f, () => 1));
    t.is(error.name, 'DataCloneError');
    t.throws(() => ex.submit((s) => s, Symbol('nope')), { name: 'DataCloneError' });
    // As postMessage refuses them: proxies, whatever they wrap.
    for (const target of [[1, 2], ['text'], { a: 1 }]) t.throws(() => ex.submit((p) => p, new Proxy(target, {})), { name: 'DataCloneError' });
    // Accessor items are read once each, as the clone reads them: an array that grows while it is
    // read arrives as structuredClone gives it, with the elements it had when reading began.
    const growing = [1, 2];
    let reads = 0;
    Object.defineProperty(growing, 0, { get: () => (reads++, growing.push(3), 1), enumerable: true });
    t.deepEqual(await ex.submit((a) => a, growing), [1, 2]);
    t.is(reads, 1);
    t.deepEqual(structuredClone(Object.defineProperty([1, 2], 0, { get: () => 1, enumerable: true })), [1, 2]);
    t.is(await ex.submit((x) => x + 1, 1), 2);
  });
});

test('a result that cannot be cloned fails that future and the executor keeps working', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const error = await t.throwsAsync(ex.submit(() => () => 1));
    t.is(error.name, 'DataCloneError');
    await t.throwsAsync(ex.submit(() => new Proxy([1, 2], {})), { name: 'DataCloneError' });
    await t.throwsAsync(ex.submit(() => new Proxy({ a: 1 }, {})), { name: 'DataCloneError' });
    t.is(await ex.submit((x) => x * 2, 21), 42);
  });
});

test('errors keep name, message, own properties, cause, class and the worker stack', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const range = await t.throwsAsync(ex.submit((n) => new Array(n), -1));
    t.true(range instanceof RangeError);
    t.is(range.name, 'RangeError');

    const coded = await t.throwsAsync(
      ex.submit(() => {
        const e = new TypeError('bad thing', { cause: new Error('root cause') });
        e.code = 'E_BAD';
        e.details = { n: 1 };
        throw e;
      }),
    );
    t.true(coded instanceof TypeError);
    t.is(coded.message, 'bad thing');
    t.is(coded.code, 'E_BAD');
    t.deepEqual(coded.details, { n: 1 });
    t.true(coded.cause instanceof Error);
    t.is(coded.cause.message, 'root cause');
    t.regex(coded.stack, /bad thing/);
    t.regex(coded.stack, /\n\s+at /, 'the worker-side stack is kept');

    // The stack is the worker's, exactly: none of this side's frames, whatever this side's
    // stackTraceLimit (which rebuilding the error leaves as it was).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 3;
    try {
      const deep = await t.throwsAsync(
        ex.submit(() => {
          Error.stackTraceLimit = 20;
          const nest = (n) => {
            if (n > 0) return nest(n - 1);
            const e = new Error('deep');
            e.workerStack = e.stack;
            throw e;
          };
          return nest(10);
        }),
      );
      t.is(deep.stack, deep.workerStack);
      t.true(deep.stack.split('\n').length > 10, 'the worker-side limit applies, not this side’s');
      t.is(Error.stackTraceLimit, 3);
    } finally {
      Error.stackTraceLimit = limit;
    }

    const custom = await t.throwsAsync(
      ex.submit(() => {
        class ValidationError extends Error {
          constructor(m) {
            super(m);
            this.name = 'ValidationError';
          }
        }
        throw new ValidationError('nope');
      }),
    );
    t.is(custom.name, 'ValidationError');
    t.is(custom.message, 'nope');
    t.true(custom instanceof Error);

    const aggregate = await t.throwsAsync(ex.submit(() => Promise.any([Promise.reject(new Error('a'))])));
    t.true(aggregate instanceof AggregateError);
    t.is(aggregate.errors[0].message, 'a');

    const rejected = await t.throwsAsync(ex.submit(async () => Promise.reject(new SyntaxError('async'))));
    t.true(rejected instanceof SyntaxError);
  });
});

test('a thrown non-Error arrives as itself', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    t.is(await ex.submit(() => { throw 42; }).exception(), 42);
    t.deepEqual(await ex.submit(() => { throw { reason: 'x' }; }).exception(), { reason: 'x' });
    t.is(await ex.submit(() => { throw 'text'; }).exception(), 'text');
    t.is(await ex.submit(() => 1).exception(), undefined);
  });
});

test('maxWorkers and maxTasksPerWorker are checked, naming the option', (t) => {
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    t.throws(() => new ThreadPoolExecutor({ maxWorkers: bad }), { instanceOf: RangeError, message: /maxWorkers/ });
  }
  for (const bad of ['2', null, {}]) {
    t.throws(() => new ThreadPoolExecutor({ maxWorkers: bad }), { instanceOf: TypeError, message: /maxWorkers/ });
  }
  t.throws(() => new ThreadPoolExecutor({ maxTasksPerWorker: 0 }), { instanceOf: RangeError, message: /maxTasksPerWorker/ });
  t.throws(() => new ThreadPoolExecutor({ initializer: 5 }), { instanceOf: TypeError, message: /initializer/ });
  t.throws(() => new ThreadPoolExecutor({ initargs: 5 }), { instanceOf: TypeError, message: /initargs/ });
  t.throws(() => new ThreadPoolExecutor({ execArgv: 'x' }), { instanceOf: TypeError, message: /execArgv/ });
  t.is(new ThreadPoolExecutor().maxWorkers, os.availableParallelism());
  t.is(new ThreadPoolExecutor({ maxWorkers: 3 }).maxWorkers, 3);
});

test('workers start lazily, idle ones are reused, never more than maxWorkers', async (t) => {
  await withPool({ maxWorkers: 3 }, async (ex) => {
    const { workers, idle, queued, running, completed, runTime, waitTime, utilization } = ex.stats();
    t.deepEqual({ workers, idle, queued, running, completed }, { workers: 0, idle: 0, queued: 0, running: 0, completed: 0 });
    t.deepEqual([runTime.count, waitTime.count, runTime.p99, utilization], [0, 0, 0, 0], 'nothing timed yet');
    await ex.submit((x) => x, 1);
    await ex.submit((x) => x, 2);
    await ex.submit((x) => x, 3);
    t.is(ex.stats().workers, 1, 'an idle worker is reused before a new one starts');
    const many = Array.from({ length: 30 }, (_, i) => ex.submit((ms) => new Promise((r) => setTimeout(r, ms)), 20 + i));
    t.true(ex.stats().workers <= 3);
    await Promise.all(many);
    const stats = ex.stats();
    t.is(stats.workers, 3);
    t.is(stats.completed, 33);
    t.is(stats.queued, 0);
    t.is(stats.running, 0);
  });
});

test('stats() counts queued, running and completed', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const blocker = ex.submit((g) => { Atomics.wait(g, 0, 0); return 'released'; }, gate);
    const queued = [1, 2, 3].map((x) => ex.submit((v) => v, x));
    while (!blocker.running()) await sleep(5);
    t.like(ex.stats(), { workers: 1, idle: 0, queued: 3, running: 1, completed: 0 });
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    t.is(await blocker, 'released');
    t.deepEqual(await Promise.all(queued), [1, 2, 3]);
    t.like(ex.stats(), { queued: 0, running: 0, completed: 4 });
  });
});

test('cancel(): a queued future is cancelled and never runs; a running one is not', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const gate = new Int32Array(new SharedArrayBuffer(8));
    const running = ex.submit((g) => { Atomics.wait(g, 0, 0); return 'ran'; }, gate);
    const queued = ex.submit((g) => { Atomics.store(g, 1, 1); return 'should not run'; }, gate);
    while (!running.running()) await sleep(5);
    t.false(running.cancel());
    t.true(queued.cancel());
    t.true(queued.cancel(), 'cancelling twice still answers true');
    t.true(queued.cancelled());
    t.true(queued.done());
    await t.throwsAsync(queued.result(), { instanceOf: CancelledError });
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    t.is(await running, 'ran');
    t.false(running.cancel());
    await ex.shutdown();
    t.is(Atomics.load(gate, 1), 0, 'the cancelled task never ran');
  });
});

test('toString() and util.inspect show a started task as running, without a running() call first', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const gate = new Int32Array(new SharedArrayBuffer(8));
    const f = ex.submit((g) => { Atomics.store(g, 1, 1); Atomics.wait(g, 0, 0); return 'ran'; }, gate);
    while (Atomics.load(gate, 1) === 0) await sleep(5);
    t.is(String(f), '<Future state=running>');
    t.is(util.inspect(f), '<Future state=running>');
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    t.is(await f, 'ran');
    t.is(String(f), '<Future state=finished returned string>');
  });
});

test('result() and exception() time out with TimeoutError and the task keeps running', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const f = ex.submit((g) => { Atomics.wait(g, 0, 0); return 'late'; }, gate);
    await t.throwsAsync(f.result(10), { name: 'TimeoutError' });
    await t.throwsAsync(f.result(0), { name: 'TimeoutError' });
    await t.throwsAsync(f.exception(10), { name: 'TimeoutError' });
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    t.is(await f.result(), 'late');
  });
});

test('executor futures refuse setResult when done, as bare ones do', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const f = ex.submit(() => 1);
    await f;
    t.throws(() => f.setResult(2), { instanceOf: InvalidStateError });
    t.throws(() => f.setException(new Error('x')), { instanceOf: InvalidStateError });
  });
});

test('shutdown: submit afterwards throws ShutdownError; shutdown is idempotent', async (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
  const f = ex.submit((x) => x, 5);
  await ex.shutdown();
  t.is(await f, 5);
  t.throws(() => ex.submit((x) => x, 1), { instanceOf: ShutdownError });
  t.throws(() => ex.map((x) => x, [1]), { instanceOf: ShutdownError });
  await ex.shutdown();
  await ex.shutdown({ wait: false });
  t.is(ex.stats().workers, 0, 'shutdown({ wait: true }) resolves after every worker exited');
});

test('shutdown({ wait: true }) waits for pending work to finish', async (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  const fs = [30, 30, 30].map((ms) => ex.submit((m) => new Promise((r) => setTimeout(() => r(m), m)), ms));
  await ex.shutdown();
  t.true(fs.every((f) => f.done() && !f.cancelled()));
});

test('shutdown({ cancelFutures: true }) cancels what has not started', async (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const first = ex.submit((g) => { Atomics.wait(g, 0, 0); return 'first'; }, gate);
  const rest = [1, 2, 3, 4].map((x) => ex.submit((v) => v, x));
  while (!first.running()) await sleep(5);
  const done = ex.shutdown({ cancelFutures: true });
  t.true(rest.every((f) => f.cancelled()));
  Atomics.store(gate, 0, 1);
  Atomics.notify(gate, 0);
  await done;
  t.is(await first, 'first');
});

test('shutdown({ wait: false }) resolves at once while work drains', async (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  const f = ex.submit((ms) => new Promise((r) => setTimeout(() => r('drained'), ms)), 100);
  await ex.shutdown({ wait: false });
  t.false(f.done());
  t.is(await f, 'drained');
});

test('Symbol.asyncDispose shuts the executor down', async (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  const f = ex.submit((x) => x, 1);
  await ex[Symbol.asyncDispose]();
  t.true(f.done());
  t.throws(() => ex.submit((x) => x, 1), { instanceOf: ShutdownError });
});

test('an initializer runs once per worker before its tasks, with initargs', async (t) => {
  await withPool(
    { maxWorkers: 1, initializer: (a, b) => { globalThis.configured = a + b; }, initargs: [20, 22] },
    async (ex) => {
      t.is(await ex.submit(() => globalThis.configured), 42);
    },
  );
});

test('a failing initializer breaks the pool: pending futures and later submits get BrokenThreadPool', async (t) => {
  const ex = new ThreadPoolExecutor({
    maxWorkers: 2,
    initializer: () => {
      throw new Error('init failed');
    },
  });
  const fs = [1, 2, 3].map((x) => ex.submit((v) => v, x));
  for (const f of fs) {
    const error = await t.throwsAsync(f.result());
    t.true(error instanceof BrokenThreadPool);
  }
  const error = t.throws(() => ex.submit((x) => x, 1), { instanceOf: BrokenThreadPool });
  t.regex(String(error.cause?.message ?? error.message), /init/);
  await ex.shutdown();
  t.throws(() => ex.submit((x) => x, 1), { instanceOf: BrokenThreadPool }, 'broken is checked before shutdown');
});

test('a worker that exits mid-task breaks the pool', async (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  const dying = ex.submit(task(tasks, 'exitNow'), 3);
  const pending = [1, 2].map((x) => ex.submit((v) => v, x));
  await t.throwsAsync(dying.result(), { instanceOf: BrokenThreadPool });
  for (const f of pending) await t.throwsAsync(f.result(), { instanceOf: BrokenThreadPool });
  t.throws(() => ex.submit((x) => x, 1), { instanceOf: BrokenThreadPool });
  await ex.shutdown();
  t.is(ex.stats().workers, 0);
});

test('maxTasksPerWorker recycles a worker after that many tasks', async (t) => {
  await withPool({ maxWorkers: 1, maxTasksPerWorker: 2 }, async (ex) => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await ex.submit(task(tasks, 'threadId')));
    t.is(ids[0], ids[1]);
    t.not(ids[1], ids[2]);
    t.is(ids[2], ids[3]);
    t.not(ids[3], ids[4]);
  });
});

test('env and execArgv reach the workers', async (t) => {
  await withPool({ maxWorkers: 1, env: { CF_TEST_VALUE: 'from-env' }, execArgv: ['--no-warnings'] }, async (ex) => {
    t.is(await ex.submit(() => process.env.CF_TEST_VALUE), 'from-env');
    t.deepEqual(await ex.submit(() => process.execArgv), ['--no-warnings']);
  });
});

test('an idle executor never keeps the process alive; pending work does', async (t) => {
  const idle = await run(fixture('lifetime.mjs'));
  t.is(idle.stdout.trim(), '10,20,30');
  const pending = await run(fixture('pending.mjs'));
  t.is(pending.stdout.trim(), 'late result');
});

test('an executor inside a worker thread delivers there, and the thread ends or is terminated with it open', async (t) => {
  const result = await run(fixture('nested-in-worker.mjs'));
  t.is(result.stdout.trim(), ['idle: 10,20,30 exit 0', 'busy: 10,20,30 exit 0', 'terminated while busy: 10,20,30 exit 1'].join('\n'));
});

test('a throw from a tick queued while outcomes are delivered is an uncaught exception, and delivery goes on', async (t) => {
  const result = await run(fixture('uncaught-from-wakeup.mjs'));
  t.is(result.stdout.trim(), ['uncaught: thrown in a tick', 'value: first', 'then: second'].join('\n'));
});

test('workers are told the path of the addon file the main thread loaded', async (t) => {
  const { createRequire } = await import('node:module');
  const fs = await import('node:fs');
  const { addonPath, ADDON_PATH_KEY } = createRequire(import.meta.url)('../../dist/wire/native.js');
  t.is(ADDON_PATH_KEY, 'concurrentFuturesAddon');
  t.true(typeof addonPath === 'string' && addonPath.endsWith('.node') && fs.existsSync(addonPath), String(addonPath));
  // And a worker started with it works (the loader is not needed there).
  await withPool({ maxWorkers: 1 }, async (ex) => t.is(await ex.submit((x) => x * 3, 14), 42));
});

test('the CommonJS entry point exports the same classes as the ESM one', async (t) => {
  const result = await run(fixture('cjs-consumer.cjs'));
  t.deepEqual(JSON.parse(result.stdout), { value: 15, same: true });
});

test('the ESM default export is the CommonJS exports object, as the type declarations say', (t) => {
  t.is(defaultExport.ThreadPoolExecutor, ThreadPoolExecutor);
  t.is(defaultExport.ProcessPoolExecutor, ProcessPoolExecutor);
  t.is(defaultExport.task, task);
});

test('a top-level `await ex.shutdown()` resolves once the workers have exited', async (t) => {
  const result = await run(fixture('shutdown-await.mjs'));
  t.is(result.stdout.trim(), '2\nafter shutdown 0');
});

test('timers and immediates a task leaves behind run while its worker is idle', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const flags = new Int32Array(new SharedArrayBuffer(8));
    await ex.submit((f) => {
      setTimeout(() => Atomics.store(f, 0, 1), 5);
      setImmediate(() => Atomics.store(f, 1, 1));
      return 0;
    }, flags);
    // Nothing else is submitted: only the worker's own event loop can run them.
    for (let i = 0; i < 500 && (Atomics.load(flags, 0) === 0 || Atomics.load(flags, 1) === 0); i++) await sleep(10);
    t.deepEqual([...flags], [1, 1]);
    t.is(await ex.submit((x) => x * 2, 21), 42, 'the worker still takes tasks after parking with a live loop');
  });
});

for (const kind of ['thread', 'process']) test(`${kind}: an error a task leaves behind (timer, unhandled rejection) is reported on stderr; nothing fails, the pool goes on`, async (t) => {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [fixture('stray-errors.mjs'), kind], { encoding: 'utf8', timeout: 20_000 });
  const out = JSON.parse(stdout.trim().split('\n').pop());
  t.deepEqual(out.culprit, { value: 'returned' });
  t.deepEqual(out.later, { value: 2 });
  t.deepEqual(out.asyncLater, { value: 'async' });
  t.is(out.stats.completed, 3);
  t.regex(stderr, /an uncaught exception in (worker thread|child process) \d+[^\n]*\n[^\n]*thrown by a timer left behind/);
  t.regex(stderr, /an unhandled rejection in (worker thread|child process) \d+[^\n]*\n[^\n]*a rejection left behind/);
});

test('a failing initializer on a new worker fails the pending futures only; a task running on a healthy worker finishes', async (t) => {
  const cells = new Int32Array(new SharedArrayBuffer(12)); // [inits, A started, A may finish]
  const ex = new ThreadPoolExecutor({
    maxWorkers: 2,
    initializer: (c) => {
      if (Atomics.add(c, 0, 1) === 1) throw new Error('the second worker cannot start');
    },
    initargs: [cells],
  });
  try {
    const a = ex.submit((c) => {
      Atomics.store(c, 1, 1);
      Atomics.wait(c, 2, 0);
      return 'A finished';
    }, cells);
    while (Atomics.load(cells, 1) === 0) await sleep(5);
    const b = ex.submit(() => 'B'); // the first worker is busy: a second one starts, and fails
    await t.throwsAsync(b, { instanceOf: BrokenThreadPool, message: /initializer failed/ });
    t.throws(() => ex.submit(() => 'C'), { instanceOf: BrokenThreadPool });
    t.false(a.done(), 'the running task is not failed');
    Atomics.store(cells, 2, 1);
    Atomics.notify(cells, 2);
    t.is(await a, 'A finished');
  } finally {
    Atomics.store(cells, 2, 1);
    Atomics.notify(cells, 2);
    await ex.shutdown();
  }
});

test('results computed before a task calls process.exit in the same batch are delivered', async (t) => {
  for (let rep = 0; rep < 3; rep++) {
    await withPool({ maxWorkers: 1 }, async (ex) => {
      const log = new Int32Array(new SharedArrayBuffer(16));
      const fs = [];
      for (let i = 0; i < 3; i++) fs.push(ex.submit((l, k) => (Atomics.store(l, k, 1), `done ${k}`), log, i));
      fs.push(ex.submit(() => process.exit(5)));
      const outcomes = await Promise.allSettled(fs);
      // Whatever ran before the exit keeps its value; only the dying task (and what never ran) break.
      for (let i = 0; i < 3; i++) {
        if (log[i] === 1) t.deepEqual(outcomes[i], { status: 'fulfilled', value: `done ${i}` }, `task ${i} ran, rep ${rep}`);
        else t.true(outcomes[i].reason instanceof BrokenThreadPool);
      }
      t.true(outcomes[3].reason instanceof BrokenThreadPool);
    });
  }
});

test('maxTasksPerWorker holds also when an idle worker takes records reserved by a busy one', async (t) => {
  const quota = 3;
  let worst = 0;
  for (let rep = 0; rep < 5; rep++) {
    await withPool({ maxWorkers: 2, maxTasksPerWorker: quota }, async (ex) => {
      const fs = [];
      for (let i = 0; i < 30; i++) {
        fs.push(
          ex.submit((k) => {
            globalThis.ran = (globalThis.ran ?? 0) + 1;
            if (k % 7 === 0) {
              const end = Date.now() + 3; // uneven durations: the other worker steals
              while (Date.now() < end);
            }
            return globalThis.ran;
          }, i),
        );
      }
      worst = Math.max(worst, ...(await Promise.all(fs)));
    });
  }
  t.true(worst <= quota, `a worker ran ${worst} tasks`);
});

test('an error with one property that cannot be cloned keeps its class, message and other properties', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const withFn = await t.throwsAsync(
      ex.submit(() => {
        const e = new TypeError('orig');
        e.code = 'E_KEEP';
        e.callback = () => 1;
        throw e;
      }),
    );
    t.true(withFn instanceof TypeError);
    t.is(withFn.message, 'orig');
    t.is(withFn.code, 'E_KEEP');
    t.false('callback' in withFn, 'only the function-valued property is dropped');
    const selfCause = await t.throwsAsync(
      ex.submit(() => {
        const e = new RangeError('orig');
        e.code = 'E_KEEP';
        e.cause = e;
        throw e;
      }),
    );
    t.true(selfCause instanceof RangeError);
    t.is(selfCause.message, 'orig');
    t.is(selfCause.code, 'E_KEEP');
  });
});

test('a prototype method sent by path runs unbound, as it would on the main thread; namespace functions keep their namespace', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    await t.throwsAsync(ex.submit(Array.prototype.push, 7), { instanceOf: TypeError });
    t.is(await ex.submit(() => Array.prototype.length), 0, "the worker's Array.prototype is untouched");
    t.is(await ex.submit(Math.max, 1, 5, 3), 5);
    t.is(await ex.submit(JSON.stringify, { a: 1 }), '{"a":1}');
  });
});

test('task(): a CommonJS export that Node cannot detect statically is found on module.exports', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    t.is(await ex.submit(task(fixture('dynamic-exports.cjs'), 'triple'), 4), 12);
  });
});

test('a getter or setter is refused by submit with a TypeError; methods named get and set still work', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const o = {
      get x() {
        return 1;
      },
      set x(v) {},
      get() {
        return 'get';
      },
      set(v) {
        return v;
      },
    };
    const { get, set } = Object.getOwnPropertyDescriptor(o, 'x');
    t.throws(() => ex.submit(get), { instanceOf: TypeError, message: /getter or setter/ });
    t.throws(() => ex.submit(set, 1), { instanceOf: TypeError, message: /getter or setter/ });
    t.is(await ex.submit(o.get), 'get');
    t.is(await ex.submit(o.set, 5), 5);
  });
});

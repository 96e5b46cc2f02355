// The fast paths added for speed keep the semantics: a Future is the promise of its outcome, and
// numbers cross threads as raw doubles, exactly.
import { inspect } from 'node:util';

import test from 'ava';

import { CancelledError, Future, ThreadPoolExecutor, TimeoutError } from '../esm/index.mjs';

test('a Future is a native promise that Promise.resolve and await take as it is', async (t) => {
  const f = new Future();
  t.true(f instanceof Promise);
  t.true(f instanceof Future);
  t.is(Promise.resolve(f), f);
  t.is(Object.getPrototypeOf(f.then(() => {})), Promise.prototype, 'then derives a plain promise');
  t.is(Object.getPrototypeOf(f.finally(() => {})), Promise.prototype);
  t.true(inspect(f).includes('state=pending'));
  await t.throwsAsync(f.result(0), { instanceOf: TimeoutError });
  f.setResult(42);
  t.is(await f, 42);
  t.is(await f.result(), 42);
  t.true(inspect(f).includes('state=finished'));
});

test('await rejects with the error or CancelledError', async (t) => {
  const failed = new Future();
  const error = new RangeError('nope');
  failed.setException(error);
  t.is(await t.throwsAsync(async () => await failed), error);
  const cancelled = new Future();
  t.true(cancelled.cancel());
  await t.throwsAsync(async () => await cancelled, { instanceOf: CancelledError });
});

const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
test.after.always(() => ex.shutdown());

test('futures from an executor: Promise.all takes them as they are, values in order', async (t) => {
  const futures = Array.from({ length: 1000 }, (_, i) => ex.submit((x) => x * 3, i));
  t.is(Promise.resolve(futures[0]), futures[0]);
  const values = await Promise.all(futures);
  t.deepEqual(values, Array.from({ length: 1000 }, (_, i) => i * 3));
});

const SPECIAL = [-0, 0, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 2, 0.1, -(2 ** 31), 2 ** 31, 2 ** 30, -(2 ** 30) - 1];

test('numbers cross exactly, as arguments and as results', async (t) => {
  for (const x of SPECIAL) {
    t.true(Object.is(await ex.submit((v) => v, x), x), `echo ${Object.is(x, -0) ? '-0' : x}`);
    const [back] = await ex.submit((...args) => args, x);
    t.true(Object.is(back, x), `args ${Object.is(x, -0) ? '-0' : x}`);
  }
  const all = await ex.submit((...args) => args, ...SPECIAL);
  t.true(Array.isArray(all));
  t.is(Object.getPrototypeOf(all), Array.prototype);
  t.is(all.length, SPECIAL.length);
  SPECIAL.forEach((x, i) => t.true(Object.is(all[i], x), `position ${i}`));
  t.is(await ex.submit((a, b, c) => a * b + c, 6, 7, 0.5), 42.5);
});

test('arrays that are not plain dense arrays of numbers keep their shape', async (t) => {
  // eslint-disable-next-line no-sparse-arrays
  const holey = await ex.submit((a) => a, [1, , 3]);
  t.is(holey.length, 3);
  t.false(1 in holey, 'the hole is kept');
  t.deepEqual(await ex.submit((a) => a, [1, 'two', 3]), [1, 'two', 3]);
  const mixed = await ex.submit((a) => a.map((x) => -x), [0, 1, NaN]);
  t.true(Object.is(mixed[0], -0));
  t.is(mixed[1], -1);
  t.true(Number.isNaN(mixed[2]));
});

test('map over numbers: -0 and NaN survive', async (t) => {
  const out = [];
  for await (const v of ex.map((x) => -x, [0, 1, NaN], { chunksize: 1 })) out.push(v);
  t.true(Object.is(out[0], -0));
  t.is(out[1], -1);
  t.true(Number.isNaN(out[2]));
});

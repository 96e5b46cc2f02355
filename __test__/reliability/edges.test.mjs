// The edges of the contract, on both pools: describing any thrown value fails only its own
// future (never its worker, never the pool); one map item fails alone, whatever it throws; a
// thread worker whose task waits on nothing stays alive; functions run in the mode they were
// written in. Each test ends by checking that the executor still works.
import test from 'ava';

import { CancelledError, Future, ProcessPoolExecutor, ThreadPoolExecutor } from '../../esm/index.mjs';
import { fixture, jsonLines, runNode } from './fixtures/reliability-helpers.mjs';

const POOLS = [
  { Executor: ThreadPoolExecutor, label: 'thread' },
  { Executor: ProcessPoolExecutor, label: 'process' },
];

/** Settles every future: [true, value] or [false, error]. */
const settle = (futures) => Promise.all(futures.map((f) => f.then((v) => [true, v], (e) => [false, e])));

async function stillWorks(t, ex) {
  t.deepEqual(await Promise.all([1, 2, 3].map((i) => ex.submit((x) => x * 2, i))), [2, 4, 6], 'the executor still works');
}

/** Tasks that each throw a value that is hard to describe; built in the worker, from their source. */
const HARD_TO_DESCRIBE = {
  'an error with an enumerable getter that throws': () => {
    const error = new Error('outer');
    Object.defineProperty(error, 'bad', { enumerable: true, get() { throw new Error('getter'); } });
    error.code = 'E_GETTER';
    throw error;
  },
  'an error whose message getter throws': () => {
    const error = new TypeError('hidden');
    Object.defineProperty(error, 'message', { get() { throw new Error('no message'); } });
    throw error;
  },
  'an error whose name getter throws': () => {
    const error = new RangeError('named');
    Object.defineProperty(error, 'name', { get() { throw new Error('no name'); } });
    throw error;
  },
  'an AggregateError whose errors is not an array': () => {
    const error = new AggregateError([], 'many');
    Object.defineProperty(error, 'errors', { value: 42 });
    throw error;
  },
  'an AggregateError whose errors getter throws': () => {
    const error = new AggregateError([], 'many');
    Object.defineProperty(error, 'errors', { get() { throw new Error('no errors'); } });
    throw error;
  },
  'a frozen ReferenceError': () => {
    throw Object.freeze(new ReferenceError('frozenName is not defined'));
  },
  'an error with an own __proto__ key': () => {
    const error = new TypeError('proto');
    Object.defineProperty(error, '__proto__', { value: { polluted: true }, enumerable: true, writable: true, configurable: true });
    throw error;
  },
  'an error with a function-valued property': () => {
    const error = new Error('has a function');
    error.callback = () => 1;
    error.code = 7;
    throw error;
  },
  'a Symbol': () => {
    throw Symbol('thrown');
  },
  'a Proxy around an error': () => {
    throw new Proxy(new Error('proxied'), {});
  },
  'an error whose prototype chain throws': () => {
    const error = new Error('odd');
    Object.setPrototypeOf(error, new Proxy({}, { getPrototypeOf() { throw new Error('no prototype'); } }));
    throw error;
  },
};

for (const { Executor, label } of POOLS) {
  test(`${label}: describing what a task throws fails only that task, whatever it throws`, async (t) => {
    const ex = new Executor({ maxWorkers: 1 });
    try {
      for (const [what, thrower] of Object.entries(HARD_TO_DESCRIBE)) {
        // One worker: an unrelated task queued behind the hard one must still run on it.
        const [hard, after] = await settle([ex.submit(thrower), ex.submit((x) => x + 1, 1)]);
        t.false(hard[0], `${what}: its future fails`);
        t.deepEqual(after, [true, 2], `${what}: the task behind it runs`);
      }
      const results = await settle(Object.values(HARD_TO_DESCRIBE).map((thrower) => ex.submit(thrower)));
      const byName = Object.fromEntries(Object.keys(HARD_TO_DESCRIBE).map((what, i) => [what, results[i][1]]));
      t.is(byName['an error with an enumerable getter that throws'].message, 'outer');
      t.is(byName['an error with an enumerable getter that throws'].code, 'E_GETTER', 'the other properties arrive');
      t.true(byName['an error whose message getter throws'] instanceof TypeError);
      t.true(byName['an error whose name getter throws'] instanceof RangeError);
      t.is(byName['an AggregateError whose errors is not an array'].message, 'many');
      t.true(byName['a frozen ReferenceError'] instanceof ReferenceError);
      const proto = byName['an error with an own __proto__ key'];
      t.is(Object.getPrototypeOf(proto), TypeError.prototype, 'the prototype is not replaced by the key');
      t.is(proto.polluted, undefined);
      t.deepEqual(Object.getOwnPropertyDescriptor(proto, '__proto__')?.value, { polluted: true }, 'the key arrives as an own property');
      const withFunction = byName['an error with a function-valued property'];
      t.is(withFunction.message, 'has a function');
      t.is(withFunction.code, 7, 'what can be cloned arrives');
      t.false('callback' in withFunction, 'the function is left out alone');
      t.is(typeof byName['a Symbol'], 'object', 'a thrown Symbol fails its future with an error that says so');
      t.regex(String(byName['a Symbol']?.message), /Symbol\(thrown\)/);
      await stillWorks(t, ex);
    } finally {
      await ex.shutdown();
    }
  });

  for (const chunksize of [4, 'auto']) {
    test(`${label}: map (chunksize ${chunksize}): an item whose error cannot be cloned fails alone; the items around it arrive`, async (t) => {
      const ex = new Executor({ maxWorkers: 1 });
      try {
        const items = [1, 2, 'function', 4, 'symbol', 6, 7, 8];
        const task = (x) => {
          if (x === 'function') throw Object.assign(new Error('with a function'), { callback() {} });
          if (x === 'symbol') throw Symbol('item');
          return x * 10;
        };
        const seen = [];
        const it = ex.map(task, items, { chunksize });
        for (let i = 0; i < items.length; i++) {
          try {
            seen.push((await it.next()).value);
          } catch (error) {
            seen.push(`failed: ${error.message}`);
            break;
          }
        }
        t.deepEqual(seen, [10, 20, 'failed: with a function'], 'the items before it arrive, then it fails at its own position');
        // Past a failure the run ends (as in Python); each item's own outcome, item by item:
        const alone = await settle(items.map((x) => ex.submit(task, x)));
        t.deepEqual(alone.map(([ok]) => ok), [true, true, false, true, false, true, true, true]);
        await stillWorks(t, ex);
      } finally {
        await ex.shutdown();
      }
    });
  }

  test(`${label}: a task whose promise waits on nothing, or on an unref'd timer, does not end its worker`, async (t) => {
    const ex = new Executor({ maxWorkers: 1 });
    try {
      const unrefd = ex.submit((ms) => new Promise((resolve) => setTimeout(() => resolve('timer fired'), ms).unref()), 50);
      t.is(await unrefd, 'timer fired', "the unref'd timer fires and settles the task");
      await stillWorks(t, ex);
    } finally {
      await ex.shutdown();
    }
    const run = await runNode(fixture('reliability-waits-on-nothing.mjs'), [label], { timeout: 30_000 });
    const [report] = jsonLines(run);
    t.truthy(report, `the fixture reported (stderr: ${run.stderr})`);
    t.like(report, { stuckDone: false, other: 9, after: 16 }, 'the never-settling task is still running; the pool is not broken');
    t.like(report.stats, { running: 1, workers: 2 });
  });

  test(`${label}: a function runs strict when it was written strict, sloppy when it was written sloppy, and leaves no accidental global`, async (t) => {
    const ex = new Executor({ maxWorkers: 1 });
    try {
      // This file is an ES module: its functions are strict.
      t.is(await ex.submit(function () { return this; }), undefined, '`this` of a strict function called plainly');
      const undeclared = await t.throwsAsync(ex.submit(function () { undeclaredHere = 1; return 1; }));
      t.true(undeclared instanceof ReferenceError, 'an undeclared assignment throws in strict code');
      // `new Function` makes sloppy functions.
      const sloppyThis = new Function('return this === globalThis');
      t.true(await ex.submit(sloppyThis), '`this` of a sloppy function called plainly is the global object');
      const leak = new Function('leakedGlobal = 5; return typeof leakedGlobal');
      t.is(await ex.submit(leak), 'number', 'a sloppy undeclared assignment makes a global during its call');
      t.is(await ex.submit(() => typeof leakedGlobal), 'undefined', 'and it is gone for the next task');
      t.is(await ex.submit(() => { globalThis.kept = 1; return 1; }), 1);
      t.is(await ex.submit(() => typeof kept), 'number', 'a global set on purpose stays');
      await stillWorks(t, ex);
    } finally {
      await ex.shutdown();
    }
  });
}

test('a cancelled future rejects with a CancelledError that has a message', async (t) => {
  const future = new Future();
  future.cancel();
  const error = await t.throwsAsync(future.result(), { instanceOf: CancelledError });
  t.true(error.message.length > 0);
  t.is(new CancelledError().message, 'the future was cancelled');
  t.is(new CancelledError('mine').message, 'mine');
});

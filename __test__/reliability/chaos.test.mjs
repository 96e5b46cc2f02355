// A seeded random mix of everything that ends tasks early, on one pool of two workers with
// `replaceCrashedWorkers` and a short `abortGrace`: plain tasks, tasks that throw, `run` with a
// signal aborted at a random moment (a synchronous loop that looks at it, one that never does, an
// async task that listens) or with a timeout, `process.exit` in a task, `cancel()`, and `map`s run
// to the end, closed early, aborted by their signal, or failing at an item. Every future must end
// with an outcome its own task allows (a value, its own error, its own reason, a cancel), never
// with another task's crash or stop; the pool must work afterwards and shut down. Seeds:
// CF_PROPERTY_SEED (a number, or `random`), else fixed ones. Timing never decides: the bound only
// tells a hang from an answer.
import test from 'ava';

import { CancelledError, ProcessPoolExecutor, ThreadPoolExecutor, TimeoutError, WorkerCrashedError } from '../../esm/index.mjs';

const seedFromEnv = process.env.CF_PROPERTY_SEED;
const SEEDS = seedFromEnv === undefined ? [1, 2] : [seedFromEnv === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(seedFromEnv)];
const HANG_MS = 20_000;

const double = (x) => x * 2;
const fail = (message) => {
  throw new RangeError(message);
};
const cooperative = (ms) => {
  const { signal } = currentTask();
  const end = Date.now() + ms;
  while (Date.now() < end) signal.throwIfAborted();
  return ms;
};
const busy = (ms) => {
  const end = Date.now() + ms;
  while (Date.now() < end);
  return ms;
};
const listening = (ms) => {
  const { signal } = currentTask();
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
};
const exitWith = (code) => process.exit(code);
const failAtFive = (x) => {
  if (x === 5) throw new TypeError('five');
  return x * 2;
};

/** A small linear congruential generator: the same seed gives the same sequence. */
function random(seed) {
  let state = seed >>> 0;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return { next, pick: (list) => list[Math.floor(next() * list.length)] };
}

const settle = (promise) => promise.then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));
const withinBound = (promise, what) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`no outcome within ${HANG_MS} ms: ${what}`)), HANG_MS).unref())]);

/** Runs `count` random operations; answers [what, outcome, verdict] for each check that failed. */
async function chaos(ex, seed, count) {
  const rnd = random(seed);
  const checks = [];
  const expect = (promise, what, allowed) => checks.push(withinBound(settle(promise), what).then((outcome) => (allowed(outcome) ? null : [what, outcome])));
  for (let i = 0; i < count; i++) {
    const op = rnd.pick(['value', 'value', 'value', 'throw', 'cooperative', 'busy', 'listening', 'timeout', 'exit', 'map', 'cancel', 'pause']);
    if (op === 'value') expect(ex.submit(double, i), `submit ${i}`, (o) => o.ok && o.value === 2 * i);
    else if (op === 'throw') expect(ex.submit(fail, `m${i}`), `throw ${i}`, (o) => !o.ok && o.error instanceof RangeError && o.error.message === `m${i}`);
    else if (op === 'cooperative' || op === 'busy' || op === 'listening') {
      const controller = new AbortController();
      const reason = new Error(`abort ${i}`);
      const ms = op === 'busy' ? 30 : 40;
      const future = ex.run(op === 'cooperative' ? cooperative : op === 'busy' ? busy : listening, [ms], { signal: controller.signal });
      setTimeout(() => controller.abort(reason), rnd.next() * 8);
      // Finished first, aborted (the reason itself), or cancelled before it started.
      expect(future, `${op} ${i}`, (o) => (o.ok && o.value === ms) || (!o.ok && o.error === reason) || (!o.ok && o.error instanceof CancelledError && future.cancelled()));
    } else if (op === 'timeout') {
      expect(ex.run(rnd.pick([cooperative, busy, listening]), [40], { timeout: rnd.next() * 5 }), `timeout ${i}`, (o) => !o.ok && o.error instanceof TimeoutError);
    } else if (op === 'exit') {
      expect(ex.submit(exitWith, 3), `exit ${i}`, (o) => !o.ok && o.error instanceof WorkerCrashedError && o.error.exitCode === 3);
    } else if (op === 'map') {
      const n = 1 + Math.floor(rnd.next() * 40);
      const chunksize = rnd.pick([1, 3, 'auto']);
      const mode = rnd.pick(['all', 'return', 'abort', 'throw']);
      const controller = new AbortController();
      const results = ex.map(mode === 'throw' ? failAtFive : double, Array.from({ length: n }, (_, k) => k), { chunksize, signal: controller.signal });
      const consumed = (async () => {
        const got = [];
        try {
          for await (const value of results) {
            got.push(value);
            if (mode === 'return' && got.length === 3) break;
            if (mode === 'abort' && got.length === 2) controller.abort(new Error('map abort'));
          }
        } catch (error) {
          return { got, error };
        }
        return { got };
      })();
      expect(consumed, `map ${i} (${mode}, ${n} items, chunksize ${chunksize})`, ({ ok, value }) => {
        if (!ok || value.got.some((v, k) => v !== 2 * k)) return false;
        const { got, error } = value;
        if (mode === 'return') return error === undefined && got.length === Math.min(3, n);
        if (mode === 'throw') return n > 5 ? error instanceof TypeError && error.message === 'five' && got.length === 5 : error === undefined && got.length === n;
        // Aborted after its second item: the next `next()` rejects with the reason (none left when n <= 2).
        if (mode === 'abort') return n >= 2 ? error?.message === 'map abort' && got.length === 2 : error === undefined && got.length === n;
        return error === undefined && got.length === n;
      });
    } else if (op === 'cancel') {
      const future = ex.submit(busy, 5);
      const cancelled = future.cancel();
      expect(future, `cancel ${i} (${cancelled})`, (o) => (cancelled ? !o.ok && o.error instanceof CancelledError && future.cancelled() : o.ok && o.value === 5));
    } else {
      await new Promise((resolve) => setTimeout(resolve, rnd.next() * 10));
    }
  }
  return (await Promise.all(checks)).filter((failed) => failed !== null);
}

const describe = ([what, o]) => `${what}: ${o.ok ? `value ${JSON.stringify(o.value)}` : `${o.error?.name}: ${o.error?.message}`}`;

for (const [name, Pool, count] of [
  ['ThreadPoolExecutor', ThreadPoolExecutor, 250],
  ['ProcessPoolExecutor', ProcessPoolExecutor, 100],
]) {
  for (const seed of SEEDS) {
    test.serial(`${name}: seed ${seed}: a stop, a crash or an abort ends its own future only`, async (t) => {
      t.timeout(180_000);
      const ex = new Pool({ maxWorkers: 2, replaceCrashedWorkers: true, abortGrace: 20 });
      try {
        const failed = await chaos(ex, seed, count);
        t.deepEqual(failed.map(describe), [], `seed ${seed}`);
        t.deepEqual(await withinBound(Promise.all([1, 2, 3, 4].map((x) => ex.submit(double, x))), 'after'), [2, 4, 6, 8]);
      } finally {
        await withinBound(ex.shutdown({ wait: true, cancelFutures: true }), 'shutdown');
      }
    });
  }
}

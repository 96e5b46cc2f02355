// Property: whatever a task receives (an argument, a map item) or returns (a result, a map
// result) is exactly what `structuredClone` gives, on both pools, over random values.
//
// Values are made from recipes (fixtures/recipes.mjs `buildValue`; fixtures/arbitraries.mjs
// generates them) and compared through a canonical description (`describeValue`): identity,
// prototypes, own properties with their attributes, holes, -0 and NaN, buffers and views
// (length-tracking included), ... A value `structuredClone` refuses must fail its future (or make
// `submit` throw) too.
//
// Every discrepancy fails: there is no list of known ones to tolerate.
//
// A fixed seed and a bounded number of runs in `npm test`. By hand:
//   CF_PROPERTY_SEED=random npx ava --verbose __test__/wire/structured-clone.property.test.mjs
//   CF_PROPERTY_SEED=12345 CF_PROPERTY_RUNS=10 npx ava ...     (10 times the usual runs)
//   CF_PROPERTY_SEED=12345 CF_PROPERTY_PATH=3:1:0 npx ava ...  (replays one counterexample)
// The seed used is printed with `t.log` (`--verbose` shows it).
import test from 'ava';
import fc from 'fast-check';

import { types } from 'node:util';

import { ProcessPoolExecutor, task, ThreadPoolExecutor } from '../../esm/index.mjs';
import { recipe } from './fixtures/arbitraries.mjs';
import { buildValue, describeValue } from './fixtures/recipes.mjs';

const FIXED_SEED = 20_250_601;

function chooseSeed() {
  const wanted = process.env.CF_PROPERTY_SEED;
  if (wanted === undefined || wanted === '') return FIXED_SEED;
  if (wanted === 'random') return (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const seed = Number(wanted);
  if (!Number.isInteger(seed)) throw new TypeError(`CF_PROPERTY_SEED must be an integer or 'random', not ${wanted}`);
  return seed;
}
const SEED = chooseSeed();
const RUNS_FACTOR = Number(process.env.CF_PROPERTY_RUNS ?? 1) || 1;
const PATH = process.env.CF_PROPERTY_PATH || undefined;
const runs = (n) => Math.max(1, Math.round(n * RUNS_FACTOR));

/** Runs per property: one value each for submit, a list of up to 12 for map. */
const SUBMIT_RUNS = runs(1000);
const MAP_RUNS = runs(120);

const POOLS = [
  ['ThreadPoolExecutor', () => new ThreadPoolExecutor({ maxWorkers: 2 })],
  ['ProcessPoolExecutor', () => new ProcessPoolExecutor({ maxWorkers: 2 })],
];
const CHUNKSIZES = [1, 7, 'auto'];

/** A description standing for "refused": the clone throws, the future fails. */
const THROWS = 'throws';

/** What the receiving side should see: `structuredClone(value)`, described; or THROWS. */
function expectedOf(value) {
  let copy;
  try {
    copy = structuredClone(value);
  } catch {
    return THROWS;
  }
  return describeValue(copy);
}

/** Throws, showing where they part, when two descriptions differ. */
function same(arrived, expected, what) {
  if (arrived === expected) return;
  let at = 0;
  while (at < arrived.length && arrived[at] === expected[at]) at++;
  const around = (text) => JSON.stringify(text.slice(Math.max(0, at - 160), at + 160));
  throw new Error(`${what}: what arrived differs from structuredClone's at character ${at} of the description\n  arrived:  ${around(arrived)}\n  expected: ${around(expected)}`);
}

/**
 * One value to send, from its recipe's JSON `text`. What the receiving side should see is
 * computed from a build of its own (so that sending, which must not change the value, cannot
 * change the expectation either). `value` (the one to send as an argument) counts the reads of its
 * getters in `reads`.
 */
function aCase(text, direction) {
  const reads = [];
  const value = direction === 'argument' ? buildValue(text, reads) : undefined;
  // How often structuredClone reads each getter: once, or never where it does not look
  // (a property overwritten, an error's own property, ...).
  const cloneReads = [];
  const expected = expectedOf(buildValue(text, cloneReads));
  return { text, direction, value, reads, cloneReads, expected, mayBeRefused: expected === THROWS };
}

/**
 * Checks that each getter of an argument `c` that arrived was read as often as structured clone
 * reads it: once (a stateful getter would otherwise arrive with a later value), or not at all.
 */
function readOnce(c, what) {
  if (c.reads.every((n, i) => n === c.cloneReads[i])) return;
  throw new Error(`${what}: its getters were read ${JSON.stringify(c.reads)} times, where structuredClone reads them ${JSON.stringify(c.cloneReads)} times`);
}

/**
 * Checks that `arrived` (a description, or THROWS with the error in `failure`) is what
 * `structuredClone` gives for `c` (see `aCase`).
 */
function verdict(arrived, failure, c, what) {
  if (arrived === c.expected) return;
  if (arrived === THROWS) throw new Error(`${what}: failed where structuredClone does not: ${failure?.stack ?? failure}`);
  same(arrived, c.expected, what);
}

/** `[description or THROWS, the error]` of what `make()` (a promise, or a call that throws) gives. */
async function settle(make, describe = (x) => x) {
  try {
    return [describe(await make()), undefined];
  } catch (error) {
    return [THROWS, error];
  }
}

/**
 * A map's outcomes: each delivered value, then THROWS with its error if `next()` threw (the map
 * is then finished: nothing after it is delivered). `sync`: the `map()` call itself threw.
 */
async function settleMap(make, describe = (x) => x) {
  const out = [];
  let iterator;
  try {
    iterator = make();
  } catch (error) {
    return Object.assign([[THROWS, error]], { sync: true });
  }
  try {
    for await (const item of iterator) out.push([describe(item), undefined]);
  } catch (error) {
    out.push([THROWS, error]);
  }
  return out;
}

/**
 * Checks a map's outcomes against its cases: every item is delivered as `verdict` wants, up to
 * the first that is refused (which ends the map), or all of them.
 */
function mapVerdict(outcomes, cases, chunksize) {
  const direction = cases[0].direction;
  const what = (i) => `map ${direction} ${i} of ${cases.length} (chunksize ${chunksize})`;
  if (outcomes.sync) {
    // As Python's map: every item is submitted inside the call, so one that cannot be sent throws there.
    if (cases.some((c) => c.mayBeRefused)) return;
    throw new Error(`${what(0)}: map() threw where structuredClone refuses none of the items: ${outcomes[0][1]?.stack}`);
  }
  const last = outcomes.length - 1;
  outcomes.slice(0, last).forEach(([arrived, failure], i) => verdict(arrived, failure, cases[i], what(i)));
  const [arrived, failure] = outcomes[last];
  if (arrived !== THROWS) {
    verdict(arrived, failure, cases[last], what(last));
    if (outcomes.length !== cases.length) throw new Error(`the map gave ${outcomes.length} outcome(s) for ${cases.length} item(s)`);
    return;
  }
  verdict(arrived, failure, cases[last], what(last));
}

/**
 * Runs `property` (an `fc.asyncProperty`) with the chosen seed; a failure is reported with the
 * shrunk recipe(s) as JSON, the seed and the path to replay it.
 */
async function check(t, property, numRuns) {
  t.log(`seed ${SEED}${PATH ? `, path ${PATH}` : ''}, ${numRuns} runs`);
  const details = await fc.check(property, { seed: SEED, path: PATH, numRuns, timeout: 20_000 });
  if (details.failed) {
    t.log(`replay: CF_PROPERTY_SEED=${details.seed} CF_PROPERTY_PATH=${details.counterexamplePath}`);
    t.log(`counterexample (recipes as JSON): ${JSON.stringify(details.counterexample)}`);
    t.log(String(details.errorInstance?.message ?? details.errorInstance));
    t.fail(fc.defaultReportMessage(details));
  } else t.pass();
}

async function withPool(make, body) {
  const ex = make();
  try {
    await body(ex);
  } finally {
    await ex.shutdown();
  }
}

const aMapInput = fc.array(recipe, { minLength: 1, maxLength: 12 });

/**
 * The ordinary `ArrayBuffer`s `value` holds (bare or under views), found through own data
 * properties only (no getter runs), each once: a transfer list for all of them.
 */
function buffersOf(value, found = [], seen = new Set()) {
  if (typeof value !== 'object' || value === null || seen.has(value)) return found;
  seen.add(value);
  const buffer = types.isArrayBuffer(value) ? value : ArrayBuffer.isView(value) ? value.buffer : undefined;
  if (buffer !== undefined) {
    if (types.isArrayBuffer(buffer) && !found.includes(buffer)) found.push(buffer);
    return found;
  }
  if (types.isMap(value)) for (const [k, v] of value) buffersOf(v, buffersOf(k, found, seen), seen);
  else if (types.isSet(value)) for (const v of value) buffersOf(v, found, seen);
  for (const d of Object.values(Object.getOwnPropertyDescriptors(value))) if ('value' in d) buffersOf(d.value, found, seen);
  return found;
}

/** The buffers `move()` moves for a result: the value's own, or its array items'. */
function movedOf(value) {
  const own = (v) => (types.isArrayBuffer(v) ? v : ArrayBuffer.isView(v) && types.isArrayBuffer(v.buffer) ? v.buffer : undefined);
  const items = Array.isArray(value) ? Array.from({ length: value.length }, (_, i) => value[i]) : [value];
  return [...new Set(items.map(own).filter(Boolean))];
}

/** What arrives when `value` is sent with `transfer`: structuredClone's, or THROWS. */
function expectedMoved(value, transfer) {
  try {
    return describeValue(structuredClone(value, { transfer }));
  } catch {
    return THROWS;
  }
}

const MOVED_RESULT = task(new URL('./fixtures/moved-results.mjs', import.meta.url), 'buildMoved');

for (const [name, make] of POOLS) {
  test.serial(`${name}: an argument arrives as structuredClone gives it`, (t) =>
    withPool(make, async (ex) => {
      const property = fc.asyncProperty(recipe, async (r) => {
        const c = aCase(JSON.stringify(r), 'argument');
        const [arrived, failure] = await settle(() => ex.submit(describeValue, c.value));
        verdict(arrived, failure, c, 'argument');
        if (arrived !== THROWS) readOnce(c, 'argument');
      });
      await check(t, property, SUBMIT_RUNS);
    }),
  );

  test.serial(`${name}: a result arrives as structuredClone gives it`, (t) =>
    withPool(make, async (ex) => {
      const property = fc.asyncProperty(recipe, async (r) => {
        const c = aCase(JSON.stringify(r), 'result');
        const [arrived, failure] = await settle(() => ex.submit(buildValue, c.text), (v) => describeValue(v));
        verdict(arrived, failure, c, 'result');
      });
      await check(t, property, SUBMIT_RUNS);
    }),
  );

  test.serial(`${name}: an argument sent with its buffers transferred arrives as structuredClone gives it`, (t) =>
    withPool(make, async (ex) => {
      const property = fc.asyncProperty(recipe, async (r) => {
        const c = aCase(JSON.stringify(r), 'argument');
        const fresh = buildValue(c.text);
        c.expected = expectedMoved(fresh, buffersOf(fresh));
        const transfer = buffersOf(c.value);
        const lengths = transfer.map((b) => b.byteLength);
        const [arrived, failure] = await settle(() => ex.run(describeValue, [c.value], { transfer }));
        verdict(arrived, failure, c, 'argument (transferred)');
        if (arrived === THROWS) return;
        // Moved from a thread pool's caller (detached, as postMessage leaves them); copied to a child.
        const left = transfer.map((b) => b.byteLength);
        const want = ex instanceof ThreadPoolExecutor ? lengths.map(() => 0) : lengths;
        if (left.some((n, i) => n !== want[i])) throw new Error(`transferred buffers left with lengths ${JSON.stringify(left)}, expected ${JSON.stringify(want)}`);
      });
      await check(t, property, SUBMIT_RUNS);
    }),
  );

  test.serial(`${name}: a result returned with move() arrives as structuredClone gives it`, (t) =>
    withPool(make, async (ex) => {
      const property = fc.asyncProperty(recipe, async (r) => {
        const c = aCase(JSON.stringify(r), 'result');
        const fresh = buildValue(c.text);
        c.expected = expectedMoved(fresh, movedOf(fresh));
        const [arrived, failure] = await settle(() => ex.submit(MOVED_RESULT, c.text), (v) => describeValue(v));
        verdict(arrived, failure, c, 'result (moved)');
      });
      await check(t, property, SUBMIT_RUNS);
    }),
  );

  for (const chunksize of CHUNKSIZES) {
    test.serial(`${name}: map items (chunksize ${chunksize}) arrive as structuredClone gives them`, (t) =>
      withPool(make, async (ex) => {
        const property = fc.asyncProperty(aMapInput, async (rs) => {
          const cases = rs.map((r) => aCase(JSON.stringify(r), 'argument'));
          const values = cases.map((c) => c.value);
          const outcomes = await settleMap(() => ex.map(describeValue, values, { chunksize }));
          mapVerdict(outcomes, cases, chunksize);
          outcomes.forEach(([arrived], i) => {
            if (arrived !== THROWS) readOnce(cases[i], `map argument ${i} of ${cases.length}`);
          });
        });
        await check(t, property, MAP_RUNS);
      }),
    );

    test.serial(`${name}: map results (chunksize ${chunksize}) arrive as structuredClone gives them`, (t) =>
      withPool(make, async (ex) => {
        const property = fc.asyncProperty(aMapInput, async (rs) => {
          const cases = rs.map((r) => aCase(JSON.stringify(r), 'result'));
          const texts = cases.map((c) => c.text);
          mapVerdict(await settleMap(() => ex.map(buildValue, texts, { chunksize }), (v) => describeValue(v)), cases, chunksize);
        });
        await check(t, property, MAP_RUNS);
      }),
    );
  }
}

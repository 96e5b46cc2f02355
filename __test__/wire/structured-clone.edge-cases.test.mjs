// Deterministic companions of structured-clone.property.test.mjs, on both pools: one value per
// feature of the structured-clone contract (whatever the property's seed draws), values the
// clone refuses, shared memory, getters read once, `toJSON` never called.
//
// The walk at its limits is tested in snapshot-walk.test.mjs.
import test from 'ava';

import { ProcessPoolExecutor, ThreadPoolExecutor } from '../../esm/index.mjs';
import { buildValue, describeValue } from './fixtures/recipes.mjs';

const POOLS = [
  ['ThreadPoolExecutor', () => new ThreadPoolExecutor({ maxWorkers: 2 })],
  ['ProcessPoolExecutor', () => new ProcessPoolExecutor({ maxWorkers: 2 })],
];

const one = (len, extra = {}) => ({ buffers: [{ len, max: null, seed: 7, resizeTo: null, ...extra }] });
const n = (x) => ['n', x];
const s = (x) => ['s', x];
const obj = (props, opts = {}) => ['obj', props.map(([k, v, how = 'p']) => [k, v, how]), opts];

/** One recipe per feature the contract names (fixtures/recipes.mjs has the language). */
const ZOO = {
  'numbers: -0, NaN, infinities, large and tiny': { ...one(0), root: obj([['a', n('-0')], ['b', n('NaN')], ['c', n('Inf')], ['d', n('-Inf')], ['e', n(2 ** 53)], ['f', n(5e-324)]]) },
  'a bare -0 and a bare NaN': { ...one(0), root: ['arr', [n('-0'), n('NaN'), n(1)], {}] },
  'BigInt, undefined, null, booleans': { ...one(0), root: obj([['a', ['i', '-123456789012345678901234567890']], ['b', ['u']], ['c', ['z']], ['d', ['b', false]]]) },
  'strings: long (> 1,024), lone surrogates, NUL, non-Latin-1': {
    ...one(0),
    root: ['arr', [['rep', 'ab\u00e9', 500], s('\ud800x\udfff'), s('\u0000'), s('\u{1f600}\u2028'), ['rep', '\udc00', 2000]], { named: [['k', s('\udbff')]] }],
  },
  'a long string alone (raw item)': { ...one(0), root: ['rep', '\u00ff\u0100', 800] },
  'plain object with integer-like keys (engine order)': { ...one(0), root: obj([['b', n(1)], ['10', n(2)], ['2', n(3)], ['a', n(4)], ['-1', n(5)], ['01', n(6)]]) },
  'null-prototype object': { ...one(0), root: obj([['a', n(1)]], { proto: 'null' }) },
  'class instance: own enumerable properties, plain prototype': { ...one(0), root: obj([['x', n(1)], ['y', s('two')]], { proto: 'class' }) },
  'instance of a class with a Symbol.toStringTag: a plain object': { ...one(0), root: obj([['x', n(1)], ['y', ['date', 0]]], { proto: 'tagged' }) },
  'object inheriting enumerable properties and toJSON': { ...one(0), root: obj([['own', n(1)]], { proto: 'inherit' }) },
  'own key __proto__ (prototype unchanged)': { ...one(0), root: obj([['__proto__', obj([['evil', n(1)]])], ['a', n(2)]]) },
  'non-enumerable, symbol-keyed and function-valued hidden properties dropped': {
    ...one(0),
    root: obj([['hidden', null, 'h'], ['sym', null, 'y'], ['hiddenValue', n(3), 'h'], ['symValue', n(4), 'y'], ['kept', n(5)]]),
  },
  'own enumerable getters (a fixed value)': { ...one(0), root: obj([['g', obj([['inner', n(1)]]), 'g'], ['p', n(2)]]) },
  'getter on an array index': { ...one(0), root: ['arr', [s('a'), obj([])], { getters: [1] }] },
  'toJSON: own non-enumerable, on the prototype, on an array, nested': {
    ...one(0),
    root: obj([['a', obj([['x', n(1)]], { toJSON: 'hidden' })], ['b', obj([['y', n(2)]], { proto: 'class', toJSON: 'proto' })], ['c', ['arr', [s('z')], { toJSON: true }]]], { toJSON: 'hidden' }),
  },
  'array: holes, trailing holes, named properties': { ...one(0), root: ['arr', [s('a'), null, obj([]), null], { extra: 3, named: [['name', s('x')], ['-1', n(1)], ['4294967295', n(2)]] }] },
  'array subclass becomes an array': { ...one(0), root: ['arr', [s('a'), ['arr', [n(1)], { sub: true }]], { sub: true }] },
  'sparse array longer than 1,024': { ...one(0), root: ['fill', 1500, s('x'), 3] },
  'dense array of 1,025 numbers': { ...one(0), root: ['fill', 1025, n(1.5), 0] },
  'array of 1,024 objects': { ...one(0), root: ['fill', 1024, obj([['k', n(1)]]), 0] },
  'object of 65 keys, and of 100 integer keys': { ...one(0), root: ['arr', [['wide', 65, n(1), false], ['wide', 100, s('v'), true]], {}] },
  'nesting 65 deep (arrays, objects, maps)': { ...one(0), root: ['arr', [['deep', 65, 'a', n(1)], ['deep', 65, 'o', s('x')], ['deep', 65, 'm', n('-0')]], {}] },
  'nesting 600 deep': { ...one(0), root: ['deep', 600, 'o', obj([['leaf', n(1)]])] },
  'Date (also invalid), RegExp (flags; lastIndex is reset)': { ...one(0), root: ['arr', [['date', 1.7e12], ['date', 'NaN'], ['re', '\u00e9|\u{1f600}', 'dgimsuy', 3], ['re', '', '', 0]], {}] },
  'boxed primitives': { ...one(0), root: ['arr', [['box', 'n', '-0'], ['box', 'n', 'NaN'], ['box', 's', '\ud800'], ['box', 'b', false], ['box', 'i', '-5']], {}] },
  'Map and Set: insertion order, object keys, subclasses': {
    ...one(0),
    root: ['arr', [['map', [[s('b'), n(1)], [obj([]), n(2)], [n('NaN'), s('nan')], [n('-0'), s('zero')]], true], ['set', [n(3), n(1), obj([]), n(2)], true]], {}],
  },
  'shared references and cycles (object, array, map, set)': {
    ...one(0),
    root: ['def', 0, obj([['self', ['ref', 0]], ['a', ['def', 1, ['arr', [['ref', 1], ['ref', 0]], {}]]], ['b', ['ref', 1]], ['m', ['map', [[['ref', 1], ['ref', 0]]], false]], ['s', ['set', [['ref', 0]], false]]])],
  },
  'a ref met before its def': { ...one(0), root: ['arr', [['ref', 3], ['def', 3, obj([['x', n(1)]])], ['ref', 3]], {}] },
  'errors: name, message, cause; other own properties dropped': {
    ...one(0),
    root: [
      'arr',
      [
        ['err', 'RangeError', 'range', { cause: ['err', 'TypeError', 'inner', { cause: n(42) }], props: [['code', s('E_X')]] }],
        ['err', 'Error', 'renamed', { name: 'TypeError' }],
        ['err', 'class', 'custom', {}],
        ['err', 'AggregateError', 'agg', { stack: 'delete' }],
        ['err', 'SyntaxError', '', { name: 'MyName', cause: obj([['a', n(1)]]) }],
        ['err', 'EvalError', 'e', {}],
        ['err', 'URIError', 'u', {}],
        ['err', 'ReferenceError', 'r', {}],
      ],
      {},
    ],
  },
  'an error with an object as its cause': { ...one(0), root: ['arr', [['err', 'Error', 'x', { cause: ['def', 2, obj([['a', n(1)]])] }]], {}] },
  'ArrayBuffer: fixed, empty': { buffers: [{ len: 9, max: null, seed: 1, resizeTo: null }, { len: 0, max: null, seed: 0, resizeTo: null }], root: ['arr', [['ab', 0], ['ab', 1]], {}] },
  'ArrayBuffer: resizable with maxByteLength, resized after': { buffers: [{ len: 8, max: 32, seed: 3, resizeTo: 20 }], root: ['ab', 0] },
  'typed arrays of every type and DataView, at offsets': {
    buffers: [{ len: 48, max: null, seed: 11, resizeTo: null }],
    root: [
      'arr',
      ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array', 'DataView', 'Buffer'].map(
        (type) => ['view', type, 0, 8, 2],
      ),
      {},
    ],
  },
  'a view over a whole fixed buffer (raw item)': { buffers: [{ len: 16, max: null, seed: 5, resizeTo: null }], root: ['view', 'Float64Array', 0, 0, null] },
  'raw items: numbers, strings, whole views, number arrays': {
    buffers: [{ len: 16, max: null, seed: 5, resizeTo: null }, { len: 3, max: null, seed: 9, resizeTo: null }],
    root: ['arr', [n(1), s('two'), ['view', 'Uint8Array', 1, 0, null], ['arr', [n('-0'), n('NaN'), n(3)], {}], ['view', 'Float64Array', 0, 0, null], ['rep', '\u0100', 600]], {}],
  },
  'a buffer and its views stay one buffer (buffer first)': {
    buffers: [{ len: 24, max: null, seed: 2, resizeTo: null }],
    root: ['arr', [['ab', 0], ['view', 'Uint8Array', 0, 4, 8], ['view', 'DataView', 0, 0, null], ['view', 'Float64Array', 0, 8, null]], {}],
  },
  'a buffer and its views stay one buffer (views first)': {
    buffers: [{ len: 24, max: null, seed: 2, resizeTo: null }],
    root: obj([['v', ['view', 'Int16Array', 0, 2, 3]], ['w', ['view', 'Uint32Array', 0, 4, null]], ['b', ['ab', 0]]]),
  },
  'two whole views of one buffer': { buffers: [{ len: 8, max: null, seed: 2, resizeTo: null }], root: ['arr', [['view', 'Uint8Array', 0, 0, null], ['view', 'Float64Array', 0, 0, null]], {}] },
  'views over a resizable buffer: fixed and length-tracking': {
    buffers: [{ len: 16, max: 64, seed: 4, resizeTo: 24 }],
    root: ['arr', [['view', 'Uint8Array', 0, 4, 4], ['view', 'Float32Array', 0, 8, null], ['view', 'DataView', 0, 0, null], ['view', 'Int16Array', 0, 2, 3], ['ab', 0]], {}],
  },
};

/** Argument and result of `recipe` on `ex`: `[what arrived, what structuredClone gives]` each. */
async function bothWays(ex, recipe) {
  const text = JSON.stringify(recipe);
  const expected = describeValue(structuredClone(buildValue(text)));
  const asArgument = await ex.submit(describeValue, buildValue(text));
  const asResult = describeValue(await ex.submit(buildValue, text));
  return { expected, asArgument, asResult };
}

/** What `structuredClone(value)` throws (a DOMException, which ava's `t.throws` does not take). */
function cloneFailure(value) {
  try {
    structuredClone(value);
  } catch (error) {
    return error;
  }
  return undefined;
}

async function collect(iterator) {
  const all = [];
  for await (const item of iterator) all.push(item);
  return all;
}

const isDataCloneError = (error) => error instanceof TypeError && error.name === 'DataCloneError';

for (const [name, make] of POOLS) {
  test(`${name}: each feature of structured clone arrives as structuredClone gives it`, async (t) => {
    const ex = make();
    try {
      for (const [feature, recipe] of Object.entries(ZOO)) {
        const { expected, asArgument, asResult } = await bothWays(ex, recipe);
        t.is(asArgument, expected, `${feature}, as an argument`);
        t.is(asResult, expected, `${feature}, as a result`);
      }
      const recipes = Object.values(ZOO);
      const texts = recipes.map((r) => JSON.stringify(r));
      const expected = texts.map((text) => describeValue(structuredClone(buildValue(text))));
      for (const chunksize of [1, 7, 'auto']) {
        const items = [];
        for await (const d of ex.map(describeValue, texts.map((text) => buildValue(text)), { chunksize })) items.push(d);
        t.deepEqual(items, expected, `map items, chunksize ${chunksize}`);
        const results = [];
        for await (const v of ex.map(buildValue, texts, { chunksize })) results.push(describeValue(v));
        t.deepEqual(results, expected, `map results, chunksize ${chunksize}`);
      }
    } finally {
      await ex.shutdown();
    }
  });

  // Found by the property test (raw doubles and raw items dropped them); fixed since.
  test(`${name}: named properties of arrays of numbers arrive`, async (t) => {
    const ex = make();
    try {
      const keys = (v) => Object.keys(v);
      t.deepEqual(keys(structuredClone(Object.assign([1, 2], { x: 3 }))), ['0', '1', 'x']);
      t.deepEqual(await ex.submit(keys, Object.assign([1, 2], { x: 3 })), ['0', '1', 'x'], 'an argument');
      t.deepEqual(await ex.submit(keys, Object.assign([], { x: 3 })), ['x'], 'an empty argument');
      t.deepEqual(keys(await ex.submit(() => Object.assign([1, 2], { x: 3 }))), ['0', '1', 'x'], 'a result');
      t.deepEqual(keys(await ex.submit(() => Object.assign(['a', 1], { x: 3 }))), ['0', '1', 'x'], 'a result of raw items');
      t.deepEqual(keys((await ex.submit(() => [Object.assign([1], { x: 3 }), 'a']))[0]), ['0', 'x'], 'an array of numbers in a result of raw items');
      for (const chunksize of [1, 7, 'auto']) {
        const got = [];
        for await (const k of ex.map(keys, [Object.assign([1], { x: 3 }), Object.assign([], { y: 4 })], { chunksize })) got.push(k);
        t.deepEqual(got, [['0', 'x'], ['y']], `map items, chunksize ${chunksize}`);
      }
    } finally {
      await ex.shutdown();
    }
  });

  // Regressions of bugs the property test found (fixed since). Each was a discrepancy with
  // structuredClone; the comment says what used to arrive.

  // Used to arrive fixed-length (src/wire/clone.ts tracksLength): a tracking view that does not
  // end exactly at its buffer's end, or one shorter than two elements at maxByteLength.
  test(`${name}: length-tracking views arrive length-tracking`, async (t) => {
    const ex = make();
    try {
      const grow = (v) => {
        v.buffer.resize(v.buffer.maxByteLength);
        return v.length;
      };
      const overhanging = () => {
        const buffer = new ArrayBuffer(8, { maxByteLength: 32 });
        const view = new Float64Array(buffer); // tracking
        buffer.resize(9); // 1 element, 1 byte over
        return view;
      };
      t.is(grow(structuredClone(overhanging())), 4, 'structuredClone: still tracking');
      t.is(await ex.submit(grow, overhanging()), 4, 'an argument');
      const nested = (o) => {
        const v = o.deep[0];
        v.buffer.resize(v.buffer.maxByteLength);
        return v.length;
      };
      t.is(await ex.submit(nested, { deep: [overhanging()] }), 4, 'an argument, nested');
      const result = await ex.submit(() => {
        const buffer = new ArrayBuffer(8, { maxByteLength: 32 });
        const view = new Float64Array(buffer);
        buffer.resize(9);
        return view;
      });
      t.is(grow(result), 4, 'a result');
      // At maxByteLength, one element: shrinking the buffer shows the difference (a fixed view
      // falls out of bounds, a tracking one becomes empty).
      const shrink = (v) => {
        v.buffer.resize(0);
        try {
          v.slice();
          return 'tracking';
        } catch {
          return 'fixed';
        }
      };
      const full = () => new Float64Array(new ArrayBuffer(8, { maxByteLength: 8 }));
      t.is(shrink(structuredClone(full())), 'tracking');
      t.is(await ex.submit(shrink, full()), 'tracking', 'an argument at maxByteLength');
      t.is(shrink(await ex.submit(() => new Float64Array(new ArrayBuffer(8, { maxByteLength: 8 })))), 'tracking', 'a result at maxByteLength');
    } finally {
      await ex.shutdown();
    }
  });

  // Used to arrive as two objects (src/wire/snapshot.ts copied plain objects but kept errors as
  // they were, so the serializer met the original under the error and the copy elsewhere); and a
  // Set holding an error caused by that Set failed with "Unable to deserialize cloned data.".
  test(`${name}: an object shared through an error's cause arrives as one`, async (t) => {
    const ex = make();
    try {
      const sameObject = (v) => v[1].cause === v[0];
      const shared = { n: 1 };
      t.true(sameObject(structuredClone([shared, new Error('e', { cause: shared })])));
      t.true(await ex.submit(sameObject, [shared, new Error('e', { cause: shared })]), 'an argument');
      const result = await ex.submit(() => {
        const s = { n: 1 };
        return [s, new Error('e', { cause: s })];
      });
      t.true(sameObject(result), 'a result');
      const set = new Set();
      set.add(new Error('e', { cause: set }));
      t.true(await ex.submit((s) => [...s][0].cause === s, set), 'a Set holding an error caused by that Set');
      let reads = 0;
      const counted = {
        get g() {
          return ++reads;
        },
      };
      t.is(await ex.submit((v) => v[0].g, [counted, new Error('e', { cause: counted })]), 1);
      t.is(reads, 1, 'its getter is read once');
    } finally {
      await ex.shutdown();
    }
  });

  // Used to make submit throw "Cannot perform DataView.prototype.byteLength on a detached
  // ArrayBuffer" and leave the caller's buffer one byte shorter (src/wire/clone.ts tracksLength
  // shrank the buffer to probe the view).
  test(`${name}: a fixed DataView over a full resizable buffer is sent, its buffer untouched`, async (t) => {
    const ex = make();
    try {
      const buffer = new ArrayBuffer(2, { maxByteLength: 2 });
      new Uint8Array(buffer).set([7, 9]);
      const view = new DataView(buffer, 0, 2);
      t.is(structuredClone(view).getUint8(1), 9);
      t.deepEqual(await ex.submit((v) => [v.byteLength, v.getUint8(1), v.buffer.resizable], view), [2, 9, true], 'an argument');
      t.is(buffer.byteLength, 2, "the caller's buffer is left as it was");
      t.deepEqual([...new Uint8Array(buffer)], [7, 9]);
      const result = await ex.submit(() => new DataView(new ArrayBuffer(2, { maxByteLength: 2 }), 0, 2));
      t.is(result.byteLength, 2, 'a result');
    } finally {
      await ex.shutdown();
    }
  });

  // Used to arrive length-tracking (clone.ts tracksLength took "in bounds once shrunk to its
  // offset" for tracking, which an empty fixed view is too).
  test(`${name}: an empty fixed-length view at the end of a resizable buffer arrives fixed`, async (t) => {
    const ex = make();
    try {
      const grow = (v) => {
        v.buffer.resize(v.buffer.maxByteLength);
        return v.length;
      };
      const empty = () => new Float64Array(new ArrayBuffer(1, { maxByteLength: 8 }), 0, 0);
      t.is(grow(structuredClone(empty())), 0, 'structuredClone: still fixed, still empty');
      t.is(await ex.submit(grow, empty()), 0, 'an argument');
      t.is(grow(await ex.submit(() => new Float64Array(new ArrayBuffer(1, { maxByteLength: 8 }), 0, 0))), 0, 'a result');
      const atOffset = () => new BigUint64Array(new ArrayBuffer(17, { maxByteLength: 24 }), 16, 0);
      t.is(grow(structuredClone(atOffset())), 0);
      t.is(await ex.submit(grow, atOffset()), 0, 'an argument at an offset');
      const tracking = () => new Float64Array(new ArrayBuffer(8, { maxByteLength: 16 }), 8);
      t.is(grow(structuredClone(tracking())), 1, 'structuredClone: an empty tracking one grows');
      t.is(await ex.submit(grow, tracking()), 1, 'and so does the one that arrives');
    } finally {
      await ex.shutdown();
    }
  });

  // Used to read every getter of the items twice when JSON could not carry the list (map-sink
  // encoded the whole list once to find out, then again chunk by chunk), and to give the items of
  // a chunk that were one object on the caller's side one shared copy.
  test(`${name}: map items are read once and each arrives as its own copy, whatever the chunksize`, async (t) => {
    const ex = make();
    try {
      for (const chunksize of [1, 7, 'auto']) {
        let reads = 0;
        const item = {
          get g() {
            return ++reads;
          },
          notJson: 1n,
        };
        t.deepEqual(await collect(ex.map((v) => v.g, [item], { chunksize })), [1], `chunksize ${chunksize}: arrives with the first read`);
        t.is(reads, 1, `chunksize ${chunksize}: read once`);
        reads = 0;
        t.deepEqual(await collect(ex.map((v) => v.g, [item, item, item], { chunksize })), [1, 2, 3], `chunksize ${chunksize}: one object, three items`);
        t.is(reads, 3);
        const shared = { n: 0 };
        t.deepEqual(await collect(ex.map((v) => ++v.n, Array(20).fill(shared), { chunksize })), Array(20).fill(1), `chunksize ${chunksize}: each item its own copy`);
      }
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: what structuredClone refuses, submit refuses at once with a DataCloneError`, async (t) => {
    const ex = make();
    try {
      const refused = {
        'a function': () => 1,
        'a symbol': Symbol('s'),
        'a Proxy': new Proxy({}, {}),
        'a Proxy of an array, in an array': [new Proxy([], {})],
        'a WeakMap': new WeakMap(),
        'a WeakSet': new WeakSet(),
        'a WeakRef': new WeakRef({}),
        'a Promise': Promise.resolve(1),
        'a method, nested': { a: [1, { f() {} }] },
        'a symbol as a Map value': new Map([[1, Symbol('v')]]),
        'a function in a Set': new Set([function named() {}]),
        'a function behind a getter': {
          get g() {
            return () => 1;
          },
        },
      };
      for (const [what, value] of Object.entries(refused)) {
        t.is(cloneFailure(value)?.name, 'DataCloneError', `structuredClone refuses ${what}`);
        const error = t.throws(() => ex.submit((v) => typeof v, value), undefined, `submit refuses ${what} synchronously`);
        t.true(isDataCloneError(error), `${what}: a TypeError named DataCloneError, not ${error?.name}: ${error?.message}`);
        // Also as the second argument, after one that can be cloned.
        const second = t.throws(() => ex.submit((a, v) => typeof v, 1, value));
        t.true(isDataCloneError(second), `${what}, as argument 2`);
      }
      t.is(await ex.submit((x) => x + 1, 41), 42, 'the executor is still usable');
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: a result structuredClone refuses fails its future alone, with a DataCloneError`, async (t) => {
    const ex = make();
    try {
      const tasks = [
        () => () => 1,
        () => Symbol('s'),
        () => new WeakMap(),
        () => ({ nested: [new Proxy({}, {})] }),
        () => new Map([['k', function named() {}]]),
      ];
      for (const task of tasks) {
        const error = await t.throwsAsync(ex.submit(task));
        t.true(isDataCloneError(error), `${task}: ${error?.name}: ${error?.message}`);
      }
      t.is(await ex.submit((x) => x + 1, 1), 2, 'the executor is still usable');
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: a map item that cannot be cloned fails at its own position`, async (t) => {
    const ex = make();
    try {
      for (const chunksize of [1, 7, 'auto']) {
        const seen = [];
        const error = await t.throwsAsync(async () => {
          for await (const x of ex.map((v) => typeof v, [1, 'two', () => 3, 4], { chunksize })) seen.push(x);
        });
        t.true(isDataCloneError(error), `chunksize ${chunksize}: ${error?.name}`);
        t.deepEqual(seen, ['number', 'string'], `chunksize ${chunksize}: the items before it are delivered`);
      }
      t.is(await ex.submit(() => 'ok'), 'ok');
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: an error a getter throws is what submit throws, as structuredClone does`, async (t) => {
    const ex = make();
    try {
      const value = {
        a: 1,
        get g() {
          throw new RangeError('from the getter');
        },
      };
      const cloneError = cloneFailure(value);
      const submitError = t.throws(() => ex.submit((v) => v, value));
      t.is(submitError?.constructor, cloneError?.constructor);
      t.is(submitError?.message, 'from the getter');
      t.is(await ex.submit(() => 'ok'), 'ok');
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: an error whose cause is itself fails as structuredClone does, its future alone`, async (t) => {
    // V8 (Node 20) serializes it but cannot deserialize it: structuredClone throws "Unable to
    // deserialize cloned data.". The codec must fail the future (not the worker, not the pool).
    const ex = make();
    try {
      const selfCaused = new Error('self');
      selfCaused.cause = selfCaused;
      t.truthy(cloneFailure(selfCaused));
      let future;
      const sync = (() => {
        try {
          future = ex.submit((v) => v.message, selfCaused);
        } catch (error) {
          return error;
        }
      })();
      if (!sync) await t.throwsAsync(future);
      await t.throwsAsync(
        ex.submit(() => {
          const e = new Error('self');
          e.cause = e;
          return e;
        }),
      );
      t.is(await ex.submit(() => 'ok'), 'ok');
    } finally {
      await ex.shutdown();
    }
  });

  // Used to fail the items before it in its chunk (the worker could not deserialize the chunk): an
  // error met again inside its own cause is refused where it is read, at its own position.
  test(`${name}: a map item that cannot be received fails at its position, the items before it delivered`, async (t) => {
    const ex = make();
    try {
      const selfCaused = () => {
        const e = new Error('self');
        e.cause = e;
        return e;
      };
      for (const chunksize of [7, 'auto']) {
        const seen = [];
        await t.throwsAsync(async () => {
          for await (const x of ex.map((v) => typeof v, [{ a: 1 }, 'two', selfCaused(), 4], { chunksize })) seen.push(x);
        });
        t.deepEqual(seen, ['object', 'string'], `arguments, chunksize ${chunksize}`);
        const results = [];
        await t.throwsAsync(async () => {
          const task = (i) => {
            if (i !== 2) return { i };
            const e = new Error('self');
            e.cause = e;
            return e;
          };
          for await (const x of ex.map(task, [0, 1, 2, 3], { chunksize })) results.push(x);
        });
        t.deepEqual(results, [{ i: 0 }, { i: 1 }], `results, chunksize ${chunksize}`);
      }
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: each getter of an argument is read once, and arrives with that first value`, async (t) => {
    const ex = make();
    try {
      let reads = 0;
      const counter = () => ({
        get g() {
          return ++reads;
        },
      });
      const shapes = {
        'an object': (o) => o,
        'in an array': (o) => [1, o],
        'in a Map': (o) => new Map([['k', o]]),
        'in a Set': (o) => new Set([o]),
        'beside a BigInt (not JSON)': (o) => ({ o, b: 1n }),
        'referenced twice': (o) => [o, o],
      };
      for (const [where, wrap] of Object.entries(shapes)) {
        reads = 0;
        const got = await ex.submit((v) => JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Map ? [...x] : x instanceof Set ? [...x] : x)), wrap(counter()));
        t.is(reads, 1, `${where}: read once`);
        t.true(got.includes('"g":1'), `${where}: arrived with the first read: ${got}`);
      }
      // As a second argument, and in each of several arguments.
      reads = 0;
      t.deepEqual(await ex.submit((a, b) => [a, b.g], 'x', counter()), ['x', 1]);
      t.is(reads, 1);
      // Through map, one item each.
      const counts = [0, 0, 0];
      const items = counts.map((_, i) => ({
        get g() {
          return ++counts[i];
        },
      }));
      for (const chunksize of [1, 7]) {
        counts.fill(0);
        const got = [];
        for await (const x of ex.map((v) => v.g, items, { chunksize })) got.push(x);
        t.deepEqual(got, [1, 1, 1], `map, chunksize ${chunksize}`);
        t.deepEqual(counts, [1, 1, 1], `map, chunksize ${chunksize}: read once each`);
      }
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: each getter of a result is read once`, async (t) => {
    const ex = make();
    try {
      const got = await ex.submit(() => {
        let n = 0;
        const o = {
          get g() {
            return ++n;
          },
        };
        return { o, list: [o, 1n], m: new Map([[1, o]]) };
      });
      t.is(got.o.g, 1);
      t.is(got.list[0], got.o);
      t.is(got.m.get(1), got.o);
    } finally {
      await ex.shutdown();
    }
  });

  test(`${name}: toJSON is never called, on arguments or results`, async (t) => {
    const ex = make();
    try {
      let calls = 0;
      const toJSON = () => {
        calls++;
        throw new Error('toJSON must not be called');
      };
      const hidden = { a: 1 };
      Object.defineProperty(hidden, 'toJSON', { value: toJSON });
      const array = [1, 2];
      Object.defineProperty(array, 'toJSON', { value: toJSON });
      const strings = ['x', 'y'];
      Object.defineProperty(strings, 'toJSON', { value: toJSON });
      class WithToJSON {
        constructor() {
          this.b = 2;
        }
        toJSON() {
          return toJSON();
        }
      }
      const value = { hidden, array, strings, instance: new WithToJSON(), nested: [[hidden]] };
      const got = await ex.submit((v) => JSON.stringify(v, (k, x) => (k === 'toJSON' ? undefined : x)), value);
      t.is(calls, 0);
      t.deepEqual(JSON.parse(got), { hidden: { a: 1 }, array: [1, 2], strings: ['x', 'y'], instance: { b: 2 }, nested: [[{ a: 1 }]] });
      t.is(await ex.submit((a) => a.length, strings), 2);
      t.is(calls, 0);
      const result = await ex.submit(() => {
        const o = { a: 1 };
        Object.defineProperty(o, 'toJSON', {
          value: () => {
            throw new Error('toJSON was called');
          },
        });
        const list = ['s', 1];
        Object.defineProperty(list, 'toJSON', {
          value: () => {
            throw new Error('toJSON was called');
          },
        });
        return { o, list };
      });
      t.deepEqual(result, { o: { a: 1 }, list: ['s', 1] });
    } finally {
      await ex.shutdown();
    }
  });
}

test('ThreadPoolExecutor: a SharedArrayBuffer and its views are shared, both ways', async (t) => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
  try {
    const sab = new SharedArrayBuffer(16);
    const view = new Int32Array(sab, 4, 2);
    // Bare, and as a view, in one value: the worker writes through both.
    const back = await ex.submit(
      (v) => {
        Atomics.store(new Int32Array(v.bare), 0, 7);
        Atomics.store(v.view, 1, 9);
        return v;
      },
      { bare: sab, view },
    );
    t.is(Atomics.load(new Int32Array(sab), 0), 7, 'a write in the worker through the bare buffer is seen here');
    t.is(Atomics.load(view, 1), 9, 'a write in the worker through the view is seen here');
    t.true(back.bare instanceof SharedArrayBuffer);
    t.is(back.view.byteOffset, 4);
    t.is(back.view.length, 2);
    Atomics.store(view, 0, 5);
    t.is(Atomics.load(back.view, 0), 5, 'what came back is the same memory');
    t.is(Atomics.load(new Int32Array(back.bare), 1), 5);
    // As a bare argument and in a map.
    await ex.submit((b) => Atomics.add(new Int32Array(b), 3, 1), sab);
    for await (const _ of ex.map((v) => Atomics.add(v, 0, 1), [new Int32Array(sab, 12, 1), new Int32Array(sab, 12, 1)], { chunksize: 1 })) void _;
    t.is(Atomics.load(new Int32Array(sab), 3), 3);
  } finally {
    await ex.shutdown();
  }
});

test('ProcessPoolExecutor: a SharedArrayBuffer is refused with a DataCloneError, the pool goes on', async (t) => {
  const ex = new ProcessPoolExecutor({ maxWorkers: 2 });
  try {
    const sab = new SharedArrayBuffer(8);
    for (const [what, value] of [
      ['a bare SharedArrayBuffer', sab],
      ['a view over one', new Uint8Array(sab)],
      ['one nested in an object', { deep: [new Float64Array(sab)] }],
      ['one in a Map', new Map([[1, sab]])],
    ]) {
      let future;
      const sync = (() => {
        try {
          future = ex.submit((v) => 'arrived', value);
        } catch (error) {
          return error;
        }
      })();
      const error = sync ?? (await t.throwsAsync(future));
      t.true(isDataCloneError(error), `${what}: ${error?.name}: ${error?.message}`);
    }
    const result = await t.throwsAsync(ex.submit(() => new Int32Array(new SharedArrayBuffer(4))));
    t.true(isDataCloneError(result), `a result: ${result?.name}`);
    t.is(await ex.submit(() => 'ok'), 'ok');
  } finally {
    await ex.shutdown();
  }
});

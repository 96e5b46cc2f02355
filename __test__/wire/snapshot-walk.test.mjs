// The snapshot walk (src/wire/snapshot.ts) at its edges, on both pools: values too large or too
// deep for its limits, objects it must tell apart (tagged class instances from the runtime's own
// objects), and a map chunk whose items it leaves whole one by one. Each case compares with
// `structuredClone`. (These were `test.failing` repros of known bugs until the walk was fixed.)
import test from 'ava';

import { ProcessPoolExecutor, ThreadPoolExecutor } from '../../esm/index.mjs';

const POOLS = [
  ['ThreadPoolExecutor', () => new ThreadPoolExecutor({ maxWorkers: 2 })],
  ['ProcessPoolExecutor', () => new ProcessPoolExecutor({ maxWorkers: 2 })],
];

async function withPool(make, body) {
  const ex = make();
  try {
    await body(ex);
  } finally {
    await ex.shutdown();
  }
}

async function collect(iterator) {
  const all = [];
  for await (const item of iterator) all.push(item);
  return all;
}

for (const [name, make] of POOLS) {
  // An object with a Symbol.toStringTag (a class that defines one, an object whose prototype is a
  // Map) is an ordinary object to structuredClone: copied as a plain one by the walk, so that an
  // object reachable through it and from elsewhere stays one, and its getters are read once.
  test(`${name}: an object shared through an object with a Symbol.toStringTag stays one`, (t) =>
    withPool(make, async (ex) => {
      const sameObject = (v) => v[0].shared === v[1];
      const tagged = () => {
        class Tagged {
          get [Symbol.toStringTag]() {
            return 'Tagged';
          }
        }
        const shared = { n: 1 };
        const object = new Tagged();
        object.shared = shared;
        return [object, shared];
      };
      t.true(sameObject(structuredClone(tagged())));
      t.true(await ex.submit(sameObject, tagged()), 'an argument');
      t.true(sameObject(await ex.submit(tagged)), 'a result (the same function, run in the worker)');
      const overMap = () => {
        const shared = { n: 1 };
        const object = Object.create(new Map());
        object.shared = shared;
        return [object, shared];
      };
      t.true(sameObject(structuredClone(overMap())));
      t.true(await ex.submit(sameObject, overMap()), 'an argument whose prototype is a Map');
      let reads = 0;
      const counted = {
        get g() {
          return ++reads;
        },
      };
      const value = tagged();
      value[0].shared = counted;
      value[1] = counted;
      await ex.submit((v) => v[1].g, value);
      t.is(reads, 1, 'its getter is read once');
    }),
  );


  // A value too large for the walk's limits (an array of more than 1,024 elements) after a getter
  // was read: the walk reads on, rather than leave the value to the serializer, which would read
  // the getter again.
  test(`${name}: getters are read once in a value with a long array`, (t) =>
    withPool(make, async (ex) => {
      let reads = 0;
      const value = {
        get g() {
          return ++reads;
        },
        big: new Array(2000).fill(0),
      };
      t.is(await ex.submit((v) => v.g, value), 1, 'an argument arrives with the first read');
      t.is(reads, 1, 'an argument is read once');
      const result = await ex.submit(() => {
        let n = 0;
        return {
          get g() {
            return ++n;
          },
          big: new Array(2000).fill(0),
        };
      });
      t.is(result.g, 1, 'a result arrives with the first read');
      reads = 0;
      const small = {
        get g() {
          return ++reads;
        },
      };
      t.deepEqual(await collect(ex.map((v) => v.g ?? v.length, [small, new Array(2000).fill(0)], { chunksize: 7 })), [1, 2000], 'a map item beside a long one');
      t.is(reads, 1);
    }),
  );

  test(`${name}: getters are read once in a value nested deeper than the walk's limit`, (t) =>
    withPool(make, async (ex) => {
      let reads = 0;
      let deep = { end: true };
      for (let i = 0; i < 700; i++) deep = { next: deep };
      const value = {
        get g() {
          return ++reads;
        },
        deep,
      };
      const depthOf = (v) => {
        let n = 0;
        for (let o = v.deep; o.next; o = o.next) n++;
        return [v.g, n];
      };
      t.deepEqual(await ex.submit(depthOf, value), [1, 700]);
      t.is(reads, 1);
    }),
  );

  test(`${name}: a map item too large for the walk beside one that cannot be received: each has its own outcome`, (t) =>
    withPool(make, async (ex) => {
      // Results, chunked: item 0 is deeper than the walk goes (left whole, alone); item 1 is an
      // error that is its own cause, which V8 writes but cannot read back (structuredClone throws).
      const make = (i) => {
        if (i === 0) {
          let deep = { end: true };
          for (let k = 0; k < 600; k++) deep = { next: deep };
          return deep;
        }
        const error = new Error('loop');
        error.cause = error;
        return new Set([error]);
      };
      t.throws(() => structuredClone(make(1)));
      const results = ex.map(make, [0, 1], { chunksize: 2 });
      const first = await results.next();
      t.is(first.done, false);
      let depth = 0;
      for (let o = first.value; o.next; o = o.next) depth++;
      t.is(depth, 600, 'the large item is delivered');
      const second = await results.next().then(() => undefined, (error) => error);
      t.truthy(second, 'the second item fails');
      t.regex(String(second?.message), /cause refers back|could not be cloned/);
    }),
  );

  test(`${name}: tagged objects arrive as structuredClone gives them`, (t) =>
    withPool(make, async (ex) => {
      // Each kind is made in the worker too (a result) by the same recipe.
      const kinds = {
        url: () => new URL('http://example.com/a'),
        headers: () => new Headers({ a: '1' }),
        math: () => Math,
        taggedInstance: () => {
          class Tagged {
            get [Symbol.toStringTag]() {
              return 'Tagged';
            }
          }
          return Object.assign(new Tagged(), { a: 1, b: [2] });
        },
        overMap: () => Object.assign(Object.create(new Map()), { a: 1 }),
        overTypedArray: () => Object.assign(Object.create(new Uint8Array(2)), { a: 1 }),
        ownTag: () => ({ [Symbol.toStringTag]: 'X', a: 1 }),
        collatorWithProperty: () => Object.assign(new Intl.Collator(), { a: 1 }),
        promiseWithProperty: () => Object.assign(Promise.resolve(1), { a: 1 }),
        bufferWithProperty: () => Object.assign(new ArrayBuffer(2), { a: 1 }),
        weakMapWithProperty: () => Object.assign(new WeakMap(), { a: 1 }),
      };
      const describe = (v) => JSON.stringify([Object.prototype.toString.call(v), Object.getPrototypeOf(v) === Object.prototype, v]);
      for (const [kind, makeIt] of Object.entries(kinds)) {
        let expected;
        try {
          expected = describe(structuredClone(makeIt()));
        } catch {
          expected = 'refused';
        }
        // Refused either way: `submit` throws, or the future fails.
        const argument = await Promise.resolve()
          .then(() => ex.submit(describe, makeIt()))
          .then((d) => d, () => 'refused');
        t.is(argument, expected, `${kind} as an argument`);
        if (kind === 'promiseWithProperty') continue; // a task's promise is awaited, not sent
        const source = `return (${makeIt.toString()})()`;
        const result = await ex.submit((body) => new Function(body)(), source).then(describe, () => 'refused');
        t.is(result, expected, `${kind} as a result`);
      }
    }),
  );
}

// `map` with `chunksize: 'auto'` and explicit chunks, on both pools, against /work/shared/API.md:
// grouping never shows beyond speed. An item of unknown cost goes alone; a finished slow item is
// delivered without waiting for the rest of its chunk; cancelling a run (break, a task error, a
// timeout) stops the items of a running chunk that have not started; `buffersize` keeps memory
// bounded.
//
// Items log their start and end to a file ("s<i>" / "e<i>"), which works in threads and child
// processes alike. Timing decides nothing here beyond generous bounds: a slow item takes hundreds
// of milliseconds, and what is checked is what the log holds when a result arrives.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';

import { ProcessPoolExecutor, ThreadPoolExecutor, TimeoutError } from '../../esm/index.mjs';

const POOLS = { thread: ThreadPoolExecutor, process: ProcessPoolExecutor };

/** Task: logs its start, fails if asked, blocks for `ms`, logs its end, returns its index. */
function step(log, x) {
  const fs = process.getBuiltinModule('node:fs');
  fs.appendFileSync(log, `s${x.i}\n`);
  if (x.fail) throw new RangeError(`item ${x.i} failed`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, x.ms);
  fs.appendFileSync(log, `e${x.i}\n`);
  return x.i;
}

function* repeat(x) {
  for (;;) yield x;
}

/** A fresh log file, and what it holds: the items started and ended. */
function newLog(t) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cf-map-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'log');
  const lines = () => {
    try {
      return readFileSync(file, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  return {
    file,
    started: () => lines().filter((l) => l.startsWith('s')).length,
    ended: (i) => lines().includes(`e${i}`),
  };
}

const items = (n, ms, extra = {}) => Array.from({ length: n }, (_, i) => ({ i, ms, ...extra }));

for (const [kind, Pool] of Object.entries(POOLS)) {
  test(`${kind}: maxWorkers 1: a failed first item is reported while the second still runs`, async (t) => {
    t.timeout(60_000);
    const log = newLog(t);
    const ex = new Pool({ maxWorkers: 1 });
    try {
      const it = ex.map(step, repeat(log.file), [{ i: 0, fail: true }, { i: 1, ms: 3_000 }]);
      const error = await it.next().then(() => undefined, (e) => e);
      t.is(error?.name, 'RangeError');
      t.false(log.ended(1), 'the failure did not wait for item 1');
      t.deepEqual(await it.next(), { done: true, value: undefined });
    } finally {
      await ex.shutdown();
    }
  });

  for (const chunksize of [4, 'auto']) {
    test(`${kind}: slow items of a chunk are delivered one by one (chunksize ${chunksize}, items that are not JSON)`, async (t) => {
      t.timeout(60_000);
      const log = newLog(t);
      const ex = new Pool({ maxWorkers: 1 });
      try {
        // A typed array in each item: they travel by structured clone, in chunks cut before submission.
        const it = ex.map(step, repeat(log.file), items(4, 400, { data: new Float64Array(2) }), { chunksize });
        t.deepEqual(await it.next(), { done: false, value: 0 });
        t.false(log.ended(1), 'item 0 did not wait for item 1');
        t.deepEqual(await it.next(), { done: false, value: 1 });
        t.false(log.ended(2), 'item 1 did not wait for item 2');
        await it.return();
      } finally {
        await ex.shutdown();
      }
    });
  }

  test(`${kind}: the first result of slow items that are not JSON comes before more are grouped`, async (t) => {
    t.timeout(60_000);
    const log = newLog(t);
    const ex = new Pool({ maxWorkers: 2 });
    try {
      const it = ex.map(step, repeat(log.file), items(20, 200, { data: new Float64Array(2) }));
      t.deepEqual(await it.next(), { done: false, value: 0 });
      // Measured first: each worker ran one item, and has at most started its next one.
      t.true(log.started() <= 4, `${log.started()} items started at the first result`);
      await it.return();
    } finally {
      await ex.shutdown();
    }
  });

  const stops = {
    break: async (it) => {
      for await (const v of it) if (v === 0) break;
    },
    'a task error': async (it, t) => {
      t.is((await it.next()).value, 0);
      await t.throwsAsync(it.next(), { instanceOf: RangeError });
    },
    'a timeout': async (it, t) => {
      await t.throwsAsync(async () => {
        for await (const v of it);
      }, { instanceOf: TimeoutError });
    },
  };
  for (const [how, end] of Object.entries(stops)) {
    test(`${kind}: after ${how}, the items of the running chunk that had not started never run`, async (t) => {
      t.timeout(60_000);
      const log = newLog(t);
      const ex = new Pool({ maxWorkers: 1 });
      try {
        const list = items(10, 300);
        if (how === 'a task error') list[1] = { i: 1, fail: true };
        const options = { chunksize: 10, ...(how === 'a timeout' ? { timeout: 450 } : {}) };
        await end(ex.map(step, repeat(log.file), list, options), t);
        await ex.shutdown({ wait: true });
        // The run ended while item 1 or 2 ran (item 3 at worst, on a slow machine), not after 10.
        t.true(log.started() <= 4, `${log.started()} of 10 items ran`);
      } finally {
        await ex.shutdown();
      }
    });
  }
}

/** The heap in use after a full collection. */
const gc = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc');
})();
function heapUsed() {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

for (const [kind, Pool, count] of [
  ['thread', ThreadPoolExecutor, 600_000],
  ['process', ProcessPoolExecutor, 200_000],
]) {
  test(`${kind}: buffersize keeps the heap flat over ${count} items`, async (t) => {
    t.timeout(110_000);
    const ex = new Pool({ maxWorkers: 2 });
    try {
      function* naturals() {
        for (let i = 0; i < count; i++) yield i;
      }
      let sum = 0;
      let seen = 0;
      let early;
      for await (const v of ex.map((x) => x * 2, naturals(), { buffersize: 1_000 })) {
        sum += v;
        if (++seen === count / 4) early = heapUsed();
      }
      const late = heapUsed();
      t.is(sum, count * (count - 1));
      // Before the fix, each item kept about 160 bytes until the run ended: 48 MB over 300k items.
      const grown = (late - early) / 2 ** 20;
      t.true(grown < 8, `the heap grew by ${grown.toFixed(1)} MB over the last ${(count * 3) / 4} items`);
    } finally {
      await ex.shutdown();
    }
  });
}

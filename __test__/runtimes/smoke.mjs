// A smoke subset of the API, for every runtime (scripts/runtimes.mjs runs it with Node 20, 22, 24,
// Bun and Deno). A plain script, not an ava test: it needs nothing but the runtime and the package.
// Each check prints "ok <name>" or "FAIL <name> -- <reason>"; the exit code is the number of
// failures. It must also end by itself (an idle executor never keeps the process alive): the
// runner reports a script that does not as a hang.
//
//   node __test__/runtimes/smoke.mjs [check-name-substring]
import {
  ALL_COMPLETED,
  asCompleted,
  BrokenProcessPool,
  BrokenThreadPool,
  FIRST_COMPLETED,
  Future,
  ProcessPoolExecutor,
  ShutdownError,
  task,
  ThreadPoolExecutor,
  wait,
} from 'concurrent-futures';

const only = process.argv[2];
const checks = [];
const check = (name, body) => checks.push({ name, body });

function equal(actual, expected, what) {
  const a = JSON.stringify(actual, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
  const e = JSON.stringify(expected, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
  if (a !== e) throw new Error(`${what}: got ${a}, expected ${e}`);
}

async function rejects(promise, Class, what) {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof Class)) throw new Error(`${what}: rejected with ${error?.name}: ${error?.message}, expected ${Class.name}`);
    return error;
  }
  throw new Error(`${what}: resolved, expected ${Class.name}`);
}

async function collect(iterator) {
  const out = [];
  for await (const value of iterator) out.push(value);
  return out;
}

const tasks = new URL('./tasks.mjs', import.meta.url);

check('thread: submit', async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
  const f = ex.submit((a, b) => a ** b, 2, 10);
  if (!(f instanceof Future)) throw new Error('submit did not return a Future');
  equal(await f.result(), 1024, 'result');
  equal(await ex.submit(Math.max, 3, 9, 4), 9, 'a built-in by path');
  equal(await ex.submit(task(tasks, 'scale'), 21, 2), 42, 'a task() reference');
  await ex.shutdown();
});

check('thread: map', async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
  const input = Array.from({ length: 2000 }, (_, i) => i);
  equal(await collect(ex.map((x) => x * 2, input)), input.map((x) => x * 2), 'auto chunks');
  equal(await collect(ex.map((a, b) => `${a}${b}`, ['a', 'b', 'c'], [1, 2], { chunksize: 1 })), ['a1', 'b2'], 'zipped, chunksize 1');
  await ex.shutdown();
});

check('thread: values (structured clone, SharedArrayBuffer)', async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  const value = { when: new Date(0), m: new Map([[1, 'one']]), big: 2n ** 70n, nested: [new Set(['s'])] };
  const back = await ex.submit((v) => v, value);
  if (!(back.when instanceof Date) || back.when.getTime() !== 0) throw new Error('Date did not survive');
  if (!(back.m instanceof Map) || back.m.get(1) !== 'one') throw new Error('Map did not survive');
  equal(back.big, 2n ** 70n, 'BigInt');
  if (!(back.nested[0] instanceof Set)) throw new Error('Set did not survive');
  const shared = new Int32Array(new SharedArrayBuffer(16));
  await ex.submit((view) => Atomics.store(view, 2, 7), shared);
  equal(shared[2], 7, 'a write to a SharedArrayBuffer in the worker');
  await ex.shutdown();
});

check('thread: wait and asCompleted', async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
  const bare = new Future();
  const quick = ex.submit((x) => x + 1, 1);
  const first = await wait([quick, bare], { returnWhen: FIRST_COMPLETED });
  equal([first.done.has(quick), first.notDone.has(bare)], [true, true], 'FIRST_COMPLETED split');
  const timedOut = await wait([bare], { timeout: 0 });
  equal(timedOut.notDone.size, 1, 'timeout 0 on a pending future');
  bare.setResult('by hand');
  const futures = [ex.submit((x) => x * 3, 3), ex.submit(Math.sqrt, 16), bare];
  const all = await wait(futures, { returnWhen: ALL_COMPLETED });
  equal(all.done.size, 3, 'ALL_COMPLETED');
  const seen = [];
  for await (const f of asCompleted(futures)) seen.push(await f);
  equal(seen.map(String).sort(), ['4', '9', 'by hand'], 'asCompleted');
  await ex.shutdown();
});

check('thread: the main thread is woken by a slow task', async () => {
  // Longer than the window in which the main thread polls: the result must come through the
  // binding's wake-up of the main thread's event loop.
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  const value = await ex.submit((ms) => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    return 'woken';
  }, 300);
  equal(value, 'woken', 'result');
  await ex.shutdown();
});

check('thread: an error', async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  const error = await rejects(
    ex.submit((x) => {
      throw Object.assign(new RangeError(`bad ${x}`), { code: 'E_BAD' });
    }, 7),
    RangeError,
    'a task that throws',
  );
  equal([error.message, error.code], ['bad 7', 'E_BAD'], 'message and own properties');
  equal(await ex.submit((x) => x, 'still usable'), 'still usable', 'the pool after an error');
  await ex.shutdown();
});

check('thread: shutdown', async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  const running = ex.submit((ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms), 200);
  const queued = ex.submit((x) => x, 'never');
  await ex.shutdown({ wait: true, cancelFutures: true });
  equal([queued.cancelled(), running.done()], [true, true], 'cancelFutures cancels the queued one; wait waits for the running one');
  try {
    ex.submit((x) => x, 1);
    throw new Error('submit after shutdown did not throw');
  } catch (error) {
    if (!(error instanceof ShutdownError)) throw error;
  }
});

check('thread: a crash (process.exit in a task)', async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
  await rejects(ex.submit(() => process.exit(3)), BrokenThreadPool, 'the crashed task');
  try {
    ex.submit((x) => x, 1);
    throw new Error('submit on a broken pool did not throw');
  } catch (error) {
    if (!(error instanceof BrokenThreadPool)) throw error;
  }
  await ex.shutdown();
});

check('process: submit and map', async () => {
  const px = new ProcessPoolExecutor({ maxWorkers: 2 });
  const pid = await px.submit(() => process.pid);
  if (typeof pid !== 'number' || pid === process.pid) throw new Error(`the task ran in pid ${pid}, this is ${process.pid}`);
  equal(await px.submit(task(tasks, 'scale'), 4, 5), 20, 'a task() reference');
  equal(await collect(px.map((x) => x * x, [1, 2, 3, 4])), [1, 4, 9, 16], 'map');
  await px.shutdown();
});

check('process: an error', async () => {
  const px = new ProcessPoolExecutor({ maxWorkers: 1 });
  const error = await rejects(
    px.submit(() => {
      throw new TypeError('from the child');
    }),
    TypeError,
    'a task that throws',
  );
  equal(error.message, 'from the child', 'message');
  await px.shutdown();
});

check('process: a crash (process.exit in a task)', async () => {
  const px = new ProcessPoolExecutor({ maxWorkers: 1 });
  await rejects(px.submit((code) => process.exit(code), 3), BrokenProcessPool, 'the crashed task');
  await px.shutdown();
  const fresh = new ProcessPoolExecutor({ maxWorkers: 1 });
  equal(await fresh.submit((x) => x + 1, 1), 2, 'a new pool');
  await fresh.shutdown();
});

check('idle executors left open (the script must still end by itself)', async () => {
  // Not shut down: an idle executor of either kind never keeps the process alive. The runner
  // reports a script that does not end.
  const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
  const px = new ProcessPoolExecutor({ maxWorkers: 1 });
  equal([await ex.submit((x) => x + 1, 1), await px.submit((x) => x * 2, 2)], [2, 4], 'results');
});

// Each check is guarded against a hang (never a verdict on speed: 60 s for checks of milliseconds).
let failures = 0;
for (const { name, body } of checks) {
  if (only !== undefined && !name.includes(only)) continue;
  let timer;
  const hang = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer in 60 s')), 60_000);
  });
  try {
    await Promise.race([body(), hang]);
    console.log(`ok   ${name}`);
  } catch (error) {
    failures++;
    console.log(`FAIL ${name} -- ${String(error?.stack ?? error).split('\n').slice(0, 3).join(' | ')}`);
  } finally {
    clearTimeout(timer);
  }
}
// A check that hung may have left work behind that keeps the process alive: end it.
if (failures > 0) process.exit(failures);

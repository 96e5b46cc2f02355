// Pool adapters shared by run.mjs, rss.mjs and large-payload-probe.mjs.
//
// Every adapter has the same shape:
//   { call(name, arg) -> Promise|thenable, close() -> Promise, raw }
// where `name` is one of the task names below and `raw` is the library's own pool
// object (for workload code that needs the library's native API, e.g. ours' map()).
// callTransfer() is `call` with ArrayBuffers moved to the worker instead of copied.
// Peers run the task bodies from benchmark/workers/; ours sends self-contained
// functions by source (OURS_FNS).
//
// 'before' (only with `run.mjs --baseline DIR`) is the same package built in another
// checkout, loaded from DIR/esm/index.mjs: it takes every code path 'ours' takes (isOurs).

import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const WORKERS_DIR = fileURLToPath(new URL('../workers/', import.meta.url));
const worker = (file) => WORKERS_DIR + file;

export const PEERS = ['piscina', 'tinypool', 'workerpool', 'poolifier'];
export const CONTENDERS = ['ours', ...PEERS];
/** The contender that runs the baseline checkout's build (see setBaseline). */
export const BEFORE = 'before';
/** Ours and the baseline run the same code; everything that special-cases ours asks this. */
export const isOurs = (contender) => contender === 'ours' || contender === BEFORE;

// The task bodies for ours, sent by source text (they must not capture anything).
export const OURS_FNS = {
  inc: (x) => x + 1,
  double: (x) => x * 2,
  fib: function fib(n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
  },
  // W5: ours receives the typed array itself (shared, not copied) plus the bounds.
  sabChunk: (a, start, end) => {
    let s = 0;
    for (let i = start; i < end; i++) s += Math.sqrt(a[i]) * Math.sin(a[i]);
    return s;
  },
  // W11: a new array of 2·a[i] + 1, copied back (scale) or moved back (scaleMoved; `move` is in
  // scope in a function sent by source).
  scale: (a) => {
    const out = new Float64Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = 2 * a[i] + 1;
    return out;
  },
  scaleMoved: (a) => {
    const out = new Float64Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = 2 * a[i] + 1;
    return move(out);
  },
  // W12: an order record -> its summary (an object of about the same size).
  summarize: (rec) => {
    let total = 0;
    let items = 0;
    const lines = rec.orders.map((o) => {
      const subtotal = o.qty * o.price;
      total += subtotal;
      items += o.qty;
      return { sku: o.sku, qty: o.qty, price: o.price, subtotal, note: o.note };
    });
    return { id: rec.id, name: rec.name, email: rec.email, city: rec.address.city, zip: rec.address.zip, tags: rec.tags, total, items, lines };
  },
};

const oursModule = {}; // contender -> undefined = not tried yet, null = failed, or the module
const oursError = { ours: '', [BEFORE]: '' };
let baseline = null; // the baseline checkout's root directory, for 'before'

/** Use the package built in `dir` (the root of a built checkout) as the contender 'before'. */
export function setBaseline(dir) {
  baseline = path.resolve(dir);
  PROCESS_MODE[BEFORE] = PROCESS_MODE.ours;
}
export const baselineDir = () => baseline;
/** The entry point 'ours' (the repo root's) or 'before' (the baseline's) is loaded from. */
export function oursEntry(which = 'ours') {
  if (which === BEFORE) return baseline ? path.join(baseline, 'esm', 'index.mjs') : null;
  return fileURLToPath(new URL('../../esm/index.mjs', import.meta.url));
}

/** Lazily import our package from the repo root (or, for 'before', from the baseline checkout);
 *  null (and a reason) if it does not load. */
export async function loadOurs(which = 'ours') {
  if (oursModule[which] !== undefined) return oursModule[which];
  try {
    if (which === BEFORE && !baseline) throw new Error("'before' needs a baseline directory (--baseline DIR)");
    const m = await import(pathToFileURL(oursEntry(which)).href);
    if (typeof m.ThreadPoolExecutor !== 'function') throw new Error('esm/index.mjs has no ThreadPoolExecutor export');
    oursModule[which] = m;
  } catch (e) {
    oursModule[which] = null;
    oursError[which] = String((e && e.message) || e).split('\n')[0];
  }
  return oursModule[which];
}
export const oursLoadError = (which = 'ours') => oursError[which];

// Peer quirks seen during the run, reported in results.json: { 'poolifier: ...': count }.
export const quirks = {};
const CLOSE_CAP_MS = 1500;

// poolifier 5.3.2's destroy() now and then never settles (about 1 pool in 5-10 here),
// although its workers are gone. Such a close is capped so that the run goes on;
// measurements are taken before the close and are not affected.
function capped(promise, who, what) {
  let t;
  const cap = new Promise((resolve) => {
    t = setTimeout(() => {
      const k = `${who}: ${what} did not settle within ${CLOSE_CAP_MS} ms`;
      quirks[k] = (quirks[k] || 0) + 1;
      resolve();
    }, CLOSE_CAP_MS);
  });
  return Promise.race([promise, cap]).finally(() => clearTimeout(t));
}

const lib = {};
async function peer(name) {
  if (!lib[name]) {
    const m = await import(name);
    lib[name] = m;
  }
  return lib[name];
}

/** Import a contender's library ahead of time, so that no timing includes module loading. */
export async function preload(contender) {
  if (isOurs(contender)) {
    if (!(await loadOurs(contender))) throw new Error(`${contender} not loadable: ${oursError[contender]}`);
  } else {
    await peer(contender);
  }
}

/** Open a thread pool of exactly `n` workers for `contender`. */
export async function openThreadPool(contender, n) {
  switch (contender) {
    case 'ours':
    case BEFORE: {
      const cf = await loadOurs(contender);
      if (!cf) throw new Error(`${contender} not loadable: ${oursError[contender]}`);
      const ex = new cf.ThreadPoolExecutor({ maxWorkers: n });
      return {
        raw: ex,
        call: (name, arg) => ex.submit(OURS_FNS[name], arg),
        close: () => ex.shutdown({ wait: true }),
        kill: () => ex.shutdown({ wait: false, cancelFutures: true }),
      };
    }
    case 'piscina': {
      const { Piscina } = await peer('piscina');
      const p = new Piscina({ filename: worker('piscina.cjs'), minThreads: n, maxThreads: n });
      return { raw: p, call: (name, arg) => p.run(arg, { name }), close: () => p.destroy() };
    }
    case 'tinypool': {
      const { Tinypool } = await peer('tinypool');
      const p = new Tinypool({ filename: worker('tinypool.mjs'), minThreads: n, maxThreads: n });
      return { raw: p, call: (name, arg) => p.run(arg, { name }), close: () => p.destroy() };
    }
    case 'workerpool': {
      const workerpool = (await peer('workerpool')).default;
      const p = workerpool.pool(worker('workerpool.cjs'), { minWorkers: n, maxWorkers: n, workerType: 'thread' });
      return { raw: p, call: (name, arg) => p.exec(name, [arg]), close: () => p.terminate(), kill: () => p.terminate(true) };
    }
    case 'poolifier': {
      const { FixedThreadPool } = await peer('poolifier');
      const p = new FixedThreadPool(n, worker('poolifier.mjs'));
      return { raw: p, call: (name, arg) => p.execute(arg, name), close: () => capped(p.destroy(), 'poolifier', 'FixedThreadPool.destroy()') };
    }
    default:
      throw new Error(`unknown contender ${contender}`);
  }
}

/** Open a process pool of exactly `n` child processes; null if the contender has none. */
export async function openProcessPool(contender, n) {
  switch (contender) {
    case 'ours':
    case BEFORE: {
      const cf = await loadOurs(contender);
      if (!cf) throw new Error(`${contender} not loadable: ${oursError[contender]}`);
      if (typeof cf.ProcessPoolExecutor !== 'function') return null;
      const ex = new cf.ProcessPoolExecutor({ maxWorkers: n });
      return {
        raw: ex,
        call: (name, arg) => ex.submit(OURS_FNS[name], arg),
        close: () => ex.shutdown({ wait: true }),
        kill: () => (ex.killWorkers ? ex.killWorkers() : ex.shutdown({ wait: false, cancelFutures: true })),
      };
    }
    case 'piscina':
      return null; // piscina has worker_threads only
    case 'tinypool': {
      const { Tinypool } = await peer('tinypool');
      const p = new Tinypool({ filename: worker('tinypool.mjs'), minThreads: n, maxThreads: n, runtime: 'child_process' });
      return { raw: p, call: (name, arg) => p.run(arg, { name }), close: () => p.destroy() };
    }
    case 'workerpool': {
      const workerpool = (await peer('workerpool')).default;
      const p = workerpool.pool(worker('workerpool.cjs'), { minWorkers: n, maxWorkers: n, workerType: 'process' });
      return { raw: p, call: (name, arg) => p.exec(name, [arg]), close: () => p.terminate(), kill: () => p.terminate(true) };
    }
    case 'poolifier': {
      const { FixedClusterPool } = await peer('poolifier');
      const p = new FixedClusterPool(n, worker('poolifier-cluster.cjs'));
      return { raw: p, call: (name, arg) => p.execute(arg, name), close: () => capped(p.destroy(), 'poolifier', 'FixedClusterPool.destroy()') };
    }
    default:
      throw new Error(`unknown contender ${contender}`);
  }
}

/**
 * `pool.call(name, arg)` on a thread pool, with the ArrayBuffers in `transfer` moved to the worker
 * (detached here) instead of copied: each library's own transfer list; ours run(fn, args, { transfer }).
 */
export function callTransfer(contender, pool, name, arg, transfer) {
  const p = pool.raw;
  switch (contender) {
    case 'ours':
    case BEFORE:
      return p.run(OURS_FNS[name], [arg], { transfer });
    case 'piscina':
    case 'tinypool':
      return p.run(arg, { name, transferList: transfer });
    case 'workerpool':
      return p.exec(name, [arg], { transfer });
    case 'poolifier':
      return p.execute(arg, name, undefined, transfer);
    default:
      throw new Error(`unknown contender ${contender}`);
  }
}

/** Which library each W8 contender uses as its process pool (for the report); setBaseline()
 *  adds 'before'. */
export const PROCESS_MODE = {
  ours: 'ProcessPoolExecutor',
  piscina: null,
  tinypool: "runtime: 'child_process'",
  workerpool: "workerType: 'process'",
  poolifier: 'FixedClusterPool',
};

/** W1 body, shared with rss.mjs: 100k tasks of x + 1, all in flight; returns the sum of results. */
export async function runW1(contender, pool, n) {
  const futures = new Array(n);
  if (isOurs(contender)) {
    const ex = pool.raw;
    for (let i = 0; i < n; i++) futures[i] = ex.submit((x) => x + 1, i);
  } else {
    for (let i = 0; i < n; i++) futures[i] = pool.call('inc', i);
  }
  const results = await Promise.all(futures);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += results[i];
  return sum;
}

/** Warm a pool up: start every worker and compile the task there (not timed). */
export async function warmUp(pool, n, name = 'inc', arg = 1) {
  await Promise.all(Array.from({ length: n * 2 }, () => pool.call(name, arg)));
}

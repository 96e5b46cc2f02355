// Pool adapters shared by run.mjs and rss.mjs.
//
// Every adapter has the same shape:
//   { call(name, arg) -> Promise|thenable, close() -> Promise, raw }
// where `name` is one of the task names below and `raw` is the library's own pool
// object (for workload code that needs the library's native API, e.g. ours' map()).
// Peers run the task bodies from benchmark/workers/; ours sends self-contained
// functions by source (OURS_FNS).

import { fileURLToPath } from 'node:url';

const WORKERS_DIR = fileURLToPath(new URL('./workers/', import.meta.url));
const worker = (file) => WORKERS_DIR + file;

export const PEERS = ['piscina', 'tinypool', 'workerpool', 'poolifier'];
export const CONTENDERS = ['ours', ...PEERS];

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
};

let oursModule; // undefined = not tried yet, null = failed
let oursError = '';

/** Lazily import our package from the repo root; null (and a reason) if it does not load. */
export async function loadOurs() {
  if (oursModule !== undefined) return oursModule;
  try {
    const m = await import(new URL('../esm/index.mjs', import.meta.url).href);
    if (typeof m.ThreadPoolExecutor !== 'function') throw new Error('esm/index.mjs has no ThreadPoolExecutor export');
    oursModule = m;
  } catch (e) {
    oursModule = null;
    oursError = String((e && e.message) || e).split('\n')[0];
  }
  return oursModule;
}
export const oursLoadError = () => oursError;

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
  if (contender === 'ours') {
    if (!(await loadOurs())) throw new Error(`ours not loadable: ${oursError}`);
  } else {
    await peer(contender);
  }
}

/** Open a thread pool of exactly `n` workers for `contender`. */
export async function openThreadPool(contender, n) {
  switch (contender) {
    case 'ours': {
      const cf = await loadOurs();
      if (!cf) throw new Error(`ours not loadable: ${oursError}`);
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
    case 'ours': {
      const cf = await loadOurs();
      if (!cf) throw new Error(`ours not loadable: ${oursError}`);
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

/** Which library each W8 contender uses as its process pool (for the report). */
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
  if (contender === 'ours') {
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

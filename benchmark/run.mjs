#!/usr/bin/env node
// concurrent-futures benchmark harness. See benchmark/README.md.
//
//   node benchmark/run.mjs [--quick] [--only W1,W2] [--contenders ours,piscina,...]
//                          [--workers N] [--reps N] [--out FILE.json]
//
// Compares our ThreadPoolExecutor / ProcessPoolExecutor (../esm/index.mjs) with
// piscina, tinypool, workerpool and poolifier on workloads W1..W8, with the same
// worker count for everyone. Contenders alternate within each repetition (the start
// rotates from one repetition to the next) and every sample uses a fresh pool whose
// workers are started and warmed up before the clock starts (except W6, which times
// exactly that). Progress goes to stderr; one table goes to stdout; results are
// written to benchmark/results.json and benchmark/results.svg.

import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import {
  CONTENDERS,
  OURS_FNS,
  PROCESS_MODE,
  loadOurs,
  oursLoadError,
  openProcessPool,
  openThreadPool,
  preload,
  quirks,
  runW1,
  warmUp,
} from './pools.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const T_START = performance.now();
const LOAD_START = os.loadavg().map((x) => Number(x.toFixed(2)));

// ---------------------------------------------------------------- command line
function parseArgs(argv) {
  const o = { quick: false, only: null, contenders: [...CONTENDERS], workers: os.availableParallelism(), reps: null, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) usage(`missing value for ${a}`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a.startsWith('--only')) o.only = val().split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
    else if (a.startsWith('--contenders')) o.contenders = val().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a.startsWith('--workers')) o.workers = Number(val());
    else if (a.startsWith('--reps')) o.reps = Number(val());
    else if (a.startsWith('--out')) o.out = path.resolve(val());
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  for (const c of o.contenders) if (!CONTENDERS.includes(c)) usage(`unknown contender ${c} (known: ${CONTENDERS.join(', ')})`);
  if (!Number.isInteger(o.workers) || o.workers < 1) usage('--workers must be a positive integer');
  if (o.reps !== null && (!Number.isInteger(o.reps) || o.reps < 1)) usage('--reps must be a positive integer');
  return o;
}
function usage(msg) {
  if (msg) console.error(`run.mjs: ${msg}`);
  console.error(
    'usage: node benchmark/run.mjs [--quick] [--only W1,W2,...] [--contenders ' +
      CONTENDERS.join(',') +
      '] [--workers N] [--reps N] [--out results.json]',
  );
  process.exit(msg ? 2 : 0);
}
const opts = parseArgs(process.argv.slice(2));
const N = opts.workers;
const Q = opts.quick;

// ---------------------------------------------------------------- helpers
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const now = () => performance.now();
const log = (s) => process.stderr.write(s + '\n');
const elapsed = () => ((now() - T_START) / 1000).toFixed(0).padStart(4) + 's';
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const errMsg = (e) => String((e && e.message) || e).split('\n')[0];

class SampleTimeout extends Error {}
function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new SampleTimeout(`${what} timed out after ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

// Every pool opened by a sample is tracked, so that a sample that times out or throws
// still gets its pool torn down and the process can exit.
const livePools = new Set();
async function open(kind, contender) {
  const p = kind === 'process' ? await openProcessPool(contender, N) : await openThreadPool(contender, N);
  if (p) livePools.add(p);
  return p;
}
async function close(p) {
  if (!p) return;
  livePools.delete(p);
  await p.close();
}
async function killAll() {
  for (const p of [...livePools]) {
    livePools.delete(p);
    try {
      await withTimeout(Promise.resolve((p.kill || p.close)()), 10_000, 'tearing a pool down');
    } catch (e) {
      log(`  ! could not tear a pool down: ${errMsg(e)}`);
    }
  }
}
/** W5's ceiling: N bare worker_threads each sum one equal share (the second time: warm); ms from the posts to the last reply. */
async function bareThreadsW5(sab) {
  const source = `const { parentPort, workerData } = require('node:worker_threads');
const a = new Float64Array(workerData);
const sum = ${OURS_FNS.sabChunk.toString()};
parentPort.on('message', ([s, e]) => parentPort.postMessage(sum(a, s, e)));`;
  return withBareThreads(source, sab, async (call) => {
    const share = W5_LEN / N;
    const run = () => Promise.all(Array.from({ length: N }, (_, k) => call(k, [Math.floor(k * share), Math.floor((k + 1) * share)])));
    await run(); // untimed: every thread's loop fully optimized, as it would be after many chunks
    const t0 = now();
    const parts = await run();
    const dt = now() - t0;
    WORKLOADS.find((wl) => wl.id === 'W5').check(parts.reduce((a, b) => a + b, 0));
    return dt;
  });
}

/** Starts N bare worker_threads from `source`, runs `body(call)` where `call(k, message)` posts to
 *  thread k and resolves with its reply, and always ends the threads. */
async function withBareThreads(source, workerData, body) {
  const workers = Array.from({ length: N }, () => new Worker(source, { eval: true, workerData }));
  const call = (k, message) => new Promise((resolve, reject) => {
    workers[k].once('message', resolve);
    workers[k].once('error', reject);
    workers[k].postMessage(message);
  });
  try {
    return await body(call);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** W4's ceiling: N bare worker_threads that take task indices from one shared counter (the best
 *  dynamic split, with no queue, messages or promises per task), warmed up like the pools; ms
 *  from the posts to the last reply. */
async function bareThreadsW4(tasks, n) {
  const source = `const { parentPort } = require('node:worker_threads');
const fib = ${OURS_FNS.fib.toString()};
parentPort.on('message', ({ counter, tasks, n }) => {
  const next = new Int32Array(counter);
  let sum = 0;
  while (Atomics.add(next, 0, 1) < tasks) sum += fib(n);
  parentPort.postMessage(sum);
});`;
  return withBareThreads(source, undefined, async (call) => {
    const run = (count, arg) => {
      const counter = new SharedArrayBuffer(4);
      return Promise.all(Array.from({ length: N }, (_, k) => call(k, { counter, tasks: count, n: arg })));
    };
    await run(N * 2, 20); // as `warmUp(p, N, 'fib', 20)` warms the pools
    const t0 = now();
    const sums = await run(tasks, n);
    const dt = now() - t0;
    if (sums.reduce((a, b) => a + b, 0) !== tasks * fibLocal(n)) throw new Error('wrong fib result');
    return dt;
  });
}

/** Open a pool, warm it up, run `body(pool)`, always close it. */
async function withPool(kind, contender, warm, body) {
  const p = await open(kind, contender);
  try {
    await warm(p);
    return await body(p);
  } finally {
    await close(p);
  }
}

function runNode(args, timeoutMs) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() || '';
      let j;
      try {
        j = JSON.parse(line);
      } catch {
        return reject(new Error(`${err ? errMsg(err) : 'no JSON output'}${stderr ? ': ' + stderr.trim().split('\n').pop() : ''}`));
      }
      if (j.error) return reject(new Error(j.error));
      resolve(j);
    });
  });
}
function runPython(args, timeoutMs) {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      try {
        const j = JSON.parse(stdout.trim().split('\n').pop());
        if (j.error) return reject(new Error(j.error));
        resolve(j);
      } catch {
        reject(new Error(`python failed: ${err ? errMsg(err) : ''} ${stderr.trim().split('\n').pop() || ''}`));
      }
    });
  });
}
let PYTHON = null;
let PYTHON_VERSION = null;
for (const cand of ['python3', 'python']) {
  try {
    const v = execFileSync(cand, ['-c', 'import sys, concurrent.futures; print(sys.version.split()[0])'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (v.startsWith('3.')) {
      PYTHON = cand;
      PYTHON_VERSION = v;
      break;
    }
  } catch {}
}

// Figures: formatting for the table and progress lines.
function fmtRate(x) {
  if (x >= 1e9) return (x / 1e9).toFixed(2) + 'G/s';
  if (x >= 1e6) return (x / 1e6).toFixed(2) + 'M/s';
  if (x >= 1e3) return (x / 1e3).toFixed(1) + 'k/s';
  return x.toFixed(0) + '/s';
}
const fmt = {
  rate: fmtRate,
  us: (x) => (x < 10 ? x.toFixed(2) : x.toFixed(1)) + ' µs',
  ms: (x) => (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0)) + ' ms',
  mb: (x) => x.toFixed(1) + ' MB',
  x: (x) => x.toFixed(2) + '×',
};

// ---------------------------------------------------------------- workloads
// Each workload: sample(contender) -> raw number (in `unit`), reference() -> raw number
// or undefined, figure(raw median, ctx) -> the number shown in the table.
// `better` says which direction of the figure is better, for the ratios.

function fibLocal(n) {
  return n < 2 ? n : fibLocal(n - 1) + fibLocal(n - 2);
}

const W3_BATCH = 10_000;
const W5_LEN = 1 << 24;
const W5_CHUNKS = 64;
let w3Input = null;
let w5 = null; // { sab, f64, bounds, expected }
const refMedian = {}; // workload id -> reference median (for derived figures)

const WORKLOADS = [
  {
    id: 'W1',
    title: '100k tasks x+1, all in flight',
    metric: 'tasks/s',
    unit: 'tasks/s',
    better: 'higher',
    reps: Q ? 1 : 3,
    timeoutMs: 180_000,
    params: { tasks: 100_000 },
    fmt: fmt.rate,
    async sample(c) {
      const n = this.params.tasks;
      return withPool('thread', c, (p) => warmUp(p, N, 'inc'), async (p) => {
        const t0 = now();
        const sum = await runW1(c, p, n);
        const dt = now() - t0;
        if (sum !== (n * (n + 1)) / 2) throw new Error(`wrong sum ${sum}`);
        return (n / dt) * 1000;
      });
    },
  },
  {
    id: 'W2',
    title: '5,000 sequential round trips',
    metric: 'µs per round trip',
    unit: 'µs',
    better: 'lower',
    reps: Q ? 2 : 5,
    timeoutMs: 120_000,
    params: { roundTrips: 5_000 },
    fmt: fmt.us,
    async sample(c) {
      const n = this.params.roundTrips;
      return withPool('thread', c, (p) => warmUp(p, N, 'inc'), async (p) => {
        let acc = 0;
        const t0 = now();
        for (let i = 0; i < n; i++) acc += await p.call('inc', i);
        const dt = now() - t0;
        if (acc !== (n * (n + 1)) / 2) throw new Error(`wrong sum ${acc}`);
        return (dt * 1000) / n;
      });
    },
  },
  {
    id: 'W3',
    title: `map x*2 over ${Q ? '100k' : '1M'} items`,
    metric: 'items/s',
    unit: 'items/s',
    better: 'higher',
    reps: Q ? 1 : 2,
    timeoutMs: 360_000,
    params: { items: Q ? 100_000 : 1_000_000, peerBatch: W3_BATCH },
    // ours' map() chunks by default (chunksize 'auto'); this variant sends one task per
    // item, as the peers do. Reported beside the table, not in it.
    variants: { 'ours chunksize=1': 'ours' },
    refLabel: 'plain loop',
    fmt: fmt.rate,
    setup() {
      const n = this.params.items;
      w3Input = Array.from({ length: n }, (_, i) => i);
    },
    teardown() {
      w3Input = null;
    },
    check(sum) {
      const n = this.params.items;
      if (sum !== n * (n - 1)) throw new Error(`wrong sum ${sum}`);
    },
    async sample(c) {
      const input = w3Input;
      const n = input.length;
      const lib = this.variants[c] || c;
      return withPool('thread', lib, (p) => warmUp(p, N, 'double'), async (p) => {
        let sum = 0;
        const t0 = now();
        if (c === 'ours') {
          for await (const r of p.raw.map((x) => x * 2, input)) sum += r;
        } else if (c === 'ours chunksize=1') {
          for await (const r of p.raw.map((x) => x * 2, input, { chunksize: 1 })) sum += r;
        } else {
          // One task per item, all in flight -- in batches of W3_BATCH, because
          // tinypool and workerpool slow down quadratically with 1M tasks queued.
          for (let b = 0; b < n; b += W3_BATCH) {
            const e = Math.min(n, b + W3_BATCH);
            const fs = new Array(e - b);
            for (let i = b; i < e; i++) fs[i - b] = p.call('double', input[i]);
            const rs = await Promise.all(fs);
            for (let i = 0; i < rs.length; i++) sum += rs[i];
          }
        }
        const dt = now() - t0;
        this.check(sum);
        return (n / dt) * 1000;
      });
    },
    async reference() {
      const input = w3Input;
      const n = input.length;
      const out = new Array(n);
      const t0 = now();
      for (let i = 0; i < n; i++) out[i] = input[i] * 2;
      let sum = 0;
      for (let i = 0; i < n; i++) sum += out[i];
      const dt = now() - t0;
      this.check(sum);
      return (n / dt) * 1000;
    },
  },
  {
    id: 'W4',
    title: '40 × fib(30), CPU-bound',
    metric: 'wall ms (parallel efficiency)',
    unit: 'ms',
    better: 'lower',
    reps: Q ? 2 : 9, // CPU-bound on a shared VM: the noisiest figures
    timeoutMs: 120_000,
    params: { tasks: 40, n: 30 },
    refLabel: '1 thread',
    fmt: fmt.ms,
    // The ceiling of this machine: N bare worker_threads pulling the 40 calls from a shared
    // counter. Its efficiency shows what the cores deliver when both compute at once.
    variants: { 'bare threads': 'ours' },
    variantNote: (v, r) =>
      `W4 ${v} (${N} worker_threads taking the calls from a shared counter, no pool: the machine's ceiling): ${fmt.ms(r.figure)}` +
      (r.efficiency !== undefined ? ` ${(r.efficiency * 100).toFixed(0)}%.` : '.'),
    async sample(c) {
      const { tasks, n } = this.params;
      if (c === 'bare threads') return bareThreadsW4(tasks, n);
      const expect = fibLocal(n);
      return withPool('thread', c, (p) => warmUp(p, N, 'fib', 20), async (p) => {
        const t0 = now();
        const rs = await Promise.all(Array.from({ length: tasks }, () => p.call('fib', n)));
        const dt = now() - t0;
        if (rs.some((r) => r !== expect)) throw new Error('wrong fib result');
        return dt;
      });
    },
    async reference() {
      const { tasks, n } = this.params;
      fibLocal(20);
      const t0 = now();
      let s = 0;
      for (let i = 0; i < tasks; i++) s += fibLocal(n);
      const dt = now() - t0;
      if (s !== tasks * fibLocal(n)) throw new Error('wrong fib result');
      return dt;
    },
    // parallel efficiency = t1 / (workers * tN)
    extra(medianMs) {
      const t1 = refMedian.W4;
      return t1 ? { efficiency: t1 / (N * medianMs) } : {};
    },
    cellSuffix(r) {
      return r.efficiency !== undefined ? ` ${(r.efficiency * 100).toFixed(0)}%` : '';
    },
  },
  {
    id: 'W5',
    title: 'Σ sqrt·sin over 2^24 f64 on a SAB, 64 chunks',
    metric: 'speed-up vs 1 thread',
    unit: 'ms',
    better: 'higher', // of the figure (speed-up)
    reps: Q ? 2 : 9, // CPU-bound on a shared VM: the noisiest figures
    timeoutMs: 120_000,
    params: { length: W5_LEN, chunks: W5_CHUNKS },
    refLabel: '1 thread',
    fmt: fmt.x,
    sampleFmt: fmt.ms, // samples are wall times; the figure is t1 / tN
    // The ceiling no pool can pass: N bare worker_threads, one message each, with an equal
    // contiguous share of the array (no queue, no chunking, no imbalance).
    variants: { 'bare threads': 'ours' },
    variantNote: (v, r) => `W5 ${v} (${N} worker_threads given one equal share each, no pool: the machine's ceiling): ${fmt.x(r.figure)}.`,
    setup() {
      const sab = new SharedArrayBuffer(W5_LEN * 8);
      const f64 = new Float64Array(sab);
      let seed = 12345;
      for (let i = 0; i < W5_LEN; i++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        f64[i] = (seed / 4294967296) * 1000;
      }
      const step = W5_LEN / W5_CHUNKS;
      const bounds = Array.from({ length: W5_CHUNKS }, (_, k) => [k * step, (k + 1) * step]);
      w5 = { sab, f64, bounds, expected: null };
      w5.expected = this.single();
    },
    teardown() {
      w5 = null;
    },
    single() {
      let total = 0;
      for (const [s, e] of w5.bounds) total += OURS_FNS.sabChunk(w5.f64, s, e);
      return total;
    },
    check(total) {
      if (Math.abs(total - w5.expected) > 1e-6 * Math.abs(w5.expected)) throw new Error(`wrong sum ${total} != ${w5.expected}`);
    },
    async sample(c) {
      const { sab, f64, bounds } = w5;
      if (c === 'bare threads') return bareThreadsW5(sab);
      // Warm-up chunks of the timed size, so that every worker's loop is optimized, as it is for
      // the 1-thread reference and the bare-threads ceiling: the timing is the pool's, not V8's
      // tiering in a fresh isolate (about 3 ms per worker, paid alike by every pool).
      const [s0, e0] = bounds[0];
      const warm = (p) =>
        Promise.all(
          Array.from({ length: N * 2 }, () => (c === 'ours' ? p.raw.submit(OURS_FNS.sabChunk, f64, s0, e0) : p.call('sabChunk', { sab, start: s0, end: e0 }))),
        );
      return withPool('thread', c, warm, async (p) => {
        const t0 = now();
        const parts =
          c === 'ours'
            ? await Promise.all(bounds.map(([s, e]) => p.raw.submit(OURS_FNS.sabChunk, f64, s, e)))
            : await Promise.all(bounds.map(([s, e]) => p.call('sabChunk', { sab, start: s, end: e })));
        const dt = now() - t0;
        let total = 0;
        for (const x of parts) total += x;
        this.check(total);
        return dt;
      });
    },
    async reference() {
      const t0 = now();
      const total = this.single();
      const dt = now() - t0;
      this.check(total);
      return dt;
    },
    // the figure is the speed-up t1 / tN, from the medians
    figure(medianMs) {
      return refMedian.W5 ? refMedian.W5 / medianMs : NaN;
    },
    refFigure() {
      return 1;
    },
  },
  {
    id: 'W6',
    title: 'new pool → first result',
    metric: 'ms',
    unit: 'ms',
    better: 'lower',
    reps: Q ? 3 : 7,
    timeoutMs: 30_000,
    params: { note: 'one untimed open/close per contender first (module loading, file cache)' },
    fmt: fmt.ms,
    async setup() {
      for (const c of this.contenders) {
        try {
          await preload(c);
          await withTimeout(this.once(c), this.timeoutMs, `${c} warm-up`);
        } catch {
          await killAll();
        }
      }
    },
    async once(c) {
      const t0 = now();
      const p = await open('thread', c);
      try {
        const r = await p.call('inc', 41);
        const dt = now() - t0;
        if (r !== 42) throw new Error(`wrong result ${r}`);
        return dt;
      } finally {
        await close(p);
      }
    },
    sample(c) {
      return this.once(c);
    },
  },
  {
    id: 'W7',
    title: 'process RSS with 2 workers after W1',
    metric: 'MB',
    unit: 'MB',
    better: 'lower',
    reps: Q ? 1 : 2,
    timeoutMs: 180_000,
    params: { tasks: 100_000, how: 'node --expose-gc benchmark/rss.mjs <contender>, one fresh process per sample' },
    refLabel: 'bare node',
    fmt: fmt.mb,
    async probe(who) {
      const j = await runNode(['--expose-gc', path.join(HERE, 'rss.mjs'), who, '--workers', String(N), '--tasks', String(this.params.tasks)], this.timeoutMs);
      return j;
    },
    async sample(c) {
      const j = await this.probe(c);
      (this.peaks[c] ||= []).push(j.peakRssMB);
      return j.rssMB;
    },
    async reference() {
      return (await this.probe('none')).rssMB;
    },
    setup() {
      this.peaks = {};
    },
    extra(_m, c) {
      return this.peaks[c] ? { peakRssMB: median(this.peaks[c]), peakSamples: this.peaks[c] } : {};
    },
  },
  {
    id: 'W8',
    title: 'process pool: 10k tiny tasks in flight',
    metric: 'tasks/s',
    unit: 'tasks/s',
    better: 'higher',
    reps: Q ? 2 : 5,
    timeoutMs: 120_000,
    params: { tasks: 10_000, modes: PROCESS_MODE },
    refLabel: 'CPython',
    ratioBase: 'reference',
    fmt: fmt.rate,
    async skip(c) {
      if (c === 'piscina') return 'piscina has no process mode';
      if (c === 'ours') {
        const cf = await loadOurs();
        if (cf && typeof cf.ProcessPoolExecutor !== 'function') return 'ProcessPoolExecutor is not exported (yet)';
      }
      return null;
    },
    async sample(c) {
      const n = this.params.tasks;
      const p = await open('process', c);
      try {
        await warmUp(p, N, 'inc');
        const t0 = now();
        const fs = new Array(n);
        for (let i = 0; i < n; i++) fs[i] = p.call('inc', i);
        const rs = await Promise.all(fs);
        const dt = now() - t0;
        let sum = 0;
        for (const r of rs) sum += r;
        if (sum !== (n * (n + 1)) / 2) throw new Error(`wrong sum ${sum}`);
        return (n / dt) * 1000;
      } finally {
        await close(p);
      }
    },
    async reference() {
      if (!PYTHON) return undefined;
      const j = await runPython([path.join(HERE, 'py_w8.py'), '--workers', String(N), '--tasks', String(this.params.tasks)], this.timeoutMs);
      this.pyInfo = { python: j.python, startMethod: j.start_method };
      return j.tasks_per_s;
    },
  },
];

// ---------------------------------------------------------------- driver
const ids = WORKLOADS.map((w) => w.id);
for (const id of opts.only || []) if (!ids.includes(id)) usage(`unknown workload ${id} (known: ${ids.join(', ')})`);
const selected = WORKLOADS.filter((w) => !opts.only || opts.only.includes(w.id));

let contenders = [...opts.contenders];
let oursSkip = null;
if (contenders.includes('ours')) {
  if (!(await loadOurs())) {
    oursSkip = `cannot load ../esm/index.mjs: ${oursLoadError()} (build the package first: npm run build)`;
    log(`[bench] skipping 'ours' — ${oursSkip}`);
    contenders = contenders.filter((c) => c !== 'ours');
  }
}
for (const c of contenders) await preload(c);

// Sanity check: ours must really run tasks off the main thread (threadId 0).
let oursThreadCheck = null;
if (contenders.includes('ours') && typeof process.getBuiltinModule === 'function') {
  try {
    const cf = await loadOurs();
    const ex = new cf.ThreadPoolExecutor({ maxWorkers: 1 });
    const tid = await withTimeout(Promise.resolve(ex.submit(() => process.getBuiltinModule('node:worker_threads').threadId)), 30_000, 'ours sanity check');
    await ex.shutdown();
    if (tid === 0) oursThreadCheck = 'ours ran a task on the main thread (threadId 0)';
  } catch (e) {
    oursThreadCheck = `ours sanity check failed: ${errMsg(e)}`;
  }
  if (oursThreadCheck) log(`[bench] warning: ${oursThreadCheck}`);
}

log(
  `[bench] node ${process.version}, ${os.availableParallelism()} CPUs, ${N} workers, ${Q ? 'quick' : 'full'} run; ` +
    `contenders: ${contenders.join(', ') || '(none)'}; workloads: ${selected.map((w) => w.id).join(', ')}` +
    (PYTHON ? `; CPython ${PYTHON_VERSION}` : '; no python3 (W8 reference skipped)'),
);

const results = {};
for (const wl of selected) {
  const tWl = now();
  wl.contenders = contenders;
  const reps = opts.reps ?? wl.reps;
  const res = { id: wl.id, title: wl.title, metric: wl.metric, unit: wl.unit, better: wl.better, params: wl.params, reps, ratioBase: wl.ratioBase === 'reference' ? 'reference' : 'piscina', contenders: {} };
  results[wl.id] = res;
  log(`[${elapsed()}] ${wl.id} ${wl.title} — ${reps} rep${reps > 1 ? 's' : ''}`);

  const samples = {};
  const failed = {};
  for (const c of contenders) {
    const why = wl.skip ? await wl.skip(c) : null;
    if (why) {
      failed[c] = { skipped: why };
      log(`  - ${c}: skipped (${why})`);
    }
  }
  if (oursSkip && opts.contenders.includes('ours')) failed.ours = { skipped: oursSkip };

  try {
    if (wl.setup) await wl.setup();
  } catch (e) {
    log(`  ! setup failed: ${errMsg(e)}`);
    res.error = errMsg(e);
    continue;
  }
  const variants = Object.entries(wl.variants || {}).filter(([, base]) => contenders.includes(base) && !failed[base]).map(([v]) => v);
  const players = [...contenders.filter((c) => !failed[c]), ...variants, ...(wl.reference ? ['reference'] : [])];
  for (let rep = 0; rep < reps; rep++) {
    const order = players.map((_, i) => players[(i + rep) % players.length]);
    for (const c of order) {
      if (failed[c]) continue;
      gc();
      await sleep(20);
      const label = c === 'reference' ? wl.refLabel : c;
      try {
        const run = c === 'reference' ? wl.reference() : wl.sample(c);
        const v = await withTimeout(run, wl.timeoutMs, `${wl.id} ${label}`);
        if (v === undefined) {
          failed[c] = { skipped: 'not available' };
          continue;
        }
        (samples[c] ||= []).push(v);
        log(`  [${elapsed()}] ${wl.id} ${rep + 1}/${reps} ${label.padEnd(10)} ${(wl.sampleFmt || wl.fmt)(v)}`);
      } catch (e) {
        failed[c] = { error: errMsg(e) };
        log(`  ! ${wl.id} ${label}: ${errMsg(e)}`);
        if (e instanceof SampleTimeout) await killAll();
      }
    }
  }
  await killAll();

  // medians, derived figures, ratios
  if (samples.reference) {
    refMedian[wl.id] = median(samples.reference);
    res.reference = { label: wl.refLabel, median: refMedian[wl.id], samples: samples.reference };
    res.reference.figure = wl.refFigure ? wl.refFigure() : refMedian[wl.id];
    if (wl.id === 'W8' && wl.pyInfo) Object.assign(res.reference, wl.pyInfo);
  } else if (wl.reference) {
    res.reference = { label: wl.refLabel, ...(failed.reference || { skipped: 'no samples' }) };
  }
  for (const c of opts.contenders) {
    if (samples[c]) {
      const m = median(samples[c]);
      res.contenders[c] = { median: m, samples: samples[c], figure: wl.figure ? wl.figure(m) : m, ...(wl.extra ? wl.extra(m, c) : {}) };
      if (failed[c]) res.contenders[c].error = failed[c].error;
    } else {
      res.contenders[c] = failed[c] || { skipped: 'no samples' };
    }
  }
  for (const v of variants) {
    if (samples[v]) {
      const m = median(samples[v]);
      (res.variants ||= {})[v] = { median: m, samples: samples[v], figure: wl.figure ? wl.figure(m) : m, ...(wl.extra ? wl.extra(m, v) : {}) };
    } else (res.variants ||= {})[v] = failed[v] || { skipped: 'no samples' };
  }
  const base = res.ratioBase === 'reference' ? res.reference?.figure : res.contenders.piscina?.figure;
  for (const r of [...Object.values(res.contenders), ...Object.values(res.variants || {})]) {
    if (r.figure !== undefined && base) r.ratio = wl.better === 'higher' ? r.figure / base : base / r.figure;
  }
  try {
    if (wl.teardown) await wl.teardown();
  } catch {}
  gc();
  log(`  ${wl.id} done in ${((now() - tWl) / 1000).toFixed(1)} s`);
}

// ---------------------------------------------------------------- report
const totalS = (now() - T_START) / 1000;
const require = createRequire(import.meta.url);
const peerVersions = {};
for (const p of ['piscina', 'tinypool', 'workerpool', 'poolifier']) {
  try {
    peerVersions[p] = JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve(p)).split(`${path.sep}node_modules${path.sep}${p}`)[0], 'node_modules', p, 'package.json'), 'utf8')).version;
  } catch {
    peerVersions[p] = null;
  }
}
let oursVersion = null;
try {
  oursVersion = JSON.parse(fs.readFileSync(path.join(HERE, '..', 'package.json'), 'utf8')).version;
} catch {}

const meta = {
  date: new Date().toISOString(),
  node: process.version,
  v8: process.versions.v8,
  platform: `${process.platform}-${process.arch}`,
  cpus: os.availableParallelism(),
  cpuModel: os.cpus()[0]?.model ?? null,
  totalMemMB: Math.round(os.totalmem() / 1024 / 1024),
  workers: N,
  mode: Q ? 'quick' : 'full',
  only: opts.only,
  contenders: opts.contenders,
  oursLoaded: !oursSkip,
  oursError: oursSkip,
  oursThreadCheck: oursThreadCheck || 'ok: tasks run on worker threads',
  versions: { 'concurrent-futures': oursVersion, ...peerVersions, python: PYTHON_VERSION },
  ratio: 'relative performance vs piscina (W8: vs CPython); > 1 means better than the base, whichever direction the metric goes',
  durationS: Number(totalS.toFixed(1)),
  loadAvg: { start: LOAD_START, end: os.loadavg().map((x) => Number(x.toFixed(2))) },
  peerQuirks: quirks,
};

// The table
const cols = opts.contenders;
const header = ['Workload', 'Metric', ...cols, 'Reference'];
const rows = [];
for (const wl of selected) {
  const res = results[wl.id];
  const row = [`${wl.id} ${wl.title}`, wl.metric];
  for (const c of cols) {
    const r = res.contenders[c];
    if (!r || r.figure === undefined) {
      row.push(r?.skipped ? (r.skipped.startsWith('piscina has no') ? 'n/a' : 'skipped') : r?.error ? 'failed' : '—');
      continue;
    }
    let cell = wl.fmt(r.figure) + (wl.cellSuffix ? wl.cellSuffix(r) : '');
    if (r.ratio !== undefined) cell += ` (${r.ratio.toFixed(2)}×)`;
    row.push(cell);
  }
  const ref = res.reference;
  row.push(ref && ref.figure !== undefined ? `${ref.label} ${wl.fmt(ref.figure)}` : ref ? `${ref.label} —` : '');
  rows.push(row);
}
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
const table = [
  line(header),
  '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|',
  ...rows.map(line),
].join('\n');
const notes = [
  `node ${process.version}, ${meta.cpus} CPUs (${meta.cpuModel}), ${N} workers everywhere, ${meta.mode} run, ${totalS.toFixed(0)} s.`,
  '(×r) = relative performance vs piscina, > 1 is better (for µs/ms/MB it is piscina / contender); W8 is vs CPython\'s ProcessPoolExecutor.',
];
const has = (id) => selected.some((w) => w.id === id);
if (has('W4')) notes.push('W4 cell: wall time and parallel efficiency t1 / (workers · tN), t1 = the same 40 calls on the main thread.');
if (has('W5')) notes.push('W5 cell: speed-up t1 / tN over the same 64 chunks summed on the main thread.');
if (has('W8'))
  notes.push('W8 runs process pools: ' + Object.entries(PROCESS_MODE).filter(([k, v]) => v && cols.includes(k)).map(([k, v]) => `${k} ${v}`).join(', ') + '; CPython = concurrent.futures.ProcessPoolExecutor, submit() per task.');
for (const wl of selected)
  for (const [v, r] of Object.entries(results[wl.id].variants || {}))
    if (r.figure !== undefined)
      notes.push(
        wl.variantNote
          ? wl.variantNote(v, r)
          : `${wl.id} ${v} (one task per item, like the peers): ${wl.fmt(r.figure)}${r.ratio !== undefined ? ` (${r.ratio.toFixed(2)}× piscina)` : ''}; the 'ours' column uses map()'s default chunksize 'auto'.`,
      );
if (oursSkip) notes.push(`ours skipped: ${oursSkip}`);
if (oursThreadCheck) notes.push(`warning: ${oursThreadCheck}`);
for (const [k, v] of Object.entries(quirks)) notes.push(`quirk: ${k} (${v}×)`);
if (LOAD_START[0] > meta.cpus * 0.5)
  notes.push(`note: the machine was already busy when the run started (1-min load average ${LOAD_START[0]} on ${meta.cpus} CPUs): figures are noisy.`);
for (const [id, res] of Object.entries(results))
  for (const [c, r] of Object.entries(res.contenders)) if (r.error) notes.push(`${id} ${c} failed: ${r.error}`);
console.log('\n' + table + '\n\n' + notes.join('\n'));

// results.json + results.svg
const outJson = opts.out || path.join(HERE, 'results.json');
const outSvg = outJson.replace(/\.json$/i, '') + '.svg';
fs.writeFileSync(outJson, JSON.stringify({ meta, workloads: results }, null, 2) + '\n');
fs.writeFileSync(outSvg, svgChart(results, meta));
log(`[bench] wrote ${path.relative(process.cwd(), outJson)} and ${path.relative(process.cwd(), outSvg)} — total ${totalS.toFixed(1)} s`);

// Nothing should be left running; if something still holds the loop open, say so and leave.
setTimeout(() => {
  log('[bench] warning: something kept the process alive after all pools were closed; exiting');
  process.exit(0);
}, 10_000).unref();

// ---------------------------------------------------------------- SVG
function svgChart(results, meta) {
  const COLORS = { ours: '#d62728', piscina: '#1f77b4', tinypool: '#2ca02c', workerpool: '#ff7f0e', poolifier: '#9467bd' };
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const wls = Object.values(results);
  const cs = meta.contenders;
  const ratios = [];
  for (const w of wls) for (const c of cs) if (w.contenders[c]?.ratio > 0) ratios.push(w.contenders[c].ratio);
  const logs = ratios.map((r) => Math.log2(r));
  const lo = Math.max(-6, Math.min(-1, ...logs.map((l) => Math.floor(l - 0.2))));
  const hi = Math.min(7, Math.max(1, ...logs.map((l) => Math.ceil(l + 0.2))));
  const W = Math.max(760, 110 * wls.length + 90);
  const H = 440;
  const L = 60, R = 20, T = 56, B = 96;
  const pw = W - L - R, ph = H - T - B;
  const y = (r) => T + ph - ((Math.max(lo, Math.min(hi, Math.log2(r))) - lo) / (hi - lo)) * ph;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">concurrent-futures (ours) vs peers: performance relative to piscina (W8: to CPython)</text>`);
  out.push(`<text x="${W / 2}" y="40" text-anchor="middle" font-size="11" fill="#555">higher is better · log scale · node ${esc(meta.node)}, ${meta.cpus} CPUs, ${meta.workers} workers, ${esc(meta.mode)} run, ${esc(meta.date.slice(0, 10))}</text>`);
  // grid
  for (let k = lo; k <= hi; k++) {
    const r = 2 ** k;
    const yy = y(r).toFixed(1);
    out.push(`<line x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}" stroke="${k === 0 ? '#333' : '#ddd'}" stroke-width="${k === 0 ? 1.2 : 1}"/>`);
    out.push(`<text x="${L - 6}" y="${(+yy + 4).toFixed(1)}" text-anchor="end" font-size="10" fill="#555">${r >= 1 ? r + '×' : '1/' + 2 ** -k + '×'}</text>`);
  }
  // bars
  const gw = pw / Math.max(1, wls.length);
  const bw = Math.min(22, (gw - 14) / Math.max(1, cs.length));
  wls.forEach((w, gi) => {
    const gx = L + gi * gw + (gw - bw * cs.length) / 2;
    cs.forEach((c, ci) => {
      const r = w.contenders[c]?.ratio;
      const x = gx + ci * bw;
      if (!(r > 0)) {
        out.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${(y(1) - 4).toFixed(1)}" text-anchor="middle" font-size="8" fill="#999">–</text>`);
        return;
      }
      const y0 = y(1), y1 = y(r);
      const top = Math.min(y0, y1), h = Math.max(1, Math.abs(y1 - y0));
      out.push(`<rect x="${(x + 1).toFixed(1)}" y="${top.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[c] || '#777'}"><title>${esc(`${w.id} ${c}: ${r.toFixed(3)}×`)}</title></rect>`);
      const ly = r >= 1 ? top - 3 : top + h + 9;
      out.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${ly.toFixed(1)}" text-anchor="middle" font-size="8" fill="#333">${r >= 10 ? r.toFixed(0) : r.toFixed(r >= 1 ? 2 : 2).replace(/^0/, '')}</text>`);
    });
    const cx = L + gi * gw + gw / 2;
    out.push(`<text x="${cx.toFixed(1)}" y="${H - B + 18}" text-anchor="middle" font-size="12" font-weight="bold">${esc(w.id)}</text>`);
    const words = w.title.split(' ');
    let lineTxt = '', lines = [];
    for (const word of words) {
      if ((lineTxt + ' ' + word).trim().length > Math.max(12, Math.floor(gw / 6))) {
        lines.push(lineTxt.trim());
        lineTxt = word;
      } else lineTxt += ' ' + word;
    }
    lines.push(lineTxt.trim());
    lines.slice(0, 3).forEach((t, i) => out.push(`<text x="${cx.toFixed(1)}" y="${H - B + 31 + i * 11}" text-anchor="middle" font-size="9" fill="#555">${esc(t)}</text>`));
  });
  // legend
  let lx = L;
  const ly = H - 16;
  for (const c of cs) {
    out.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="12" fill="${COLORS[c] || '#777'}"/>`);
    out.push(`<text x="${lx + 16}" y="${ly + 1}" font-size="11">${esc(c === 'ours' ? 'ours (concurrent-futures)' : c)}</text>`);
    lx += 16 + 6.2 * (c === 'ours' ? 25 : c.length) + 22;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

// Harness helpers shared by the driver (run.mjs) and the workloads: the clock, progress lines,
// medians, per-sample time-outs, and the tracking of every pool a sample opens.

import v8 from 'node:v8';
import vm from 'node:vm';
import { N } from './config.mjs';
import { openProcessPool, openThreadPool } from './pools.mjs';

export const T_START = performance.now();

v8.setFlagsFromString('--expose-gc');
export const gc = vm.runInNewContext('gc');
export const now = () => performance.now();
export const log = (s) => process.stderr.write(s + '\n');
export const elapsed = () => ((now() - T_START) / 1000).toFixed(0).padStart(4) + 's';
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const errMsg = (e) => String((e && e.message) || e).split('\n')[0];

export class SampleTimeout extends Error {}
export function withTimeout(promise, ms, what) {
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
export async function open(kind, contender) {
  const p = kind === 'process' ? await openProcessPool(contender, N) : await openThreadPool(contender, N);
  if (p) livePools.add(p);
  return p;
}
export async function close(p) {
  if (!p) return;
  livePools.delete(p);
  await p.close();
}
export async function killAll() {
  for (const p of [...livePools]) {
    livePools.delete(p);
    try {
      await withTimeout(Promise.resolve((p.kill || p.close)()), 10_000, 'tearing a pool down');
    } catch (e) {
      log(`  ! could not tear a pool down: ${errMsg(e)}`);
    }
  }
}

/** Open a pool, warm it up, run `body(pool)`, always close it. */
export async function withPool(kind, contender, warm, body) {
  const p = await open(kind, contender);
  try {
    await warm(p);
    return await body(p);
  } finally {
    await close(p);
  }
}

// ---------------------------------------------------------------- shared by workloads
/** fib on the main thread, for W4's reference and the checks. */
export function fibLocal(n) {
  return n < 2 ? n : fibLocal(n - 1) + fibLocal(n - 2);
}

/** Workload id -> reference median (for derived figures); the driver fills it in. */
export const refMedian = {};

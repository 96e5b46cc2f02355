// W10: stopping running work, against piscina and poolifier (the other peers are skipped).
//   W10a: abort of a cooperative synchronous task. Ours: ex.run(fn, args, { signal }) of a loop that
//         calls currentTask().signal.throwIfAborted() on every turn; the figure is the time from
//         abort() to the future settling, p99 (p50 beside it) over 1,000 aborts one after another.
//         Goal: p99 under 1 ms. No peer has a signal inside the task: piscina's abort of a running
//         task rejects it and terminates its worker (measured over 100 aborts, each costs a
//         worker); poolifier 5.3's execute(data, name, abortSignal) only posts an abort message
//         to the worker, which a synchronous task never reads, so the task runs to completion
//         (20 aborts of a 100 ms task; the figure is then the rest of the task).
//   W10b: abort of a non-cooperative task (a busy loop that never looks at its signal) in a thread
//         pool, with the N - 1 other workers each holding a bystander task (blocked 400 ms).
//         Ours with abortGrace: 10 (the worker is terminated 10 ms after abort() and replaced).
//         Figures: abort() -> the future fails (median of 5 aborts per sample) and abort() -> the
//         result of a task submitted at abort() time, which must run on the replacement (its
//         thread differs from the aborted task's and the bystanders'); every bystander must end
//         with its own result. Goal: under 50 ms.
//   W10c: W10a in a process pool, ours only (ProcessPoolExecutor, abortGrace: Infinity, so only a
//         task that ends itself settles): a child's synchronous loop sees the abort through its
//         stop page. The task's start is seen through a file it writes (its pid: no child may be
//         replaced). 300 aborts one after another (quick: 100); p99, p50 beside it. No goal set:
//         the outcome comes back over IPC, which W10a's threads do not pay.
//   W10p: W10b in a process pool, ours only (ProcessPoolExecutor, abortGrace: 10; the child's
//         start is seen through a file it writes). Goal: under 150 ms. piscina has no process
//         mode; poolifier's FixedClusterPool is not measured here.
// No ratios: the peers' figures do not measure the same thing as ours (piscina settles at once
// and kills the worker, poolifier does not stop the task).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { N, Q } from '../lib/config.mjs';
import { fmt } from '../lib/format.mjs';
import { close, median, now, open, sleep } from '../lib/harness.mjs';
import { isOurs, loadOurs, OURS_FNS, warmUp } from '../lib/pools.mjs';

const PEERS = ['piscina', 'poolifier'];
const GRACE = 10; // ours' abortGrace in W10b and W10p, ms
const BYSTANDER_MS = 400;

// Ours' task bodies, sent by source (currentTask is in scope there). flag: Int32Array on a
// SharedArrayBuffer; flag[0] is raised when the task starts, flag[1] holds its thread's id.
const COOP = (flag, ms) => {
  const { signal } = currentTask();
  flag[1] = process.getBuiltinModule('node:worker_threads').threadId;
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  const end = Date.now() + ms;
  while (Date.now() < end) signal.throwIfAborted();
  return ms;
};
// As tasks.cjs's hold: busy (never looks at its signal) or blocked (a bystander).
const HOLD = (flag, ms, busy) => {
  flag[1] = process.getBuiltinModule('node:worker_threads').threadId;
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  if (busy) {
    const end = Date.now() + ms;
    while (Date.now() < end);
  } else Atomics.wait(flag, 2, 0, ms);
  return ms;
};
const THREAD_ID = () => process.getBuiltinModule('node:worker_threads').threadId;
// Process pool: the start is seen through a file holding the child's pid.
const HOLD_P = (file, ms, busy) => {
  process.getBuiltinModule('node:fs').writeFileSync(file, String(process.pid));
  if (busy) {
    const end = Date.now() + ms;
    while (Date.now() < end);
  } else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  return ms;
};
const PID = () => process.pid;
// W10c's task: COOP in a child, its start (and pid) told through a file.
const COOP_P = (file, ms) => {
  const { signal } = currentTask();
  process.getBuiltinModule('node:fs').writeFileSync(file, String(process.pid));
  const end = Date.now() + ms;
  while (Date.now() < end) signal.throwIfAborted();
  return ms;
};

const skip = (c) => (isOurs(c) || PEERS.includes(c) ? null : 'W10 compares ours with piscina and poolifier only');
const newFlag = () => new Int32Array(new SharedArrayBuffer(12));
const settle = (p) => p.then((v) => ({ ok: true, v, t: now() }), (e) => ({ ok: false, e, t: now() }));
async function started(flag) {
  const w = Atomics.waitAsync(flag, 0, 0, 10_000);
  if (w.async && (await w.value) === 'timed-out') throw new Error('task did not start within 10 s');
}
async function startedFile(file) {
  const t0 = now();
  for (;;) {
    try {
      const s = fs.readFileSync(file, 'utf8');
      if (s) return Number(s);
    } catch {}
    if (now() - t0 > 10_000) throw new Error('task did not start within 10 s');
    await sleep(1);
  }
}
const pct = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};

/** A thread (or process) pool task with an optional signal: hold({ flag, ms, busy }) or threadId. */
function callHold(c, p, arg, signal, coop = false) {
  if (isOurs(c)) return p.raw.run(coop ? COOP : HOLD, [arg.flag, arg.ms, arg.busy], signal ? { signal } : {});
  if (c === 'piscina') return p.raw.run(arg, signal ? { name: 'hold', signal } : { name: 'hold' });
  return p.raw.execute(arg, 'hold', signal);
}
const callThreadId = (c, p) => (isOurs(c) ? p.raw.submit(THREAD_ID) : c === 'piscina' ? p.raw.run(null, { name: 'threadId' }) : p.raw.execute(null, 'threadId'));

/** Ours with executor options (abortGrace); closed by the caller. */
async function openOurs(c, kind, options) {
  const cf = await loadOurs(c);
  const ex = new (kind === 'process' ? cf.ProcessPoolExecutor : cf.ThreadPoolExecutor)({ maxWorkers: N, ...options });
  return { raw: ex, call: (name, arg) => ex.submit(OURS_FNS[name], arg), close: () => ex.shutdown({ wait: true }) };
}

const cooperative = {
  id: 'W10a',
  group: 'W10',
  title: 'abort a running cooperative sync task',
  metric: 'abort → settled, p99',
  unit: 'ms',
  better: 'lower',
  ratioBase: 'reference', // there is no reference: no ratios (see the header)
  reps: Q ? 1 : 3,
  timeoutMs: 180_000,
  params: { aborts: { ours: Q ? 300 : 1000, piscina: Q ? 30 : 100, poolifier: Q ? 10 : 20 }, poolifierTaskMs: 100 },
  fmt: fmt.ms,
  skip,
  setup() {
    this.p50 = {};
    this.outcomes = {};
  },
  async sample(c) {
    const who = isOurs(c) ? 'ours' : c;
    const count = this.params.aborts[who];
    // Ours and piscina: a task that would run 5 s (it is aborted long before); poolifier's runs to completion.
    const ms = c === 'poolifier' ? this.params.poolifierTaskMs : 5000;
    const p = await open('thread', c);
    const times = [];
    const out = (this.outcomes[c] ||= { rejected: 0, resolved: 0 });
    try {
      await warmUp(p, N, 'inc');
      for (let i = 0; i < count; i++) {
        const flag = newFlag();
        const ac = new AbortController();
        const done = settle(callHold(c, p, { flag, ms, busy: true }, ac.signal, true));
        await started(flag);
        const t0 = now();
        ac.abort(new Error('W10 abort'));
        const r = await done;
        times.push(r.t - t0);
        if (r.ok) {
          if (r.v !== ms) throw new Error(`wrong result ${r.v}`);
          out.resolved++;
        } else {
          // ours: the reason thrown by throwIfAborted() in the worker comes back as the failure
          if (isOurs(c) && r.e?.message !== 'W10 abort') throw new Error(`failed with ${r.e?.message ?? r.e}, not the abort's reason`);
          out.rejected++;
        }
      }
    } finally {
      await close(p);
    }
    (this.p50[c] ||= []).push(pct(times, 0.5));
    return pct(times, 0.99);
  },
  extra(m, c) {
    if (!this.p50[c]) return {};
    return { p50: median(this.p50[c]), aborts: this.params.aborts[isOurs(c) ? 'ours' : c], outcomes: this.outcomes[c], ...(c === 'piscina' ? { how: 'no cooperative abort: worker killed' } : {}) };
  },
  cellSuffix(r) {
    const n = `p50 ${fmt.ms(r.p50)}, n=${r.aborts} per sample`;
    const o = r.outcomes || {};
    if (o.resolved) return ` (${n}; runs to completion: ${o.resolved}/${o.resolved + o.rejected} resolved)`;
    return r.how ? ` (${n}; ${r.how})` : ` (${n})`;
  },
  notes(res) {
    const lines = ['W10a: abort() of a running synchronous task → its future settles; p99 (p50) over n aborts one after another in each sample, median of the samples. Goal for ours: p99 under 1 ms.'];
    if (res.contenders.piscina?.figure !== undefined) lines.push('W10a piscina: no signal inside the task; its abort rejects at once and terminates the worker (a new one is started).');
    if (res.contenders.poolifier?.figure !== undefined) lines.push(`W10a poolifier: execute(data, name, abortSignal) posts an abort the synchronous task never reads; it runs to completion (${this.params.poolifierTaskMs} ms tasks).`);
    return lines;
  },
};

const cooperativeProcess = {
  id: 'W10c',
  group: 'W10',
  title: 'abort a running cooperative sync task, processes',
  metric: 'abort → settled, p99',
  unit: 'ms',
  better: 'lower',
  ratioBase: 'reference', // ours only: no ratios
  reps: Q ? 1 : 3,
  timeoutMs: 180_000,
  params: { aborts: Q ? 100 : 300 },
  fmt: fmt.ms,
  skip: (c) => (isOurs(c) ? null : 'W10c measures ours only'),
  setup() {
    this.p50 = {};
    this.children = {};
  },
  async sample(c) {
    const p = await openOurs(c, 'process', { abortGrace: Infinity });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'w10c-'));
    const times = [];
    const pids = new Set();
    try {
      await warmUp(p, N, 'inc');
      for (let i = 0; i < this.params.aborts; i++) {
        const file = path.join(dir, `t${i}`);
        const ac = new AbortController();
        const done = settle(p.raw.run(COOP_P, [file, 5000], { signal: ac.signal }));
        pids.add(await startedFile(file));
        const t0 = now();
        ac.abort(new Error('W10 abort'));
        const r = await done;
        times.push(r.t - t0);
        if (r.ok || r.e?.message !== 'W10 abort') throw new Error(`the task did not end with the abort's reason: ${r.ok ? r.v : (r.e?.message ?? r.e)}`);
      }
    } finally {
      await close(p);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    if (pids.size > N) throw new Error(`${pids.size} children ran the tasks: some were replaced`);
    (this.p50[c] ||= []).push(pct(times, 0.5));
    this.children[c] = Math.max(this.children[c] ?? 0, pids.size);
    return pct(times, 0.99);
  },
  extra(m, c) {
    if (!this.p50[c]) return {};
    return { p50: median(this.p50[c]), aborts: this.params.aborts, children: this.children[c] };
  },
  cellSuffix(r) {
    return ` (p50 ${fmt.ms(r.p50)}, n=${r.aborts} per sample; no child replaced)`;
  },
  notes() {
    return ['W10c: W10a in a process pool (ours, abortGrace: Infinity: the task ends itself): abort() → its future settles, p99 (p50) over n aborts one after another in each sample, median of the samples; the child sees the abort through the stop page it shares with its parent.'];
  },
};

function nonCooperative(kind) {
  const proc = kind === 'process';
  return {
    id: proc ? 'W10p' : 'W10b',
    group: 'W10',
    title: `abort a non-cooperative task, ${proc ? 'processes' : 'threads'}`,
    metric: 'abort → failed; → next task',
    unit: 'ms',
    better: 'lower',
    ratioBase: 'reference', // no ratios (see the header)
    reps: Q ? 1 : 3,
    timeoutMs: 120_000,
    params: { abortsPerSample: { ours: 5, piscina: 5, poolifier: 3 }, abortGraceOurs: GRACE, bystanderMs: BYSTANDER_MS, bystanders: N - 1, goalMs: proc ? 150 : 50 },
    fmt: fmt.ms,
    skip(c) {
      if (proc && !isOurs(c)) return c === 'piscina' ? 'piscina has no child-process mode' : 'W10p measures ours only';
      return skip(c);
    },
    setup() {
      this.stats = {};
    },
    async sample(c) {
      const who = isOurs(c) ? 'ours' : c;
      const count = this.params.abortsPerSample[who];
      const hogMs = c === 'poolifier' ? 1000 : 10_000; // poolifier's runs to completion
      const p = isOurs(c) ? await openOurs(c, kind, { abortGrace: GRACE }) : await open('thread', c);
      const st = (this.stats[c] ||= { fail: [], next: [], rejected: 0, resolved: 0, onReplacement: 0, withReason: 0, reasonAsCause: 0, aborts: 0, bystanders: 0, bystandersOk: 0 });
      const dir = proc ? fs.mkdtempSync(path.join(os.tmpdir(), 'w10p-')) : null;
      const fails = [];
      let seq = 0;
      try {
        await warmUp(p, N, 'inc');
        for (let i = 0; i < count; i++) {
          // the bystanders, one on each other worker, then the task to abort
          let bys, hog, ids, hogId, reason, abort;
          if (proc) {
            const files = Array.from({ length: N - 1 }, () => path.join(dir, `b${seq++}`));
            bys = files.map((f) => settle(p.raw.run(HOLD_P, [f, BYSTANDER_MS, false])));
            ids = await Promise.all(files.map(startedFile));
            const hf = path.join(dir, `h${seq++}`);
            const ac = new AbortController();
            reason = new Error('W10 abort');
            hog = settle(p.raw.run(HOLD_P, [hf, hogMs, true], { signal: ac.signal }));
            hogId = await startedFile(hf);
            abort = () => ac.abort(reason);
          } else {
            const flags = Array.from({ length: N - 1 }, newFlag);
            bys = flags.map((flag) => settle(callHold(c, p, { flag, ms: BYSTANDER_MS, busy: false })));
            await Promise.all(flags.map(started));
            ids = flags.map((f) => f[1]);
            const hf = newFlag();
            const ac = new AbortController();
            reason = new Error('W10 abort');
            hog = settle(callHold(c, p, { flag: hf, ms: hogMs, busy: true }, ac.signal));
            await started(hf);
            hogId = hf[1];
            abort = () => ac.abort(reason);
          }
          const t0 = now();
          abort();
          const next = settle(proc ? p.raw.submit(PID) : callThreadId(c, p));
          const h = await hog;
          const n = await next;
          st.aborts++;
          fails.push(h.t - t0);
          st.fail.push(h.t - t0);
          if (h.ok) st.resolved++;
          else {
            st.rejected++;
            if (h.e === reason) st.withReason++;
            else if (h.e?.cause === reason) st.reasonAsCause++; // piscina: AbortError with the reason as its cause
          }
          if (!n.ok) throw new Error(`the task after the abort failed: ${n.e?.message ?? n.e}`);
          st.next.push(n.t - t0);
          if (n.v !== hogId && !ids.includes(n.v)) st.onReplacement++;
          for (const b of await Promise.all(bys)) {
            st.bystanders++;
            if (b.ok && b.v === BYSTANDER_MS) st.bystandersOk++;
          }
        }
      } finally {
        await close(p);
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
      }
      return median(fails);
    },
    extra(m, c) {
      const s = this.stats[c];
      if (!s) return {};
      return { nextMs: median(s.next), failedMs: median(s.fail), aborts: s.aborts, rejected: s.rejected, withReason: s.withReason, reasonAsCause: s.reasonAsCause, resolved: s.resolved, onReplacement: s.onReplacement, bystanders: s.bystanders, bystandersOk: s.bystandersOk };
    },
    cellSuffix(r) {
      const ran = r.resolved
        ? `runs to completion: ${r.resolved}/${r.aborts} resolved; `
        : r.reasonAsCause
          ? `failed with AbortError, the reason as cause ${r.reasonAsCause}/${r.aborts}; `
          : `failed with the signal's reason ${r.withReason}/${r.aborts}; `;
      return ` (${ran}next ${fmt.ms(r.nextMs)}, on new worker ${r.onReplacement}/${r.aborts}, bystanders ok ${r.bystandersOk}/${r.bystanders})`;
    },
    notes() {
      return [
        `${this.id}: a busy task that ignores its signal, aborted while ${N - 1} bystander task(s) hold the other workers (${BYSTANDER_MS} ms each); ` +
          `figure: abort() → its future fails, median; 'next': abort() → the result of a task submitted at that moment, median; counts over all samples; ours with abortGrace: ${GRACE}. Goal for ours: under ${proc ? 150 : 50} ms.`,
      ];
    },
  };
}

export const w10a = cooperative;
export const w10c = cooperativeProcess;
export const w10b = nonCooperative('thread');
export const w10p = nonCooperative('process');

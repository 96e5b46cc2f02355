#!/usr/bin/env node
// concurrent-futures benchmark harness. See benchmark/README.md.
//
//   node benchmark/run.mjs [--quick] [--only W1,W2] [--contenders ours,piscina,...]
//                          [--workers N] [--reps N] [--out FILE.json] [--baseline DIR]
//
// Compares our ThreadPoolExecutor / ProcessPoolExecutor (../esm/index.mjs) with
// piscina, tinypool, workerpool and poolifier on the workloads of workloads/index.mjs, with the same
// worker count for everyone. Contenders alternate within each repetition (the start
// rotates from one repetition to the next) and every sample uses a fresh pool whose
// workers are started and warmed up before the clock starts (except W6, which times
// exactly that). Progress goes to stderr; one table goes to stdout; results are
// written to benchmark/results.json and benchmark/results.svg.
//
// With --baseline DIR, one more contender, 'before', runs the same package built in the
// checkout DIR (DIR/esm/index.mjs) through every code path ours takes, and the notes under
// the table give ours / before per workload.
//
// This file is the driver: the command line, the choice of workloads and contenders, the
// alternating repetitions, medians and ratios, and writing the results. The rest:
//   lib/        harness helpers (clock, medians, time-outs, pool tracking, child processes,
//               bare-thread ceilings, formatting) and the pool adapters (lib/pools.mjs)
//   workloads/  one file per workload, listed in order by workloads/index.mjs
//   report/     the text table and its notes, and the SVG chart

import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { HERE, configure } from './lib/config.mjs';
import { SampleTimeout, T_START, elapsed, errMsg, gc, killAll, log, median, now, refMedian, sleep, withTimeout } from './lib/harness.mjs';
import { BEFORE, CONTENDERS, loadOurs, oursEntry, oursLoadError, preload, quirks, setBaseline } from './lib/pools.mjs';
import { PYTHON, PYTHON_VERSION, runNode } from './lib/subprocess.mjs';
import { formatNotes, formatTable } from './report/table.mjs';
import { svgChart } from './report/svg.mjs';

const LOAD_START = os.loadavg().map((x) => Number(x.toFixed(2)));

// ---------------------------------------------------------------- command line
function parseArgs(argv) {
  const o = { quick: false, only: null, contenders: [...CONTENDERS], workers: os.availableParallelism(), reps: null, out: null, baseline: null };
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
    else if (a.startsWith('--baseline')) o.baseline = path.resolve(val());
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  for (const c of o.contenders) {
    if (c === BEFORE && !o.baseline) usage(`contender ${BEFORE} needs --baseline DIR`);
    if (!CONTENDERS.includes(c) && c !== BEFORE) usage(`unknown contender ${c} (known: ${CONTENDERS.join(', ')}${o.baseline ? `, ${BEFORE}` : ''})`);
  }
  if (!Number.isInteger(o.workers) || o.workers < 1) usage('--workers must be a positive integer');
  if (o.reps !== null && (!Number.isInteger(o.reps) || o.reps < 1)) usage('--reps must be a positive integer');
  if (o.baseline) {
    if (!fs.existsSync(path.join(o.baseline, 'esm', 'index.mjs')))
      usage(`--baseline ${o.baseline}: no esm/index.mjs there (DIR is the root of a built checkout of this package)`);
    // 'before' runs whether or not --contenders names it, in the column after ours (first without ours).
    const rest = o.contenders.filter((c) => c !== BEFORE);
    rest.splice(rest.indexOf('ours') + 1, 0, BEFORE);
    o.contenders = rest;
  }
  return o;
}
function usage(msg) {
  if (msg) console.error(`run.mjs: ${msg}`);
  console.error(
    'usage: node benchmark/run.mjs [--quick] [--only W1,W2,...] [--contenders ' +
      CONTENDERS.join(',') +
      '] [--workers N] [--reps N] [--out results.json] [--baseline DIR]',
  );
  process.exit(msg ? 2 : 0);
}
const opts = parseArgs(process.argv.slice(2));
// D1-D3 (concurrent-futures/distributed vs raw BullMQ on a Redis it starts): benchmark/distributed.mjs,
// in a child process, after the W table (it says itself when redis-server is missing).
const DISTRIBUTED = ['D1', 'D2', 'D3'];
const runDistributed = () => spawnSync(process.execPath, [path.join(HERE, 'distributed.mjs'), ...(opts.quick ? ['--quick'] : [])], { stdio: 'inherit' });
if (opts.only && opts.only.every((id) => DISTRIBUTED.includes(id))) {
  runDistributed();
  process.exit(0);
}
const N = opts.workers;
const Q = opts.quick;

// The workloads read the pool size and --quick when they are loaded: configure first.
configure({ workers: N, quick: Q });
if (opts.baseline) setBaseline(opts.baseline);
const { WORKLOADS } = await import('./workloads/index.mjs');

// ---------------------------------------------------------------- driver
// --only takes workload ids (case-insensitive: W11T is W11t) and groups (W11 = W11 and W11t).
const ids = WORKLOADS.map((w) => w.id);
const picks = (w, id) => w.id.toUpperCase() === id || w.group === id;
for (const id of opts.only || []) if (!WORKLOADS.some((w) => picks(w, id)) && !DISTRIBUTED.includes(id)) usage(`unknown workload ${id} (known: ${ids.join(', ')})`);
const selected = WORKLOADS.filter((w) => !opts.only || opts.only.some((id) => picks(w, id)));

let contenders = [...opts.contenders];
// Ours (and the baseline's build, 'before') must load; a build that does not is skipped with the reason.
const skipped = {}; // 'ours' | 'before' -> why
for (const c of ['ours', BEFORE]) {
  if (!contenders.includes(c) || (await loadOurs(c))) continue;
  skipped[c] =
    c === 'ours'
      ? `cannot load ../esm/index.mjs: ${oursLoadError()} (build the package first: npm run build)`
      : `cannot load ${oursEntry(BEFORE)}: ${oursLoadError(BEFORE)} (build it first: cd ${opts.baseline} && npm ci && npm run build)`;
  log(`[bench] skipping '${c}' — ${skipped[c]}`);
  contenders = contenders.filter((x) => x !== c);
}
const oursSkip = skipped.ours ?? null;
for (const c of contenders) await preload(c);

// Sanity check: ours must really run tasks off the main thread (threadId 0). Checked in a child
// process, so that no executor runs in this process before the workloads: here, on a 2-vCPU VM,
// a copy checked in-process ran its W2 and W8 samples 5-15% faster than one that was not, all run
// long, even with one build loaded twice (A/A); checked in children, the two came out even.
const threadCheck = {}; // 'ours' | 'before' -> warning
const TID_TASK = () => process.getBuiltinModule('node:worker_threads').threadId;
async function threadIdInChild(c) {
  const script =
    `const cf = await import(${JSON.stringify(pathToFileURL(oursEntry(c)).href)});\n` +
    'const ex = new cf.ThreadPoolExecutor({ maxWorkers: 1 });\n' +
    `const tid = await ex.submit(${TID_TASK.toString()});\n` +
    'await ex.shutdown();\n' +
    'console.log(JSON.stringify({ tid }));';
  return (await runNode(['--input-type=module', '-e', script], 30_000)).tid;
}
for (const c of ['ours', BEFORE]) {
  if (!contenders.includes(c) || typeof process.getBuiltinModule !== 'function') continue;
  try {
    const tid = await threadIdInChild(c);
    if (tid === 0) threadCheck[c] = `${c} ran a task on the main thread (threadId 0)`;
  } catch (e) {
    threadCheck[c] = `${c} sanity check failed: ${errMsg(e)}`;
  }
  if (threadCheck[c]) log(`[bench] warning: ${threadCheck[c]}`);
}
const oursThreadCheck = threadCheck.ours ?? null;

log(
  `[bench] node ${process.version}, ${os.availableParallelism()} CPUs, ${N} workers, ${Q ? 'quick' : 'full'} run; ` +
    `contenders: ${contenders.join(', ') || '(none)'}; workloads: ${selected.map((w) => w.id).join(', ')}` +
    (PYTHON ? `; CPython ${PYTHON_VERSION}` : '; no python3 (W8 reference skipped)') +
    (opts.baseline ? `; before = ${oursEntry(BEFORE)}` : ''),
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
  for (const [c, why] of Object.entries(skipped)) failed[c] = { skipped: why };

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
        log(`  [${elapsed()}] ${wl.id} ${rep + 1}/${reps} ${label.padEnd(10)} ${((c === 'reference' && wl.refFmt) || wl.sampleFmt || wl.fmt)(v)}`);
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
  // A second figure some workloads chart beside the first (W11: peak RSS growth), by the same rule.
  if (wl.secondFigure) {
    const { field, better, label } = wl.secondFigure;
    const base2 = res.contenders.piscina?.[field];
    res.secondFigure = { field, better, label };
    for (const r of Object.values(res.contenders)) if (r[field] > 0 && base2 > 0) r.secondRatio = better === 'higher' ? r[field] / base2 : base2 / r[field];
  }
  // --baseline: ours relative to before, > 1 means ours is better (the same rule as the ratios)
  if (opts.baseline) {
    const o = res.contenders.ours?.figure;
    const b = res.contenders[BEFORE]?.figure;
    if (o > 0 && b > 0 && Number.isFinite(o) && Number.isFinite(b)) res.oursVsBefore = wl.better === 'higher' ? o / b : b / o;
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

// --baseline: which build 'before' was (results.json's meta.baseline; absent without --baseline).
let baseline = null;
if (opts.baseline) {
  const git = (...args) => {
    try {
      return execFileSync('git', ['-C', opts.baseline, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const status = git('status', '--porcelain', '--untracked-files=no');
  let version = null;
  try {
    version = JSON.parse(fs.readFileSync(path.join(opts.baseline, 'package.json'), 'utf8')).version;
  } catch {}
  baseline = {
    dir: opts.baseline,
    commit: git('rev-parse', '--short', 'HEAD'),
    dirty: status === null ? null : status !== '',
    version,
    loaded: !skipped[BEFORE],
    error: skipped[BEFORE] ?? null,
    threadCheck: skipped[BEFORE] ? null : threadCheck[BEFORE] || 'ok: tasks run on worker threads',
  };
}

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
  ...(baseline ? { baseline } : {}),
  versions: { 'concurrent-futures': oursVersion, ...peerVersions, python: PYTHON_VERSION },
  ratio: 'relative performance vs piscina (W8: vs CPython); > 1 means better than the base, whichever direction the metric goes',
  durationS: Number(totalS.toFixed(1)),
  loadAvg: { start: LOAD_START, end: os.loadavg().map((x) => Number(x.toFixed(2))) },
  peerQuirks: quirks,
};

// The table (columns: meta.contenders, i.e. opts.contenders) and the notes under it
const table = formatTable(selected, results, opts.contenders);
const notes = formatNotes({ selected, results, meta, totalS, skipped, threadCheck });
console.log('\n' + table + '\n\n' + notes.join('\n'));

// results.json + results.svg
const outJson = opts.out || path.join(HERE, 'results.json');
const outSvg = outJson.replace(/\.json$/i, '') + '.svg';
fs.writeFileSync(outJson, JSON.stringify({ meta, workloads: results }, null, 2) + '\n');
fs.writeFileSync(outSvg, svgChart(results, meta));
log(`[bench] wrote ${path.relative(process.cwd(), outJson)} and ${path.relative(process.cwd(), outSvg)} — total ${totalS.toFixed(1)} s`);

if (!opts.only || opts.only.some((id) => DISTRIBUTED.includes(id))) runDistributed();

// Nothing should be left running; if something still holds the loop open, say so and leave.
setTimeout(() => {
  log('[bench] warning: something kept the process alive after all pools were closed; exiting');
  process.exit(0);
}, 10_000).unref();

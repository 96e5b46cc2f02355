// Leaks: memory after many tasks, memory after many executors, and open handles (the process
// must exit within 200 ms of the last shutdown() resolving). Each run is a child process started
// with --expose-gc (see fixtures/reliability-leak.mjs), measured after full GCs.
//
// Always runs a shorter version (200,000 tasks; 100 thread / 20 process executors); with
// CF_LONG_TESTS=1 the full one (1,000,000 tasks; 500 executors of each kind).
//
// The children run with V8's young generation pinned (--max-semi-space-size=1) and at most two
// malloc arenas: otherwise V8 and glibc grow their pools during the first few 100k tasks and keep
// them (RSS rises ~30-45 MB, then stays flat for millions of tasks), which would hide a real leak
// of that size and fail a 20 MB bound for reasons that are not the library's.
import test from 'ava';

import { fixture, jsonLines, runNode } from './fixtures/reliability-helpers.mjs';

const LONG = process.env.CF_LONG_TESTS === '1';
const MB = 1024 * 1024;
const RSS_BOUND = 20 * MB;
const EXIT_BOUND_MS = 200;
const NODE_ARGS = ['--expose-gc', '--max-semi-space-size=1'];
const ENV = { ...process.env, MALLOC_ARENA_MAX: '2' };

const PLANS = {
  threadTasks: ['tasks', 'thread', LONG ? 1_000_000 : 200_000, 10_000],
  processTasks: ['tasks', 'process', LONG ? 1_000_000 : 200_000, 10_000],
  threadExecutors: ['executors', 'thread', LONG ? 500 : 100, 2],
  // One child each: a fork costs ~120 ms here, two per executor would double the run.
  processExecutors: ['executors', 'process', LONG ? 500 : 20, 1],
};

/** Each plan's child run, started once and shared by the tests that read it. */
const runs = {};
function runOf(name) {
  runs[name] ??= (async () => {
    const started = performance.now();
    const run = await runNode(fixture('reliability-leak.mjs'), PLANS[name].map(String), { nodeArgs: NODE_ARGS, env: ENV, timeout: 110_000 });
    const lines = jsonLines(run);
    const phase = (p) => lines.find((l) => l.phase === p);
    return { run, ms: Math.round(performance.now() - started), baseline: phase('baseline'), end: phase('end'), retained: phase('retained'), resolved: phase('shutdown resolved') };
  })();
  return runs[name];
}

function checkRun(t, r) {
  t.false(r.run.timedOut, 'the child finished in time');
  t.is(r.run.code, 0, `the child exited cleanly: ${r.run.stderr}`);
  t.truthy(r.baseline && r.end && r.resolved, 'the child reported every phase');
}

function checkExit(t, r) {
  const gap = r.run.exitAt - r.resolved.at;
  t.log(`exit ${gap.toFixed(1)} ms after "shutdown resolved"`);
  t.true(gap <= EXIT_BOUND_MS, `the process exited ${gap.toFixed(1)} ms after shutdown() resolved (bound ${EXIT_BOUND_MS} ms): a handle stayed open`);
}

function checkRss(t, r, what) {
  const growth = r.end.rss - r.baseline.rss;
  t.log(`${what}: rss ${r.baseline.rssMb} MB → ${r.end.rssMb} MB (${(growth / MB).toFixed(1)} MB), heapUsed ${r.baseline.heapUsedMb} → ${r.end.heapUsedMb} MB, child ran ${r.ms} ms`);
  t.true(growth <= RSS_BOUND, `${what}: rss grew ${(growth / MB).toFixed(1)} MB (bound 20 MB)`);
}

// Serial: the runs measure memory and time; two at once would disturb each other.
for (const [name, kind] of [
  ['threadTasks', 'thread'],
  ['processTasks', 'process'],
]) {
  const [, , total] = PLANS[name];
  test.serial(`${kind}: after ${total.toLocaleString('en')} tiny tasks rss is within 20 MB of its level after 10,000; exit within 200 ms of shutdown`, async (t) => {
    t.timeout(115_000);
    const r = await runOf(name);
    checkRun(t, r);
    t.is(r.end.tasks, total);
    t.like(r.end.stats, { queued: 0, running: 0 });
    checkRss(t, r, `${total} tasks`);
    checkExit(t, r);
  });
}

for (const [name, kind] of [
  ['threadExecutors', 'thread'],
  ['processExecutors', 'process'],
]) {
  const [, , count] = PLANS[name];
  test.serial(`${kind}: ${count} executors created, used and shut down: the process exits within 200 ms of the last shutdown`, async (t) => {
    t.timeout(115_000);
    const r = await runOf(name);
    checkRun(t, r);
    t.is(r.end.executors, count);
    checkExit(t, r);
  });

  test.serial(`${kind}: after ${count} executors rss is within 20 MB of its level after 10`, async (t) => {
    t.timeout(115_000);
    const r = await runOf(name);
    checkRun(t, r);
    checkRss(t, r, `${count} executors`);
  });

  // Executors shut down and dropped must be collectable (the core's wake-up holds them weakly,
  // and is released at shutdown).
  test.serial(`${kind}: executors that were shut down and dropped are garbage-collected`, async (t) => {
    t.timeout(115_000);
    const r = await runOf(name);
    checkRun(t, r);
    t.truthy(r.retained);
    t.is(r.retained.retained, 0, `${r.retained.retained} of ${r.retained.of} shut-down executors are still reachable after GC`);
  });
}

// The buffer that batches submits grows to fit the largest argument (3 bytes per character of a
// string: 300 MB for a 100 MB string); it used to keep that size for good (fixed in f2e49fe).
for (const kind of ['thread', 'process']) {
  test.serial(`${kind}: one 100 MB string argument does not leave hundreds of MB behind`, async (t) => {
    t.timeout(60_000);
    const run = await runNode(fixture('reliability-big-arg.mjs'), [kind, 'arg'], { nodeArgs: ['--expose-gc'], timeout: 55_000 });
    t.is(run.code, 0, run.stderr);
    const [r] = jsonLines(run);
    t.is(r.length, 100 * MB, 'the argument arrived whole');
    const kept = r.afterShutdown.arrayBuffers - r.before.arrayBuffers;
    t.log(`array buffers kept after the task and shutdown: ${(kept / MB).toFixed(0)} MB; rss ${(r.before.rss / MB).toFixed(0)} → ${(r.after.rss / MB).toFixed(0)} → ${(r.afterShutdown.rss / MB).toFixed(0)} MB`);
    t.true(kept < 50 * MB, `${(kept / MB).toFixed(0)} MB of array buffers kept after one 100 MB argument`);
  });
}

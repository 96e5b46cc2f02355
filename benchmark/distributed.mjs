// D1-D3: concurrent-futures/distributed against raw BullMQ, on one Redis started here (free
// loopback port, persistence off), each with two worker hosts of one worker, in the same run.
//
//   node benchmark/distributed.mjs [--quick]      (npm run bench runs it at the end)
//
// D1  20,000 tiny tasks in flight: ours `submit` each; raw BullMQ one `queue.add` per task.
//     Goal: ours >= 2x raw.
// D2  map of 200,000 tiny items: ours `map`; raw BullMQ one job per item (`addBulk`, 1,000 per
//     call). Goal: ours >= 200k items/s and >= 20x raw. Raw runs on fewer items (its rate is
//     steady, and 200,000 jobs would take it a minute); the rates are compared.
// D3  one-at-a-time round trip (submit, await, repeat): p50. Goal: ours <= 1.2x raw's. The
//     contenders alternate in blocks of 25 round trips, with all their hosts up. Printed beside
//     it: raw BullMQ with the task as a sandboxed processor (a worker thread, as ours run tasks).
//
// Then, ours alone: run()'s signal aborting a running remote task (goal: it reaches the task within
// 100 ms): how soon the task sees it, and how soon its future settles.
//
// Raw BullMQ waits for completions as its users do: `QueueEvents` 'completed' events (the events
// stream is made long enough that none is trimmed before it is read), jobs removed on completion. Without redis-server on PATH the section is skipped, saying so.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { own, redisServer, redisVersion as readRedisVersion, startRedis } from '../scripts/redis-server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(HERE);
const QUICK = process.argv.includes('--quick');
const log = (s) => process.stderr.write(s + '\n');

if (redisServer === undefined) {
  console.log('\nD1-D3 (distributed, BullMQ on Redis): skipped: redis-server is not on PATH (apt-get install redis-server)');
  process.exit(0);
}

const { Queue, QueueEvents } = await import('bullmq');
const { currentTask } = await import(path.join(ROOT, 'esm', 'index.mjs'));
const { DistributedExecutor } = await import(path.join(ROOT, 'esm', 'distributed.mjs'));
const ABORTS = QUICK ? 10 : 30;

const D1_TASKS = 20_000;
const D2_ITEMS = QUICK ? 100_000 : 200_000;
const D2_RAW_ITEMS = QUICK ? 10_000 : 20_000;
const D3_ROUND_TRIPS = QUICK ? 200 : 500;
const REPS = QUICK ? 1 : 3;

// ---------------------------------------------------------------- processes
/** Starts a child (ended with this process, however it exits) and resolves once its output shows `ready`. */
function startChild(command, args, ready, what) {
  const child = own(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT }));
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk) => {
      seen += chunk;
      if (ready.test(seen)) resolve(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => (seen += chunk));
    child.on('exit', (code) => reject(new Error(`${what} exited (${code}): ${seen}`)));
    setTimeout(() => reject(new Error(`${what} did not start: ${seen}`)), 20_000).unref();
  });
}

async function stopChildren(children) {
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', resolve);
          child.kill('SIGTERM');
        }),
    ),
  );
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

// ---------------------------------------------------------------- ours
async function benchOurs(url) {
  const queue = 'bench-ours';
  const hosts = await Promise.all([0, 1].map(() => startChild(process.execPath, [path.join(ROOT, 'bin', 'concurrent-futures.mjs'), 'worker', '--connection', url, '--queue', queue, '--max-workers', '1'], /taking jobs/, 'worker host')));
  const ex = new DistributedExecutor({ connection: url, queue });
  const tiny = (x) => x * 2;
  try {
    await Promise.all(Array.from({ length: 2000 }, (_, i) => ex.submit(tiny, i))); // warm-up
    const d1 = [];
    for (let r = 0; r < REPS; r++) {
      const start = performance.now();
      await Promise.all(Array.from({ length: D1_TASKS }, (_, i) => ex.submit(tiny, i)));
      d1.push(D1_TASKS / ((performance.now() - start) / 1000));
    }
    log(`[distributed] ours D1: ${d1.map(Math.round).join(', ')} tasks/s`);
    const items = Array.from({ length: D2_ITEMS }, (_, i) => i);
    const d2 = [];
    for (let r = 0; r < REPS; r++) {
      const start = performance.now();
      let count = 0;
      for await (const value of ex.map(tiny, items)) if (value === count++ * 2) continue;
      if (count !== D2_ITEMS) throw new Error(`map gave ${count} items`);
      d2.push(D2_ITEMS / ((performance.now() - start) / 1000));
    }
    log(`[distributed] ours D2: ${d2.map(Math.round).join(', ')} items/s`);
    return {
      d1: median(d1),
      d2: median(d2),
      /** One round trip (D3), in ms. */
      trip: async (i) => {
        const start = performance.now();
        await ex.submit(tiny, i);
        return performance.now() - start;
      },
      abort: () => abortLatency(ex),
      close: async () => {
        await ex.shutdown();
        await stopChildren(hosts);
      },
    };
  } catch (error) {
    await ex.shutdown({ wait: false });
    await stopChildren(hosts);
    throw error;
  }
}

/**
 * `run`'s signal reaching a running remote task: the task leaves a file once started, then spins
 * until its own signal fires and returns when it saw it (the same machine's clock). Reach: abort()
 * to the task seeing it; settle: abort() to the future settled. A task that ignores its signal:
 * abort() to the future failed (the host stops it after the pool's abortGrace, 100 ms).
 */
async function abortLatency(ex) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cf-bench-abort-'));
  const now = () => performance.timeOrigin + performance.now();
  const started = async (file, future) => {
    while (!(existsSync(file) && future.running())) await new Promise((resolve) => setTimeout(resolve, 1));
  };
  const spin = (file) => {
    process.getBuiltinModule('node:fs').writeFileSync(file, '');
    const { signal } = currentTask();
    while (!signal.aborted);
    return performance.timeOrigin + performance.now();
  };
  const stuck = (file) => {
    process.getBuiltinModule('node:fs').writeFileSync(file, '');
    for (;;);
  };
  const reach = [];
  const settle = [];
  const forced = [];
  try {
    for (let i = 0; i < ABORTS + 5; i++) {
      const file = path.join(dir, `a${i}`);
      const controller = new AbortController();
      const cooperative = i < ABORTS;
      const future = ex.run(cooperative ? spin : stuck, [file], { signal: controller.signal });
      await started(file, future);
      const at = now();
      controller.abort('bench');
      const outcome = await future.then((seen) => seen, () => undefined);
      const end = now();
      if (cooperative) {
        reach.push(outcome - at);
        settle.push(end - at);
      } else {
        forced.push(end - at);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { reachP50: median(reach), reachMax: Math.max(...reach), settleP50: median(settle), settleMax: Math.max(...settle), forcedP50: median(forced), forcedMax: Math.max(...forced), n: ABORTS };
}

// ---------------------------------------------------------------- raw BullMQ
/** `sandboxed`: the task runs as BullMQ's sandboxed processor on a worker thread; only D3 is measured. */
async function benchRaw(url, port, sandboxed = false) {
  const name = sandboxed ? 'bench-raw-sandboxed' : 'bench-raw';
  const connection = { host: '127.0.0.1', port };
  const workerArgs = [path.join(HERE, 'workers', 'bullmq-raw-worker.mjs'), url, name, ...(sandboxed ? ['sandboxed'] : [])];
  const workers = await Promise.all([0, 1].map(() => startChild(process.execPath, workerArgs, /ready/, 'raw BullMQ worker')));
  const queue = new Queue(name, { connection, streams: { events: { maxLen: 2_000_000 } }, defaultJobOptions: { removeOnComplete: true } });
  // From the stream's start (empty: a fresh queue), not '$': an event written before the first
  // read would be missed.
  const events = new QueueEvents(name, { connection, lastEventId: '0' });
  await events.waitUntilReady();
  // Completions by job id, as a raw BullMQ user collects them.
  const waiting = new Map();
  events.on('completed', ({ jobId }) => {
    const done = waiting.get(jobId);
    if (done !== undefined) {
      waiting.delete(jobId);
      done();
    } else {
      early.add(jobId);
    }
  });
  const completion = (id) => new Promise((resolve) => waiting.set(id, resolve));
  try {
    const addEach = async (n) => {
      const done = [];
      await Promise.all(Array.from({ length: n }, (_, i) => queue.add('t', { x: i }).then((job) => done.push(completionOrDone(job.id)))));
      await Promise.all(done);
    };
    await addEach(sandboxed ? 100 : 1000); // warm-up
    if (sandboxed) return { trip, close };
    const d1 = [];
    for (let r = 0; r < REPS; r++) {
      const start = performance.now();
      // Completion promises are made as each add returns, before its job can complete unseen.
      const done = [];
      await Promise.all(Array.from({ length: D1_TASKS }, (_, i) => queue.add('t', { x: i }).then((job) => done.push(completionOrDone(job.id)))));
      await Promise.all(done);
      d1.push(D1_TASKS / ((performance.now() - start) / 1000));
    }
    log(`[distributed] raw BullMQ D1: ${d1.map(Math.round).join(', ')} tasks/s`);
    const d2 = [];
    for (let r = 0; r < REPS; r++) {
      const start = performance.now();
      const done = [];
      for (let first = 0; first < D2_RAW_ITEMS; first += 1000) {
        const jobs = await queue.addBulk(Array.from({ length: Math.min(1000, D2_RAW_ITEMS - first) }, (_, i) => ({ name: 't', data: { x: first + i } })));
        for (const job of jobs) done.push(completionOrDone(job.id));
      }
      await Promise.all(done);
      d2.push(D2_RAW_ITEMS / ((performance.now() - start) / 1000));
    }
    log(`[distributed] raw BullMQ D2: ${d2.map(Math.round).join(', ')} items/s (${D2_RAW_ITEMS} jobs)`);
    return { d1: median(d1), d2: median(d2), trip, close };
  } catch (error) {
    await close();
    throw error;
  }

  async function trip(i) {
    const start = performance.now();
    // (`job.waitUntilFinished` cannot see a job removed on completion: the same waiter as above.)
    const id = `trip-${i}`;
    const done = completion(id);
    await queue.add('t', { x: i }, { jobId: id });
    await done;
    return performance.now() - start;
  }

  async function close() {
    await events.close();
    await queue.close();
    await stopChildren(workers);
  }

  /** A job may complete before its add's reply is read: its event then came first. */
  function completionOrDone(id) {
    if (early.delete(id)) return Promise.resolve();
    return completion(id);
  }
}
// Completed events for ids nobody waited for yet (the job finished before `add` returned).
const early = new Set();

// ---------------------------------------------------------------- run
const redis = await startRedis();
const { port, url } = redis;
const redisVersion = readRedisVersion();
log(`[distributed] redis-server ${redisVersion} on port ${port}; two hosts of one worker each, per contender`);
let ours;
let raw;
let sandboxed;
try {
  const oursSide = await benchOurs(url);
  try {
    const rawSide = await benchRaw(url, port);
    try {
      const sandboxedSide = await benchRaw(url, port, true);
      try {
        // D3 alternates blocks of round trips of the contenders, so that all see the same machine
        // (others' load on a shared host moves latencies by milliseconds); the idle sides' hosts
        // wait blocked on Redis and cost nothing. Raw BullMQ runs its task on the host's event
        // loop (the goal's reference) and, for comparison, as a sandboxed processor on a worker
        // thread, which is where this package's hosts run theirs (a local pool).
        const sides = [
          ['ours', oursSide],
          ['raw', rawSide],
          ['sandboxed', sandboxedSide],
        ];
        const trips = { ours: [], raw: [], sandboxed: [] };
        const BLOCK = 25;
        for (let i = 0; i < 20; i++) for (const [, contender] of sides) await contender.trip(i); // warm-up
        for (let block = 0; block < D3_ROUND_TRIPS / BLOCK; block++) {
          for (const [side, contender] of sides) {
            for (let i = 0; i < BLOCK; i++) trips[side].push(await contender.trip(1000 + block * BLOCK + i));
          }
        }
        ours = { d1: oursSide.d1, d2: oursSide.d2, d3: median(trips.ours), d3p99: percentile(trips.ours, 0.99) };
        raw = { d1: rawSide.d1, d2: rawSide.d2, d3: median(trips.raw), d3p99: percentile(trips.raw, 0.99) };
        sandboxed = { d3: median(trips.sandboxed), d3p99: percentile(trips.sandboxed, 0.99) };
        log(`[distributed] D3 p50: ours ${ours.d3.toFixed(3)} ms, raw BullMQ ${raw.d3.toFixed(3)} ms, raw BullMQ sandboxed ${sandboxed.d3.toFixed(3)} ms`);
      } finally {
        await sandboxedSide.close();
      }
      ours.abort = await oursSide.abort();
      log(`[distributed] abort of a running remote task: reaches it p50 ${ours.abort.reachP50.toFixed(2)} ms (max ${ours.abort.reachMax.toFixed(2)})`);
    } finally {
      await rawSide.close();
    }
  } finally {
    await oursSide.close();
  }
} finally {
  await redis.stop();
}

// ---------------------------------------------------------------- report
const fmtRate = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e4 ? `${Math.round(x / 1e3)}k` : `${(x / 1e3).toFixed(1)}k`);
const rows = [
  { id: 'D1', what: `${D1_TASKS.toLocaleString('en')} tiny tasks in flight`, ours: `${fmtRate(ours.d1)} tasks/s`, raw: `${fmtRate(raw.d1)} tasks/s`, ratio: ours.d1 / raw.d1, goal: '>= 2x raw', met: ours.d1 >= 2 * raw.d1 },
  { id: 'D2', what: `map of ${D2_ITEMS.toLocaleString('en')} tiny items`, ours: `${fmtRate(ours.d2)} items/s`, raw: `${fmtRate(raw.d2)} items/s`, ratio: ours.d2 / raw.d2, goal: '>= 200k items/s and >= 20x raw', met: ours.d2 >= 200_000 && ours.d2 >= 20 * raw.d2 },
  { id: 'D3', what: 'one-at-a-time round trip, p50', ours: `${ours.d3.toFixed(3)} ms`, raw: `${raw.d3.toFixed(3)} ms`, ratio: raw.d3 / ours.d3, goal: 'p50 <= 1.2x raw', met: ours.d3 <= 1.2 * raw.d3 },
];
const lines = [
  '',
  `Distributed: concurrent-futures/distributed vs raw BullMQ (redis-server ${redisVersion}, 2 hosts x 1 worker each${QUICK ? ', --quick' : ''})`,
  '',
  '| workload | ours | raw BullMQ | ours vs raw | goal | met |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.id} ${r.what} | ${r.ours} | ${r.raw} | ${r.ratio.toFixed(2)}x | ${r.goal} | ${r.met ? 'yes' : 'NO'} |`),
  '',
  `ours vs raw: > 1 means ours is better (D3: raw p50 / ours p50). D2 raw ran on ${D2_RAW_ITEMS.toLocaleString('en')} jobs. p99 round trip: ours ${ours.d3p99.toFixed(3)} ms, raw ${raw.d3p99.toFixed(3)} ms.`,
  `D3 for comparison, raw BullMQ with its task as a sandboxed processor on a worker thread (as this package's hosts run tasks, on a local pool, off the event loop that keeps the job's lock): p50 ${sandboxed.d3.toFixed(3)} ms (ours vs it: ${(sandboxed.d3 / ours.d3).toFixed(2)}x, > 1 means ours is faster), p99 ${sandboxed.d3p99.toFixed(3)} ms.`,
  `run()'s signal aborting a running remote task (${ours.abort.n} times; goal: reaches it within 100 ms): the task sees it p50 ${ours.abort.reachP50.toFixed(2)} ms after abort() (max ${ours.abort.reachMax.toFixed(2)}), its future settles p50 ${ours.abort.settleP50.toFixed(2)} ms after (max ${ours.abort.settleMax.toFixed(2)}); a task ignoring it is stopped by its host, its future failing p50 ${ours.abort.forcedP50.toFixed(0)} ms after (abortGrace 100 ms; max ${ours.abort.forcedMax.toFixed(0)}).`,
];
console.log(lines.join('\n'));
const out = path.join(HERE, 'results.distributed.json');
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, redis: redisVersion, quick: QUICK, cpus: os.availableParallelism(), ours, raw, sandboxed, rows: rows.map(({ id, what, ours: o, raw: w, ratio, goal, met }) => ({ id, what, ours: o, raw: w, ratio: Number(ratio.toFixed(2)), goal, met })) }, null, 2) + '\n');
log(`[distributed] wrote ${path.relative(process.cwd(), out)}`);

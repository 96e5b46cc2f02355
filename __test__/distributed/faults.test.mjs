// Faults, with a real Redis and hosts as child processes: a host killed mid-task has its job run
// by another host (which aborts it at once if its client aborted it meanwhile); Redis going away
// fails the submits made meanwhile, loses nothing queued, and clients and hosts reconnect when it
// is back.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import test from 'ava';
import { Redis } from 'ioredis';

import { currentTask, FuturesError, WorkerCrashedError } from '../../esm/index.mjs';
import { DistributedExecutor } from '../../esm/distributed.mjs';
import { redisServer, SKIP_MESSAGE, startHost, startRedis, uniqueQueue, until } from './helpers.mjs';

const run = redisServer ? test.serial : test.skip;
if (!redisServer) test.skip(SKIP_MESSAGE, () => {});

const scratch = mkdtempSync(path.join(tmpdir(), 'cf-dist-faults-'));
/** Short lock and stalled-check intervals, so that a dead host's job moves in about a second (the defaults: 10 s and 5 s). */
const FAST_HANDOVER = ['--lock-duration', '1000', '--stalled-interval', '500', '--max-workers', '1'];

/** Waits until `file` exists, then returns the id of the process it ran in: which host ran it. */
const pidOnceReleased = async (file) => {
  const fs = process.getBuiltinModule('node:fs');
  while (!fs.existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 5));
  return process.pid;
};

run('a host killed mid-task: the job runs again on another host', async (t) => {
  const redis = await startRedis();
  const queue = uniqueQueue('killed');
  const first = await startHost(redis.url, ['--queue', queue, ...FAST_HANDOVER]);
  const ex = new DistributedExecutor({ connection: redis.url, queue });
  let second;
  try {
    const release = path.join(scratch, 'release-killed');
    const future = ex.submit(pidOnceReleased, release);
    await until(() => future.running(), 'the first host to start the task');
    await first.kill();
    second = await startHost(redis.url, ['--queue', queue, ...FAST_HANDOVER]);
    writeFileSync(release, '');
    t.is(await future.result(30_000), second.pid);
  } finally {
    await ex.shutdown({ wait: false });
    await second?.stop();
    await redis.stop();
  }
});

/** Leaves a file named after the host's pid in `dir`, then runs until its host is killed. */
const recordThenRunForever = async (dir) => {
  process.getBuiltinModule('node:fs').writeFileSync(`${dir}/${process.pid}`, '');
  await new Promise(() => setInterval(() => {}, 1000));
};

run('a job whose hosts keep dying under it fails with WorkerCrashedError once BullMQ gives up on it', async (t) => {
  const redis = await startRedis();
  const queue = uniqueQueue('crashing');
  const ex = new DistributedExecutor({ connection: redis.url, queue });
  const dir = path.join(scratch, 'starts');
  mkdirSync(dir);
  let last;
  try {
    const future = ex.submit(recordThenRunForever, dir);
    // BullMQ hands a stalled job on once (maxStalledCount 1): two hosts die under it, the third fails it.
    for (let i = 0; i < 2; i++) {
      const host = await startHost(redis.url, ['--queue', queue, ...FAST_HANDOVER]);
      await until(() => existsSync(path.join(dir, String(host.pid))), `host ${i + 1} to start the task`);
      await host.kill();
    }
    last = await startHost(redis.url, ['--queue', queue, ...FAST_HANDOVER]);
    const error = await t.throwsAsync(future.result(30_000), { instanceOf: WorkerCrashedError });
    t.regex(error.message, /stalled-job limit/);
    t.false(existsSync(path.join(dir, String(last.pid))), 'the third host did not run it');
  } finally {
    await ex.shutdown({ wait: false });
    await last?.stop();
    await redis.stop();
  }
});

/** Leaves `file`, then spins until its own signal fires; returns its host's pid and the reason it saw. */
const spinUntilAborted = (file) => {
  process.getBuiltinModule('node:fs').writeFileSync(file, String(process.pid));
  const { signal } = currentTask();
  while (!signal.aborted);
  return { pid: process.pid, reason: signal.reason };
};

run("run()'s signal aborted while its host is dead: the host that takes the job next aborts the task as it starts it", async (t) => {
  const redis = await startRedis();
  const queue = uniqueQueue('abort-dead-host');
  const first = await startHost(redis.url, ['--queue', queue, ...FAST_HANDOVER]);
  const ex = new DistributedExecutor({ connection: redis.url, queue });
  let second;
  try {
    const started = path.join(scratch, 'abort-dead-host');
    const controller = new AbortController();
    const future = ex.run(spinUntilAborted, [started], { signal: controller.signal });
    await until(() => existsSync(started) && future.running(), 'the first host to start the task');
    await first.kill();
    // Published to no host; kept in Redis for the next one, which aborts the task as it takes the
    // job (before its pool starts it, or as it spins): the future fails with the reason, or ends
    // with what the task saw. Without that, the task would spin on the second host for ever.
    const reason = new Error('aborted while no host ran it');
    controller.abort(reason);
    second = await startHost(redis.url, ['--queue', queue, ...FAST_HANDOVER]);
    const outcome = await future.result(30_000).then(
      (value) => value,
      (error) => error,
    );
    if (outcome === reason) t.pass('stopped before it started on the second host');
    else t.like(outcome, { pid: second.pid, reason: { message: reason.message } });
  } finally {
    await ex.shutdown({ wait: false });
    await second?.stop();
    await redis.stop();
  }
});

run('Redis away: a submit fails that future at once and clearly; what was queued survives; client and hosts reconnect', async (t) => {
  const redis = await startRedis();
  const served = uniqueQueue('served');
  const waiting = uniqueQueue('waiting');
  const host = await startHost(redis.url, ['--queue', served, '--max-workers', '1']);
  const ex = new DistributedExecutor({ connection: redis.url, queue: waiting });
  const live = new DistributedExecutor({ connection: redis.url, queue: served });
  let restarted;
  let late;
  try {
    t.is(await live.submit((x) => x + 1, 1), 2);
    const queued = ex.submit((x) => x * 10, 4);
    const admin = new Redis(redis.port, '127.0.0.1');
    admin.on('error', () => {});
    await until(async () => (await admin.llen(`bull:${waiting}:wait`)) === 1, 'the job to be queued');
    // Down, keeping what it holds: restarted below on the same port and directory.
    // (Its reply never comes: the server exits.)
    admin.call('SHUTDOWN', 'SAVE').catch(() => {});
    await new Promise((resolve) => (redis.child.exitCode !== null ? resolve() : redis.child.once('exit', resolve)));
    admin.disconnect();

    const lost = ex.submit((x) => x, 'while down');
    const error = await t.throwsAsync(lost.result(10_000), { instanceOf: FuturesError });
    t.regex(error.message, /could not queue the task: Redis at 127\.0\.0\.1:\d+ is unreachable/);
    t.false(queued.done());

    restarted = await startRedis({ port: redis.port, dir: redis.dir });
    late = await startHost(restarted.url, ['--queue', waiting, '--max-workers', '1']);
    t.is(await queued.result(30_000), 40, 'the job queued before Redis went away ran once it was back');
    // A client submits again once its connection is back (until then, a submit fails at once):
    // the first one that goes through is run by the host that lost Redis.
    let again;
    await until(async () => {
      again = live.submit((x) => x + 1, 2);
      return (await again.exception(30_000)) === undefined;
    }, 'a submit to go through after the restart', 30_000);
    t.is(await again, 3, 'the host that lost Redis took jobs again');
  } finally {
    await Promise.all([ex.shutdown({ wait: false }), live.shutdown({ wait: false })]);
    await host.stop();
    await late?.stop();
    await restarted?.stop();
    await redis.stop();
  }
});

run('an idle executor whose Redis went away does not keep its process alive while it reconnects', async (t) => {
  const redis = await startRedis();
  const queue = uniqueQueue('gone');
  const host = await startHost(redis.url, ['--queue', queue, '--max-workers', '1']);
  try {
    const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'idle-after-redis-gone.mjs');
    const { stdout } = await promisify(execFile)(process.execPath, [fixture, redis.url, queue, String(redis.child.pid)], { timeout: 30_000 });
    t.is(stdout.trim(), 'result 42');
  } finally {
    await host.stop();
    await redis.stop();
  }
});

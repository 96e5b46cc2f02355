// DistributedExecutor against a real Redis, with two worker hosts started through the CLI: the
// executor contract (futures, errors, cancel, running, map, wait/asCompleted, shutdown, run's
// signal and timeout reaching the remote task) over the network.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import test from 'ava';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

import { asCompleted, CancelledError, currentTask, Future, FuturesError, ShutdownError, ThreadPoolExecutor, TimeoutError, wait } from '../../esm/index.mjs';
import { DistributedExecutor } from '../../esm/distributed.mjs';
import { redisServer, root, SKIP_MESSAGE, startHost, startRedis, uniqueQueue, until } from './helpers.mjs';

const run = redisServer ? test : test.skip;
if (!redisServer) test.skip(SKIP_MESSAGE, () => {});

const QUEUE = uniqueQueue('shared');
let redis;
const hosts = [];
const scratch = mkdtempSync(path.join(tmpdir(), 'cf-dist-'));

test.before(async () => {
  if (!redisServer) return;
  redis = await startRedis();
  hosts.push(...(await Promise.all([startHost(redis.url, ['--queue', QUEUE, '--max-workers', '1']), startHost(redis.url, ['--queue', QUEUE, '--max-workers', '1'])])));
});

test.after.always(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  await redis?.stop();
});

/** An executor on the queue the two hosts serve. */
function served() {
  return new DistributedExecutor({ connection: redis.url, queue: QUEUE });
}

/** An executor on a queue no host serves (its jobs wait), and a BullMQ view of that queue; both closed after the test. */
function unserved(t, label) {
  const queue = uniqueQueue(label);
  const ex = new DistributedExecutor({ connection: redis.url, queue });
  const jobs = new Queue(queue, { connection: { host: '127.0.0.1', port: redis.port } });
  jobs.on('error', () => {}); // a failed test's teardown may come after Redis stopped
  t.teardown(async () => {
    await ex.shutdown({ wait: false });
    await jobs.close();
  });
  return { ex, queue, jobs };
}

/** A task that waits until `file` exists (the test decides when it ends), then returns `value`. */
const waitForFile = async (file, value) => {
  const fs = process.getBuiltinModule('node:fs');
  while (!fs.existsSync(file)) await new Promise((resolve) => setTimeout(resolve, 5));
  return value;
};
let files = 0;
const scratchFile = () => path.join(scratch, `f${++files}`);

run('submit: a value of any clonable kind comes back as structuredClone gives it', async (t) => {
  const ex = served();
  const arg = { when: new Date(0), map: new Map([[1, 2n]]), none: undefined, minusZero: -0, bytes: new Uint8Array([1, 2, 3]), nested: [1, 'two', { three: 3 }] };
  const future = ex.submit((value) => value, arg);
  t.deepEqual(await future, structuredClone(arg));
  t.is(Object.is((await future).minusZero, -0), true);
  t.is(await ex.submit((a, b) => a + b, 2, 3), 5);
  t.regex(String(future), /state=finished returned Object/);
  await ex.shutdown();
});

run('errors keep their class, name, message, own properties, cause and remote stack; a thrown non-Error arrives as itself', async (t) => {
  const ex = served();
  const typeError = await t.throwsAsync(
    ex.submit((x) => {
      throw Object.assign(new TypeError(`bad ${x}`, { cause: new RangeError('inner') }), { code: 'E_BAD' });
    }, 7),
  );
  t.true(typeError instanceof TypeError);
  t.is(typeError.message, 'bad 7');
  t.is(typeError.code, 'E_BAD');
  t.true(typeError.cause instanceof RangeError);
  t.is(typeError.cause.message, 'inner');
  t.regex(typeError.stack, /bad 7/);
  const custom = await t.throwsAsync(
    ex.submit(() => {
      class QuotaError extends Error {
        name = 'QuotaError';
      }
      throw new QuotaError('over');
    }),
  );
  t.is(custom.name, 'QuotaError');
  t.is(custom.message, 'over');
  const thrown = ex.submit(() => {
    throw 42;
  });
  t.is(await thrown.exception(), 42);
  await ex.shutdown();
});

run('arguments are read at submit: what cannot be cloned throws from submit (the client lives on); later changes are not seen', async (t) => {
  const ex = served();
  const detached = new ArrayBuffer(8);
  structuredClone(detached, { transfer: [detached] });
  const bigWithFunction = new Array(2000).fill(0);
  bigWithFunction[1999] = () => 1;
  for (const bad of [{ pending: Promise.resolve(1) }, new WeakMap(), detached, bigWithFunction]) {
    t.throws(() => ex.submit((x) => x, bad), { name: 'DataCloneError' });
  }
  t.throws(() => ex.run((x) => x, [detached]), { name: 'DataCloneError' });
  // Changed right after submit, in the same tick: the task sees the values of the submit.
  const scratch = new Int32Array(1);
  const futures = [];
  for (let i = 0; i < 5; i++) {
    scratch[0] = i;
    futures.push(ex.submit((a) => a[0], scratch));
  }
  const date = new Date(1);
  const atSubmit = ex.submit((d) => d.getTime(), date);
  date.setTime(2);
  const big = new Array(2000).fill(1);
  const bigAtSubmit = ex.run((b) => b[0], [big]);
  big[0] = 2;
  t.deepEqual(await Promise.all(futures), [0, 1, 2, 3, 4]);
  t.is(await atSubmit, 1);
  t.is(await bigAtSubmit, 1);
  t.is(await ex.submit((x) => x + 1, 1), 2, 'the executor goes on');
  // A timeout past what a timer can count means none, as locally.
  t.is(await ex.run((x) => x * 2, [21], { timeout: Infinity }), 42);
  await ex.shutdown();
});

run("a result that cannot leave the host fails its own future (a SharedArrayBuffer deep in a large array); the host serves on", async (t) => {
  const ex = served();
  const error = await t.throwsAsync(
    ex.submit(() => {
      const items = new Array(2000).fill(0);
      items[1999] = new SharedArrayBuffer(4);
      return items;
    }),
    { name: 'DataCloneError' },
  );
  t.regex(error.message, /another machine/);
  t.deepEqual(await Promise.all([1, 2, 3, 4].map((x) => ex.submit((y) => y * 10, x))), [10, 20, 30, 40], 'both hosts serve on');
  await ex.shutdown();
});

run('a SharedArrayBuffer is refused with a TypeError naming it: from submit, and at its own item in map', async (t) => {
  const ex = served();
  const error = t.throws(() => ex.submit((v) => v, new Int32Array(new SharedArrayBuffer(8))));
  t.true(error instanceof TypeError);
  t.regex(error.message, /SharedArrayBuffer/);
  t.regex(error.message, /another machine/);
  t.throws(() => ex.run((v) => v, [{ memory: new SharedArrayBuffer(8) }]), { instanceOf: TypeError, message: /SharedArrayBuffer/ });
  const results = [];
  const mapError = await t.throwsAsync(async () => {
    for await (const value of ex.map((v) => (typeof v === 'number' ? v * 2 : 'shared'), [1, 2, new SharedArrayBuffer(4), 4], { chunksize: 2 })) results.push(value);
  });
  t.deepEqual(results, [2, 4]);
  t.true(mapError instanceof TypeError);
  t.regex(mapError.message, /SharedArrayBuffer/);
  await ex.shutdown();
});

run('cancel() removes a waiting job: the future is cancelled and the task never runs', async (t) => {
  const { ex, queue, jobs } = unserved(t, 'cancel');
  const mark = scratchFile();
  const earlyMark = scratchFile();
  const writeMark = (file) => process.getBuiltinModule('node:fs').writeFileSync(file, 'ran');
  const future = ex.submit(writeMark, mark);
  // Cancelled in the tick it was submitted in: it is never sent.
  const early = ex.submit(writeMark, earlyMark);
  t.true(early.cancel());
  await until(async () => (await jobs.getWaitingCount()) === 1, 'the job to be queued');
  t.false(future.running());
  t.true(future.cancel());
  t.true(future.cancelled());
  await t.throwsAsync(future, { instanceOf: CancelledError });
  await until(async () => (await jobs.getWaitingCount()) === 0, 'the job to leave the queue');
  // A host now serving the queue runs a later task, and never the cancelled one.
  const host = await startHost(redis.url, ['--queue', queue, '--max-workers', '1']);
  try {
    t.is(await ex.submit((x) => x + 1, 1), 2);
    t.false(existsSync(mark));
    t.false(existsSync(earlyMark));
    t.true(early.cancelled());
  } finally {
    await host.stop();
    await ex.shutdown();
    await jobs.close();
  }
});

run('running() once a host took the job; cancel() of a running task is false', async (t) => {
  const ex = served();
  const release = scratchFile();
  const future = ex.submit(waitForFile, release, 'done');
  await until(() => future.running(), 'the task to start');
  t.false(future.cancel());
  t.false(future.done());
  writeFileSync(release, '');
  t.is(await future, 'done');
  t.true(future.done());
  await ex.shutdown();
});

run('many submits in one tick share jobs; each future gets its own outcome', async (t) => {
  const { ex, queue, jobs } = unserved(t, 'grouped');
  const futures = Array.from({ length: 1000 }, (_, i) => ex.submit((x) => (x === 500 ? Promise.reject(new RangeError(`no ${x}`)) : x * 3), i));
  await until(async () => (await jobs.getWaitingCount()) > 0, 'the jobs to be queued');
  const waiting = await jobs.getWaitingCount();
  t.true(waiting < 1000 && waiting >= 1000 / 64, `${waiting} jobs for 1000 tasks`);
  t.true(futures[10].cancel(), 'a task in a waiting shared job can be cancelled');
  const host = await startHost(redis.url, ['--queue', queue, '--max-workers', '1']);
  try {
    const outcomes = await Promise.allSettled(futures);
    t.is(outcomes[0].value, 0);
    t.is(outcomes[999].value, 2997);
    t.is(outcomes[500].reason.message, 'no 500');
    t.true(outcomes[10].reason instanceof CancelledError);
    t.is(outcomes.filter((o) => o.status === 'fulfilled').length, 998);
  } finally {
    await host.stop();
    await ex.shutdown();
    await jobs.close();
  }
});

run('map: chunked into jobs; results in order; an item error fails its own position only; break removes waiting chunks', async (t) => {
  const { ex, queue, jobs } = unserved(t, 'map');
  const it = ex.map((x) => x * 2, Array.from({ length: 100 }, (_, i) => i), { chunksize: 10 });
  await until(async () => (await jobs.getWaitingCount()) === 10, 'ten chunk jobs');
  await it.return();
  await until(async () => (await jobs.getWaitingCount()) === 0, 'the chunks to leave the queue');

  const host = await startHost(redis.url, ['--queue', queue, '--max-workers', '1']);
  try {
    const seen = [];
    const error = await t.throwsAsync(async () => {
      for await (const value of ex.map((x) => {
        if (x === 55) throw new RangeError('item 55');
        return x * 2;
      }, Array.from({ length: 100 }, (_, i) => i), { chunksize: 10 })) seen.push(value);
    });
    t.deepEqual(seen, Array.from({ length: 55 }, (_, i) => i * 2), 'the items before the failed one, even those of its chunk');
    t.true(error instanceof RangeError);
    t.is(error.message, 'item 55');
    // Several inputs are zipped, shortest wins; 'auto' chunks.
    const sums = [];
    for await (const value of ex.map((a, b) => a + b, [1, 2, 3, 4], [10, 20, 30])) sums.push(value);
    t.deepEqual(sums, [11, 22, 33]);
  } finally {
    await host.stop();
    await ex.shutdown();
    await jobs.close();
  }
});

run('map: timeout throws TimeoutError and withdraws the waiting chunks', async (t) => {
  const { ex, jobs } = unserved(t, 'map-timeout');
  const it = ex.map((x) => x, [1, 2, 3], { timeout: 100, chunksize: 1 });
  await t.throwsAsync(it.next(), { instanceOf: TimeoutError });
  await until(async () => (await jobs.getWaitingCount()) === 0, 'the chunks to leave the queue');
  t.deepEqual(await it.next(), { done: true, value: undefined });
  await ex.shutdown();
  await jobs.close();
});

run('map: a timeout while its chunks are on their way to Redis still withdraws them, once they arrive', async (t) => {
  const { ex, queue, jobs } = unserved(t, 'map-in-flight');
  // A fresh executor connects first: the deadline passes while the adds wait for that.
  const it = ex.map((x) => x, [1, 2, 3], { timeout: 1, chunksize: 1 });
  await t.throwsAsync(it.next(), { instanceOf: TimeoutError });
  const client = new Redis(redis.port, '127.0.0.1');
  t.teardown(() => client.disconnect());
  const events = async () => (await client.xrange(`bull:${queue}:events`, '-', '+')).map(([, fields]) => fields[1]);
  await until(async () => {
    const seen = await events();
    return seen.filter((e) => e === 'added').length === 3 && seen.filter((e) => e === 'removed').length === 3;
  }, 'three chunks added, then removed');
  t.is(await jobs.getWaitingCount(), 0);
});

run('map: buffersize reads the input lazily, with at most n + 1 items in flight', async (t) => {
  const ex = served();
  let read = 0;
  function* naturals() {
    for (let i = 0; ; i++) {
      read++;
      yield i;
    }
  }
  const got = [];
  for await (const value of ex.map((x) => x * x, naturals(), { buffersize: 4 })) {
    got.push(value);
    if (got.length === 20) break;
  }
  t.deepEqual(got, Array.from({ length: 20 }, (_, i) => i * i));
  t.true(read <= 20 + 4 + 1, `read ${read} items`);
  await ex.shutdown();
});

run('futures mix with local ones and bare ones in wait and asCompleted', async (t) => {
  const ex = served();
  const local = new ThreadPoolExecutor({ maxWorkers: 1 });
  const remote = ex.submit((x) => x + 1, 1);
  const nearby = local.submit((x) => x + 2, 1);
  const bare = new Future();
  const first = await wait([remote, nearby, bare], { returnWhen: 'FIRST_COMPLETED' });
  t.true(first.done.size >= 1 && first.notDone.has(bare));
  const all = await wait([remote, nearby]);
  t.deepEqual(all.done, new Set([remote, nearby]));
  t.is(await remote, 2);
  t.is(await nearby, 3);
  bare.setResult(0);
  const order = [];
  for await (const future of asCompleted([ex.submit((x) => x, 'r'), local.submit((x) => x, 'l'), bare])) order.push(await future);
  t.deepEqual(order.sort(), [0, 'l', 'r']);
  await ex.shutdown();
  await local.shutdown();
});

run('shutdown({ wait }) resolves once queued and running tasks are done; later submits throw ShutdownError', async (t) => {
  const ex = served();
  const futures = Array.from({ length: 6 }, (_, i) => ex.submit(async (x) => new Promise((resolve) => setTimeout(() => resolve(x), 20)), i));
  await ex.shutdown({ wait: true });
  t.true(futures.every((f) => f.done()));
  t.deepEqual(await Promise.all(futures), [0, 1, 2, 3, 4, 5]);
  t.throws(() => ex.submit((x) => x, 1), { instanceOf: ShutdownError });
  t.throws(() => ex.map((x) => x, [1]), { instanceOf: ShutdownError });
  await ex.shutdown(); // idempotent
});

run('shutdown({ cancelFutures }) cancels what has not started and withdraws its jobs', async (t) => {
  const { ex, jobs } = unserved(t, 'shutdown-cancel');
  const futures = [1, 2, 3].map((x) => ex.submit((v) => v, x));
  await until(async () => (await jobs.getWaitingCount()) === 3, 'the jobs to be queued');
  await ex.shutdown({ wait: true, cancelFutures: true });
  t.true(futures.every((f) => f.cancelled()));
  await until(async () => (await jobs.getWaitingCount()) === 0, 'the jobs to leave the queue');
  await jobs.close();
});

run("run(): an aborted signal cancels a waiting task (cause: the signal's reason) and removes its job", async (t) => {
  const { ex, jobs } = unserved(t, 'run-signal');
  const already = ex.run((x) => x, [1], { signal: AbortSignal.abort('early') });
  t.true(already.cancelled());
  const controller = new AbortController();
  const waiting = ex.run((x) => x, [2], { signal: controller.signal });
  await until(async () => (await jobs.getWaitingCount()) === 1, 'the job to be queued');
  controller.abort('changed my mind');
  t.true(waiting.cancelled());
  const cancelled = await t.throwsAsync(waiting, { instanceOf: CancelledError });
  t.is(cancelled.cause, 'changed my mind');
  await until(async () => (await jobs.getWaitingCount()) === 0, 'the job to leave the queue');
  await ex.shutdown();
  await jobs.close();
});

/**
 * Leaves `file` (it has started: `running()` says only that a host took its job, which may wait
 * in the host's pool behind another), then spins until its own signal fires, never yielding, and
 * returns what it saw.
 */
const spinUntilAborted = (file) => {
  if (file !== undefined) process.getBuiltinModule('node:fs').writeFileSync(file, '');
  const { signal } = currentTask();
  while (!signal.aborted);
  const reason = signal.reason;
  return { aborted: true, reason: reason instanceof Error ? `${reason.name}: ${reason.message}` : reason };
};

run("run(): a signal aborted while the task runs fires the remote task's own signal, with the reason; the future settles with the task's outcome", async (t) => {
  const ex = served();
  const controller = new AbortController();
  const started = scratchFile();
  t.teardown(() => controller.abort()); // a spinning task never holds a shared host after a failure
  const future = ex.run(spinUntilAborted, [started], { signal: controller.signal });
  // Started on its host, and this client has heard so (before that, an abort cancels it).
  await until(() => existsSync(started) && future.running(), 'the task to start');
  t.false(future.cancel(), 'a running task cannot be cancelled');
  controller.abort('stop now');
  // The remote loop ends only if the abort reached it; the future then settles with its value.
  t.deepEqual(await future.result(20_000), { aborted: true, reason: 'stop now' });

  // A task that throws on abort: its error (here the reason it was given) fails the future.
  const throwing = new AbortController();
  t.teardown(() => throwing.abort());
  const throwerStarted = scratchFile();
  const thrower = ex.run(
    (file) => {
      process.getBuiltinModule('node:fs').writeFileSync(file, '');
      const { signal } = currentTask();
      while (!signal.aborted);
      signal.throwIfAborted();
    },
    [throwerStarted],
    { signal: throwing.signal },
  );
  await until(() => existsSync(throwerStarted) && thrower.running(), 'the second task to start');
  throwing.abort(new RangeError('enough'));
  const error = await t.throwsAsync(thrower.result(20_000));
  t.true(error instanceof RangeError);
  t.is(error.message, 'enough');
  await ex.shutdown();
});

run('run(): a remote task that ignores its signal is stopped on its host after abortGrace; the future fails with the reason; the host serves on', async (t) => {
  // A host of its own: the next task must run on the host that stopped the first.
  const queue = uniqueQueue('run-forced');
  const host = await startHost(redis.url, ['--queue', queue, '--max-workers', '1']);
  const ex = new DistributedExecutor({ connection: redis.url, queue });
  try {
    const controller = new AbortController();
    const started = scratchFile();
    const stuck = ex.run(
      (file) => {
        process.getBuiltinModule('node:fs').writeFileSync(file, '');
        for (;;);
      },
      [started],
      { signal: controller.signal },
    );
    await until(() => existsSync(started) && stuck.running(), 'the task to start');
    const reason = new Error('stop the loop');
    controller.abort(reason);
    t.is(await stuck.exception(20_000), reason, "the future fails with the signal's own reason");
    t.is(await ex.submit(() => process.pid, []), host.pid);
    t.is(await ex.run((x) => x * 2, [21], { signal: new AbortController().signal }), 42);
    t.is(host.child.exitCode, null);
  } finally {
    await ex.shutdown();
    await host.stop();
  }
});

run("map(): its signal reaches the items running on a host, as on a local pool: their own signal fires, one that ignores it is stopped after abortGrace, and the host serves on", async (t) => {
  // A host of one worker of its own: a map item still running would hold it for good.
  const queue = uniqueQueue('map-signal');
  const host = await startHost(redis.url, ['--queue', queue, '--max-workers', '1']);
  const ex = new DistributedExecutor({ connection: redis.url, queue });
  /** Leaves `file`, then loops: until its own signal fires (`cooperative`), or for ever. */
  const item = (file, cooperative) => {
    process.getBuiltinModule('node:fs').writeFileSync(file, '');
    if (!cooperative) for (;;);
    const { signal } = currentTask();
    while (!signal.aborted);
    process.getBuiltinModule('node:fs').writeFileSync(`${file}.saw`, String(signal.reason));
    return 'ended';
  };
  try {
    for (const cooperative of [true, false]) {
      const controller = new AbortController();
      t.teardown(() => controller.abort());
      const files = [scratchFile(), scratchFile(), scratchFile()];
      const it = ex.map(item, files, files.map(() => cooperative), { signal: controller.signal });
      const pending = it.next();
      await until(() => files.some((file) => existsSync(file)), 'an item to start');
      const reason = new Error('map stop');
      controller.abort(reason);
      t.is(await t.throwsAsync(pending), reason, "the pending next() rejects with the signal's reason");
      // The host's one worker is free again: the item ended when its signal fired, or was stopped.
      t.is(await ex.submit(() => process.pid, []).result(20_000), host.pid, `cooperative: ${cooperative}`);
      if (cooperative) t.is(files.filter((file) => existsSync(`${file}.saw`)).map((file) => readFileSync(`${file}.saw`, 'utf8')).join(), 'Error: map stop', "the running item saw the signal's reason");
      t.is(files.filter((file) => existsSync(file)).length, 1, 'the items not started never ran');
    }
    t.is(host.child.exitCode, null);
  } finally {
    await ex.shutdown();
    await host.stop();
  }
});

run('run(): timeout is counted and enforced by the host from the moment the task starts: its signal fires, and one that ignores it fails with TimeoutError', async (t) => {
  const ex = served();
  // A cooperative task sees its own signal fire with a TimeoutError and returns.
  t.deepEqual(await ex.run(spinUntilAborted, [], { timeout: 100 }).result(20_000), { aborted: true, reason: 'TimeoutError: the task ran for more than its timeout of 100 ms' });
  // One that ignores it is stopped abortGrace later.
  const error = await t.throwsAsync(
    ex.run(() => {
      for (;;);
    }, [], { timeout: 50 }).result(20_000),
    { instanceOf: TimeoutError },
  );
  t.regex(error.message, /50 ms/);
  t.is(await ex.run((x) => x, [3], { timeout: 10_000 }), 3);
  t.throws(() => ex.run((x) => x, [1], { timeout: -1 }), { instanceOf: RangeError });
  t.throws(() => ex.run((x) => x, [1], { signal: 'no' }), { instanceOf: TypeError });
  t.throws(() => ex.run((x) => x, [1], { timeOut: 5 }), { instanceOf: TypeError, message: /did you mean 'timeout'/ });
  await ex.shutdown();
});

run('run(): time spent waiting in the queue does not count toward the timeout', async (t) => {
  const { ex, queue, jobs } = unserved(t, 'run-timeout-queued');
  const quick = ex.run((x) => x, ['ran'], { timeout: 300 });
  await until(async () => (await jobs.getWaitingCount()) === 1, 'the job to be queued');
  await new Promise((resolve) => setTimeout(resolve, 600)); // twice the timeout, waiting
  const host = await startHost(redis.url, ['--queue', queue, '--max-workers', '1']);
  try {
    t.is(await quick.result(20_000), 'ran');
  } finally {
    await host.stop();
  }
});

run('options are checked: an unknown key is a TypeError naming it; a bad connection is a TypeError', (t) => {
  t.throws(() => new DistributedExecutor({ connection: redis.url, queu: 'x' }), { instanceOf: TypeError, message: /'queu'.*did you mean 'queue'/ });
  t.throws(() => new DistributedExecutor({ connection: 'http://x' }), { instanceOf: TypeError, message: /redis:\/\// });
  t.throws(() => new DistributedExecutor({}), { instanceOf: TypeError });
});

run('an executor, used or not, does not keep its process alive once idle', async (t) => {
  const queue = QUEUE;
  const child = promisify(execFile)(process.execPath, [path.join(root, '__test__/distributed/fixtures/idle-client.mjs'), redis.url, queue], { timeout: 30_000 });
  const { stdout } = await child;
  t.is(stdout.trim(), 'result 42 true');
});

run('startWorkerHost in-process: runs jobs, and once closed lets its process end', async (t) => {
  const child = promisify(execFile)(process.execPath, [path.join(root, '__test__/distributed/fixtures/host-in-process.mjs'), redis.url, uniqueQueue('in-process')], { timeout: 30_000 });
  const { stdout } = await child;
  t.is(stdout.trim(), 'result 42, closed');
});

run('submit while Redis is unreachable fails that future with a clear error', async (t) => {
  const ex = new DistributedExecutor({ connection: 'redis://127.0.0.1:1', queue: uniqueQueue('nowhere') });
  const error = await t.throwsAsync(ex.submit((x) => x, 1), { instanceOf: FuturesError });
  t.regex(error.message, /could not queue the task: Redis at 127\.0\.0\.1:1 is unreachable/);
  await ex.shutdown();
});

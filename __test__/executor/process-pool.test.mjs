import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import {
  BrokenExecutor,
  BrokenProcessPool,
  CancelledError,
  Executor,
  Future,
  ProcessPoolExecutor,
  ShutdownError,
  task,
} from '../../esm/index.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name) => path.join(here, 'fixtures', name);
const tasksUrl = pathToFileURL(fixture('process-tasks.mjs'));
const t_ = (name) => task(tasksUrl, name);
const run = (file, ...args) => promisify(execFile)(process.execPath, [file, ...args], { encoding: 'utf8', timeout: 20_000 });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `true` while `pid` is a live process (a zombie awaiting its reaper counts as dead). */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (error.code === 'ESRCH') return false;
    throw error;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** The reaped-by-us check of the brief: `process.kill(pid, 0)` throws ESRCH. */
function reaped(pid) {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return error.code === 'ESRCH';
  }
}

async function withPool(options, body) {
  const ex = new ProcessPoolExecutor(options);
  try {
    return await body(ex);
  } finally {
    await ex.shutdown({ cancelFutures: true });
  }
}

/** Submits `count` slow pid tasks at once and returns the distinct pids that ran them. */
async function childPids(ex, count = 4, ms = 30) {
  return [...new Set(await Promise.all(Array.from({ length: count }, () => ex.submit(t_('pidLater'), ms))))];
}

// ---------------------------------------------------------------------------------------------
// Basics

test('submit runs a task in a child process', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    t.true(ex instanceof Executor);
    const f = ex.submit((a, b) => a ** b, 2, 10);
    t.true(f instanceof Future);
    t.is(await f, 1024);
    const pid = await ex.submit(() => process.pid);
    t.not(pid, process.pid);
    t.true(Number.isInteger(pid));
    t.is(await ex.submit(t_('pid')), pid, 'the idle child is reused');
  });
});

test('function forms, built-ins by path, task() references (ESM and CommonJS)', async (t) => {
  await withPool({ maxWorkers: 2 }, async (ex) => {
    function declared(x) {
      return x + 1;
    }
    const holder = {
      method(x) {
        return x + 3;
      },
    };
    t.is(await ex.submit(declared, 1), 2);
    t.is(await ex.submit(async (x) => x + 4, 1), 5);
    t.is(await ex.submit(holder.method, 1), 4);
    t.is(await ex.submit(Math.pow, 3, 4), 81);
    t.is(await ex.submit(JSON.stringify, { a: [1] }), '{"a":[1]}');
    t.is(await ex.submit(task(pathToFileURL(fixture('tasks.mjs')), 'add'), 2, 3), 5);
    t.is(await ex.submit(task(fixture('tasks.cjs')), 5), 15);
    t.is(await ex.submit(task(fixture('tasks.cjs'), 'negate'), 5), -5);
    const missing = await t.throwsAsync(ex.submit(task(pathToFileURL(fixture('tasks.mjs')), 'notAFunction')));
    t.true(missing instanceof TypeError);
    const factor = 3;
    const captured = t.throws(() => ex.submit((x) => x * factor, 2), { instanceOf: TypeError });
    t.regex(captured.message, /^submit\(\): factor is not defined in the worker; task functions are sent to workers by their source text/);
  });
});

test('values round-trip with structured-clone semantics', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const identity = (v) => v;
    const values = [
      0,
      NaN,
      -Infinity,
      'text ünïcødé \u{1F600}',
      null,
      undefined,
      12345678901234567890n,
      [1, , 3],
      { nested: { deep: [1, { x: 'y' }] } },
      new Date(0),
      new Map([[1, { a: 2 }]]),
      new Set(['a', 'b']),
      /re/gi,
      new Uint8Array([1, 2, 3]),
      new Float64Array([0.5, -1]),
      new DataView(new ArrayBuffer(4)),
    ];
    for (const value of values) t.deepEqual(await ex.submit(identity, value), value);
    t.true(Object.is(await ex.submit(identity, -0), -0));
    const cyclic = { name: 'c' };
    cyclic.self = cyclic;
    const back = await ex.submit(identity, cyclic);
    t.is(back.self, back);
  });
});

test('a large argument and result travel intact', async (t) => {
  t.timeout(30_000);
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const big = new Uint8Array(16 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4093) big[i] = i % 251;
    t.is(await ex.submit(t_('byteLength'), big), big.byteLength);
    const echoed = await ex.submit((v) => v, big);
    t.true(echoed instanceof Uint8Array);
    t.is(Buffer.compare(echoed, big), 0);
  });
});

test('map runs chunks in the children, in order, with errors at their position', async (t) => {
  await withPool({ maxWorkers: 2 }, async (ex) => {
    const out = [];
    for await (const v of ex.map((x, y) => x * y, [1, 2, 3, 4, 5, 6, 7], [10, 10, 10, 10, 10, 10, 10], { chunksize: 3 })) out.push(v);
    t.deepEqual(out, [10, 20, 30, 40, 50, 60, 70]);
    const got = [];
    const error = await t.throwsAsync(async () => {
      for await (const v of ex.map((x) => { if (x === 3) throw new RangeError('three'); return x; }, [1, 2, 3, 4], { chunksize: 2 })) got.push(v);
    });
    t.true(error instanceof RangeError);
    t.deepEqual(got, [1, 2]);
    const pids = new Set();
    for await (const pid of ex.map(t_('pidLater'), Array.from({ length: 8 }, () => 20), { chunksize: 1 })) pids.add(pid);
    t.false(pids.has(process.pid));
  });
});

// ---------------------------------------------------------------------------------------------
// Errors and bad data (CPython's test_deadlock: error at task pickle / result unpickle)

test('errors keep name, message, own properties, cause, class and the child stack', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const childPid = await ex.submit(t_('pid'));
    const error = await t.throwsAsync(ex.submit(t_('throwCoded'), 'bad value'));
    t.true(error instanceof RangeError);
    t.is(error.name, 'RangeError');
    t.is(error.message, 'bad value');
    t.is(error.code, 'E_CODED');
    t.deepEqual(error.details, { pid: childPid }, 'own properties, as set in the child');
    t.is(error.cause?.message, 'the cause');
    t.regex(error.stack, /process-tasks\.mjs/, 'the child-side stack is kept');
    const custom = await t.throwsAsync(
      ex.submit(() => {
        class ValidationError extends Error {
          constructor(m) {
            super(m);
            this.name = 'ValidationError';
          }
        }
        throw new ValidationError('nope');
      }),
    );
    t.is(custom.name, 'ValidationError');
    t.is(await ex.submit(() => { throw 42; }).exception(), 42);
    t.is(await ex.submit((x) => x + 1, 1), 2, 'the pool is still usable');
  });
});

test('an argument that cannot be cloned fails that submit; the pool stays usable', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    t.is(await ex.submit((x) => x, 'warm'), 'warm');
    t.throws(() => ex.submit((f) => f, () => 1), { name: 'DataCloneError', instanceOf: TypeError });
    t.throws(() => ex.submit((s) => s, Symbol('nope')), { name: 'DataCloneError' });
    t.throws(() => ex.submit((v) => v, new Int32Array(new SharedArrayBuffer(8))), { name: 'DataCloneError', message: /child process/ });
    t.throws(() => ex.submit((v) => v, { sab: new SharedArrayBuffer(8) }), { name: 'DataCloneError', message: /child process/ });
    await t.throwsAsync(ex.map((v) => v, [[() => 1]]).next(), { name: 'DataCloneError' });
    t.is(await ex.submit((x) => x + 1, 1), 2);
    const { queued, running } = ex.stats();
    t.deepEqual({ queued, running }, { queued: 0, running: 0 });
  });
});

test('a result that cannot be cloned fails that future; the pool stays usable', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const pid = await ex.submit(t_('pid'));
    const error = await t.throwsAsync(ex.submit(t_('returnFunction')));
    t.is(error.name, 'DataCloneError');
    t.true(error instanceof TypeError);
    const shared = await t.throwsAsync(ex.submit(t_('returnShared')));
    t.is(shared.name, 'DataCloneError');
    t.regex(shared.message, /child process/);
    t.is(await ex.submit((x) => x * 2, 21), 42);
    t.is(await ex.submit(t_('pid')), pid, 'the same child: nothing crashed');
  });
});

test('an argument whose encoding throws fails that submit; the pool stays usable', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const poisoned = {
      get value() {
        throw new Error('cannot read value');
      },
    };
    t.throws(() => ex.submit((v) => v, poisoned), { message: 'cannot read value' });
    t.is(await ex.submit((x) => x + 1, 1), 2);
  });
});

test('a task module that fails to load in the child fails that future; the pool stays usable', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const pid = await ex.submit(t_('pid'));
    const error = await t.throwsAsync(ex.submit(task(fixture('process-import-throws.mjs'))));
    t.is(error.message, 'this module fails to load');
    t.is(await ex.submit(t_('pid')), pid);
  });
});

test('a result whose encoding throws in the child fails that future; the pool stays usable', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const pid = await ex.submit(t_('pid'));
    const error = await t.throwsAsync(
      ex.submit(() => ({
        get value() {
          throw new RangeError('cannot read the result');
        },
      })),
    );
    t.true(error instanceof RangeError);
    t.is(error.message, 'cannot read the result');
    t.is(await ex.submit(t_('pid')), pid, 'the same child: nothing crashed');
  });
});

// ---------------------------------------------------------------------------------------------
// Options

test('options are checked, naming the option', (t) => {
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    t.throws(() => new ProcessPoolExecutor({ maxWorkers: bad }), { instanceOf: RangeError, message: /maxWorkers/ });
    t.throws(() => new ProcessPoolExecutor({ maxTasksPerChild: bad }), { instanceOf: RangeError, message: /maxTasksPerChild/ });
  }
  for (const bad of ['2', null, {}]) {
    t.throws(() => new ProcessPoolExecutor({ maxWorkers: bad }), { instanceOf: TypeError, message: /maxWorkers/ });
    t.throws(() => new ProcessPoolExecutor({ maxTasksPerChild: bad }), { instanceOf: TypeError, message: /maxTasksPerChild/ });
  }
  t.throws(() => new ProcessPoolExecutor({ initializer: 5 }), { instanceOf: TypeError, message: /initializer/ });
  t.throws(() => new ProcessPoolExecutor({ initargs: 5 }), { instanceOf: TypeError, message: /initargs/ });
  t.throws(() => new ProcessPoolExecutor({ initargs: [() => 1] }), { name: 'DataCloneError' });
  t.throws(() => new ProcessPoolExecutor({ execArgv: 'x' }), { instanceOf: TypeError, message: /execArgv/ });
  t.throws(() => new ProcessPoolExecutor({ env: 'x' }), { instanceOf: TypeError, message: /env/ });
  t.throws(() => new ProcessPoolExecutor(null), { instanceOf: TypeError });
  t.is(new ProcessPoolExecutor().maxWorkers, os.availableParallelism());
  t.is(new ProcessPoolExecutor({ maxWorkers: 3 }).maxWorkers, 3);
});

test('env and execArgv reach the children', async (t) => {
  await withPool({ maxWorkers: 1, env: { CF_TEST_VALUE: 'from-env' }, execArgv: ['--no-warnings', '--stack-size=900'] }, async (ex) => {
    t.is(await ex.submit(() => process.env.CF_TEST_VALUE), 'from-env');
    t.is(await ex.submit(() => process.env.PATH), undefined, 'env replaces the environment');
    t.deepEqual(await ex.submit(() => process.execArgv), ['--no-warnings', '--stack-size=900']);
  });
});

test('children start lazily, idle ones are reused, never more than maxWorkers', async (t) => {
  await withPool({ maxWorkers: 2 }, async (ex) => {
    const { workers, idle, queued, running, completed, runTime, waitTime, utilization } = ex.stats();
    t.deepEqual({ workers, idle, queued, running, completed }, { workers: 0, idle: 0, queued: 0, running: 0, completed: 0 });
    t.deepEqual([runTime.count, waitTime.count, runTime.p99, utilization], [0, 0, 0, 0], 'nothing timed yet');
    const first = await ex.submit(t_('pid'));
    t.is(await ex.submit(t_('pid')), first);
    t.is(await ex.submit(t_('pid')), first);
    t.is(ex.stats().workers, 1, 'an idle child is reused before a new one starts');
    const pids = await childPids(ex, 20, 10);
    t.true(pids.length <= 2);
    t.false(pids.includes(process.pid));
    const stats = ex.stats();
    t.true(stats.workers <= 2);
    t.like(stats, { queued: 0, running: 0, completed: 23 });
  });
});

test('maxTasksPerChild: with maxWorkers 1 and 3, tasks 1-3 share a child and task 4 has a new one', async (t) => {
  await withPool({ maxWorkers: 1, maxTasksPerChild: 3 }, async (ex) => {
    const pids = [];
    for (let i = 0; i < 7; i++) pids.push(await ex.submit(t_('pid')));
    t.is(pids[0], pids[1]);
    t.is(pids[1], pids[2]);
    t.not(pids[2], pids[3]);
    t.is(pids[3], pids[4]);
    t.is(pids[4], pids[5]);
    t.not(pids[5], pids[6]);
    await ex.shutdown();
    for (const pid of new Set(pids)) t.true(reaped(pid), `child ${pid} is gone`);
  });
});

test('maxTasksPerChild also holds when all tasks are submitted at once', async (t) => {
  await withPool({ maxWorkers: 1, maxTasksPerChild: 3 }, async (ex) => {
    const pids = await Promise.all(Array.from({ length: 9 }, () => ex.submit(t_('pid'))));
    t.deepEqual(pids.map((p) => pids.indexOf(p)), [0, 0, 0, 3, 3, 3, 6, 6, 6]);
  });
});

test('cancel(): a queued future never runs; a running one is not cancelled', async (t) => {
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const running = ex.submit((ms) => new Promise((r) => setTimeout(() => r('ran'), ms)), 200);
    const queued = ex.submit(t_('setGlobal'), 'cancelledRan', true);
    while (!running.running()) await sleep(5);
    t.false(running.cancel());
    t.true(queued.cancel());
    await t.throwsAsync(queued.result(), { instanceOf: CancelledError });
    t.is(await running, 'ran');
    t.is(await ex.submit(t_('readGlobal'), 'cancelledRan'), undefined, 'the cancelled task never ran');
  });
});

// ---------------------------------------------------------------------------------------------
// Initializer

test('an initializer runs once per child before its tasks, with initargs', async (t) => {
  await withPool({ maxWorkers: 1, initializer: t_('setGlobal'), initargs: ['configured', { n: 42 }] }, async (ex) => {
    t.deepEqual(await ex.submit(t_('readGlobal'), 'configured'), { n: 42 });
  });
});

test('a failing initializer breaks the pool: pending futures and later submits get BrokenProcessPool', async (t) => {
  t.timeout(30_000);
  const ex = new ProcessPoolExecutor({ maxWorkers: 2, initializer: t_('failingInit') });
  const fs = [1, 2, 3].map((x) => ex.submit((v) => v, x));
  for (const f of fs) {
    const error = await t.throwsAsync(f.result());
    t.true(error instanceof BrokenProcessPool);
    t.true(error instanceof BrokenExecutor);
  }
  const error = t.throws(() => ex.submit((x) => x, 1), { instanceOf: BrokenProcessPool });
  t.regex(error.message, /initializer/);
  t.is(error.cause?.message, 'init failed in the child');
  await ex.shutdown();
  t.is(ex.stats().workers, 0);
  t.throws(() => ex.submit((x) => x, 1), { instanceOf: BrokenProcessPool }, 'broken is checked before shutdown');
});

test('an initializer that exits the child breaks the pool', async (t) => {
  t.timeout(30_000);
  const ex = new ProcessPoolExecutor({ maxWorkers: 1, initializer: t_('exitingInit') });
  await t.throwsAsync(ex.submit((x) => x, 1).result(), { instanceOf: BrokenProcessPool });
  t.throws(() => ex.submit((x) => x, 1), { instanceOf: BrokenProcessPool });
  await ex.shutdown();
});

test('a child that cannot start (bad execArgv) breaks the pool instead of hanging', async (t) => {
  t.timeout(30_000);
  const ex = new ProcessPoolExecutor({ maxWorkers: 1, execArgv: ['--no-such-node-flag'] });
  await t.throwsAsync(ex.submit((x) => x, 1).result(), { instanceOf: BrokenProcessPool });
  await ex.shutdown();
  t.is(ex.stats().workers, 0);
});

// ---------------------------------------------------------------------------------------------
// Crashes (CPython's test_deadlock: crash / exit during a task, during shutdown, ...)

test('a child killed during a task breaks the pool: running and pending futures fail, submits throw', async (t) => {
  t.timeout(30_000);
  const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
  const pid = await ex.submit(t_('pid'));
  const dying = ex.submit(t_('killSelf'));
  const pending = [1, 2, 3].map((x) => ex.submit((v) => v, x));
  const error = await t.throwsAsync(dying.result(), { instanceOf: BrokenProcessPool });
  t.regex(error.message, /terminated abruptly.*SIGKILL/);
  for (const f of pending) await t.throwsAsync(f.result(), { instanceOf: BrokenProcessPool });
  t.throws(() => ex.submit((x) => x, 1), { instanceOf: BrokenProcessPool });
  t.throws(() => ex.map((x) => x, [1]), { instanceOf: BrokenProcessPool });
  await ex.shutdown();
  t.true(reaped(pid));
  t.is(ex.stats().workers, 0);
});

test('a child that calls process.exit during a task breaks the pool', async (t) => {
  t.timeout(30_000);
  const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
  const dying = ex.submit(t_('exitNow'), 0);
  const pending = ex.submit((v) => v, 1);
  const error = await t.throwsAsync(dying.result(), { instanceOf: BrokenProcessPool });
  t.regex(error.message, /exit code 0/);
  await t.throwsAsync(pending.result(), { instanceOf: BrokenProcessPool });
  t.throws(() => ex.submit((x) => x, 1), { instanceOf: BrokenProcessPool });
  await ex.shutdown();
});

test('a child killed while loading the task function breaks the pool', async (t) => {
  t.timeout(30_000);
  const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
  await t.throwsAsync(ex.submit(task(fixture('process-import-kills.mjs'))).result(), { instanceOf: BrokenProcessPool });
  t.throws(() => ex.submit((x) => x, 1), { instanceOf: BrokenProcessPool });
  await ex.shutdown();
});

test('a child that crashes or exits while its result is encoded breaks the pool', async (t) => {
  t.timeout(30_000);
  for (const die of [() => process.kill(process.pid, 'SIGKILL'), () => process.exit(0)]) {
    const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
    const f = ex.submit(
      (source) => ({
        get value() {
          (0, eval)(source)();
          return 1;
        },
      }),
      `(${die})`,
    );
    await t.throwsAsync(f.result(), { instanceOf: BrokenProcessPool });
    await ex.shutdown();
  }
});

test('a crash ends the other children; no child outlives the executor', async (t) => {
  t.timeout(30_000);
  const ex = new ProcessPoolExecutor({ maxWorkers: 2 });
  const pids = await childPids(ex, 6, 40);
  // One child takes the never-ending task, the other the crashing one (each wake takes a fair
  // share of the queue, here one record).
  const slow = ex.submit(t_('hang'));
  const dying = ex.submit(t_('killSelf'));
  const pending = [1, 2, 3].map((x) => ex.submit((v) => v, x));
  await t.throwsAsync(dying.result(), { instanceOf: BrokenProcessPool });
  for (const f of [slow, ...pending]) await t.throwsAsync(f.result(), { instanceOf: BrokenProcessPool });
  await ex.shutdown();
  for (const pid of pids) t.true(reaped(pid), `child ${pid} is gone`);
  t.is(ex.stats().workers, 0);
});

test('a crash during shutdown({ wait: true }) settles everything and shutdown resolves', async (t) => {
  t.timeout(30_000);
  const ex = new ProcessPoolExecutor({ maxWorkers: 2 });
  const pids = await childPids(ex);
  const dying = ex.submit(t_('killSelfAfter'), 100);
  const others = [ex.submit(t_('hang')), ex.submit((x) => x, 1), ex.submit((x) => x, 2)];
  await ex.shutdown({ wait: true });
  t.true(dying.done());
  await t.throwsAsync(dying.result(), { instanceOf: BrokenProcessPool });
  await t.throwsAsync(others[0].result(), { instanceOf: BrokenProcessPool });
  for (const f of others) t.true(f.done());
  for (const pid of pids) t.true(reaped(pid), `child ${pid} is gone`);
});

test('a crash while a large argument is in flight settles everything', async (t) => {
  t.timeout(30_000);
  const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
  const pid = await ex.submit(t_('killSelfSoon'), 1);
  const big = new Uint8Array(64 * 1024 * 1024);
  const f = ex.submit(t_('byteLength'), big);
  // Either the child died before it took the argument (the task then runs in a new child) or
  // while it had it: the future settles and the pool is left either usable or broken.
  const outcome = await f.then(
    (value) => value,
    (error) => error,
  );
  t.true(outcome === big.byteLength || outcome instanceof BrokenProcessPool, String(outcome));
  await ex.shutdown();
  t.true(reaped(pid));
});

test('a child that dies while idle is replaced; the pool stays usable', async (t) => {
  t.timeout(30_000);
  await withPool({ maxWorkers: 1 }, async (ex) => {
    const pid = await ex.submit(t_('killSelfSoon'), 1);
    // Reaped means its exit has been handled (Node emits `exit` as it reaps).
    while (!reaped(pid)) await sleep(10);
    const next = await ex.submit(t_('pid'));
    t.not(next, pid);
  });
});

// ---------------------------------------------------------------------------------------------
// terminateWorkers / killWorkers

test('terminateWorkers(): running futures fail with BrokenProcessPool, queued are cancelled, later submits throw ShutdownError', async (t) => {
  t.timeout(30_000);
  const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
  const pid = await ex.submit(t_('pid'));
  const running = ex.submit(t_('hang'));
  const queued = [1, 2].map((x) => ex.submit((v) => v, x));
  while (!running.running()) await sleep(5);
  await ex.terminateWorkers();
  t.true(running.done());
  const error = await t.throwsAsync(running.result(), { instanceOf: BrokenProcessPool });
  t.regex(error.message, /terminateWorkers/);
  for (const f of queued) t.true(f.cancelled());
  t.true(reaped(pid));
  t.throws(() => ex.submit((x) => x, 1), { instanceOf: ShutdownError });
  t.is(ex.stats().workers, 0);
  await ex.terminateWorkers();
  await ex.shutdown();
});

test('killWorkers() ends a child that ignores SIGTERM', async (t) => {
  t.timeout(30_000);
  const ex = new ProcessPoolExecutor({ maxWorkers: 2 });
  const pids = await childPids(ex);
  const stubborn = [ex.submit(t_('hangIgnoringSigterm')), ex.submit(t_('hangIgnoringSigterm'))];
  while (!stubborn.every((f) => f.running())) await sleep(5);
  await ex.killWorkers();
  for (const f of stubborn) await t.throwsAsync(f.result(), { instanceOf: BrokenProcessPool });
  for (const pid of pids) t.true(reaped(pid));
  t.throws(() => ex.submit((x) => x, 1), { instanceOf: ShutdownError });
});

test('terminateWorkers() resolves when a child ignores SIGTERM: it exits once idle, or gets SIGKILL after the grace period', async (t) => {
  t.timeout(30_000);
  const ex = new ProcessPoolExecutor({ maxWorkers: 2 });
  const pids = await childPids(ex);
  t.is(pids.length, 2);
  // One child ignores SIGTERM and finishes its task soon after it; the other ignores it and runs
  // on. Each says when its handler is in place.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cf-sigterm-'));
  const ready = [path.join(dir, 'finishing'), path.join(dir, 'stubborn')];
  const finishing = ex.submit(t_('finishAfterSigterm'), 300, ready[0]);
  const stubborn = ex.submit(t_('hangIgnoringSigterm'), ready[1]);
  while (!ready.every((file) => existsSync(file))) await sleep(5);
  rmSync(dir, { recursive: true, force: true });
  await ex.terminateWorkers();
  await t.throwsAsync(finishing.result(), { instanceOf: BrokenProcessPool });
  await t.throwsAsync(stubborn.result(), { instanceOf: BrokenProcessPool });
  for (const pid of pids) t.true(reaped(pid), `child ${pid} still alive`);
  t.is(ex.stats().workers, 0);

  // An idle child that ignores SIGTERM is told to exit.
  const idle = new ProcessPoolExecutor({ maxWorkers: 1 });
  const pid = await idle.submit(t_('ignoreSigtermFor'), 0);
  await idle.terminateWorkers();
  t.true(reaped(pid));
});

test('terminateWorkers() and killWorkers() are harmless with no child, or on a broken pool', async (t) => {
  t.timeout(30_000);
  const fresh = new ProcessPoolExecutor({ maxWorkers: 2 });
  await fresh.terminateWorkers();
  await fresh.killWorkers();
  t.throws(() => fresh.submit((x) => x, 1), { instanceOf: ShutdownError });

  const broken = new ProcessPoolExecutor({ maxWorkers: 1 });
  await t.throwsAsync(broken.submit(t_('killSelf')).result(), { instanceOf: BrokenProcessPool });
  await broken.terminateWorkers();
  await broken.killWorkers();
  t.throws(() => broken.submit((x) => x, 1), { instanceOf: BrokenProcessPool });

  const idle = new ProcessPoolExecutor({ maxWorkers: 1 });
  const pid = await idle.submit(t_('pid'));
  await idle.terminateWorkers();
  t.true(reaped(pid));
});

// ---------------------------------------------------------------------------------------------
// Shutdown and process lifetime

test('shutdown waits for pending work; no child pid is alive after it resolves', async (t) => {
  t.timeout(30_000);
  const ex = new ProcessPoolExecutor({ maxWorkers: 2 });
  const pids = await childPids(ex);
  const fs = [30, 30, 30].map((ms) => ex.submit((m) => new Promise((r) => setTimeout(() => r(m), m)), ms));
  await ex.shutdown();
  t.true(fs.every((f) => f.done() && !f.cancelled()));
  for (const pid of pids) t.true(reaped(pid), `child ${pid} is gone`);
  t.is(ex.stats().workers, 0);
  t.throws(() => ex.submit((x) => x, 1), { instanceOf: ShutdownError });
  await ex.shutdown();
});

test('shutdown({ cancelFutures: true }) cancels what has not started; wait: false resolves at once', async (t) => {
  t.timeout(30_000);
  const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
  const first = ex.submit((ms) => new Promise((r) => setTimeout(() => r('first'), ms)), 100);
  const rest = [1, 2, 3].map((x) => ex.submit((v) => v, x));
  while (!first.running()) await sleep(5);
  await ex.shutdown({ wait: false, cancelFutures: true });
  t.true(rest.every((f) => f.cancelled()));
  t.false(first.done());
  t.is(await first, 'first');
  await ex.shutdown();
});

test('Symbol.asyncDispose shuts the executor down', async (t) => {
  const ex = new ProcessPoolExecutor({ maxWorkers: 1 });
  const f = ex.submit((x) => x, 1);
  await ex[Symbol.asyncDispose]();
  t.true(f.done());
  t.throws(() => ex.submit((x) => x, 1), { instanceOf: ShutdownError });
});

test('an idle executor never keeps the process alive, and its children do not outlive it', async (t) => {
  t.timeout(30_000);
  const idle = await run(fixture('process-lifetime.mjs'));
  const { values, pids } = JSON.parse(idle.stdout);
  t.deepEqual(values, [10, 20, 30]);
  // The children end when their parent's channel closes; they are not ours to reap.
  for (const pid of pids) while (isAlive(pid)) await sleep(20);
  t.pass();
});

test('pending work keeps the process alive', async (t) => {
  const pending = await run(fixture('process-pending.mjs'));
  t.regex(pending.stdout.trim(), /^late result from \d+$/);
});

test('a top-level await of shutdown, terminateWorkers or killWorkers settles and the process exits cleanly', async (t) => {
  t.timeout(60_000);
  for (const how of ['wait', 'terminate', 'kill']) {
    const { stdout, stderr } = await run(fixture('process-shutdown.mjs'), how);
    t.regex(stdout, /shut down; alive: 0/, `${how}: ${stderr}`);
    if (how === 'terminate') t.regex(stdout, /running: BrokenProcessPool/);
  }
});

// Worker hosts: what they agree to run (`--only-tasks` refuses functions sent by source, and
// built-ins by path: `eval` is one; `--module` limits task() to an allow-list, and a refused module
// is never imported), `--pool process`, a task that breaks the local pool, and the CLI's argument
// errors.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import test from 'ava';

import { task } from '../../esm/index.mjs';
import { DistributedExecutor, startWorkerHost } from '../../esm/distributed.mjs';
import { cli, redisServer, root, SKIP_MESSAGE, startHost, startRedis, uniqueQueue, until } from './helpers.mjs';

const run = redisServer ? test : test.skip;
if (!redisServer) test.skip(SKIP_MESSAGE, () => {});

const fixtures = path.join(root, '__test__/distributed/fixtures');
const mark = path.join(mkdtempSync(path.join(tmpdir(), 'cf-dist-sec-')), 'refused-was-imported');
const ONLY_TASKS = uniqueQueue('only-tasks');
const LISTED = uniqueQueue('listed');
let redis;
const hosts = [];

test.before(async () => {
  if (!redisServer) return;
  redis = await startRedis();
  hosts.push(
    await startHost(redis.url, ['--queue', ONLY_TASKS, '--only-tasks', '--max-workers', '1']),
    // The allow-list names the module by a relative path: the host resolves it against its cwd (the repository).
    await startHost(redis.url, ['--queue', LISTED, '--module', './__test__/distributed/fixtures/allowed.mjs', '--max-workers', '1'], { CF_REFUSED_MARK: mark }),
  );
});

test.after.always(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  await redis?.stop();
});

run("--only-tasks: a function sent by source or a built-in by path is refused with a TypeError; task() runs", async (t) => {
  const ex = new DistributedExecutor({ connection: redis.url, queue: ONLY_TASKS });
  const bySource = await t.throwsAsync(ex.submit((x) => x, 1), { instanceOf: TypeError });
  t.regex(bySource.message, /only: 'tasks'.*refuses a function sent by its source text/);
  const byPath = await t.throwsAsync(ex.submit(eval, '1 + 1'), { instanceOf: TypeError });
  t.regex(byPath.message, /refuses the built-in eval/);
  t.is(await ex.submit(task(path.join(fixtures, 'allowed.mjs'), 'double'), 21), 42);
  await ex.shutdown();
});

run('--module: a listed module runs; another is refused, named, and never imported', async (t) => {
  const ex = new DistributedExecutor({ connection: redis.url, queue: LISTED });
  t.is(await ex.submit(task(path.join(fixtures, 'allowed.mjs'), 'double'), 4), 8);
  const refused = await t.throwsAsync(ex.submit(task(path.join(fixtures, 'refused.mjs'), 'triple'), 4), { instanceOf: TypeError });
  t.regex(refused.message, /does not run the module file:\/\/.*refused\.mjs/);
  t.false(existsSync(mark), 'the refused module was not imported');
  // Without --only-tasks, functions sent by source still run.
  t.is(await ex.submit((x) => x - 1, 4), 3);
  await ex.shutdown();
});

run('--pool process: a host runs its jobs in child processes of its own', async (t) => {
  const queue = uniqueQueue('process-pool');
  const host = await startHost(redis.url, ['--queue', queue, '--pool', 'process', '--max-workers', '1']);
  const ex = new DistributedExecutor({ connection: redis.url, queue });
  try {
    const [pid, parent] = await ex.submit(() => [process.pid, process.ppid]);
    t.not(pid, host.pid);
    t.is(parent, host.pid);
    t.deepEqual(await Promise.all([1, 2, 3].map((x) => ex.submit((v) => v * 5, x))), [5, 10, 15]);
  } finally {
    await ex.shutdown();
    await host.stop();
  }
});

run('a task that kills its worker fails alone (WorkerCrashedError), not the job its host took beside it; the host goes on', async (t) => {
  const queue = uniqueQueue('breaks');
  const host = await startHost(redis.url, ['--queue', queue, '--max-workers', '1']);
  const ex = new DistributedExecutor({ connection: redis.url, queue });
  try {
    await ex.submit((x) => x, 0);
    const crasher = ex.submit(async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      process.exit(3);
    });
    await until(() => crasher.running(), 'the crashing task to start');
    // Taken by the host while the crasher runs (one job beyond its maxWorkers), another client's
    // task, say: it must not pay for the crash.
    const beside = ex.submit(() => 'ran');
    const crashed = await t.throwsAsync(crasher);
    t.is(crashed.name, 'WorkerCrashedError');
    t.is(crashed.exitCode, 3);
    t.is(await beside, 'ran');
    t.is(await ex.submit((x) => x + 1, 1), 2);
    t.deepEqual(await Promise.all([1, 2].map((x) => ex.submit((v) => v * 2, x))), [2, 4]);
  } finally {
    await ex.shutdown();
    await host.stop();
  }
});

run('startWorkerHost checks its options: unknown keys, pool, only, modules', async (t) => {
  await t.throwsAsync(startWorkerHost({ connection: redis.url, maxworkers: 2 }), { instanceOf: TypeError, message: /'maxworkers'.*did you mean 'maxWorkers'/ });
  await t.throwsAsync(startWorkerHost({ connection: redis.url, pool: 'fiber' }), { instanceOf: TypeError, message: /pool/ });
  await t.throwsAsync(startWorkerHost({ connection: redis.url, only: 'modules' }), { instanceOf: TypeError, message: /only/ });
  await t.throwsAsync(startWorkerHost({ connection: redis.url, modules: 'x.mjs' }), { instanceOf: TypeError, message: /modules/ });
  await t.throwsAsync(startWorkerHost({ connection: redis.url, maxWorkers: 0 }), { instanceOf: RangeError });
});

run('the CLI: a missing --connection or an unknown flag exits with status 2 and says why', async (t) => {
  const exec = promisify(execFile);
  const missing = await t.throwsAsync(exec(process.execPath, [cli, 'worker']));
  t.is(missing.code, 2);
  t.regex(missing.stderr, /--connection is required/);
  const unknown = await t.throwsAsync(exec(process.execPath, [cli, 'worker', '--connection', redis.url, '--threads', '4']));
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown option --threads/);
  const help = await exec(process.execPath, [cli, 'worker', '--help']);
  t.regex(help.stdout, /--only-tasks/);
});

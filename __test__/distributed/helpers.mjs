// A real Redis for the distributed tests (scripts/redis-server.mjs: the Debian package
// `redis-server`, on a free loopback port, persistence off), and worker hosts as child processes
// started through the CLI.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { exited, own, redisServer, waitForLine } from '../../scripts/redis-server.mjs';

export { redisServer, startRedis } from '../../scripts/redis-server.mjs';

export const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cli = path.join(root, 'bin', 'concurrent-futures.mjs');

export const SKIP_MESSAGE = 'redis-server is not installed (apt-get install redis-server; .ci/run installs it): the distributed tests need a real Redis';

/** Runs the CLI, ended with this process however it ends (see the fixture). */
const hostCli = path.join(root, '__test__', 'distributed', 'fixtures', 'host-cli.mjs');

/** Starts a worker host through the CLI; `args` are the flags after `--connection`. */
export async function startHost(url, args = [], env = {}) {
  const child = own(spawn(process.execPath, [hostCli, 'worker', '--connection', url, ...args], { stdio: ['pipe', 'pipe', 'pipe'], cwd: root, env: { ...process.env, ...env } }));
  await waitForLine(child, /taking jobs/, 'the worker host');
  return {
    child,
    pid: child.pid,
    /** SIGTERM: the host finishes its running jobs and exits. */
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
    },
    /** SIGKILL: the host dies mid-task. */
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
  };
}

let queues = 0;
/** A queue name of its own for a test (hosts of other tests never take its jobs). */
export function uniqueQueue(label) {
  return `t${process.pid}-${++queues}-${label}`;
}

/** Polls `condition` until it holds; throws after `ms` (only a hang detector: never decides a test). */
export async function until(condition, what, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

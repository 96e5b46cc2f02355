// A real Redis for the distributed tests (the Debian package `redis-server`, on a free loopback
// port, persistence off), and worker hosts as child processes started through the CLI.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cli = path.join(root, 'bin', 'concurrent-futures.mjs');

/** The redis-server binary, or `undefined` when it is not installed (the tests then skip, saying so). */
export const redisServer = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
})();

/** Children (Redis, hosts) still running when this test process exits for any reason are ended with it. */
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
function own(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export const SKIP_MESSAGE = 'redis-server is not installed (apt-get install redis-server; .ci/run installs it): the distributed tests need a real Redis';

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves with the child once `pattern` appears on its stdout; rejects if it exits first or after `ms`. */
function waitForLine(child, pattern, what, ms = 20_000) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => fail(new Error(`${what} did not start within ${ms} ms:\n${seen}`)), ms);
    const onData = (chunk) => {
      seen += chunk;
      if (pattern.test(seen)) {
        cleanup();
        resolve(child);
      }
    };
    const onExit = (code, signal) => fail(new Error(`${what} exited (${code ?? signal}) before it was ready:\n${seen}`));
    const fail = (error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => (seen += chunk));
    child.on('exit', onExit);
  });
}

function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', resolve));
}

/**
 * Starts redis-server on a free loopback port (or `port`), persistence off, its files in `dir`
 * (a fresh temporary directory unless given: a restart on the same `dir` loads what `SHUTDOWN SAVE` wrote).
 */
export async function startRedis({ port, dir } = {}) {
  port ??= await freePort();
  const ownDir = dir === undefined;
  dir ??= mkdtempSync(path.join(tmpdir(), 'cf-redis-'));
  const child = own(spawn(redisServer, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'notice'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await waitForLine(child, /Ready to accept connections/, `redis-server on port ${port}`);
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    child,
    /** Stops it: SIGTERM (without persistence, nothing is written). */
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts a worker host through the CLI; `args` are the flags after `--connection`. */
export async function startHost(url, args = [], env = {}) {
  const child = own(spawn(process.execPath, [cli, 'worker', '--connection', url, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: root, env: { ...process.env, ...env } }));
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

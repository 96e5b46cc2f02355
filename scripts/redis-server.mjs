// A real Redis for the distributed tests and benchmark (__test__/distributed/helpers.mjs,
// benchmark/distributed.mjs): the `redis-server` on PATH (the Debian package), on a free loopback
// port, persistence off, ended with this process however it exits.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The redis-server binary, or `undefined` when it is not installed. */
export const redisServer = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
})();

/** Its version (`7.0.15`), or `'?'`. */
export function redisVersion() {
  if (redisServer === undefined) return '?';
  return execFileSync(redisServer, ['--version'], { encoding: 'utf8' }).match(/v=(\S+)/)?.[1] ?? '?';
}

/** Children (Redis, and whatever else `own` is given) still running when this process exits, for any reason, are ended with it. */
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
export function own(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** A loopback port free at the moment of asking. */
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves with the child once `pattern` appears on its stdout; rejects if it exits first or after `ms`. */
export function waitForLine(child, pattern, what, ms = 20_000) {
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

export function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', resolve));
}

/**
 * Starts redis-server on a free loopback port (or `port`), persistence off, its files in `dir`
 * (a fresh temporary directory unless given: a restart on the same `dir` loads what `SHUTDOWN SAVE` wrote).
 */
export async function startRedis({ port, dir } = {}) {
  if (redisServer === undefined) throw new Error('redis-server is not on PATH (apt-get install redis-server)');
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

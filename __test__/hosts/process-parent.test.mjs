// A ProcessPoolExecutor's child ends with its parent, even in the middle of an endless synchronous
// task (see crates/core/src/parent.rs): the kernel ends it on Linux, a watcher thread elsewhere.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import test from 'ava';

const parentScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'busy-child.mjs');

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` until it holds or `ms` pass; answers whether it held. */
async function eventually(check, ms) {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}

for (const signal of ['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP']) {
  test(`${signal} to the parent ends a child that is running an endless synchronous task`, async (t) => {
    if (process.platform === 'win32') return t.pass('Windows has no signals to send');
    const parent = spawn(process.execPath, [parentScript], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    parent.stdout.on('data', (chunk) => (output += chunk));
    const started = await eventually(() => /^\d+\n/.test(output), 20_000);
    t.true(started, 'the parent printed its busy child');
    const child = Number.parseInt(output, 10);
    t.true(alive(child), 'the child runs its task');
    const exited = once(parent, 'exit');
    parent.kill(signal);
    await exited;
    const gone = await eventually(() => !alive(child), 5_000);
    if (!gone) process.kill(child, 'SIGKILL');
    t.true(gone, 'the child is gone once its parent is');
  });
}

// bullmq is an optional peer dependency: the package root loads none of it (nor ioredis), and
// only the `concurrent-futures/distributed` entry does. Checked in fresh processes, by package name.
import { execFileSync } from 'node:child_process';

import test from 'ava';

import { root } from './helpers.mjs';

/** The modules of bullmq and ioredis a fresh Node has loaded after running `code`. */
function loadedPeers(code, type) {
  const script = `${code}
const loaded = Object.keys(require('node:module')._cache ?? {}).concat(Object.keys(globalThis.require?.cache ?? {}));
process.stdout.write(JSON.stringify([...new Set(loaded)].filter((f) => /node_modules[\\\\/](bullmq|ioredis)[\\\\/]/.test(f)).length));`;
  const args = type === 'module' ? ['--input-type=module', '-e', `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);\n${script}`] : ['-e', script];
  return JSON.parse(execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }));
}

test('importing the package root loads no bullmq and no ioredis (import and require)', (t) => {
  t.is(loadedPeers("await import('concurrent-futures');", 'module'), 0);
  t.is(loadedPeers("require('concurrent-futures');", 'commonjs'), 0);
});

test('the distributed entry loads them, and exports the executor and the host (import and require)', (t) => {
  t.true(loadedPeers("const d = await import('concurrent-futures/distributed'); if (typeof d.DistributedExecutor !== 'function' || typeof d.startWorkerHost !== 'function') throw new Error('missing exports');", 'module') > 0);
  t.true(loadedPeers("const d = require('concurrent-futures/distributed'); if (typeof d.DistributedExecutor !== 'function' || typeof d.startWorkerHost !== 'function') throw new Error('missing exports');", 'commonjs') > 0);
});

// What a new user meets first: the README's quick start runs as written (on the Node that runs
// the tests, 20 and up: its code block is taken from the README, with the module its comment
// shows written beside it, and the package name pointed at this checkout); a missing native
// binary names the package to install.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import test from 'ava';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

test("the README's quick start runs as written", (t) => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  t.truthy(code, 'the quick start has a js block');
  // The module the block's first comment lines describe ("hash.mjs, beside this file:").
  const module = code
    .split('\n')
    .filter((line) => line.startsWith('//   '))
    .map((line) => line.slice(5))
    .join('\n');
  const dir = mkdtempSync(path.join(tmpdir(), 'cf-readme-'));
  try {
    writeFileSync(path.join(dir, 'hash.mjs'), module);
    const entry = pathToFileURL(path.join(root, 'esm', 'index.mjs')).href;
    writeFileSync(path.join(dir, 'quick-start.mjs'), code.replace("from 'concurrent-futures'", `from '${entry}'`));
    const run = spawnSync(process.execPath, ['quick-start.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    t.is(run.status, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    t.deepEqual(lines.slice(0, 4), ['1024', '1', '4', '9']);
    t.is(lines.length, 7, 'three hashes follow');
    for (const hash of lines.slice(4)) t.regex(hash, /^[0-9a-f]{64}$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a native binary that cannot be loaded names the platform package to install', (t) => {
  // A child process loads the addon from the path its parent gives it: give it one that is not there.
  const run = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(root, 'dist', 'wire', 'native.js'))})`], {
    env: { ...process.env, CONCURRENT_FUTURES_ADDON: path.join(root, 'no-such-addon.node') },
    encoding: 'utf8',
  });
  t.not(run.status, 0);
  const expected = { 'linux-x64': 'linux-x64-gnu', 'linux-arm64': 'linux-arm64-gnu', 'darwin-x64': 'darwin-x64', 'darwin-arm64': 'darwin-arm64', 'win32-x64': 'win32-x64-msvc' }[`${process.platform}-${process.arch}`];
  t.regex(run.stderr, /concurrent-futures: the native addon could not be loaded/);
  if (expected !== undefined) t.true(run.stderr.includes(`npm install concurrent-futures-${expected}`), run.stderr);
});

test('the ESM entry exports every name of the CommonJS build, as its declarations (export *) say', async (t) => {
  const esm = await import(pathToFileURL(path.join(root, 'esm', 'index.mjs')).href);
  const cjs = createRequire(import.meta.url)(path.join(root, 'dist', 'index.js'));
  const names = Object.keys(cjs).filter((name) => name !== '__esModule').sort();
  t.true(names.includes('ThreadPoolExecutor'));
  t.deepEqual(Object.keys(esm).filter((name) => name !== 'default').sort(), names);
  for (const name of names) t.is(esm[name], cjs[name], name);
  t.is(esm.default, cjs);
  t.regex(readFileSync(path.join(root, 'esm', 'index.d.mts'), 'utf8'), /^export \* from '\.\.\/dist\/index\.js';$/m);
});

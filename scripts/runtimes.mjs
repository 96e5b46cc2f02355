#!/usr/bin/env node
// npm run test:runtimes: the package on other JavaScript runtimes than the one at hand.
//
//   node scripts/runtimes.mjs [--require node22,node24,...] [--markdown] [runtime...]
//
// Runtimes: node (the one running this script), node22 and node24 (the registry's
// `node-<platform>-<arch>` package at that major), bun and deno (their npm packages at majors 1
// and 2, which bring the platform's binary as an optional dependency). Each is installed from the npm registry into
// .cache/runtimes/<name>/ (git-ignored) the first time, and taken from there afterwards (offline).
// Then, on each: every script in examples/, the smoke subset of the API tests
// (__test__/runtimes/smoke.mjs: one row per check, and whether the script ends by itself), and the
// README's quick start blocks, in a project of their own where the package is installed in
// node_modules as npm lays it out (packed, with its platform package). Prints a table of what passed where; with --markdown, as Markdown.
// Exits non-zero when a runtime named by --require failed anything (or could not be installed).
// The package must be built (npm run build) first; the checks run this checkout's dist/.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cache = path.join(root, '.cache', 'runtimes');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const exe = process.platform === 'win32' ? '.exe' : '';
// npm run sets npm_* variables (a prefix, a cache, ...) that must not reach the installs.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));

// ---- arguments
const args = process.argv.slice(2);
let required = [];
let markdown = false;
const wanted = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--require') required = args[++i].split(',').filter(Boolean);
  else if (args[i].startsWith('--require=')) required = args[i].slice('--require='.length).split(',').filter(Boolean);
  else if (args[i] === '--markdown') markdown = true;
  else wanted.push(args[i]);
}

/** The first `relative` path that exists under one of the folders in `dir` (a scoped package's platform builds). */
function findIn(dir, relative) {
  if (!fs.existsSync(dir)) return undefined;
  for (const entry of fs.readdirSync(dir)) {
    const file = path.join(dir, entry, relative);
    if (fs.existsSync(file)) return file;
  }
  return undefined;
}

const nodePackage = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
const RUNTIMES = {
  node: { bin: () => process.execPath, args: [] },
  node22: { spec: `${nodePackage}@22`, bin: (dir) => path.join(dir, 'node_modules', nodePackage, 'bin', `node${exe}`), args: [] },
  node24: { spec: `${nodePackage}@24`, bin: (dir) => path.join(dir, 'node_modules', nodePackage, 'bin', `node${exe}`), args: [] },
  bun: { spec: 'bun@1', bin: (dir) => findIn(path.join(dir, 'node_modules', '@oven'), path.join('bin', `bun${exe}`)), args: [] },
  deno: { spec: 'deno@2', bin: (dir) => findIn(path.join(dir, 'node_modules', '@deno'), `deno${exe}`), args: ['run', '--allow-all'] },
};
const names = wanted.length > 0 ? wanted : Object.keys(RUNTIMES);
for (const name of [...names, ...required]) {
  if (!(name in RUNTIMES)) {
    console.error(`unknown runtime ${name}; known: ${Object.keys(RUNTIMES).join(', ')}`);
    process.exit(2);
  }
}
for (const name of required) if (!names.includes(name)) names.push(name);

// ---- install (once; the cache makes a second run offline)
/** The runtime's executable, installed from the registry into the cache when it is not there. */
function install(name) {
  const runtime = RUNTIMES[name];
  if (runtime.spec === undefined) return runtime.bin();
  const dir = path.join(cache, name);
  const stamp = path.join(dir, 'spec');
  const cached = runtime.bin(dir);
  if (cached !== undefined && fs.existsSync(cached) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === runtime.spec) return cached;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  // A project of its own, so that npm installs here and not into this repository.
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `runtime-${name}`, private: true }));
  // --ignore-scripts: the packages' postinstall only links the binary, which is found directly.
  const result = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--no-update-notifier', '--ignore-scripts', '--no-package-lock', runtime.spec], {
    cwd: dir,
    env: cleanEnv,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (result.status !== 0) throw new Error(`npm install ${runtime.spec} failed: ${result.error?.message ?? ''}${result.stderr}`);
  const bin = runtime.bin(dir);
  if (bin === undefined || !fs.existsSync(bin)) throw new Error(`npm install ${runtime.spec} brought no executable for ${process.platform}-${process.arch}`);
  fs.writeFileSync(stamp, runtime.spec);
  return bin;
}

// ---- checks
/** Runs `file` on the runtime; never throws. */
function execute(bin, runtime, file, options = {}) {
  const started = Date.now();
  const result = spawnSync(bin, [...runtime.args, file], { cwd: root, encoding: 'utf8', timeout: 180_000, env: process.env, ...options });
  return { ...result, ms: Date.now() - started, hung: result.error?.code === 'ETIMEDOUT' || result.signal === 'SIGTERM' };
}

function tail(text, lines = 6) {
  return (text ?? '').trim().split('\n').slice(-lines).join('\n');
}

// What each example prints when it worked (examples.test.mjs checks them in full on this Node).
const EXAMPLE_SIGNS = {
  'as-completed.mjs': /5 futures, 1 raised/,
  'map-progress.mjs': /n = 837799, 524 steps/,
  'process-crash.mjs': /a new pool works: 1 4 9 16/,
  'shared-memory-sum.mjs': /^match: yes$/m,
};

/** The README's quick start blocks: [code of the Node 20 block, code of the `await using` block, the module it needs]. */
function quickStart() {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
  const blocks = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
  const module = blocks[0]
    .split('\n')
    .filter((line) => line.startsWith('//   '))
    .map((line) => line.slice(5))
    .join('\n');
  return { main: blocks[0], awaitUsing: blocks[1], module };
}

/**
 * A node_modules folder as `npm install concurrent-futures` makes it, from this checkout: the
 * packed package (what `npm pack` takes), its platform package (npm/<platform>/ with the built
 * addon) and its dependencies. Made once per run; each quick start project gets a copy, so that
 * every runtime resolves a package in node_modules, as a user's app does.
 */
let installedDir;
function installed() {
  if (installedDir !== undefined) return installedDir;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-runtimes-pack-'));
  process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
  const out = spawnSync(npm, ['pack', '--json', '--pack-destination', work], { cwd: root, env: cleanEnv, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`npm pack failed: ${out.stderr}`);
  const [{ filename }] = JSON.parse(out.stdout.slice(out.stdout.indexOf('[')));
  const modules = path.join(work, 'node_modules');
  const pkgDir = path.join(modules, 'concurrent-futures');
  fs.mkdirSync(pkgDir, { recursive: true });
  const untar = spawnSync('tar', ['-xzf', path.join(work, filename), '-C', pkgDir, '--strip-components=1']);
  if (untar.status !== 0) throw new Error(`tar: ${untar.stderr}`);
  // The addon this checkout built, as its platform package (the loader looks there).
  const addon = fs.readdirSync(root).find((f) => /^concurrent-futures\..+\.node$/.test(f));
  if (addon === undefined) throw new Error('no built addon in the checkout: run npm run build first');
  const platform = addon.split('.')[1];
  const platformDir = path.join(modules, `concurrent-futures-${platform}`);
  fs.mkdirSync(platformDir);
  fs.copyFileSync(path.join(root, 'npm', platform, 'package.json'), path.join(platformDir, 'package.json'));
  fs.copyFileSync(path.join(root, addon), path.join(platformDir, addon));
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  for (const dependency of Object.keys(manifest.dependencies ?? {})) {
    fs.cpSync(path.join(root, 'node_modules', dependency), path.join(modules, dependency), { recursive: true });
  }
  installedDir = modules;
  return installedDir;
}

/** Whether the runtime has `await using` (Node 24+, Bun, Deno). */
function hasAwaitUsing(name, version) {
  return !name.startsWith('node') || Number(version.replace(/^v/, '').split('.')[0]) >= 24;
}

/** Every check on one runtime: [{ check, ok, detail, expected? }] */
function checkRuntime(name, bin) {
  const runtime = RUNTIMES[name];
  const rows = [];
  const versionRun = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  // "v22.23.5", "1.4.5", "deno 2.9.6 (stable, ...)": the version number alone.
  const version = /\d+\.\d+\.\d+/.exec(versionRun.stdout ?? '')?.[0] ?? '?';

  for (const example of fs.readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.mjs')).sort()) {
    const run = execute(bin, runtime, path.join(root, 'examples', example));
    const sign = EXAMPLE_SIGNS[example];
    const ok = run.status === 0 && (sign === undefined || sign.test(run.stdout));
    rows.push({ check: `example ${example}`, ok, detail: ok ? `${run.ms} ms` : run.hung ? 'did not end in 180 s' : `exit ${run.status ?? run.signal}\n${tail(run.stdout + run.stderr)}` });
  }

  const smoke = execute(bin, runtime, path.join(root, '__test__', 'runtimes', 'smoke.mjs'));
  const lines = (smoke.stdout ?? '').split('\n');
  for (const line of lines) {
    const m = /^(ok  |FAIL) (.*?)(?: -- (.*))?$/.exec(line);
    if (m) rows.push({ check: `smoke: ${m[2]}`, ok: m[1] === 'ok  ', detail: m[3] ?? '' });
  }
  if (!lines.some((line) => /^(ok  |FAIL) /.test(line))) rows.push({ check: 'smoke: (the script ran)', ok: false, detail: tail(smoke.stdout + smoke.stderr) });
  rows.push({ check: 'smoke: ends by itself when idle', ok: !smoke.hung, detail: smoke.hung ? 'still running after 180 s' : `${smoke.ms} ms` });

  const { main, awaitUsing, module } = quickStart();
  // A project of its own, with the package installed as npm would lay it out (see `installed`):
  // the blocks run exactly as written, importing the package by its name.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cf-${name}-`));
  try {
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'quick-start', private: true, type: 'module', dependencies: { 'concurrent-futures': '*' } }));
    fs.cpSync(installed(), path.join(dir, 'node_modules'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'hash.mjs'), module);
    fs.writeFileSync(path.join(dir, 'quick-start.mjs'), main);
    fs.writeFileSync(path.join(dir, 'await-using.mjs'), awaitUsing);
    const q = execute(bin, runtime, path.join(dir, 'quick-start.mjs'), { cwd: dir });
    const out = (q.stdout ?? '').trim().split('\n');
    const ok = q.status === 0 && out.slice(0, 4).join(',') === '1024,1,4,9' && out.length === 7 && out.slice(4).every((h) => /^[0-9a-f]{64}$/.test(h));
    rows.push({ check: 'README quick start', ok, detail: ok ? '' : tail(q.stdout + q.stderr) });
    const u = execute(bin, runtime, path.join(dir, 'await-using.mjs'), { cwd: dir });
    if (hasAwaitUsing(name, version)) {
      const ok2 = u.status === 0 && u.stdout.trim() === '3';
      rows.push({ check: 'README `await using`', ok: ok2, detail: ok2 ? '' : tail(u.stdout + u.stderr) });
    } else {
      // Expected not to parse before Node 24: shown as n/a, but it must fail for that reason.
      const syntax = u.status !== 0 && /SyntaxError/.test(u.stderr);
      rows.push({ check: 'README `await using`', ok: syntax, na: syntax, detail: syntax ? 'no `await using` before Node 24' : `expected a SyntaxError: ${tail(u.stdout + u.stderr)}` });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { version, rows };
}

// ---- run
const results = {};
for (const name of names) {
  const label = name === 'node' ? 'node (this)' : name;
  process.stderr.write(`${label}: `);
  let bin;
  const started = Date.now();
  try {
    bin = install(name);
  } catch (error) {
    results[name] = { version: '-', rows: [{ check: 'install', ok: false, detail: error.message }] };
    process.stderr.write(`install failed\n${error.message}\n`);
    continue;
  }
  results[name] = checkRuntime(name, bin);
  const failed = results[name].rows.filter((r) => !r.ok).length;
  process.stderr.write(`${results[name].version}, ${results[name].rows.length - failed} of ${results[name].rows.length} checks passed (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}

// ---- the table
const checks = [];
for (const { rows } of Object.values(results)) for (const row of rows) if (!checks.includes(row.check)) checks.push(row.check);
const header = ['check', ...names.map((n) => `${n === 'node' ? 'node (this)' : n} ${results[n].version}`)];
const cell = (name, check) => {
  const row = results[name].rows.find((r) => r.check === check);
  if (row === undefined) return '';
  if (row.na) return 'n/a';
  return row.ok ? 'ok' : 'FAIL';
};
const table = [header, ...checks.map((check) => [check, ...names.map((n) => cell(n, check))])];
if (markdown) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  console.log(line(table[0]));
  console.log(line(table[0].map(() => '---')));
  for (const row of table.slice(1)) console.log(line(row));
} else {
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '));
}
let requiredFailed = false;
for (const name of names) {
  for (const row of results[name].rows) {
    if (row.ok) continue;
    const must = required.includes(name);
    if (must) requiredFailed = true;
    console.log(`\n${must ? 'FAIL' : 'note'} ${name}: ${row.check}\n${String(row.detail).replace(/^/gm, '     ')}`);
  }
}
if (required.length > 0) console.log(`\nrequired to pass: ${required.join(', ')}: ${requiredFailed ? 'FAILED' : 'all passed'}`);
process.exitCode = requiredFailed ? 1 : 0;

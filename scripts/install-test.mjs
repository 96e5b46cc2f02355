#!/usr/bin/env node
// npm run test:install: the real install path of the published packages, on this machine.
//
// 1. Builds what is stale (the addon, the TypeScript), with the toolchain.
// 2. Copies the addon into its per-platform package (npm/<platform>/) with `napi artifacts`.
// 3. `npm pack`s the main package, the platform package and the runtime dependencies (acorn).
// 4. Installs the tarballs into a fresh temporary project: offline, with an empty npm cache, an
//    unreachable registry, and cargo/rustc removed from PATH, so nothing can be fetched or built.
// 5. There, runs an ESM sample and a CommonJS sample (tasks submitted to a ThreadPoolExecutor,
//    including task() references to modules of that project) and type-checks a TypeScript sample
//    against the installed declarations with the repo's tsc.
// 6. Bundles an app of that project with esbuild (minified, the package left external) and runs it.
// Before installing, publint and attw lint the packed tarball (3b).
//
// Prints each check; exits non-zero on the first failure (and keeps the temporary project).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const napiCli = path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
// The CLI's own triple parser, so that the target ↔ platform mapping is napi's.
const { parseTriple } = await import(pathToFileURL(path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'index.js')).href);
// The repository's esbuild, for the bundled app (the app's project reaches no registry).
const esbuild = await import('esbuild');
const started = Date.now();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'concurrent-futures-install-'));
let current = 'setup';

function ok(what, detail) {
  console.log(`ok   ${what}${detail ? ` (${detail})` : ''}`);
}

function fail(message) {
  console.error(`FAIL ${current}\n${message.replace(/^/gm, '     ')}`);
  console.error(`     (temporary project kept at ${tmp})`);
  process.exit(1);
}

function check(condition, message) {
  if (!condition) fail(message);
}

/** Runs a command; fails the current step on a non-zero exit. Returns stdout. */
function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, ...options });
  if (result.error) fail(`${command} ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) {
    fail(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}\n${result.stdout}${result.stderr}`);
  }
  return result.stdout;
}

function step(name, body) {
  current = name;
  body();
}

// ---- which platform package
function hostPlatform() {
  const { platform, arch } = process;
  if (platform === 'linux') {
    const glibc = process.report.getReport().header.glibcVersionRuntime;
    return `linux-${arch}-${glibc ? 'gnu' : 'musl'}`;
  }
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}
const platform = hostPlatform();
const binaryName = pkg.napi.binaryName;
const addonFile = `${binaryName}.${platform}.node`;
const platformDir = path.join(root, 'npm', platform);
const platformPackage = `${pkg.napi.packageName}-${platform}`;

// ---- 1. build what is stale
/** The newest mtime of the files under `dir` that pass `test(relativePath)`. */
function newest(dir, test) {
  let latest = 0;
  if (!fs.existsSync(dir)) return latest;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const file = path.join(entry.parentPath ?? entry.path, entry.name);
    if (entry.isFile() && test(path.relative(dir, file).split(path.sep).join('/'))) latest = Math.max(latest, fs.statSync(file).mtimeMs);
  }
  return latest;
}
const mtime = (file) => (fs.existsSync(file) ? fs.statSync(file).mtimeMs : -1);

step('build', () => {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // What goes into the addon: the crates' sources and manifests (not their tests or benches).
  const rust = Math.max(
    newest(path.join(root, 'crates'), (f) => /^[^/]+\/(src\/.*\.rs|Cargo\.toml|build\.rs)$/.test(f)),
    mtime(path.join(root, 'Cargo.toml')),
    mtime(path.join(root, 'Cargo.lock')),
  );
  const addon = path.join(root, addonFile);
  if (mtime(addon) < rust || mtime(path.join(root, 'index.js')) < 0) {
    run(npm, ['run', 'build:native'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
    ok('built the addon', addonFile);
  } else ok('the addon is up to date', addonFile);
  const ts = newest(path.join(root, 'src'), (n) => n.endsWith('.ts'));
  if (mtime(path.join(root, 'dist', 'index.js')) < ts) {
    run(npm, ['run', 'build:ts'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    ok('built dist/ from src/');
  } else ok('dist/ is up to date');
});

// ---- 2. the addon into its platform package, the napi way
step(`napi artifacts → npm/${platform}`, () => {
  check(fs.existsSync(path.join(platformDir, 'package.json')), `npm/${platform}/package.json is missing: add the target to "napi.targets" and run \`npx napi create-npm-dirs\``);
  const meta = JSON.parse(fs.readFileSync(path.join(platformDir, 'package.json'), 'utf8'));
  check(meta.name === platformPackage, `npm/${platform}/package.json is named ${meta.name}, not ${platformPackage}`);
  check(meta.main === addonFile && meta.files?.includes(addonFile), `npm/${platform}/package.json must have main and files pointing at ${addonFile}`);
  check(meta.version === pkg.version, `npm/${platform} is at version ${meta.version}, the main package at ${pkg.version} (run \`npx napi version\`)`);
  // Only this host's target: `napi artifacts` insists on every configured target otherwise.
  const triple = pkg.napi.targets.find((t) => parseTriple(t).platformArchABI === platform);
  check(triple !== undefined, `no target in package.json "napi.targets" builds ${platform}`);
  const config = path.join(tmp, 'napi.host.json');
  fs.writeFileSync(config, JSON.stringify({ binaryName, packageName: pkg.napi.packageName, targets: [triple] }));
  const artifacts = path.join(tmp, 'artifacts');
  fs.mkdirSync(artifacts);
  fs.copyFileSync(path.join(root, addonFile), path.join(artifacts, addonFile));
  run(process.execPath, [napiCli, 'artifacts', '--config-path', config, '--output-dir', artifacts, '--npm-dir', 'npm'], { cwd: root });
  const copied = path.join(platformDir, addonFile);
  check(fs.existsSync(copied) && fs.readFileSync(copied).equals(fs.readFileSync(path.join(root, addonFile))), `${copied} is not the built addon`);
  ok(`napi artifacts copied the addon into npm/${platform}`, `${(fs.statSync(copied).size / 1024).toFixed(0)} KiB`);
});

// ---- 3. npm pack both
const packs = path.join(tmp, 'packs');
fs.mkdirSync(packs);
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
const npmCommand = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** `npm pack`s `dir`; `extra`: more arguments (a dependency is packed as installed, without its scripts). */
function pack(dir, extra = []) {
  const out = run(npmCommand, ['pack', '--json', '--pack-destination', packs, ...extra], { cwd: dir, env: cleanEnv });
  const [info] = JSON.parse(out.slice(out.indexOf('[')));
  return info;
}

let mainTarball;
let platformTarball;
const dependencyTarballs = [];
step('npm pack', () => {
  const main = pack(root);
  const files = main.files.map((f) => f.path);
  for (const needed of ['package.json', 'LICENSE', 'index.js', 'index.d.ts', 'dist/index.js', 'dist/index.d.ts', 'esm/index.d.mts', 'dist/hosts/thread/worker.js', 'dist/hosts/process/child.js', 'esm/index.mjs']) {
    check(files.includes(needed), `the main package lacks ${needed}: ${files.join(', ')}`);
  }
  check(!files.some((f) => f.endsWith('.node')), `the main package must not carry a binary: ${files.filter((f) => f.endsWith('.node'))}`);
  mainTarball = path.join(packs, main.filename);
  ok(`packed ${main.id}`, `${files.length} files, ${(main.size / 1024).toFixed(0)} KiB, no binary`);
  const native = pack(platformDir);
  check(native.files.some((f) => f.path === addonFile), `${native.id} lacks ${addonFile}`);
  platformTarball = path.join(packs, native.filename);
  ok(`packed ${native.id}`, native.files.map((f) => f.path).join(', '));
  // The runtime dependencies (acorn, which has none of its own), packed from node_modules: the
  // install below reaches no registry.
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    const dependency = pack(path.join(root, 'node_modules', name), ['--ignore-scripts']);
    dependencyTarballs.push(path.join(packs, dependency.filename));
    ok(`packed ${dependency.id}`, 'a runtime dependency');
  }
});

// ---- 3b. the packed tarball, linted as the registry would serve it
step('publint on the packed tarball', () => {
  // publint's API on the tarball itself (not the directory): what it lints is what users get.
  const script = `
    import { publint } from 'publint';
    import { formatMessage } from 'publint/utils';
    import fs from 'node:fs';
    const tarball = fs.readFileSync(process.argv[1]);
    const { messages, pkg } = await publint({ pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) }, level: 'suggestion', strict: true });
    for (const message of messages) console.log(message.type + ': ' + formatMessage(message, pkg));
    process.exitCode = messages.length === 0 ? 0 : 1;
  `;
  const out = run(process.execPath, ['--input-type=module', '-e', script, mainTarball], { cwd: root, env: cleanEnv });
  check(out.trim() === '', out);
  ok('publint: no errors, warnings or suggestions');
});

step('@arethetypeswrong/cli on the packed tarball', () => {
  // Every resolution mode (node10, node16 from CJS and from ESM, bundler); no @types lookup (offline).
  const attw = path.join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
  const result = spawnSync(process.execPath, [attw, mainTarball, '--format', 'json', '--no-definitely-typed', '--profile', 'strict'], { cwd: root, env: cleanEnv, encoding: 'utf8', timeout: 120_000 });
  let report;
  try {
    report = JSON.parse(result.stdout);
  } catch {
    fail(`attw printed no JSON (exit ${result.status}):\n${result.stdout}${result.stderr}`);
  }
  const problems = report.analysis?.problems ?? [];
  check(result.status === 0 && problems.length === 0, `attw found ${problems.length} problem(s):\n${JSON.stringify(problems, null, 2)}`);
  const resolutions = Object.values(report.analysis.entrypoints).flatMap((entry) => Object.entries(entry.resolutions).map(([mode, r]) => `${mode}: ${r.resolution?.fileName ?? 'unresolved'}`));
  check(resolutions.some((line) => /^node16-esm: .*\.d\.mts$/.test(line)), `ESM consumers under node16 do not get ES module declarations:\n${resolutions.join('\n')}`);
  ok('attw: no problems under node10, node16 (CJS and ESM) and bundler', 'ESM types from esm/index.d.mts');
});

// ---- 4. a fresh project, no toolchain, no registry
const app = path.join(tmp, 'app');
fs.mkdirSync(app);
const hasTool = (dir, tool) => ['', '.exe', '.cmd'].some((ext) => fs.existsSync(path.join(dir, tool + ext)));
const removed = [];
const PATH = (process.env.PATH ?? '')
  .split(path.delimiter)
  .filter((dir) => {
    const toolchain = dir !== '' && (hasTool(dir, 'cargo') || hasTool(dir, 'rustc'));
    if (toolchain) removed.push(dir);
    return !toolchain;
  })
  .join(path.delimiter);
const appEnv = { ...cleanEnv, PATH, CARGO: '', RUSTC: '' };

step('no Rust toolchain on PATH', () => {
  for (const tool of ['cargo', 'rustc']) {
    const probe = spawnSync(tool, ['--version'], { env: appEnv, encoding: 'utf8' });
    check(probe.error?.code === 'ENOENT', `${tool} is still reachable: ${probe.stdout}`);
  }
  const node = spawnSync('node', ['--version'], { env: appEnv, encoding: 'utf8' });
  check(node.status === 0, 'node is not on PATH once the Rust toolchain is removed from it');
  ok('cargo and rustc are not on PATH', removed.length > 0 ? `removed ${[...new Set(removed)].join(', ')}` : 'they were not there');
});

step('npm install (offline, empty cache, unreachable registry)', () => {
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'install-test-app', version: '1.0.0', private: true }, null, 2));
  run(
    npmCommand,
    [
      'install',
      '--offline',
      '--no-audit',
      '--no-fund',
      '--no-update-notifier',
      '--cache',
      path.join(tmp, 'npm-cache'),
      '--registry',
      'http://127.0.0.1:9/',
      mainTarball,
      platformTarball,
      ...dependencyTarballs,
    ],
    { cwd: app, env: appEnv },
  );
  const installed = path.join(app, 'node_modules', pkg.name);
  const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
  // Only the dependencies package.json names here, each without dependencies of its own.
  check(JSON.stringify(manifest.dependencies ?? {}) === JSON.stringify(pkg.dependencies ?? {}), `the packed dependencies differ: ${JSON.stringify(manifest.dependencies)}`);
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    const dependency = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', name, 'package.json'), 'utf8'));
    check(Object.keys(dependency.dependencies ?? {}).length === 0, `${name} brings dependencies of its own: ${JSON.stringify(dependency.dependencies)}`);
  }
  check(Object.keys(manifest.optionalDependencies ?? {}).length === 0, `the main package declares optionalDependencies: ${JSON.stringify(manifest.optionalDependencies)}`);
  // The only peers are those of concurrent-futures/distributed, optional: never installed for the root.
  for (const name of Object.keys(manifest.peerDependencies ?? {})) {
    check(['bullmq', 'ioredis'].includes(name) && manifest.peerDependenciesMeta?.[name]?.optional === true, `the main package declares a peer that is not an optional one of concurrent-futures/distributed: ${name}`);
    check(!fs.existsSync(path.join(app, 'node_modules', name)), `the optional peer ${name} was installed`);
  }
  check(!fs.readdirSync(installed, { recursive: true }).some((f) => String(f).endsWith('.node')), 'the installed main package contains a .node file');
  check(fs.existsSync(path.join(app, 'node_modules', platformPackage, addonFile)), `node_modules/${platformPackage}/${addonFile} is missing`);
  ok(`installed ${pkg.name} and ${platformPackage}`, `dependencies: ${Object.keys(pkg.dependencies ?? {}).join(', ') || 'none'}; nothing fetched`);
});

// ---- 5. samples in the installed project
const files = {
  'tasks.mjs': `export function scale(x, k) {\n  return x * k;\n}\n`,
  'tasks.cjs': `module.exports = function triple(x) {\n  return 3 * x;\n};\nmodule.exports.square = (x) => x * x;\n`,
  'esm-sample.mjs': `import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { asCompleted, Future, ProcessPoolExecutor, task, ThreadPoolExecutor, wait } from '${pkg.name}';

const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
const f = ex.submit((a, b) => a ** b, 2, 10);
assert.ok(f instanceof Future);
assert.equal(await f.result(), 1024);
const scale = task(new URL('./tasks.mjs', import.meta.url), 'scale');
assert.equal(await ex.submit(scale, 21, 2), 42);
assert.equal(await ex.submit(task('./tasks.mjs', 'scale'), 5, 3), 15); // relative to the working directory
const squares = [];
for await (const value of ex.map((x) => x * x, [1, 2, 3])) squares.push(value);
assert.deepEqual(squares, [1, 4, 9]);
const futures = [ex.submit(Math.sqrt, 16), ex.submit(scale, 2, 2)];
const { done } = await wait(futures);
assert.equal(done.size, 2);
const seen = [];
for await (const g of asCompleted(futures)) seen.push(await g.result());
assert.deepEqual(seen.sort(), [4, 4]);
await ex.shutdown();

const px = new ProcessPoolExecutor({ maxWorkers: 1 });
assert.equal(await px.submit(scale, 4, 5), 20);
await px.shutdown();

const require = createRequire(import.meta.url);
console.log(JSON.stringify({
  package: require.resolve('${pkg.name}'),
  addon: Object.keys(require.cache).find((file) => file.endsWith('.node')),
}));
`,
  'cjs-sample.cjs': `const assert = require('node:assert/strict');
const path = require('node:path');
const { Future, task, ThreadPoolExecutor } = require('${pkg.name}');

(async () => {
  const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
  const f = ex.submit((text) => text.toUpperCase(), 'cjs');
  assert.ok(f instanceof Future);
  assert.equal(await f.result(), 'CJS');
  assert.equal(await ex.submit(task(path.join(__dirname, 'tasks.cjs'), 'square'), 7), 49);
  assert.equal(await ex.submit(task('./tasks.cjs'), 7), 21); // 'default' is module.exports
  const esm = await import('${pkg.name}');
  assert.equal(esm.Future, Future, 'require and import must share one set of classes');
  await ex.shutdown();
  console.log(JSON.stringify({
    package: require.resolve('${pkg.name}'),
    addon: Object.keys(require.cache).find((file) => file.endsWith('.node')),
  }));
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`,
  'typed-tasks.mts': `export function scale(x: number, k: number): number {\n  return x * k;\n}\n`,
  'sample.mts': `import { asCompleted, Future, task, ThreadPoolExecutor } from '${pkg.name}';

const ex = new ThreadPoolExecutor({ maxWorkers: 1 });
const sum: Future<number> = ex.submit((a: number, b: number) => a + b, 1, 2);
// @ts-expect-error the function takes numbers
ex.submit((a: number, b: number) => a + b, 1, 'two');
const scale = task<typeof import('./typed-tasks.mjs').scale>(new URL('./typed-tasks.mjs', import.meta.url), 'scale');
const scaled: Future<number> = ex.submit(scale, 2, 3);
// @ts-expect-error scale takes numbers
ex.submit(scale, 'two', 3);
for await (const length of ex.map((s: string) => s.length, ['a', 'bb'])) {
  const n: number = length;
  void n;
}
for await (const f of asCompleted([sum, scaled])) {
  const same: Future<number> = f;
  const value: number = await f;
  void same, value;
}
await ex.shutdown({ wait: true, cancelFutures: false });
`,
  'tsconfig.json': JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        noEmit: true,
        types: ['node'],
        // @types/node from the repository: a TypeScript user has it; the registry is off limits here.
        typeRoots: [path.join(root, 'node_modules', '@types')],
        // Our own declarations are checked with skipLibCheck: false by __test__/api/types.test.mjs.
        skipLibCheck: true,
      },
      include: ['sample.mts', 'typed-tasks.mts'],
    },
    null,
    2,
  ),
};
for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(app, name), text);

function sample(file) {
  const out = run(process.execPath, [file], { cwd: app, env: appEnv, timeout: 60_000 });
  const report = JSON.parse(out.trim().split('\n').pop());
  const packageDir = fs.realpathSync(path.join(app, 'node_modules', pkg.name));
  check(report.package.startsWith(packageDir + path.sep), `${pkg.name} resolved to ${report.package}, not the installed copy`);
  const addon = path.join(fs.realpathSync(path.join(app, 'node_modules', platformPackage)), addonFile);
  check(report.addon === addon, `the loader took the addon from ${report.addon}, not from ${addon}`);
  return report;
}

step('ESM sample', () => {
  sample('esm-sample.mjs');
  ok('ESM: submit, task() references (URL and relative), map, wait, asCompleted, a process pool', `addon from node_modules/${platformPackage}`);
});

step('CommonJS sample', () => {
  sample('cjs-sample.cjs');
  ok("CommonJS: submit, task() references (named export and 'default'), same classes as import()", `addon from node_modules/${platformPackage}`);
});

step('tsc --noEmit on the TypeScript sample', () => {
  const out = run(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.json', '--listFiles', '--pretty', 'false'], { cwd: app, env: appEnv });
  const declarations = path.join(fs.realpathSync(path.join(app, 'node_modules', pkg.name)), 'dist', 'index.d.ts');
  check(out.split('\n').some((line) => path.resolve(line.trim()) === declarations), `tsc did not use the installed declarations (${declarations})`);
  ok('TypeScript: the installed declarations type-check a sample (typed submit, task<typeof f>, map, asCompleted)');
});

// ---- 6. a bundled app: esbuild bundles the app's own code, the package stays external
step('a bundled app (esbuild, the package external)', () => {
  fs.writeFileSync(path.join(app, 'greet.mjs'), `export const greet = (name) => \`hello, \${name}\`;\n`);
  fs.writeFileSync(
    path.join(app, 'bundled-app.mjs'),
    `import { ThreadPoolExecutor, task } from '${pkg.name}';
import { greet } from './greet.mjs';

const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
const squares = [];
for await (const square of ex.map((x) => x * x, [1, 2, 3])) squares.push(square);
// A task module is not bundled: it is a file beside the bundle, as import.meta.url says.
const scaled = await ex.submit(task(new URL('./tasks.mjs', import.meta.url), 'scale'), 6, 7);
const sum = await ex.submit(function add(a, b) { return a + b; }, 1, 2);
await ex.shutdown();
console.log(JSON.stringify({ greeting: greet('bundle'), squares, scaled, sum }));
`,
  );
  const out = path.join(app, 'out');
  fs.mkdirSync(out);
  // As the README says: --bundle --platform=node --format=esm --external:concurrent-futures.
  const result = esbuild.buildSync({
    entryPoints: [path.join(app, 'bundled-app.mjs')],
    outfile: path.join(out, 'app.mjs'),
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: [pkg.name],
    absWorkingDir: app,
    logLevel: 'silent',
  });
  check(result.errors.length === 0 && result.warnings.length === 0, `esbuild: ${JSON.stringify([...result.errors, ...result.warnings])}`);
  fs.copyFileSync(path.join(app, 'tasks.mjs'), path.join(out, 'tasks.mjs'));
  const bundle = fs.readFileSync(path.join(out, 'app.mjs'), 'utf8');
  check(bundle.includes('hello, ') && /from\s*"concurrent-futures"/.test(bundle), 'the bundle does not hold the app code with the package as an external import');
  check(!bundle.includes('ProcessPoolExecutor'), 'the package itself was bundled in');
  const printed = run(process.execPath, [path.join('out', 'app.mjs')], { cwd: app, env: appEnv, timeout: 60_000 });
  check(printed.trim() === JSON.stringify({ greeting: 'hello, bundle', squares: [1, 4, 9], scaled: 42, sum: 3 }), `the bundled app printed ${printed}`);
  ok('a minified esbuild bundle of an app runs: map, submit, a task() module beside the bundle', `${(bundle.length / 1024).toFixed(1)} KiB`);
});

fs.rmSync(tmp, { recursive: true, force: true });
console.log(`install test passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);

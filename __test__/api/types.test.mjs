// The type tests (__test__/api/types/): compiled with the repo's tsc against the built declarations
// (dist/*.d.ts, through the package's "exports", as users get them).
import test from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(path.dirname(here));
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const types = path.join(here, 'types');

/** Runs tsc; resolves with its exit code and output (never rejects on a non-zero exit). */
function runTsc(args) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [tsc, '--pretty', 'false', ...args], { cwd: root, encoding: 'utf8', timeout: 90_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error ? error.code : 0, output: stdout + stderr });
    });
  });
}

test('the type tests compile, and every @ts-expect-error in them is needed', async (t) => {
  const { code, output } = await runTsc(['-p', path.join(types, 'tsconfig.json')]);
  t.is(code, 0, output);
  // tsc reports an unneeded directive (TS2578), so exit 0 proves each expected error happens.
  const source = readFileSync(path.join(types, 'api.mts'), 'utf8');
  t.true((source.match(/@ts-expect-error/g) ?? []).length >= 30);
});

test('the checks bite: deliberately wrong assertions fail, exactly on the lines marked // !error', async (t) => {
  const file = path.join(types, 'negative', 'wrong.mts');
  const marked = readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, i) => (/\/\/ !error\s*$/.test(line) ? [i + 1] : []));
  t.true(marked.length >= 10);
  const { code, output } = await runTsc(['-p', path.join(types, 'negative', 'tsconfig.json')]);
  t.not(code, 0, 'the deliberately wrong file compiled');
  const failed = [...output.matchAll(/wrong\.mts\((\d+),\d+\): error TS\d+/g)].map((m) => Number(m[1]));
  t.deepEqual([...new Set(failed)].sort((a, b) => a - b), marked, output);
});

// Users with `skipLibCheck: false` (tsc's default) type-check our declarations too: nothing that
// `stripInternal` removes may still be named by what it keeps.
test('the declarations compile on their own with skipLibCheck: false', async (t) => {
  const { code, output } = await runTsc([
    '--noEmit',
    '--strict',
    '--skipLibCheck',
    'false',
    '--module',
    'nodenext',
    '--target',
    'es2022',
    '--lib',
    'es2023,esnext.disposable',
    '--types',
    'node',
    path.join(root, 'dist', 'index.d.ts'),
  ]);
  t.is(code, 0, output);
});

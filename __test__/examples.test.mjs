// Runs every script in examples/ with node, as a user would, and checks its exit code and output.
// The examples import the package by its name (a self-reference through package.json "exports").
import test from 'ava';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const examples = path.join(root, 'examples');

/** Resolves with the exit code, stdout and stderr (never rejects on a non-zero exit). */
function runExample(name, ...args) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(examples, name), ...args], { cwd: root, encoding: 'utf8', timeout: 90_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error ? error.code : 0, stdout, stderr });
    });
  });
}

const expectations = {
  'shared-memory-sum.mjs': ({ stdout }, t) => {
    t.regex(stdout, /single thread: +-?\d+\.\d+/);
    t.regex(stdout, /workers: +-?\d+\.\d+ in [\d.]+ ms \(\d+ ranges\)/);
    t.regex(stdout, /^match: yes$/m);
  },
  'map-progress.mjs': ({ stdout, stderr }, t) => {
    t.regex(stdout, /longest Collatz chain below 1,000,000: n = 837799, 524 steps/);
    t.regex(stderr, /\] 100% 999999\/999999/, 'the progress bar reaches 100% on stderr');
    t.notRegex(stdout, /%/, 'progress stays off stdout');
  },
  'as-completed.mjs': ({ stdout }, t) => {
    const [, done, notDone] = stdout.match(/first wait: (\d) done, (\d) not done/) ?? [];
    t.true(Number(done) >= 1 && Number(done) + Number(notDone) === 5, 'wait(FIRST_COMPLETED) returns once one is done');
    t.regex(stdout, /ok {5}Math\.pow\(2, 32\) = 4294967296/);
    t.regex(stdout, /ok {5}sha256\("hello"\) = 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824/);
    t.regex(stdout, /ok {5}a bare Future = settled by hand/);
    t.regex(stdout, /ok {5}sleepThen\(500\) = slept 500 ms/);
    t.regex(stdout, /raised sqrtOrThrow\(-1\): RangeError: negative input: -1/);
    t.regex(stdout, /5 futures, 1 raised/);
    const lines = stdout.split('\n');
    t.true(
      lines.findIndex((l) => l.includes('a bare Future')) < lines.findIndex((l) => l.includes('sleepThen(500)')),
      'completion order: the future settled at 150 ms comes before the 500 ms task',
    );
  },
  'live-stats.mjs': ({ stdout }, t) => {
    t.regex(stdout, /^queued +\d+ +running \d +done +\d+ +wait p50\/p99 [\d.]+\/[\d.]+ ms +run p50\/p90\/p99 [\d.]+\/[\d.]+\/[\d.]+ ms +utilization \d+%$/m, 'stats printed while the tasks run');
    t.regex(stdout, /^final: queued +0 +running 0 +done 120 /m);
    t.regex(stdout, /^timed 120 tasks$/m);
    const [, p50, p90, p99] = stdout.match(/^final: .* run p50\/p90\/p99 ([\d.]+)\/([\d.]+)\/([\d.]+) ms/m) ?? [];
    t.true(Number(p50) >= 1.9 && Number(p99) >= 19, `2 ms tasks and a tenth of 20 ms ones: p50 ${p50}, p90 ${p90}, p99 ${p99}`);
  },
  'process-crash.mjs': ({ stdout }, t) => {
    t.regex(stdout, /crash caught: BrokenProcessPool: /);
    t.regex(stdout, /pending futures: 4 of 4 failed with BrokenProcessPool/);
    t.regex(stdout, /submit on the broken pool: BrokenProcessPool/);
    t.regex(stdout, /a new pool works: 1 4 9 16/);
  },
};

test('every example has a test', (t) => {
  const scripts = readdirSync(examples).filter((name) => name.endsWith('.mjs') || name.endsWith('.cjs') || name.endsWith('.js'));
  t.deepEqual(scripts.sort(), Object.keys(expectations).sort());
});

for (const [name, expect] of Object.entries(expectations)) {
  test(`examples/${name}`, async (t) => {
    const result = await runExample(name);
    t.is(result.code, 0, `exit code ${result.code}\n${result.stdout}\n${result.stderr}`);
    expect(result, t);
  });
}

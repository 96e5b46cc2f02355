// src/executor/shapes.ts keeps one instance of each class an executor is made of, so that V8's
// hidden classes for them (and the code optimized against them) outlive any one executor. That
// only works while a used object keeps the hidden class it was created with: a field whose value
// changes representation (an integer that becomes a fraction) gives it a new one.
import test from 'ava';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'shapes.mjs');

test('after real use, every part of both executors still has the hidden class its kept instance has', async (t) => {
  const stdout = await new Promise((resolve, reject) =>
    execFile(process.execPath, ['--allow-natives-syntax', fixture], { timeout: 60_000 }, (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out))),
  );
  const result = JSON.parse(stdout.trim().split('\n').pop());
  t.is(Object.keys(result).length, 12, JSON.stringify(result));
  for (const [part, same] of Object.entries(result)) t.is(same, true, part);
});

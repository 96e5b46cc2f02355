// The README's "Past one machine" walkthrough runs as written: a host started by the CLI, and the
// script of its second terminal (its Redis URL pointed at the test's Redis, the package name at
// this checkout) prints what its comments say.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import test from 'ava';

import { redisServer, root, SKIP_MESSAGE, startHost, startRedis } from './helpers.mjs';

const run = redisServer ? test : test.skip;
if (!redisServer) test.skip(SKIP_MESSAGE, () => {});

run("the README's two-terminal walkthrough runs as written", async (t) => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Past one machine'));
  t.regex(/```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '', /npx concurrent-futures worker --connection redis:\/\/127\.0\.0\.1:6379/);
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  t.truthy(code, 'the walkthrough has a js block');
  const redis = await startRedis();
  const host = await startHost(redis.url);
  const dir = mkdtempSync(path.join(tmpdir(), 'cf-walkthrough-'));
  try {
    const script = path.join(dir, 'submit.mjs');
    writeFileSync(script, code.replaceAll('redis://127.0.0.1:6379', redis.url).replace("'concurrent-futures/distributed'", `'${pathToFileURL(path.join(root, 'esm', 'distributed.mjs')).href}'`));
    const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 30_000 });
    const expected = [...code.matchAll(/\/\/ ([\d ]+)(?:,|$)/gm)].flatMap((m) => m[1].trim().split(' '));
    t.deepEqual(stdout.trim().split('\n'), expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await host.stop();
    await redis.stop();
  }
});

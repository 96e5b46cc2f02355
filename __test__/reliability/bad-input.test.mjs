// Bad input, one table: every public function and option × kinds of wrong value (wrong type, out
// of range, NaN, Infinity, null, a Proxy, 100 MB, 100,000-deep). The rows live in
// fixtures/reliability-bad-input-table.mjs and are shown in docs/ERRORS.md; this file checks that
// the two agree, then runs every row: the stated outcome, the error's class and a message that
// names what was wrong, and an executor that is still usable afterwards.
// Rows marked `bug` state what API.md requires; their tests are `failing` until the library does it.
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { ProcessPoolExecutor, ThreadPoolExecutor } from '../../esm/index.mjs';
import { ROWS } from './fixtures/reliability-bad-input-table.mjs';
import { fixture, fixturesDir, jsonLines, observe, runNode, within } from './fixtures/reliability-helpers.mjs';

const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
const px = new ProcessPoolExecutor({ maxWorkers: 1 });
const freshOnes = [];
const ctx = {
  ex,
  px,
  fresh: () => {
    const e = new ThreadPoolExecutor({ maxWorkers: 1 });
    freshOnes.push(e);
    return e;
  },
};

test.after.always(async () => {
  await Promise.all([ex, px, ...freshOnes].map((e) => within(20_000, e.shutdown({ cancelFutures: true }), 'cleanup').catch(() => {})));
});

const BUILTIN = { Error, TypeError, RangeError };

function checkError(t, row, name, message, error) {
  t.is(name, row.error, `error class: expected ${row.error}, got ${name}: ${message}`);
  if (error !== undefined && BUILTIN[row.error]) t.true(error instanceof BUILTIN[row.error], `an instance of ${row.error}`);
  if (error !== undefined && row.error === 'DataCloneError') t.true(error instanceof TypeError, 'a DataCloneError is a TypeError');
  t.regex(String(message), row.message, 'the message names what was wrong');
}

async function stillUsable(t, row) {
  t.is(await within(15_000, ex.submit((x) => x + 1, 41).result(), 'thread executor'), 42, 'the thread executor is usable afterwards');
  if (/ProcessPool|px\./.test(row.call)) {
    t.is(await within(15_000, px.submit((x) => x + 1, 41).result(), 'process executor'), 42, 'the process executor is usable afterwards');
  }
}

for (const row of ROWS) {
  const title = `#${row.n} ${row.call}: ${row.param} = ${row.value} (${row.kind}) → ${row.outcome}${row.error ? ` ${row.error}` : ''}`;
  let declare = row.heavy ? test.serial : test;
  if (row.bug) declare = declare.failing;
  declare(title, async (t) => {
    t.timeout(60_000);
    if (row.isolate) {
      const run = await runNode(fixture('reliability-isolated.mjs'), [String(row.n)], { timeout: 30_000 });
      t.false(run.timedOut, 'the isolated row finished');
      const [seen] = jsonLines(run);
      t.truthy(seen, `the isolated row reported: ${run.stderr}`);
      t.deepEqual(seen.uncaught, [], 'no uncaught exception or unhandled rejection');
      t.is(seen.how, row.outcome, `outcome: ${seen.how} ${seen.error ?? ''} ${seen.message ?? ''}`);
      if (row.error) checkError(t, row, seen.error, seen.message);
    } else {
      const seen = await observe(() => row.run(ctx));
      t.is(seen.how, row.outcome, `outcome: ${seen.how} ${seen.error?.name ?? ''} ${seen.error?.message ?? ''}`);
      if (row.error) checkError(t, row, seen.error?.name, seen.error?.message, seen.error);
      if (row.check) t.true(row.check(seen.value), `value checked: ${JSON.stringify(seen.value)?.slice(0, 200)}`);
    }
    await stillUsable(t, row);
  });
}

test('docs/ERRORS.md shows exactly these rows', (t) => {
  const doc = readFileSync(path.join(fixturesDir, '..', '..', '..', 'docs', 'ERRORS.md'), 'utf8');
  const cells = (line) => line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim().replace(/\\\|/g, '|'));
  const rows = doc
    .split('\n')
    .filter((line) => /^\| \d+ \|/.test(line))
    .map(cells);
  t.is(rows.length, ROWS.length, 'one doc row per table row');
  for (const row of ROWS) {
    const line = rows.find((r) => Number(r[0]) === row.n);
    t.truthy(line, `row ${row.n} is in the doc`);
    if (!line) continue;
    const unquote = (s) => s.replace(/^`|`$/g, '');
    t.deepEqual(
      [unquote(line[1]), unquote(line[2]), line[3], line[4], unquote(line[5])],
      [row.call, row.value, row.kind, row.bug ? `${row.outcome} (bug ${row.bug})` : row.outcome, row.error ?? '—'],
      `row ${row.n}`,
    );
  }
});

// Options both pools share: `maxWorkers` is bounded by what the system lets this process run, not
// by how the core numbers its workers.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { ProcessPoolExecutor, ThreadPoolExecutor } from '../../esm/index.mjs';

const { maxWorkersAllowed } = createRequire(import.meta.url)('../../dist/wire/native.js');

test('maxWorkers may be as large as the system allows, and no larger', async (t) => {
  const limit = maxWorkersAllowed();
  if (process.platform === 'linux') {
    // Every thread and process takes a task id, the kernel caps threads, and the user's RLIMIT_NPROC caps both.
    const read = (file) => Number(readFileSync(file, 'utf8'));
    const nproc = /^Max processes\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))[1];
    const bounds = [read('/proc/sys/kernel/pid_max'), read('/proc/sys/kernel/threads-max'), nproc === 'unlimited' ? Infinity : Number(nproc)];
    t.is(limit, Math.min(...bounds, 2 ** 32 - 1), `bounds ${bounds}`);
  } else {
    t.is(limit, 2 ** 32 - 1, 'no bound known up front');
  }
  for (const Executor of [ThreadPoolExecutor, ProcessPoolExecutor]) {
    const ex = new Executor({ maxWorkers: limit });
    t.is(ex.maxWorkers, limit);
    // Workers start lazily: one task starts one worker, whatever the limit.
    t.is(await ex.submit((x) => x + 1, 41), 42);
    t.is(ex.stats().workers, 1);
    await ex.shutdown();
    t.throws(() => new Executor({ maxWorkers: limit + 1 }), { instanceOf: RangeError, message: new RegExp(`maxWorkers must be at most ${limit}, got ${limit + 1}`) });
  }
});

// stats(): besides the counts, percentiles of how long items waited and ran (the core's
// HdrHistograms) and the share of the pool's capacity spent running, on both pools.
import test from 'ava';

import { ProcessPoolExecutor, ThreadPoolExecutor } from '../../esm/index.mjs';

for (const Pool of [ThreadPoolExecutor, ProcessPoolExecutor]) {
  test(`${Pool.name}: stats() gives wait and run time percentiles and utilization`, async (t) => {
    const ex = new Pool({ maxWorkers: 2 });
    try {
      const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
      // 8 tasks of at least 30 ms on 2 workers: each runs 30 ms or more, and the later ones wait.
      await Promise.all(Array.from({ length: 8 }, () => ex.submit(sleep, 30)));
      for await (const _ of ex.map((ms) => new Promise((resolve) => setTimeout(resolve, ms)), [30, 30], { chunksize: 2 }));
      const { runTime, waitTime, utilization, completed } = ex.stats();
      t.is(completed, 10);
      t.is(runTime.count, 10, 'a chunk counts its items');
      t.is(waitTime.count, 10);
      t.true(runTime.p50 >= 29 && runTime.max >= runTime.p99 && runTime.p99 >= runTime.p90 && runTime.p90 >= runTime.p50, JSON.stringify(runTime));
      t.true(runTime.mean >= 29, JSON.stringify(runTime));
      t.true(waitTime.max >= 29, `the last tasks waited for the first ones: ${JSON.stringify(waitTime)}`);
      t.true(utilization > 0 && utilization <= 1, String(utilization));
    } finally {
      await ex.shutdown();
    }
  });
}

// A process pool isolates a crashing task: the child that calls process.exit dies alone, this
// process carries on. As with Python's ProcessPoolExecutor, the pool is then broken: the crashed
// task and everything pending fail with BrokenProcessPool, later submits throw it. A new pool works.
//
//   node examples/process-crash.mjs
import { BrokenProcessPool, ProcessPoolExecutor } from 'concurrent-futures';

const pool = new ProcessPoolExecutor({ maxWorkers: 2 });
try {
  console.log(`child pid: ${await pool.submit(() => process.pid)} (this process: ${process.pid})`);

  const crash = pool.submit((code) => process.exit(code), 3);
  const pending = Array.from({ length: 4 }, (_, i) =>
    pool.submit(async (ms) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return ms;
    }, 1000 + i),
  );

  try {
    await crash.result();
    console.log('unexpected: the crashing task returned');
    process.exitCode = 1;
  } catch (error) {
    if (!(error instanceof BrokenProcessPool)) throw error;
    console.log(`crash caught: ${error.name}: ${error.message}`);
  }
  const outcomes = await Promise.allSettled(pending.map((f) => f.result()));
  console.log(`pending futures: ${outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof BrokenProcessPool).length} of ${outcomes.length} failed with BrokenProcessPool`);
  try {
    pool.submit(() => 1);
  } catch (error) {
    console.log(`submit on the broken pool: ${error.name}`);
  }
} finally {
  await pool.shutdown();
}

const fresh = new ProcessPoolExecutor({ maxWorkers: 2 });
try {
  const squares = [];
  for await (const square of fresh.map((x) => x * x, [1, 2, 3, 4])) squares.push(square);
  console.log(`a new pool works: ${squares.join(' ')}`);
} finally {
  await fresh.shutdown();
}

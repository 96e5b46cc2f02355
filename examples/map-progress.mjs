// `map` over a large input with a progress bar: the Collatz chain length of every n below a
// million. Results arrive in input order while the pool works ahead; the bar goes to stderr, the
// answer to stdout. The task is an export of a module (task()), imported once by each worker.
//
//   node examples/map-progress.mjs [limit]
import { task, ThreadPoolExecutor } from 'concurrent-futures';

const limit = Number(process.argv[2] ?? 1_000_000);
const collatzSteps = task(new URL('./tasks/collatz.mjs', import.meta.url), 'collatzSteps');

function* numbers() {
  for (let n = 1; n < limit; n++) yield n;
}

function progress(done, total, width = 40) {
  const filled = Math.round((done / total) * width);
  const percent = Math.floor((done / total) * 100);
  process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(percent).padStart(3)}% ${done}/${total}`);
}

const ex = new ThreadPoolExecutor();
try {
  const total = limit - 1;
  let n = 0;
  let best = { n: 1, steps: 0 };
  let shown = -1;
  // chunksize 'auto' (the default) cuts the million items into ranges sized to the workers' speed.
  for await (const steps of ex.map(collatzSteps, numbers())) {
    n++;
    if (steps > best.steps) best = { n, steps };
    const percent = Math.floor((n / total) * 100);
    if (percent !== shown) {
      shown = percent;
      progress(n, total);
    }
  }
  process.stderr.write('\n');
  console.log(`longest Collatz chain below ${limit.toLocaleString('en')}: n = ${best.n}, ${best.steps} steps`);
} finally {
  await ex.shutdown();
}

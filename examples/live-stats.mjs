// stats() while work runs: how many tasks are queued and running, how long they waited and ran
// (p50 / p90 / p99, in ms), and how busy the workers are. Tasks of uneven length (a few slow ones)
// go through a pool of 2 workers; a line of stats is printed every 100 ms, and once at the end.
//
//   node examples/live-stats.mjs [tasks]
import { ThreadPoolExecutor } from 'concurrent-futures';

const tasks = Number(process.argv[2] ?? 120);
// Busy work of `ms` milliseconds: a synchronous loop, as CPU-bound tasks are.
const work = (ms) => {
  const end = Date.now() + ms;
  let spins = 0;
  while (Date.now() < end) spins++;
  return spins;
};

const line = ({ queued, running, completed, waitTime, runTime, utilization }) =>
  `queued ${String(queued).padStart(3)}  running ${running}  done ${String(completed).padStart(3)}  ` +
  `wait p50/p99 ${waitTime.p50.toFixed(1)}/${waitTime.p99.toFixed(1)} ms  ` +
  `run p50/p90/p99 ${runTime.p50.toFixed(1)}/${runTime.p90.toFixed(1)}/${runTime.p99.toFixed(1)} ms  ` +
  `utilization ${(utilization * 100).toFixed(0)}%`;

const ex = new ThreadPoolExecutor({ maxWorkers: 2 });
try {
  // One task in ten takes 20 ms, the others 2 ms.
  const futures = Array.from({ length: tasks }, (_, i) => ex.submit(work, i % 10 === 9 ? 20 : 2));
  const ticker = setInterval(() => console.log(line(ex.stats())), 100);
  await Promise.all(futures);
  clearInterval(ticker);
  const stats = ex.stats();
  console.log(`final: ${line(stats)}`);
  console.log(`timed ${stats.runTime.count} tasks`);
} finally {
  await ex.shutdown();
}

// The raw BullMQ contender's worker host: one BullMQ Worker, concurrency 1, running the tiny task
// (x * 2) inline. Started as a child process by benchmark/distributed.mjs; prints "ready".
import { Worker } from 'bullmq';

const [url, queue] = process.argv.slice(2);
const { hostname, port } = new URL(url);
const worker = new Worker(queue, async (job) => job.data.x * 2, {
  connection: { host: hostname, port: Number(port), maxRetriesPerRequest: null },
  concurrency: 1,
  removeOnComplete: { count: 0 },
});
await worker.waitUntilReady();
console.log('ready');
process.on('SIGTERM', () => worker.close().then(() => process.exit(0)));

// The raw BullMQ contender's worker host: one BullMQ Worker, concurrency 1, running the tiny task
// (x * 2) inline on its event loop, or (third argument `sandboxed`) as a sandboxed processor on a
// worker thread (bullmq-raw-processor.cjs). Started as a child process by
// benchmark/distributed.mjs; prints "ready".
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Worker } from 'bullmq';

const [url, queue, how] = process.argv.slice(2);
const { hostname, port } = new URL(url);
const processor = how === 'sandboxed' ? path.join(path.dirname(fileURLToPath(import.meta.url)), 'bullmq-raw-processor.cjs') : async (job) => job.data.x * 2;
const worker = new Worker(queue, processor, {
  useWorkerThreads: how === 'sandboxed',
  connection: { host: hostname, port: Number(port), maxRetriesPerRequest: null },
  concurrency: 1,
  removeOnComplete: { count: 0 },
});
await worker.waitUntilReady();
console.log('ready');
process.on('SIGTERM', () => worker.close().then(() => process.exit(0)));

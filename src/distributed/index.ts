/**
 * `concurrent-futures/distributed`: the executor contract over BullMQ on Redis. The only entry
 * that loads `bullmq` (an optional peer dependency).
 */
export { DistributedExecutor, type DistributedExecutorOptions, type DistributedTaskOptions } from './executor.js';
export { startWorkerHost, type WorkerHost, type WorkerHostOptions } from './host.js';
export type { Connection, RedisConnectionOptions } from './connection-options.js';

// Type tests of `concurrent-futures/distributed`, as an ESM user sees it (compiled, never run).
import { Future, wait, WorkerCrashedError } from 'concurrent-futures';
import { DistributedExecutor, startWorkerHost, type WorkerHost } from 'concurrent-futures/distributed';
import { exactly } from './expect.js';

const ex = new DistributedExecutor({ connection: 'redis://127.0.0.1:6379', queue: 'jobs' });
const sum = ex.submit((a: number, b: number) => a + b, 1, 2);
exactly<Future<number>>()(sum);
const length = ex.run((s: string) => s.length, ['abc'], { timeout: 5_000, signal: AbortSignal.timeout(1_000) });
exactly<Future<number>>()(length);
// @ts-expect-error: the argument does not match the parameter
ex.submit((a: number) => a, 'x');
// @ts-expect-error: run's options are signal and timeout
ex.run((a: number) => a, [1], { retries: 3 });
exactly<AsyncIterableIterator<string>>()(ex.map((x: number) => String(x), [1, 2]));
// ioredis options (AUTH, TLS) pass through as the connection.
const host: Promise<WorkerHost> = startWorkerHost({ connection: { host: 'h', port: 6380, password: 'p', tls: {} }, pool: 'process', only: 'tasks', modules: ['./m.mjs'] });
// @ts-expect-error: pool is 'thread' or 'process'
void startWorkerHost({ connection: 'redis://x', pool: 'fiber' });
exactly<number | null>()(new WorkerCrashedError('gone', { exitCode: null, signal: 'SIGKILL' }).exitCode);
void wait([sum, length]);
void host;

// poolifier worker (thread and cluster): task functions selected by name in execute(data, name).
import { ThreadWorker } from 'poolifier';
import { inc, double, fib, sabChunk } from './tasks.mjs';

export default new ThreadWorker({ inc, double, fib, sabChunk });

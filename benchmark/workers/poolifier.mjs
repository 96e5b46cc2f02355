// poolifier worker (thread): task functions selected by name in execute(data, name).
import { ThreadWorker } from 'poolifier';
import { inc, double, fib, sabChunk, spin } from './tasks.cjs';

export default new ThreadWorker({ inc, double, fib, sabChunk, spin });

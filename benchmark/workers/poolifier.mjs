// poolifier worker (thread): task functions selected by name in execute(data, name).
import { ThreadWorker } from 'poolifier';
import { inc, double, fib, hold, sabChunk, scale, spin, summarize, threadId } from './tasks.cjs';

// W11 with transfer: poolifier 5.3's ThreadWorker posts a task's result without a transfer list
// (its sendToMainWorker has none), so the result is copied back; only the argument moves
// (execute's transferList).
const scaleMoved = scale;

export default new ThreadWorker({ inc, double, fib, hold, sabChunk, scale, scaleMoved, spin, summarize, threadId });

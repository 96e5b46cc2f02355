// tinypool worker (thread and child_process): named exports, selected with run(arg, { name }).
import { scale } from './tasks.cjs';

export { inc, double, fib, sabChunk, scale, summarize } from './tasks.cjs';

// W11 with transfer: the result's buffer is moved back (Tinypool.move) instead of copied.
// tinypool is imported on first use, so that it does not add to every worker's start (W6).
let tinypool = null;
export async function scaleMoved(a) {
  const { Tinypool } = await (tinypool ??= import('tinypool'));
  return Tinypool.move(scale(a));
}

// workerpool worker (thread and process): functions selected by name in exec(name, [arg]).
const workerpool = require('workerpool');
const { inc, double, fib, sabChunk, scale, summarize } = require('./tasks.cjs');

// W11 with transfer: the result's buffer is moved back (workerpool.Transfer) instead of copied.
function scaleMoved(a) {
  const out = scale(a);
  return new workerpool.Transfer(out, [out.buffer]);
}

workerpool.worker({ inc, double, fib, sabChunk, scale, scaleMoved, summarize });

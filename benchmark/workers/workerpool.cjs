// workerpool worker (thread and process): functions selected by name in exec(name, [arg]).
const workerpool = require('workerpool');
const { inc, double, fib, sabChunk, spin } = require('./tasks.cjs');

workerpool.worker({ inc, double, fib, sabChunk, spin });

// tinypool worker (thread and child_process): named exports, selected with run(arg, { name }).
export { inc, double, fib, sabChunk, spin } from './tasks.cjs';

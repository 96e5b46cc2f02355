// piscina / tinypool worker: named exports, selected with run(arg, { name }).
export { inc, double, fib, sabChunk, default } from './tasks.mjs';

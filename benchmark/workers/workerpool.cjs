// workerpool worker (thread and process): functions selected by name in exec(name, [arg]).
const workerpool = require('workerpool');

function inc(x) {
  return x + 1;
}
function double(x) {
  return x * 2;
}
function fibRec(n) {
  return n < 2 ? n : fibRec(n - 1) + fibRec(n - 2);
}
function fib(n) {
  return fibRec(n);
}
function sabChunk({ sab, start, end }) {
  const a = new Float64Array(sab);
  let s = 0;
  for (let i = start; i < end; i++) s += Math.sqrt(a[i]) * Math.sin(a[i]);
  return s;
}

workerpool.worker({ inc, double, fib, sabChunk });

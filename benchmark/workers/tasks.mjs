// Shared task bodies for the peer pools (piscina, tinypool, and the
// poolifier / workerpool wrappers). Each peer calls these by name.
export function inc(x) {
  return x + 1;
}

export function double(x) {
  return x * 2;
}

function fibRec(n) {
  return n < 2 ? n : fibRec(n - 1) + fibRec(n - 2);
}

export function fib(n) {
  return fibRec(n);
}

// W5: { sab, start, end } -> partial sum over a Float64Array view of the SAB.
export function sabChunk({ sab, start, end }) {
  const a = new Float64Array(sab);
  let s = 0;
  for (let i = start; i < end; i++) s += Math.sqrt(a[i]) * Math.sin(a[i]);
  return s;
}

export default inc;

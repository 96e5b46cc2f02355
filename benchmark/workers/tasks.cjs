// Shared task bodies for the peer pools (piscina, tinypool, workerpool, poolifier); each peer
// calls them by name. CommonJS, so that every peer can load it: piscina `require()`s its worker
// file, and Node 20's require() of an ES module aborted the process now and then (an assertion
// in ModuleWrap::CreateRequiredModuleFacade, seen in W6).

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

// W5: { sab, start, end } -> partial sum over a Float64Array view of the SAB.
function sabChunk({ sab, start, end }) {
  const a = new Float64Array(sab);
  let s = 0;
  for (let i = start; i < end; i++) s += Math.sqrt(a[i]) * Math.sin(a[i]);
  return s;
}

// W11: a new array of 2·a[i] + 1 (copied back; each peer's worker file adds scaleMoved, which
// moves it back the way that library does).
function scale(a) {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = 2 * a[i] + 1;
  return out;
}

// W12: an order record -> its summary (an object of about the same size).
function summarize(rec) {
  let total = 0;
  let items = 0;
  const lines = rec.orders.map((o) => {
    const subtotal = o.qty * o.price;
    total += subtotal;
    items += o.qty;
    return { sku: o.sku, qty: o.qty, price: o.price, subtotal, note: o.note };
  });
  return { id: rec.id, name: rec.name, email: rec.email, city: rec.address.city, zip: rec.address.zip, tags: rec.tags, total, items, lines };
}

// W9: a task that holds its worker for `ms` milliseconds (a progress bar over slow items). It
// blocks rather than spins, so that the figure measures scheduling, not how busy the shared
// machine's cores are.
function spin(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  return ms;
}

// W10: a task to abort. Raises flag[0] (flag: an Int32Array on a SharedArrayBuffer) with its
// thread's id in flag[1], so that the main thread knows it runs and where, then holds its worker
// for `ms` ms without looking at any abort: busy (a synchronous loop) or blocked (Atomics.wait,
// the bystanders of W10b, which must not be disturbed).
function hold({ flag, ms, busy }) {
  flag[1] = require('node:worker_threads').threadId;
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  if (busy) {
    const end = Date.now() + ms;
    while (Date.now() < end);
  } else {
    Atomics.wait(flag, 2, 0, ms);
  }
  return ms;
}

// W10b: the thread a task ran on (the task after an abort must run on the replacement).
function threadId() {
  return require('node:worker_threads').threadId;
}

exports.inc = inc;
exports.double = double;
exports.fib = fib;
exports.sabChunk = sabChunk;
exports.scale = scale;
exports.summarize = summarize;
exports.spin = spin;
exports.hold = hold;
exports.threadId = threadId;

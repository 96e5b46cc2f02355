// piscina worker: named exports, selected with run(arg, { name }).
const tasks = require('./tasks.cjs');

module.exports = {
  ...tasks,
  // W11 with transfer: the result's buffer is moved back (Piscina.move) instead of copied.
  // piscina is required on first use, so that it does not add to every worker's start (W6).
  scaleMoved: (a) => require('piscina').move(tasks.scale(a)),
};

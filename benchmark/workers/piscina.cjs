// piscina worker: named exports, selected with run(arg, { name }).
module.exports = require('./tasks.cjs');

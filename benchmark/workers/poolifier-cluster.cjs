// poolifier cluster (process) worker for W8. Must be CommonJS: with an ESM worker
// file, FixedClusterPool's first execute() never settles (poolifier 5.3.2).
const { ClusterWorker } = require('poolifier');

module.exports = new ClusterWorker({
  inc(x) {
    return x + 1;
  },
});

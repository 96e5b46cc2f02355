// ESM entry of `concurrent-futures/distributed`: re-exports the CommonJS build, as the root entry does.
import cjs from '../dist/distributed/index.js';

export const { DistributedExecutor, startWorkerHost } = cjs;

export default cjs;

// Types of the ESM entry of `concurrent-futures/distributed` (esm/distributed.mjs): an ES module's
// declarations, re-exporting the CommonJS build's own, as esm/index.d.mts does for the root.
export * from '../dist/distributed/index.js';
import * as cjs from '../dist/distributed/index.js';
export default cjs;

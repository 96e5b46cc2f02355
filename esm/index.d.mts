// Types of the ESM entry (esm/index.mjs): an ES module's declarations, so that a consumer that
// imports the package under moduleResolution node16/nodenext sees an ES module, as Node gives it.
// The names are the CommonJS build's own declarations, re-exported: `import` and `require` share
// one set of classes, in the types as at run time.
export * from '../dist/index.js';
// `import cf from 'concurrent-futures'` is the CommonJS exports object (see esm/index.mjs).
import * as cjs from '../dist/index.js';
export default cjs;

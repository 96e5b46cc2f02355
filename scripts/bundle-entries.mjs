// Bundles the two files a new worker loads (the worker thread's and the child process's entry) into
// one file each, over the ones tsc wrote. A worker pays for every module file it loads (resolving,
// reading, compiling, each in a fresh isolate): 15 files cost about 2 ms of each worker's start,
// and a fresh worker runs its first thousands of tasks slower while another one is still loading.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const entries = ['hosts/thread/worker', 'hosts/process/child'];

await Promise.all(
  entries.map((entry) =>
    build({
      entryPoints: [path.join(root, 'src', `${entry}.ts`)],
      outfile: path.join(root, 'dist', `${entry}.js`),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      // The addon's generated loader stays a file of its own (see src/wire/native.ts).
      external: ['*/index.js'],
      logLevel: 'warning',
    }),
  ),
);

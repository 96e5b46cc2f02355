#!/usr/bin/env node
// The package's command line: `concurrent-futures worker --connection redis://host:port ...`
// (see src/distributed/cli.ts, or run it with --help).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let cli;
try {
  cli = require('../dist/distributed/cli.js');
} catch (error) {
  // bullmq and ioredis are optional peer dependencies: only the worker host needs them.
  const missing = /Cannot find module '(bullmq|ioredis)'/.exec(error?.message ?? '')?.[1];
  if (missing === undefined) throw error;
  process.stderr.write(`concurrent-futures: the worker host needs bullmq and ioredis beside this package (${missing} is missing): npm install bullmq ioredis\n`);
  process.exit(1);
}

cli.main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`concurrent-futures: ${error?.stack ?? error}\n`);
    process.exit(1);
  },
);

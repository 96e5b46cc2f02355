#!/usr/bin/env node
// The package's command line: `concurrent-futures worker --connection redis://host:port ...`
// (see src/distributed/cli.ts, or run it with --help).
import cli from '../dist/distributed/cli.js';

cli.main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`concurrent-futures: ${error?.stack ?? error}\n`);
    process.exit(1);
  },
);

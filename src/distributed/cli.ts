/**
 * The command line: `concurrent-futures worker --connection redis://host:port [--queue q]
 * [--max-workers n] [--pool process] [--only-tasks] [--module PATH]...`
 */
import { startWorkerHost, type WorkerHostOptions } from './host.js';

const USAGE = `usage: concurrent-futures worker --connection redis://host:port [options]

Runs a worker host: takes jobs of DistributedExecutor clients from the queue and runs them on a
local pool of this package.

  --connection URL        redis://[user:password@]host:port[/db] or rediss:// for TLS (required)
  --queue NAME            the BullMQ queue (default: concurrent-futures)
  --max-workers N         the local pool's size (default: the number of CPUs)
  --pool thread|process   the local pool (default: thread)
  --only-tasks            run task() module exports only: refuse functions sent by source
  --module PATH           allow this task() module (a path, file URL or package name); repeat
                          for several. Without it, any module may be imported.
  --lock-duration MS      BullMQ's job lock (default 10000)
  --stalled-interval MS   how often to look for jobs of dead hosts (default 5000)
`;

/** Parses the arguments after `worker`; throws a `TypeError` naming what is wrong. */
export function parseWorkerArguments(argv: string[]): WorkerHostOptions {
  const options: Partial<WorkerHostOptions> & { modules?: string[] } = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new TypeError(`${flag} needs a value`);
      return v;
    };
    const number = (): number => {
      const text = value();
      const n = Number(text);
      if (!Number.isFinite(n)) throw new TypeError(`${flag} needs a number, got '${text}'`);
      return n;
    };
    switch (flag) {
      case '--connection': options.connection = value(); break;
      case '--queue': options.queue = value(); break;
      case '--max-workers': options.maxWorkers = number(); break;
      case '--pool': options.pool = value() as WorkerHostOptions['pool']; break;
      case '--only-tasks': options.only = 'tasks'; break;
      case '--module': (options.modules ??= []).push(value()); break;
      case '--lock-duration': options.lockDuration = number(); break;
      case '--stalled-interval': options.stalledInterval = number(); break;
      default: throw new TypeError(`unknown option ${flag}`);
    }
  }
  if (options.connection === undefined) throw new TypeError('--connection is required');
  return options as WorkerHostOptions;
}

/** Runs the CLI; resolves with the exit code once the host has stopped (SIGINT / SIGTERM). */
export async function main(argv: string[]): Promise<number> {
  if (argv[0] !== 'worker' || argv.includes('--help') || argv.includes('-h')) {
    (argv[0] === 'worker' || argv.length === 0 || argv.includes('--help') ? process.stdout : process.stderr).write(USAGE);
    return argv[0] === 'worker' || argv.includes('--help') ? 0 : 2;
  }
  let options: WorkerHostOptions;
  try {
    options = parseWorkerArguments(argv.slice(1));
  } catch (error) {
    process.stderr.write(`concurrent-futures worker: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const host = await startWorkerHost(options);
  process.stdout.write(`concurrent-futures worker: taking jobs from queue '${options.queue ?? 'concurrent-futures'}' (pid ${process.pid})\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await host.close();
  return 0;
}

/**
 * A child process of `ProcessPoolExecutor`: receives batches of record frames over IPC, runs them
 * with a `Runner` and replies with their outcome frames. Messages are handled one at a time, in
 * order.
 */
import { describeError } from '../../wire/errors.js';
import { Batch } from '../../wire/frames.js';
import { exitWithParent, takeFromEnvironment } from '../../wire/native.js';
import { decodeEncoded } from '../../wire/values.js';
import { Runner } from '../../worker/runner.js';
import { reportStrayErrors } from '../../worker/stray-errors.js';
import { type ChildMessage, PARENT_PID_ENV, type ParentMessage } from './protocol.js';

if (typeof process.send !== 'function') {
  console.error('concurrent-futures: child.js is started by ProcessPoolExecutor, not directly');
  process.exit(1);
}

// The parent's exit ends this process at once, even in the middle of a synchronous task (the
// `disconnect` below needs the event loop to turn); on Windows only `disconnect` does.
const parentPid = Number(takeFromEnvironment(PARENT_PID_ENV));
if (Number.isInteger(parentPid) && parentPid > 0) exitWithParent(parentPid);

reportStrayErrors(`child process ${process.pid}`);

const descriptors = new Map<number, string>();
/** Shared memory cannot cross processes: with no table, the codec refuses it (DataCloneError). */
const runner = new Runner((index) => descriptors.get(index) ?? null, undefined);
let initFailed = false;

function reply(message: ChildMessage): void {
  process.send!(message);
}

async function handle(message: ParentMessage): Promise<void> {
  switch (message.t) {
    case 'init': {
      try {
        await runner.runInitializer(message.initializer, decodeEncoded(message.initargs) as unknown[]);
      } catch (error) {
        initFailed = true;
        reply({ t: 'initFailed', error: describeError(error) });
      }
      return;
    }
    case 'run': {
      // After a failed initializer no task runs; the parent ends this process.
      if (initFailed) return;
      if (message.fns !== undefined) for (const [index, descriptor] of message.fns) descriptors.set(index, descriptor);
      const started = process.hrtime.bigint();
      const bytes = asBuffer(message.batch);
      const items = await runner.runBatch(new Batch(bytes, bytes.length));
      const costNs = Number(process.hrtime.bigint() - started) / Math.max(1, items);
      reply({ t: 'done', frames: runner.outcomes.take(), costNs });
      return;
    }
    case 'exit':
      process.exit(0);
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

let queue: Promise<void> = Promise.resolve();
process.on('message', (message: ParentMessage) => {
  queue = queue.then(() => handle(message));
  queue.catch((error: unknown) => {
    console.error('concurrent-futures child process failed:', error);
    process.exit(1);
  });
});
// The executor (or its whole process) is gone: no child outlives it.
process.on('disconnect', () => process.exit(0));

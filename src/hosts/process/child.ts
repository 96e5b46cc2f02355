/**
 * A child process of `ProcessPoolExecutor`: receives batches of record frames over IPC, runs them
 * with a `Runner` and replies with their outcome frames. Messages are handled one at a time, in
 * order.
 */
import { describeError, type ErrorDescriptor, rebuildError } from '../../wire/errors.js';
import { cancelledRun } from '../../worker/task-scope.js';
import { Batch } from '../../wire/frames.js';
import { exitWithParent, takeFromEnvironment } from '../../wire/native.js';
import { decodeEncoded } from '../../wire/values.js';
import type { FrameWriter } from '../../wire/frames.js';
import { type ChunkControl, Runner } from '../../worker/runner.js';
import { reportStrayErrors } from '../../worker/stray-errors.js';
import { type ChildMessage, PARENT_PID_ENV, type ParentMessage } from './protocol.js';
import { nextBatch, OUTCOMES_UNKNOWN, STOP_PAGE_ENV, StopPageReader } from './stop-page.js';

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

/**
 * Where the parent marks the records it stops before it sends `stop` (`stop-page.ts`), read at
 * once even inside a synchronous task; `undefined` where there is no such page (Windows, or a
 * runtime that could not hand it over): then only the `stop` messages tell.
 */
const stopPage = StopPageReader.open(takeFromEnvironment(STOP_PAGE_ENV));

/**
 * The records of the current batch that were stopped, as the parent last said (`stop`
 * messages are handled as they arrive, not queued behind the batch). A `run` message starts
 * afresh: the parent sends a `stop` only while a batch is out, so none is about an older batch.
 */
let stoppedRecords: number[] = [];
/** Why records of the current batch were aborted (`run`'s signal or timeout), by index. */
const abortReasons = new Map<number, ErrorDescriptor>();

/**
 * A stop is read from the stop page (at once) or from the last `stop` message. Without a page, a
 * chunk's finished items go to the parent at once; then the child lets its event loop turn
 * (one `setImmediate`, at most once per hand-over, about a millisecond apart), which is when a
 * `stop` can arrive in the middle of a synchronous chunk. The page carries the reason of an
 * aborted task with its mark, so it is known before the message comes.
 */
const control: ChunkControl = {
  stopped: (index) => (stopPage !== undefined && stopPage.stopped(index)) || (stoppedRecords.length > 0 && stoppedRecords.includes(index)),
  reason: (index) => {
    const reason = abortReasons.get(index) ?? stopPage?.reason(index);
    return reason === undefined ? cancelledRun() : rebuildError(reason);
  },
  handOver(index: number, count: number, part: FrameWriter): Promise<void> {
    reply({ t: 'part', index, count, frame: part.take() });
    return new Promise((resolve) => setImmediate(resolve));
  },
};

/**
 * The outcome frames go in the stop page while they fit (else in memory of this process alone):
 * before each record, the child commits those of the records before it, so that should it die
 * running that record (out of memory, killed), the parent still hands them over.
 */
const allocateOutcomes = (bytes: number): Buffer => (stopPage !== undefined && bytes <= stopPage.outcomes.length ? stopPage.outcomes : Buffer.allocUnsafe(bytes));
const commitFinished = (): true => {
  const { outcomes } = runner;
  stopPage!.commitOutcomes(outcomes.bytes === stopPage!.outcomes ? outcomes.length : OUTCOMES_UNKNOWN);
  return true;
};
const claim = stopPage === undefined ? undefined : commitFinished;

/** Shared memory cannot cross processes: with no table, the codec refuses it (DataCloneError). */
const runner = new Runner((index) => descriptors.get(index) ?? null, undefined, undefined, undefined, control, allocateOutcomes);
let initFailed = false;
/** A batch is running (see the `exit` handler). */
let inBatch = false;

function reply(message: ChildMessage): void {
  process.send!(message);
}

async function handle(message: ParentMessage): Promise<void> {
  switch (message.t) {
    case 'init': {
      try {
        if (message.initializer !== undefined) await runner.runInitializer(message.initializer, decodeEncoded(message.initargs) as unknown[]);
      } catch (error) {
        initFailed = true;
        reply({ t: 'initFailed', error: describeError(error) });
        return;
      }
      reply({ t: 'ready' });
      return;
    }
    case 'run': {
      // Counted as the parent counts the batches it sends (see `stop-page.ts`).
      if (stopPage !== undefined) stopPage.batch = nextBatch(stopPage.batch);
      // After a failed initializer no task runs; the parent ends this process.
      if (initFailed) return;
      if (message.fns !== undefined) for (const [index, descriptor] of message.fns) descriptors.set(index, descriptor);
      const started = process.hrtime.bigint();
      const bytes = asBuffer(message.batch);
      inBatch = true;
      // Nothing finished yet: should the child die running the first record, the parent knows.
      stopPage?.commitOutcomes(0);
      const items = await runner.runBatch(new Batch(bytes, bytes.length), claim);
      inBatch = false;
      const costNs = Number(process.hrtime.bigint() - started) / Math.max(1, items);
      // The commit stays until the next batch: the parent reads it only for a batch it has no
      // `done` of (one the child died before sending).
      reply({ t: 'done', frames: runner.outcomes.take(), costNs });
      return;
    }
    case 'exit':
      exitFlushed();
  }
}

/**
 * Exits once what the tasks wrote to stdout and stderr has gone out: a write to a pipe waits in
 * the stream when the pipe is full, and `process.exit` would drop it. Bounded, should the reader
 * of the pipe never read.
 */
function exitFlushed(): void {
  let streams = 2;
  const flushed = (): void => {
    if (--streams === 0) process.exit(0);
  };
  process.stdout.write('', flushed);
  process.stderr.write('', flushed);
  setTimeout(() => process.exit(0), EXIT_FLUSH_MS).unref();
}

/** How long an exiting child waits for its output to go out. */
const EXIT_FLUSH_MS = 5000;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

let queue: Promise<void> = Promise.resolve();
process.on('message', (message: ParentMessage) => {
  if (message.t === 'stop') {
    stoppedRecords = message.indices;
    for (const [index, reason] of message.reasons ?? []) abortReasons.set(index, reason);
    return;
  }
  if (message.t === 'run') {
    stoppedRecords = [];
    abortReasons.clear();
  }
  queue = queue.then(() => handle(message));
  queue.catch((error: unknown) => {
    console.error('concurrent-futures child process failed:', error);
    process.exit(1);
  });
});
// The executor (or its whole process) is gone: no child outlives it.
process.on('disconnect', exitFlushed);
// A task that calls `process.exit` in the middle of a batch: the items a running chunk finished,
// and the outcomes of the records before that task, go to the parent (IPC messages this small are
// written at once), so that only that task fails; the records after it go back to the queue.
process.once('exit', () => {
  if (!process.connected) return; // the parent is gone (`disconnect`)
  runner.handOverRunning();
  // The commit stays as it is: should this message not reach the parent, the page still tells.
  if (inBatch) reply({ t: 'done', frames: runner.outcomes.take(), costNs: 0, ending: true });
});

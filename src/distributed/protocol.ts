/**
 * What travels between a `DistributedExecutor` (the client) and its worker hosts, besides BullMQ's
 * own bookkeeping:
 *
 * - a **job** (BullMQ job data, JSON): one or more items of one task function. Submits made in
 *   the same tick and `map` chunks are both jobs of several items; each item has its own outcome.
 * - a **message** (an entry of the client's results list in Redis): the jobs a host started and
 *   the outcomes of ranges of their items. Values and errors go through this package's codec
 *   (`wire/`), so they arrive as they would from a local pool.
 * - an **abort** (published on the queue's abort channel, and kept a while under `abortedKey`):
 *   a client aborted the task of a `run` job (its signal); the host running it aborts the task's
 *   own signal with the reason carried.
 */
import { type ErrorDescriptor, rebuildError } from '../wire/errors.js';
import { errorDescriptor } from '../wire/outcomes.js';
import { deserialize, serialize } from '../wire/clone.js';
import { snapshot, snapshotItems } from '../wire/snapshot.js';

/** Bumped when the job or message layout changes: a host refuses a job of another version. */
export const PROTOCOL_VERSION = 3;

export const DEFAULT_QUEUE = 'concurrent-futures';
/** BullMQ's default key prefix; our own keys live beside the queue's. */
export const PREFIX = 'bull';

/** The Redis list a client reads its messages from. */
export function resultsKey(queue: string, client: string): string {
  return `${PREFIX}:${queue}:cf:results:${client}`;
}

/** The Redis set of the cancelled items of a job of several items (a host skips them). */
export function cancelledKey(queue: string, jobId: string): string {
  return `${PREFIX}:${queue}:cf:cancelled:${jobId}`;
}

/** The pub/sub channel of a queue's aborts: every host of the queue listens. */
export function abortChannel(queue: string): string {
  return `${PREFIX}:${queue}:cf:abort`;
}

/** An abort, kept for a host that takes (or takes again) the job after it was published. */
export function abortedKey(queue: string, jobId: string): string {
  return `${PREFIX}:${queue}:cf:aborted:${jobId}`;
}

/** A results list nobody reads (its client is gone) expires after this. */
export const RESULTS_TTL_MS = 3_600_000;

/** BullMQ job data. */
export interface JobData {
  v: number;
  /** The client's id: where the outcomes go. */
  c: string;
  /** The job's key for the client: the id of its first item. */
  k: number;
  /** The task function's descriptor (JSON text, `wire/task-descriptor.ts`). */
  f: string;
  /** 1: each item is an argument list; 0: each item is the only argument. */
  s: 0 | 1;
  /** 1: a `map` chunk (the host's pool may group its items); 0: each item runs as a task of its own. */
  m: 0 | 1;
  /** How many items. */
  n: number;
  /** The items, when JSON carries them exactly, */
  a?: unknown[];
  /** else their structured-clone bytes, base64 (a `map` chunk: all its items at once), */
  b?: string;
  /** or each item's, base64 (tasks of one tick, each read as it was submitted). */
  e?: string[];
  /** A `run` job (one item): its timeout in ms of run time, counted and enforced by the host, */
  t?: number;
  /** and 1 when its client has a signal (the host listens for its aborts). */
  x?: 1;
  /** A `map` chunk: 1 when its run has a signal (its items may be aborted, and stopped). */
  p?: 1;
}

/** The outcome of items `first .. first + count` of job `key`: their values, or one error for all. */
export type Outcome =
  | [key: number, first: number, count: number, ok: 1, values: unknown[]]
  | [key: number, first: number, count: number, ok: 0, error: ErrorDescriptor]
  /** The job's hosts died running it more often than BullMQ allows: a `WorkerCrashedError` with this message. */
  | [key: number, first: number, count: number, ok: 2, crashed: string]
  /**
   * A `run` task stopped by its signal (`timedOut` 0: the future fails with the signal's reason,
   * the client's own object when it aborted it) or its timeout (1: a `TimeoutError`).
   */
  | [key: number, first: number, count: number, ok: 3, reason: ErrorDescriptor, timedOut: 0 | 1];

/** One entry of a client's results list. */
export interface Message {
  /** Keys of the jobs a host has started. */
  s?: number[];
  o?: Outcome[];
}

const TAG_JSON = 0x4a; // 'J'
const TAG_CLONE = 0x56; // 'V'

/**
 * Encodes a job's items with the codec's rules (read once, as structured clone reads them).
 * Throws a `DataCloneError` naming the item and what in it cannot travel.
 */
export function encodeItems(items: unknown[], spread: boolean): Pick<JobData, 'a' | 'b'> {
  const read = snapshotItems(items, undefined, spread ? 'map argument lists' : 'map items');
  if (read.refused !== undefined) throw read.refused.error;
  if (read.json) return { a: read.items };
  return { b: serialize(read.items, undefined).toString('base64') };
}

export function decodeItems(data: JobData): unknown[] {
  if (data.a !== undefined) return data.a;
  if (data.e !== undefined) return data.e.map(decodeBase64);
  return decodeBase64(data.b ?? '') as unknown[];
}

function decodeBase64(text: string): unknown {
  const bytes = Buffer.from(text, 'base64');
  return deserialize(bytes, 0, bytes.length, undefined);
}

/** A message as one Redis value: JSON text when JSON carries it exactly, else structured clone. */
export function encodeMessage(message: Message): Buffer {
  return encodeValue(message);
}

export function decodeMessage(bytes: Buffer): Message {
  return decodeValue(bytes) as Message;
}

/** An abort of job `jobId`: its reason travels as a thrown value does (any value; errors rebuilt). */
export function encodeAbort(jobId: string, reason: unknown): Buffer {
  return encodeValue({ j: jobId, r: errorDescriptor(reason, undefined) });
}

export function decodeAbort(bytes: Buffer): { jobId: string; reason: unknown } {
  const { j, r } = decodeValue(bytes) as { j: string; r: ErrorDescriptor };
  return { jobId: j, reason: rebuildError(r) };
}

function encodeValue(value: unknown): Buffer {
  const snap = snapshot(value, undefined);
  if (snap.json) {
    const text = JSON.stringify(snap.value);
    const out = Buffer.allocUnsafe(1 + Buffer.byteLength(text));
    out[0] = TAG_JSON;
    out.write(text, 1);
    return out;
  }
  return Buffer.concat([Buffer.of(TAG_CLONE), serialize(snap.value, undefined)]);
}

function decodeValue(bytes: Buffer): unknown {
  if (bytes[0] === TAG_JSON) return JSON.parse(bytes.toString('utf8', 1));
  return deserialize(bytes, 1, bytes.length, undefined);
}

/** The outcome for an error thrown by (or about) items of a job, as a descriptor that can travel. */
export function errorOutcome(key: number, first: number, count: number, error: unknown): Outcome {
  return [key, first, count, 0, errorDescriptor(error, undefined)];
}

/** The outcome of a `run` task its signal (`timedOut` false) or timeout stopped. */
export function stoppedOutcome(key: number, reason: unknown, timedOut: boolean): Outcome {
  return [key, 0, 1, 3, errorDescriptor(reason, undefined), timedOut ? 1 : 0];
}

/**
 * Outcomes for a range of `values`: one for the range when they all can travel, else one per
 * item, each that cannot (a `SharedArrayBuffer` a thread returned) failing alone.
 */
export function valueOutcomes(key: number, first: number, values: unknown[]): Outcome[] {
  try {
    encodeMessage({ o: [[key, first, values.length, 1, values]] });
    return [[key, first, values.length, 1, values]];
  } catch {
    return values.map((value, i): Outcome => {
      const outcome: Outcome = [key, first + i, 1, 1, [value]];
      try {
        // Read as a result (the error names where in it), then encoded whole, as it will be sent:
        // a value too large for the walk is read only by the serializer, which is what finds a
        // `SharedArrayBuffer` deep inside it.
        snapshot(value, undefined, 0, 'result');
        encodeMessage({ o: [outcome] });
        return outcome;
      } catch (error) {
        return errorOutcome(key, first + i, 1, sharedMemoryRefused(error));
      }
    });
  }
}

export function rebuildOutcomeError(descriptor: ErrorDescriptor): unknown {
  return rebuildError(descriptor);
}

/** A `DataCloneError` about shared memory, said for this executor: it cannot reach another machine. */
export function sharedMemoryRefused(error: unknown): unknown {
  if (error instanceof TypeError && error.name === 'DataCloneError' && /SharedArrayBuffer/.test(error.message)) {
    error.message = error.message.replace(/a SharedArrayBuffer cannot be shared with a child process.*$/, 'shared memory cannot cross to another machine (DistributedExecutor)');
  }
  return error;
}

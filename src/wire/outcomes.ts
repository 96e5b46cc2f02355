/**
 * How a task's outcome travels back: its value (`values.ts`), the error it threw (as a
 * descriptor, `errors.ts`), or, for a `map` chunk, each item's value or error. Whatever a task
 * threw or returned, describing it fails only that task's outcome, never its worker: what cannot
 * be cloned is left out of the error, alone, and a value that cannot be cloned becomes its item's
 * `DataCloneError`.
 */
import { describeError, type ErrorDescriptor, rebuildError } from './errors.js';
import type { FrameBlocks, FrameWriter } from './frames.js';
import type { SharedMemoryTable } from './shared-memory.js';
import { decode, encode, kindOf, OUTCOME_ERROR } from './values.js';

/** Changes a descriptor before it is sent (the runner's hint for a captured variable). */
export type Amend = (descriptor: ErrorDescriptor) => void;

/** The thrown `error` as an outcome's kind and data. */
export function encodeError(error: unknown, shared: SharedMemoryTable | undefined, amend?: Amend): { kind: number; data: string | Uint8Array } {
  const descriptor = describeError(error);
  amend?.(descriptor);
  let data: string | Uint8Array;
  try {
    data = encode(descriptor, shared);
  } catch {
    data = encode(cloneableDescriptor(descriptor, shared), shared);
  }
  return { kind: kindOf(data) | OUTCOME_ERROR, data };
}

/** The thrown `error` as a descriptor that can be cloned (for a map item's failure). */
export function errorDescriptor(error: unknown, shared: SharedMemoryTable | undefined, amend?: Amend): ErrorDescriptor {
  const descriptor = describeError(error);
  amend?.(descriptor);
  return canEncode(descriptor, shared) ? descriptor : cloneableDescriptor(descriptor, shared);
}

/**
 * `descriptor` without what cannot be cloned: each own property that cannot is dropped alone
 * (the others, the class, the cause, stay), and a thrown value that cannot becomes a `TypeError`.
 */
function cloneableDescriptor(descriptor: ErrorDescriptor, shared: SharedMemoryTable | undefined): ErrorDescriptor {
  if ('thrown' in descriptor) {
    return canEncode(descriptor.thrown, shared) ? descriptor : describeError(new TypeError(`the task threw a value that cannot be cloned: ${safeString(descriptor.thrown)}`));
  }
  const out: ErrorDescriptor = { ...descriptor };
  if (out.props !== undefined) out.props = Object.fromEntries(Object.entries(out.props).filter(([, value]) => canEncode(value, shared)));
  if (out.cause !== undefined) out.cause = cloneableDescriptor(out.cause, shared);
  if (out.errors !== undefined) out.errors = out.errors.map((e) => cloneableDescriptor(e, shared));
  return out;
}

function canEncode(value: unknown, shared: SharedMemoryTable | undefined): boolean {
  try {
    encode(value, shared);
    return true;
  } catch {
    return false;
  }
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

/** Decodes an outcome: `[true, value]` or `[false, error]`. */
export function decodeOutcome(kind: number, buf: Buffer, start: number, end: number, shared?: SharedMemoryTable, blocks?: FrameBlocks): [boolean, unknown] {
  const value = decode(kind, buf, start, end, shared, blocks);
  return kind & OUTCOME_ERROR ? [false, rebuildError(value as ErrorDescriptor)] : [true, value];
}

/**
 * A `map` chunk's outcome, one value frame for all its items: `[values, failures]`, where
 * `failures` lists `[index, error descriptor]` for the items that threw (their value is `null`).
 */
export type ChunkOutcome = [values: unknown[], failures: Array<[index: number, error: ErrorDescriptor]>];

/**
 * Appends the outcome frame of a chunk whose items returned `values` and threw `failures`
 * (descriptors made with `errorDescriptor`). Should a value not clone, only its own item fails.
 */
export function pushChunkOutcome(out: FrameWriter, values: unknown[], failures: ChunkOutcome[1], shared: SharedMemoryTable | undefined): void {
  try {
    out.pushOutcome([values, failures] satisfies ChunkOutcome, shared, 'map results');
    return;
  } catch {
    // Find the culprits below; the frame was not appended.
  }
  const failed = new Set(failures.map(([i]) => i));
  for (let i = 0; i < values.length; i++) {
    if (failed.has(i)) continue;
    try {
      encode(values[i], shared, 'result');
    } catch (error) {
      values[i] = null;
      failures.push([i, errorDescriptor(error, shared)]);
    }
  }
  out.pushOutcome([values, failures] satisfies ChunkOutcome, shared, 'map results');
}

/** The items' values, and the errors of those that threw, by index. */
export function readChunkOutcome([values, failures]: ChunkOutcome): { values: unknown[]; errors?: Map<number, unknown> } {
  if (failures.length === 0) return { values };
  return { values, errors: new Map(failures.map(([index, error]) => [index, rebuildError(error)])) };
}

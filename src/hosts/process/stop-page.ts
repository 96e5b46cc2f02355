/**
 * A child process's stop page: memory shared by the parent and one child (made by the addon,
 * `concurrent_futures_core::stop_page`, where the layout and its invariants are written down),
 * where the parent marks which records of the child's current batch were stopped, and why, before
 * it sends the `stop` message. The child reads it with `Atomics`, so that
 * `currentTask().signal` turns, and a `map` chunk stops, inside a synchronous loop whose event
 * loop never turns to read that message.
 *
 * Batches are told apart by number: both sides count the `run` messages (1, 2, ...; the child as
 * it handles them, one at a time, in order), and a stop is about the batch the page names.
 */
import { deserialize, serialize } from 'node:v8';

import type * as Addon from '../../../index.js';
import type { ErrorDescriptor } from '../../wire/errors.js';
import { layout } from '../../wire/native.js';

// The addon's stop page functions: `native.ts` exports them with the frame layout (`layout` is
// the whole binding).
const binding = layout as typeof Addon;
export type ChildStopPage = Addon.ChildStopPage;

/** Where a child finds its stop page: `<fd>:<token>` in its environment. */
export const STOP_PAGE_ENV = 'CONCURRENT_FUTURES_STOP_PAGE';
/** The descriptor a child gets its page as: the `stdio` entry after the IPC channel's. */
export const STOP_PAGE_FD = 4;

/** The number of the batch after `batch` (never 0: a fresh page names batch 0). */
export function nextBatch(batch: number): number {
  return (batch + 1) >>> 0 || 1;
}

/** A new page for a child about to be forked, and the token that identifies it; `undefined` where there is none. */
export function createStopPage(): { page: ChildStopPage; token: number } | undefined {
  if (typeof binding.createStopPage !== 'function') return undefined;
  const token = (Math.random() * 2 ** 32) >>> 0;
  const page = binding.createStopPage(token);
  return page === null || page.fd === null ? undefined : { page, token };
}

/** A reason as the page carries it (as IPC would: `serialization: 'advanced'`); `undefined` when it cannot be. */
export function serializeReason(reason: ErrorDescriptor): Uint8Array | undefined {
  try {
    return serialize(reason);
  } catch {
    return undefined;
  }
}

/** The child's view of its page. */
/** What `commitOutcomes` is given when the finished outcomes are not in the page (the core's `OUTCOMES_UNKNOWN`, as an `Int32Array` holds it). */
export const OUTCOMES_UNKNOWN = -1;

export class StopPageReader {
  /** The batch being run (see `nextBatch`). */
  batch = 0;
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;

  /**
   * Where this child writes its outcome frames while they fit: the parent hands over those it
   * finished should it die in the middle of a batch (see `commitOutcomes`).
   */
  readonly outcomes: Buffer;

  private constructor(buffer: ArrayBuffer) {
    this.#words = new Int32Array(buffer);
    this.#bytes = new Uint8Array(buffer);
    this.outcomes = Buffer.from(buffer, binding.STOP_PAGE_OUTCOMES_OFFSET, buffer.byteLength - binding.STOP_PAGE_OUTCOMES_OFFSET);
  }

  /**
   * The first `bytes` bytes of `outcomes` are the finished outcomes of the batch (0 at its start,
   * and once the child has sent them itself; `OUTCOMES_UNKNOWN` when they are not in the page).
   */
  commitOutcomes(bytes: number): void {
    Atomics.store(this.#words, binding.STOP_PAGE_WORD_OUTCOMES_COMMITTED, bytes);
  }

  /** The page the parent gave this child (as `environment`, `<fd>:<token>`), or `undefined`. */
  static open(environment: string | undefined): StopPageReader | undefined {
    const match = /^(\d+):(\d+)$/.exec(environment ?? '');
    if (match === null || typeof binding.mapStopPage !== 'function') return undefined;
    try {
      const buffer = binding.mapStopPage(Number(match[1]), Number(match[2]));
      return buffer === null ? undefined : new StopPageReader(buffer);
    } catch {
      return undefined;
    }
  }

  /** Whether record `index` of the batch being run was stopped. Cheap: one atomic load unless it was. */
  stopped(index: number): boolean {
    const words = this.#words;
    if (Atomics.load(words, binding.STOP_PAGE_WORD_BATCH) !== (this.batch | 0)) return false;
    if (index >= binding.STOP_PAGE_BITMAP_RECORDS) return false;
    return (Atomics.load(words, binding.STOP_PAGE_BITMAP_OFFSET / 4 + (index >>> 5)) & (1 << (index & 31))) !== 0;
  }

  /** Why record `index` was stopped, if the page says (asked once `stopped` said so). */
  reason(index: number): ErrorDescriptor | undefined {
    const words = this.#words;
    if (Atomics.load(words, binding.STOP_PAGE_WORD_BATCH) !== (this.batch | 0)) return undefined;
    const end = binding.STOP_PAGE_LOG_OFFSET + Atomics.load(words, binding.STOP_PAGE_WORD_LOG_END);
    for (let at = binding.STOP_PAGE_LOG_OFFSET; at < end; ) {
      const length = Atomics.load(words, at / 4 + 1);
      const start = at + binding.STOP_PAGE_LOG_ENTRY_HEADER;
      if (Atomics.load(words, at / 4) === index) {
        try {
          return deserialize(this.#bytes.slice(start, start + length)) as ErrorDescriptor;
        } catch {
          return undefined;
        }
      }
      at = start + Math.ceil(length / 4) * 4;
    }
    return undefined;
  }
}

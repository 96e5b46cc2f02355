/**
 * Maps shared memory to ids and back, so that a `SharedArrayBuffer` crosses to a worker thread by
 * reference and is rebuilt there over the same memory. Where there is no table (a child process),
 * the codec refuses shared memory with a `DataCloneError`.
 */
export interface SharedMemoryTable {
  /**
   * Where buffers can be moved (thread pools): the id `buffer` (an ordinary `ArrayBuffer`) is
   * moved under in the value being written, or `undefined` when it is copied (see
   * `api/transfer.ts`). A moved buffer travels beside the frame, as the runtime moves it.
   */
  movingId?(buffer: ArrayBuffer): number | undefined;
  /** The buffers the value being written may move (none: an empty list). */
  moving?(): readonly ArrayBuffer[];
  /** The buffer moved to this side under `id` (once); a `DataCloneError` when it cannot be had. */
  takeMoved?(id: number): ArrayBuffer;
  /** The id of `sab`, given one (and announced to the other side) on first use. */
  idOf(sab: SharedArrayBuffer): number;
  /** The memory of `id`; a `DataCloneError` when it is unknown. */
  get(id: number): SharedArrayBuffer;
  /** A worker is about to read a record's value (see `hosts/thread/shared-memory.ts`). */
  beginRecord?(): void;
  /** The main thread: what the value just written named lives until record `id` is released (`undefined`: it was not sent). */
  keepNamedFor?(id: number | 'always' | undefined): void;
  /** The main thread: record `id` is settled, or will never run. */
  release?(id: number): void;
  /** The main thread: a drain of completions begins, and ends (drains may nest). */
  beginDrain?(): void;
  endDrain?(): void;
}

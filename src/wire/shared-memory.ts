/**
 * Maps shared memory to ids and back, so that a `SharedArrayBuffer` crosses to a worker thread by
 * reference and is rebuilt there over the same memory. Where there is no table (a child process),
 * the codec refuses shared memory with a `DataCloneError`.
 */
export interface SharedMemoryTable {
  /** The id of `sab`, given one (and announced to the other side) on first use. */
  idOf(sab: SharedArrayBuffer): number;
  /** The memory of `id`; a `DataCloneError` when it is unknown. */
  get(id: number): SharedArrayBuffer;
}

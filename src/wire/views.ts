/**
 * `DataView`s over the buffers frames arrive in. Frames are read and written through views
 * because `DataView`'s methods are V8 builtins, fast from the first call, while `Buffer`'s
 * `readUInt32LE` and the like are JavaScript that each new worker runs slowly until its JIT has
 * warmed up.
 */

/** Buffers larger than this are one-offs (frames that did not fit the reused ones): not kept. */
export const MAX_KEPT_BYTES = 4 * 1024 * 1024;

let viewed: Uint8Array | undefined;
let lastView: DataView | undefined;

/**
 * A `DataView` over `bytes`, kept for the last buffer asked about: frames arrive in one buffer
 * that each thread reuses.
 */
export function viewOf(bytes: Uint8Array): DataView {
  if (bytes.byteLength > MAX_KEPT_BYTES) return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes !== viewed || lastView === undefined) {
    viewed = bytes;
    lastView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return lastView;
}

/** Drops the view kept for `bytes`, a buffer of frames that will not be read again. */
export function forgetView(bytes: Uint8Array): void {
  if (viewed === bytes) {
    viewed = undefined;
    lastView = undefined;
  }
}

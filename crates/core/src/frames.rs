//! Frames: how records, outcomes and completions cross between JavaScript and the core as bytes.
//! Every layout is defined here, once. The binding reads and writes frames only through this
//! module and exports its constants to JavaScript, where `src/wire/frames.ts` is the only reader
//! and writer; nothing else on either side does offset arithmetic on frames.
//!
//! ```text
//! value frame       [kind u8][len u32][data: len bytes]
//! record frame      [func u32][items u32] value frame                main → core (submitBatch),
//!                                                                    core → worker (take)
//! outcome frame     value frame                                      worker → core (complete)
//! completion frame  [id f64][first item u32][items u32][status u8] value frame
//!                                                                    core → main (drain)
//! batch             [flags u32] then frames                          what take and drain write
//! ```
//!
//! Integers are little-endian; an id is an `f64` because JavaScript reads it as a number. `data`
//! is opaque here: its format is the codec's (`src/wire/values.ts`), named by `kind`. A value frame
//! whose kind has [`KIND_HAS_BLOCKS`] set starts its data with a count `n` (one byte): the frame
//! owns `n` blocks, large arrays that travel beside the frames rather than in them (see
//! [`Payload::blocks`]). A batch whose frames own blocks has [`BATCH_HAS_BLOCKS`] in its flags.
//!
//! ```
//! use concurrent_futures_core::frames::{self, RECORD_HEADER};
//! use concurrent_futures_core::Payload;
//!
//! let mut bytes = Vec::new();
//! frames::push_record(&mut bytes, 7, 1, 0, b"[1]");
//! assert_eq!(bytes.len(), RECORD_HEADER + 3);
//! let records = frames::parse_records(&bytes).unwrap();
//! assert_eq!((records[0].func, records[0].items, records[0].value.data), (7, 1, b"[1]".as_slice()));
//! ```

use crate::completion::Completion;
use crate::task::Payload;

/// Bytes of a value frame's header: `[kind u8][len u32]`.
pub const VALUE_HEADER: usize = 5;
/// Offset of a value frame's data length.
pub const VALUE_LEN: usize = 1;

/// Offset of a record frame's function index.
pub const RECORD_FUNC: usize = 0;
/// Offset of a record frame's item count.
pub const RECORD_ITEMS: usize = 4;
/// Offset of a record frame's value frame.
pub const RECORD_VALUE: usize = 8;
/// Bytes of a record frame's header, its value frame's included.
pub const RECORD_HEADER: usize = RECORD_VALUE + VALUE_HEADER;

/// Offset of a completion frame's record id.
pub const COMPLETION_ID: usize = 0;
/// Offset of a completion frame's first item.
pub const COMPLETION_FIRST: usize = 8;
/// Offset of a completion frame's item count.
pub const COMPLETION_ITEMS: usize = 12;
/// Offset of a completion frame's status ([`crate::Status`]).
pub const COMPLETION_STATUS: usize = 16;
/// Offset of a completion frame's value frame.
pub const COMPLETION_VALUE: usize = 17;
/// Bytes of a completion frame's header, its value frame's included.
pub const COMPLETION_HEADER: usize = COMPLETION_VALUE + VALUE_HEADER;

/// Bytes of a batch's header: `[flags u32]`.
pub const BATCH_HEADER: usize = 4;
/// A batch flag: some of its frames own blocks.
pub const BATCH_HAS_BLOCKS: u32 = 1;

/// A kind bit: the value frame's data starts with the count of blocks it owns.
pub const KIND_HAS_BLOCKS: u8 = 0x80;

/// The kind of an outcome frame for a record of which the worker ran nothing more (a `map` chunk
/// whose run was stopped: what it ran went ahead with `complete_part`); its data is empty.
pub const KIND_SKIPPED: u8 = 0x0f;

/// Why bytes are not well-formed frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// A header or its data runs past the end of the bytes.
    Truncated,
    /// A value frame flagged with blocks has no data to hold their count.
    MissingBlockCount,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FrameError::Truncated => "truncated frame",
            FrameError::MissingBlockCount => "a frame with blocks has no block count",
        })
    }
}

impl std::error::Error for FrameError {}

/// A value frame read from bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueFrame<'a> {
    pub kind: u8,
    pub data: &'a [u8],
}

impl ValueFrame<'_> {
    /// How many blocks the frame owns (0 unless its kind has [`KIND_HAS_BLOCKS`]).
    pub fn block_count(&self) -> Result<usize, FrameError> {
        if self.kind & KIND_HAS_BLOCKS == 0 {
            return Ok(0);
        }
        self.data.first().map(|&n| usize::from(n)).ok_or(FrameError::MissingBlockCount)
    }
}

/// A record frame read from bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordFrame<'a> {
    pub func: u32,
    pub items: u32,
    pub value: ValueFrame<'a>,
}

/// Reads the record frames that fill `bytes` (what `submitBatch` receives).
pub fn parse_records(mut bytes: &[u8]) -> Result<Vec<RecordFrame<'_>>, FrameError> {
    let mut records = Vec::new();
    while !bytes.is_empty() {
        let header = bytes.get(..RECORD_VALUE).ok_or(FrameError::Truncated)?;
        let (value, rest) = split_value(&bytes[RECORD_VALUE..])?;
        records.push(RecordFrame { func: read_u32(header, RECORD_FUNC), items: read_u32(header, RECORD_ITEMS), value });
        bytes = rest;
    }
    Ok(records)
}

/// Reads the value frames that fill `bytes` (the outcomes `complete` receives).
pub fn parse_values(mut bytes: &[u8]) -> Result<Vec<ValueFrame<'_>>, FrameError> {
    let mut values = Vec::new();
    while !bytes.is_empty() {
        let (value, rest) = split_value(bytes)?;
        values.push(value);
        bytes = rest;
    }
    Ok(values)
}

/// Appends a record frame to `out` (what JavaScript writes; here for tests and examples).
pub fn push_record(out: &mut Vec<u8>, func: u32, items: u32, kind: u8, data: &[u8]) {
    out.extend_from_slice(&func.to_le_bytes());
    out.extend_from_slice(&items.to_le_bytes());
    push_value(out, kind, data);
}

/// Appends a value frame to `out`.
pub fn push_value(out: &mut Vec<u8>, kind: u8, data: &[u8]) {
    out.push(kind);
    out.extend_from_slice(&frame_len(data).to_le_bytes());
    out.extend_from_slice(data);
}

/// Bytes of the batch of record frames for `records` (what `take` writes).
pub fn records_size<P: AsRef<Payload>>(records: &[P]) -> usize {
    BATCH_HEADER + records.iter().map(|p| RECORD_HEADER + p.as_ref().data.len()).sum::<usize>()
}

/// Writes the batch of `records` into `out`, exactly [`records_size`] bytes long.
pub fn write_records<P: AsRef<Payload>>(out: &mut [u8], records: &[P]) {
    let has_blocks = records.iter().any(|p| !p.as_ref().blocks.is_empty());
    let mut cursor = Cursor::batch(out, has_blocks);
    for payload in records {
        let Payload { func, items, kind, data, .. } = payload.as_ref();
        cursor.put(&func.to_le_bytes());
        cursor.put(&items.to_le_bytes());
        cursor.put_value(*kind, data);
    }
    cursor.finish();
}

/// Bytes of the batch of completion frames for `completions` (what `drain` writes).
pub fn completions_size(completions: &[Completion]) -> usize {
    BATCH_HEADER + completions.iter().map(|c| COMPLETION_HEADER + c.data.len()).sum::<usize>()
}

/// Writes the batch of `completions` into `out`, exactly [`completions_size`] bytes long.
pub fn write_completions(out: &mut [u8], completions: &[Completion]) {
    let has_blocks = completions.iter().any(|c| !c.blocks.is_empty());
    let mut cursor = Cursor::batch(out, has_blocks);
    for Completion { id, first_item, items, status, kind, data, .. } in completions {
        cursor.put(&(*id as f64).to_le_bytes());
        cursor.put(&first_item.to_le_bytes());
        cursor.put(&items.to_le_bytes());
        cursor.put(&[*status as u8]);
        cursor.put_value(*kind, data);
    }
    cursor.finish();
}

/// Splits the value frame at the start of `bytes` from what follows it.
fn split_value(bytes: &[u8]) -> Result<(ValueFrame<'_>, &[u8]), FrameError> {
    let header = bytes.get(..VALUE_HEADER).ok_or(FrameError::Truncated)?;
    let len = read_u32(header, VALUE_LEN) as usize;
    let data = bytes.get(VALUE_HEADER..VALUE_HEADER + len).ok_or(FrameError::Truncated)?;
    Ok((ValueFrame { kind: header[0], data }, &bytes[VALUE_HEADER + len..]))
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// A value's data length as its frame stores it. The codec never writes 4 GB into one frame (a
/// V8 string or buffer cannot hold that much), so this cannot fail for data that came from it.
fn frame_len(data: &[u8]) -> u32 {
    u32::try_from(data.len()).expect("a frame's data fits in 4 GB")
}

/// Writes frames in place, into exactly the bytes they need.
struct Cursor<'a> {
    bytes: &'a mut [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// Starts a batch: its header, then its frames.
    fn batch(bytes: &'a mut [u8], has_blocks: bool) -> Self {
        let flags = if has_blocks { BATCH_HAS_BLOCKS } else { 0 };
        let mut cursor = Cursor { bytes, at: 0 };
        cursor.put(&flags.to_le_bytes());
        cursor
    }

    fn put(&mut self, data: &[u8]) {
        self.bytes[self.at..self.at + data.len()].copy_from_slice(data);
        self.at += data.len();
    }

    fn put_value(&mut self, kind: u8, data: &[u8]) {
        self.put(&[kind]);
        self.put(&frame_len(data).to_le_bytes());
        self.put(data);
    }

    fn finish(self) {
        debug_assert_eq!(self.at, self.bytes.len(), "frames written to the size measured");
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::completion::Status;

    fn payload(func: u32, items: u32, kind: u8, data: &[u8], blocks: usize) -> std::sync::Arc<Payload> {
        std::sync::Arc::new(Payload { func, items, kind, data: data.to_vec(), blocks: vec![vec![1]; blocks] })
    }

    #[test]
    fn records_written_by_the_core_read_back_as_written() {
        let batch = [payload(1, 1, 0, b"[2,10]", 0), payload(u32::MAX, 3, 7, b"", 0), payload(2, 1, 4, &[9; 300], 0)];
        let mut out = vec![0; records_size(&batch)];
        write_records(&mut out, &batch);
        assert_eq!(read_u32(&out, 0), 0, "no blocks: no flag");
        let records = parse_records(&out[BATCH_HEADER..]).unwrap();
        let read: Vec<_> = records.iter().map(|r| (r.func, r.items, r.value.kind, r.value.data.to_vec())).collect();
        let written: Vec<_> = batch.iter().map(|p| (p.func, p.items, p.kind, p.data.clone())).collect();
        assert_eq!(read, written);
    }

    #[test]
    fn a_batch_with_blocks_says_so_in_its_header() {
        let batch = [payload(0, 1, KIND_HAS_BLOCKS, &[1, 0], 1)];
        let mut out = vec![0; records_size(&batch)];
        write_records(&mut out, &batch);
        assert_eq!(read_u32(&out, 0), BATCH_HAS_BLOCKS);
        let records = parse_records(&out[BATCH_HEADER..]).unwrap();
        assert_eq!(records[0].value.block_count(), Ok(1));
    }

    #[test]
    fn completions_carry_id_range_status_and_value() {
        let completion = |id, first_item, status, data: &[u8]| Completion {
            id,
            first_item,
            items: 2,
            status,
            kind: 3,
            data: data.to_vec(),
            blocks: vec![],
        };
        let done = [completion(1, 0, Status::Done, b"42"), completion((1 << 53) - 1, 40, Status::Broken, b"")];
        let mut out = vec![0; completions_size(&done)];
        write_completions(&mut out, &done);
        let frame = &out[BATCH_HEADER..];
        assert_eq!(f64::from_le_bytes(frame[COMPLETION_ID..COMPLETION_ID + 8].try_into().unwrap()), 1.0);
        assert_eq!(read_u32(frame, COMPLETION_ITEMS), 2);
        assert_eq!(frame[COMPLETION_STATUS], Status::Done as u8);
        let (value, rest) = split_value(&frame[COMPLETION_VALUE..]).unwrap();
        assert_eq!((value.kind, value.data), (3, b"42".as_slice()));
        assert_eq!(f64::from_le_bytes(rest[..8].try_into().unwrap()), ((1u64 << 53) - 1) as f64);
        assert_eq!(read_u32(rest, COMPLETION_FIRST), 40);
        assert_eq!(rest[COMPLETION_STATUS], Status::Broken as u8);
        assert_eq!(rest.len(), COMPLETION_HEADER);
    }

    #[test]
    fn values_parse_until_the_bytes_end() {
        let mut bytes = Vec::new();
        push_value(&mut bytes, 1, b"abc");
        push_value(&mut bytes, KIND_HAS_BLOCKS | 4, &[2, 9, 9]);
        push_value(&mut bytes, 0, b"");
        let values = parse_values(&bytes).unwrap();
        assert_eq!(values.len(), 3);
        assert_eq!((values[0].kind, values[0].data, values[0].block_count()), (1, b"abc".as_slice(), Ok(0)));
        assert_eq!(values[1].block_count(), Ok(2));
        assert_eq!(values[2].data, b"");
    }

    #[test]
    fn truncated_frames_are_refused_not_misread() {
        let mut bytes = Vec::new();
        push_record(&mut bytes, 1, 1, 0, b"[1,2,3]");
        for cut in 1..bytes.len() {
            assert_eq!(parse_records(&bytes[..cut]), Err(FrameError::Truncated), "cut at {cut}");
        }
        let mut flagged = Vec::new();
        push_value(&mut flagged, KIND_HAS_BLOCKS, b"");
        assert_eq!(parse_values(&flagged).unwrap()[0].block_count(), Err(FrameError::MissingBlockCount));
    }
}

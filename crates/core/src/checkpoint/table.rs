//! Reader for the LevelDB-style SSTable that a checkpoint's `.index` file is
//! (tf-formats.md §2): data blocks, a metaindex block and an index block, each
//! followed by a 5-byte trailer, then a 48-byte footer.
//!
//! The whole table is read and checked at once (every block's crc, every
//! entry's bounds, key order); checkpoints hold at most a few thousand keys.
//! Errors carry no file name; the caller adds it.
//!
//! Over 450 lines with its unit tests (about 145), which build damaged tables.

use super::crc;
use crate::error::{Error, ErrorKind, Result};

/// Footer length and the magic number in its last 8 bytes.
const FOOTER_LEN: usize = 48;
const MAGIC: u64 = 0xDB47_7524_8B80_FB57;
/// Compression type byte plus masked crc.
const TRAILER_LEN: usize = 5;
const NO_COMPRESSION: u8 = 0;
const SNAPPY: u8 = 1;

/// One key/value pair of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

/// Every entry of a table, in key order.
#[derive(Debug, Clone, Default)]
pub struct Table {
    entries: Vec<Entry>,
}

impl Table {
    /// Parses and verifies a whole table file.
    pub fn parse(file: &[u8]) -> Result<Table> {
        let footer = Footer::parse(file)?;
        let blocks_end = file.len() - FOOTER_LEN;
        // The metaindex is always empty in checkpoints, but is still checked.
        read_block(file, blocks_end, footer.metaindex, "metaindex")?;
        let index = read_block(file, blocks_end, footer.index, "index")?;
        let mut entries = Vec::new();
        for index_entry in index {
            let handle = BlockHandle::parse(&index_entry.value)
                .ok_or_else(|| corrupt("index block holds a malformed block handle"))?;
            entries.extend(read_block(file, blocks_end, handle, "data")?);
        }
        check_key_order(&entries)?;
        Ok(Table { entries })
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn into_entries(self) -> Vec<Entry> {
        self.entries
    }

    /// The value stored under `key`.
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        let found = self.entries.binary_search_by(|e| e.key.as_slice().cmp(key)).ok()?;
        Some(&self.entries[found].value)
    }
}

fn corrupt(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::IndexCorrupt, message)
}

fn truncated(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::IndexTruncated, message)
}

/// Where a block lives: contents offset and length, trailer excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BlockHandle {
    offset: u64,
    size: u64,
}

impl BlockHandle {
    fn read(reader: &mut Reader) -> Option<BlockHandle> {
        Some(BlockHandle { offset: reader.varint64()?, size: reader.varint64()? })
    }

    /// A handle stored as an index block value (trailing bytes are ignored, as LevelDB does).
    fn parse(bytes: &[u8]) -> Option<BlockHandle> {
        BlockHandle::read(&mut Reader::new(bytes))
    }
}

struct Footer {
    metaindex: BlockHandle,
    index: BlockHandle,
}

impl Footer {
    fn parse(file: &[u8]) -> Result<Footer> {
        if file.is_empty() {
            return Err(truncated("index file is empty"));
        }
        let Some(start) = file.len().checked_sub(FOOTER_LEN) else {
            return Err(truncated(format!(
                "index file is {} bytes, shorter than the {FOOTER_LEN}-byte table footer",
                file.len()
            )));
        };
        let footer = &file[start..];
        let magic = u64::from_le_bytes(footer[40..].try_into().expect("8 bytes"));
        if magic != MAGIC {
            return Err(corrupt(format!(
                "not a checkpoint index: wrong magic number {magic:#018x} at the end (expected {MAGIC:#018x}; \
                 the file may be truncated)"
            )));
        }
        let mut reader = Reader::new(&footer[..40]);
        let metaindex = BlockHandle::read(&mut reader);
        let index = BlockHandle::read(&mut reader);
        let (Some(metaindex), Some(index)) = (metaindex, index) else {
            return Err(corrupt("table footer holds malformed block handles"));
        };
        Ok(Footer { metaindex, index })
    }
}

/// Reads, verifies and decodes the block at `handle`; blocks must end before
/// the footer, which starts at `blocks_end`.
fn read_block(file: &[u8], blocks_end: usize, handle: BlockHandle, what: &str) -> Result<Vec<Entry>> {
    let contents = block_with_trailer(file, blocks_end, handle, what)?;
    let (contents, trailer) = contents.split_at(contents.len() - TRAILER_LEN);
    verify_trailer(contents, trailer, handle, what)?;
    decode_block(contents)
        .map_err(|reason| corrupt(format!("malformed {what} block at offset {}: {reason}", handle.offset)))
}

/// The block contents followed by their trailer, bounds-checked.
fn block_with_trailer<'a>(file: &'a [u8], blocks_end: usize, handle: BlockHandle, what: &str) -> Result<&'a [u8]> {
    let end = handle
        .offset
        .checked_add(handle.size)
        .and_then(|end| end.checked_add(TRAILER_LEN as u64))
        .filter(|&end| end <= blocks_end as u64)
        .ok_or_else(|| {
            truncated(format!(
                "{what} block (offset {}, {} bytes) reaches past the end of the table ({blocks_end} bytes \
                 before the footer)",
                handle.offset, handle.size
            ))
        })?;
    // Both bounds are now ≤ blocks_end, so they fit in usize.
    Ok(&file[handle.offset as usize..end as usize])
}

fn verify_trailer(contents: &[u8], trailer: &[u8], handle: BlockHandle, what: &str) -> Result<()> {
    let compression = trailer[0];
    let stored = u32::from_le_bytes(trailer[1..5].try_into().expect("4 bytes"));
    let actual = crc32c::crc32c_append(crc32c::crc32c(contents), &[compression]);
    if crc::unmask(stored) != actual {
        return Err(Error::new(
            ErrorKind::CrcMismatch,
            format!(
                "{what} block at offset {} is damaged: stored crc32c {:#010x}, computed {actual:#010x}",
                handle.offset,
                crc::unmask(stored)
            ),
        ));
    }
    match compression {
        NO_COMPRESSION => Ok(()),
        SNAPPY => Err(Error::new(
            ErrorKind::UnsupportedFormat,
            format!("{what} block at offset {} is Snappy-compressed, which checkpoints never use", handle.offset),
        )),
        other => Err(corrupt(format!("{what} block at offset {} has unknown compression type {other}", handle.offset))),
    }
}

/// Decodes the entries of a block (tf-formats.md §2.4).
fn decode_block(block: &[u8]) -> Result<Vec<Entry>, String> {
    let entries_end = restart_array_start(block)?;
    let restarts = &block[entries_end..block.len() - 4];
    let mut reader = Reader::new(&block[..entries_end]);
    let mut entries: Vec<Entry> = Vec::new();
    let mut starts = Vec::new();
    while !reader.is_empty() {
        let start = reader.position();
        let previous = entries.last().map_or(&[][..], |e| e.key.as_slice());
        let (entry, shared) = decode_entry(&mut reader, previous)
            .ok_or_else(|| format!("entry at byte {start} runs past the entries area"))?;
        starts.push((start, shared));
        entries.push(entry);
    }
    check_restarts(restarts, &starts)?;
    Ok(entries)
}

/// Offset where the restart array begins, which is where the entries end.
fn restart_array_start(block: &[u8]) -> Result<usize, String> {
    let count_at = block.len().checked_sub(4).ok_or("block is shorter than its restart count")?;
    let count = u32::from_le_bytes(block[count_at..].try_into().expect("4 bytes")) as usize;
    if count == 0 {
        return Err("block has no restart points".into());
    }
    count
        .checked_mul(4)
        .and_then(|len| count_at.checked_sub(len))
        .ok_or_else(|| format!("{count} restart points do not fit in a {}-byte block", block.len()))
}

/// Returns the entry and its `shared` count.
fn decode_entry(reader: &mut Reader, previous_key: &[u8]) -> Option<(Entry, usize)> {
    let shared = reader.varint32()? as usize;
    let non_shared = reader.varint32()? as usize;
    let value_len = reader.varint32()? as usize;
    let shared_part = previous_key.get(..shared)?;
    let mut key = Vec::with_capacity(shared + non_shared.min(reader.remaining()));
    key.extend_from_slice(shared_part);
    key.extend_from_slice(reader.take(non_shared)?);
    let value = reader.take(value_len)?.to_vec();
    Some((Entry { key, value }, shared))
}

/// Every restart point must be the start of an entry that shares nothing
/// with its predecessor (an empty block has the single restart point 0).
fn check_restarts(restarts: &[u8], entry_starts: &[(usize, usize)]) -> Result<(), String> {
    for chunk in restarts.chunks_exact(4) {
        let offset = u32::from_le_bytes(chunk.try_into().expect("4 bytes")) as usize;
        let valid = match entry_starts.binary_search_by_key(&offset, |&(start, _)| start) {
            Ok(i) => entry_starts[i].1 == 0,
            Err(_) => entry_starts.is_empty() && offset == 0,
        };
        if !valid {
            return Err(format!("restart point {offset} is not the start of an unshared entry"));
        }
    }
    Ok(())
}

fn check_key_order(entries: &[Entry]) -> Result<()> {
    for pair in entries.windows(2) {
        if pair[0].key >= pair[1].key {
            return Err(corrupt(format!(
                "keys out of order: {:?} is followed by {:?}",
                String::from_utf8_lossy(&pair[0].key),
                String::from_utf8_lossy(&pair[1].key)
            )));
        }
    }
    Ok(())
}

/// A bounds-checked cursor over bytes; every read returns `None` instead of
/// running past the end.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, position: 0 }
    }

    pub fn position(&self) -> usize {
        self.position
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let end = self.position.checked_add(len).filter(|&end| end <= self.bytes.len())?;
        let taken = &self.bytes[self.position..end];
        self.position = end;
        Some(taken)
    }

    /// A base-128 varint of at most 10 bytes that fits in 64 bits.
    pub fn varint64(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let byte = *self.take(1)?.first()?;
            let bits = u64::from(byte & 0x7F);
            // The tenth byte may only carry the 64th bit.
            if i == 9 && bits > 1 {
                return None;
            }
            value |= bits << (7 * i);
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    /// A varint of at most 5 bytes that fits in 32 bits.
    pub fn varint32(&mut self) -> Option<u32> {
        let start = self.position;
        let value = self.varint64()?;
        if self.position - start > 5 {
            return None;
        }
        u32::try_from(value).ok()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn varint64(bytes: &[u8]) -> Option<u64> {
        let mut reader = Reader::new(bytes);
        let value = reader.varint64()?;
        reader.is_empty().then_some(value)
    }

    fn varint32(bytes: &[u8]) -> Option<u32> {
        let mut reader = Reader::new(bytes);
        let value = reader.varint32()?;
        reader.is_empty().then_some(value)
    }

    /// Bytes from the whitespace-separated hex of the format doc.
    pub(crate) fn hex(text: &str) -> Vec<u8> {
        text.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
    }

    /// The 185-byte `.index` of tf-formats.md §2.7.
    pub(crate) fn example_index() -> Vec<u8> {
        let mut file = Vec::new();
        file.extend(hex("00 00 06"));
        file.extend(hex("08 01 1a 02 08 01"));
        file.extend(hex("00 0a 0f"));
        file.extend(b"dense/bias");
        file.extend(hex("08 01 12 04 12 02 08 02 28 08 35 9a 25 1a c6"));
        file.extend(hex("06 06 15"));
        file.extend(b"kernel");
        file.extend(hex("08 01 12 08 12 02 08 02 12 02 08 02 20 08 28 10 35 93 8d eb 32"));
        file.extend(hex("00 05 11"));
        file.extend(b"words");
        file.extend(hex("08 07 12 04 12 02 08 02 20 18 28 0a 35 e6 f6 62 c4"));
        file.extend(hex("00 00 00 00 01 00 00 00"));
        file.extend(hex("00 7a dc 40 9b"));
        file.extend(hex("00 00 00 00 01 00 00 00 00 c0 f2 a1 b0"));
        file.extend(hex("00 01 02"));
        file.extend(b"x");
        file.extend(hex("00 64 00 00 00 00 01 00 00 00"));
        file.extend(hex("00 a4 2a 4c 5a"));
        file.extend(hex("69 08 76 0e"));
        file.resize(file.len() + 36, 0);
        file.extend(hex("57 fb 80 8b 24 75 47 db"));
        file
    }

    /// The 34-byte `.data-00000-of-00001` of tf-formats.md §2.7.
    pub(crate) fn example_data() -> Vec<u8> {
        hex("00 00 00 3f 00 00 c0 bf \
             00 00 00 00 00 00 80 3f 00 00 00 40 00 00 40 40 \
             02 02 46 2d 0e 79 68 69 74 66")
    }

    #[test]
    fn decodes_varints() {
        assert_eq!(varint64(&[0x00]), Some(0));
        assert_eq!(varint64(&[0x7F]), Some(127));
        assert_eq!(varint64(&[0x80, 0x01]), Some(128));
        assert_eq!(varint64(&[0xAC, 0x02]), Some(300));
        assert_eq!(varint64(&[0xFF, 0xFF, 0xFF, 0xFF, 0x0F]), Some(u32::MAX.into()));
        let max = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01];
        assert_eq!(varint64(&max), Some(u64::MAX));
    }

    #[test]
    fn rejects_bad_varints() {
        assert_eq!(varint64(&[]), None);
        assert_eq!(varint64(&[0x80]), None, "unterminated");
        assert_eq!(varint64(&[0xFF; 10]), None, "more than 64 bits");
        assert_eq!(varint64(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02]), None);
        assert_eq!(varint64(&[0x80; 11]), None, "more than 10 bytes");
        assert_eq!(varint32(&[0xFF, 0xFF, 0xFF, 0xFF, 0x0F]), Some(u32::MAX));
        assert_eq!(varint32(&[0xFF, 0xFF, 0xFF, 0xFF, 0x1F]), None, "more than 32 bits");
        assert_eq!(varint32(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), None, "more than 5 bytes");
    }

    #[test]
    fn reads_the_documented_example_index() {
        let file = example_index();
        assert_eq!(file.len(), 185);
        let table = Table::parse(&file).unwrap();
        let keys: Vec<&[u8]> = table.entries().iter().map(|e| e.key.as_slice()).collect();
        assert_eq!(keys, [&b""[..], b"dense/bias", b"dense/kernel", b"words"]);
        assert_eq!(table.get(b""), Some(&hex("08 01 1a 02 08 01")[..]));
        assert_eq!(table.get(b"words").map(<[u8]>::len), Some(17));
        assert_eq!(table.get(b"x"), None, "index separators are not keys");
    }

    #[test]
    fn rejects_short_and_empty_files() {
        assert_eq!(Table::parse(&[]).unwrap_err().kind, ErrorKind::IndexTruncated);
        assert_eq!(Table::parse(&[0; 47]).unwrap_err().kind, ErrorKind::IndexTruncated);
        let file = example_index();
        let tail = &file[file.len() - 48..];
        assert_eq!(Table::parse(tail).unwrap_err().kind, ErrorKind::IndexTruncated);
    }

    #[test]
    fn rejects_a_wrong_magic_number() {
        let mut file = example_index();
        *file.last_mut().unwrap() ^= 1;
        assert_eq!(Table::parse(&file).unwrap_err().kind, ErrorKind::IndexCorrupt);
    }

    #[test]
    fn detects_a_flipped_byte_in_every_block() {
        let clean = example_index();
        // A key byte, the restart count, the metaindex contents, an index entry.
        for position in [0x0c, 0x60, 0x6a, 0x79] {
            let mut file = clean.clone();
            file[position] ^= 0x10;
            assert_eq!(Table::parse(&file).unwrap_err().kind, ErrorKind::CrcMismatch, "byte {position:#x}");
        }
    }

    #[test]
    fn rejects_snappy_blocks() {
        let mut file = example_index();
        // Recompute the data block's trailer for compression type 1.
        let block = &file[..0x64];
        let crc = crc::mask(crc32c::crc32c_append(crc32c::crc32c(block), &[SNAPPY]));
        file[0x64] = SNAPPY;
        file[0x65..0x69].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(Table::parse(&file).unwrap_err().kind, ErrorKind::UnsupportedFormat);
    }

    #[test]
    fn decodes_an_empty_block() {
        assert_eq!(decode_block(&hex("00 00 00 00 01 00 00 00")), Ok(vec![]));
        assert!(decode_block(&hex("00 00 00 00")).is_err(), "no restart points");
        assert!(decode_block(&hex("00 00 00")).is_err());
        assert!(decode_block(&hex("ff ff ff ff")).is_err());
    }

    #[test]
    fn rejects_entries_that_overrun_the_block() {
        // shared 0, non_shared 5 but only 1 key byte before the restarts.
        assert!(decode_block(&hex("00 05 00 61 00 00 00 00 01 00 00 00")).is_err());
        // shared 3 on the first entry: there is no previous key.
        assert!(decode_block(&hex("03 01 00 61 00 00 00 00 01 00 00 00")).is_err());
        // Restart point in the middle of an entry.
        assert!(decode_block(&hex("00 01 00 61 02 00 00 00 01 00 00 00")).is_err());
    }
}

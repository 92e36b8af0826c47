//! Writing LevelDB-style tables (a checkpoint's `.index`), and repairing the
//! block checksums of a damaged one. Random bytes almost never carry a right
//! crc32c, so without this the fuzzer would only ever test the crc check.

use tfmodel_core::checkpoint::crc;

const FOOTER_LEN: usize = 48;
const MAGIC: u64 = 0xDB47_7524_8B80_FB57;

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn read_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..10 {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7F).checked_shl(7 * i)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// A block of entries, each a restart point (nothing shared), then its trailer.
fn block(out: &mut Vec<u8>, entries: &[(Vec<u8>, Vec<u8>)]) -> (u64, u64) {
    let offset = out.len();
    let mut restarts = Vec::new();
    for (key, value) in entries {
        restarts.push((out.len() - offset) as u32);
        put_varint(out, 0);
        put_varint(out, key.len() as u64);
        put_varint(out, value.len() as u64);
        out.extend_from_slice(key);
        out.extend_from_slice(value);
    }
    if restarts.is_empty() {
        restarts.push(0);
    }
    for restart in &restarts {
        out.extend_from_slice(&restart.to_le_bytes());
    }
    out.extend_from_slice(&(restarts.len() as u32).to_le_bytes());
    let size = (out.len() - offset) as u64;
    let crc = crc32c::crc32c_append(crc32c::crc32c(&out[offset..]), &[0]);
    out.push(0);
    out.extend_from_slice(&crc::mask(crc).to_le_bytes());
    (offset as u64, size)
}

/// A whole table holding `entries` (which should be in key order) in one data block.
pub fn write(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let data = block(&mut out, entries);
    let metaindex = block(&mut out, &[]);
    let mut handle = Vec::new();
    put_varint(&mut handle, data.0);
    put_varint(&mut handle, data.1);
    let last_key = entries.last().map(|(k, _)| k.clone()).unwrap_or_default();
    let index = block(&mut out, &[(last_key, handle)]);
    let mut footer = Vec::new();
    for (offset, size) in [metaindex, index] {
        put_varint(&mut footer, offset);
        put_varint(&mut footer, size);
    }
    footer.resize(FOOTER_LEN - 8, 0);
    footer.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&footer);
    out
}

/// Rewrites the crc of every block the footer and index block point at, so
/// a mutated table fails (or not) for reasons past its checksums.
pub fn repair_crcs(file: &mut [u8]) {
    let Some(footer_at) = file.len().checked_sub(FOOTER_LEN) else { return };
    let mut at = footer_at;
    let mut handles = Vec::new();
    for _ in 0..2 {
        match (read_varint(file, &mut at), read_varint(file, &mut at)) {
            (Some(offset), Some(size)) => handles.push((offset, size)),
            _ => return,
        }
    }
    let index = handles[1];
    if let Some(contents) = fix_block(file, footer_at, index) {
        handles.extend(index_handles(&contents));
    }
    for handle in handles.into_iter().take(64) {
        fix_block(file, footer_at, handle);
    }
}

/// Sets one block's trailer crc; returns its contents when it is in bounds.
fn fix_block(file: &mut [u8], end: usize, (offset, size): (u64, u64)) -> Option<Vec<u8>> {
    let start = usize::try_from(offset).ok()?;
    let contents_end = start.checked_add(usize::try_from(size).ok()?)?;
    if contents_end.checked_add(5)? > end {
        return None;
    }
    let contents = file[start..contents_end].to_vec();
    let crc = crc32c::crc32c_append(crc32c::crc32c(&contents), &file[contents_end..contents_end + 1]);
    file[contents_end + 1..contents_end + 5].copy_from_slice(&crc::mask(crc).to_le_bytes());
    Some(contents)
}

/// The block handles an index block's entries hold, read leniently.
fn index_handles(block: &[u8]) -> Vec<(u64, u64)> {
    let mut handles = Vec::new();
    let Some(count_at) = block.len().checked_sub(4) else { return handles };
    let count = u32::from_le_bytes(block[count_at..].try_into().unwrap()) as usize;
    let Some(entries_end) = count.checked_mul(4).and_then(|n| count_at.checked_sub(n)) else { return handles };
    let mut at = 0;
    while at < entries_end && handles.len() < 64 {
        let (Some(_shared), Some(non_shared), Some(value_len)) =
            (read_varint(block, &mut at), read_varint(block, &mut at), read_varint(block, &mut at))
        else {
            break;
        };
        let Some(value_at) = usize::try_from(non_shared).ok().and_then(|n| at.checked_add(n)) else { break };
        let Some(value_end) = usize::try_from(value_len).ok().and_then(|n| value_at.checked_add(n)) else { break };
        if value_end > entries_end {
            break;
        }
        let mut value = value_at;
        if let (Some(offset), Some(size)) = (read_varint(block, &mut value), read_varint(block, &mut value)) {
            handles.push((offset, size));
        }
        at = value_end;
    }
    handles
}

//! Large checkpoint tensors mapped from their data files instead of copied
//! onto the heap. A mapped tensor takes memory only while its pages are
//! resident: [`release`] drops them once a stage has read it (a later stage
//! that touches it again gets them back from the page cache), and the mapping
//! goes when its last `Bytes` is dropped. So a model's weights pass through
//! memory about a tensor at a time, however large the model.
//!
//! A mapped file must not shrink while it is read: a read past its end is a
//! SIGBUS, which kills the process. TensorFlow's savers write each checkpoint
//! into new files and rename them into place, but a person may copy a
//! checkpoint over another in place. So mapping is off until a process that
//! converts once and exits (the CLI) turns it on with [`map_checkpoints`]; a
//! dev server reads onto the heap, where a file cut short is a coded error.

use std::collections::BTreeMap;
use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether checkpoint reads map large entries, for this whole process.
pub fn map_checkpoints(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// See [`map_checkpoints`].
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Entries smaller than this are read onto the heap: each mapping costs
/// system calls and one of the process's limited map slots.
pub const MIN_MAPPED_BYTES: u64 = 256 << 10;

/// Live mappings, start address → length. [`release`] advises only slices
/// inside one of them (`MADV_DONTNEED` on heap memory would zero it), and a
/// mapping leaves the table, under the same lock, before it is unmapped.
static LIVE: Mutex<BTreeMap<usize, usize>> = Mutex::new(BTreeMap::new());

fn live() -> MutexGuard<'static, BTreeMap<usize, usize>> {
    LIVE.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct Mapping(memmap2::Mmap);

impl AsRef<[u8]> for Mapping {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // The field, and so the mapping, is dropped after this body.
        live().remove(&(self.0.as_ptr() as usize));
    }
}

/// `len` bytes of `file` from `offset`, mapped read-only.
pub fn map(file: &File, offset: u64, len: usize) -> std::io::Result<Bytes> {
    // SAFETY: a read-only shared mapping nothing in this process writes;
    // the module note says why the file does not shrink under it.
    let map = unsafe { memmap2::MmapOptions::new().offset(offset).len(len).map(file)? };
    live().insert(map.as_ptr() as usize, map.len());
    Ok(Bytes::from_owner(Mapping(map)))
}

/// Drops the resident pages under `data` when it lies in a mapped tensor,
/// for a stage done reading it; heap bytes are left alone.
pub fn release(data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let (start, end) = (data.as_ptr() as usize, data.as_ptr() as usize + data.len());
    let live = live();
    let Some((&base, &len)) = live.range(..=start).next_back() else { return };
    if end > base + len {
        return;
    }
    let page = page_size();
    // The mapping itself starts and ends on page boundaries around [base, base + len).
    let from = start & !(page - 1);
    let to = end.div_ceil(page) * page;
    // SAFETY: [from, to) is inside a live read-only file mapping (checked
    // under the lock that keeps it mapped); its contents stay in the file.
    unsafe {
        libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_DONTNEED);
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).ok().filter(|s| s.is_power_of_two()).unwrap_or(4096)
}

/// Whether `data` lies in a live mapping.
pub fn is_mapped(data: &[u8]) -> bool {
    let start = data.as_ptr() as usize;
    live().range(..=start).next_back().is_some_and(|(&base, &len)| start + data.len() <= base + len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_mapped_range_reads_the_file_and_unmaps_with_its_last_bytes() {
        let mut file = tempfile::tempfile().unwrap();
        let content: Vec<u8> = (0..3 * 4096 + 100).map(|i| (i % 251) as u8).collect();
        file.write_all(&content).unwrap();
        let bytes = map(&file, 4097, 5000).unwrap();
        assert_eq!(&bytes[..], &content[4097..9097]);
        let part = bytes.slice(10..20);
        let address = part.as_ptr() as usize;
        assert!(is_mapped(&bytes));
        release(&bytes);
        // Released pages read back from the file.
        assert_eq!(&bytes[..], &content[4097..9097]);
        drop(bytes);
        assert!(is_mapped(&part), "a slice keeps the mapping");
        assert_eq!(&part[..], &content[4107..4117]);
        drop(part);
        assert!(live().range(..=address).next_back().is_none_or(|(&base, &len)| address >= base + len), "unmapped");
    }

    #[test]
    fn releasing_heap_bytes_leaves_them_alone() {
        let heap = vec![7u8; 3 * 4096];
        assert!(!is_mapped(&heap));
        release(&heap);
        assert!(heap.iter().all(|&b| b == 7));
    }
}

//! [`Checkpoint`]: a V2 bundle opened by its prefix. Opening reads and checks
//! the whole `.index` and that every data file exists; reading a tensor reads
//! exactly its bytes from its data file and verifies their crc.
//!
//! Long on purpose: entry decoding, data-file reads and their checks share
//! the private `Record` and file handles; splitting would only expose them.

use std::collections::HashMap;
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use prost::Message;

use super::crc;
use super::slice::{self, TensorSlice};
use super::table::{Entry, Reader, Table};
use crate::dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::mapped;
use crate::names;
use crate::proto::{bundle_header_proto::Endianness, BundleEntryProto, BundleHeaderProto, DataType};
use crate::source::with_suffix;
use crate::tensor::{element_count, format_shape, Tensor, TensorData};

/// The bundle format version this reader implements.
const READER_VERSION: i32 = 1;

/// What the index says about one tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    /// `DT_INVALID` when the index holds a dtype number this crate does not know.
    pub dtype: DataType,
    pub shape: Vec<i64>,
    /// Bytes stored in the data files (the sum of the slices for a partitioned tensor).
    pub size: u64,
    /// Stored as slices (a v1 partitioned variable) rather than in one piece.
    pub partitioned: bool,
}

/// A checkpoint V2 bundle: `<prefix>.index` plus `<prefix>.data-NNNNN-of-NNNNN`.
#[derive(Debug)]
pub struct Checkpoint {
    prefix: PathBuf,
    num_shards: usize,
    big_endian: bool,
    /// Sorted by name.
    records: Vec<Record>,
}

#[derive(Debug)]
struct Record {
    info: TensorInfo,
    /// The dtype number as stored, for messages about unknown dtypes.
    dtype_number: i32,
    storage: Storage,
}

impl Record {
    /// The stored slice covering exactly `bounds`, if the tensor is partitioned.
    fn stored_slice(&self, bounds: &[Range<usize>]) -> Option<&(TensorSlice, Location)> {
        let Storage::Sliced(slices) = &self.storage else {
            return None;
        };
        let shape = &self.info.shape;
        slices.iter().find(|(stored, _)| stored.bounds(shape).is_ok_and(|b| b == bounds))
    }
}

#[derive(Debug)]
enum Storage {
    Whole(Location),
    /// Each slice with its own entry (tf-formats.md §3.5).
    Sliced(Vec<(TensorSlice, Location)>),
}

/// Where an entry's bytes are, and their masked crc.
#[derive(Debug, Clone, Copy)]
struct Location {
    shard: usize,
    offset: u64,
    size: u64,
    crc32c: u32,
}

impl Checkpoint {
    /// Opens the bundle `<prefix>.index` / `<prefix>.data-*`, verifying the
    /// whole index and that every data file exists.
    pub fn open(prefix: impl AsRef<Path>) -> Result<Checkpoint> {
        let prefix = prefix.as_ref().to_path_buf();
        let index_path = with_suffix(&prefix, ".index");
        let file = read_index_file(&prefix, &index_path)?;
        let entries = Table::parse(&file).map_err(|e| e.or_file(&index_path))?.into_entries();
        let checkpoint = Checkpoint::from_entries(prefix, entries).map_err(|e| e.or_file(&index_path))?;
        checkpoint.check_data_files()?;
        Ok(checkpoint)
    }

    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    pub fn index_path(&self) -> PathBuf {
        with_suffix(&self.prefix, ".index")
    }

    pub fn data_paths(&self) -> Vec<PathBuf> {
        (0..self.num_shards).map(|shard| self.data_path(shard)).collect()
    }

    /// Every tensor, sorted by name; slices of partitioned tensors are not
    /// listed on their own.
    pub fn tensors(&self) -> impl Iterator<Item = &TensorInfo> {
        self.records.iter().map(|record| &record.info)
    }

    pub fn get(&self, name: &str) -> Option<&TensorInfo> {
        self.record(name).ok().map(|record| &record.info)
    }

    /// Reads a whole tensor, assembling a partitioned one from its slices.
    pub fn read(&self, name: &str) -> Result<Tensor> {
        let record = self.record(name)?;
        self.check_readable(record)?;
        let info = &record.info;
        let data = match &record.storage {
            Storage::Whole(location) => {
                let target = Target { name: &info.name, slice: None };
                self.read_location(&target, info.dtype, &info.shape, location)?
            }
            Storage::Sliced(slices) => self.assemble(info, slices)?,
        };
        Ok(Tensor { dtype: info.dtype, shape: info.shape.clone(), data })
    }

    /// Reads the box `slice` of a tensor: straight from a stored slice that
    /// matches it exactly, else cut from the whole tensor.
    pub fn read_slice(&self, name: &str, slice: &TensorSlice) -> Result<Tensor> {
        let record = self.record(name)?;
        let info = &record.info;
        let bounds = slice.bounds(&info.shape).map_err(|why| {
            let shape = format_shape(&info.shape);
            let message = format!("cannot take slice {slice} of tensor \"{name}\" {shape}: {why}");
            Error::new(ErrorKind::InvalidArgument, message).in_file(self.index_path()).about(name)
        })?;
        let shape: Vec<i64> = bounds.iter().map(|range| range.len() as i64).collect();
        if let Some((stored, location)) = record.stored_slice(&bounds) {
            self.check_readable(record)?;
            let target = Target { name, slice: Some(stored) };
            let data = self.read_location(&target, info.dtype, &shape, location)?;
            return Ok(Tensor { dtype: info.dtype, shape, data });
        }
        let whole = self.read(name)?;
        if shape == info.shape {
            return Ok(whole);
        }
        let data = cut(&whole, slice)
            .map_err(|why| Error::new(ErrorKind::IndexCorrupt, why).in_file(self.index_path()).about(name))?;
        Ok(Tensor { dtype: info.dtype, shape, data })
    }

    fn data_path(&self, shard: usize) -> PathBuf {
        with_suffix(&self.prefix, &format!(".data-{shard:05}-of-{:05}", self.num_shards))
    }

    fn record(&self, name: &str) -> Result<&Record> {
        match self.records.binary_search_by(|record| record.info.name.as_str().cmp(name)) {
            Ok(found) => Ok(&self.records[found]),
            Err(_) => {
                let suggestions = names::closest(name, self.records.iter().map(|r| r.info.name.as_str()));
                Err(Error::new(ErrorKind::TensorNotFound, format!("checkpoint holds no tensor \"{name}\""))
                    .in_file(self.index_path())
                    .about(name)
                    .suggest(suggestions))
            }
        }
    }

    fn check_data_files(&self) -> Result<()> {
        for shard in 0..self.num_shards {
            let path = self.data_path(shard);
            if let Err(err) = std::fs::metadata(&path) {
                return Err(match err.kind() {
                    std::io::ErrorKind::NotFound => Error::new(
                        ErrorKind::ShardMissing,
                        format!("data file for shard {shard} of {} is missing", self.num_shards),
                    )
                    .in_file(&path),
                    _ => Error::io(err, &path),
                });
            }
        }
        Ok(())
    }
}

fn read_index_file(prefix: &Path, index_path: &Path) -> Result<Vec<u8>> {
    std::fs::read(index_path).map_err(|err| {
        if err.kind() != std::io::ErrorKind::NotFound {
            return Error::io(err, index_path);
        }
        if let Some(v1_file) = v1_checkpoint_file(prefix) {
            return Error::new(
                ErrorKind::UnsupportedFormat,
                "this is a V1 checkpoint (table files without .index/.data-* files); only V2 \
                 checkpoints can be read: re-save it with TensorFlow's default Saver",
            )
            .in_file(v1_file);
        }
        Error::new(ErrorKind::FileNotFound, "checkpoint index not found").in_file(index_path)
    })
}

/// A file of a legacy V1 checkpoint at `prefix`: the prefix itself, or its
/// first shard `<prefix>-00000-of-NNNNN`.
fn v1_checkpoint_file(prefix: &Path) -> Option<PathBuf> {
    if prefix.is_file() {
        return Some(prefix.to_path_buf());
    }
    let name = prefix.file_name()?.to_str()?;
    let dir = prefix.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let first_shard = format!("{name}-00000-of-");
    std::fs::read_dir(dir).ok()?.flatten().map(|entry| entry.path()).find(|path| {
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        file_name
            .strip_prefix(&first_shard)
            .is_some_and(|count| count.len() == 5 && count.bytes().all(|b| b.is_ascii_digit()))
    })
}

// ---- opening: from table entries to records ------------------------------------------------

fn index_corrupt(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::IndexCorrupt, message)
}

/// The header fields a reader needs.
struct Header {
    num_shards: usize,
    big_endian: bool,
}

impl Checkpoint {
    fn from_entries(prefix: PathBuf, entries: Vec<Entry>) -> Result<Checkpoint> {
        let mut entries = entries.into_iter();
        let header = match entries.next() {
            Some(first) if first.key.is_empty() => parse_header(&first.value)?,
            _ => return Err(index_corrupt("index has no bundle header (empty key)")),
        };
        let mut whole = Vec::new();
        let mut slices = HashMap::new();
        for entry in entries {
            let proto = BundleEntryProto::decode(entry.value.as_slice()).map_err(|err| {
                index_corrupt(format!("entry {:?} does not parse: {err}", key_text(&entry.key)))
                    .about(key_text(&entry.key))
            })?;
            // Slice keys start with a zero byte; names never do.
            if entry.key.first() == Some(&0) {
                slices.insert(entry.key, proto);
            } else {
                whole.push((entry.key, proto));
            }
        }
        let mut records = whole
            .iter()
            .map(|(key, proto)| describe(key, proto, &slices, header.num_shards))
            .collect::<Result<Vec<_>>>()?;
        records.sort_by(|a, b| a.info.name.cmp(&b.info.name));
        Ok(Checkpoint { prefix, num_shards: header.num_shards, big_endian: header.big_endian, records })
    }
}

fn key_text(key: &[u8]) -> String {
    String::from_utf8_lossy(key).into_owned()
}

fn parse_header(value: &[u8]) -> Result<Header> {
    let header = BundleHeaderProto::decode(value)
        .map_err(|err| index_corrupt(format!("bundle header does not parse: {err}")))?;
    let version = header.version.unwrap_or_default();
    if version.min_consumer > READER_VERSION || version.bad_consumers.contains(&READER_VERSION) {
        return Err(Error::new(
            ErrorKind::UnsupportedFormat,
            format!(
                "checkpoint bundle version (producer {}, min consumer {}, bad consumers {:?}) cannot be read by \
                 a version {READER_VERSION} reader",
                version.producer, version.min_consumer, version.bad_consumers
            ),
        ));
    }
    let big_endian = match Endianness::try_from(header.endianness) {
        Ok(Endianness::Little) => false,
        Ok(Endianness::Big) => true,
        Err(_) => return Err(index_corrupt(format!("bundle header has unknown endianness {}", header.endianness))),
    };
    let num_shards = usize::try_from(header.num_shards)
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| index_corrupt(format!("bundle header says {} data files", header.num_shards)))?;
    Ok(Header { num_shards, big_endian })
}

/// Checks one full-tensor entry (and its slices' entries) and turns it into a record.
fn describe(
    key: &[u8],
    proto: &BundleEntryProto,
    slices: &HashMap<Vec<u8>, BundleEntryProto>,
    num_shards: usize,
) -> Result<Record> {
    let name = key_text(key);
    let corrupt = |why: String| index_corrupt(format!("entry of tensor \"{name}\": {why}")).about(&name);
    let dtype = dtype::from_i32(proto.dtype);
    let shape = entry_shape(proto).map_err(corrupt)?;
    let (storage, size) = if proto.slices.is_empty() {
        let location = locate(proto, dtype, &shape, num_shards).map_err(corrupt)?;
        (Storage::Whole(location), location.size)
    } else {
        let stored = locate_slices(key, proto, dtype, &shape, slices, num_shards).map_err(corrupt)?;
        let size = stored.iter().try_fold(0u64, |sum, (_, l)| sum.checked_add(l.size));
        (Storage::Sliced(stored), size.ok_or_else(|| corrupt("slice sizes overflow".into()))?)
    };
    let partitioned = matches!(storage, Storage::Sliced(_));
    let info = TensorInfo { name, dtype, shape, size, partitioned };
    Ok(Record { info, dtype_number: proto.dtype, storage })
}

/// A fully known shape (a scalar's shape may be absent).
fn entry_shape(proto: &BundleEntryProto) -> Result<Vec<i64>, String> {
    let Some(shape) = &proto.shape else {
        return Ok(Vec::new());
    };
    let dims: Vec<i64> = shape.dim.iter().map(|d| d.size).collect();
    if shape.unknown_rank || dims.iter().any(|&d| d < 0) {
        return Err(format!("shape {} is not fully known", format_shape(&dims)));
    }
    Ok(dims)
}

/// Checks an entry's shard, offset and size (against the shape for fixed-size dtypes).
fn locate(proto: &BundleEntryProto, dtype: DataType, shape: &[i64], num_shards: usize) -> Result<Location, String> {
    let shard = usize::try_from(proto.shard_id)
        .ok()
        .filter(|&shard| shard < num_shards)
        .ok_or_else(|| format!("shard {} does not exist (the bundle has {num_shards})", proto.shard_id))?;
    let offset = u64::try_from(proto.offset).map_err(|_| format!("negative offset {}", proto.offset))?;
    let size = u64::try_from(proto.size).map_err(|_| format!("negative size {}", proto.size))?;
    if let Some(width) = dtype::element_size(dtype) {
        let expected = element_count(shape).and_then(|n| n.checked_mul(width)).map(|n| n as u64);
        if expected != Some(size) {
            return Err(format!(
                "stores {size} bytes, but {} {} needs {}",
                dtype::name(dtype),
                format_shape(shape),
                expected.map_or("more than fits in memory".to_string(), |n| n.to_string())
            ));
        }
    }
    Ok(Location { shard, offset, size, crc32c: proto.crc32c })
}

/// The slices of a partitioned tensor with their own entries' locations.
fn locate_slices(
    key: &[u8],
    proto: &BundleEntryProto,
    dtype: DataType,
    shape: &[i64],
    slices: &HashMap<Vec<u8>, BundleEntryProto>,
    num_shards: usize,
) -> Result<Vec<(TensorSlice, Location)>, String> {
    // Every box lies within the tensor, so its element count fits too.
    let total = element_count(shape).ok_or("tensor is too large")?;
    let mut stored: Vec<(TensorSlice, Location)> = Vec::with_capacity(proto.slices.len());
    let mut boxes: Vec<Vec<Range<usize>>> = Vec::with_capacity(proto.slices.len());
    for slice_proto in &proto.slices {
        let slice = TensorSlice::from_proto(slice_proto);
        let bounds = slice.bounds(shape)?;
        let slice_shape: Vec<i64> = bounds.iter().map(|range| range.len() as i64).collect();
        let entry = slices.get(&slice::slice_key(key, &slice)).ok_or_else(|| format!("slice {slice} has no entry"))?;
        if entry.dtype != proto.dtype || entry_shape(entry)? != slice_shape {
            return Err(format!("slice {slice}'s entry disagrees on dtype or shape"));
        }
        let location = locate(entry, dtype, &slice_shape, num_shards).map_err(|why| format!("slice {slice}: {why}"))?;
        if let Some(other) = boxes.iter().position(|other| overlap(other, &bounds)) {
            return Err(format!("slice {slice} overlaps slice {}", stored[other].0));
        }
        boxes.push(bounds);
        stored.push((slice, location));
    }
    // Disjoint slices fill the tensor exactly when their sizes add up to it
    // (and being disjoint, they cannot add up to more).
    let covered: usize = boxes.iter().map(|b| b.iter().map(Range::len).product::<usize>()).sum();
    if covered != total {
        return Err(format!("slices hold {covered} elements, the tensor has {total}"));
    }
    Ok(stored)
}

/// Whether two boxes share an element.
fn overlap(a: &[Range<usize>], b: &[Range<usize>]) -> bool {
    a.iter().zip(b).all(|(a, b)| a.start.max(b.start) < a.end.min(b.end))
}

// ---- reading --------------------------------------------------------------------------------

/// What is being read, for messages: a whole tensor or one stored slice of it.
struct Target<'a> {
    name: &'a str,
    slice: Option<&'a TensorSlice>,
}

impl std::fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.slice {
            Some(slice) => write!(f, "slice {slice} of tensor \"{}\"", self.name),
            None => write!(f, "tensor \"{}\"", self.name),
        }
    }
}

impl Checkpoint {
    fn check_readable(&self, record: &Record) -> Result<()> {
        let dtype = record.info.dtype;
        let why = match dtype {
            DataType::DtString => return Ok(()),
            _ if dtype::element_size(dtype).is_some() => return Ok(()),
            DataType::DtVariant => "variant (DT_VARIANT) tensors cannot be read".to_string(),
            DataType::DtInvalid => format!("dtype number {} is unknown", record.dtype_number),
            _ => format!("{} cannot be read from a checkpoint", dtype::enum_name(dtype)),
        };
        let message = format!("tensor \"{}\": {why}", record.info.name);
        Err(Error::new(ErrorKind::UnsupportedDtype, message).in_file(self.index_path()).about(&record.info.name))
    }

    /// Reads one stored entry (a whole tensor, or one slice of it) of `shape`.
    fn read_location(
        &self,
        target: &Target,
        dtype: DataType,
        shape: &[i64],
        location: &Location,
    ) -> Result<TensorData> {
        if dtype == DataType::DtString {
            // A count too large to compute is rejected by the decoder.
            let count = element_count(shape).unwrap_or(usize::MAX);
            Ok(TensorData::Strings(self.read_strings(target, count, location)?))
        } else {
            Ok(TensorData::Raw(self.read_numeric(target, dtype, location)?))
        }
    }

    /// The verified bytes of a numeric entry, little-endian. A large one may
    /// be mapped rather than copied ([`crate::mapped`]), its pages dropped
    /// again once the crc is checked.
    fn read_numeric(&self, target: &Target, dtype: DataType, location: &Location) -> Result<Bytes> {
        if mapped::enabled() && location.size >= mapped::MIN_MAPPED_BYTES && !self.big_endian {
            let (file, _) = self.open_data_file(target, location)?;
            let bytes = mapped::map(&file, location.offset, location.size as usize)
                .map_err(|err| Error::io(err, self.data_path(location.shard)).about(target.name))?;
            self.check_crc(target, location, &bytes)?;
            mapped::release(&bytes);
            return Ok(bytes);
        }
        let bytes = self.read_bytes(target, location)?;
        self.check_crc(target, location, &bytes)?;
        Ok(self.to_little_endian(bytes, dtype))
    }

    fn check_crc(&self, target: &Target, location: &Location, bytes: &[u8]) -> Result<()> {
        let actual = crc::masked_crc32c(bytes);
        if actual != location.crc32c {
            let why = format!("stored crc32c {:#010x}, computed {actual:#010x}", location.crc32c);
            return Err(self.damaged(target, location, why));
        }
        Ok(())
    }

    /// The verified strings of a `DT_STRING` entry holding `count` of them.
    fn read_strings(&self, target: &Target, count: usize, location: &Location) -> Result<Vec<Bytes>> {
        let bytes = self.read_bytes(target, location)?;
        decode_strings(bytes, count, location.crc32c).map_err(|why| self.damaged(target, location, why))
    }

    fn damaged(&self, target: &Target, location: &Location, why: String) -> Error {
        Error::new(ErrorKind::CrcMismatch, format!("{target} is damaged: {why}"))
            .in_file(self.data_path(location.shard))
            .about(target.name)
    }

    /// Exactly `[offset, offset + size)` of the entry's data file.
    fn read_bytes(&self, target: &Target, location: &Location) -> Result<Vec<u8>> {
        let (file, file_len) = self.open_data_file(target, location)?;
        let path = self.data_path(location.shard);
        // The length check above makes this allocation no larger than the file.
        let mut bytes = vec![0; location.size as usize];
        file.read_exact_at(&mut bytes, location.offset).map_err(|err| match err.kind() {
            // The file shrank after the length check: rewritten while we read.
            std::io::ErrorKind::UnexpectedEof => self.truncated(target, location, file_len),
            _ => Error::io(err, &path).about(target.name),
        })?;
        Ok(bytes)
    }

    /// Opens the entry's data file and checks that it holds the entry's bytes.
    fn open_data_file(&self, target: &Target, location: &Location) -> Result<(File, u64)> {
        let path = self.data_path(location.shard);
        let opened = File::open(&path).and_then(|file| Ok((file.metadata()?.len(), file)));
        let (file_len, file) = opened.map_err(|err| match err.kind() {
            // Deleted since `open` checked it.
            std::io::ErrorKind::NotFound => self.shard_missing(location.shard),
            _ => Error::io(err, &path),
        })?;
        let end = location.offset.checked_add(location.size);
        if !end.is_some_and(|end| end <= file_len && usize::try_from(location.size).is_ok()) {
            return Err(self.truncated(target, location, file_len));
        }
        Ok((file, file_len))
    }

    fn truncated(&self, target: &Target, location: &Location, file_len: u64) -> Error {
        let end = location.offset.saturating_add(location.size);
        let message = format!(
            "{target} is stored at bytes {}..{end}, but the data file has only {file_len} bytes",
            location.offset
        );
        Error::new(ErrorKind::ShardTruncated, message).in_file(self.data_path(location.shard)).about(target.name)
    }

    fn shard_missing(&self, shard: usize) -> Error {
        let message = format!("data file for shard {shard} of {} is missing", self.num_shards);
        Error::new(ErrorKind::ShardMissing, message).in_file(self.data_path(shard))
    }

    /// Numeric bytes in the little-endian order `Tensor` promises.
    fn to_little_endian(&self, mut bytes: Vec<u8>, dtype: DataType) -> Bytes {
        if self.big_endian {
            let width = dtype::element_size(dtype).unwrap_or(1);
            // A complex number is two floats, each swapped on its own.
            let scalar = match dtype {
                DataType::DtComplex64 | DataType::DtComplex128 => width / 2,
                _ => width,
            };
            if scalar > 1 {
                bytes.chunks_exact_mut(scalar).for_each(<[u8]>::reverse);
            }
        }
        Bytes::from(bytes)
    }

    /// Reads every slice of a partitioned tensor into one full tensor.
    fn assemble(&self, info: &TensorInfo, slices: &[(TensorSlice, Location)]) -> Result<TensorData> {
        // The full tensor is as large as its slices together; make sure the
        // data files really hold them before allocating that much.
        for (slice, location) in slices {
            self.open_data_file(&Target { name: &info.name, slice: Some(slice) }, location)?;
        }
        let misfit = |why: String| {
            let message = format!("slices of tensor \"{}\" do not fit it: {why}", info.name);
            Error::new(ErrorKind::IndexCorrupt, message).in_file(self.index_path()).about(&info.name)
        };
        let count = element_count(&info.shape).ok_or_else(|| misfit("too many elements".into()))?;
        if info.dtype == DataType::DtString {
            let mut full = vec![Bytes::new(); count];
            for (slice, location) in slices {
                let target = Target { name: &info.name, slice: Some(slice) };
                let slice_count = element_count(&slice.shape_in(&info.shape).map_err(misfit)?);
                let part = self.read_strings(&target, slice_count.unwrap_or(usize::MAX), location)?;
                slice::copy_into_full(&mut full, &info.shape, slice, &part, 1).map_err(misfit)?;
            }
            return Ok(TensorData::Strings(full));
        }
        let width = dtype::element_size(info.dtype).unwrap_or(1);
        let len = count.checked_mul(width).ok_or_else(|| misfit("too many bytes".into()))?;
        let mut full = vec![0u8; len];
        for (slice, location) in slices {
            let target = Target { name: &info.name, slice: Some(slice) };
            let part = self.read_numeric(&target, info.dtype, location)?;
            slice::copy_into_full(&mut full, &info.shape, slice, &part, width).map_err(misfit)?;
        }
        Ok(TensorData::Raw(Bytes::from(full)))
    }
}

/// The elements of `slice` cut out of a whole tensor.
fn cut(whole: &Tensor, slice: &TensorSlice) -> Result<TensorData, String> {
    Ok(match &whole.data {
        TensorData::Raw(bytes) => {
            let width = dtype::element_size(whole.dtype).unwrap_or(1);
            TensorData::Raw(slice::cut_from_full(bytes, &whole.shape, slice, width)?.into())
        }
        TensorData::Strings(strings) => TensorData::Strings(slice::cut_from_full(strings, &whole.shape, slice, 1)?),
    })
}

/// Decodes a string tensor (tf-formats.md §4.3) and verifies its checksums.
fn decode_strings(bytes: Vec<u8>, count: usize, stored_crc: u32) -> Result<Vec<Bytes>, String> {
    // Every string needs at least one length byte, which bounds `count` by real data.
    if count > bytes.len() {
        return Err(format!("{} bytes cannot hold {count} strings", bytes.len()));
    }
    let bytes = Bytes::from(bytes);
    let mut reader = Reader::new(&bytes);
    let mut lengths = Vec::with_capacity(count);
    let mut crc = 0;
    for _ in 0..count {
        let len = reader.varint64().ok_or("string lengths are malformed")?;
        // The checksum covers fixed-width lengths, not the varints.
        crc = match u32::try_from(len) {
            Ok(short) => crc32c::crc32c_append(crc, &short.to_le_bytes()),
            Err(_) => crc32c::crc32c_append(crc, &len.to_le_bytes()),
        };
        lengths.push(len);
    }
    let length_crc = reader.take(4).ok_or("length checksum is missing")?;
    let stored_length_crc = u32::from_le_bytes(length_crc.try_into().expect("4 bytes"));
    if stored_length_crc != crc::mask(crc) {
        return Err(format!("stored length crc32c {stored_length_crc:#010x}, computed {:#010x}", crc::mask(crc)));
    }
    crc = crc32c::crc32c_append(crc, length_crc);
    let mut strings = Vec::with_capacity(count);
    for len in lengths {
        let start = reader.position();
        let len = usize::try_from(len).ok();
        let string = len.and_then(|len| reader.take(len)).ok_or("string lengths exceed the stored bytes")?;
        crc = crc32c::crc32c_append(crc, string);
        strings.push(bytes.slice(start..start + string.len()));
    }
    if !reader.is_empty() {
        return Err(format!("{} bytes follow the last string", reader.remaining()));
    }
    if crc::mask(crc) != stored_crc {
        return Err(format!("stored crc32c {stored_crc:#010x}, computed {:#010x}", crc::mask(crc)));
    }
    Ok(strings)
}

#[cfg(test)]
mod tests {
    use super::super::table::tests::{example_data, example_index};
    use super::*;

    fn example_checkpoint() -> (tempfile::TempDir, Checkpoint) {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("model.ckpt");
        std::fs::write(with_suffix(&prefix, ".index"), example_index()).unwrap();
        std::fs::write(with_suffix(&prefix, ".data-00000-of-00001"), example_data()).unwrap();
        let checkpoint = Checkpoint::open(&prefix).unwrap();
        (dir, checkpoint)
    }

    fn floats(tensor: &Tensor) -> Vec<f32> {
        tensor.raw().unwrap().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
    }

    #[test]
    fn reads_the_documented_example_bundle() {
        let (_dir, checkpoint) = example_checkpoint();
        let names: Vec<&str> = checkpoint.tensors().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["dense/bias", "dense/kernel", "words"]);

        let bias = checkpoint.read("dense/bias").unwrap();
        assert_eq!((bias.dtype, bias.shape.as_slice()), (DataType::DtFloat, &[2][..]));
        assert_eq!(floats(&bias), [0.5, -1.5]);

        let kernel = checkpoint.read("dense/kernel").unwrap();
        assert_eq!(kernel.shape, [2, 2]);
        assert_eq!(floats(&kernel), [0.0, 1.0, 2.0, 3.0]);

        let words = checkpoint.read("words").unwrap();
        assert_eq!(words.dtype, DataType::DtString);
        assert_eq!(words.data, TensorData::Strings(vec![Bytes::from("hi"), Bytes::from("tf")]));
        assert_eq!(checkpoint.get("words").unwrap().size, 10);
    }

    #[test]
    fn cuts_a_slice_of_an_unpartitioned_tensor() {
        let (_dir, checkpoint) = example_checkpoint();
        let row = checkpoint.read_slice("dense/kernel", &"1,1:-".parse().unwrap()).unwrap();
        assert_eq!(row.shape, [1, 2]);
        assert_eq!(floats(&row), [2.0, 3.0]);
        let word = checkpoint.read_slice("words", &"1,1".parse().unwrap()).unwrap();
        assert_eq!(word.data, TensorData::Strings(vec![Bytes::from("tf")]));
        let err = checkpoint.read_slice("words", &"1,2".parse().unwrap()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument);
    }

    #[test]
    fn swaps_big_endian_numbers() {
        let checkpoint = Checkpoint { prefix: PathBuf::new(), num_shards: 1, big_endian: true, records: Vec::new() };
        let swapped = checkpoint.to_little_endian(vec![0x3F, 0x00, 0x00, 0x00], DataType::DtFloat);
        assert_eq!(swapped.as_ref(), 0.5f32.to_le_bytes());
        let complex = checkpoint.to_little_endian(vec![1, 2, 3, 4, 5, 6, 7, 8], DataType::DtComplex64);
        assert_eq!(complex.as_ref(), [4, 3, 2, 1, 8, 7, 6, 5]);
        assert_eq!(checkpoint.to_little_endian(vec![1, 2], DataType::DtUint8).as_ref(), [1, 2]);
    }

    #[test]
    fn decodes_string_tensors_and_their_checksums() {
        let data = example_data()[24..].to_vec();
        let stored = 0xC462_F6E6;
        assert_eq!(decode_strings(data.clone(), 2, stored).unwrap(), [Bytes::from("hi"), Bytes::from("tf")]);
        assert!(decode_strings(data.clone(), 2, stored ^ 1).is_err());
        assert!(decode_strings(data.clone(), 3, stored).is_err());
        assert!(decode_strings(data.clone(), 1000, stored).is_err());
        let mut longer = data.clone();
        longer[0] = 3;
        assert!(decode_strings(longer, 2, stored).is_err());
    }

    #[test]
    fn decodes_an_empty_string_tensor() {
        let length_crc = crc::mask(0).to_le_bytes();
        let stored = crc::mask(crc32c::crc32c(&length_crc));
        assert_eq!(decode_strings(length_crc.to_vec(), 0, stored).unwrap(), Vec::<Bytes>::new());
    }
}

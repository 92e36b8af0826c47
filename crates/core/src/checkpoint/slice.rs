//! Tensor slices: the boxes a partitioned variable is stored in
//! (tf-formats.md §3.5–3.6), their binary table keys, and copying a slice's
//! elements into or out of a full row-major tensor.
//!
//! Over 450 lines with its unit tests (about 170), which pin the key format.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use crate::error::{Error, ErrorKind, Result};
use crate::proto::{tensor_slice_proto, TensorSliceProto};
use crate::tensor::{element_count, row_major_strides};

/// One dimension of a slice: `length: None` is the whole dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub start: i64,
    pub length: Option<i64>,
}

impl Extent {
    /// The whole dimension (written `-`).
    pub const FULL: Extent = Extent { start: 0, length: None };

    pub fn new(start: i64, length: i64) -> Extent {
        Extent { start, length: Some(length) }
    }
}

/// A box within a tensor, one extent per dimension.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TensorSlice {
    pub extents: Vec<Extent>,
}

impl TensorSlice {
    pub fn new(extents: Vec<Extent>) -> TensorSlice {
        TensorSlice { extents }
    }

    /// The whole of a tensor of rank `rank`.
    pub fn full(rank: usize) -> TensorSlice {
        TensorSlice { extents: vec![Extent::FULL; rank] }
    }

    pub fn rank(&self) -> usize {
        self.extents.len()
    }

    pub fn from_proto(proto: &TensorSliceProto) -> TensorSlice {
        let extent = |e: &tensor_slice_proto::Extent| match e.has_length {
            // TensorFlow's in-memory form spells a full extent as length -1.
            Some(tensor_slice_proto::extent::HasLength::Length(length)) if length != -1 => Extent::new(e.start, length),
            _ => Extent { start: e.start, length: None },
        };
        TensorSlice { extents: proto.extent.iter().map(extent).collect() }
    }

    pub fn to_proto(&self) -> TensorSliceProto {
        let extent = |e: &Extent| tensor_slice_proto::Extent {
            start: e.start,
            has_length: e.length.map(tensor_slice_proto::extent::HasLength::Length),
        };
        TensorSliceProto { extent: self.extents.iter().map(extent).collect() }
    }

    /// The index range the slice covers in each dimension of `shape`, or why
    /// it does not fit.
    pub fn bounds(&self, shape: &[i64]) -> Result<Vec<Range<usize>>, String> {
        if self.rank() != shape.len() {
            return Err(format!("slice {self} has rank {}, the tensor has rank {}", self.rank(), shape.len()));
        }
        self.extents.iter().zip(shape).map(|(extent, &dim)| extent_bounds(extent, dim)).collect()
    }

    /// The shape of the slice taken from a tensor of shape `shape`.
    pub fn shape_in(&self, shape: &[i64]) -> Result<Vec<i64>, String> {
        Ok(self.bounds(shape)?.iter().map(|range| range.len() as i64).collect())
    }

    /// Parses a SaveV2/RestoreV2 `shape_and_slices` entry such as
    /// `"10 4 4,3:0,4"` into the full tensor's shape and the slice. The empty
    /// entry means "the whole, unpartitioned tensor" and names no shape, so
    /// it is an error here; callers test for it first.
    pub fn parse_spec(spec: &str) -> Result<(Vec<i64>, TensorSlice)> {
        let tokens: Vec<&str> = spec.split_whitespace().collect();
        let Some((slice_spec, dims)) = tokens.split_last().filter(|(_, dims)| !dims.is_empty()) else {
            return Err(invalid_spec(spec, "expected the dimensions, then the slice"));
        };
        let shape = dims
            .iter()
            .map(|d| d.parse::<i64>().ok().filter(|&d| d >= 0))
            .collect::<Option<Vec<i64>>>()
            .ok_or_else(|| invalid_spec(spec, "dimensions must be non-negative integers"))?;
        let slice: TensorSlice = slice_spec.parse()?;
        slice.bounds(&shape).map_err(|why| invalid_spec(spec, &why))?;
        Ok((shape, slice))
    }

    /// Whether the slice is the whole of a tensor of shape `shape`.
    pub fn covers(&self, shape: &[i64]) -> bool {
        self.shape_in(shape).is_ok_and(|sliced| sliced == shape)
    }
}

fn extent_bounds(extent: &Extent, dim: i64) -> Result<Range<usize>, String> {
    let dim = usize::try_from(dim).map_err(|_| format!("dimension {dim} is negative"))?;
    let start = usize::try_from(extent.start).map_err(|_| format!("slice start {} is negative", extent.start))?;
    let end = match extent.length {
        None if start == 0 => dim,
        None => return Err(format!("a full extent starts at 0, not at {start}")),
        Some(length) => {
            let length = usize::try_from(length).map_err(|_| format!("slice length {length} is negative"))?;
            start.checked_add(length).ok_or("slice end overflows")?
        }
    };
    if end > dim {
        return Err(format!("slice {start}..{end} exceeds the dimension of size {dim}"));
    }
    Ok(start..end)
}

/// `4,3:0,4`; `-` for a full extent; empty for a scalar.
impl fmt::Display for TensorSlice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, extent) in self.extents.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            match extent.length {
                Some(length) => write!(f, "{},{length}", extent.start)?,
                None => f.write_str("-")?,
            }
        }
        Ok(())
    }
}

/// Parses the slice syntax of `shape_and_slices` (`4,3:0,4`, `-:-`).
impl FromStr for TensorSlice {
    type Err = Error;

    fn from_str(spec: &str) -> Result<TensorSlice> {
        if spec.is_empty() {
            return Ok(TensorSlice::default());
        }
        let extents = spec.split(':').map(|part| parse_extent(part, spec)).collect::<Result<_>>()?;
        Ok(TensorSlice { extents })
    }
}

fn parse_extent(part: &str, spec: &str) -> Result<Extent> {
    if part == "-" {
        return Ok(Extent::FULL);
    }
    let number = |text: Option<&str>| text.and_then(|t| t.parse::<i64>().ok()).filter(|&n| n >= 0);
    let mut fields = part.split(',');
    match (number(fields.next()), number(fields.next()), fields.next()) {
        (Some(start), Some(length), None) => Ok(Extent::new(start, length)),
        _ => Err(invalid_spec(spec, "each extent is `start,length` or `-`")),
    }
}

fn invalid_spec(spec: &str, why: &str) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("invalid slice specification {spec:?}: {why}"))
}

/// The table key of the slice `slice` of tensor `name`:
/// `NumIncreasing(0) String(name) NumIncreasing(rank) (Signed(start) Signed(length))*`
/// in TensorFlow's OrderedCode, a full extent being `start, -1`.
pub fn slice_key(name: impl AsRef<[u8]>, slice: &TensorSlice) -> Vec<u8> {
    let mut key = Vec::new();
    write_num_increasing(&mut key, 0);
    write_string(&mut key, name.as_ref());
    write_num_increasing(&mut key, slice.rank() as u64);
    for extent in &slice.extents {
        write_signed(&mut key, extent.start);
        write_signed(&mut key, extent.length.unwrap_or(-1));
    }
    key
}

/// A length byte, then the value's significant bytes big-endian.
fn write_num_increasing(out: &mut Vec<u8>, value: u64) {
    let len = (64 - value.leading_zeros() as usize).div_ceil(8);
    out.push(len as u8);
    out.extend_from_slice(&value.to_be_bytes()[8 - len..]);
}

/// The bytes with `00` and `FF` escaped, then the terminator `00 01`.
fn write_string(out: &mut Vec<u8>, bytes: &[u8]) {
    for &byte in bytes {
        match byte {
            0x00 => out.extend_from_slice(&[0x00, 0xFF]),
            0xFF => out.extend_from_slice(&[0xFF, 0x00]),
            _ => out.push(byte),
        }
    }
    out.extend_from_slice(&[0x00, 0x01]);
}

/// `n` bytes of two's complement big-endian whose leading `n` bits are
/// flipped, `n` being the fewest bytes that leave room for those header bits.
fn write_signed(out: &mut Vec<u8>, value: i64) {
    // One's complement makes -1 as short as 0, as the scheme's ranges require.
    let magnitude = if value < 0 { !value } else { value } as u64;
    let value_bits = 64 - magnitude.leading_zeros() as usize;
    // Each byte carries 7 payload bits; one more bit holds the sign.
    let len = (value_bits + 1).div_ceil(7);
    let extended = i128::from(value).to_be_bytes();
    let mut bytes = extended[extended.len() - len..].to_vec();
    for bit in 0..len {
        bytes[bit / 8] ^= 0x80 >> (bit % 8);
    }
    out.extend_from_slice(&bytes);
}

/// Copies `part`, the elements of `slice`, into `full`, a tensor of shape
/// `full_shape`. Both are row-major with `width` items per element (bytes per
/// element for raw data, 1 for strings).
pub fn copy_into_full<T: Clone>(
    full: &mut [T],
    full_shape: &[i64],
    slice: &TensorSlice,
    part: &[T],
    width: usize,
) -> Result<(), String> {
    let layout = Layout::new(full_shape, slice, width)?;
    layout.check_lengths(full.len(), part.len())?;
    layout.for_each_run(|full_at, part_at, len| {
        full[full_at..full_at + len].clone_from_slice(&part[part_at..part_at + len]);
    });
    Ok(())
}

/// The elements of `slice` cut out of `full`, a tensor of shape `full_shape`
/// (row-major, `width` items per element).
pub fn cut_from_full<T: Clone>(
    full: &[T],
    full_shape: &[i64],
    slice: &TensorSlice,
    width: usize,
) -> Result<Vec<T>, String> {
    let layout = Layout::new(full_shape, slice, width)?;
    layout.check_lengths(full.len(), layout.part_items)?;
    let mut part = Vec::with_capacity(layout.part_items);
    layout.for_each_run(|full_at, _, len| part.extend_from_slice(&full[full_at..full_at + len]));
    Ok(part)
}

/// A slice's position within a full tensor, in items.
struct Layout {
    dims: Vec<usize>,
    bounds: Vec<Range<usize>>,
    width: usize,
    full_items: usize,
    part_items: usize,
}

impl Layout {
    fn new(full_shape: &[i64], slice: &TensorSlice, width: usize) -> Result<Layout, String> {
        let bounds = slice.bounds(full_shape)?;
        let too_large = || format!("tensor of shape {full_shape:?} is too large");
        let full_items = element_count(full_shape).and_then(|n| n.checked_mul(width)).ok_or_else(too_large)?;
        let part_items = bounds.iter().map(Range::len).product::<usize>() * width;
        let dims = full_shape.iter().map(|&d| d as usize).collect();
        Ok(Layout { dims, bounds, width, full_items, part_items })
    }

    fn check_lengths(&self, full_len: usize, part_len: usize) -> Result<(), String> {
        if full_len != self.full_items {
            return Err(format!("full tensor holds {full_len} items, its shape needs {}", self.full_items));
        }
        if part_len != self.part_items {
            return Err(format!("slice holds {part_len} items, its shape needs {}", self.part_items));
        }
        Ok(())
    }

    /// Calls `copy(full_at, part_at, len)` for each contiguous run of the
    /// slice, in row-major order; all three in items.
    fn for_each_run(&self, mut copy: impl FnMut(usize, usize, usize)) {
        if self.part_items == 0 {
            return;
        }
        let rank = self.dims.len();
        // Trailing dimensions taken whole are contiguous with the one before
        // them, so a run spans dimensions `inner..`.
        let mut inner = rank;
        let mut run = self.width;
        while inner > 0 {
            inner -= 1;
            run *= self.bounds[inner].len();
            if self.bounds[inner].len() != self.dims[inner] {
                break;
            }
        }
        let dims: Vec<i64> = self.dims.iter().map(|&d| d as i64).collect();
        let strides: Vec<usize> = row_major_strides(&dims).iter().map(|&s| s as usize * self.width).collect();
        let run_start = self.bounds.get(inner).map_or(0, |b| b.start * strides[inner]);
        let mut index: Vec<usize> = self.bounds[..inner].iter().map(|b| b.start).collect();
        let mut part_at = 0;
        loop {
            let full_at = run_start + index.iter().zip(&strides).map(|(i, stride)| i * stride).sum::<usize>();
            copy(full_at, part_at, run);
            part_at += run;
            if !self.advance(&mut index) {
                return;
            }
        }
    }

    /// Steps the outer index like an odometer; false once it wraps around.
    fn advance(&self, index: &mut [usize]) -> bool {
        for d in (0..index.len()).rev() {
            index[d] += 1;
            if index[d] < self.bounds[d].end {
                return true;
            }
            index[d] = self.bounds[d].start;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(value: i64) -> Vec<u8> {
        let mut out = Vec::new();
        write_signed(&mut out, value);
        out
    }

    fn num_increasing(value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        write_num_increasing(&mut out, value);
        out
    }

    fn string(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_string(&mut out, bytes);
        out
    }

    #[test]
    fn encodes_signed_numbers_like_the_doc() {
        assert_eq!(signed(0), [0x80]);
        assert_eq!(signed(4), [0x84]);
        assert_eq!(signed(7), [0x87]);
        assert_eq!(signed(-1), [0x7F]);
        assert_eq!(signed(300), [0xC1, 0x2C]);
        assert_eq!(signed(-0x800), [0x38, 0x00]);
    }

    #[test]
    fn signed_encoding_lengths_grow_at_the_documented_bounds() {
        assert_eq!(signed(63), [0xBF]);
        assert_eq!(signed(-64), [0x40]);
        assert_eq!(signed(64).len(), 2);
        assert_eq!(signed(-65).len(), 2);
        assert_eq!(signed((1 << 55) - 1).len(), 8);
        assert_eq!(signed(1 << 55).len(), 9);
        assert_eq!(signed(i64::MAX).len(), 10);
        assert_eq!(signed(i64::MIN).len(), 10);
        assert_eq!(&signed(i64::MAX)[..2], [0xFF, 0xC0]);
    }

    #[test]
    fn signed_encoding_sorts_like_the_numbers() {
        let mut values = vec![i64::MIN, i64::MIN + 1, -1 << 40, -300, -65, -64, -1, 0, 1, 63, 64, 300, 1 << 40];
        values.extend([i64::MAX - 1, i64::MAX]);
        for pair in values.windows(2) {
            assert!(signed(pair[0]) < signed(pair[1]), "{} vs {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn encodes_unsigned_numbers_and_strings() {
        assert_eq!(num_increasing(0), [0x00]);
        assert_eq!(num_increasing(2), [0x01, 0x02]);
        assert_eq!(num_increasing(0x1234), [0x02, 0x12, 0x34]);
        assert_eq!(string(b"emb"), [0x65, 0x6d, 0x62, 0x00, 0x01]);
        assert_eq!(string(b"a\x00b\xff"), [0x61, 0x00, 0xFF, 0x62, 0xFF, 0x00, 0x00, 0x01]);
    }

    #[test]
    fn builds_the_documented_slice_key() {
        let slice: TensorSlice = "4,3:0,4".parse().unwrap();
        let key = slice_key("emb", &slice);
        assert_eq!(key, [0x00, 0x65, 0x6d, 0x62, 0x00, 0x01, 0x01, 0x02, 0x84, 0x83, 0x80, 0x84]);
    }

    #[test]
    fn encodes_a_full_extent_as_zero_and_minus_one() {
        let key = slice_key("v", &TensorSlice::full(1));
        assert_eq!(key, [0x00, 0x76, 0x00, 0x01, 0x01, 0x01, 0x80, 0x7F]);
    }

    #[test]
    fn parses_shape_and_slices() {
        let (shape, slice) = TensorSlice::parse_spec("10 4 4,3:0,4").unwrap();
        assert_eq!(shape, [10, 4]);
        assert_eq!(slice.extents, [Extent::new(4, 3), Extent::new(0, 4)]);
        assert_eq!(slice.to_string(), "4,3:0,4");
        let (_, full) = TensorSlice::parse_spec("10 4 -:-").unwrap();
        assert_eq!(full, TensorSlice::full(2));
        assert_eq!(full.to_string(), "-:-");
    }

    #[test]
    fn rejects_malformed_shape_and_slices() {
        let specs = ["", "10 4", "4,3:0,4", "10 4 4,3", "10 4 8,3:0,4", "10 x 0,1:0,1", "10 4 4,-3:0,4", "10 4 a:b"];
        for spec in specs {
            let err = TensorSlice::parse_spec(spec).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidArgument, "{spec}");
        }
    }

    #[test]
    fn converts_slices_to_and_from_protos() {
        let slice = TensorSlice::new(vec![Extent::new(4, 3), Extent::FULL]);
        assert_eq!(TensorSlice::from_proto(&slice.to_proto()), slice);
        assert_eq!(slice.shape_in(&[10, 4]).unwrap(), [3, 4]);
        assert!(TensorSlice::full(2).covers(&[10, 4]));
        assert!(!slice.covers(&[10, 4]));
        assert!(slice.bounds(&[6, 4]).is_err());
        assert!(slice.bounds(&[10]).is_err());
    }

    /// A [rows, cols] i32-like tensor whose element (r, c) is the byte r*10+c.
    fn grid(rows: i64, cols: i64) -> Vec<u8> {
        (0..rows).flat_map(|r| (0..cols).map(move |c| (r * 10 + c) as u8)).collect()
    }

    #[test]
    fn cuts_a_box_out_of_a_matrix() {
        let full = grid(4, 5);
        let slice: TensorSlice = "1,2:2,3".parse().unwrap();
        let part = cut_from_full(&full, &[4, 5], &slice, 1).unwrap();
        assert_eq!(part, [12, 13, 14, 22, 23, 24]);
    }

    #[test]
    fn cuts_with_multi_byte_elements_and_rank_three() {
        // [2, 3, 2] elements of 2 bytes: element i is [i, 100 + i].
        let full: Vec<u8> = (0..12u8).flat_map(|i| [i, 100 + i]).collect();
        let slice: TensorSlice = "-:1,2:-".parse().unwrap();
        let part = cut_from_full(&full, &[2, 3, 2], &slice, 2).unwrap();
        let elements: Vec<u8> = part.chunks(2).map(|e| e[0]).collect();
        assert_eq!(elements, [2, 3, 4, 5, 8, 9, 10, 11]);
        assert!(part.chunks(2).all(|e| e[1] == e[0] + 100));
    }

    #[test]
    fn assembles_partitions_back_into_the_full_tensor() {
        let full = grid(10, 4);
        let mut assembled = vec![0u8; full.len()];
        for spec in ["0,4:0,4", "4,3:0,4", "7,3:-"] {
            let slice: TensorSlice = spec.parse().unwrap();
            let part = cut_from_full(&full, &[10, 4], &slice, 1).unwrap();
            copy_into_full(&mut assembled, &[10, 4], &slice, &part, 1).unwrap();
        }
        assert_eq!(assembled, full);
    }

    #[test]
    fn copies_column_partitions_and_strings() {
        let full: Vec<String> = (0..6).map(|i| i.to_string()).collect();
        let mut assembled = vec![String::new(); 6];
        for spec in ["0,2:0,1", "0,2:1,2"] {
            let slice: TensorSlice = spec.parse().unwrap();
            let part = cut_from_full(&full, &[2, 3], &slice, 1).unwrap();
            copy_into_full(&mut assembled, &[2, 3], &slice, &part, 1).unwrap();
        }
        assert_eq!(assembled, full);
    }

    #[test]
    fn handles_scalars_and_empty_slices() {
        assert_eq!(cut_from_full(&[7u8, 8], &[], &TensorSlice::default(), 2).unwrap(), [7, 8]);
        let empty: TensorSlice = "1,0:-".parse().unwrap();
        assert!(cut_from_full(&grid(2, 3), &[2, 3], &empty, 1).unwrap().is_empty());
        assert!(cut_from_full::<u8>(&[], &[0, 3], &TensorSlice::full(2), 1).unwrap().is_empty());
    }

    #[test]
    fn rejects_buffers_of_the_wrong_length() {
        let slice = TensorSlice::full(2);
        assert!(cut_from_full(&[0u8; 5], &[2, 3], &slice, 1).is_err());
        assert!(copy_into_full(&mut [0u8; 6], &[2, 3], &slice, &[0u8; 5], 1).is_err());
        assert!(cut_from_full(&[0u8; 6], &[2, 3], &"0,3:-".parse().unwrap(), 1).is_err());
        assert!(cut_from_full(&[0u8; 0], &[i64::MAX, i64::MAX], &slice, 1).is_err());
    }
}

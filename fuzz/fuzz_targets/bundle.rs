//! A whole checkpoint bundle: a well-formed `.index` table of random bundle
//! entries (partitioned tensors' slice entries included) over random shard
//! bytes, opened from disk, then every tensor read whole and in random slices.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use tfmodel_core::checkpoint::{crc, slice_key, Checkpoint, Extent, TensorSlice};
use tfmodel_core::proto::{
    tensor_slice_proto, BundleEntryProto, BundleHeaderProto, TensorShapeProto, TensorSliceProto, VersionDef,
};
use tfmodel_core::tensor::shape_proto;

#[derive(Arbitrary, Debug)]
struct Input {
    num_shards: i8,
    endianness: i8,
    min_consumer: i8,
    tensors: Vec<FuzzTensor>,
    shards: Vec<Vec<u8>>,
    reads: Vec<Vec<(i8, Option<i8>)>>,
}

#[derive(Arbitrary, Debug)]
struct FuzzTensor {
    name: u8,
    dtype: u8,
    dims: Option<Vec<u8>>,
    unknown_rank: bool,
    place: Place,
    slices: Vec<FuzzSlice>,
}

#[derive(Arbitrary, Debug)]
struct FuzzSlice {
    extents: Vec<(i8, Option<i8>)>,
    /// The slice entry's own dims; `None` writes the box's true shape.
    dims: Option<Vec<u8>>,
    place: Place,
}

/// Where an entry says its bytes are.
#[derive(Arbitrary, Debug)]
struct Place {
    shard: i8,
    offset: u16,
    /// `None` writes the size the dtype and shape need.
    size: Option<i16>,
    /// `None` writes the right crc of the bytes named.
    crc: Option<u32>,
}

const NAMES: &[&str] = &["w", "b", "global_step", "layer/kernel", "layer/kernel/Adam", "\u{e9}", "a/b/c"];
const DTYPES: &[i32] = &[1, 2, 3, 4, 5, 6, 7, 9, 10, 14, 17, 19, 20, 21, 22, 23, 0, 99];

fn width(dtype: i32) -> Option<i64> {
    match dtype {
        1 | 3 | 22 => Some(4),
        2 | 9 | 23 | 17 => Some(8),
        4 | 6 | 10 => Some(1),
        5 | 14 | 19 => Some(2),
        _ => None,
    }
}

fn dims_of(dims: &[u8]) -> Vec<i64> {
    dims.iter().take(4).map(|&d| i64::from(d % 7)).collect()
}

fn extents(list: &[(i8, Option<i8>)]) -> Vec<Extent> {
    let extent =
        |&(start, length): &(i8, Option<i8>)| Extent { start: i64::from(start), length: length.map(i64::from) };
    list.iter().take(4).map(extent).collect()
}

fn slice_proto(slice: &TensorSlice) -> TensorSliceProto {
    let extent = |e: &Extent| tensor_slice_proto::Extent {
        start: e.start,
        has_length: e.length.map(tensor_slice_proto::extent::HasLength::Length),
    };
    TensorSliceProto { extent: slice.extents.iter().map(extent).collect() }
}

fn entry(
    dtype: i32,
    shape: Option<TensorShapeProto>,
    elements: i64,
    place: &Place,
    shards: &[Vec<u8>],
) -> BundleEntryProto {
    let size = place.size.map_or_else(|| width(dtype).map_or(elements, |w| w * elements), i64::from);
    let crc32c = place.crc.unwrap_or_else(|| {
        let bytes = shards.get(place.shard as usize).map(Vec::as_slice).unwrap_or_default();
        let start = (place.offset as usize).min(bytes.len());
        let end = start.saturating_add(size.max(0) as usize).min(bytes.len());
        crc::masked_crc32c(&bytes[start..end])
    });
    BundleEntryProto {
        dtype,
        shape,
        shard_id: i32::from(place.shard),
        offset: i64::from(place.offset),
        size,
        crc32c,
        slices: Vec::new(),
    }
}

fuzz_target!(|input: Input| {
    let dir = tfmodel_fuzz::scratch_dir();
    for file in std::fs::read_dir(dir).unwrap().flatten() {
        std::fs::remove_file(file.path()).unwrap();
    }
    let num_shards = i32::from(input.num_shards % 4);
    let shards: Vec<Vec<u8>> = input.shards.into_iter().take(num_shards.max(0) as usize).collect();
    let header = BundleHeaderProto {
        num_shards,
        endianness: i32::from(input.endianness % 3),
        version: Some(VersionDef {
            producer: 1,
            min_consumer: i32::from(input.min_consumer % 3),
            bad_consumers: vec![],
        }),
    };
    let mut entries = vec![(Vec::new(), header.encode_to_vec())];
    for tensor in input.tensors.iter().take(6) {
        let name = NAMES[tensor.name as usize % NAMES.len()];
        let dtype = DTYPES[tensor.dtype as usize % DTYPES.len()];
        let dims = tensor.dims.as_deref().map(dims_of);
        let mut shape = dims.as_deref().map(shape_proto);
        if let Some(shape) = &mut shape {
            shape.unknown_rank = tensor.unknown_rank;
        }
        let elements = dims.as_deref().map_or(1, |d| d.iter().product());
        let mut proto = entry(dtype, shape, elements, &tensor.place, &shards);
        for fuzz in tensor.slices.iter().take(4) {
            let slice = TensorSlice::new(extents(&fuzz.extents));
            proto.slices.push(slice_proto(&slice));
            let true_dims = slice.shape_in(dims.as_deref().unwrap_or_default()).unwrap_or_default();
            let slice_dims = fuzz.dims.as_deref().map_or(true_dims, dims_of);
            let elements = slice_dims.iter().product();
            let slice_entry = entry(dtype, Some(shape_proto(&slice_dims)), elements, &fuzz.place, &shards);
            entries.push((slice_key(name, &slice), slice_entry.encode_to_vec()));
        }
        entries.push((name.as_bytes().to_vec(), proto.encode_to_vec()));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.dedup_by(|a, b| a.0 == b.0);

    let prefix = dir.join("model.ckpt");
    std::fs::write(dir.join("model.ckpt.index"), tfmodel_fuzz::table::write(&entries)).unwrap();
    for (shard, bytes) in shards.iter().enumerate() {
        let name = format!("model.ckpt.data-{shard:05}-of-{num_shards:05}");
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let Ok(checkpoint) = Checkpoint::open(&prefix) else { return };
    let names: Vec<String> = checkpoint.tensors().map(|t| t.name.clone()).collect();
    for name in &names {
        let _ = checkpoint.read(name);
        for read in input.reads.iter().take(4) {
            let _ = checkpoint.read_slice(name, &TensorSlice::new(extents(read)));
        }
    }
    let _ = checkpoint.read("not there");
});

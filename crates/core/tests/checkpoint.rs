//! The checkpoint reader against checkpoints written by real TensorFlow
//! (`fixtures/`, see `fixtures/generate.py`): every tensor must come back with
//! TensorFlow's dtype, shape and exact bytes, and damaged copies must give
//! coded errors that name the file and tensor, never a panic.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine;
use bytes::Bytes;
use prost::Message;
use serde_json::Value;
use tfmodel_core::checkpoint::{crc, Checkpoint, Table, TensorSlice};
use tfmodel_core::dtype;
use tfmodel_core::proto::{BundleEntryProto, BundleHeaderProto, DataType, VersionDef};
use tfmodel_core::tensor::{Tensor, TensorData};
use tfmodel_core::{Error, ErrorKind};

mod common;
use common::{fixtures_dir, manifest, read_json};

/// Every expected-tensors file the manifest lists: `(fixture dir, file)`.
fn tensor_files() -> Vec<(PathBuf, PathBuf)> {
    let manifest = manifest();
    let fixtures = manifest["fixtures"].as_object().expect("manifest has a fixtures map");
    let mut files = BTreeSet::new();
    for (name, entry) in fixtures {
        let dir = fixtures_dir().join(name);
        let Some(tensors) = entry["tensors"].as_str() else {
            continue;
        };
        files.insert((dir.clone(), dir.join(tensors)));
        for step_file in entry["steps"].as_object().into_iter().flat_map(|steps| steps.values()) {
            files.insert((dir.clone(), dir.join(step_file.as_str().expect("step file name"))));
        }
    }
    files.into_iter().collect()
}

fn base64(text: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(text.as_str().expect("base64 string")).unwrap()
}

/// Asserts that `tensor` is what TensorFlow returned (`{dtype, shape, data}`).
fn assert_tensor_matches(key: &str, tensor: &Tensor, expected: &Value) {
    assert_eq!(dtype::name(tensor.dtype), expected["dtype"].as_str().unwrap(), "dtype of {key}");
    let shape: Vec<i64> = expected["shape"].as_array().unwrap().iter().map(|d| d.as_i64().unwrap()).collect();
    assert_eq!(tensor.shape, shape, "shape of {key}");
    match &tensor.data {
        TensorData::Raw(bytes) => assert!(bytes.as_ref() == base64(&expected["data"]), "bytes of {key}"),
        TensorData::Strings(strings) => {
            let want: Vec<Bytes> = expected["data"].as_array().unwrap().iter().map(|s| base64(s).into()).collect();
            assert_eq!(strings, &want, "strings of {key}");
        }
    }
}

#[test]
fn reads_every_fixture_tensor_like_tensorflow() {
    let files = tensor_files();
    assert!(files.len() >= 5, "expected the manifest to list fixture checkpoints, found {files:?}");
    for (dir, file) in files {
        let expected = read_json(&file);
        let checkpoint = Checkpoint::open(dir.join(expected["prefix"].as_str().unwrap()))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let tensors = expected["tensors"].as_object().unwrap();
        let names: Vec<&str> = checkpoint.tensors().map(|t| t.name.as_str()).collect();
        let want: Vec<&str> = tensors.keys().map(String::as_str).collect();
        assert_eq!(names, want, "tensor names of {}", file.display());
        for (key, want) in tensors {
            let tensor = checkpoint.read(key).unwrap_or_else(|e| panic!("{}: {key}: {e}", file.display()));
            assert_tensor_matches(key, &tensor, want);
            let info = checkpoint.get(key).unwrap();
            assert_eq!((info.dtype, &info.shape), (tensor.dtype, &tensor.shape));
        }
    }
}

/// The v1 partitioned variable `emb` [10,4] of rows 4,3,3 in three shards.
#[test]
fn reads_the_stored_slices_of_a_partitioned_variable() {
    let checkpoint = Checkpoint::open(fixtures_dir().join("partitioned/model.ckpt")).unwrap();
    assert_eq!(checkpoint.data_paths().len(), 3);
    let emb = checkpoint.get("emb").unwrap();
    assert!(emb.partitioned);
    assert_eq!((emb.shape.as_slice(), emb.size), (&[10, 4][..], 160));
    let full = checkpoint.read("emb").unwrap();
    let full = full.raw().unwrap();
    for (spec, rows) in [("0,4:0,4", 0..4), ("4,3:0,4", 4..7), ("7,3:-", 7..10)] {
        let slice: TensorSlice = spec.parse().unwrap();
        let part = checkpoint.read_slice("emb", &slice).unwrap();
        assert_eq!(part.shape, [rows.len() as i64, 4]);
        assert_eq!(part.raw().unwrap().as_ref(), &full[rows.start * 16..rows.end * 16], "slice {spec}");
    }
    // A box that no stored slice matches is cut from the assembled tensor.
    let middle = checkpoint.read_slice("emb", &"3,2:1,2".parse().unwrap()).unwrap();
    let want: Vec<u8> = [&full[3 * 16 + 4..3 * 16 + 12], &full[4 * 16 + 4..4 * 16 + 12]].concat();
    assert_eq!(middle.raw().unwrap().as_ref(), want);
}

// ---- damaged copies ---------------------------------------------------------------------

/// A copy of a fixture checkpoint (`fixture/prefix`) in a temporary directory.
struct Scratch {
    _dir: tempfile::TempDir,
    prefix: PathBuf,
}

impl Scratch {
    fn of(fixture: &str, prefix: &str) -> Scratch {
        let source_dir = fixtures_dir().join(fixture);
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(&source_dir).unwrap() {
            let name = entry.unwrap().file_name();
            let text = name.to_string_lossy();
            if text.starts_with(&format!("{prefix}.index")) || text.starts_with(&format!("{prefix}.data-")) {
                std::fs::copy(source_dir.join(&name), dir.path().join(&name)).unwrap();
            }
        }
        let prefix = dir.path().join(prefix);
        Scratch { _dir: dir, prefix }
    }

    fn dtypes() -> Scratch {
        Scratch::of("dtypes", "model.ckpt")
    }

    fn path(&self, suffix: &str) -> PathBuf {
        PathBuf::from(format!("{}{suffix}", self.prefix.display()))
    }

    fn index(&self) -> PathBuf {
        self.path(".index")
    }

    fn data(&self) -> PathBuf {
        self.path(".data-00000-of-00001")
    }

    fn edit(&self, path: &Path, change: impl FnOnce(&mut Vec<u8>)) {
        let mut bytes = std::fs::read(path).unwrap();
        change(&mut bytes);
        std::fs::write(path, bytes).unwrap();
    }

    fn open(&self) -> Result<Checkpoint, Error> {
        Checkpoint::open(&self.prefix)
    }

    /// The index entry of tensor `name`, read without the bundle reader.
    fn entry(&self, name: &str) -> BundleEntryProto {
        let table = Table::parse(&std::fs::read(self.index()).unwrap()).unwrap();
        BundleEntryProto::decode(table.get(name.as_bytes()).unwrap()).unwrap()
    }
}

fn assert_error(err: &Error, kind: ErrorKind, file: &Path, subject: Option<&str>) {
    assert_eq!(err.kind, kind, "{err}");
    assert_eq!(err.file.as_deref(), Some(file), "{err}");
    if subject.is_some() {
        assert_eq!(err.subject.as_deref(), subject, "{err}");
    }
}

#[test]
fn empty_index_is_truncated() {
    let scratch = Scratch::dtypes();
    scratch.edit(&scratch.index(), Vec::clear);
    assert_error(&scratch.open().unwrap_err(), ErrorKind::IndexTruncated, &scratch.index(), None);
}

#[test]
fn cut_index_is_truncated_or_corrupt() {
    let length = std::fs::metadata(Scratch::dtypes().index()).unwrap().len() as usize;
    for cut in [length / 2, length - 1, 47, 1] {
        let scratch = Scratch::dtypes();
        scratch.edit(&scratch.index(), |bytes| bytes.truncate(cut));
        let err = scratch.open().unwrap_err();
        assert!(matches!(err.kind, ErrorKind::IndexTruncated | ErrorKind::IndexCorrupt), "cut at {cut}: {err}");
        assert_eq!(err.file.as_deref(), Some(scratch.index().as_path()));
    }
}

#[test]
fn flipped_byte_in_an_index_block_is_a_crc_mismatch() {
    let scratch = Scratch::dtypes();
    scratch.edit(&scratch.index(), |bytes| bytes[20] ^= 0x01);
    assert_error(&scratch.open().unwrap_err(), ErrorKind::CrcMismatch, &scratch.index(), None);
}

#[test]
fn wrong_magic_is_index_corrupt() {
    let scratch = Scratch::dtypes();
    scratch.edit(&scratch.index(), |bytes| *bytes.last_mut().unwrap() = 0);
    let err = scratch.open().unwrap_err();
    assert_error(&err, ErrorKind::IndexCorrupt, &scratch.index(), None);
    assert!(err.message.contains("magic"), "{err}");
}

/// Reads every tensor of a copy whose data file was cut to `keep` bytes:
/// those stored before the cut still read, the others report the cut.
fn assert_cut_data_file_reports_tensors_past_the_cut(keep: usize) {
    let scratch = Scratch::dtypes();
    scratch.edit(&scratch.data(), |bytes| bytes.truncate(keep));
    let checkpoint = scratch.open().unwrap();
    let mut past_the_cut = 0;
    for info in checkpoint.tensors() {
        let entry = scratch.entry(&info.name);
        let result = checkpoint.read(&info.name);
        if (entry.offset + entry.size) as usize <= keep {
            assert!(result.is_ok(), "{}: {:?}", info.name, result.err());
            continue;
        }
        past_the_cut += 1;
        let err = result.unwrap_err();
        assert_error(&err, ErrorKind::ShardTruncated, &scratch.data(), Some(&info.name));
        let text = err.to_string();
        assert!(text.contains("model.ckpt.data-00000-of-00001") && text.contains(&info.name), "{text}");
    }
    assert!(past_the_cut > 0);
}

#[test]
fn empty_data_file_is_a_truncated_shard() {
    assert_cut_data_file_reports_tensors_past_the_cut(0);
}

#[test]
fn cut_data_file_is_a_truncated_shard() {
    let length = std::fs::metadata(Scratch::dtypes().data()).unwrap().len() as usize;
    assert_cut_data_file_reports_tensors_past_the_cut(length / 2);
    assert_cut_data_file_reports_tensors_past_the_cut(length - 1);
}

#[test]
fn flipped_byte_in_a_tensor_is_a_crc_mismatch_naming_it() {
    for name in ["float32", "string", "scalar/string", "complex128"] {
        let scratch = Scratch::dtypes();
        let entry = scratch.entry(name);
        scratch.edit(&scratch.data(), |bytes| bytes[(entry.offset + entry.size - 1) as usize] ^= 0x20);
        let checkpoint = scratch.open().unwrap();
        let err = checkpoint.read(name).unwrap_err();
        assert_error(&err, ErrorKind::CrcMismatch, &scratch.data(), Some(name));
        assert!(err.message.contains(name), "{err}");
        assert!(checkpoint.read("int8").is_ok(), "other tensors still read");
    }
}

#[test]
fn flipped_byte_in_a_string_length_is_a_crc_mismatch() {
    let scratch = Scratch::dtypes();
    let entry = scratch.entry("string_2d");
    scratch.edit(&scratch.data(), |bytes| bytes[entry.offset as usize] ^= 0x01);
    let err = scratch.open().unwrap().read("string_2d").unwrap_err();
    assert_error(&err, ErrorKind::CrcMismatch, &scratch.data(), Some("string_2d"));
}

#[test]
fn missing_data_file_of_a_sharded_checkpoint() {
    let scratch = Scratch::of("partitioned", "model.ckpt");
    let missing = scratch.path(".data-00001-of-00003");
    std::fs::remove_file(&missing).unwrap();
    let err = scratch.open().unwrap_err();
    assert_error(&err, ErrorKind::ShardMissing, &missing, None);
    assert!(err.message.contains("shard 1 of 3"), "{err}");
}

#[test]
fn unknown_tensor_name_suggests_the_closest() {
    let checkpoint = Checkpoint::open(fixtures_dir().join("dtypes/model.ckpt")).unwrap();
    let err = checkpoint.read("scalar/float3").unwrap_err();
    assert_error(&err, ErrorKind::TensorNotFound, &checkpoint.index_path(), Some("scalar/float3"));
    assert!(err.suggestions.contains(&"scalar/float32".to_string()), "{err}");
    assert!(checkpoint.get("scalar/float3").is_none());
}

#[test]
fn prefix_without_files_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("model.ckpt-5");
    let err = Checkpoint::open(&prefix).unwrap_err();
    assert_error(&err, ErrorKind::FileNotFound, &dir.path().join("model.ckpt-5.index"), None);
}

#[test]
fn v1_checkpoint_is_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("model.ckpt");
    std::fs::write(&prefix, b"a V1 table").unwrap();
    let err = Checkpoint::open(&prefix).unwrap_err();
    assert_error(&err, ErrorKind::UnsupportedFormat, &prefix, None);
    assert!(err.message.contains("V1"), "{err}");
}

#[test]
fn sharded_v1_checkpoint_is_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let first_shard = dir.path().join("model.ckpt-00000-of-00002");
    std::fs::write(&first_shard, b"a V1 table").unwrap();
    let err = Checkpoint::open(dir.path().join("model.ckpt")).unwrap_err();
    assert_error(&err, ErrorKind::UnsupportedFormat, &first_shard, None);
}

// ---- robustness -------------------------------------------------------------------------

/// Opens the copy and reads every tensor; only the absence of panics matters.
fn open_and_read_all(scratch: &Scratch) {
    if let Ok(checkpoint) = scratch.open() {
        for info in checkpoint.tensors() {
            let _ = checkpoint.read(&info.name);
            let _ = checkpoint.read_slice(&info.name, &TensorSlice::full(info.shape.len()));
        }
    }
}

#[test]
fn any_truncation_or_flipped_byte_of_the_index_is_an_error_not_a_panic() {
    let scratch = Scratch::dtypes();
    let clean = std::fs::read(scratch.index()).unwrap();
    for cut in 0..=clean.len() {
        std::fs::write(scratch.index(), &clean[..cut]).unwrap();
        open_and_read_all(&scratch);
    }
    for position in 0..clean.len() {
        for flip in [0x01, 0x80, 0xFF] {
            let mut bytes = clean.clone();
            bytes[position] ^= flip;
            std::fs::write(scratch.index(), &bytes).unwrap();
            open_and_read_all(&scratch);
        }
    }
}

/// Writes a one-data-block table, so entry values can be damaged while every
/// block crc stays valid and the bundle reader itself must catch the damage.
fn write_table(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut value: u64) {
        while value >= 0x80 {
            out.push(value as u8 | 0x80);
            value >>= 7;
        }
        out.push(value as u8);
    }
    fn block(out: &mut Vec<u8>, entries: &[(Vec<u8>, Vec<u8>)]) -> (u64, u64) {
        let start = out.len();
        let mut restarts = Vec::new();
        for (key, value) in entries {
            restarts.push((out.len() - start) as u32);
            for n in [0, key.len(), value.len()] {
                varint(out, n as u64);
            }
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
        let size = out.len() - start;
        let crc = crc32c::crc32c_append(crc32c::crc32c(&out[start..]), &[0]);
        out.push(0);
        out.extend_from_slice(&crc::mask(crc).to_le_bytes());
        (start as u64, size as u64)
    }
    let mut out = Vec::new();
    let data = block(&mut out, entries);
    let meta = block(&mut out, &[]);
    let mut handle = Vec::new();
    varint(&mut handle, data.0);
    varint(&mut handle, data.1);
    let last_key = entries.last().map(|(k, _)| k.clone()).unwrap_or_default();
    let index = block(&mut out, &[(last_key, handle)]);
    let footer_start = out.len();
    for n in [meta.0, meta.1, index.0, index.1] {
        varint(&mut out, n);
    }
    out.resize(footer_start + 40, 0);
    out.extend_from_slice(&0xDB47_7524_8B80_FB57u64.to_le_bytes());
    out
}

#[test]
fn rewritten_index_reads_like_the_original() {
    let scratch = Scratch::dtypes();
    let entries = entries_of(&scratch);
    std::fs::write(scratch.index(), write_table(&entries)).unwrap();
    let checkpoint = scratch.open().unwrap();
    let original = Checkpoint::open(fixtures_dir().join("dtypes/model.ckpt")).unwrap();
    for info in original.tensors() {
        assert_eq!(checkpoint.read(&info.name).unwrap(), original.read(&info.name).unwrap());
    }
}

fn entries_of(scratch: &Scratch) -> Vec<(Vec<u8>, Vec<u8>)> {
    let table = Table::parse(&std::fs::read(scratch.index()).unwrap()).unwrap();
    table.entries().iter().map(|e| (e.key.clone(), e.value.clone())).collect()
}

#[test]
fn damaged_entries_behind_valid_crcs_are_errors_not_panics() {
    for (fixture, prefix) in [("dtypes", "model.ckpt"), ("partitioned", "model.ckpt")] {
        let scratch = Scratch::of(fixture, prefix);
        let entries = entries_of(&scratch);
        for (i, (_, value)) in entries.iter().enumerate() {
            for position in 0..value.len() {
                for flip in [0x01, 0x08, 0x40, 0xFF] {
                    let mut damaged = entries.clone();
                    damaged[i].1[position] ^= flip;
                    std::fs::write(scratch.index(), write_table(&damaged)).unwrap();
                    open_and_read_all(&scratch);
                }
            }
        }
    }
}

#[test]
fn flipped_data_bytes_fail_only_the_tensor_they_hit() {
    let scratch = Scratch::dtypes();
    let clean = std::fs::read(scratch.data()).unwrap();
    let checkpoint = scratch.open().unwrap();
    let stored: Vec<_> = checkpoint.tensors().map(|info| (info, scratch.entry(&info.name))).collect();
    for position in (0..clean.len()).step_by(7) {
        let mut bytes = clean.clone();
        bytes[position] ^= 0x10;
        std::fs::write(scratch.data(), &bytes).unwrap();
        for (info, entry) in &stored {
            let hit = (entry.offset as usize..(entry.offset + entry.size) as usize).contains(&position);
            match checkpoint.read(&info.name) {
                Ok(_) => assert!(!hit, "{} read despite a flipped byte at {position}", info.name),
                Err(err) => {
                    assert!(hit, "{}: {err}", info.name);
                    assert_eq!(err.kind, ErrorKind::CrcMismatch, "{err}");
                }
            }
        }
    }
}

/// The dtypes fixture with one entry's (or the header's) proto changed, every crc valid.
fn with_entry_changed<M: Message + Default>(key: &str, change: impl FnOnce(&mut M)) -> Scratch {
    let scratch = Scratch::dtypes();
    let mut entries = entries_of(&scratch);
    let (_, value) = entries.iter_mut().find(|(k, _)| k == key.as_bytes()).unwrap();
    let mut proto = M::decode(value.as_slice()).unwrap();
    change(&mut proto);
    *value = proto.encode_to_vec();
    std::fs::write(scratch.index(), write_table(&entries)).unwrap();
    scratch
}

#[test]
fn entry_size_must_match_its_shape() {
    let scratch = with_entry_changed("float32", |e: &mut BundleEntryProto| e.size += 4);
    let err = scratch.open().unwrap_err();
    assert_error(&err, ErrorKind::IndexCorrupt, &scratch.index(), Some("float32"));
}

#[test]
fn entry_in_a_shard_that_does_not_exist_is_corrupt() {
    let scratch = with_entry_changed("int8", |e: &mut BundleEntryProto| e.shard_id = 1);
    let err = scratch.open().unwrap_err();
    assert_error(&err, ErrorKind::IndexCorrupt, &scratch.index(), Some("int8"));
}

#[test]
fn huge_sizes_are_a_truncated_shard_not_an_allocation() {
    let scratch = with_entry_changed("string", |e: &mut BundleEntryProto| e.size = i64::MAX);
    let checkpoint = scratch.open().unwrap();
    assert_eq!(checkpoint.get("string").unwrap().size, i64::MAX as u64);
    let err = checkpoint.read("string").unwrap_err();
    assert_error(&err, ErrorKind::ShardTruncated, &scratch.data(), Some("string"));
    let scratch = with_entry_changed("uint8", |e: &mut BundleEntryProto| e.offset = i64::MAX);
    let err = scratch.open().unwrap().read("uint8").unwrap_err();
    assert_error(&err, ErrorKind::ShardTruncated, &scratch.data(), Some("uint8"));
}

#[test]
fn variant_tensors_are_an_unsupported_dtype() {
    let scratch = with_entry_changed("string", |e: &mut BundleEntryProto| e.dtype = DataType::DtVariant as i32);
    let checkpoint = scratch.open().unwrap();
    let err = checkpoint.read("string").unwrap_err();
    assert_error(&err, ErrorKind::UnsupportedDtype, &scratch.index(), Some("string"));
    assert!(checkpoint.read("float32").is_ok());
}

#[test]
fn newer_bundle_versions_are_unsupported() {
    let scratch = with_entry_changed("", |h: &mut BundleHeaderProto| {
        h.version = Some(VersionDef { producer: 2, min_consumer: 2, bad_consumers: vec![] })
    });
    assert_error(&scratch.open().unwrap_err(), ErrorKind::UnsupportedFormat, &scratch.index(), None);
    let scratch = with_entry_changed("", |h: &mut BundleHeaderProto| {
        h.version = Some(VersionDef { producer: 1, min_consumer: 0, bad_consumers: vec![1] })
    });
    assert_error(&scratch.open().unwrap_err(), ErrorKind::UnsupportedFormat, &scratch.index(), None);
}

#[test]
fn big_endian_bundles_are_byte_swapped() {
    let scratch = with_entry_changed("", |h: &mut BundleHeaderProto| h.endianness = 1);
    let checkpoint = scratch.open().unwrap();
    let original = Checkpoint::open(fixtures_dir().join("dtypes/model.ckpt")).unwrap();
    for (name, scalar) in [("int32", 4), ("float64", 8), ("complex64", 4), ("uint8", 1)] {
        let swapped = checkpoint.read(name).unwrap();
        let want: Vec<u8> =
            original.read(name).unwrap().raw().unwrap().chunks(scalar).flat_map(|c| c.iter().rev().copied()).collect();
        assert_eq!(swapped.raw().unwrap().as_ref(), want, "{name}");
    }
    assert_eq!(checkpoint.read("string").unwrap(), original.read("string").unwrap());
}

#[test]
fn a_large_tensor_is_mapped_and_still_checked() {
    // For the whole test process: tensors read either way are the same.
    tfmodel_core::mapped::map_checkpoints(true);
    let name = "FeatureExtractor/Conv2d_6_pointwise/weights";
    let scratch = Scratch::of("detector", "model.ckpt");
    let entry = scratch.entry(name);
    assert!(entry.size as u64 >= tfmodel_core::mapped::MIN_MAPPED_BYTES, "the detector's largest weight is mapped");
    let tensor = scratch.open().unwrap().read(name).unwrap();
    let bytes = tensor.raw().unwrap();
    assert!(tfmodel_core::mapped::is_mapped(bytes));
    let file = std::fs::read(scratch.data()).unwrap();
    assert!(bytes.as_ref() == &file[entry.offset as usize..(entry.offset + entry.size) as usize]);

    scratch.edit(&scratch.data(), |bytes| bytes[(entry.offset + entry.size / 2) as usize] ^= 0x20);
    let err = scratch.open().unwrap().read(name).unwrap_err();
    assert_error(&err, ErrorKind::CrcMismatch, &scratch.data(), Some(name));
}

//! Weight shards: the manifest's weights back to back, cut every
//! `shard_size` bytes (a weight may straddle two shards), and their names.

use sha2::{Digest, Sha256};

use crate::emit::ModelDir;
use crate::error::Result;

/// How weight shards are named in `weightsManifest.paths`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ShardNames {
    /// `group1-shard<i>of<n>.bin`, as TensorFlow's converter names them.
    #[default]
    Numbered,
    /// `<stem>-<hash>.bin`, `hash` the first 10 hex digits of the shard's
    /// SHA-256: a bundler can serve them with immutable caching and copy
    /// them as they are, since `model.json` already names them.
    ContentHashed { stem: String },
}

impl ShardNames {
    fn name(&self, index: usize, count: usize, sha256: Option<&str>) -> String {
        match self {
            ShardNames::Numbered => format!("group1-shard{}of{count}.bin", index + 1),
            ShardNames::ContentHashed { stem } => format!("{stem}-{}.bin", sha256.unwrap_or_default()),
        }
    }

    /// The hash a name needs, when it needs one.
    fn sha256(&self, bytes: &[u8]) -> Option<String> {
        matches!(self, ShardNames::ContentHashed { .. }).then(|| short_sha256(bytes))
    }
}

/// 10 hex digits of SHA-256, as the plugin has always named hashed assets.
fn short_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().take(5).map(|b| format!("{b:02x}")).collect()
}

/// Concatenates weights and cuts the stream every `size` bytes. Into a
/// [`ModelDir`], each shard is written as soon as it is full, so the weights
/// are never all in memory; else the shards are kept.
pub(super) struct ShardWriter<'d> {
    size: usize,
    names: ShardNames,
    current: Vec<u8>,
    /// Full shards: their bytes, or (written into `dir`) their staged name and hash.
    done: Vec<Done>,
    dir: Option<&'d mut ModelDir>,
    pub(super) total: u64,
}

enum Done {
    Kept(Vec<u8>),
    Written { staged: String, sha256: Option<String> },
}

impl<'d> ShardWriter<'d> {
    pub(super) fn new(size: usize, names: &ShardNames, dir: Option<&'d mut ModelDir>) -> Self {
        ShardWriter { size, names: names.clone(), current: Vec::new(), done: Vec::new(), dir, total: 0 }
    }

    pub(super) fn write(&mut self, mut bytes: &[u8]) -> Result<()> {
        self.total += bytes.len() as u64;
        while !bytes.is_empty() {
            if self.current.capacity() == 0 {
                self.current.reserve_exact(self.size.min(bytes.len().max(1 << 16)));
            }
            let take = (self.size - self.current.len()).min(bytes.len());
            self.current.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.current.len() == self.size {
                self.cut()?;
            }
        }
        Ok(())
    }

    fn cut(&mut self) -> Result<()> {
        let bytes = std::mem::take(&mut self.current);
        let done = match self.dir.as_deref_mut() {
            Some(dir) => {
                // Numbered names need the count, known at the end: staged under a name no model file has.
                let staged = format!("shard-{}.partial", self.done.len());
                dir.write(&staged, &bytes)?;
                Done::Written { staged, sha256: self.names.sha256(&bytes) }
            }
            None => Done::Kept(bytes),
        };
        self.done.push(done);
        Ok(())
    }

    /// The shards' names, and their bytes where they were kept.
    pub(super) fn finish(mut self) -> Result<Vec<(String, Vec<u8>)>> {
        if !self.current.is_empty() {
            self.cut()?;
        }
        let count = self.done.len();
        let mut shards = Vec::with_capacity(count);
        for (i, done) in self.done.into_iter().enumerate() {
            shards.push(match done {
                Done::Kept(bytes) => (self.names.name(i, count, self.names.sha256(&bytes).as_deref()), bytes),
                Done::Written { staged, sha256 } => {
                    let name = self.names.name(i, count, sha256.as_deref());
                    let dir = self.dir.as_deref_mut().expect("written shards have a directory");
                    dir.rename(&staged, &name)?;
                    (name, Vec::new())
                }
            });
        }
        Ok(shards)
    }
}

/// `group<g>-shard<i>of<n>.bin`.
pub(crate) fn is_shard_name(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let Some(rest) = name.strip_prefix("group").and_then(|r| r.strip_suffix(".bin")) else { return false };
    let Some((group, shard)) = rest.split_once("-shard") else { return false };
    let Some((index, count)) = shard.split_once("of") else { return false };
    digits(group) && digits(index) && digits(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_the_weight_stream_at_shard_boundaries() {
        let mut writer = ShardWriter::new(4, &ShardNames::Numbered, None);
        writer.write(&[1, 2, 3]).unwrap();
        writer.write(&[4, 5, 6, 7, 8, 9]).unwrap();
        let shards = writer.finish().unwrap();
        let names: Vec<&str> = shards.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["group1-shard1of3.bin", "group1-shard2of3.bin", "group1-shard3of3.bin"]);
        assert_eq!(shards[1].1, [5, 6, 7, 8]);
        assert_eq!(shards[2].1, [9]);
    }

    #[test]
    fn content_hashed_names_are_the_stem_and_the_bytes_sha256() {
        let names = ShardNames::ContentHashed { stem: "convnet-1a2b3c4d".into() };
        let mut writer = ShardWriter::new(3, &names, None);
        writer.write(b"abcabc").unwrap();
        let shards = writer.finish().unwrap();
        // sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        let names: Vec<&str> = shards.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["convnet-1a2b3c4d-ba7816bf8f.bin", "convnet-1a2b3c4d-ba7816bf8f.bin"]);
    }

    #[test]
    fn shards_written_into_a_directory_are_those_kept_in_memory() {
        let root = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = (0..10).collect();
        for names in [ShardNames::Numbered, ShardNames::ContentHashed { stem: "m".into() }] {
            let mut kept = ShardWriter::new(4, &names, None);
            kept.write(&bytes).unwrap();
            let kept = kept.finish().unwrap();
            let out = root.path().join("out");
            let mut dir = ModelDir::create(&out).unwrap();
            let mut writer = ShardWriter::new(4, &names, Some(&mut dir));
            writer.write(&bytes).unwrap();
            let written = writer.finish().unwrap();
            assert!(written.iter().all(|(_, b)| b.is_empty()), "written shards are not held");
            let listed: Vec<(String, u64)> = kept.iter().map(|(n, b)| (n.clone(), b.len() as u64)).collect();
            assert_eq!(dir.written(), listed);
            dir.commit().unwrap();
            for (name, shard) in &kept {
                assert_eq!(&std::fs::read(out.join(name)).unwrap(), shard, "{name}");
            }
        }
    }

    #[test]
    fn recognises_shard_file_names() {
        assert!(is_shard_name("group1-shard2of10.bin"));
        assert!(!is_shard_name("model.json"));
        assert!(!is_shard_name("group1-shardXof2.bin"));
        assert!(!is_shard_name("group1-shard.bin"));
    }
}

//! Weight shards: the manifest's weights back to back, cut every
//! `shard_size` bytes (a weight may straddle two shards), and their names.

use sha2::{Digest, Sha256};

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
    fn name(&self, index: usize, count: usize, bytes: &[u8]) -> String {
        match self {
            ShardNames::Numbered => format!("group1-shard{}of{count}.bin", index + 1),
            ShardNames::ContentHashed { stem } => format!("{stem}-{}.bin", short_sha256(bytes)),
        }
    }
}

/// 10 hex digits of SHA-256, as the plugin has always named hashed assets.
fn short_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().take(5).map(|b| format!("{b:02x}")).collect()
}

/// Concatenates weights and cuts the stream every `size` bytes.
pub(super) struct ShardWriter {
    size: usize,
    done: Vec<Vec<u8>>,
    current: Vec<u8>,
    pub(super) total: u64,
}

impl ShardWriter {
    pub(super) fn new(size: usize) -> Self {
        ShardWriter { size, done: Vec::new(), current: Vec::new(), total: 0 }
    }

    pub(super) fn write(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        while !bytes.is_empty() {
            let take = (self.size - self.current.len()).min(bytes.len());
            self.current.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.current.len() == self.size {
                self.done.push(std::mem::take(&mut self.current));
            }
        }
    }

    pub(super) fn finish(mut self, names: &ShardNames) -> Vec<(String, Vec<u8>)> {
        if !self.current.is_empty() {
            self.done.push(self.current);
        }
        let count = self.done.len();
        self.done.into_iter().enumerate().map(|(i, bytes)| (names.name(i, count, &bytes), bytes)).collect()
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
        let mut writer = ShardWriter::new(4);
        writer.write(&[1, 2, 3]);
        writer.write(&[4, 5, 6, 7, 8, 9]);
        let shards = writer.finish(&ShardNames::Numbered);
        let names: Vec<&str> = shards.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["group1-shard1of3.bin", "group1-shard2of3.bin", "group1-shard3of3.bin"]);
        assert_eq!(shards[1].1, [5, 6, 7, 8]);
        assert_eq!(shards[2].1, [9]);
    }

    #[test]
    fn content_hashed_names_are_the_stem_and_the_bytes_sha256() {
        let mut writer = ShardWriter::new(3);
        writer.write(b"abcabc");
        let shards = writer.finish(&ShardNames::ContentHashed { stem: "convnet-1a2b3c4d".into() });
        // sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        let names: Vec<&str> = shards.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["convnet-1a2b3c4d-ba7816bf8f.bin", "convnet-1a2b3c4d-ba7816bf8f.bin"]);
    }

    #[test]
    fn recognises_shard_file_names() {
        assert!(is_shard_name("group1-shard2of10.bin"));
        assert!(!is_shard_name("model.json"));
        assert!(!is_shard_name("group1-shardXof2.bin"));
        assert!(!is_shard_name("group1-shard.bin"));
    }
}

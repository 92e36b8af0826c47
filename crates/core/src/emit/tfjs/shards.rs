//! Weight shards: the manifest's weights back to back, cut every
//! `shard_size` bytes (a weight may straddle two shards), and their names.

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

    pub(super) fn finish(mut self) -> Vec<(String, Vec<u8>)> {
        if !self.current.is_empty() {
            self.done.push(self.current);
        }
        let count = self.done.len();
        self.done
            .into_iter()
            .enumerate()
            .map(|(i, bytes)| (format!("group1-shard{}of{count}.bin", i + 1), bytes))
            .collect()
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
        let shards = writer.finish();
        let names: Vec<&str> = shards.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["group1-shard1of3.bin", "group1-shard2of3.bin", "group1-shard3of3.bin"]);
        assert_eq!(shards[1].1, [5, 6, 7, 8]);
        assert_eq!(shards[2].1, [9]);
    }

    #[test]
    fn recognises_shard_file_names() {
        assert!(is_shard_name("group1-shard2of10.bin"));
        assert!(!is_shard_name("model.json"));
        assert!(!is_shard_name("group1-shardXof2.bin"));
        assert!(!is_shard_name("group1-shard.bin"));
    }
}

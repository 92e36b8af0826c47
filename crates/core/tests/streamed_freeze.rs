//! `freeze` to a binary file streams each weight from the checkpoint into its
//! node's framing; the file must decode to the graph an in-memory freeze builds.

mod common;

use common::{fixture_files, manifest, strings};
use prost::Message;
use tfmodel_core::freeze::FreezeOptions;
use tfmodel_core::pipeline;
use tfmodel_core::proto::GraphDef;

#[test]
fn streamed_files_decode_to_the_in_memory_graph() {
    let manifest = manifest();
    let dir = std::env::temp_dir().join(format!("tfmodel-streamed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut streamed_any = false;
    for (name, entry) in manifest["fixtures"].as_object().unwrap() {
        if name.starts_with("errors/")
            || entry["checkpoint"].is_null()
            || entry["output_node_names"].as_array().is_none_or(Vec::is_empty)
        {
            continue;
        }
        let files = fixture_files(name, entry);
        let options = FreezeOptions { output_node_names: strings(&entry["output_node_names"]), ..Default::default() };
        let in_memory = pipeline::freeze(&files, &options).unwrap_or_else(|e| panic!("{name}: {e}"));
        let path = dir.join(format!("{}.pb", name.replace('/', "_")));
        let (frozen, written) = pipeline::freeze_to_file(&files, &options, &path, false).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(written, bytes.len() as u64, "{name}: reported size");
        assert_eq!(GraphDef::decode(bytes.as_slice()).unwrap(), in_memory.graph, "{name}");
        assert_eq!(bytes, in_memory.graph.encode_to_vec(), "{name}: the same bytes as prost writes");
        streamed_any |= !frozen.deferred.is_empty();
    }
    assert!(streamed_any, "some fixture's weights were streamed");
    std::fs::remove_dir_all(&dir).unwrap();
}

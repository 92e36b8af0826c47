//! Compiles the project's own TensorFlow proto subset (`proto/tensorflow.proto`)
//! with a pure-Rust protobuf compiler, so building needs no `protoc`.
use std::{env, path::PathBuf};

fn main() {
    let proto_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../proto");
    let proto_file = proto_dir.join("tensorflow.proto");
    println!("cargo:rerun-if-changed={}", proto_file.display());

    let descriptors = protox::compile([&proto_file], [&proto_dir]).expect("proto/tensorflow.proto compiles");
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let descriptor_path = out_dir.join("tensorflow_descriptor.bin");
    std::fs::write(&descriptor_path, prost::Message::encode_to_vec(&descriptors)).unwrap();

    prost_build::Config::new()
        // Sorted maps give deterministic output, as TensorFlow's own writers do.
        .btree_map(["."])
        .bytes([".tensorflow.TensorProto.tensor_content"])
        .skip_protoc_run()
        .compile_fds(descriptors)
        .expect("prost code generation");
}

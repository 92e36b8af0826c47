//! Where a function body's `node:out_arg:index` lands among the node's flat
//! outputs (`node:k` in a graph). For an op with one output arg (most ops,
//! list outputs such as `Split`'s included) `k` is `index`; the ops below
//! have several, each one tensor, listed in their OpDefs' order.

use crate::proto::FunctionDefLibrary;

const MULTI_OUTPUT_OPS: &[(&str, &[&str])] = &[
    ("FusedBatchNorm", &["y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"]),
    ("FusedBatchNormV2", &["y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"]),
    (
        "FusedBatchNormV3",
        &["y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2", "reserve_space_3"],
    ),
    ("Switch", &["output_false", "output_true"]),
    ("RefSwitch", &["output_false", "output_true"]),
    ("Merge", &["output", "value_index"]),
    ("RefMerge", &["output", "value_index"]),
    ("Unique", &["y", "idx"]),
    ("UniqueV2", &["y", "idx"]),
    ("UniqueWithCounts", &["y", "idx", "count"]),
    ("UniqueWithCountsV2", &["y", "idx", "count"]),
    ("TopK", &["values", "indices"]),
    ("TopKV2", &["values", "indices"]),
    ("NonMaxSuppressionV4", &["selected_indices", "valid_outputs"]),
    ("NonMaxSuppressionV5", &["selected_indices", "selected_scores", "valid_outputs"]),
    ("CombinedNonMaxSuppression", &["nmsed_boxes", "nmsed_scores", "nmsed_classes", "valid_detections"]),
    ("ListDiff", &["out", "idx"]),
    ("MaxPoolWithArgmax", &["output", "argmax"]),
    ("BroadcastGradientArgs", &["r0", "r1"]),
    ("Svd", &["s", "u", "v"]),
    ("Qr", &["q", "r"]),
    ("SelfAdjointEigV2", &["e", "v"]),
    ("LSTMBlockCell", &["i", "cs", "f", "o", "ci", "co", "h"]),
    ("BlockLSTM", &["i", "cs", "f", "o", "ci", "co", "h"]),
    ("BlockLSTMV2", &["i", "cs", "f", "o", "ci", "co", "h"]),
    ("GRUBlockCell", &["r", "u", "c", "h"]),
    ("QuantizeV2", &["output", "output_min", "output_max"]),
    ("SparseReshape", &["output_indices", "output_shape"]),
    ("LookupTableExportV2", &["keys", "values"]),
    ("TensorListPopBack", &["output_handle", "tensor"]),
    ("StringSplit", &["indices", "values", "shape"]),
    ("StringSplitV2", &["indices", "values", "shape"]),
    ("RaggedRange", &["rt_nested_splits", "rt_dense_values"]),
];

/// What is known of an op's output args.
pub(super) enum OutputArgs<'a> {
    /// Several args of one tensor each, in order.
    Several(Vec<&'a str>),
    /// One arg (possibly a list): `index` is the flat position.
    One,
}

/// The output args of `op`: a listed op's, a library function's (called by
/// name), or else one.
pub(super) fn output_args<'a>(op: &str, library: Option<&'a FunctionDefLibrary>) -> OutputArgs<'a> {
    if let Some((_, args)) = MULTI_OUTPUT_OPS.iter().find(|(name, _)| *name == op) {
        return OutputArgs::Several(args.to_vec());
    }
    let function =
        library.into_iter().flat_map(|l| &l.function).filter_map(|f| f.signature.as_ref()).find(|s| s.name == op);
    match function {
        Some(signature) => OutputArgs::Several(signature.output_arg.iter().map(|a| a.name.as_str()).collect()),
        None => OutputArgs::One,
    }
}

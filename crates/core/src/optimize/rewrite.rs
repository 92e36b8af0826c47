//! What the optimizer did, one [`Rewrite`] per change, for callers to inspect
//! and (through `Display`) for people to read.

use std::fmt;

use crate::tensor::format_shape;
use crate::training::ConstantValue;

/// One rewrite made to a graph. `Display` gives the line the CLI prints and
/// the Node binding returns, e.g. `fixed training flag is_training to false
/// (as asked)`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Rewrite {
    /// A training switch (`is_training`, `keep_prob`) became a scalar `Const`.
    FixedTrainingFlag {
        name: String,
        value: ConstantValue,
        /// `"as asked"`, or why it was taken for a switch.
        why: &'static str,
    },
    /// An input node that was not a `Placeholder` became one of `dtype`;
    /// what fed it was pruned.
    ReplacedInput { name: String, op: String, dtype: &'static str },
    /// An input placeholder's dtype changed on request.
    RetypedInput { name: String, from: &'static str, to: &'static str },
    /// An input placeholder's shape changed on request (`None`: unknown rank).
    ReshapedInput { name: String, from: Option<Vec<i64>>, to: Option<Vec<i64>> },
    /// A `Cast` reading a retyped input now casts from its new dtype.
    RecastFrom { node: String, dtype: &'static str },
    /// An unfed `PlaceholderWithDefault` became an `Identity` of its default.
    TookDefault { name: String },
    /// Nodes of one op removed: passthroughs (`Identity`, `CheckNumerics`, …)
    /// with their readers rewired, or control-only ops (`NoOp`, `Assert`).
    Removed { op: String, names: Vec<String> },
    /// Nodes of one op evaluated into constants.
    FoldedConstants { op: String, names: Vec<String> },
    /// `If`s with a constant predicate replaced by the branch they take.
    InlinedIf { names: Vec<String> },
    /// A v1 cond's `Switch` on a constant predicate: the `branch` taken kept,
    /// `removed` dead nodes of the other gone.
    ResolvedCond { switch: String, branch: bool, removed: usize },
    /// A batch norm folded into the weights (and bias) of conv/matmul `into`.
    FoldedBatchNorm { node: String, into: String },
    /// A batch norm with no conv to fold into became a `Mul` + `Add`.
    BatchNormToMulAdd { node: String, why: String },
    /// A per-channel `Mul` + `Add` ending in `node` folded into `into`.
    FoldedAffine { node: String, into: String },
    /// A batch norm written out in elementwise ops, ending in `node`, became
    /// one `FusedBatchNormV3`.
    FusedDecomposedBatchNorm { node: String },
    /// A zero `Pad` folded into convolution `node` as its SAME padding.
    FoldedPadding { node: String },
    /// A dropout whose mask keeps everything (`keep_prob` 1) became an
    /// `Identity` of what it drops from.
    RemovedDropout { node: String },
    /// Lookup-table initializers kept beside the outputs (added by
    /// [`crate::pipeline::convert`], which asked the optimizer to keep them).
    KeptTableInitializers { names: Vec<String> },
}

impl fmt::Display for Rewrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rewrite::FixedTrainingFlag { name, value, why } => {
                write!(f, "fixed training flag {name} to {value} ({why})")
            }
            Rewrite::ReplacedInput { name, op, dtype } => {
                write!(f, "replaced input {name} ({op}) by a {dtype} placeholder")
            }
            Rewrite::RetypedInput { name, from, to } => write!(f, "input {name}: dtype {from} → {to}"),
            Rewrite::ReshapedInput { name, from, to } => {
                let show =
                    |dims: &Option<Vec<i64>>| dims.as_deref().map_or_else(|| "unknown".to_string(), format_shape);
                write!(f, "input {name}: shape {} → {}", show(from), show(to))
            }
            Rewrite::RecastFrom { node, dtype } => write!(f, "{node} now casts from {dtype}"),
            Rewrite::FoldedPadding { node } => write!(f, "folded the Pad before {node} into its SAME padding"),
            Rewrite::RemovedDropout { node } => {
                write!(f, "removed dropout {node}, which keeps everything at keep_prob 1")
            }
            Rewrite::TookDefault { name } => write!(f, "{name} (PlaceholderWithDefault) now always takes its default"),
            Rewrite::Removed { op, names } => many(f, "removed", op, "", names),
            Rewrite::FoldedConstants { op, names } => many(f, "folded", op, " into constants", names),
            Rewrite::InlinedIf { names } => {
                many(f, "inlined the branch taken by", "If", " with a constant predicate", names)
            }
            Rewrite::ResolvedCond { switch, branch, removed } => write!(
                f,
                "resolved {switch} on a constant predicate: kept the {branch} branch, removed {removed} dead nodes"
            ),
            Rewrite::FoldedBatchNorm { node, into } => write!(f, "folded batch norm {node} into {into}"),
            Rewrite::BatchNormToMulAdd { node, why } => write!(f, "turned batch norm {node} into Mul + Add ({why})"),
            Rewrite::FoldedAffine { node, into } => {
                write!(f, "folded the per-channel Mul + Add ending in {node} into {into}")
            }
            Rewrite::FusedDecomposedBatchNorm { node } => {
                write!(f, "fused the decomposed batch norm ending in {node} into a FusedBatchNormV3")
            }
            Rewrite::KeptTableInitializers { names } => {
                let (initializers, them) =
                    if names.len() == 1 { ("initializer", "it") } else { ("initializers", "them") };
                write!(
                    f,
                    "kept {} lookup-table {initializers} ({}): TF.js runs {them} once at load",
                    names.len(),
                    names.join(", ")
                )
            }
        }
    }
}

/// One line for many nodes rewritten the same way: "removed 12 Identity
/// nodes (a, b, c, d, …)".
fn many(f: &mut fmt::Formatter<'_>, verb: &str, op: &str, rest: &str, names: &[String]) -> fmt::Result {
    let nodes = if names.len() == 1 { "node" } else { "nodes" };
    write!(f, "{verb} {} {op} {nodes}{rest} ({})", names.len(), shown(names))
}

/// The first four names, then "…" if there are more.
pub(crate) fn shown(names: &[String]) -> String {
    const SHOWN: usize = 4;
    let mut text = names.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        text.push_str(", …");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// The lines are what the CLI prints and the Node binding returns.
    #[test]
    fn every_rewrite_reads_as_before() {
        let cases = [
            (
                Rewrite::FixedTrainingFlag {
                    name: "keep_prob".into(),
                    value: ConstantValue::Float(0.5),
                    why: "as asked",
                },
                "fixed training flag keep_prob to 0.5 (as asked)",
            ),
            (
                Rewrite::ReplacedInput { name: "pre".into(), op: "Mul".into(), dtype: "float32" },
                "replaced input pre (Mul) by a float32 placeholder",
            ),
            (
                Rewrite::RetypedInput { name: "image".into(), from: "uint8", to: "float32" },
                "input image: dtype uint8 → float32",
            ),
            (
                Rewrite::ReshapedInput { name: "x".into(), from: None, to: Some(vec![-1, 3]) },
                "input x: shape unknown → [?, 3]",
            ),
            (Rewrite::RecastFrom { node: "cast".into(), dtype: "float32" }, "cast now casts from float32"),
            (
                Rewrite::TookDefault { name: "rate".into() },
                "rate (PlaceholderWithDefault) now always takes its default",
            ),
            (
                Rewrite::Removed { op: "Identity".into(), names: strings(&["a", "b", "c", "d", "e"]) },
                "removed 5 Identity nodes (a, b, c, d, …)",
            ),
            (
                Rewrite::FoldedConstants { op: "Shape".into(), names: strings(&["s"]) },
                "folded 1 Shape node into constants (s)",
            ),
            (
                Rewrite::InlinedIf { names: strings(&["cond", "cond_1"]) },
                "inlined the branch taken by 2 If nodes with a constant predicate (cond, cond_1)",
            ),
            (
                Rewrite::ResolvedCond { switch: "cond/Switch".into(), branch: false, removed: 3 },
                "resolved cond/Switch on a constant predicate: kept the false branch, removed 3 dead nodes",
            ),
            (Rewrite::FoldedBatchNorm { node: "bn".into(), into: "conv".into() }, "folded batch norm bn into conv"),
            (
                Rewrite::BatchNormToMulAdd { node: "bn".into(), why: "no conv feeds it".into() },
                "turned batch norm bn into Mul + Add (no conv feeds it)",
            ),
            (
                Rewrite::FoldedAffine { node: "add".into(), into: "conv".into() },
                "folded the per-channel Mul + Add ending in add into conv",
            ),
            (
                Rewrite::FusedDecomposedBatchNorm { node: "bn/add_1".into() },
                "fused the decomposed batch norm ending in bn/add_1 into a FusedBatchNormV3",
            ),
            (
                Rewrite::KeptTableInitializers { names: strings(&["init"]) },
                "kept 1 lookup-table initializer (init): TF.js runs it once at load",
            ),
            (
                Rewrite::KeptTableInitializers { names: strings(&["a", "b"]) },
                "kept 2 lookup-table initializers (a, b): TF.js runs them once at load",
            ),
        ];
        for (rewrite, line) in cases {
            assert_eq!(rewrite.to_string(), line);
        }
    }
}

//! Rewrites a graph needs before TensorFlow.js runs it, where TF.js's kernel
//! for an op means something else than TensorFlow's. Only TF.js output gets
//! them; a frozen `.pb` keeps TensorFlow's ops.

use std::collections::HashSet;
use std::fmt;

use bytes::Bytes;

use super::{tfjs_fuse, tfjs_lean, tfjs_loops};
use crate::graph::shapes::ShapeInference;
use crate::graph::{self, type_attr};
use crate::names;
use crate::opcheck;
use crate::optimize::rewrite::shown;
use crate::proto::{DataType, GraphDef, NodeDef};
use crate::tensor::{Tensor, TensorData};

/// One kind of rewrite made for TF.js, with the nodes it was made to.
/// `Display` gives the line shown with the optimizer's [`crate::optimize::Rewrite`]s.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TfjsRewrite {
    /// `Select`s with a vector condition now pick whole rows.
    SelectRows { nodes: Vec<String> },
    /// Table lookups with scalar values reshaped to their keys' shape.
    LookupReshapes { lookups: Vec<String> },
    /// Conv/matmul chains fused into one TF.js kernel (`op`), named as their last node.
    Fused { op: String, nodes: Vec<String> },
    /// Decomposed PReLUs (`Relu(x) + c·Relu(−x)`) now one `Prelu`.
    Prelus { nodes: Vec<String> },
    /// `Identity`s that only passed a tensor on, bypassed.
    Identities { nodes: Vec<String> },
    /// Chains of `Reshape`/`Squeeze`/`ExpandDims` now one `Reshape`, named as their last node.
    Reshapes { nodes: Vec<String> },
    /// Constants equal to an earlier one, whose readers now read that one.
    SharedConstants { nodes: Vec<String> },
    /// Functional while loops whose body fills a TensorList, now TF1 frames.
    LoweredLoops { nodes: Vec<String> },
    /// Pure ops that repeated an earlier one's computation, dropped for it.
    Duplicates { nodes: Vec<String> },
    /// Outputs that were an `Identity` of a node nothing else reads, now that node.
    OutputIdentities { nodes: Vec<String> },
    /// Convolutions of one tensor with the same attributes, each group now one `_FusedConv2D` and a `SplitV`.
    Siblings { groups: Vec<Vec<String>> },
    /// Global average pools folded into the dense layer they feed.
    GlobalMeans { nodes: Vec<String> },
}

impl fmt::Display for TfjsRewrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TfjsRewrite::SelectRows { nodes } => write!(
                f,
                "rewrote {} Select {} to pick whole rows in TF.js ({})",
                nodes.len(),
                plural(nodes.len(), "node", "nodes"),
                shown(nodes)
            ),
            TfjsRewrite::LookupReshapes { lookups } => write!(
                f,
                "reshaped {} table {} to the keys' shape (TF.js returns them flat) ({})",
                lookups.len(),
                plural(lookups.len(), "lookup", "lookups"),
                shown(lookups)
            ),
            TfjsRewrite::Fused { op, nodes } => {
                write!(f, "fused {} {} into {op} ({})", nodes.len(), chains(nodes.len()), shown(nodes))
            }
            TfjsRewrite::Prelus { nodes } => write!(
                f,
                "rewrote {} decomposed PReLU {} as Prelu ({})",
                nodes.len(),
                plural(nodes.len(), "pattern", "patterns"),
                shown(nodes)
            ),
            TfjsRewrite::Identities { nodes } => write!(
                f,
                "bypassed {} Identity {} for TF.js ({})",
                nodes.len(),
                plural(nodes.len(), "node", "nodes"),
                shown(nodes)
            ),
            TfjsRewrite::Reshapes { nodes } => {
                write!(
                    f,
                    "collapsed {} reshape {} into one Reshape each ({})",
                    nodes.len(),
                    chains(nodes.len()),
                    shown(nodes)
                )
            }
            TfjsRewrite::SharedConstants { nodes } => write!(
                f,
                "stored {} {} once, as the equal constant before {} ({})",
                nodes.len(),
                plural(nodes.len(), "constant", "constants"),
                plural(nodes.len(), "it", "them"),
                shown(nodes)
            ),
            TfjsRewrite::Duplicates { nodes } => write!(
                f,
                "computed {} {} once, reading the equal node before {} ({})",
                nodes.len(),
                plural(nodes.len(), "repeated node", "repeated nodes"),
                plural(nodes.len(), "it", "them"),
                shown(nodes)
            ),
            TfjsRewrite::Siblings { groups } => {
                let groups: Vec<String> = groups.iter().map(|g| g.join(" + ")).collect();
                write!(
                    f,
                    "merged {} {} of convolutions reading one tensor into one each ({})",
                    groups.len(),
                    plural(groups.len(), "group", "groups"),
                    shown(&groups)
                )
            }
            TfjsRewrite::GlobalMeans { nodes } => write!(
                f,
                "folded {} global average {} into the dense layer {} ({})",
                nodes.len(),
                plural(nodes.len(), "pool", "pools"),
                plural(nodes.len(), "it feeds", "they feed"),
                shown(nodes)
            ),
            TfjsRewrite::OutputIdentities { nodes } => write!(
                f,
                "named {} {} by {} Identity's output name, dropping the Identity ({})",
                nodes.len(),
                plural(nodes.len(), "node", "nodes"),
                plural(nodes.len(), "its", "their"),
                shown(nodes)
            ),
            TfjsRewrite::LoweredLoops { nodes } => write!(
                f,
                "lowered {} while {} that fill a TensorList to TF1 frames, which TF.js keeps the list's tensors in ({})",
                nodes.len(),
                plural(nodes.len(), "loop", "loops"),
                shown(nodes)
            ),
        }
    }
}

fn chains(count: usize) -> &'static str {
    if count == 1 {
        "chain"
    } else {
        "chains"
    }
}

/// `one` for a count of 1, else `many`.
fn plural(count: usize, one: &'static str, many: &'static str) -> &'static str {
    if count == 1 {
        one
    } else {
        many
    }
}

/// Applies every rewrite; returns one per kind of rewrite made, and warnings.
/// `protected` names the nodes that must keep their name and value: the
/// model's inputs, outputs and table initializers.
pub fn rewrite(graph: &mut GraphDef, protected: &HashSet<String>) -> (Vec<TfjsRewrite>, Vec<String>) {
    let (mut applied, mut warnings) = (Vec::new(), Vec::new());
    // A loop left functional is refused by the op check, with why.
    match tfjs_loops::lower_loops(graph, opcheck::loop_writes_tensor_list) {
        Ok(nodes) if !nodes.is_empty() => applied.push(TfjsRewrite::LoweredLoops { nodes }),
        Ok(_) => {}
        Err(error) => warnings.push(format!("could not lower a while loop to TF1 frames: {}", error.message)),
    }
    let (rows, unknown) = select_rows(graph);
    if !unknown.is_empty() {
        warnings.push(format!(
            "left {} Select {} whose condition and value ranks are unknown ({}): TF.js broadcasts the condition \
             against the last axis, TensorFlow picks rows when the condition is a vector",
            unknown.len(),
            plural(unknown.len(), "node", "nodes"),
            shown(&unknown)
        ));
    }
    if !rows.is_empty() {
        applied.push(TfjsRewrite::SelectRows { nodes: rows });
    }
    let lookups = lookup_shapes(graph);
    if !lookups.is_empty() {
        applied.push(TfjsRewrite::LookupReshapes { lookups });
    }
    // Before fusing, so the dense layer it leaves fuses with its bias.
    let means = tfjs_lean::fold_global_means(graph, protected);
    if !means.is_empty() {
        applied.push(TfjsRewrite::GlobalMeans { nodes: means });
    }
    let fused = tfjs_fuse::fuse(graph, protected);
    if !fused.prelus.is_empty() {
        applied.push(TfjsRewrite::Prelus { nodes: fused.prelus });
    }
    for (op, nodes) in fused.by_op {
        applied.push(TfjsRewrite::Fused { op: op.to_string(), nodes });
    }
    let siblings = tfjs_fuse::merge_sibling_convolutions(graph, protected);
    if !siblings.is_empty() {
        applied.push(TfjsRewrite::Siblings { groups: siblings });
    }
    let identities = tfjs_lean::bypass_identities(graph, protected);
    if !identities.is_empty() {
        applied.push(TfjsRewrite::Identities { nodes: identities });
    }
    let reshapes = tfjs_lean::collapse_reshapes(graph, protected);
    if !reshapes.is_empty() {
        applied.push(TfjsRewrite::Reshapes { nodes: reshapes });
    }
    let shared = tfjs_lean::share_equal_constants(graph, protected);
    if !shared.is_empty() {
        applied.push(TfjsRewrite::SharedConstants { nodes: shared });
    }
    let duplicates = tfjs_lean::merge_duplicates(graph, protected);
    if !duplicates.is_empty() {
        applied.push(TfjsRewrite::Duplicates { nodes: duplicates });
    }
    let outputs = tfjs_lean::name_outputs_by_their_identities(graph, protected);
    if !outputs.is_empty() {
        applied.push(TfjsRewrite::OutputIdentities { nodes: outputs });
    }
    tfjs_fuse::drop_unread_constants(graph, protected);
    (applied, warnings)
}

/// TF.js's `LookupTableFindV2` stacks one value per key into a vector, where
/// TensorFlow gives the keys' shape (`[3, 5]` token ids, not `[15]`). With
/// scalar values, reshaping to the keys' shape restores it. The find node
/// moves to `<name>/flat`; a `Reshape` takes its name.
fn lookup_shapes(graph: &mut GraphDef) -> Vec<String> {
    let finds: Vec<usize> = {
        let shapes = ShapeInference::new(graph);
        (0..graph.node.len())
            .filter(|&i| matches!(graph.node[i].op.as_str(), "LookupTableFindV2" | "LookupTableFind"))
            .filter(|&i| {
                let data: Vec<&String> = graph.node[i].input.iter().filter(|s| !names::is_control_input(s)).collect();
                let rank = |k: usize| data.get(k).and_then(|s| shapes.shape_of(s)).map(|s| s.len());
                rank(2) == Some(0) && rank(1) != Some(1)
            })
            .collect()
    };
    let mut added = Vec::new();
    let mut done = Vec::new();
    for i in finds {
        let find = &mut graph.node[i];
        let name = find.name.clone();
        let keys = find.input.iter().filter(|s| !names::is_control_input(s)).nth(1).cloned().unwrap_or_default();
        let key_type = graph::attr_type(find, "Tin").unwrap_or(DataType::DtString);
        let value_type = graph::attr_type(find, "Tout").unwrap_or(DataType::DtInt64);
        let (flat, shape) = (format!("{name}/flat"), format!("{name}/keys_shape"));
        find.name = flat.clone();
        added.push(op(&shape, "Shape", &[&keys], &[("T", key_type), ("out_type", DataType::DtInt32)]));
        added.push(op(&name, "Reshape", &[&flat, &shape], &[("T", value_type), ("Tshape", DataType::DtInt32)]));
        done.push(name);
    }
    graph.node.extend(added);
    done
}

/// TensorFlow's `Select` with a `[batch]` condition and `[batch, …]` values
/// picks whole rows (what `dynamic_rnn` does past each `sequence_length`);
/// TF.js runs every `Select` as a broadcasting `where`, which lines the
/// condition up with the last axis instead. Such a `Select` becomes a
/// `SelectV2` whose condition gets trailing axes of size 1. Returns the
/// rewritten nodes, and the `Select`s whose ranks are unknown (left as they
/// are, for a warning).
fn select_rows(graph: &mut GraphDef) -> (Vec<String>, Vec<String>) {
    let plans: Vec<(usize, i64)> = {
        let shapes = ShapeInference::new(graph);
        graph
            .node
            .iter()
            .enumerate()
            .filter(|(_, n)| n.op == "Select")
            .map(|(i, node)| {
                let data: Vec<&String> = node.input.iter().filter(|s| !names::is_control_input(s)).collect();
                let rank = |k: usize| data.get(k).and_then(|s| shapes.shape_of(s)).map(|s| s.len() as i64);
                let missing = match (rank(0), rank(1).or(rank(2))) {
                    (Some(c), Some(x)) => x - c,
                    _ => -1,
                };
                (i, missing)
            })
            .collect()
    };
    let mut taken: HashSet<String> = graph.node.iter().map(|n| n.name.clone()).collect();
    let (mut rewritten, mut unknown, mut added) = (Vec::new(), Vec::new(), Vec::new());
    for (i, missing) in plans {
        let node = &mut graph.node[i];
        if missing < 0 {
            unknown.push(node.name.clone());
            continue;
        }
        if missing == 0 {
            continue; // elementwise (or scalar condition): where() agrees
        }
        let mut name = |suffix: String| {
            let mut candidate = format!("{}/rows/{suffix}", node.name);
            while !taken.insert(candidate.clone()) {
                candidate.push('_');
            }
            candidate
        };
        let axis = name("axis".to_string());
        added.push(int_constant(&axis, &[], &[-1]));
        let position = node.input.iter().position(|s| !names::is_control_input(s)).unwrap_or(0);
        let mut cond = node.input[position].clone();
        for k in 0..missing {
            let expanded = name(format!("expand_{k}"));
            added.push(op(
                &expanded,
                "ExpandDims",
                &[&cond, &axis],
                &[("T", DataType::DtBool), ("Tdim", DataType::DtInt32)],
            ));
            cond = expanded;
        }
        node.input[position] = cond;
        node.op = "SelectV2".to_string();
        rewritten.push(node.name.clone());
    }
    graph.node.extend(added);
    (rewritten, unknown)
}

fn op(name: &str, op: &str, inputs: &[&str], types: &[(&str, DataType)]) -> NodeDef {
    let mut node = NodeDef {
        name: name.to_string(),
        op: op.to_string(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    for (attr, dtype) in types {
        node.attr.insert(attr.to_string(), type_attr(*dtype));
    }
    node
}

fn int_constant(name: &str, shape: &[i64], values: &[i32]) -> NodeDef {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let tensor = Tensor { dtype: DataType::DtInt32, shape: shape.to_vec(), data: TensorData::Raw(Bytes::from(bytes)) };
    crate::graph::constant(name, &tensor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_read_as_before() {
        let rows = TfjsRewrite::SelectRows { nodes: vec!["rnn/Select".into()] };
        assert_eq!(rows.to_string(), "rewrote 1 Select node to pick whole rows in TF.js (rnn/Select)");
        let lookups = TfjsRewrite::LookupReshapes { lookups: (0..5).map(|i| format!("find_{i}")).collect() };
        assert_eq!(
            lookups.to_string(),
            "reshaped 5 table lookups to the keys' shape (TF.js returns them flat) \
             (find_0, find_1, find_2, find_3, …)"
        );
    }
}

//! The graph's inputs: training flags fixed to constants, the chosen input
//! nodes turned into fresh placeholders (what `strip_unused` does), dtypes
//! and shapes fixed on request, and defaults taken where nobody feeds.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;

use super::{edit, Log, OptimizeOptions, Rewrite};
use crate::dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::{self, attr_type, index_by_name};
use crate::names;
use crate::proto::{attr_value, AttrValue, DataType, GraphDef, NodeDef, TensorShapeProto};
use crate::tensor::{format_shape, shape_dims, shape_proto, Tensor, TensorData};
use crate::training::{self, ConstantValue};

/// Fixes the placeholders a training script feeds to switch modes: those the
/// caller names (`is_training=false`, "name contains key"), then those
/// [`training::inference_constants`] finds (bool switches, dropout's
/// `keep_prob`). Each becomes a scalar `Const`; a node the caller names as an
/// input stays an input.
pub(crate) fn fix_training_flags(graph: &mut GraphDef, options: &OptimizeOptions, log: &mut Log) -> Result<()> {
    let found = training::inference_constants(graph);
    let mut used = vec![false; options.training_flags.len()];
    for node in graph.node.iter_mut() {
        if !matches!(node.op.as_str(), "Placeholder" | "PlaceholderWithDefault") {
            continue;
        }
        let asked = options.training_flags.iter().position(|(key, _)| node.name.contains(key.as_str()));
        let dtype = attr_type(node, "dtype").unwrap_or_default();
        let (value, why) = match asked {
            Some(k) if fits(dtype, options.training_flags[k].1) => {
                used[k] = true;
                (options.training_flags[k].1, "as asked")
            }
            _ => match found.iter().find(|c| c.name == node.name) {
                Some(constant) => (constant.value, constant.reason),
                None => continue,
            },
        };
        if options.input_names.contains(&node.name) {
            log.warn(format!("training flag {} is listed as an input, so it was not fixed", node.name));
            continue;
        }
        *node = scalar_constant(&node.name, dtype, value)?;
        log.applied(Rewrite::FixedTrainingFlag { name: node.name.clone(), value, why });
    }
    for ((key, value), used) in options.training_flags.iter().zip(used) {
        if !used {
            let kind = if matches!(value, ConstantValue::Bool(_)) { "bool" } else { "float or bool" };
            log.warn(format!("training flag \"{key}\" matches no {kind} placeholder"));
        }
    }
    Ok(())
}

/// A bool flag fits a bool placeholder; a number fits a float one, or a bool
/// one when it is 0 or 1.
fn fits(dtype: DataType, value: ConstantValue) -> bool {
    match value {
        ConstantValue::Bool(_) => dtype == DataType::DtBool,
        ConstantValue::Float(x) => {
            matches!(dtype, DataType::DtFloat | DataType::DtDouble | DataType::DtHalf)
                || (dtype == DataType::DtBool && (x == 0.0 || x == 1.0))
        }
    }
}

fn scalar_constant(name: &str, dtype: DataType, value: ConstantValue) -> Result<NodeDef> {
    let bytes = match (dtype, value) {
        (DataType::DtBool, ConstantValue::Bool(b)) => vec![b as u8],
        (DataType::DtBool, ConstantValue::Float(x)) => vec![(x != 0.0) as u8],
        (DataType::DtFloat, ConstantValue::Float(x)) => (x as f32).to_le_bytes().to_vec(),
        (DataType::DtDouble, ConstantValue::Float(x)) => x.to_le_bytes().to_vec(),
        (DataType::DtHalf, ConstantValue::Float(x)) => half::f16::from_f32(x as f32).to_le_bytes().to_vec(),
        _ => {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("cannot fix {} placeholder \"{name}\" to {value}", dtype::name(dtype)),
            )
            .about(name))
        }
    };
    let tensor = Tensor { dtype, shape: Vec::new(), data: TensorData::Raw(Bytes::from(bytes)) };
    Ok(graph::constant(name, &tensor))
}

/// The inputs asked for, else the graph's `Placeholder`s in graph order.
pub(crate) fn choose_inputs(graph: &GraphDef, options: &OptimizeOptions) -> Vec<String> {
    let mut inputs: Vec<String> = if options.input_names.is_empty() {
        graph.node.iter().filter(|n| n.op == "Placeholder").map(|n| n.name.clone()).collect()
    } else {
        options.input_names.clone()
    };
    let mut seen = HashSet::new();
    inputs.retain(|name| seen.insert(name.clone()));
    inputs
}

/// Replaces every input node by a fresh `Placeholder` of the same name with
/// only `dtype`, `shape` and `_output_shapes`; whatever fed it is left for
/// pruning. Applies the requested dtypes and shapes.
pub(crate) fn replace_inputs(
    graph: &mut GraphDef,
    inputs: &[String],
    options: &OptimizeOptions,
    log: &mut Log,
) -> Result<()> {
    let dtypes = requested_dtypes(inputs, &options.placeholder_type_enum)?;
    let shapes = requested_shapes(inputs, &options.placeholder_shapes)?;
    let index: HashMap<String, usize> = index_by_name(graph).into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    for (input, wanted_dtype) in inputs.iter().zip(dtypes) {
        let i = index[input.as_str()];
        let old = &graph.node[i];
        let old_dtype = dtype_of(old);
        let placeholder = new_placeholder(old, wanted_dtype.or(old_dtype), shapes.get(input.as_str()).copied())?;
        describe_replacement(old, &placeholder, log);
        let new_dtype = attr_type(&placeholder, "dtype");
        graph.node[i] = placeholder;
        if old_dtype.is_some() && old_dtype != new_dtype {
            retype_consumers(graph, input, new_dtype.unwrap_or_default(), log);
        }
    }
    Ok(())
}

fn requested_dtypes(inputs: &[String], requested: &[DataType]) -> Result<Vec<Option<DataType>>> {
    match requested.len() {
        0 => Ok(vec![None; inputs.len()]),
        1 => Ok(vec![Some(requested[0]); inputs.len()]),
        n if n == inputs.len() => Ok(requested.iter().copied().map(Some).collect()),
        n => Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("placeholder_type_enum gives {n} dtypes for {} inputs; give one, or one per input", inputs.len()),
        )),
    }
}

fn requested_shapes<'a>(inputs: &[String], requested: &'a [(String, Vec<i64>)]) -> Result<HashMap<&'a str, &'a [i64]>> {
    let mut shapes = HashMap::new();
    for (name, shape) in requested {
        if !inputs.contains(name) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("placeholder shape given for \"{name}\", which is not an input"),
            )
            .about(name)
            .suggest(names::closest(name, inputs.iter().map(String::as_str))));
        }
        if shape.iter().any(|&d| d < -1) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("shape {shape:?} for \"{name}\" has a dim below -1"),
            )
            .about(name));
        }
        shapes.insert(name.as_str(), shape.as_slice());
    }
    Ok(shapes)
}

/// What an input node produces: the attrs ops commonly carry it in, else what
/// the op is known to produce (`DecodeJpeg`'s uint8, `PyFunc`'s `Tout`).
fn dtype_of(node: &NodeDef) -> Option<DataType> {
    ["dtype", "T", "DstT", "out_type"]
        .iter()
        .find_map(|attr| attr_type(node, attr))
        .or_else(|| Some(crate::graph::shapes::output_dtype(node)).filter(|&d| d != DataType::DtInvalid))
        .map(dtype::base)
}

/// With `input_names` given, a placeholder the outputs still need but that
/// is not among them would be left unfed: refuse, naming it.
pub(crate) fn check_nothing_unfed(graph: &GraphDef, inputs: &[String], options: &OptimizeOptions) -> Result<()> {
    if options.input_names.is_empty() {
        return Ok(());
    }
    let unfed: Vec<String> = graph
        .node
        .iter()
        .filter(|n| n.op == "Placeholder" && !inputs.contains(&n.name))
        .map(|n| n.name.clone())
        .collect();
    let Some(first) = unfed.first() else { return Ok(()) };
    Err(Error::new(
        ErrorKind::InvalidArgument,
        format!(
            "the outputs still need placeholder{} {} besides input_names ({}); add {} to input_names, or fix {} with \
             placeholder_to_const_names",
            if unfed.len() == 1 { "" } else { "s" },
            crate::error::quoted_list(&unfed),
            inputs.join(", "),
            if unfed.len() == 1 { "it" } else { "them" },
            if unfed.len() == 1 { "it" } else { "them" },
        ),
    )
    .about(first))
}

/// The node's static shape: its `shape` attr, else its first `_output_shapes`.
fn shape_of(node: &NodeDef) -> Option<TensorShapeProto> {
    match graph::attr(node, "shape") {
        Some(attr_value::Value::Shape(shape)) => Some(shape.clone()),
        _ => match graph::attr(node, "_output_shapes") {
            Some(attr_value::Value::List(list)) => list.shape.first().cloned(),
            _ => None,
        },
    }
}

fn new_placeholder(old: &NodeDef, dtype: Option<DataType>, wanted_shape: Option<&[i64]>) -> Result<NodeDef> {
    let dtype = dtype.ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("cannot tell the dtype of input \"{}\" ({}); give placeholder_type_enum", old.name, old.op),
        )
        .about(&old.name)
    })?;
    let old_shape = shape_of(old);
    let shape = match wanted_shape {
        Some(wanted) => {
            check_shape_fits(&old.name, old_shape.as_ref().and_then(shape_dims), wanted)?;
            Some(shape_proto(wanted))
        }
        None => old_shape,
    };
    let mut node = NodeDef { name: old.name.clone(), op: "Placeholder".to_string(), ..Default::default() };
    node.attr.insert("dtype".to_string(), graph::type_attr(dtype));
    if let Some(shape) = shape {
        if old.attr.contains_key("_output_shapes") {
            let list = attr_value::ListValue { shape: vec![shape.clone()], ..Default::default() };
            node.attr.insert("_output_shapes".to_string(), AttrValue { value: Some(attr_value::Value::List(list)) });
        }
        node.attr.insert("shape".to_string(), AttrValue { value: Some(attr_value::Value::Shape(shape)) });
    }
    Ok(node)
}

/// A fixed shape may make unknown dims known, never contradict known ones.
fn check_shape_fits(name: &str, old: Option<Vec<i64>>, wanted: &[i64]) -> Result<()> {
    let Some(old) = old else { return Ok(()) };
    let fits = old.len() == wanted.len() && old.iter().zip(wanted).all(|(&o, &w)| o < 0 || w < 0 || o == w);
    if fits {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::ShapeMismatch,
        format!("input \"{name}\" has shape {}, which cannot become {}", format_shape(&old), format_shape(wanted)),
    )
    .about(name))
}

fn describe_replacement(old: &NodeDef, new: &NodeDef, log: &mut Log) {
    let name = &new.name;
    let new_dtype = attr_type(new, "dtype").map(dtype::name).unwrap_or("?");
    if old.op != "Placeholder" {
        log.applied(Rewrite::ReplacedInput { name: name.clone(), op: old.op.clone(), dtype: new_dtype });
        return;
    }
    let old_dtype = attr_type(old, "dtype").map(dtype::name).unwrap_or("?");
    if old_dtype != new_dtype {
        log.applied(Rewrite::RetypedInput { name: name.clone(), from: old_dtype, to: new_dtype });
    }
    let dims = |n: &NodeDef| shape_of(n).and_then(|s| shape_dims(&s));
    let (from, to) = (dims(old), dims(new));
    // Compared as shown: every negative dim is an unknown one.
    if from.as_deref().map(format_shape) != to.as_deref().map(format_shape) {
        log.applied(Rewrite::ReshapedInput { name: name.clone(), from, to });
    }
}

/// After an input's dtype changed, a `Cast` reading it now casts from the
/// new dtype; other typed readers are reported, since they will not accept it.
fn retype_consumers(graph: &mut GraphDef, input: &str, dtype: DataType, log: &mut Log) {
    for node in graph.node.iter_mut() {
        if !edit::data_inputs(node).any(|i| names::node_of(i) == input) {
            continue;
        }
        if node.op == "Cast" {
            node.attr.insert("SrcT".to_string(), graph::type_attr(dtype));
            log.applied(Rewrite::RecastFrom { node: node.name.clone(), dtype: dtype::name(dtype) });
        } else if attr_type(node, "T").is_some_and(|t| t != dtype) {
            log.warn(format!(
                "{} ({}) expects {} from input {input}, which is now {}",
                node.name,
                node.op,
                attr_type(node, "T").map(dtype::name).unwrap_or("?"),
                dtype::name(dtype)
            ));
        }
    }
}

/// A `PlaceholderWithDefault` nobody feeds always yields its default: it
/// becomes an `Identity` of it, so switches on it can resolve.
pub(crate) fn resolve_defaults(graph: &mut GraphDef, inputs: &[String], log: &mut Log) {
    for node in graph.node.iter_mut() {
        if node.op != "PlaceholderWithDefault" || inputs.contains(&node.name) {
            continue;
        }
        let dtype = attr_type(node, "dtype").unwrap_or(DataType::DtFloat);
        node.op = "Identity".to_string();
        node.attr.clear();
        node.attr.insert("T".to_string(), graph::type_attr(dtype));
        log.applied(Rewrite::TookDefault { name: node.name.clone() });
    }
}

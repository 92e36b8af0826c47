//! Node.js binding of tfmodel-core: converts arguments, runs each call as an
//! async task on libuv's worker pool, and turns core errors into JS `Error`s
//! whose `code` is the core's stable error code.

use std::path::{Path, PathBuf};

use napi::bindgen_prelude::JsObjectValue;
use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::{Env, JsValue, Status, Task};
use napi_derive::napi;
use tfmodel_core::checkpoint::Checkpoint;
use tfmodel_core::freeze::FreezeOptions;
use tfmodel_core::pipeline::{self, ModelFiles};
use tfmodel_core::tensor::{Tensor, TensorData};
use tfmodel_core::{dtype, source, Error};

type CoreResult<T> = std::result::Result<T, Error>;

/// Runs `work` off the JS thread; `convert` builds the JS value on it.
pub struct Job<T: Send + 'static, J> {
    work: Option<Box<dyn FnOnce() -> CoreResult<T> + Send>>,
    convert: fn(T) -> J,
}

impl<T: Send + 'static, J: napi::bindgen_prelude::ToNapiValue + napi::bindgen_prelude::TypeName> Task for Job<T, J> {
    type Output = CoreResult<T>;
    type JsValue = J;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let work = self.work.take().ok_or_else(|| napi::Error::from_reason("task ran twice"))?;
        // A panic must not cross the FFI boundary: report it as an error instead.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
            .map_err(|_| napi::Error::new(Status::GenericFailure, "internal error (panic) in tfmodel-core"))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<J> {
        match output {
            Ok(value) => Ok((self.convert)(value)),
            Err(error) => Err(js_error(&env, &error)),
        }
    }
}

fn job<T: Send + 'static, J>(
    work: impl FnOnce() -> CoreResult<T> + Send + 'static,
    convert: fn(T) -> J,
) -> AsyncTask<Job<T, J>>
where
    J: napi::bindgen_prelude::ToNapiValue + napi::bindgen_prelude::TypeName,
{
    AsyncTask::new(Job { work: Some(Box::new(work)), convert })
}

/// A JS `Error` carrying `code`, `file`, `subject` and `suggestions`.
fn js_error(env: &Env, error: &Error) -> napi::Error {
    let build = || -> napi::Result<napi::Error> {
        let mut object = env.create_error(napi::Error::new(Status::GenericFailure, error.to_string()))?;
        object.set_named_property("code", error.code())?;
        if let Some(file) = &error.file {
            object.set_named_property("file", file.to_string_lossy().as_ref())?;
        }
        if let Some(subject) = &error.subject {
            object.set_named_property("subject", subject.as_str())?;
        }
        object.set_named_property("suggestions", error.suggestions.clone())?;
        Ok(napi::Error::from(object.to_unknown()))
    };
    build().unwrap_or_else(|e| e)
}

fn path_string(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

// ---- inspect ---------------------------------------------------------------

#[napi(object)]
pub struct TensorEntry {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<i64>,
    /// Bytes stored in the checkpoint.
    pub bytes: i64,
    pub partitioned: bool,
}

#[napi(object)]
pub struct CheckpointInfo {
    /// The resolved checkpoint prefix.
    pub prefix: String,
    /// The `.index` and every data shard.
    pub files: Vec<String>,
    pub tensors: Vec<TensorEntry>,
}

/// Lists a checkpoint's tensors, like TensorFlow's `inspect_checkpoint`.
/// `source`: a prefix, one of its files, or a training directory.
#[napi(ts_return_type = "Promise<CheckpointInfo>")]
pub fn inspect(source: String) -> AsyncTask<Job<CheckpointInfo, CheckpointInfo>> {
    job(
        move || {
            let checkpoint = open_checkpoint(&source)?;
            let mut files = vec![path_string(&checkpoint.index_path())];
            files.extend(checkpoint.data_paths().iter().map(|p| path_string(p)));
            let tensors = checkpoint
                .tensors()
                .map(|t| TensorEntry {
                    name: t.name.clone(),
                    dtype: dtype::name(t.dtype).to_string(),
                    shape: t.shape.clone(),
                    bytes: t.size as i64,
                    partitioned: t.partitioned,
                })
                .collect();
            Ok(CheckpointInfo { prefix: path_string(checkpoint.prefix()), files, tensors })
        },
        |info| info,
    )
}

fn open_checkpoint(source: &str) -> CoreResult<Checkpoint> {
    let (prefix, _) = source::resolve_checkpoint(Path::new(source))?;
    Checkpoint::open(prefix)
}

#[napi(object)]
pub struct TensorValue {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<i64>,
    /// Little-endian element bytes (numeric dtypes).
    pub data: Option<Buffer>,
    /// One buffer per element (string dtype).
    pub strings: Option<Vec<Buffer>>,
}

/// Reads one tensor's value (`inspect_checkpoint --tensor_name`).
#[napi(ts_return_type = "Promise<TensorValue>")]
pub fn read_tensor(source: String, name: String) -> AsyncTask<Job<(String, Tensor), TensorValue>> {
    job(
        move || {
            let tensor = open_checkpoint(&source)?.read(&name)?;
            Ok((name, tensor))
        },
        |(name, tensor)| {
            let (data, strings) = match tensor.data {
                TensorData::Raw(bytes) => (Some(Buffer::from(bytes.to_vec())), None),
                TensorData::Strings(items) => (None, Some(items.iter().map(|s| Buffer::from(s.to_vec())).collect())),
            };
            TensorValue { name, dtype: dtype::name(tensor.dtype).to_string(), shape: tensor.shape, data, strings }
        },
    )
}

// ---- freeze ----------------------------------------------------------------

/// `freeze_graph`'s flags. Unset fields take TensorFlow's defaults.
#[napi(object)]
pub struct FreezeRequest {
    /// A checkpoint prefix, training directory or graph file, as an import names it.
    pub source: Option<String>,
    pub input_graph: Option<String>,
    pub input_binary: Option<bool>,
    pub input_checkpoint: Option<String>,
    pub input_meta_graph: Option<String>,
    /// Where to write the frozen GraphDef; without it the bytes are returned.
    pub output_graph: Option<String>,
    /// Write text format instead of binary.
    pub output_as_text: Option<bool>,
    pub output_node_names: Option<Vec<String>>,
    pub clear_devices: Option<bool>,
    pub variable_names_whitelist: Option<Vec<String>>,
    pub variable_names_blacklist: Option<Vec<String>>,
}

#[napi(object)]
pub struct FrozenVariableEntry {
    pub node: String,
    pub checkpoint_key: String,
    pub dtype: String,
    pub shape: Vec<i64>,
}

#[napi(object)]
pub struct FreezeResult {
    pub output_node_names: Vec<String>,
    pub input_names: Vec<String>,
    pub node_count: u32,
    pub variables: Vec<FrozenVariableEntry>,
    /// The path written, when `outputGraph` was given.
    pub output_graph: Option<String>,
    pub bytes: i64,
    /// The binary GraphDef, when no `outputGraph` was given.
    pub graph: Option<Buffer>,
}

pub struct Frozen {
    frozen: tfmodel_core::freeze::FrozenGraph,
    output: Option<PathBuf>,
    bytes: u64,
    encoded: Option<Vec<u8>>,
}

/// Freezes a graph with its checkpoint, like TensorFlow's `freeze_graph`.
#[napi(ts_return_type = "Promise<FreezeResult>")]
pub fn freeze(request: FreezeRequest) -> AsyncTask<Job<Frozen, FreezeResult>> {
    job(move || run_freeze(request), freeze_result)
}

fn run_freeze(request: FreezeRequest) -> CoreResult<Frozen> {
    let path = |s: &Option<String>| s.as_ref().map(PathBuf::from);
    let mut files = match &request.source {
        Some(source) => ModelFiles::from_source(Path::new(source), request.input_graph.as_deref().map(Path::new))?,
        None => ModelFiles::default(),
    };
    if request.source.is_none() {
        files.input_graph = path(&request.input_graph);
    }
    files.input_binary = request.input_binary.or(files.input_binary);
    files.input_checkpoint = path(&request.input_checkpoint).or(files.input_checkpoint);
    files.input_meta_graph = path(&request.input_meta_graph).or(files.input_meta_graph);
    let defaults = FreezeOptions::default();
    let options = FreezeOptions {
        output_node_names: request.output_node_names.unwrap_or_default(),
        clear_devices: request.clear_devices.unwrap_or(defaults.clear_devices),
        variable_names_whitelist: request.variable_names_whitelist,
        variable_names_blacklist: request.variable_names_blacklist.unwrap_or_default(),
    };
    match path(&request.output_graph) {
        Some(output) => {
            let as_text = request.output_as_text.unwrap_or(false);
            let (frozen, bytes) = pipeline::freeze_to_file(&files, &options, &output, as_text)?;
            Ok(Frozen { frozen, output: Some(output), bytes, encoded: None })
        }
        None => {
            let frozen = pipeline::freeze(&files, &options)?;
            let encoded = tfmodel_core::emit::encode_graph_def(&frozen.graph);
            Ok(Frozen { frozen, output: None, bytes: encoded.len() as u64, encoded: Some(encoded) })
        }
    }
}

fn freeze_result(result: Frozen) -> FreezeResult {
    let Frozen { frozen, output, bytes, encoded } = result;
    FreezeResult {
        output_node_names: frozen.outputs,
        input_names: frozen.inputs,
        node_count: frozen.graph.node.len() as u32,
        variables: frozen
            .variables
            .into_iter()
            .map(|v| FrozenVariableEntry {
                node: v.node,
                checkpoint_key: v.checkpoint_key,
                dtype: dtype::name(v.dtype).to_string(),
                shape: v.shape,
            })
            .collect(),
        output_graph: output.as_deref().map(path_string),
        bytes: bytes as i64,
        graph: encoded.map(Buffer::from),
    }
}

/// Every error code the core can return, for documentation and tests.
#[napi]
pub fn error_codes() -> Vec<String> {
    tfmodel_core::ErrorKind::ALL.iter().map(|k| k.code().to_string()).collect()
}

/// The core's version; part of cache keys.
#[napi]
pub fn core_version() -> String {
    tfmodel_core::VERSION.to_string()
}

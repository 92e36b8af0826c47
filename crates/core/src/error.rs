//! One error type for the whole core: a stable machine-readable kind, a human
//! message, and the file and tensor/node it concerns.

use std::fmt;
use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong. [`ErrorKind::code`] is the stable string JavaScript sees as
/// `error.code`; never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A file (or checkpoint prefix, or directory) does not exist.
    FileNotFound,
    /// The operating system refused a read or write.
    Io,
    /// A `.index` file is empty or shorter than its own structure says.
    IndexTruncated,
    /// A `.index` file has a wrong magic number or malformed blocks or entries.
    IndexCorrupt,
    /// Stored and computed CRC32C differ (an index block or a tensor's bytes).
    CrcMismatch,
    /// A `.data-NNNNN-of-NNNNN` file the index needs does not exist.
    ShardMissing,
    /// A data file is shorter than the tensors stored in it.
    ShardTruncated,
    /// A valid file in a format or version this tool does not read (V1 checkpoints, ...).
    UnsupportedFormat,
    /// A graph file holds no nodes.
    GraphEmpty,
    /// A graph or meta graph file does not parse.
    GraphInvalid,
    /// A binary GraphDef would pass protobuf's 2 GB limit.
    GraphTooLarge,
    /// A tensor name that the checkpoint does not hold.
    TensorNotFound,
    /// A node name that the graph does not hold.
    UnknownNode,
    /// A variable the outputs need is not in the checkpoint.
    VariableMissing,
    /// A variable's shape in the graph differs from the checkpoint's.
    ShapeMismatch,
    /// A variable's dtype in the graph differs from the checkpoint's.
    DtypeMismatch,
    /// A dtype this operation cannot handle.
    UnsupportedDtype,
    /// An op this operation cannot handle.
    UnsupportedOp,
    /// A training directory (or its `checkpoint` state file) names no usable checkpoint.
    CheckpointNotFound,
    /// No output nodes were given and none could be inferred.
    NoOutputs,
    /// A SavedModel has no signature of the name asked for.
    UnknownSignature,
    /// A request that makes no sense (bad flag value, conflicting options).
    InvalidArgument,
    /// A bug: the core panicked. The message carries the panic's.
    Internal,
}

impl ErrorKind {
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::FileNotFound => "FILE_NOT_FOUND",
            ErrorKind::Io => "IO_ERROR",
            ErrorKind::IndexTruncated => "INDEX_TRUNCATED",
            ErrorKind::IndexCorrupt => "INDEX_CORRUPT",
            ErrorKind::CrcMismatch => "CRC_MISMATCH",
            ErrorKind::ShardMissing => "SHARD_MISSING",
            ErrorKind::ShardTruncated => "SHARD_TRUNCATED",
            ErrorKind::UnsupportedFormat => "UNSUPPORTED_FORMAT",
            ErrorKind::GraphEmpty => "GRAPH_EMPTY",
            ErrorKind::GraphInvalid => "GRAPH_INVALID",
            ErrorKind::GraphTooLarge => "GRAPH_TOO_LARGE",
            ErrorKind::TensorNotFound => "TENSOR_NOT_FOUND",
            ErrorKind::UnknownNode => "UNKNOWN_NODE",
            ErrorKind::VariableMissing => "VARIABLE_MISSING",
            ErrorKind::ShapeMismatch => "SHAPE_MISMATCH",
            ErrorKind::DtypeMismatch => "DTYPE_MISMATCH",
            ErrorKind::UnsupportedDtype => "UNSUPPORTED_DTYPE",
            ErrorKind::UnsupportedOp => "UNSUPPORTED_OP",
            ErrorKind::CheckpointNotFound => "CHECKPOINT_NOT_FOUND",
            ErrorKind::NoOutputs => "NO_OUTPUTS",
            ErrorKind::UnknownSignature => "UNKNOWN_SIGNATURE",
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::Internal => "INTERNAL_ERROR",
        }
    }

    /// Every kind, for documentation and exhaustive tests.
    pub const ALL: [ErrorKind; 23] = [
        ErrorKind::FileNotFound,
        ErrorKind::Io,
        ErrorKind::IndexTruncated,
        ErrorKind::IndexCorrupt,
        ErrorKind::CrcMismatch,
        ErrorKind::ShardMissing,
        ErrorKind::ShardTruncated,
        ErrorKind::UnsupportedFormat,
        ErrorKind::GraphEmpty,
        ErrorKind::GraphInvalid,
        ErrorKind::GraphTooLarge,
        ErrorKind::TensorNotFound,
        ErrorKind::UnknownNode,
        ErrorKind::VariableMissing,
        ErrorKind::ShapeMismatch,
        ErrorKind::DtypeMismatch,
        ErrorKind::UnsupportedDtype,
        ErrorKind::UnsupportedOp,
        ErrorKind::CheckpointNotFound,
        ErrorKind::NoOutputs,
        ErrorKind::UnknownSignature,
        ErrorKind::InvalidArgument,
        ErrorKind::Internal,
    ];
}

#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// The file the problem was found in.
    pub file: Option<PathBuf>,
    /// The tensor, node or variable the problem concerns.
    pub subject: Option<String>,
    /// The closest valid names, when a name was not found.
    pub suggestions: Vec<String>,
    /// When inferred outputs failed: the outputs to name instead, likeliest
    /// first (boxed: errors travel in every `Result` and stay small).
    pub outputs_to_name: Box<[String]>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            file: None,
            subject: None,
            suggestions: Vec::new(),
            outputs_to_name: Box::default(),
        }
    }

    pub fn in_file(mut self, file: impl AsRef<Path>) -> Self {
        self.file = Some(file.as_ref().to_path_buf());
        self
    }

    /// Sets the file unless one is already known (an inner error names it better).
    pub fn or_file(mut self, file: impl AsRef<Path>) -> Self {
        if self.file.is_none() {
            self.file = Some(file.as_ref().to_path_buf());
        }
        self
    }

    pub fn about(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Puts what the problem is about in front of the message (`Const "w": ...`).
    pub fn prefixed(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    pub fn suggest(mut self, suggestions: Vec<String>) -> Self {
        self.suggestions = suggestions;
        self
    }

    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// An [`ErrorKind::Internal`] from what `std::panic::catch_unwind` caught,
    /// keeping the panic's message.
    pub fn from_panic(payload: &(dyn std::any::Any + Send)) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("no message");
        Error::new(ErrorKind::Internal, format!("internal error in tfmodel-core (a bug; please report it): {message}"))
    }

    /// Maps an I/O error on `path`, keeping "not found" distinct.
    pub fn io(err: std::io::Error, path: impl AsRef<Path>) -> Self {
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::FileNotFound,
            _ => ErrorKind::Io,
        };
        let message = match kind {
            ErrorKind::FileNotFound => "file not found".to_string(),
            _ => err.to_string(),
        };
        Error::new(kind, message).in_file(path)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        f.write_str(&self.message)?;
        if !self.suggestions.is_empty() {
            write!(f, " (did you mean {}?)", quoted_list(&self.suggestions))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// `"a", "b" or "c"`, for messages.
pub fn quoted_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once() {
        let codes: std::collections::HashSet<&str> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
        assert!(codes.contains("INTERNAL_ERROR"));
    }

    #[test]
    fn a_caught_panic_keeps_its_message() {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let text = std::panic::catch_unwind(|| panic!("index {} out of range", 7)).unwrap_err();
        let literal = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
        std::panic::set_hook(hook);
        let error = Error::from_panic(text.as_ref());
        assert_eq!(error.code(), "INTERNAL_ERROR");
        assert!(error.message.ends_with("index 7 out of range"), "{}", error.message);
        assert!(Error::from_panic(literal.as_ref()).message.ends_with("boom"));
    }
}

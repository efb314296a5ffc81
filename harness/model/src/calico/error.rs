//! The one error type of the Calico module: where a manifest is wrong (file, line and
//! column when known), or what about the cluster cannot be rendered.

use std::path::PathBuf;

/// What went wrong loading Calico resources or rendering a node's configuration.
#[derive(Debug, thiserror::Error)]
pub enum CalicoError {
    /// A problem at a place in a manifest.
    #[error("{}:{line}:{column}: {message}", file.display())]
    At {
        file: PathBuf,
        line: u64,
        column: u64,
        message: String,
    },
    /// A problem with a manifest as a whole.
    #[error("{}: {message}", file.display())]
    InFile { file: PathBuf, message: String },
    /// A manifest that could not be read.
    #[error(transparent)]
    Read(#[from] crate::input::InputError),
    /// A resource, or the combination of them, that confd could not render.
    #[error("{0}")]
    Invalid(String),
    /// Any of the above, in the context of what was being done (printed `context: cause`).
    #[error("{context}: {cause}")]
    Context {
        context: String,
        cause: Box<CalicoError>,
    },
}

impl From<String> for CalicoError {
    fn from(message: String) -> Self {
        CalicoError::Invalid(message)
    }
}

impl From<ipnet::AddrParseError> for CalicoError {
    fn from(e: ipnet::AddrParseError) -> Self {
        CalicoError::Invalid(e.to_string())
    }
}

impl From<super::SelectorError> for CalicoError {
    fn from(e: super::SelectorError) -> Self {
        CalicoError::Invalid(e.to_string())
    }
}

/// The Calico module's results.
pub type Result<T, E = CalicoError> = std::result::Result<T, E>;

/// Adds what was being done to an error, or turns a `None` into one.
pub trait Context<T> {
    fn context(self, context: impl Into<String>) -> Result<T>;
    fn with_context<C: Into<String>>(self, context: impl FnOnce() -> C) -> Result<T>;
}

impl<T, E: Into<CalicoError>> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|e| CalicoError::Context {
            context: context.into(),
            cause: Box::new(e.into()),
        })
    }

    fn with_context<C: Into<String>>(self, context: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|e| CalicoError::Context {
            context: context().into(),
            cause: Box::new(e.into()),
        })
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.ok_or_else(|| CalicoError::Invalid(context.into()))
    }

    fn with_context<C: Into<String>>(self, context: impl FnOnce() -> C) -> Result<T> {
        self.ok_or_else(|| CalicoError::Invalid(context().into()))
    }
}

/// Returns early with a [`CalicoError::Invalid`] made like `format!`.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::calico::CalicoError::Invalid(format!($($arg)*)))
    };
}
pub(crate) use bail;

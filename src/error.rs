//! The one error type of the crate and the exit codes it maps to.

use std::fmt;

/// Why the run failed; each kind has its own documented exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// A run-time failure: cluster unreachable, nothing readable, push failed, output not writable.
    Failure,
    /// Bad flags or arguments.
    Usage,
    /// The config could not be read or is invalid.
    Config,
    /// An input file could not be read or holds no Kubernetes objects.
    Input,
    /// Some resources could not be read; the rest was produced.
    Partial,
}

impl ExitKind {
    /// The process exit code. Keep in sync with the README and `--help`.
    pub fn code(self) -> i32 {
        match self {
            ExitKind::Failure => 1,
            ExitKind::Usage => 2,
            ExitKind::Config => 3,
            ExitKind::Input => 4,
            ExitKind::Partial => 5,
        }
    }
}

/// An error with a one-line message meant for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ExitKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ExitKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub fn failure(message: impl Into<String>) -> Self {
        Error::new(ExitKind::Failure, message)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::new(ExitKind::Usage, message)
    }

    pub fn input(message: impl Into<String>) -> Self {
        Error::new(ExitKind::Input, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

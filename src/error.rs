//! The one error type of the crate and the exit codes it maps to.

use std::fmt;
use std::sync::Arc;

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

/// An error with a one-line message meant for the user, and the cause it
/// came from, if any: `-v` shows the chain under the message.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ExitKind,
    pub message: String,
    cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    pub fn new(kind: ExitKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            cause: None,
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

    /// Keeps what caused this error; the message already says what matters.
    pub fn caused_by(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.cause = Some(Arc::new(cause));
        self
    }

    /// The causes, outermost first, as their own messages: what `-v` prints.
    /// A cause the message already says in full is not said again.
    pub fn causes(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut next = std::error::Error::source(self);
        while let Some(e) = next {
            let text = e.to_string();
            if !self.message.contains(&text) {
                out.push(text);
            }
            next = e.source();
        }
        out
    }
}

/// Two errors are the same when they say the same; causes are detail.
impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for Error {}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_kept_in_order_and_do_not_change_the_message() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let e =
            Error::failure("cannot read x").caused_by(Outer(std::io::Error::other("disk on fire")));
        assert_eq!(e.to_string(), "cannot read x");
        assert_eq!(e.causes(), ["outer", "disk on fire"]);
        let said =
            Error::failure("cannot read x: outer").caused_by(Outer(std::io::Error::other("y")));
        assert_eq!(said.causes(), ["y"]);
        assert_eq!(e, Error::failure("cannot read x"));
        assert!(Error::usage("x").causes().is_empty());
    }
}

//! Messages on stderr, in kubectl's wording: `error: …`, `warning: …`.
//! Standard output carries only the requested output.

use std::io::{IsTerminal, Write};

use crate::shared::text::visible;

/// What the user asked to see on stderr.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ui {
    /// `-q`: errors only.
    pub quiet: bool,
    /// `-v` count.
    pub verbose: u8,
    /// stderr is a terminal (progress lines are shown only there).
    pub stderr_tty: bool,
}

impl Ui {
    pub fn new(quiet: bool, verbose: u8) -> Ui {
        Ui {
            quiet,
            verbose,
            stderr_tty: std::io::stderr().is_terminal(),
        }
    }

    /// Something the user should know about; hidden by `-q`.
    pub fn warn(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            line("warning: ", msg.as_ref());
        }
    }

    /// A summary line; hidden by `-q`.
    pub fn info(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            line("", msg.as_ref());
        }
    }

    /// Shown with `-v` (and not with `-q`).
    pub fn detail(&self, msg: impl AsRef<str>) {
        if !self.quiet && self.verbose > 0 {
            line("", msg.as_ref());
        }
    }

    /// Whether a progress line may be drawn.
    pub fn progress_enabled(&self) -> bool {
        self.stderr_tty && !self.quiet
    }

    /// Redraws the one progress line (terminal only).
    pub fn progress(&self, msg: impl AsRef<str>) {
        if self.progress_enabled() {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r\x1b[2K{}", visible(msg.as_ref()));
            let _ = e.flush();
        }
    }

    /// Clears the progress line.
    pub fn progress_done(&self) {
        if self.progress_enabled() {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r\x1b[2K");
            let _ = e.flush();
        }
    }
}

/// Writes one message line to stderr, control characters made visible.
/// A stderr that cannot be written (closed, `/dev/full`) is no reason to fail
/// a run whose real output already went out, and `eprintln!` would panic.
pub fn line(prefix: &str, msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{prefix}{}", visible(msg));
}

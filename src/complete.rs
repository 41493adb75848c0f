//! kubectl plugin completion (cobra's `__complete` protocol). (Being written: see issue 5.)

use std::io::{self, Write};

/// Writes the completion candidates for `words`, then the directive line.
pub fn complete(_words: &[String], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, ":4")
}

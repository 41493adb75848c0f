//! Where objects come from: files and standard input ([`file`]), or the
//! current cluster ([`cluster`]). Sources only read; the engine evaluates.

pub mod cluster;
pub mod file;

use std::io::Read;

/// Reads a whole file, or standard input for `-`; returns the bytes and a
/// name for messages.
pub fn read_input(path: &str) -> Result<(Vec<u8>, String), crate::Error> {
    let mut buf = Vec::new();
    if path == "-" {
        std::io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| crate::Error::input(format!("<stdin>: cannot read: {e}")))?;
        return Ok((buf, "<stdin>".into()));
    }
    let buf = std::fs::read(path)
        .map_err(|e| crate::Error::input(format!("{path}: cannot read: {}", io_reason(&e))))?;
    Ok((buf, path.to_string()))
}

/// The reason of an I/O error without Rust's "(os error N)" suffix.
pub fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

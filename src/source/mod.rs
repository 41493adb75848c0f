//! Where objects come from: files and standard input ([`file`]), or the
//! current cluster ([`cluster`]). Sources only read; the engine evaluates.

pub mod cluster;
pub mod file;
mod items;

use crate::shared::io::{MIB, read_bounded};

/// The largest object file (or standard input) read: a 50k-object
/// `kubectl get -o yaml` dump is 100–250 MiB. The whole input is held in
/// memory while its objects stream through the engine.
pub const INPUT_LIMIT: u64 = 512 * MIB;

/// Reads a whole object file, or standard input for `-`; returns the bytes
/// and a name for messages.
pub fn read_input(path: &str) -> Result<(Vec<u8>, String), crate::Error> {
    read_bounded(path, INPUT_LIMIT, "object files")
        .map_err(|e| crate::Error::input(e.to_string()).caused_by(e))
}

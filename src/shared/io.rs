//! Reading inputs within a bound, and how I/O errors read in messages.

use std::io::Read;

pub const MIB: u64 = 1024 * 1024;

/// The reason of an I/O error without Rust's "(os error N)" suffix.
pub fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Reads a whole file, or standard input for `-`, failing once it holds more
/// than `limit` bytes (so `/dev/zero` or an endless pipe cannot exhaust
/// memory). `what` names the limit in the message, which starts with the name.
pub fn read_bounded(path: &str, limit: u64, what: &str) -> Result<(Vec<u8>, String), String> {
    let (mut reader, origin): (Box<dyn Read>, String) = if path == "-" {
        (Box::new(std::io::stdin().lock()), "<stdin>".into())
    } else {
        let file = std::fs::File::open(path)
            .map_err(|e| format!("{path}: cannot read: {}", io_reason(&e)))?;
        // A regular file announces its size: fail before reading any of it.
        if let Ok(meta) = file.metadata()
            && meta.is_file()
            && meta.len() > limit
        {
            return Err(too_large(path, limit, what));
        }
        (Box::new(file), path.to_string())
    };
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok((buf, origin)),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("{origin}: cannot read: {}", io_reason(&e))),
        };
        if (buf.len() + n) as u64 > limit {
            return Err(too_large(&origin, limit, what));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn too_large(origin: &str, limit: u64, what: &str) -> String {
    format!(
        "{origin}: larger than {} MiB, the limit for {what}",
        limit / MIB
    )
}

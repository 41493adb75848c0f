//! Reading inputs within a bound, and how I/O errors read in messages.

use std::io::Read;

pub const MIB: u64 = 1024 * 1024;

/// The reason of an I/O error without Rust's "(os error N)" suffix.
pub fn io_reason(e: &std::io::Error) -> String {
    without_os_error(&e.to_string()).to_string()
}

/// An error's text without Rust's " (os error N)" suffix, wherever it came from.
pub fn without_os_error(s: &str) -> &str {
    s.find(" (os error").map_or(s, |i| &s[..i])
}

/// Why an input could not be read; its message starts with the input's name.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{origin}: cannot read: {}", io_reason(.source))]
    Io {
        origin: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: larger than {} MiB, the limit for {what}", .limit / MIB)]
    TooLarge {
        origin: String,
        limit: u64,
        what: &'static str,
    },
}

/// Reads a whole file, or standard input for `-`, failing once it holds more
/// than `limit` bytes (so `/dev/zero` or an endless pipe cannot exhaust
/// memory). `what` names the limit in the message.
pub fn read_bounded(
    path: &str,
    limit: u64,
    what: &'static str,
) -> Result<(Vec<u8>, String), ReadError> {
    let too_large = |origin: &str| ReadError::TooLarge {
        origin: origin.to_string(),
        limit,
        what,
    };
    let (mut reader, origin): (Box<dyn Read>, String) = if path == "-" {
        (Box::new(std::io::stdin().lock()), "<stdin>".into())
    } else {
        let file = std::fs::File::open(path).map_err(|source| ReadError::Io {
            origin: path.to_string(),
            source,
        })?;
        // A regular file announces its size: fail before reading any of it.
        if let Ok(meta) = file.metadata()
            && meta.is_file()
            && meta.len() > limit
        {
            return Err(too_large(path));
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
            Err(source) => return Err(ReadError::Io { origin, source }),
        };
        if (buf.len() + n) as u64 > limit {
            return Err(too_large(&origin));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

//! Files written whole or not at all: `--output-file` (node_exporter's
//! textfile collector must never read half a file) and the monitoring
//! suite's files. Each is written to a temporary file in the same directory,
//! synced, then renamed over the target, which is atomic on one filesystem.
//! On any failure the temporary file is removed and the target is left as it
//! was.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::Error;
use crate::shared::io::io_reason;

/// A file being written; [`AtomicFile::commit`] puts it in place.
pub struct AtomicFile {
    path: PathBuf,
    tmp: BufWriter<NamedTempFile>,
}

impl AtomicFile {
    /// Starts writing `path`: a temporary file beside it, readable like any
    /// file the user writes (the umask still applies), so that a collector
    /// running as another user can read it.
    pub fn create(path: &Path) -> Result<AtomicFile, Error> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if path.file_name().is_none() || path.is_dir() {
            return Err(fail(path, "is a directory"));
        }
        let tmp = temp_builder()
            .tempfile_in(dir)
            .map_err(|e| failed(path, e))?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp: BufWriter::with_capacity(64 * 1024, tmp),
        })
    }

    pub fn writer(&mut self) -> &mut dyn Write {
        &mut self.tmp
    }

    /// The file as messages name it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes and syncs the data, then renames it over the target.
    pub fn commit(self) -> Result<(), Error> {
        let path = self.path;
        let tmp = self
            .tmp
            .into_inner()
            .map_err(|e| failed(&path, e.into_error()))?;
        tmp.as_file().sync_all().map_err(|e| failed(&path, e))?;
        tmp.persist(&path).map_err(|e| failed(&path, e.error))?;
        sync_dir(&path);
        Ok(())
    }
}

/// Writes `files` (name, content) into `dir`, creating it if needed; they
/// are renamed into place only once all are written, so a failure leaves no
/// partial file and, short of a failing rename, no file at all.
pub fn write_files(dir: &Path, files: &[(String, String)]) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| failed(dir, e))?;
    let mut written = Vec::with_capacity(files.len());
    for (name, content) in files {
        let mut file = AtomicFile::create(&dir.join(name))?;
        file.writer()
            .write_all(content.as_bytes())
            .map_err(|e| failed(file.path(), e))?;
        written.push(file);
    }
    for file in written {
        file.commit()?;
    }
    Ok(())
}

fn temp_builder() -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tap-metrics-");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    builder
}

/// Makes the rename itself durable; a directory that cannot be synced (some
/// filesystems refuse) costs durability after a crash, not correctness.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
}

fn fail(path: &Path, why: &str) -> Error {
    Error::failure(format!("cannot write {}: {why}", path.display()))
}

fn failed(path: &Path, e: std::io::Error) -> Error {
    fail(path, &io_reason(&e)).caused_by(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_appears_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tap.prom");
        std::fs::write(&path, "old\n").unwrap();
        let mut f = AtomicFile::create(&path).unwrap();
        f.writer().write_all(b"new\n").unwrap();
        // Not committed: the old file stays, and no temporary file is left.
        drop(f);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let mut f = AtomicFile::create(&path).unwrap();
        f.writer().write_all(b"new\n").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o044, 0o044, "{mode:o}");
        }
    }

    #[test]
    fn a_directory_that_cannot_hold_it_is_one_line() {
        let e = AtomicFile::create(Path::new("/nonexistent/dir/tap.prom"))
            .err()
            .unwrap();
        assert_eq!(
            e.message,
            "cannot write /nonexistent/dir/tap.prom: No such file or directory"
        );
    }
}

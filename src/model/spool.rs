//! The binary sample spool: records in memory up to a bound, then in one
//! unnamed temporary file for the whole process, so that a snapshot of tens of
//! thousands of objects costs disk, not resident memory.
//!
//! Appending never fails; moving a full spool to disk is a separate step, so
//! that the engine can fill spools without I/O and its callers handle the
//! spill's errors.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::{Mutex, PoisonError};

use super::{Sample, recycle};

/// Samples in order, spilled to disk past [`Spool::MEMORY_LIMIT`].
///
/// A sample is one record: its byte length, the label count, the byte length
/// of each name and value, the value, then the names and values one after the
/// other; numbers little-endian. A record is read back into one buffer, its
/// text checked as UTF-8 once, and its labels borrowed from it.
#[derive(Debug, Default)]
pub struct Spool {
    buf: Vec<u8>,
    /// Offset and length of each spilled run of whole records in [`SPILL`].
    segments: Vec<(u64, usize)>,
    count: u64,
    label_names: BTreeSet<String>,
}

/// The one unnamed temporary file all spools of the process spill to, so that
/// a config with thousands of families (times clusters) holds one file
/// descriptor, not one each.
static SPILL: Mutex<Option<SpillFile>> = Mutex::new(None);

#[derive(Debug)]
struct SpillFile {
    file: File,
    len: u64,
    /// Spools with segments in the file; at zero the file is emptied.
    users: usize,
}

impl Spool {
    /// Bytes kept in memory before the spool moves to disk.
    pub const MEMORY_LIMIT: usize = 256 * 1024;

    /// Appends a sample in memory; `labels` must be sorted by name, names
    /// unique. [`Spool::spill_if_full`] bounds the memory.
    pub fn append<K: AsRef<str>, V: AsRef<str>>(&mut self, labels: &[(K, V)], value: f64) {
        let start = self.buf.len();
        put_u32(&mut self.buf, 0);
        put_u32(&mut self.buf, labels.len());
        for (name, val) in labels {
            let name = name.as_ref();
            if !self.label_names.contains(name) {
                self.label_names.insert(name.to_string());
            }
            put_u32(&mut self.buf, name.len());
            put_u32(&mut self.buf, val.as_ref().len());
        }
        self.buf.extend_from_slice(&value.to_le_bytes());
        for (name, val) in labels {
            self.buf.extend_from_slice(name.as_ref().as_bytes());
            self.buf.extend_from_slice(val.as_ref().as_bytes());
        }
        let len = self.buf.len() - start - 4;
        self.buf[start..start + 4].copy_from_slice(&(len as u32).to_le_bytes());
        self.count += 1;
    }

    /// Moves the samples in memory to the spill file once they reach
    /// [`Spool::MEMORY_LIMIT`].
    pub fn spill_if_full(&mut self) -> io::Result<()> {
        if self.buf.len() >= Self::MEMORY_LIMIT {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        let mut guard = SPILL.lock().unwrap_or_else(PoisonError::into_inner);
        let spill = match &mut *guard {
            Some(s) => s,
            None => guard.insert(SpillFile {
                file: tempfile::tempfile()?,
                len: 0,
                users: 0,
            }),
        };
        spill.file.seek(SeekFrom::Start(spill.len))?;
        // On failure `len` stays: a part written is overwritten by the next spill.
        spill.file.write_all(&self.buf)?;
        if self.segments.is_empty() {
            spill.users += 1;
        }
        self.segments.push((spill.len, self.buf.len()));
        spill.len += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Every label name any sample carries.
    pub fn label_names(&self) -> &BTreeSet<String> {
        &self.label_names
    }

    /// Calls `f` with each sample, in the order they were pushed.
    pub fn for_each(&self, mut f: impl FnMut(Sample<'_>) -> io::Result<()>) -> io::Result<()> {
        let mut spare = Vec::new();
        let mut segment = Vec::new();
        // A segment holds whole records: spills happen between pushes.
        for &(offset, len) in &self.segments {
            segment.resize(len, 0);
            {
                let mut guard = SPILL.lock().unwrap_or_else(PoisonError::into_inner);
                let spill = guard.as_mut().ok_or_else(corrupt)?;
                spill.file.seek(SeekFrom::Start(offset))?;
                spill.file.read_exact(&mut segment)?;
            }
            spare = with_records(&segment, spare, &mut f)?;
        }
        with_records(&self.buf, spare, &mut f)?;
        Ok(())
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if self.segments.is_empty() {
            return;
        }
        let mut guard = SPILL.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(spill) = guard.as_mut() {
            spill.users -= 1;
            if spill.users == 0 {
                // Nothing refers to the file any more: give the disk back.
                // Failing leaves it as it is, harmless until the process ends.
                let _ = spill.file.set_len(0);
                spill.len = 0;
            }
        }
    }
}

/// Calls `f` with each sample of the records in `bytes`.
fn with_records<'s>(
    bytes: &[u8],
    mut spare: Vec<(&'s str, &'s str)>,
    f: &mut impl FnMut(Sample<'_>) -> io::Result<()>,
) -> io::Result<Vec<(&'s str, &'s str)>> {
    let mut rest = bytes;
    while let Some((len, tail)) = take_u32(rest) {
        let (record, tail) = tail.split_at_checked(len).ok_or_else(corrupt)?;
        spare = with_record(record, spare, f)?;
        rest = tail;
    }
    Ok(spare)
}

fn put_u32(buf: &mut Vec<u8>, n: usize) {
    buf.extend_from_slice(&(n as u32).to_le_bytes());
}

fn take_u32(b: &[u8]) -> Option<(usize, &[u8])> {
    let (n, rest) = b.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*n) as usize, rest))
}

/// The next string of a record's `text`, whose length is the next of `lens`.
fn take_text<'t>(lens: &mut &[u8], text: &'t str, at: &mut usize) -> io::Result<&'t str> {
    let (len, tail) = take_u32(lens).ok_or_else(corrupt)?;
    *lens = tail;
    let end = at.checked_add(len).ok_or_else(corrupt)?;
    let s = text.get(*at..end).ok_or_else(corrupt)?;
    *at = end;
    Ok(s)
}

fn corrupt() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "a sample record is cut short")
}

/// Calls `f` with the sample of one record. `spare` is an empty label vector
/// whose allocation is reused from record to record; it is handed back.
fn with_record<'s>(
    record: &[u8],
    spare: Vec<(&'s str, &'s str)>,
    f: &mut impl FnMut(Sample<'_>) -> io::Result<()>,
) -> io::Result<Vec<(&'s str, &'s str)>> {
    let mut labels = recycle(spare);
    let (count, rest) = take_u32(record).ok_or_else(corrupt)?;
    let (mut lens, rest) = rest
        .split_at_checked(count.saturating_mul(8))
        .ok_or_else(corrupt)?;
    let (value, text) = rest.split_first_chunk::<8>().ok_or_else(corrupt)?;
    // One check for the whole text: per-string checks cost more than the rest
    // of reading a sample.
    let text =
        std::str::from_utf8(text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let mut at = 0;
    for _ in 0..count {
        let name = take_text(&mut lens, text, &mut at)?;
        let value = take_text(&mut lens, text, &mut at)?;
        labels.push((name, value));
    }
    f(Sample {
        labels: &labels,
        value: f64::from_le_bytes(*value),
    })?;
    Ok(recycle(labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_round_trips_through_disk() {
        let mut s = Spool::default();
        let big = "x".repeat(1000);
        let n = 2 * Spool::MEMORY_LIMIT / 1000 + 7;
        for i in 0..n {
            s.append(&[("a", big.clone()), ("i", i.to_string())], i as f64);
            s.spill_if_full().unwrap();
        }
        assert!(!s.segments.is_empty());
        let mut seen = 0;
        s.for_each(|sample| {
            assert_eq!(sample.label("i"), Some(seen.to_string().as_str()));
            assert_eq!(sample.value, seen as f64);
            seen += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, n);
        assert_eq!(s.len(), n as u64);
        assert_eq!(
            s.label_names().iter().cloned().collect::<Vec<_>>(),
            ["a", "i"]
        );
    }

    #[test]
    fn many_spilled_spools_share_one_file_descriptor() {
        let fds = || std::fs::read_dir("/proc/self/fd").unwrap().count();
        let before = fds();
        let value = "v".repeat(Spool::MEMORY_LIMIT);
        let spools: Vec<Spool> = (0..300)
            .map(|i| {
                let mut s = Spool::default();
                s.append(&[("a", value.as_str())], i as f64);
                s.spill_if_full().unwrap();
                s.append(&[("b", "x")], 1.0);
                s.spill_if_full().unwrap();
                s
            })
            .collect();
        // Other tests of this binary may hold a few descriptors meanwhile.
        assert!(fds() < before + 50, "{} then {}", before, fds());
        for (i, s) in spools.iter().enumerate() {
            let mut got = Vec::new();
            s.for_each(|sample| {
                got.push((sample.labels[0].1.len(), sample.value));
                Ok(())
            })
            .unwrap();
            assert_eq!(got, [(value.len(), i as f64), (1, 1.0)]);
        }
    }

    #[test]
    fn spool_gives_back_any_text_exactly() {
        let samples: &[&[(&str, &str)]] = &[
            &[],
            &[("", "")],
            &[("a", ""), ("b", "ü日本\u{0}\n\"")],
            &[("é", "x"), ("z", "🦀")],
        ];
        let mut s = Spool::default();
        for (i, labels) in samples.iter().enumerate() {
            s.append(labels, -(i as f64));
        }
        let mut back = Vec::new();
        s.for_each(|sample| {
            let labels: Vec<(String, String)> = sample
                .labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            back.push((labels, sample.value));
            Ok(())
        })
        .unwrap();
        let want: Vec<(Vec<(String, String)>, f64)> = samples
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let l = l.iter().map(|(n, v)| (n.to_string(), v.to_string()));
                (l.collect(), -(i as f64))
            })
            .collect();
        assert_eq!(back, want);
    }
}

//! The neutral metric model between the engine and the renderers: families of
//! samples, in a fixed order.
//!
//! Samples are kept in [`Spool`]s, in memory up to a bound and then in an
//! unnamed temporary file, so that a snapshot of tens of thousands of objects
//! costs disk, not resident memory.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::{Mutex, PoisonError};

/// The metric type as the config declares it. Renderers decide how each type
/// is written in their format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Gauge,
    Info,
    StateSet,
}

impl MetricType {
    /// The lower-case name KSM uses.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Gauge => "gauge",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
        }
    }
}

/// Label pairs sorted by name, names unique.
pub type Labels = Vec<(String, String)>;

/// One sample as read back: labels sorted by name, borrowed from the spool.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample<'a> {
    pub labels: &'a [(&'a str, &'a str)],
    pub value: f64,
}

impl<'a> Sample<'a> {
    pub fn label(&self, name: &str) -> Option<&'a str> {
        self.labels
            .binary_search_by(|(n, _)| (*n).cmp(name))
            .ok()
            .map(|i| self.labels[i].1)
    }
}

/// How a sample value is written, as KSM writes it: Go's shortest `%g`, with
/// `NaN`, `+Inf` and `-Inf`.
pub fn format_value(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    // Most values are small integers (conditions, states, counts): no float formatting.
    if v.fract() == 0.0 && v.abs() < 1e6 {
        return (v as i64).to_string();
    }
    go_float(v)
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`, which is also what `%v` prints
/// for a float: shortest round-trip digits, exponent form below 1e-4 and from
/// 1e6 on (Go decides with precision 6 when formatting shortest).
pub fn go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` gives the same shortest round-trip digits as Go.
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if v < 0.0 {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

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

    /// Appends a sample; `labels` must be sorted by name, names unique.
    pub fn push<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        labels: &[(K, V)],
        value: f64,
    ) -> io::Result<()> {
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

/// An empty vector of borrowed pairs with the allocation of `v`: collecting an
/// emptied vector into one of a same-sized type reuses its buffer in place.
pub(crate) fn recycle<'b>(mut v: Vec<(&str, &str)>) -> Vec<(&'b str, &'b str)> {
    v.clear();
    v.into_iter().map(|_| ("", "")).collect()
}

/// One metric family: a name, its help and type, and its samples in parts.
#[derive(Debug)]
pub struct Family {
    pub name: String,
    pub help: String,
    pub metric_type: MetricType,
    pub parts: Vec<Part>,
}

/// The samples one config resource gave a family, from one source.
#[derive(Debug)]
pub struct Part {
    /// Index of the config resource (in config order) the samples come from.
    pub resource: usize,
    /// The cluster (kubeconfig context) they were read from, if any.
    pub cluster: Option<String>,
    /// Labels added to every sample of the part (e.g. `cluster`); they win over
    /// the sample's own label of the same name.
    pub extra_labels: Labels,
    pub samples: std::sync::Arc<Spool>,
}

impl Family {
    /// Number of samples in all parts.
    pub fn len(&self) -> u64 {
        self.parts.iter().map(|p| p.samples.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every label name any sample of the family carries.
    pub fn label_names(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for p in &self.parts {
            names.extend(p.samples.label_names().iter().cloned());
            names.extend(p.extra_labels.iter().map(|(n, _)| n.clone()));
        }
        names
    }

    /// Calls `f` with each sample of every part, in order, extra labels merged in.
    pub fn for_each_sample(
        &self,
        mut f: impl FnMut(&Part, Sample<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut spare = Vec::new();
        for part in &self.parts {
            if part.extra_labels.is_empty() {
                part.samples.for_each(|s| f(part, s))?;
                continue;
            }
            part.samples.for_each(|s| {
                let mut merged = recycle(std::mem::take(&mut spare));
                merge_labels(s.labels, &part.extra_labels, &mut merged);
                f(
                    part,
                    Sample {
                        labels: &merged,
                        value: s.value,
                    },
                )?;
                spare = recycle(merged);
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// `own` and `extra`, both sorted by name, into `out`; `extra` wins on a name both have.
fn merge_labels<'a>(
    own: &[(&'a str, &'a str)],
    extra: &'a Labels,
    out: &mut Vec<(&'a str, &'a str)>,
) {
    let (mut a, mut b) = (own.iter().peekable(), extra.iter().peekable());
    loop {
        match (a.peek(), b.peek()) {
            (Some(&&(an, av)), Some((bn, bv))) => match an.cmp(bn.as_str()) {
                std::cmp::Ordering::Less => {
                    out.push((an, av));
                    a.next();
                }
                std::cmp::Ordering::Equal => {
                    out.push((bn.as_str(), bv.as_str()));
                    a.next();
                    b.next();
                }
                std::cmp::Ordering::Greater => {
                    out.push((bn.as_str(), bv.as_str()));
                    b.next();
                }
            },
            (Some(&&(an, av)), None) => {
                out.push((an, av));
                a.next();
            }
            (None, Some((bn, bv))) => {
                out.push((bn.as_str(), bv.as_str()));
                b.next();
            }
            (None, None) => return,
        }
    }
}

/// A whole snapshot: the families in output order.
#[derive(Debug, Default)]
pub struct MetricSet {
    pub families: Vec<Family>,
    /// The config resources, indexed by [`Part::resource`].
    pub resources: Vec<ResourceSummary>,
    /// Every family name the config defines, with samples or not: formats
    /// that rename families check for clashes against all of them, so that a
    /// family's name does not depend on what the cluster holds.
    pub names: BTreeSet<String>,
}

/// A config resource as the renderers see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceSummary {
    pub group: String,
    /// `*` when the config reads every version.
    pub version: String,
    pub kind: String,
    /// Objects evaluated, over all sources.
    pub objects: u64,
}

impl MetricSet {
    pub fn sample_count(&self) -> u64 {
        self.families.iter().map(Family::len).sum()
    }

    /// The same families restricted to the parts `keep` accepts; families left
    /// without parts are dropped.
    pub fn filter_parts(&self, keep: impl Fn(&Part) -> bool) -> MetricSet {
        let families = self
            .families
            .iter()
            .filter_map(|f| {
                let parts: Vec<Part> = f
                    .parts
                    .iter()
                    .filter(|p| keep(p))
                    .map(|p| Part {
                        resource: p.resource,
                        cluster: p.cluster.clone(),
                        extra_labels: p.extra_labels.clone(),
                        samples: p.samples.clone(),
                    })
                    .collect();
                (!parts.is_empty()).then(|| Family {
                    name: f.name.clone(),
                    help: f.help.clone(),
                    metric_type: f.metric_type,
                    parts,
                })
            })
            .collect();
        MetricSet {
            families,
            resources: self.resources.clone(),
            names: self.names.clone(),
        }
    }
}

/// Where a snapshot's samples came from: the clusters read, the label that
/// tells them apart, and which could not be read in full.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The clusters (kubeconfig contexts) read, in run order; empty for files.
    pub clusters: Vec<String>,
    /// The label every sample carries with its cluster's name, when several
    /// clusters are read (and `--cluster-label` is not empty).
    pub cluster_label: Option<String>,
    /// Clusters with resources that could not be read, in run order; empty
    /// when the snapshot is complete.
    pub incomplete: Vec<Incomplete>,
}

/// A cluster with resources that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incomplete {
    /// Its name: the value of its cluster label.
    pub cluster: String,
    /// Not one resource could be listed (unreachable, or every list failed).
    pub nothing_read: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (-1.0, "-1"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.00001, "1e-05"),
            (0.0001, "0.0001"),
            (1_704_164_645.0, "1.704164645e+09"),
            (5_368_709_120.0, "5.36870912e+09"),
            (0.125, "0.125"),
            (100000.0, "100000"),
            (1e21, "1e+21"),
            (1.5e-300, "1.5e-300"),
            (-2.5e7, "-2.5e+07"),
        ];
        for (v, want) in cases {
            assert_eq!(go_float(*v), *want, "{v}");
        }
        assert_eq!(format_value(-0.0), "0");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn spool_round_trips_through_disk() {
        let mut s = Spool::default();
        let big = "x".repeat(1000);
        let n = 2 * Spool::MEMORY_LIMIT / 1000 + 7;
        for i in 0..n {
            s.push(&[("a", big.clone()), ("i", i.to_string())], i as f64)
                .unwrap();
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
                s.push(&[("a", value.as_str())], i as f64).unwrap();
                s.push(&[("b", "x")], 1.0).unwrap();
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
            s.push(labels, -(i as f64)).unwrap();
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

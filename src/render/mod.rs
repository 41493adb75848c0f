//! Renderers: the metric model written as OpenMetrics, Prometheus text, JSON
//! or a table for people. Renderers only format; labels and values come
//! finished from the engine.

mod json;
mod openmetrics;
pub mod prometheus;
mod summary;
mod table;

use std::collections::{BTreeSet, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::io::{self, BufWriter, Write};

use crate::model::{Family, MetricSet};

pub use table::TableOptions;

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 text, ending in `# EOF`.
    Openmetrics,
    /// Prometheus text format 0.0.4 (info and stateset written as gauge).
    Prometheus,
    /// A table per resource kind, for people.
    Table,
    /// One screen: ready / not ready per kind, what needs attention, buildpacks, CVEs.
    Summary,
    /// prom2json's shape: `[{name, help, type, metrics: [{labels, value}]}]`.
    Json,
}

impl Format {
    /// Whether the format can be written one family at a time; the table and
    /// the summary need every family first.
    pub fn streams(self) -> bool {
        !matches!(self, Format::Table | Format::Summary)
    }

    /// The HTTP content type of the format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Openmetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::Table | Format::Summary => "text/plain; charset=utf-8",
            Format::Json => "application/json",
        }
    }
}

/// Writes `set` in `format`.
pub fn render(
    set: &MetricSet,
    format: Format,
    table: &TableOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    write_set(set, format, table, out, false)
}

/// [`render`], with duplicate series dropped in Prometheus text too, as a
/// scraper of a file (node_exporter's textfile collector) requires.
pub fn render_unique(
    set: &MetricSet,
    format: Format,
    table: &TableOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    write_set(set, format, table, out, true)
}

fn write_set(
    set: &MetricSet,
    format: Format,
    table: &TableOptions,
    out: &mut dyn Write,
    unique: bool,
) -> io::Result<()> {
    if format == Format::Summary {
        return summary::render(set, table, out);
    }
    let Some(mut stream) = Stream::new(format, &set.names, out) else {
        return table::render(set, table, out);
    };
    stream.unique = unique;
    for fam in &set.families {
        stream.family(fam)?;
    }
    stream.finish()
}

/// The series of one family already written. Two samples are one series
/// when their non-empty labels are equal: Prometheus reads `x=""` as no label
/// `x`, and OpenMetrics output writes an absent label as `""`. Keeps a 64-bit
/// hash a series (8 bytes a sample, not its labels), randomly keyed per run
/// so that no label value can be made to collide on purpose.
#[derive(Default)]
pub struct SeenSeries {
    seen: HashSet<u64, BuildHasherDefault<Prehashed>>,
    hasher: RandomState,
    key: Vec<u8>,
}

impl SeenSeries {
    /// Whether `labels` (sorted by name) are a series not seen before.
    pub fn insert(&mut self, labels: &[(&str, &str)]) -> bool {
        self.key.clear();
        for (k, v) in labels.iter().filter(|(_, v)| !v.is_empty()) {
            // 0xff ends each part: UTF-8 never has that byte.
            self.key.extend_from_slice(k.as_bytes());
            self.key.push(0xff);
            self.key.extend_from_slice(v.as_bytes());
            self.key.push(0xff);
        }
        // One write of the whole key: SipHash's cost is mostly per call.
        let mut h = self.hasher.build_hasher();
        h.write(&self.key);
        self.seen.insert(h.finish())
    }
}

/// A hasher for keys that are hashes already: it keeps the `u64` it is given.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    // Only `write_u64` is called (the keys are u64); this is what the trait needs.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Output written one family at a time, as families become ready; every
/// format but the table and the summary, which need all families first.
pub struct Stream<'a> {
    format: Format,
    /// Every family name of the config: OpenMetrics naming looks for clashes.
    names: &'a BTreeSet<String>,
    out: BufWriter<&'a mut dyn Write>,
    families: usize,
    /// Drop duplicate series in Prometheus text too (OpenMetrics always does).
    unique: bool,
}

impl<'a> Stream<'a> {
    /// `None` for [`Format::Table`] and [`Format::Summary`]. Nothing is
    /// written before the first family or [`Stream::finish`].
    pub fn new(
        format: Format,
        names: &'a BTreeSet<String>,
        out: &'a mut dyn Write,
    ) -> Option<Stream<'a>> {
        format.streams().then(|| Stream {
            format,
            names,
            out: BufWriter::with_capacity(64 * 1024, out),
            families: 0,
            unique: false,
        })
    }

    /// Drops duplicate series in every format, as a scraper of the output
    /// requires (see [`SeenSeries`]).
    pub fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    /// What comes before the first family.
    fn start(&mut self) -> io::Result<()> {
        if self.format == Format::Json {
            self.out.write_all(b"[")?;
        }
        Ok(())
    }

    /// Writes one family and flushes it, so that a reader sees it while
    /// later families are still being read.
    pub fn family(&mut self, fam: &Family) -> io::Result<()> {
        let first = self.families == 0;
        if first {
            self.start()?;
        }
        self.families += 1;
        match self.format {
            Format::Openmetrics => openmetrics::family(&mut self.out, fam, self.names)?,
            Format::Prometheus if self.unique => {
                let mut seen = SeenSeries::default();
                prometheus::family_where(&mut self.out, fam, |s| Ok(seen.insert(s.labels)))?
            }
            Format::Prometheus => prometheus::family(&mut self.out, fam)?,
            Format::Json => json::family(&mut self.out, fam, first)?,
            Format::Table | Format::Summary => unreachable!("tables are not streamed"),
        }
        self.out.flush()
    }

    /// Writes what ends the output and flushes it.
    pub fn finish(mut self) -> io::Result<()> {
        if self.families == 0 {
            self.start()?;
        }
        match self.format {
            Format::Openmetrics => self.out.write_all(b"# EOF\n")?,
            Format::Json => self.out.write_all(b"\n]\n")?,
            Format::Prometheus | Format::Table | Format::Summary => {}
        }
        self.out.flush()
    }
}

/// Label values escape `\`, `"` and newline, in both text formats.
fn write_label_value(out: &mut impl Write, v: &str) -> io::Result<()> {
    let mut start = 0;
    for (i, b) in v.bytes().enumerate() {
        let esc: &[u8] = match b {
            b'\\' => b"\\\\",
            b'"' => b"\\\"",
            b'\n' => b"\\n",
            _ => continue,
        };
        out.write_all(&v.as_bytes()[start..i])?;
        out.write_all(esc)?;
        start = i + 1;
    }
    out.write_all(&v.as_bytes()[start..])
}

/// `name{a="x",b="y"} value` with the given labels.
fn write_sample(
    out: &mut impl Write,
    name: &str,
    labels: &[(&str, &str)],
    value: f64,
) -> io::Result<()> {
    out.write_all(name.as_bytes())?;
    if !labels.is_empty() {
        out.write_all(b"{")?;
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(k.as_bytes())?;
            out.write_all(b"=\"")?;
            write_label_value(out, v)?;
            out.write_all(b"\"")?;
        }
        out.write_all(b"}")?;
    }
    out.write_all(b" ")?;
    match value {
        0.0 => out.write_all(b"0")?,
        1.0 => out.write_all(b"1")?,
        v => out.write_all(crate::shared::float::format_value(v).as_bytes())?,
    }
    out.write_all(b"\n")
}

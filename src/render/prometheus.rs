//! Prometheus text format 0.0.4, as KSM writes it: info and stateset become
//! `gauge`; HELP escapes `\` and newline only.

use std::io::{self, BufWriter, Write};

use crate::model::MetricSet;

pub fn render(set: &MetricSet, out: &mut dyn Write) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(64 * 1024, out);
    for fam in &set.families {
        write!(out, "# HELP {} ", fam.name)?;
        write_help(&mut out, &fam.help)?;
        writeln!(out, "\n# TYPE {} gauge", fam.name)?;
        fam.for_each_sample(|_, s| super::write_sample(&mut out, &fam.name, s.labels, s.value))?;
    }
    out.flush()
}

fn write_help(out: &mut impl Write, help: &str) -> io::Result<()> {
    out.write_all(help.replace('\\', "\\\\").replace('\n', "\\n").as_bytes())
}

//! Prometheus text format 0.0.4, as KSM writes it: info and stateset become
//! `gauge`; HELP escapes `\` and newline only.

use std::io::{self, Write};

use crate::model::Family;

pub fn family(out: &mut impl Write, fam: &Family) -> io::Result<()> {
    write!(out, "# HELP {} ", fam.name)?;
    write_help(out, &fam.help)?;
    writeln!(out, "\n# TYPE {} gauge", fam.name)?;
    fam.for_each_sample(|_, s| super::write_sample(out, &fam.name, s.labels, s.value))
}

fn write_help(out: &mut impl Write, help: &str) -> io::Result<()> {
    out.write_all(help.replace('\\', "\\\\").replace('\n', "\\n").as_bytes())
}

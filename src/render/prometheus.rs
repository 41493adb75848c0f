//! Prometheus text format 0.0.4, as KSM writes it: info and stateset become
//! `gauge`; HELP escapes `\` and newline only.

use std::io::{self, Write};

use crate::model::{Family, Sample};

pub fn family(out: &mut impl Write, fam: &Family) -> io::Result<()> {
    family_where(out, fam, |_| Ok(true))
}

/// The family with the samples `keep` accepts (headers always); an error
/// from `keep` ends the writing.
pub fn family_where(
    out: &mut impl Write,
    fam: &Family,
    mut keep: impl FnMut(&Sample<'_>) -> io::Result<bool>,
) -> io::Result<()> {
    write!(out, "# HELP {} ", fam.name)?;
    write_help(out, &fam.help)?;
    writeln!(out, "\n# TYPE {} gauge", fam.name)?;
    fam.for_each_sample(|_, s| {
        if keep(&s)? {
            super::write_sample(out, &fam.name, s.labels, s.value)?;
        }
        Ok(())
    })
}

fn write_help(out: &mut impl Write, help: &str) -> io::Result<()> {
    out.write_all(help.replace('\\', "\\\\").replace('\n', "\\n").as_bytes())
}

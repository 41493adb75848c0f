//! OpenMetrics 1.0 text.
//!
//! Sample names are KSM's. The `info` and `stateset` types are used only where
//! OpenMetrics' naming rules allow them without renaming a sample: an info
//! metric named `x_info` becomes family `x` of type info; a stateset whose state
//! label is named after the metric stays a stateset. Everything else is a gauge.
//! Every sample of a family carries the family's full label set (an absent
//! label is written as `""`, which OpenMetrics reads as absent). OpenMetrics
//! forbids two samples with one label set in a family, which KSM can emit
//! (objects that differ only in labels not extracted): later ones are dropped.
//! Families without samples are left out (KSM prints their headers; parsers
//! such as the openmetrics-parser crate cannot read a family of headers only).

use std::collections::BTreeSet;
use std::io::{self, Write};

use crate::model::{Family, MetricType, recycle};

/// Writes one family; `names` are every family name of the config, which
/// an info family's OpenMetrics name must not clash with. Families without
/// samples are left out.
pub fn family(out: &mut impl Write, fam: &Family, names: &BTreeSet<String>) -> io::Result<()> {
    if fam.is_empty() {
        return Ok(());
    }
    let label_names = fam.label_names();
    let (family_name, type_name) = om_type(fam, names, &label_names);
    write!(out, "# HELP {family_name} ")?;
    write_help(out, &fam.help)?;
    writeln!(out, "\n# TYPE {family_name} {type_name}")?;
    let names: Vec<&str> = label_names.iter().map(String::as_str).collect();
    let mut seen = super::SeenSeries::default();
    let mut spare = Vec::with_capacity(names.len());
    fam.for_each_sample(|_, s| {
        if !seen.insert(s.labels) {
            return Ok(());
        }
        let mut labels = recycle(std::mem::take(&mut spare));
        let mut have = s.labels.iter().peekable();
        for n in &names {
            let v = match have.peek() {
                Some((k, v)) if k == n => {
                    have.next();
                    *v
                }
                _ => "",
            };
            labels.push((*n, v));
        }
        super::write_sample(out, &fam.name, &labels, s.value)?;
        spare = recycle(labels);
        Ok(())
    })
}

/// The family name and type OpenMetrics gets for `fam`.
fn om_type<'a>(
    fam: &'a Family,
    taken: &BTreeSet<String>,
    labels: &BTreeSet<String>,
) -> (&'a str, &'static str) {
    match fam.metric_type {
        MetricType::Info => match fam.name.strip_suffix("_info") {
            Some(base)
                if crate::shared::names::is_valid_metric_name(base) && !taken.contains(base) =>
            {
                (base, "info")
            }
            _ => (&fam.name, "gauge"),
        },
        MetricType::StateSet if labels.contains(&fam.name) => (&fam.name, "stateset"),
        _ => (&fam.name, "gauge"),
    }
}

/// OpenMetrics escapes `\`, newline and `"` in HELP.
fn write_help(out: &mut impl Write, help: &str) -> io::Result<()> {
    out.write_all(
        help.replace('\\', "\\\\")
            .replace('\n', "\\n")
            .replace('"', "\\\"")
            .as_bytes(),
    )
}

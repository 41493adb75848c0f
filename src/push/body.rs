//! The body of one push: the group's Prometheus text 0.0.4, checked line by
//! line the way the Pushgateway parses it, duplicate series dropped, gzipped.

use std::collections::HashSet;
use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::model::MetricSet;

/// Families the Pushgateway adds to every group itself.
const RESERVED_NAMES: [&str; 2] = ["push_time_seconds", "push_failure_time_seconds"];

/// A body ready to send.
#[derive(Debug)]
pub(crate) struct Body {
    pub gzip: Vec<u8>,
    pub checked: Checked,
}

/// What the check saw.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Checked {
    /// Families with at least one sample, in body order.
    pub families: Vec<String>,
    pub samples: u64,
    /// Samples dropped because an earlier one had the same series.
    pub duplicates: u64,
}

/// Renders, checks and compresses `set`. `grouping` is the group's key
/// (job first): samples must not carry those labels, as the Go client insists,
/// because the Pushgateway silently overwrites them.
pub(crate) fn build(set: &MetricSet, grouping: &[(String, String)]) -> Result<Body, String> {
    let mut text = Vec::new();
    crate::render::prometheus_text(set, &mut text)
        .map_err(|e| format!("cannot read the snapshot's samples: {e}"))?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    let checked = check(&text, grouping, &mut gz)?;
    let gzip = gz
        .finish()
        .map_err(|e| format!("cannot compress the body: {e}"))?;
    Ok(Body { gzip, checked })
}

/// Checks Prometheus text 0.0.4 and writes it to `out` without duplicate series.
/// Two samples are the same series when their names and non-empty labels are
/// equal: Prometheus reads `x=""` as no label `x`, so it would reject the second
/// one at scrape time even where the Pushgateway takes both.
pub(crate) fn check(
    text: &[u8],
    grouping: &[(String, String)],
    out: &mut impl Write,
) -> Result<Checked, String> {
    let mut checked = Checked::default();
    let mut fam = FamilyState::default();
    let mut finished: HashSet<String> = HashSet::new();
    let mut series: HashSet<Vec<u8>> = HashSet::new();
    let write_err = |e: std::io::Error| format!("cannot build the body: {e}");
    for (i, raw) in text.split_inclusive(|b| *b == b'\n').enumerate() {
        let at = |msg: String| {
            format!(
                "the body fails the text format check at line {}: {msg}",
                i + 1
            )
        };
        let line = std::str::from_utf8(raw)
            .map_err(|_| at("not UTF-8".into()))?
            .trim_end_matches('\n');
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment
                .trim_start_matches([' ', '\t'])
                .splitn(2, [' ', '\t']);
            let keyword = words.next().unwrap_or("");
            if keyword == "HELP" || keyword == "TYPE" {
                let rest = words.next().unwrap_or("").trim_start_matches([' ', '\t']);
                let (name, arg) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
                if !is_metric_name(name) {
                    return Err(at(format!("{keyword}: {name:?} is not a metric name")));
                }
                fam.enter(name, &mut finished).map_err(at)?;
                if keyword == "HELP" {
                    fam.set_help(arg).map_err(at)?;
                } else {
                    fam.set_type(arg.trim_matches([' ', '\t'])).map_err(at)?;
                }
            }
            out.write_all(raw).map_err(write_err)?;
            continue;
        }
        if line.trim_matches([' ', '\t']).is_empty() {
            out.write_all(raw).map_err(write_err)?;
            continue;
        }
        let sample = parse_sample(line).map_err(at)?;
        if RESERVED_NAMES.contains(&sample.name) {
            return Err(format!(
                "the Pushgateway keeps {} for itself; rename the metric in the config",
                sample.name
            ));
        }
        let family = fam.family_of(sample.name).to_string();
        fam.enter(&family, &mut finished).map_err(at)?;
        fam.any_sample = true;
        for (name, _) in &sample.labels {
            if name.starts_with("__") {
                return Err(format!(
                    "{} has samples with the label {name:?}; names starting with __ are reserved and the Pushgateway refuses them",
                    sample.name
                ));
            }
            if let Some((_, value)) = grouping.iter().find(|(k, _)| k == name) {
                return Err(format!(
                    "{} has samples with the label {name:?}, which the Pushgateway would overwrite with the grouping key's {name}={value:?}; rename the label in the config or leave it out of the grouping key",
                    sample.name
                ));
            }
        }
        if !series.insert(sample.key()) {
            checked.duplicates += 1;
            continue;
        }
        if !fam.has_samples {
            fam.has_samples = true;
            checked.families.push(family);
        }
        checked.samples += 1;
        out.write_all(raw).map_err(write_err)?;
    }
    Ok(checked)
}

/// The family being read, for the ordering rules of the text format.
#[derive(Debug, Default)]
struct FamilyState {
    name: String,
    help: bool,
    type_: Option<String>,
    has_samples: bool,
    /// Any sample at all, typed or not (TYPE must come before it).
    any_sample: bool,
}

impl FamilyState {
    /// Makes `name` the current family; a family may not come back once another began.
    fn enter(&mut self, name: &str, finished: &mut HashSet<String>) -> Result<(), String> {
        if name == self.name {
            return Ok(());
        }
        if finished.contains(name) {
            return Err(format!(
                "{name} appears again after other families; a family's lines must be together"
            ));
        }
        if !self.name.is_empty() {
            finished.insert(std::mem::take(&mut self.name));
        }
        *self = FamilyState {
            name: name.to_string(),
            ..FamilyState::default()
        };
        Ok(())
    }

    fn set_help(&mut self, help: &str) -> Result<(), String> {
        if self.help {
            return Err(format!("a second HELP for {}", self.name));
        }
        let mut chars = help.chars();
        while let Some(c) = chars.next() {
            if c == '\\' && !matches!(chars.next(), Some('\\' | 'n')) {
                return Err(format!(
                    "HELP of {}: only \\\\ and \\n may be escaped",
                    self.name
                ));
            }
        }
        self.help = true;
        Ok(())
    }

    fn set_type(&mut self, t: &str) -> Result<(), String> {
        if self.type_.is_some() {
            return Err(format!("a second TYPE for {}", self.name));
        }
        if self.any_sample {
            return Err(format!("TYPE of {} after its samples", self.name));
        }
        if !matches!(t, "counter" | "gauge" | "histogram" | "summary" | "untyped") {
            return Err(format!("TYPE of {}: unknown type {t:?}", self.name));
        }
        self.type_ = Some(t.to_string());
        Ok(())
    }

    /// The family a sample named `sample` belongs to: the current one when the
    /// name fits it (with the suffixes of histograms and summaries), else its own.
    fn family_of<'a>(&'a self, sample: &'a str) -> &'a str {
        let suffixes: &[&str] = match self.type_.as_deref() {
            Some("histogram") => &["_bucket", "_sum", "_count"],
            Some("summary") => &["_sum", "_count"],
            _ => &[],
        };
        let fits = sample == self.name
            || suffixes
                .iter()
                .any(|s| sample.strip_suffix(s) == Some(self.name.as_str()));
        if fits { &self.name } else { sample }
    }
}

#[derive(Debug, PartialEq)]
struct ParsedSample<'a> {
    name: &'a str,
    labels: Vec<(&'a str, String)>,
}

impl ParsedSample<'_> {
    /// The series identity: the name and the non-empty labels, sorted.
    fn key(&self) -> Vec<u8> {
        let mut labels: Vec<&(&str, String)> =
            self.labels.iter().filter(|(_, v)| !v.is_empty()).collect();
        labels.sort();
        let mut key = self.name.as_bytes().to_vec();
        for (k, v) in labels {
            key.push(0);
            key.extend_from_slice(k.as_bytes());
            key.push(0);
            key.extend_from_slice(v.as_bytes());
        }
        key
    }
}

fn parse_sample(line: &str) -> Result<ParsedSample<'_>, String> {
    let name_len = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_len];
    if !is_metric_name(name) {
        return Err(format!("expected a metric name at {line:?}"));
    }
    let after_name = &line[name_len..];
    let mut rest = after_name.trim_start_matches([' ', '\t']);
    let mut labels: Vec<(&str, String)> = Vec::new();
    if let Some(r) = rest.strip_prefix('{') {
        rest = r;
        loop {
            rest = rest.trim_start_matches([' ', '\t']);
            if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            }
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let label = &rest[..len];
            if !is_label_name(label) {
                return Err(format!("{name}: expected a label name at {rest:?}"));
            }
            if labels.iter().any(|(l, _)| *l == label) {
                return Err(format!("{name}: label {label:?} given twice"));
            }
            let r = rest[len..].trim_start_matches([' ', '\t']);
            let r = r
                .strip_prefix('=')
                .map(|r| r.trim_start_matches([' ', '\t']))
                .and_then(|r| r.strip_prefix('"'))
                .ok_or_else(|| format!("{name}: expected =\" after label {label:?}"))?;
            let (value, r) = label_value(r).map_err(|e| format!("{name}, label {label}: {e}"))?;
            labels.push((label, value));
            let r = r.trim_start_matches([' ', '\t']);
            rest = if let Some(r) = r.strip_prefix(',') {
                r
            } else if r.starts_with('}') {
                r
            } else {
                return Err(format!("{name}: expected , or }} after label {label:?}"));
            };
        }
    } else if rest.len() == after_name.len() && !rest.is_empty() {
        return Err(format!("{name}: unexpected {rest:?} after the name"));
    }
    let mut words = rest.split([' ', '\t']).filter(|w| !w.is_empty());
    let value = words
        .next()
        .ok_or_else(|| format!("{name}: the value is missing"))?;
    if value.parse::<f64>().is_err() {
        return Err(format!("{name}: {value:?} is not a number"));
    }
    if words.next().is_some() {
        return Err(format!(
            "{name}: a sample with a timestamp (the Pushgateway refuses them)"
        ));
    }
    Ok(ParsedSample { name, labels })
}

/// Reads a quoted label value up to its closing quote; returns it unescaped
/// and the text after the quote.
fn label_value(s: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, '\\')) => value.push('\\'),
                Some((_, '"')) => value.push('"'),
                Some((_, 'n')) => value.push('\n'),
                other => {
                    return Err(format!(
                        "invalid escape \\{}",
                        other.map(|(_, c)| c.to_string()).unwrap_or_default()
                    ));
                }
            },
            c => value.push(c),
        }
    }
    Err("the value has no closing quote".into())
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Family, MetricType, Part, Spool};
    use std::sync::Arc;

    fn job(j: &str) -> Vec<(String, String)> {
        vec![("job".into(), j.into())]
    }

    fn run(text: &str) -> Result<(Checked, String), String> {
        let mut out = Vec::new();
        let c = check(text.as_bytes(), &job("x"), &mut out)?;
        Ok((c, String::from_utf8(out).unwrap()))
    }

    #[test]
    fn a_valid_body_passes_unchanged() {
        let text = "# HELP a_info Some \\\\ help\\n.\n# TYPE a_info gauge\n\
                    a_info{name=\"x\",ns=\"a \\\"q\\\" \\\\ \\n\"} 1\n\
                    a_info{name=\"y\",} 1\n\
                    # a comment\n\n\
                    # TYPE b gauge\nb NaN\nb{x=\"1\"} +Inf\nb{x=\"2\"} -1.5e+09\n";
        let (c, out) = run(text).unwrap();
        assert_eq!(out, text);
        assert_eq!(c.families, ["a_info", "b"]);
        assert_eq!((c.samples, c.duplicates), (5, 0));
    }

    #[test]
    fn duplicate_series_are_dropped_keeping_the_first() {
        let text = "# TYPE a gauge\na{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n\
                    a{x=\"1\",y=\"2\",z=\"\"} 3\na{x=\"1\"} 4\n";
        let (c, out) = run(text).unwrap();
        assert_eq!(out, "# TYPE a gauge\na{x=\"1\",y=\"2\"} 1\na{x=\"1\"} 4\n");
        assert_eq!((c.samples, c.duplicates), (2, 2));
    }

    #[test]
    fn bad_bodies_are_refused_with_the_line() {
        let cases = [
            ("a{x=\"1\"} 1\nb 1\na 2\n", "line 3: a appears again"),
            (
                "# TYPE a gauge\n# TYPE a gauge\n",
                "line 2: a second TYPE for a",
            ),
            (
                "a 1\n# TYPE a gauge\n",
                "line 2: TYPE of a after its samples",
            ),
            ("# TYPE a info\n", "unknown type \"info\""),
            ("# HELP a x\\y\n", "only \\\\ and \\n may be escaped"),
            ("# HELP 1a x\n", "\"1a\" is not a metric name"),
            ("a{x=\"a\\q\"} 1\n", "invalid escape \\q"),
            ("a{x=\"a} 1\n", "no closing quote"),
            ("a{x=\"1\",x=\"2\"} 1\n", "label \"x\" given twice"),
            ("a{1x=\"1\"} 1\n", "expected a label name"),
            ("a{x=1} 1\n", "expected =\" after label \"x\""),
            ("a{x=\"1\" y=\"2\"} 1\n", "expected , or }"),
            ("a one\n", "\"one\" is not a number"),
            ("a\n", "the value is missing"),
            ("a-1 1\n", "unexpected \"-1 1\" after the name"),
            ("a 1 1700000000\n", "timestamp"),
            ("a{job=\"j\"} 1\n", "the label \"job\""),
            ("a{__x=\"j\"} 1\n", "names starting with __ are reserved"),
            (
                "push_time_seconds 1\n",
                "keeps push_time_seconds for itself",
            ),
            ("-a 1\n", "expected a metric name"),
        ];
        for (text, want) in cases {
            let err = run(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
        let mut out = Vec::new();
        assert!(
            check(b"a 1\n\xff 1\n", &[], &mut out)
                .unwrap_err()
                .contains("line 2: not UTF-8")
        );
    }

    #[test]
    fn grouping_labels_are_refused_but_others_pass() {
        let key = vec![("job".into(), "j".into()), ("cluster".into(), "c".into())];
        let mut out = Vec::new();
        let err = check(b"a{cluster=\"c\"} 1\n", &key, &mut out).unwrap_err();
        assert!(err.contains("\"cluster\""), "{err}");
        assert!(check(b"a{instance=\"i\"} 1\n", &key, &mut out).is_ok());
    }

    #[test]
    fn histograms_and_summaries_keep_their_suffixed_samples_together() {
        let text = "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n\
                    # TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 1\ns_count 1\n";
        let (c, _) = run(text).unwrap();
        assert_eq!(c.families, ["h", "s"]);
        assert_eq!(c.samples, 7);
    }

    #[test]
    fn build_renders_and_gzips_the_set() {
        let mut spool = Spool::default();
        spool.push(&[("name", "w")], 1.0).unwrap();
        spool.push(&[("name", "w")], 1.0).unwrap();
        let set = MetricSet {
            families: vec![Family {
                name: "cartographer_workload_info".into(),
                help: "Workload info".into(),
                metric_type: MetricType::Info,
                parts: vec![Part {
                    resource: 0,
                    cluster: None,
                    extra_labels: vec![],
                    samples: Arc::new(spool),
                }],
            }],
            resources: vec![],
            names: Default::default(),
        };
        let body = build(&set, &job("j")).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body.gzip[..]), &mut text)
            .unwrap();
        assert_eq!(
            text,
            "# HELP cartographer_workload_info Workload info\n\
             # TYPE cartographer_workload_info gauge\n\
             cartographer_workload_info{name=\"w\"} 1\n"
        );
        assert_eq!((body.checked.samples, body.checked.duplicates), (1, 1));
    }
}

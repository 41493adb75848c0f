//! The body of one push: the group's Prometheus text 0.0.4, written from the
//! model, duplicate series dropped, gzipped. The engine and the renderer
//! guarantee names (none reserved) and escaping; what is checked here is what
//! only a push needs: the labels the group key owns and the gateway's own
//! families.

use std::io;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::model::MetricSet;
use crate::render::SeenSeries;
use crate::render::prometheus::family_where;

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

/// Writes, checks and compresses `set`. `grouping` is the group's key (job
/// first): samples must not carry those labels, as the Go client insists,
/// because the Pushgateway silently overwrites them. Duplicate series (see
/// [`SeenSeries`]) are dropped, keeping the first: Prometheus would reject
/// the second at scrape time even where the Pushgateway takes both.
pub(crate) fn build(set: &MetricSet, grouping: &[(String, String)]) -> Result<Body, BodyError> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    let mut checked = Checked::default();
    for fam in &set.families {
        let mut seen = SeenSeries::default();
        let mut kept = 0u64;
        let mut refused = None;
        let written = family_where(&mut gz, fam, |s| {
            if let Some(why) = refusal(&fam.name, s.labels, grouping) {
                refused = Some(why);
                return Err(io::Error::other("refused"));
            }
            if !seen.insert(s.labels) {
                checked.duplicates += 1;
                return Ok(false);
            }
            kept += 1;
            Ok(true)
        });
        if let Some(why) = refused {
            return Err(why);
        }
        written.map_err(BodyError::Read)?;
        if kept > 0 {
            checked.families.push(fam.name.clone());
            checked.samples += kept;
        }
    }
    let gzip = gz.finish().map_err(BodyError::Compress)?;
    Ok(Body { gzip, checked })
}

/// Why a body could not be built.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    #[error("the Pushgateway keeps {family} for itself; rename the metric in the config")]
    ReservedFamily { family: String },
    #[error(
        "{family} has samples with the label {label:?}, which the Pushgateway would overwrite with the grouping key's {label}={value:?}; rename the label in the config or leave it out of the grouping key"
    )]
    GroupingLabel {
        family: String,
        label: String,
        value: String,
    },
    #[error("cannot read the snapshot's samples: {0}")]
    Read(#[source] io::Error),
    #[error("cannot compress the body: {0}")]
    Compress(#[source] io::Error),
}

/// Why a sample of family `name` with `labels` cannot be pushed, if it cannot.
fn refusal(
    name: &str,
    labels: &[(&str, &str)],
    grouping: &[(String, String)],
) -> Option<BodyError> {
    if RESERVED_NAMES.contains(&name) {
        return Some(BodyError::ReservedFamily {
            family: name.to_string(),
        });
    }
    for (label, _) in labels {
        if let Some((_, value)) = grouping.iter().find(|(k, _)| k == label) {
            return Some(BodyError::GroupingLabel {
                family: name.to_string(),
                label: label.to_string(),
                value: value.clone(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Family, MetricType, Part, Spool};
    use std::sync::Arc;

    /// A sample's labels, sorted by name.
    type Labels<'a> = &'a [(&'a str, &'a str)];

    fn job(j: &str) -> Vec<(String, String)> {
        vec![("job".into(), j.into())]
    }

    /// A set of one family per `(name, samples)`.
    fn set(families: &[(&str, &[Labels])]) -> MetricSet {
        let families = families
            .iter()
            .map(|(name, samples)| {
                let mut spool = Spool::default();
                for labels in *samples {
                    spool.append(labels, 1.0);
                }
                Family {
                    name: name.to_string(),
                    help: "Help".into(),
                    metric_type: MetricType::Gauge,
                    parts: vec![Part {
                        resource: 0,
                        cluster: None,
                        extra_labels: vec![],
                        samples: Arc::new(spool),
                    }],
                }
            })
            .collect();
        MetricSet {
            families,
            resources: vec![],
            names: Default::default(),
        }
    }

    fn text(body: &Body) -> String {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body.gzip[..]), &mut text)
            .unwrap();
        text
    }

    #[test]
    fn duplicate_series_are_dropped_keeping_the_first() {
        let body = build(
            &set(&[(
                "a",
                &[
                    &[("x", "1"), ("y", "2")],
                    &[("x", "1"), ("y", "2")],
                    &[("x", "1"), ("y", "2"), ("z", "")],
                    &[("x", "1")],
                ],
            )]),
            &job("x"),
        )
        .unwrap();
        assert_eq!(
            text(&body),
            "# HELP a Help\n# TYPE a gauge\na{x=\"1\",y=\"2\"} 1\na{x=\"1\"} 1\n"
        );
        assert_eq!((body.checked.samples, body.checked.duplicates), (2, 2));
        assert_eq!(body.checked.families, ["a"]);
    }

    #[test]
    fn families_without_samples_are_written_but_not_counted() {
        let body = build(&set(&[("a", &[]), ("b", &[&[("x", "1")]])]), &job("j")).unwrap();
        assert_eq!(
            text(&body),
            "# HELP a Help\n# TYPE a gauge\n# HELP b Help\n# TYPE b gauge\nb{x=\"1\"} 1\n"
        );
        assert_eq!(body.checked.families, ["b"]);
    }

    #[test]
    fn what_the_gateway_owns_is_refused() {
        let key = vec![("job".into(), "j".into()), ("cluster".into(), "c".into())];
        let cases: [(&str, Labels, &str); 3] = [
            ("a", &[("cluster", "c")], "the label \"cluster\""),
            ("a", &[("job", "j")], "the label \"job\""),
            (
                "push_time_seconds",
                &[],
                "keeps push_time_seconds for itself",
            ),
        ];
        for (name, labels, want) in cases {
            let err = build(&set(&[(name, &[labels])]), &key)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{name} {labels:?}: {err}");
        }
        assert!(build(&set(&[("a", &[&[("instance", "i")]])]), &key).is_ok());
        // A reserved family without samples is nothing to refuse.
        assert!(build(&set(&[("push_time_seconds", &[])]), &key).is_ok());
    }

    #[test]
    fn build_renders_and_gzips_the_set() {
        let mut spool = Spool::default();
        spool.append(&[("name", "w")], 1.0);
        spool.append(&[("name", "w")], 1.0);
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
        assert_eq!(
            text(&body),
            "# HELP cartographer_workload_info Workload info\n\
             # TYPE cartographer_workload_info gauge\n\
             cartographer_workload_info{name=\"w\"} 1\n"
        );
        assert_eq!((body.checked.samples, body.checked.duplicates), (1, 1));
    }
}

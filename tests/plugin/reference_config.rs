//! The public TAP config for kube-state-metrics (a copy of the reference values
//! file is in tests/fixtures) against our embedded default and our output on the
//! realistic fixtures in examples/.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use tap_metrics::config::{self, Form, Metrics};
use tap_metrics::engine::{Engine, EvalErrors};
use tap_metrics::model::MetricSet;
use tap_metrics::render::{self, Format, TableOptions};
use tap_metrics::source::file::parse_objects;

const REFERENCE: &str = include_str!("../fixtures/tap-ksm-values-example.yaml");
const OBJECTS: &[u8] = include_bytes!("../../examples/tap-objects.yaml");
const QUERIES: &str = include_str!("../fixtures/tap-promql-queries.tsv");

/// The two label names the reference misspells, and our spelling.
const RENAMED: [(&str, &str); 2] = [
    ("last_transition_ime", "last_transition_time"),
    ("unkown_cve_count", "unknown_cve_count"),
];

fn reference() -> Metrics {
    let loaded = config::load_str(REFERENCE, "reference").expect("the reference loads unchanged");
    assert_eq!(loaded.form, Form::KubePrometheusStackValues);
    assert!(loaded.unknown_keys.is_empty(), "{:?}", loaded.unknown_keys);
    loaded.config
}

fn snapshot(config: &Metrics, objects: &[Value]) -> (MetricSet, EvalErrors) {
    let engine = Engine::compile(config, "test").expect("compiles");
    let mut batches = engine.batches(None, &Vec::new());
    let mut errors = EvalErrors::new(1);
    for obj in objects {
        engine.evaluate_matching(&mut batches, obj, &mut errors);
    }
    (engine.assemble(batches), errors)
}

fn prometheus(set: &MetricSet) -> String {
    let mut out = Vec::new();
    render::render(set, Format::Prometheus, &TableOptions::default(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn objects() -> Vec<Value> {
    parse_objects(OBJECTS, "examples/tap-objects.yaml").expect("fixtures parse")
}

/// metric name → label names of every metric of a config, as written.
fn names(config: &Metrics) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for r in &config.spec.resources {
        for m in &r.metrics {
            let name = match r.prefix() {
                "" => m.name.clone(),
                p => format!("{p}_{}", m.name),
            };
            let mut labels: BTreeSet<String> = r.labels_from_path.keys().cloned().collect();
            let each = &m.each;
            for l in [
                each.gauge.as_ref().map(|g| &g.labels_from_path),
                each.info.as_ref().map(|i| &i.labels_from_path),
                each.state_set.as_ref().map(|s| &s.labels_from_path),
            ]
            .into_iter()
            .flatten()
            {
                labels.extend(l.keys().cloned());
            }
            out.insert(name, labels);
        }
    }
    out
}

#[test]
fn the_embedded_default_keeps_the_reference_names() {
    let reference = names(&reference());
    let ours = names(&config::tap_default().config);
    assert_eq!(reference.len(), 42);
    assert_eq!(
        reference.keys().collect::<Vec<_>>(),
        ours.keys().collect::<Vec<_>>(),
        "same metric names"
    );
    for (metric, labels) in &reference {
        let fixed: BTreeSet<String> = labels
            .iter()
            .map(|l| {
                RENAMED
                    .iter()
                    .find(|(bad, _)| bad == l)
                    .map_or(l.clone(), |(_, good)| good.to_string())
            })
            .collect();
        assert_eq!(&fixed, &ours[metric], "labels of {metric}");
    }
}

#[test]
fn the_default_gives_what_the_reference_gives_bar_the_renamed_labels() {
    // The reference pins old API versions; compare on the objects it reads.
    let reference = reference();
    let objs: Vec<Value> = objects()
        .into_iter()
        .filter(|o| {
            reference.spec.resources.iter().any(|r| {
                let gvk = &r.group_version_kind;
                let api = o["apiVersion"].as_str().unwrap();
                o["kind"] == gvk.kind.as_str()
                    && (api == format!("{}/{}", gvk.group, gvk.version)
                        || (gvk.version == "*" && api.starts_with(&format!("{}/", gvk.group))))
            })
        })
        .collect();
    assert!(objs.len() > 70, "{}", objs.len());
    let (theirs, _) = snapshot(&reference, &objs);
    let (ours, _) = snapshot(&config::tap_default().config, &objs);
    let mut expected = prometheus(&theirs);
    for (bad, good) in RENAMED {
        expected = expected.replace(&format!("{bad}="), &format!("{good}="));
    }
    let expected_lines: BTreeSet<&str> = expected.lines().collect();
    let ours = prometheus(&ours);
    let our_lines: BTreeSet<&str> = ours.lines().collect();
    assert_eq!(expected_lines.len(), our_lines.len());
    assert_eq!(expected_lines, our_lines);
}

#[test]
fn every_reference_metric_is_produced_from_the_fixtures() {
    let (set, errors) = snapshot(&config::tap_default().config, &objects());
    let with_samples: BTreeSet<&str> = set
        .families
        .iter()
        .filter(|f| !f.is_empty())
        .map(|f| f.name.as_str())
        .collect();
    let all: BTreeSet<String> = names(&reference()).into_keys().collect();
    let missing: Vec<&String> = all
        .iter()
        .filter(|n| !with_samples.contains(n.as_str()))
        .collect();
    assert!(missing.is_empty(), "no samples for {missing:?}");
    // The fixtures hold a Workload and a Fragment without status, as KSM logs them.
    assert_eq!(errors.total, 2, "{:?}", errors.messages);
    assert!(
        errors
            .messages
            .iter()
            .all(|m| m.ends_with("[status,conditions]: got nil while resolving path"))
    );
}

#[test]
fn every_query_finds_its_metrics_and_labels() {
    let (set, _) = snapshot(&config::tap_default().config, &objects());
    let families: BTreeMap<&str, BTreeSet<String>> = set
        .families
        .iter()
        .map(|f| (f.name.as_str(), f.label_names()))
        .collect();
    let mut checked = 0;
    for line in QUERIES.lines().filter(|l| !l.trim().is_empty()) {
        let (case, query) = line.split_once('\t').expect("use case TAB query");
        let (metrics, labels) = query_names(query);
        assert!(!metrics.is_empty(), "{case}: no metric found in {query}");
        for m in &metrics {
            let Some(have) = families.get(m.as_str()) else {
                panic!("{case}: metric {m} is not in our output");
            };
            for l in &labels {
                // Labels of another metric of the same query are checked there.
                let anywhere = metrics
                    .iter()
                    .any(|m2| families.get(m2.as_str()).is_some_and(|h| h.contains(l)));
                assert!(
                    have.contains(l) || anywhere,
                    "{case}: label {l} is not on {m}"
                );
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 49);
}

/// Metric names (identifiers followed by `{`, `)` or the end, not functions or
/// keywords) and label names (in matchers and `by (…)`) of a query.
fn query_names(query: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    const WORDS: &[&str] = &[
        "count",
        "by",
        "topk",
        "unless",
        "ignoring",
        "or",
        "label_replace",
    ];
    let mut metrics = BTreeSet::new();
    let mut labels = BTreeSet::new();
    let chars: Vec<char> = query.chars().collect();
    let mut i = 0;
    let mut in_braces = false;
    let mut in_by = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace()).copied();
            if in_braces || in_by {
                if !word.starts_with("__") {
                    labels.insert(word);
                }
            } else if word == "by" || word == "ignoring" {
                in_by = true;
            } else if !WORDS.contains(&word.as_str()) && next != Some('(') {
                metrics.insert(word);
            }
            continue;
        }
        match c {
            '{' => in_braces = true,
            '}' => in_braces = false,
            ')' => in_by = false,
            _ => {}
        }
        i += 1;
    }
    (metrics, labels)
}

#[test]
fn query_parsing_finds_names() {
    let (m, l) = query_names(
        r#"count by (id) (topk(1000, count by (id, workload) (kpack_build_involved_buildpacks{status="a,b"})))"#,
    );
    assert_eq!(
        m.into_iter().collect::<Vec<_>>(),
        ["kpack_build_involved_buildpacks"]
    );
    assert_eq!(
        l.into_iter().collect::<Vec<_>>(),
        ["id", "status", "workload"]
    );
}

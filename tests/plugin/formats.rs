//! Our output read back by real parsers: the openmetrics-parser crate for
//! OpenMetrics, Prometheus' own `promtool check metrics` for text 0.0.4, and
//! serde_json for JSON — on the realistic fixtures and on generated objects.

use std::io::Write;
use std::process::{Command, Stdio};

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tap_metrics::config;
use tap_metrics::engine::{Engine, EvalErrors};
use tap_metrics::model::MetricSet;
use tap_metrics::render::{self, Format, TableOptions};
use tap_metrics::source::file::parse_objects;

fn snapshot(config_text: Option<&str>, objects: &[Value]) -> MetricSet {
    let loaded = match config_text {
        Some(t) => config::load_str(t, "test").unwrap(),
        None => config::tap_default(),
    };
    let engine = Engine::compile(&loaded.config, "test").unwrap();
    let mut batches = engine.batches(None, &Vec::new());
    let mut errors = EvalErrors::new(0);
    for obj in objects {
        engine
            .evaluate_matching(&mut batches, obj, &mut errors)
            .unwrap();
    }
    engine.assemble(batches)
}

fn rendered(set: &MetricSet, format: Format) -> String {
    let mut out = Vec::new();
    render::render(set, format, &TableOptions::default(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn fixtures() -> Vec<Value> {
    parse_objects(
        include_bytes!("../../examples/tap-objects.yaml"),
        "fixtures",
    )
    .unwrap()
}

/// `promtool check metrics` on `text`: Err with its output on a parse error.
/// Lint findings (exit 3, e.g. a family without help) are not parse errors.
fn promtool(text: &str) -> Result<String, String> {
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "promtool is required under CI (apt-get install prometheus): {e}"
            );
            eprintln!(
                "note: promtool not found ({e}); install Debian's `prometheus` package to run this check"
            );
            return Ok(String::new());
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match out.status.code() {
        Some(0) | Some(3) if !said.contains("error while linting") => Ok(said),
        _ => Err(said),
    }
}

#[test]
fn fixtures_parse_as_openmetrics() {
    let text = rendered(&snapshot(None, &fixtures()), Format::Openmetrics);
    let parsed = openmetrics_parser::openmetrics::parse_openmetrics(&text)
        .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    // 41 of 42 metrics have samples (one Fragment without status gives none for
    // its conditions but others do); every family with samples is there.
    let with_samples = snapshot(None, &fixtures())
        .families
        .iter()
        .filter(|f| !f.is_empty())
        .count();
    assert_eq!(parsed.families.len(), with_samples);
    assert!(
        parsed.families.contains_key("cartographer_workload"),
        "info family named without _info"
    );
    let workload_info = &parsed.families["cartographer_workload"];
    assert_eq!(
        workload_info.family_type,
        openmetrics_parser::OpenMetricsType::Info
    );
}

#[test]
fn fixtures_pass_promtool() {
    let text = rendered(&snapshot(None, &fixtures()), Format::Prometheus);
    let said = promtool(&text).unwrap_or_else(|e| panic!("promtool: {e}"));
    assert!(!said.contains("error"), "{said}");
}

#[test]
fn fixtures_as_json_have_prom2json_shape() {
    let set = snapshot(None, &fixtures());
    let v: Value = serde_json::from_str(&rendered(&set, Format::Json)).unwrap();
    let fams = v.as_array().unwrap();
    assert_eq!(fams.len(), set.families.len());
    for f in fams {
        assert!(f["name"].is_string() && f["help"].is_string());
        assert_eq!(f["type"], "GAUGE");
        for m in f["metrics"].as_array().unwrap() {
            assert!(m["value"].is_string());
            assert!(
                m["labels"]
                    .as_object()
                    .unwrap()
                    .values()
                    .all(Value::is_string)
            );
        }
    }
}

#[test]
fn same_input_same_bytes() {
    let a = rendered(&snapshot(None, &fixtures()), Format::Openmetrics);
    let b = rendered(&snapshot(None, &fixtures()), Format::Openmetrics);
    assert_eq!(a, b);
}

#[test]
fn duplicate_series_are_dropped_only_where_the_format_forbids_them() {
    let obj = json!({"apiVersion": "kpack.io/v1alpha2", "kind": "Build", "metadata": {"name": "b", "namespace": "n"},
                     "status": {"buildMetadata": [{"id": "x", "version": "1"}, {"id": "x", "version": "1"}]}});
    let set = snapshot(None, &[obj]);
    let prom = rendered(&set, Format::Prometheus);
    assert_eq!(
        prom.matches("kpack_build_involved_buildpacks{").count(),
        2,
        "{prom}"
    );
    let om = rendered(&set, Format::Openmetrics);
    assert_eq!(
        om.matches("kpack_build_involved_buildpacks{").count(),
        1,
        "{om}"
    );
    openmetrics_parser::openmetrics::parse_openmetrics(&om).unwrap();
}

/// A config that reaches every code path that writes labels from object data.
const STRESS: &str = r#"
kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Foo}
    labelsFromPath: {name: [metadata, name], whole: [spec, value]}
    metrics:
    - name: stars_info
      help: "help with \"quotes\", a \\ and\na newline"
      each: {type: Info, info: {labelsFromPath: {"*": [spec, map], "p_*": [spec, map], v: [spec, value]}}}
    - name: by_key
      each: {type: Gauge, gauge: {path: [spec, map], labelFromKey: key, labelsFromPath: {v: [spec, value]}}}
    - name: list
      each: {type: Gauge, gauge: {path: [spec, list], labelsFromPath: {item: []}}}
    - name: state
      each: {type: StateSet, stateSet: {path: [spec], valueFrom: [value], labelName: state, list: [a, b]}}
"#;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
        prop_oneof![
            Just("True"),
            Just("250m"),
            Just("12.5%"),
            Just("2024-01-02T03:04:05Z"),
            Just("a\\\"\n")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn stress_object() -> impl Strategy<Value = Value> {
    (any::<String>(), json_value(), json_value(), json_value()).prop_map(
        |(name, map, list, value)| {
            json!({"apiVersion": "example.com/v1", "kind": "Foo", "metadata": {"name": name},
               "spec": {"map": map, "list": list, "value": value}})
        },
    )
}

#[test]
fn objects_that_give_no_sample_give_an_empty_exposition() {
    // Every metric of STRESS errs or finds nothing on this object (the case
    // proptest found): the output is the bare `# EOF` the spec allows.
    let obj = json!({"apiVersion": "example.com/v1", "kind": "Foo", "metadata": {"name": ""},
                     "spec": {"list": "", "map": "", "value": null}});
    let set = snapshot(Some(STRESS), &[obj]);
    assert_eq!(set.sample_count(), 0);
    assert_eq!(rendered(&set, Format::Openmetrics), "# EOF\n");
    assert!(
        openmetrics_parser::openmetrics::parse_openmetrics("# EOF\n").is_err(),
        "openmetrics-parser now reads an empty exposition: drop the special case above"
    );
    let text = rendered(&set, Format::Prometheus);
    assert!(promtool(&text).is_ok(), "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_objects_give_parseable_openmetrics(objs in prop::collection::vec(stress_object(), 1..6)) {
        let set = snapshot(Some(STRESS), &objs);
        let om = rendered(&set, Format::Openmetrics);
        if set.sample_count() == 0 {
            // Valid OpenMetrics, but openmetrics-parser rejects an empty metric set.
            prop_assert_eq!(om.as_str(), "# EOF\n");
        } else {
            prop_assert!(openmetrics_parser::openmetrics::parse_openmetrics(&om).is_ok(), "{}", om);
        }
        let js = rendered(&set, Format::Json);
        prop_assert!(serde_json::from_str::<Value>(&js).is_ok(), "{}", js);
    }
}

proptest! {
    // promtool is a process per case: fewer cases.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_objects_give_text_promtool_parses(objs in prop::collection::vec(stress_object(), 1..6)) {
        let text = rendered(&snapshot(Some(STRESS), &objs), Format::Prometheus);
        prop_assert!(promtool(&text).is_ok(), "{:?}\n{}", promtool(&text), text);
    }
}

#[test]
fn info_families_are_named_by_the_config_not_by_what_the_cluster_holds() {
    let config = r#"
kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: a.io, version: v1, kind: A}
    metricNamePrefix: ""
    metrics:
    - {name: x, help: x, each: {type: Gauge, gauge: {path: [spec, n]}}}
  - groupVersionKind: {group: b.io, version: v1, kind: B}
    metricNamePrefix: ""
    metrics:
    - {name: x_info, help: i, each: {type: Info, info: {labelsFromPath: {name: [metadata, name]}}}}
    - {name: y_info, help: i, each: {type: Info, info: {labelsFromPath: {name: [metadata, name]}}}}
"#;
    // Only B objects: no family `x` is written, yet `x_info` keeps its gauge
    // type, because `x` is a name of the config.
    let b = json!({"apiVersion": "b.io/v1", "kind": "B", "metadata": {"name": "b"}});
    let text = rendered(&snapshot(Some(config), &[b]), Format::Openmetrics);
    assert!(text.contains("# TYPE x_info gauge\n"), "{text}");
    assert!(text.contains("# TYPE y info\n"), "{text}");
    assert!(!text.contains("# TYPE x gauge"), "{text}");
}

//! The projection (what the live cluster source parses of each listed object)
//! must not change a single sample or error: evaluating the projected object
//! and the whole object give the same text. Checked on the embedded TAP config
//! with the example objects, and on random configs over random objects.

use proptest::prelude::*;
use serde::de::DeserializeSeed;
use serde_json::{Value, json};
use tap_metrics::config::{self, load_str};
use tap_metrics::engine::{Engine, EvalErrors};
use tap_metrics::render::{self, Format, TableOptions};
use tap_metrics::source::file::parse_objects;

/// Prometheus text and error messages of `objects`, whole or projected.
fn evaluate(engine: &Engine, objects: &[Value], projected: bool) -> (String, Vec<String>) {
    let all: Vec<usize> = (0..engine.resources().len()).collect();
    let reads = engine.projection(&all);
    let mut batches = engine.batches(None, &Vec::new());
    let mut errors = EvalErrors::new(1);
    for obj in objects {
        let obj = if projected {
            let text = obj.to_string();
            let mut de = serde_json::Deserializer::from_str(&text);
            reads.seed().deserialize(&mut de).expect("projects")
        } else {
            obj.clone()
        };
        engine.evaluate_matching(&mut batches, &obj, &mut errors);
    }
    let mut out = Vec::new();
    render::render(
        &engine.assemble(batches),
        Format::Prometheus,
        &TableOptions::default(),
        &mut out,
    )
    .unwrap();
    (String::from_utf8(out).unwrap(), errors.messages)
}

#[test]
fn tap_default_gives_the_same_samples_from_projected_objects() {
    let engine = Engine::compile(&config::tap_default().config, "default").unwrap();
    let objects = parse_objects(
        include_bytes!("../../examples/tap-objects.yaml"),
        "examples/tap-objects.yaml",
    )
    .unwrap();
    let whole = evaluate(&engine, &objects, false);
    assert!(whole.0.lines().count() > 300, "{}", whole.0);
    assert_eq!(evaluate(&engine, &objects, true), whole);
}

#[test]
fn projection_drops_what_no_metric_reads() {
    let engine = Engine::compile(&config::tap_default().config, "default").unwrap();
    let workload = engine
        .resources()
        .iter()
        .position(|r| r.gvk.kind == "Workload")
        .unwrap();
    let obj = json!({
        "apiVersion": "carto.run/v1alpha1", "kind": "Workload",
        "metadata": {"name": "w", "namespace": "dev", "uid": "u",
                     "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
                     "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{…}"}},
        "spec": {"source": {"git": {"url": "https://example.com/r.git"}}},
    });
    let reads = engine.projection(&[workload]);
    let text = obj.to_string();
    let got = reads
        .seed()
        .deserialize(&mut serde_json::Deserializer::from_str(&text))
        .unwrap();
    let meta = &got["metadata"];
    assert_eq!(meta["name"], "w");
    assert!(meta.get("managedFields").is_none(), "{got}");
    assert!(meta.get("annotations").is_none(), "{got}");
    assert!(meta.get("uid").is_none(), "{got}");
}

/// Map keys and path segments from one small alphabet, so that paths often hit.
const KEYS: &[&str] = &["a", "b", "k", "0", "1", "k=v"];
const SEGMENTS: &[&str] = &["a", "b", "k", "0", "1", "-1", "k=v", "[k=v]", "[a=1]"];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..4).prop_map(|n| json!(n)),
        Just(json!(2.5)),
        prop::sample::select(vec!["v", "v", "x", "1", "", "true"]).prop_map(|s| json!(s)),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 40, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(KEYS), inner, 0..4).prop_map(|m| {
                Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(prop::sample::select(KEYS), value(), 0..4).prop_map(|m| {
        let mut obj: serde_json::Map<String, Value> =
            m.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        obj.insert("apiVersion".into(), json!("example.com/v1"));
        obj.insert("kind".into(), json!("Foo"));
        obj.insert("metadata".into(), json!({"name": "foo", "namespace": "ns"}));
        Value::Object(obj)
    })
}

fn path() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(prop::sample::select(SEGMENTS), 0..3)
}

fn labels() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(
        prop::sample::select(vec!["l1", "l2", "*", "p_*"]),
        path(),
        0..3,
    )
    .prop_map(|m| json!(m))
}

/// A config of one resource and one metric of a random type over random paths.
fn config() -> impl Strategy<Value = String> {
    (
        0..3usize,
        labels(),
        labels(),
        path(),
        path(),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec!["a", "status"]),
    )
        .prop_map(
            |(ty, resource_labels, each_labels, path, value_from, key, nil, first)| {
                // A stateSet path starting at `status` is quiet when nothing is there.
                let path: Vec<&str> = if ty == 2 {
                    std::iter::once(first).chain(path).collect()
                } else {
                    path
                };
                let label_from_key = if key { "key" } else { "" };
                let each = match ty {
                    0 => json!({"type": "Gauge", "gauge": {
                        "path": path, "valueFrom": value_from, "labelsFromPath": each_labels,
                        "labelFromKey": label_from_key, "nilIsZero": nil}}),
                    1 => json!({"type": "Info", "info": {
                        "path": path, "labelsFromPath": each_labels, "labelFromKey": label_from_key}}),
                    _ => json!({"type": "StateSet", "stateSet": {
                        "path": path, "valueFrom": value_from, "labelsFromPath": each_labels,
                        "labelName": "state", "list": ["v", "x", "1"]}}),
                };
                let config = json!({
                    "kind": "CustomResourceStateMetrics",
                    "spec": {"resources": [{
                        "groupVersionKind": {"group": "example.com", "version": "v1", "kind": "Foo"},
                        "metricNamePrefix": "",
                        "labelsFromPath": resource_labels,
                        "metrics": [{"name": "m", "help": "h", "each": each}],
                    }]},
                });
                serde_yaml::to_string(&config).unwrap()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn projected_objects_give_the_same_samples_and_errors(
        config in config(),
        objects in prop::collection::vec(object(), 1..4),
    ) {
        let loaded = load_str(&config, "random.yaml").unwrap();
        let engine = Engine::compile(&loaded.config, "random.yaml").unwrap();
        prop_assert_eq!(evaluate(&engine, &objects, true), evaluate(&engine, &objects, false));
    }
}

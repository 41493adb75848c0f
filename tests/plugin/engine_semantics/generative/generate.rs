//! Strategies for random configs and objects the model and the engine both read.

use super::model::{Each, FLOATS, Go, Metric, Plan, Resource, STRINGS};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Map keys; the plain ones repeated so that paths find them often.
const KEYS: &[&str] = &[
    "a", "a", "a", "b", "b", "b", "c", "c", "k", "a,b", "1x", "__n", "x-y", "", "a=x", "é",
];
const SEGMENTS: &[&str] = &[
    "a", "b", "c", "a,b", "0", "1", "-1", "5", "[a=x]", "[a=1]", "[b=true]", "a=x", "a=True", "k",
    "", "+0",
];
const LABEL_KEYS: &[&str] = &["a", "b", "x-y", "*", "p_*", "**", "*1"];

fn value() -> impl Strategy<Value = Go> {
    let leaf = prop_oneof![
        1 => Just(Go::Nil),
        1 => any::<bool>().prop_map(Go::Bool),
        3 => prop_oneof![
            Just(0i64),
            Just(1),
            Just(-1),
            Just(123_456),
            Just(1_234_567),
            Just(i64::MIN),
            Just(9_007_199_254_740_993),
        ]
        .prop_flat_map(|i| (Just(i), any::<bool>()))
        .prop_map(|(i, neg_zero)| Go::Int(i, neg_zero && i == 0)),
        2 => (0..FLOATS.len()).prop_map(Go::Float),
        3 => (0..STRINGS.len()).prop_map(Go::Str),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Go::List),
            prop::collection::btree_map(
                prop::sample::select(KEYS).prop_map(String::from),
                inner,
                0..4
            )
            .prop_map(Go::Map),
        ]
    })
}

pub fn object() -> impl Strategy<Value = Go> {
    let map = || {
        prop::collection::btree_map(
            prop::sample::select(KEYS).prop_map(String::from),
            value(),
            1..6,
        )
        .prop_map(Go::Map)
    };
    (map(), map()).prop_map(|(spec, status)| {
        let meta = BTreeMap::from([
            ("name".to_string(), Go::Str(3)),
            ("namespace".to_string(), Go::Str(4)),
        ]);
        let string = |s: &str| Go::Str(STRINGS.iter().position(|(t, _)| *t == s).unwrap());
        Go::Map(BTreeMap::from([
            ("apiVersion".to_string(), string("example.com/v1")),
            ("kind".to_string(), string("Foo")),
            ("metadata".to_string(), Go::Map(meta)),
            ("spec".to_string(), spec),
            ("status".to_string(), status),
        ]))
    })
}

/// Path segments, mostly keys the objects use so that paths resolve.
fn segments(max: usize) -> impl Strategy<Value = Vec<String>> {
    let segment = prop_oneof![
        3 => prop::sample::select(&["a", "b", "c"][..]),
        2 => prop::sample::select(SEGMENTS),
    ];
    prop::collection::vec(segment.prop_map(String::from), 0..=max)
}

/// A path from the object's root: usually into spec or status.
fn root_path() -> impl Strategy<Value = Vec<String>> {
    (
        prop::sample::select(&["spec", "spec", "status", "metadata"][..]),
        segments(1),
        any::<bool>(),
    )
        .prop_map(|(first, rest, empty)| {
            if empty && rest.is_empty() && first == "metadata" {
                Vec::new()
            } else {
                std::iter::once(first.to_string()).chain(rest).collect()
            }
        })
}

fn plan(relative: bool) -> impl Strategy<Value = Plan> {
    let path = if relative {
        segments(1).boxed()
    } else {
        root_path().boxed()
    };
    let size = if relative { 1..4 } else { 0..3 };
    prop::collection::btree_map(
        prop::sample::select(LABEL_KEYS).prop_map(String::from),
        path,
        size,
    )
}

fn common() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(
        prop::sample::select(&["c", "a", "customresource_kind"][..]).prop_map(String::from),
        prop::sample::select(&["one", "two"][..]).prop_map(String::from),
        0..2,
    )
}

fn value_from() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![Just(Vec::new()), segments(1)]
}

fn each() -> impl Strategy<Value = Each> {
    let lfk = prop::sample::select(&["", "k", "a"][..]).prop_map(String::from);
    prop_oneof![
        (value_from(), lfk.clone(), any::<bool>()).prop_map(
            |(value_from, label_from_key, nil_is_zero)| {
                Each::Gauge {
                    value_from,
                    label_from_key,
                    nil_is_zero,
                }
            }
        ),
        lfk.prop_map(|label_from_key| Each::Info { label_from_key }),
        (
            value_from(),
            prop::sample::select(&["st", "a"][..]).prop_map(String::from),
            prop::collection::vec(
                prop::sample::select(&["x", "1", "true", "A"][..]).prop_map(String::from),
                1..3
            ),
        )
            .prop_map(|(value_from, label_name, list)| Each::StateSet {
                value_from,
                label_name,
                list,
            }),
    ]
}

pub fn resource() -> impl Strategy<Value = Resource> {
    let metric = (common(), plan(false), root_path(), plan(true), each());
    (common(), plan(false), prop::collection::vec(metric, 1..4)).prop_map(
        |(common, labels, metrics)| Resource {
            common,
            labels,
            metrics: metrics
                .into_iter()
                .enumerate()
                .map(|(i, (common, labels, path, each_labels, each))| Metric {
                    name: format!("m{i}"),
                    common,
                    labels,
                    path,
                    each_labels,
                    each,
                })
                .collect(),
        },
    )
}

/// The resource as a KSM config (JSON, which YAML reads).
pub fn config(res: &Resource) -> String {
    let j = |v: &dyn erased::Json| v.json();
    let metrics: Vec<String> = res
        .metrics
        .iter()
        .map(|m| {
            let each = match &m.each {
                Each::Gauge {
                    value_from,
                    label_from_key,
                    nil_is_zero,
                } => format!(
                    r#""type": "Gauge", "gauge": {{"path": {}, "labelsFromPath": {}, "valueFrom": {}, "labelFromKey": {:?}, "nilIsZero": {nil_is_zero}}}"#,
                    j(&m.path),
                    j(&m.each_labels),
                    j(value_from),
                    label_from_key
                ),
                Each::Info { label_from_key } => format!(
                    r#""type": "Info", "info": {{"path": {}, "labelsFromPath": {}, "labelFromKey": {:?}}}"#,
                    j(&m.path),
                    j(&m.each_labels),
                    label_from_key
                ),
                Each::StateSet {
                    value_from,
                    label_name,
                    list,
                } => format!(
                    r#""type": "StateSet", "stateSet": {{"path": {}, "labelsFromPath": {}, "valueFrom": {}, "labelName": {:?}, "list": {}}}"#,
                    j(&m.path),
                    j(&m.each_labels),
                    j(value_from),
                    label_name,
                    j(list)
                ),
            };
            format!(
                r#"{{"name": {:?}, "help": "h", "commonLabels": {}, "labelsFromPath": {}, "each": {{{each}}}}}"#,
                m.name,
                j(&m.common),
                j(&m.labels)
            )
        })
        .collect();
    format!(
        r#"{{"kind": "CustomResourceStateMetrics", "spec": {{"resources": [{{"groupVersionKind": {{"group": "example.com", "version": "v1", "kind": "Foo"}}, "metricNamePrefix": "", "commonLabels": {}, "labelsFromPath": {}, "metrics": [{}]}}]}}}}"#,
        j(&res.common),
        j(&res.labels),
        metrics.join(", ")
    )
}

/// JSON text of plain config values.
mod erased {
    use std::collections::BTreeMap;

    pub trait Json {
        fn json(&self) -> String;
    }

    impl Json for String {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap()
        }
    }

    impl<T: Json> Json for Vec<T> {
        fn json(&self) -> String {
            format!(
                "[{}]",
                self.iter().map(Json::json).collect::<Vec<_>>().join(", ")
            )
        }
    }

    impl<T: Json> Json for BTreeMap<String, T> {
        fn json(&self) -> String {
            let items: Vec<String> = self
                .iter()
                .map(|(k, v)| format!("{}: {}", k.json(), v.json()))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

//! The engine against kube-state-metrics' observed behaviour, point by point
//! (the numbers are those of shared/reference/ksm-semantics.md). Each case is a
//! config, objects as JSON values, and the exact Prometheus text expected.
//!
//! Split by concern: [`ksm_values`] and [`ksm_structure`] hold KSM points 1–10
//! and 11–23, [`issue_rules`] the rules of issues 9 and 10, [`generative`] the
//! generative test against a reference model of KSM.

mod generative;
mod issue_rules;
mod ksm_structure;
mod ksm_values;

use serde_json::{Value, json};
use tap_metrics::config::load_str;
use tap_metrics::engine::{Engine, EvalErrors};
use tap_metrics::render::{self, Format, TableOptions};

/// Runs `config` over `objects` (each evaluated for every matching resource)
/// and returns the text in `format` and the errors (collected at `-v`).
fn run_as(config: &str, objects: &[Value], format: Format) -> (String, EvalErrors) {
    let loaded = load_str(config, "test.yaml").expect("config loads");
    let engine = Engine::compile(&loaded.config, "test.yaml").expect("config compiles");
    let mut batches = engine.batches(None, &Vec::new());
    let mut errors = EvalErrors::new(1);
    for obj in objects {
        engine.evaluate_matching(&mut batches, obj, &mut errors);
    }
    let set = engine.assemble(batches);
    let mut out = Vec::new();
    render::render(&set, format, &TableOptions::default(), &mut out).unwrap();
    (String::from_utf8(out).unwrap(), errors)
}

fn run(config: &str, objects: &[Value]) -> (String, EvalErrors) {
    run_as(config, objects, Format::Prometheus)
}

/// Sample lines only, with the three forced `customresource_*` labels removed
/// for readability (they are checked in their own test).
fn samples(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let mut s = l.to_string();
            for k in [
                "customresource_group",
                "customresource_kind",
                "customresource_version",
            ] {
                while let Some(start) = s.find(&format!("{k}=\"")) {
                    let end = start
                        + s[start..]
                            .find("\",")
                            .map(|e| e + 2)
                            .unwrap_or_else(|| s[start..].find("\"}").unwrap() + 1);
                    s.replace_range(start..end, "");
                }
            }
            s.replace(",}", "}").replace("{}", "")
        })
        .collect()
}

fn foo(spec: Value, status: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Foo",
           "metadata": {"name": "foo", "namespace": "ns", "creationTimestamp": "2024-01-02T03:04:05Z"},
           "spec": spec, "status": status})
}

/// A config with one resource `example.com/v1 Foo`, no prefix, and `metrics` (YAML list at column 0).
fn config(metrics: &str) -> String {
    config_with("", metrics)
}

fn config_with(resource_extra: &str, metrics: &str) -> String {
    let indent = |s: &str, n: usize| -> String {
        s.lines()
            .map(|l| format!("{}{l}\n", " ".repeat(n)))
            .collect()
    };
    format!(
        "kind: CustomResourceStateMetrics\nspec:\n  resources:\n  - groupVersionKind: {{group: example.com, version: v1, kind: Foo}}\n    metricNamePrefix: \"\"\n{}    metrics:\n{}",
        indent(resource_extra, 4),
        indent(metrics, 4)
    )
}

const CONDITIONS: &str = "
- name: conditions
  help: conds
  each:
    type: Gauge
    gauge:
      path: [status, conditions]
      labelsFromPath: {type: [type]}
      valueFrom: [status]
";

/// The error a config gives when it compiles.
fn compile_error(config: &str) -> String {
    let loaded = load_str(config, "test.yaml").expect("config loads");
    Engine::compile(&loaded.config, "test.yaml")
        .expect_err("config is refused")
        .to_string()
}

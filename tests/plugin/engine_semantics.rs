//! The engine against kube-state-metrics' observed behaviour, point by point
//! (the numbers are those of shared/reference/ksm-semantics.md). Each case is a
//! config, objects as JSON values, and the exact Prometheus text expected.

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
        engine
            .evaluate_matching(&mut batches, obj, &mut errors)
            .unwrap();
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

// 1. Condition status through valueFrom, and the string conversions.
#[test]
fn p01_condition_strings_convert_in_order() {
    let obj = foo(
        json!({}),
        json!({"conditions": [
            {"type": "Ready", "status": "True"},
            {"type": "Degraded", "status": "False"},
            {"type": "Progressing", "status": "Unknown"},
            {"type": "Weird", "status": "Maybe"},
            {"type": "Yes", "status": "yes"},
            {"type": "Time", "status": "2024-01-02T03:04:05Z"},
            {"type": "Milli", "status": "250m"},
            {"type": "Big", "status": "1.5Gi"},
            {"type": "Pct", "status": "12.5%"},
            {"type": "Float", "status": "-3.5"},
            {"type": "NaN", "status": "NaN"},
            {"type": "Bool", "status": true},
            {"type": "Duration", "status": "30s"}
        ]}),
    );
    let (text, errors) = run(&config(CONDITIONS), &[obj]);
    assert_eq!(
        samples(&text),
        [
            "conditions{type=\"Big\"} 1.610612736e+09",
            "conditions{type=\"Bool\"} 1",
            "conditions{type=\"Degraded\"} 0",
            "conditions{type=\"Float\"} -3.5",
            "conditions{type=\"Milli\"} 0.25",
            "conditions{type=\"NaN\"} NaN",
            "conditions{type=\"Pct\"} 0.125",
            "conditions{type=\"Progressing\"} 0",
            "conditions{type=\"Ready\"} 1",
            "conditions{type=\"Time\"} 1.704164645e+09",
            "conditions{type=\"Yes\"} 1",
        ]
    );
    assert_eq!(errors.total, 2, "{:?}", errors.messages);
    assert!(
        errors.messages[0].ends_with("[status,conditions]: [3]: [status]: strconv.ParseFloat: parsing \"Maybe\": invalid syntax"),
        "{:?}",
        errors.messages
    );
    assert!(
        errors.messages[1].contains("parsing \"30s\""),
        "{:?}",
        errors.messages
    );
}

// 2. How values are written.
#[test]
fn p02_values_print_like_ksm() {
    let metrics = "
- name: v
  each:
    type: Gauge
    gauge: {path: [spec], labelFromKey: k}
";
    let obj = foo(
        json!({"a": 123456, "b": 1234567, "c": 0.00001, "d": "2024-01-02T03:04:05Z", "e": "5Gi", "f": 1, "g": 0, "h": -1, "i": 1.0}),
        json!({}),
    );
    let (text, _) = run(&config(metrics), &[obj]);
    assert_eq!(
        samples(&text),
        [
            "v{k=\"a\"} 123456",
            "v{k=\"b\"} 1.234567e+06",
            "v{k=\"c\"} 1e-05",
            "v{k=\"d\"} 1.704164645e+09",
            "v{k=\"e\"} 5.36870912e+09",
            "v{k=\"f\"} 1",
            "v{k=\"g\"} 0",
            "v{k=\"h\"} -1",
            "v{k=\"i\"} 1",
        ]
    );
}

// 3. Failures are logged for scalars and list elements, silent in map iteration.
#[test]
fn p03_conversion_failures_depend_on_the_path() {
    let metrics = "
- name: scalar
  each: {type: Gauge, gauge: {path: [spec, bad]}}
- name: list
  each: {type: Gauge, gauge: {path: [spec, list]}}
- name: map
  each: {type: Gauge, gauge: {path: [spec, values], labelFromKey: key}}
";
    let obj = foo(
        json!({"bad": "n/a", "list": [1, "n/a", 3], "values": {"bad": "n/a", "nil": null, "good": 2}}),
        json!({}),
    );
    let (text, errors) = run(&config(metrics), &[obj]);
    assert_eq!(samples(&text), ["list 1", "list 3", "map{key=\"good\"} 2"]);
    assert_eq!(errors.total, 2, "{:?}", errors.messages);
    assert_eq!(errors.by_metric.get("scalar"), Some(&1));
    assert!(
        errors.messages[1].contains("[spec,list]: [1]: []: strconv.ParseFloat"),
        "{:?}",
        errors.messages
    );
}

// 4. Missing data.
#[test]
fn p04_missing_data() {
    let metrics = "
- name: missing_path
  each: {type: Gauge, gauge: {path: [status, replicas]}}
- name: missing_value_from
  each: {type: Gauge, gauge: {path: [status], valueFrom: [replicas]}}
- name: nil_is_zero
  each: {type: Gauge, gauge: {path: [status, replicas], nilIsZero: true}}
- name: state_missing
  each: {type: StateSet, stateSet: {path: [status, phase], labelName: phase, list: [A, B]}}
- name: state_not_string
  each: {type: StateSet, stateSet: {path: [spec, count], labelName: phase, list: [A, B]}}
";
    let (text, errors) = run(
        &config(metrics),
        &[foo(json!({"count": 3}), json!({"other": 1}))],
    );
    assert_eq!(samples(&text), ["nil_is_zero 0"]);
    let msgs = errors.messages.join("\n");
    assert_eq!(errors.total, 2, "{msgs}");
    assert!(
        msgs.contains("missing_path Foo ns/foo: [status,replicas]: got nil while resolving path"),
        "{msgs}"
    );
    assert!(
        msgs.contains("[spec,count]: expected value for path to be string, got int64"),
        "{msgs}"
    );
}

// 5. Headers for every family of a GVK with objects; nothing for a GVK without.
#[test]
fn p05_families_without_samples_keep_headers() {
    let cfg = "
kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Foo}
    metrics:
    - {name: none, help: never a sample, each: {type: Gauge, gauge: {path: [nope]}}}
  - groupVersionKind: {group: example.com, version: v1, kind: Bar}
    metrics:
    - {name: bar, help: no objects, each: {type: Gauge, gauge: {path: [spec, x]}}}
";
    let (text, _) = run(cfg, &[foo(json!({}), json!({}))]);
    assert_eq!(
        text,
        "# HELP kube_customresource_none never a sample\n# TYPE kube_customresource_none gauge\n"
    );
    let (text, _) = run(cfg, &[]);
    assert_eq!(text, "");
    // OpenMetrics leaves header-only families out.
    let (om, _) = run_as(cfg, &[foo(json!({}), json!({}))], Format::Openmetrics);
    assert_eq!(om, "# EOF\n");
}

// 6. Label values of lists, maps and scalars are Go's %v.
#[test]
fn p06_label_values_print_like_go() {
    let metrics = "
- name: l
  each:
    type: Info
    info:
      labelsFromPath:
        list: [spec, list]
        empty_list: [spec, empty_list]
        map: [spec, map]
        empty_map: [spec, empty_map]
        int: [spec, int]
        big_float: [spec, big_float]
        bool: [spec, bool]
        str: [spec, str]
";
    let obj = foo(
        json!({"list": ["dev", "tap-install"], "empty_list": [], "map": {"k2": 2, "k1": "v1"}, "empty_map": {},
               "int": 1234567, "big_float": 1234567.5, "bool": true, "str": "s"}),
        json!({}),
    );
    let (text, _) = run(&config(metrics), &[obj]);
    assert_eq!(
        samples(&text),
        [
            "l{big_float=\"1.2345675e+06\",bool=\"true\",empty_list=\"[]\",empty_map=\"map[]\",int=\"1234567\",list=\"[dev tap-install]\",map=\"map[k1:v1 k2:2]\",str=\"s\"} 1"
        ]
    );
}

// 7. Missing paths leave labels out; empty strings stay; an info metric with no own label gives nothing.
#[test]
fn p07_missing_labels_are_left_out() {
    let metrics = "
- name: i
  each:
    type: Info
    info:
      labelsFromPath:
        message: [status, message]
        missing: [status, nope]
        nulled: [status, nil]
        past_end: [spec, list, \"9\"]
        no_match: [spec, str=nope]
- name: empty
  each: {type: Info, info: {labelsFromPath: {missing: [nope]}}}
";
    let res = "labelsFromPath: {name: [metadata, name]}\n";
    let obj = foo(
        json!({"list": [1], "str": "x"}),
        json!({"message": "", "nil": null}),
    );
    let (text, _) = run(&config_with(res, metrics), &[obj]);
    assert_eq!(samples(&text), ["i{message=\"\",name=\"foo\"} 1"]);
}

// 8. `*` expansion.
#[test]
fn p08_star_expansion() {
    let metrics = r#"
- name: s
  each:
    type: Info
    info:
      labelsFromPath:
        "*": [spec, m]
        "lbl_*": [spec, m]
        "*1": [spec, n]
        "**": [spec, n]
        tier: [spec, str]
        "*x": [spec, str]
"#;
    let obj = foo(
        json!({"m": {"tier": "gold", "services.apps.tanzu.vmware.com/tier": "dev"}, "n": {"bar": "b"}, "str": "explicit"}),
        json!({}),
    );
    let (text, _) = run(&config(metrics), &[obj]);
    assert_eq!(
        samples(&text),
        [
            "s{_bar=\"b\",bar=\"b\",lbl_services_apps_tanzu_vmware_com_tier=\"dev\",lbl_tier=\"gold\",services_apps_tanzu_vmware_com_tier=\"dev\",tier=\"explicit\"} 1"
        ]
    );
}

// 9. Sanitised label names; names KSM writes unchecked are refused at load (a deliberate difference).
#[test]
fn p09_names_are_sanitised_or_refused() {
    let metrics =
        "- name: s\n  each: {type: Info, info: {labelsFromPath: {dash-ed.key: [spec, a]}}}\n";
    let (text, _) = run(&config(metrics), &[foo(json!({"a": "x"}), json!({}))]);
    assert_eq!(samples(&text), ["s{dash_ed_key=\"x\"} 1"]);

    for (metrics, want) in [
        (
            "- name: g\n  each: {type: Gauge, gauge: {path: [spec], labelFromKey: my-key}}\n",
            "each.gauge.labelFromKey: \"my-key\" is not a valid label name",
        ),
        (
            "- name: g\n  commonLabels: {bad-key: x}\n  each: {type: Gauge, gauge: {path: [spec]}}\n",
            "commonLabels: \"bad-key\" is not a valid label name",
        ),
        (
            "- name: g\n  each: {type: StateSet, stateSet: {path: [spec], labelName: a.b, list: [x]}}\n",
            "each.stateSet.labelName: \"a.b\" is not a valid label name",
        ),
        (
            "- name: dash-ed-name\n  each: {type: Gauge, gauge: {path: [spec]}}\n",
            "\"dash-ed-name\" is not a valid metric name",
        ),
    ] {
        let loaded = load_str(&config(metrics), "t.yaml").unwrap();
        let err = Engine::compile(&loaded.config, "t.yaml").unwrap_err();
        assert_eq!(err.kind, tap_metrics::ExitKind::Config);
        assert!(err.message.contains(want), "{err}");
        assert!(
            err.message
                .starts_with("config t.yaml: spec.resources[0] (example.com/v1/Foo), metric"),
            "{err}"
        );
    }
}

// 10. Escaping in label values and HELP.
#[test]
fn p10_escaping() {
    let metrics = "- name: e\n  help: \"a \\\\ b\\nc \\\"q\\\"\"\n  each: {type: Info, info: {labelsFromPath: {m: [spec, m]}}}\n";
    let obj = foo(
        json!({"m": "back\\slash \"quoted\"\nnext\ttab é"}),
        json!({}),
    );
    let (text, _) = run(&config(metrics), &[obj]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "# HELP e a \\\\ b\\nc \"q\"");
    assert!(lines[2].starts_with("e{"), "{text}");
    assert!(
        lines[2].contains("m=\"back\\\\slash \\\"quoted\\\"\\nnext\ttab é\""),
        "{text}"
    );
    let (om, _) = run_as(
        &config(metrics),
        &[foo(json!({"m": "x"}), json!({}))],
        Format::Openmetrics,
    );
    assert!(om.starts_with("# HELP e a \\\\ b\\nc \\\"q\\\"\n"), "{om}");
}

// 11. Label precedence, lowest to highest: resource commonLabels, metric commonLabels,
// resource labelsFromPath, metric labelsFromPath, each-level labels.
#[test]
fn p11_label_precedence() {
    let cfg = r#"
kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Foo}
    metricNamePrefix: ""
    commonLabels: {a: res_common, b: res_common, customresource_kind: ignored}
    labelsFromPath:
      name: [metadata, name]
      tier: [spec, resource_tier]
      gone: [spec, resource_gone]
      namespace: [metadata, namespace]
    metrics:
    - name: p
      commonLabels: {b: metric_common, c: metric_common, namespace: metric_common}
      labelsFromPath:
        tier: [spec, metric_tier]
        gone: [spec, missing]
        c: [spec, missing]
      each:
        type: Info
        info:
          labelsFromPath: {name: [spec, each_name]}
    - name: kind_override
      commonLabels: {customresource_kind: overridden}
      each: {type: Info, info: {labelsFromPath: {x: [spec, each_name]}}}
"#;
    let obj = foo(
        json!({"resource_tier": "r", "metric_tier": "m", "resource_gone": "r", "each_name": "gold"}),
        json!({}),
    );
    let (text, _) = run(cfg, &[obj]);
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        lines[0],
        "p{a=\"res_common\",b=\"metric_common\",c=\"metric_common\",customresource_group=\"example.com\",customresource_kind=\"Foo\",customresource_version=\"v1\",name=\"gold\",namespace=\"ns\",tier=\"m\"} 1"
    );
    assert!(
        lines[1].contains("customresource_kind=\"overridden\""),
        "{}",
        lines[1]
    );
}

// 12. each-level labelsFromPath are relative to `path`; on a map path the map itself wins.
#[test]
fn p12_each_labels_are_relative() {
    let metrics = "
- name: by_key
  each:
    type: Gauge
    gauge:
      path: [status, sub]
      labelFromKey: type
      valueFrom: [ready]
      labelsFromPath: {active: [active], shared: [shared]}
- name: conds
  each: {type: Gauge, gauge: {path: [status, conditions], valueFrom: [status], labelsFromPath: {type: [type]}}}
";
    let obj = foo(
        json!({}),
        json!({"sub": {"type-a": {"ready": 2, "active": 1, "shared": "child"}, "type-b": {"ready": 4, "active": 3}, "shared": "parent"},
               "conditions": [{"type": "Ready", "status": "True"}]}),
    );
    let (text, _) = run(&config(metrics), &[obj]);
    assert_eq!(
        samples(&text),
        [
            "by_key{active=\"1\",shared=\"parent\",type=\"type-a\"} 2",
            "by_key{active=\"3\",shared=\"parent\",type=\"type-b\"} 4",
            "conds{type=\"Ready\"} 1",
        ]
    );
}

// 13. Info on a map path: one sample for the map plus one per child map that yields labels.
#[test]
fn p13_info_on_a_map_path() {
    let metrics = "- name: meta\n  each: {type: Info, info: {path: [metadata], labelsFromPath: {name: [name]}}}\n";
    let mut obj = foo(json!({}), json!({}));
    obj["metadata"]["labels"] = json!({"name": "child-label-called-name"});
    let (text, _) = run(&config(metrics), &[obj]);
    assert_eq!(
        samples(&text),
        [
            "meta{name=\"child-label-called-name\"} 1",
            "meta{name=\"foo\"} 1"
        ]
    );

    let metrics =
        "- name: keys\n  each: {type: Info, info: {path: [spec, m], labelFromKey: key}}\n";
    let (text, _) = run(
        &config(metrics),
        &[foo(json!({"m": {"x": 1, "y": {"z": 2}}}), json!({}))],
    );
    assert_eq!(samples(&text), ["keys{key=\"x\"} 1", "keys{key=\"y\"} 1"]);
}

// 14. Metric name prefixes.
#[test]
fn p14_metric_names() {
    let cfg = "
kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Foo}
    metrics: [{name: absent, each: {type: Gauge, gauge: {path: [spec, x]}}}]
  - groupVersionKind: {group: example.com, version: v1, kind: Foo}
    metricNamePrefix: \"\"
    metrics: [{name: empty, each: {type: Gauge, gauge: {path: [spec, x]}}}]
  - groupVersionKind: {group: example.com, version: v1, kind: Foo}
    metricNamePrefix: acme
    metrics: [{name: set, each: {type: Info, info: {labelsFromPath: {x: [spec, x]}}}}]
";
    let (text, _) = run(cfg, &[foo(json!({"x": 1}), json!({}))]);
    let names: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE")).collect();
    assert_eq!(
        names,
        [
            "# TYPE kube_customresource_absent gauge",
            "# TYPE empty gauge",
            "# TYPE acme_set gauge"
        ]
    );
}

// 15. HELP/TYPE lines: empty help keeps a trailing space; info and stateset are gauge in text
// and keep their types in OpenMetrics where the naming rules allow.
#[test]
fn p15_headers_and_types() {
    let metrics = "
- name: gadget_size
  each: {type: Gauge, gauge: {path: [spec, size]}}
- name: thing_info
  help: info
  each: {type: Info, info: {labelsFromPath: {x: [spec, size]}}}
- name: not_suffixed
  help: info without suffix
  each: {type: Info, info: {labelsFromPath: {x: [spec, size]}}}
- name: phase
  help: state
  each: {type: StateSet, stateSet: {path: [status, phase], labelName: phase, list: [Pending, Bar, Baz]}}
- name: other_state
  help: state
  each: {type: StateSet, stateSet: {path: [status, phase], labelName: state, list: [Bar]}}
";
    let obj = foo(json!({"size": 3}), json!({"phase": "Baz"}));
    let (text, _) = run(&config(metrics), std::slice::from_ref(&obj));
    assert!(
        text.starts_with("# HELP gadget_size \n# TYPE gadget_size gauge\n"),
        "{text}"
    );
    assert_eq!(text.matches(" gauge\n").count(), 5, "{text}");
    assert!(text.contains("phase{customresource_group=\"example.com\",customresource_kind=\"Foo\",customresource_version=\"v1\",phase=\"Bar\"} 0\nphase{customresource_group=\"example.com\",customresource_kind=\"Foo\",customresource_version=\"v1\",phase=\"Baz\"} 1\nphase{customresource_group=\"example.com\",customresource_kind=\"Foo\",customresource_version=\"v1\",phase=\"Pending\"} 0"), "{text}");

    let (om, _) = run_as(&config(metrics), &[obj], Format::Openmetrics);
    let types: Vec<&str> = om.lines().filter(|l| l.starts_with("# TYPE")).collect();
    assert_eq!(
        types,
        [
            "# TYPE gadget_size gauge",
            "# TYPE thing info",
            "# TYPE not_suffixed gauge",
            "# TYPE phase stateset",
            "# TYPE other_state gauge",
        ]
    );
    assert!(om.contains("\nthing_info{"), "{om}");
    assert!(om.ends_with("# EOF\n"), "{om}");
}

// 16. One metric name, one family (KSM writes the second family without headers; we merge).
#[test]
fn p16_same_name_is_one_family() {
    let metrics = "
- name: dup
  help: first
  each: {type: Info, info: {labelsFromPath: {a: [spec, a]}}}
- name: dup
  help: second
  each: {type: Info, info: {labelsFromPath: {b: [spec, b]}}}
";
    let (text, _) = run(&config(metrics), &[foo(json!({"a": 1, "b": 2}), json!({}))]);
    assert_eq!(text.matches("# HELP").count(), 1, "{text}");
    assert!(text.contains("# HELP dup first\n"), "{text}");
    assert_eq!(samples(&text), ["dup{a=\"1\"} 1", "dup{b=\"2\"} 1"]);
}

// 17. `type` is case-insensitive; unknown types and bad paths fail at load.
#[test]
fn p17_types_and_compile_errors() {
    let metrics = "
- name: a
  each: {type: GAUGE, gauge: {path: [spec, x]}}
- name: b
  each: {type: info, info: {labelsFromPath: {x: [spec, x]}}}
";
    let (text, _) = run(&config(metrics), &[foo(json!({"x": 1}), json!({}))]);
    assert_eq!(samples(&text), ["a 1", "b{x=\"1\"} 1"]);
    for (metrics, want) in [
        (
            "- name: c\n  each: {type: Counter, gauge: {path: [x]}}\n",
            "each.type \"counter\" is unknown",
        ),
        (
            "- name: c\n  each: {type: Gauge, gauge: {path: [\"[x]\"]}}\n",
            "each.gauge.path: invalid list lookup \"[x]\"",
        ),
        (
            "- name: c\n  each: {type: Gauge}\n",
            "each.gauge is missing (each.type is Gauge)",
        ),
        (
            "- name: c\n  each: {type: StateSet, stateSet: {list: [a]}}\n",
            "each.stateSet.labelName is missing",
        ),
    ] {
        let loaded = load_str(&config(metrics), "t.yaml").unwrap();
        let err = Engine::compile(&loaded.config, "t.yaml").unwrap_err();
        assert!(err.message.contains(want), "{err}");
    }
    let err = load_str(
        &config("- name: c\n  each: {type: Gauge, gauge: {path: spec.size}}\n"),
        "t.yaml",
    )
    .unwrap_err();
    assert!(
        err.message
            .contains("invalid type: string \"spec.size\", expected a sequence"),
        "{err}"
    );
}

// 18. Several entries for one GVK all apply (KSM keeps only the last: a deliberate difference).
#[test]
fn p18_entries_for_one_gvk_all_apply() {
    let cfg = "
kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Foo}
    metricNamePrefix: \"\"
    metrics: [{name: first, each: {type: Gauge, gauge: {path: [spec, x]}}}]
  - groupVersionKind: {group: example.com, version: \"*\", kind: Foo}
    metricNamePrefix: \"\"
    metrics: [{name: second, each: {type: Gauge, gauge: {path: [spec, x]}}}]
";
    let (text, _) = run(cfg, &[foo(json!({"x": 1}), json!({}))]);
    assert_eq!(samples(&text), ["first 1", "second 1"]);
}

// 19. errorLogV: errors of a family are shown only at that verbosity (metric level wins unless 0).
#[test]
fn p19_error_log_v() {
    let cfg = config_with(
        "errorLogV: 3\n",
        "- {name: quiet, each: {type: Gauge, gauge: {path: [nope]}}}\n- {name: loud, errorLogV: 1, each: {type: Gauge, gauge: {path: [nope]}}}\n",
    );
    let (_, errors) = run(&cfg, &[foo(json!({}), json!({}))]);
    assert_eq!(errors.total, 2);
    assert_eq!(errors.messages.len(), 1);
    assert!(
        errors.messages[0].starts_with("loud "),
        "{:?}",
        errors.messages
    );
}

// 20. Within one object, samples are sorted by their each-level labels only.
#[test]
fn p20_order_within_an_object() {
    let metrics = "
- name: bp
  each: {type: Info, info: {path: [status, buildMetadata], labelsFromPath: {id: [id]}}}
- name: c
  each: {type: Gauge, gauge: {path: [status, conditions], valueFrom: [status], labelsFromPath: {type: [type], zz: [zz]}}}
";
    let res = "labelsFromPath: {aaa: [metadata, name]}\n";
    let obj = foo(
        json!({}),
        json!({"buildMetadata": [{"id": "my_other_foo"}, {"id": "foo_2"}, {"id": "foo_with_extensions"}],
               "conditions": [{"type": "B", "status": "True"}, {"type": "A", "status": "True", "zz": "z"}, {"type": "A", "status": "False"}]}),
    );
    let (text, _) = run(&config_with(res, metrics), &[obj]);
    assert_eq!(
        samples(&text),
        [
            "bp{aaa=\"foo\",id=\"foo_2\"} 1",
            "bp{aaa=\"foo\",id=\"foo_with_extensions\"} 1",
            "bp{aaa=\"foo\",id=\"my_other_foo\"} 1",
            "c{aaa=\"foo\",type=\"A\"} 0",
            "c{aaa=\"foo\",type=\"A\",zz=\"z\"} 1",
            "c{aaa=\"foo\",type=\"B\"} 1",
        ]
    );
}

// 21-23. Across objects input order; across resources config order; duplicates stay.
#[test]
fn p21_to_23_order_across_objects_and_duplicates() {
    let cfg = "
kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: example.com, version: v1, kind: Zed}
    metricNamePrefix: \"\"
    metrics: [{name: zed, each: {type: Gauge, gauge: {path: [spec, x]}}}]
  - groupVersionKind: {group: example.com, version: v1, kind: Foo}
    metricNamePrefix: \"\"
    labelsFromPath: {name: [metadata, name]}
    metrics: [{name: foo, each: {type: Gauge, gauge: {path: [spec, x]}}}]
";
    let mk = |kind: &str, name: &str, x: i64| json!({"apiVersion": "example.com/v1", "kind": kind, "metadata": {"name": name}, "spec": {"x": x}});
    let objs = [
        mk("Foo", "b", 1),
        mk("Zed", "z", 1),
        mk("Foo", "a", 2),
        mk("Zed", "z2", 1),
    ];
    let (text, _) = run(cfg, &objs);
    assert_eq!(
        samples(&text),
        ["zed 1", "zed 1", "foo{name=\"b\"} 1", "foo{name=\"a\"} 2"]
    );
}

// The forced GVK labels, with a wildcard version taken from the object.
#[test]
fn gvk_labels_are_forced_and_wildcards_resolve_from_the_object() {
    let cfg = "
kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: tekton.dev, version: \"*\", kind: TaskRun}
    metrics: [{name: x, each: {type: Gauge, gauge: {path: [spec, x]}}}]
";
    let objs = [
        json!({"apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": "a"}, "spec": {"x": 1}}),
        json!({"apiVersion": "tekton.dev/v1beta1", "kind": "TaskRun", "metadata": {"name": "b"}, "spec": {"x": 2}}),
        json!({"apiVersion": "other.dev/v1", "kind": "TaskRun", "metadata": {"name": "c"}, "spec": {"x": 3}}),
    ];
    let (text, _) = run(cfg, &objs);
    assert_eq!(
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>(),
        [
            "kube_customresource_x{customresource_group=\"tekton.dev\",customresource_kind=\"TaskRun\",customresource_version=\"v1\"} 1",
            "kube_customresource_x{customresource_group=\"tekton.dev\",customresource_kind=\"TaskRun\",customresource_version=\"v1beta1\"} 2",
        ]
    );
}

// List filters and `key=value` segments as the TAP config uses them.
#[test]
fn list_filters_and_index_segments() {
    let metrics = r#"
- name: w
  each:
    type: Info
    info:
      labelsFromPath:
        debug_enabled: [spec, params, "[name=debug]", value]
        live_update_enabled: [spec, params, "[name=live-update]", value]
        first: [spec, params, "0", name]
        last: [spec, params, "-1", name]
        status: [status, conditions, "[type=Succeeded]", reason]
"#;
    let obj = foo(
        json!({"params": [{"name": "debug", "value": "true"}, {"name": "live-update", "value": true}]}),
        json!({"conditions": [{"type": "Ready", "reason": "r1"}, {"type": "Succeeded", "reason": "Done"}]}),
    );
    let (text, _) = run(&config(metrics), &[obj]);
    assert_eq!(
        samples(&text),
        [
            "w{debug_enabled=\"true\",first=\"debug\",last=\"live-update\",live_update_enabled=\"true\",status=\"Done\"} 1"
        ]
    );
}

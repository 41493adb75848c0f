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
            {"type": "Pct", "status": "25%"},
            {"type": "PctDecimal", "status": "12.5%"},
            {"type": "Hex", "status": "0x1p-2"},
            {"type": "Underscore", "status": "1_000"},
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
            "conditions{type=\"Hex\"} 0.25",
            "conditions{type=\"Milli\"} 0.25",
            "conditions{type=\"NaN\"} NaN",
            "conditions{type=\"Pct\"} 0.25",
            "conditions{type=\"Progressing\"} 0",
            "conditions{type=\"Ready\"} 1",
            "conditions{type=\"Time\"} 1.704164645e+09",
            "conditions{type=\"Underscore\"} 1000",
            "conditions{type=\"Yes\"} 1",
        ]
    );
    assert_eq!(errors.total, 3, "{:?}", errors.messages);
    assert!(
        errors.messages[0].ends_with("[status,conditions]: [3]: [status]: strconv.ParseFloat: parsing \"Maybe\": invalid syntax"),
        "{:?}",
        errors.messages
    );
    assert!(
        errors.messages[1]
            .contains("[9]: [status]: strconv.ParseFloat: parsing \"12.5%\": invalid syntax"),
        "{:?}",
        errors.messages
    );
    assert!(
        errors.messages[2].contains("parsing \"30s\""),
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
- name: state_missing_outside_status
  each: {type: StateSet, stateSet: {path: [spec], valueFrom: [phase], labelName: phase, list: [A, B]}}
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

/// The error a config gives when it compiles.
fn compile_error(config: &str) -> String {
    let loaded = load_str(config, "test.yaml").expect("config loads");
    Engine::compile(&loaded.config, "test.yaml")
        .expect_err("config is refused")
        .to_string()
}

// Issue 10: values as KSM's toFloat64 converts them, with KSM's printed strings.
#[test]
fn issue10_values_convert_as_ksm_does() {
    let metrics = "
- name: v
  each:
    type: Gauge
    gauge: {path: [spec], labelFromKey: k}
";
    // Parsed from text: serde_json reads `-0` differently from Go.
    let spec = r#"{"pct": "25%", "pct_decimal": "12.5%", "pct_signed": "+5%", "hex": "0x1p-2",
        "hex_frac": "0x1.8p1", "hex_no_exp": "0x10", "underscore": "1_000", "bad_underscore": "1__0",
        "gi": "123456789Gi", "huge_ei": "16Ei", "e400": "1e400", "zero_e400": "0e400",
        "minus_zero": -0, "big_int": 18446744073709551615, "float_one": 1.0, "inf": "-Infinity",
        "signed_nan": "-NaN", "range": "0x1p1024", "bare_suffix": "Ki"}"#;
    let obj = foo(serde_json::from_str(spec).unwrap(), json!({}));
    let (text, _) = run(&config(metrics), &[obj]);
    assert_eq!(
        samples(&text),
        [
            "v{k=\"bare_suffix\"} 0",
            "v{k=\"big_int\"} 1.8446744073709552e+19",
            "v{k=\"e400\"} +Inf",
            "v{k=\"float_one\"} 1",
            "v{k=\"gi\"} 1.3256071780604315e+17",
            "v{k=\"hex\"} 0.25",
            "v{k=\"hex_frac\"} 3",
            "v{k=\"huge_ei\"} 9.223372036854776e+18",
            "v{k=\"inf\"} -Inf",
            "v{k=\"minus_zero\"} 0",
            "v{k=\"pct\"} 0.25",
            "v{k=\"underscore\"} 1000",
            "v{k=\"zero_e400\"} NaN",
        ]
    );
}

// Issue 10: the API server's decoder makes `-0` the int64 0 and integers
// beyond int64 float64; `%v` prints them so, alone and inside lists and maps.
#[test]
fn issue10_json_numbers_as_go_decodes_them() {
    let metrics = "
- name: i
  each:
    type: Info
    info:
      labelsFromPath: {z: [spec, z], m: [spec, m], l: [spec, l], big: [spec, big], f: [spec, f], e: [spec, e]}
- name: s
  each: {type: StateSet, stateSet: {path: [spec, z], labelName: st, list: [a]}}
";
    let spec = r#"{"z": -0, "m": {"generation": -0}, "l": [-0, 1.0, 1e2, 123456789.0],
        "big": 9223372036854775808, "f": 1.5e300, "e": 1e2}"#;
    let obj = foo(serde_json::from_str(spec).unwrap(), json!({}));
    let (text, errors) = run(&config(metrics), &[obj]);
    assert_eq!(
        samples(&text),
        [
            "i{big=\"9.223372036854776e+18\",e=\"100\",f=\"1.5e+300\",l=\"[0 1 100 1.23456789e+08]\",m=\"map[generation:0]\",z=\"0\"} 1"
        ]
    );
    assert!(
        errors.messages[0].ends_with("[spec,z]: expected value for path to be string, got int64"),
        "{:?}",
        errors.messages
    );
}

// Issue 10: a star whose keys are all refused still keeps the info sample
// (KSM has the labels); the refused labels are counted.
#[test]
fn issue10_star_with_only_refused_keys_keeps_the_info_sample() {
    let metrics = r#"
- name: s
  each:
    type: Info
    info:
      labelsFromPath: {"*": [spec, m]}
- name: over_map
  each:
    type: Info
    info:
      path: [spec]
      labelsFromPath: {"*": [m]}
"#;
    let obj = foo(json!({"m": {"1a": "x", "2b": "y"}}), json!({}));
    let (text, errors) = run(
        &config_with("labelsFromPath: {name: [metadata, name]}", metrics),
        &[obj],
    );
    assert_eq!(
        samples(&text),
        ["s{name=\"foo\"} 1", "over_map{name=\"foo\"} 1"]
    );
    assert_eq!(errors.total, 4, "{:?}", errors.messages);
}

// Issue 10: KSM's map shortcut for `valueFrom` compares the key with the
// printed path, and skips it when that holds a comma.
#[test]
fn issue10_value_from_with_a_comma_skips_the_shortcut() {
    let metrics = r#"
- name: v
  each:
    type: Gauge
    gauge: {path: [spec, values], valueFrom: ["a,b"], labelFromKey: k}
- name: plain
  each:
    type: Gauge
    gauge: {path: [spec, values], valueFrom: [c], labelFromKey: k}
"#;
    let obj = foo(json!({"values": {"a,b": 5, "c": {"a,b": 7}}}), json!({}));
    let (text, _) = run(&config(metrics), &[obj]);
    assert_eq!(samples(&text), ["v{k=\"c\"} 7"]);
}

// Issue 9: names starting with `__` are reserved in every Prometheus format.
#[test]
fn reserved_label_names_are_refused_in_the_config() {
    let cases = [
        (
            "labelsFromPath: {__x: [spec]}",
            "- {name: m, each: {type: Gauge, gauge: {path: [spec, n]}}}",
            "labelsFromPath: \"__x\" is reserved",
        ),
        (
            "",
            "- {name: m, labelsFromPath: {_-x: [spec]}, each: {type: Gauge, gauge: {path: [spec, n]}}}",
            "metric \"m\": labelsFromPath: \"_-x\" becomes label \"__x\", which is reserved",
        ),
        (
            "",
            "- {name: m, each: {type: Gauge, gauge: {path: [spec], labelFromKey: __k}}}",
            "metric \"m\": each.gauge.labelFromKey: \"__k\" is reserved",
        ),
        (
            "",
            "- {name: m, each: {type: Info, info: {labelFromKey: __k}}}",
            "each.info.labelFromKey: \"__k\" is reserved",
        ),
        (
            "commonLabels: {__c: x}",
            "- {name: m, each: {type: Gauge, gauge: {path: [spec, n]}}}",
            "commonLabels: \"__c\" is reserved",
        ),
        (
            "",
            "- {name: m, commonLabels: {__name__: x}, each: {type: Gauge, gauge: {path: [spec, n]}}}",
            "metric \"m\": commonLabels: \"__name__\" is reserved",
        ),
        (
            "",
            "- {name: m, each: {type: StateSet, stateSet: {path: [spec], labelName: __s, list: [a]}}}",
            "each.stateSet.labelName: \"__s\" is reserved",
        ),
        (
            "",
            "- {name: m, each: {type: Info, info: {labelsFromPath: {\"__*\": [spec]}}}}",
            "\"__*\": every label it gives starts with \"__\"",
        ),
    ];
    for (resource, metrics, want) in cases {
        let err = compile_error(&config_with(resource, metrics));
        assert!(err.contains(want), "{err}\nwanted: {want}");
        assert!(
            err.starts_with("config test.yaml: spec.resources[0] (example.com/v1, Kind=Foo)")
                || err.starts_with("config test.yaml: spec.resources[0]"),
            "{err}"
        );
    }
}

// Issue 9: star keys that give a reserved name are left out and counted,
// and the object's other samples are untouched.
#[test]
fn reserved_names_from_star_keys_are_left_out() {
    let metrics = r#"
- name: s
  each:
    type: Info
    info:
      labelsFromPath: {"*": [spec, m], "p_*": [spec, m], "**": [spec, m]}
- name: g
  each: {type: Gauge, gauge: {path: [spec, n]}}
"#;
    let obj = foo(
        json!({"m": {"__name__": "evil", "_-tier": "t", "ok": "fine"}, "n": 2}),
        json!({}),
    );
    let (text, errors) = run(&config(metrics), &[obj]);
    assert_eq!(
        samples(&text),
        [
            "s{_ok=\"fine\",ok=\"fine\",p___name__=\"evil\",p___tier=\"t\",p_ok=\"fine\"} 1",
            "g 2"
        ]
    );
    // "*" gives __name__ and __tier, "**" gives ___name__, ___tier: four left out.
    assert_eq!(errors.total, 4, "{:?}", errors.messages);
    assert!(
        errors.messages.iter().any(
            |m| m.contains("key \"__name__\" gives label name \"__name__\", which is reserved")
        ),
        "{:?}",
        errors.messages
    );
}

// Issue 9: an Accelerator whose imports have a `__name__` key, through the
// embedded TAP config, gives valid output without that label.
#[test]
fn tap_accelerator_with_a_reserved_import_key() {
    let acc = json!({
        "apiVersion": "accelerator.apps.tanzu.vmware.com/v1alpha1", "kind": "Accelerator",
        "metadata": {"name": "acc", "namespace": "tap-gui"},
        "spec": {"git": {"url": "https://example.com/a.git", "ref": {"branch": "main"}}},
        "status": {"artifact": {"ready": true, "imports": {"__name__": "x@sha1:1", "java-version": "main@sha1:2"}}}
    });
    let (text, errors) = run(
        tap_metrics::config::TAP_DEFAULT_YAML,
        std::slice::from_ref(&acc),
    );
    let imports: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("accelerator_imports_info{"))
        .collect();
    assert_eq!(imports.len(), 1, "{text}");
    assert!(
        imports[0].contains("java_version=\"main@sha1:2\"") && !imports[0].contains("__name__"),
        "{}",
        imports[0]
    );
    assert!(!text.contains("__name__"), "{text}");
    assert_eq!(
        errors.by_metric.get("accelerator_imports_info"),
        Some(&1),
        "{:?}",
        errors.messages
    );
    // The whole output parses as OpenMetrics.
    let (om, _) = run_as(
        tap_metrics::config::TAP_DEFAULT_YAML,
        &[acc],
        Format::Openmetrics,
    );
    openmetrics_parser::openmetrics::parse_openmetrics(&om).expect("valid OpenMetrics");
}

// ---------------------------------------------------------------------------
// Generative test: random configs and objects, the engine against a plain
// reference model of KSM v2.20's `pkg/customresourcestate` (registry_factory.go),
// written from KSM's source and independent of the engine's code. The model
// follows KSM except for the README's deliberate differences that can show up
// here: star labels with invalid or reserved names are left out (and counted
// as errors), and sample order within an object is not compared (KSM's sort
// is not stable).
// ---------------------------------------------------------------------------

mod model {
    use std::collections::BTreeMap;

    /// Strings objects may hold, with what KSM's `toFloat64` makes of them
    /// (`None`: an error). The figures are KSM's own (docs, issue 10) or
    /// worked out from apimachinery's and Go's source.
    pub const STRINGS: &[(&str, Option<f64>)] = &[
        ("True", Some(1.0)),
        ("no", Some(0.0)),
        ("Unknown", Some(0.0)),
        ("x", None),
        ("A", None),
        ("1", Some(1.0)),
        ("true", Some(1.0)),
        ("250m", Some(0.25)),
        ("1.5Gi", Some(1_610_612_736.0)),
        ("123456789Gi", Some(1.3256071780604315e17)),
        ("25%", Some(0.25)),
        ("12.5%", None),
        ("0x1p-2", Some(0.25)),
        ("1_000", Some(1000.0)),
        ("NaN", Some(f64::NAN)),
        ("-Inf", Some(f64::NEG_INFINITY)),
        ("-nan", None),
        ("2024-01-02T03:04:05Z", Some(1_704_164_645.0)),
        // Go's general layout parser: one-digit hour, offset up to 24:00.
        ("2024-01-02T3:04:05,5+24:00", Some(1_704_078_245.0)),
        // A quantity: 3 × math.Pow10(-1).
        ("0.3", Some(0.30000000000000004)),
        ("", None),
        ("a b", None),
        ("1e400", Some(f64::INFINITY)),
        ("Ki", Some(0.0)),
        ("30s", None),
        ("map[a:b]", None),
        ("example.com/v1", None),
        ("Foo", None),
    ];

    /// Float literals as JSON text, their value, and Go's `%v` of the float64.
    pub const FLOATS: &[(&str, f64, &str)] = &[
        ("1.5", 1.5, "1.5"),
        ("2.0", 2.0, "2"),
        ("1e2", 100.0, "100"),
        ("-0.5", -0.5, "-0.5"),
        ("1234567.5", 1_234_567.5, "1.2345675e+06"),
        ("123456789.0", 123_456_789.0, "1.23456789e+08"),
        ("0.00001", 0.00001, "1e-05"),
        ("1e21", 1e21, "1e+21"),
        // Beyond int64: Go's decoder makes it a float64.
        (
            "18446744073709551615",
            18_446_744_073_709_551_615.0,
            "1.8446744073709552e+19",
        ),
    ];

    /// A decoded JSON value as Go holds it (`interface{}`).
    #[derive(Debug, Clone)]
    pub enum Go {
        Nil,
        Bool(bool),
        /// An int64; `true` when written as `-0`.
        Int(i64, bool),
        Float(usize),
        Str(usize),
        List(Vec<Go>),
        Map(BTreeMap<String, Go>),
    }

    impl Go {
        pub fn json(&self) -> String {
            match self {
                Go::Nil => "null".into(),
                Go::Bool(b) => b.to_string(),
                Go::Int(0, true) => "-0".into(),
                Go::Int(i, _) => i.to_string(),
                Go::Float(i) => FLOATS[*i].0.into(),
                Go::Str(i) => format!("{:?}", STRINGS[*i].0),
                Go::List(l) => {
                    format!("[{}]", l.iter().map(Go::json).collect::<Vec<_>>().join(","))
                }
                Go::Map(m) => format!(
                    "{{{}}}",
                    m.iter()
                        .map(|(k, v)| format!("{k:?}:{}", v.json()))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            }
        }

        fn non_nil(&self) -> Option<&Go> {
            match self {
                Go::Nil => None,
                v => Some(v),
            }
        }
    }

    /// `fmt.Sprintf("%v", v)`.
    pub fn fmt_v(v: Option<&Go>) -> String {
        match v {
            None | Some(Go::Nil) => "<nil>".into(),
            Some(Go::Bool(b)) => b.to_string(),
            Some(Go::Int(i, _)) => i.to_string(),
            Some(Go::Float(i)) => FLOATS[*i].2.into(),
            Some(Go::Str(i)) => STRINGS[*i].0.into(),
            Some(Go::List(l)) => format!(
                "[{}]",
                l.iter()
                    .map(|x| fmt_v(Some(x)))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            Some(Go::Map(m)) => format!(
                "map[{}]",
                m.iter()
                    .map(|(k, x)| format!("{k}:{}", fmt_v(Some(x))))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        }
    }

    fn string_value(s: &str) -> Option<f64> {
        STRINGS.iter().find(|(t, _)| *t == s).and_then(|(_, v)| *v)
    }

    /// `toFloat64`.
    pub fn to_float(v: Option<&Go>, nil_is_zero: bool) -> Result<f64, ()> {
        match v {
            None | Some(Go::Nil) => {
                if nil_is_zero {
                    Ok(0.0)
                } else {
                    Err(())
                }
            }
            Some(Go::Bool(b)) => Ok(if *b { 1.0 } else { 0.0 }),
            Some(Go::Int(i, _)) => Ok(*i as f64),
            Some(Go::Float(i)) => Ok(FLOATS[*i].1),
            Some(Go::Str(i)) => STRINGS[*i].1.ok_or(()),
            Some(_) => Err(()),
        }
    }

    /// `valuePath.Get` (v2.20: an index out of range resolves to nil).
    pub fn get<'a>(path: &[String], obj: Option<&'a Go>) -> Option<&'a Go> {
        let mut cur = obj.and_then(Go::non_nil);
        for part in path {
            let here = cur?;
            cur = step(part, here).and_then(Go::non_nil);
        }
        cur
    }

    fn step<'a>(part: &str, v: &'a Go) -> Option<&'a Go> {
        if part.len() >= 2 && part.starts_with('[') && part.ends_with(']') {
            let (key, val) = part[1..part.len() - 1].split_once('=')?;
            let Go::List(items) = v else { return None };
            let num = string_value(val);
            let boolean = match val {
                "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
                "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
                _ => None,
            };
            for item in items {
                let Go::Map(m) = item else { continue };
                let Some(candidate) = m.get(key) else {
                    continue;
                };
                if matches!(candidate, Go::Str(i) if STRINGS[*i].0 == val) {
                    return Some(item);
                }
                if let Some(n) = num
                    && to_float(Some(candidate), false) == Ok(n)
                {
                    return Some(item);
                }
                if let (Some(b), Go::Bool(c)) = (boolean, candidate)
                    && b == *c
                {
                    return Some(item);
                }
            }
            return None;
        }
        match v {
            Go::Map(m) => {
                let kv: Vec<&str> = part.split('=').collect();
                if kv.len() == 2
                    && let Some(found @ Go::Str(i)) = m.get(kv[0])
                    && STRINGS[*i].0 == kv[1]
                {
                    return Some(found);
                }
                m.get(part)
            }
            Go::List(l) => {
                let digits = part.strip_prefix(['+', '-']).unwrap_or(part);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let mut i: i64 = part.parse().ok()?;
                if i < 0 {
                    i += l.len() as i64;
                }
                usize::try_from(i).ok().and_then(|i| l.get(i))
            }
            _ => None,
        }
    }

    fn sanitize(s: &str) -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }

    fn usable(name: &str) -> bool {
        let mut cs = name.chars();
        matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with("__")
    }

    pub type Labels = BTreeMap<String, String>;
    pub type Plan = BTreeMap<String, Vec<String>>;

    /// `addPathLabels`. Returns whether a star label was left out (ours).
    pub fn add_path_labels(
        obj: Option<&Go>,
        plan: &Plan,
        out: &mut Labels,
        errors: &mut u64,
    ) -> bool {
        let mut left_out = false;
        let is_star = |k: &str| k.starts_with('*') || k.ends_with('*');
        for (star, path) in plan.iter().filter(|(k, _)| is_star(k)) {
            if let Some(Go::Map(m)) = get(path, obj) {
                for (k, v) in m {
                    let name = match star.strip_suffix('*') {
                        Some(prefix) => format!("{prefix}{k}"),
                        None => k.clone(),
                    };
                    let name = sanitize(&name);
                    if !usable(&name) {
                        *errors += 1;
                        left_out = true;
                        continue;
                    }
                    out.insert(name, fmt_v(Some(v)));
                }
            }
        }
        for (key, path) in plan.iter().filter(|(k, _)| !is_star(k)) {
            if let Some(v) = get(path, obj) {
                out.insert(sanitize(key), fmt_v(Some(v)));
            }
        }
        left_out
    }

    #[derive(Debug, Clone)]
    pub enum Each {
        Gauge {
            value_from: Vec<String>,
            label_from_key: String,
            nil_is_zero: bool,
        },
        Info {
            label_from_key: String,
        },
        StateSet {
            value_from: Vec<String>,
            label_name: String,
            list: Vec<String>,
        },
    }

    #[derive(Debug, Clone)]
    pub struct Metric {
        pub name: String,
        pub common: BTreeMap<String, String>,
        pub labels: Plan,
        pub path: Vec<String>,
        pub each_labels: Plan,
        pub each: Each,
    }

    #[derive(Debug, Clone)]
    pub struct Resource {
        pub common: BTreeMap<String, String>,
        pub labels: Plan,
        pub metrics: Vec<Metric>,
    }

    /// A sample: metric name, labels, value.
    pub type Sample = (String, Labels, f64);

    /// What KSM makes of one object; `errors` counts what it logs, plus
    /// star labels left out.
    pub fn evaluate(res: &Resource, obj: &Go, errors: &mut u64) -> Vec<Sample> {
        let mut out = Vec::new();
        for m in &res.metrics {
            // Forced GVK labels overwrite the resource's; the metric's win.
            let mut base: Labels = res.common.clone();
            base.insert("customresource_group".into(), "example.com".into());
            base.insert("customresource_version".into(), "v1".into());
            base.insert("customresource_kind".into(), "Foo".into());
            base.extend(m.common.clone());
            let mut plan = res.labels.clone();
            plan.extend(m.labels.clone());
            add_path_labels(Some(obj), &plan, &mut base, errors);
            let v = get(&m.path, Some(obj));
            for (mut labels, value) in values(m, v, errors) {
                for (k, val) in &base {
                    labels.entry(k.clone()).or_insert_with(|| val.clone());
                }
                out.push((m.name.clone(), labels, value));
            }
        }
        out
    }

    fn values(m: &Metric, v: Option<&Go>, errors: &mut u64) -> Vec<(Labels, f64)> {
        let mut out = Vec::new();
        let plan = &m.each_labels;
        match &m.each {
            Each::Gauge {
                value_from,
                label_from_key,
                nil_is_zero,
            } => {
                // compiledGauge.value: Err is an error, Ok(None) no sample.
                let value = |it: Option<&Go>| -> Result<Option<f64>, ()> {
                    match get(value_from, it) {
                        None if *nil_is_zero => Ok(Some(0.0)),
                        None if it.is_none() => Err(()),
                        None => Ok(None),
                        got => to_float(got, *nil_is_zero).map(Some),
                    }
                };
                match v {
                    Some(Go::Map(map)) => {
                        let printed = format!("[{}]", value_from.join(","));
                        for (key, it) in map {
                            let it = it.non_nil();
                            let shortcut = !printed.contains(',')
                                && printed.len() > 2
                                && *key == printed[1..printed.len() - 1];
                            let x = if shortcut {
                                match to_float(it, *nil_is_zero) {
                                    Ok(x) => x,
                                    Err(()) => {
                                        *errors += 1;
                                        continue;
                                    }
                                }
                            } else {
                                // Failures here are silent.
                                match value(it) {
                                    Ok(Some(x)) => x,
                                    _ => continue,
                                }
                            };
                            let mut labels = Labels::new();
                            if !key.is_empty() && !label_from_key.is_empty() {
                                labels.insert(label_from_key.clone(), key.clone());
                            }
                            add_path_labels(it, plan, &mut labels, errors);
                            add_path_labels(v, plan, &mut labels, errors);
                            out.push((labels, x));
                        }
                    }
                    Some(Go::List(items)) => {
                        for it in items {
                            let it = it.non_nil();
                            match value(it) {
                                Err(()) => *errors += 1,
                                Ok(None) => {}
                                Ok(Some(x)) => {
                                    let mut labels = Labels::new();
                                    add_path_labels(it, plan, &mut labels, errors);
                                    out.push((labels, x));
                                }
                            }
                        }
                    }
                    _ => match value(v) {
                        Err(()) => *errors += 1,
                        Ok(None) => {}
                        Ok(Some(x)) => {
                            let mut labels = Labels::new();
                            add_path_labels(v, plan, &mut labels, errors);
                            out.push((labels, x));
                        }
                    },
                }
            }
            Each::Info { label_from_key } => {
                // compiledInfo.values; a left-out star label still counts.
                let own = |x: Option<&Go>, errors: &mut u64| -> Option<Labels> {
                    let x = x?;
                    let mut labels = Labels::new();
                    let left_out = add_path_labels(Some(x), plan, &mut labels, errors);
                    (!labels.is_empty() || left_out).then_some(labels)
                };
                match v {
                    Some(Go::List(items)) => {
                        for it in items {
                            out.extend(own(it.non_nil(), errors).map(|l| (l, 1.0)));
                        }
                    }
                    Some(Go::Map(map)) => {
                        let mine = own(v, errors);
                        if mine
                            .as_ref()
                            .is_some_and(|l| l.contains_key(label_from_key))
                        {
                            *errors += 1;
                        }
                        for (key, it) in map {
                            let mut labels = Labels::new();
                            if !key.is_empty() && !label_from_key.is_empty() {
                                labels.insert(label_from_key.clone(), key.clone());
                            }
                            let left_out = add_path_labels(it.non_nil(), plan, &mut labels, errors);
                            if !labels.is_empty() || left_out {
                                out.push((labels, 1.0));
                            }
                        }
                        out.extend(mine.map(|l| (l, 1.0)));
                    }
                    _ => out.extend(own(v, errors).map(|l| (l, 1.0))),
                }
            }
            Each::StateSet {
                value_from,
                label_name,
                list,
            } => {
                let mut state = |x: Option<&Go>, out: &mut Vec<(Labels, f64)>| {
                    // Nil (path or value missing) is skipped quietly since KSM
                    // #2884; another type is an error.
                    let got = get(value_from, x);
                    let Some(Go::Str(i)) = got else {
                        if got.is_some() {
                            *errors += 1;
                        }
                        return;
                    };
                    for entry in list {
                        let mut labels = Labels::from([(label_name.clone(), entry.clone())]);
                        add_path_labels(x, plan, &mut labels, errors);
                        out.push((labels, if STRINGS[*i].0 == entry { 1.0 } else { 0.0 }));
                    }
                };
                match v {
                    Some(Go::List(items)) => {
                        for it in items {
                            state(it.non_nil(), &mut out);
                        }
                    }
                    _ => state(v, &mut out),
                }
            }
        }
        out
    }
}

mod generate {
    use super::model::{Each, FLOATS, Go, Metric, Plan, Resource, STRINGS};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Map keys; the plain ones repeated so that paths find them often.
    const KEYS: &[&str] = &[
        "a", "a", "a", "b", "b", "b", "c", "c", "k", "a,b", "1x", "__n", "x-y", "", "a=x", "é",
    ];
    const SEGMENTS: &[&str] = &[
        "a", "b", "c", "a,b", "0", "1", "-1", "5", "[a=x]", "[a=1]", "[b=true]", "a=x", "a=True",
        "k", "", "+0",
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
}

/// Sample lines of Prometheus text as (name, labels, value).
fn parse_samples(text: &str) -> Vec<model::Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let mut labels = model::Labels::new();
            let name = match series.split_once('{') {
                None => series.to_string(),
                Some((name, mut rest)) => {
                    // Values hold no quotes or backslashes here.
                    while let Some((k, after)) = rest.split_once("=\"") {
                        let (v, after) = after.split_once('"').unwrap();
                        labels.insert(k.to_string(), v.to_string());
                        rest = after.trim_start_matches(',');
                    }
                    name.to_string()
                }
            };
            (name, labels, value.parse::<f64>().unwrap())
        })
        .collect()
}

/// A sample as compared: name, sorted labels, value bits.
type Compared = (String, Vec<(String, String)>, String);

fn sorted(mut s: Vec<model::Sample>) -> Vec<Compared> {
    let mut out: Vec<_> = s
        .drain(..)
        .map(|(n, l, v)| {
            // Values compare by bits (NaN equals NaN); -0 and 0 print alike.
            let v = if v == 0.0 { 0.0 } else { v };
            (n, l.into_iter().collect(), format!("{:x}", v.to_bits()))
        })
        .collect();
    out.sort();
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 600, ..Default::default() })]

    #[test]
    fn random_configs_and_objects_match_the_ksm_model(
        res in generate::resource(),
        objects in proptest::collection::vec(generate::object(), 1..3),
    ) {
        let config = generate::config(&res);
        let loaded = load_str(&config, "gen.yaml").expect("config loads");
        let engine = Engine::compile(&loaded.config, "gen.yaml").expect("config compiles");
        let mut batches = engine.batches(None, &Vec::new());
        let mut errors = EvalErrors::new(0);
        let mut want = Vec::new();
        let mut want_errors = 0;
        for obj in &objects {
            let value: Value = serde_json::from_str(&obj.json()).unwrap();
            engine.evaluate_matching(&mut batches, &value, &mut errors);
            want.extend(model::evaluate(&res, obj, &mut want_errors));
        }
        let set = engine.assemble(batches);
        let mut out = Vec::new();
        render::render(&set, Format::Prometheus, &TableOptions::default(), &mut out).unwrap();
        let got = parse_samples(&String::from_utf8(out).unwrap());
        proptest::prop_assert_eq!(sorted(got), sorted(want), "config: {}", config);
        proptest::prop_assert_eq!(errors.total, want_errors, "config: {}", config);
    }
}

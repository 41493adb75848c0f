//! KSM points 1–10: value conversion and printing, failures, missing data,
//! headers, label values, star expansion, label names, escaping.

use super::*;

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

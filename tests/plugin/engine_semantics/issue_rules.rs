//! The rules of issues 9 and 10: values as KSM converts and prints them,
//! reserved label names.

use super::*;

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

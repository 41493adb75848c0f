//! KSM points 11–23: label precedence, relative each-level labels, info on
//! maps, metric names, headers and types, families, errorLogV and sample order;
//! the forced GVK labels and the TAP config's path forms.

use super::*;

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

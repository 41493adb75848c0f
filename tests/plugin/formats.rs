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
        engine.evaluate_matching(&mut batches, obj, &mut errors);
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
        // The formats for people never write a terminal control character.
        for (format, wide) in [(Format::Table, false), (Format::Table, true), (Format::Summary, false)] {
            let opts = TableOptions { wide, width: Some(100), ..TableOptions::default() };
            let mut out = Vec::new();
            render::render(&set, format, &opts, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            prop_assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{}", text);
        }
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

// Hostile inputs and configs (issue #9): bounded work, one-line errors, the
// documented exit codes (3 config, 4 input).

fn bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("kubectl-tap_metrics")
}

/// Runs `sh -c script` with the binary as `$B`, in a fresh temporary directory.
fn sh(dir: &std::path::Path, script: &str) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("B", bin())
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Exit code and the stderr of a run that must fail with one line.
fn failure(out: &std::process::Output) -> (i32, String) {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line expected: {err:?}");
    (out.status.code().unwrap_or(-1), err)
}

const GAUGE_CONFIG: &str = "kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: g.io, version: v1, kind: K}
    labelsFromPath:
      name: [metadata, name]
    metrics:
    - name: size
      help: h
      each:
        type: Gauge
        gauge: {path: [spec, size]}
";

fn object_yaml(name: &str, size: &str) -> String {
    format!("apiVersion: g.io/v1\nkind: K\nmetadata:\n  name: {name}\nspec:\n  size: {size}\n")
}

#[test]
fn configs_that_cannot_be_read_are_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("adir")).unwrap();
    for (path, why) in [
        ("missing.yaml", "No such file or directory"),
        ("adir", "Is a directory"),
    ] {
        let out = sh(dir.path(), &format!("\"$B\" -c {path} -f x.yaml"));
        let (code, err) = failure(&out);
        assert_eq!(code, 3, "{err}");
        assert_eq!(err, format!("error: config {path}: cannot read: {why}\n"));
    }
}

#[test]
fn endless_inputs_stop_at_their_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    // 4 GiB of address space: reading /dev/zero unbounded exhausts it.
    for (args, code, want) in [
        (
            "-c /dev/zero",
            3,
            "error: config /dev/zero: larger than 4 MiB, the limit for configs\n",
        ),
        (
            "-f /dev/zero",
            4,
            "error: /dev/zero: larger than 512 MiB, the limit for object files\n",
        ),
        (
            "-f - </dev/zero",
            4,
            "error: <stdin>: larger than 512 MiB, the limit for object files\n",
        ),
    ] {
        let out = sh(
            dir.path(),
            &format!("ulimit -v 4194304; exec \"$B\" {args}"),
        );
        assert_eq!(failure(&out), (code, want.to_string()), "{args}");
    }
}

#[test]
fn deep_nesting_fails_with_the_limit_named() {
    let dir = tempfile::tempdir().unwrap();
    let deep = |n: usize| format!("{}1{}", "{a: ".repeat(n), "}".repeat(n));
    std::fs::write(
        dir.path().join("c.yaml"),
        format!("kind: {}\n", deep(20_000)),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("o.yaml"),
        format!("apiVersion: v1\nkind: List\nitems:\n- {}\n", deep(20_000)),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("o.json"),
        format!("{}{}", "[".repeat(20_000), "]".repeat(20_000)),
    )
    .unwrap();
    let (code, err) = failure(&sh(dir.path(), "\"$B\" -c c.yaml -f o.yaml"));
    assert_eq!(code, 3);
    assert_eq!(
        err,
        "error: config c.yaml: nested deeper than 128 levels (the limit) at line 1 column 515\n"
    );
    let (code, err) = failure(&sh(dir.path(), "\"$B\" -f o.yaml"));
    assert_eq!(code, 4);
    assert_eq!(
        err,
        "error: o.yaml: document 1: nested deeper than 128 levels (the limit) at line 4 column 507\n"
    );
    let (code, err) = failure(&sh(dir.path(), "\"$B\" -f o.json"));
    assert_eq!(code, 4);
    assert_eq!(
        err,
        "error: o.json: invalid JSON at line 1 column 128: nested deeper than 128 levels (the limit)\n"
    );
}

#[test]
fn a_large_yaml_list_streams_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut list = String::from("apiVersion: v1\nitems:\n");
    for i in 0..40_000 {
        let obj = object_yaml(&format!("o{i}"), &i.to_string());
        for (j, line) in obj.lines().enumerate() {
            list.push_str(if j == 0 { "- " } else { "  " });
            list.push_str(line);
            list.push('\n');
        }
    }
    list.push_str("kind: List\nmetadata: {resourceVersion: \"\"}\n");
    std::fs::write(dir.path().join("list.yaml"), &list).unwrap();
    std::fs::write(dir.path().join("c.yaml"), GAUGE_CONFIG).unwrap();
    // The whole List as one tree took ~13 KB per object: 540 MB here.
    let out = sh(
        dir.path(),
        "ulimit -v 400000; \"$B\" -c c.yaml -f list.yaml -o prometheus | tail -1",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "kube_customresource_size{customresource_group=\"g.io\",customresource_kind=\"K\",customresource_version=\"v1\",name=\"o39999\"} 39999\n"
    );
}

#[test]
fn bom_inf_big_numbers_and_merge_keys() {
    let dir = tempfile::tempdir().unwrap();
    let merged_config = GAUGE_CONFIG.replace(
        "    labelsFromPath:\n      name: [metadata, name]\n",
        "    labelsFromPath: &l\n      name: [metadata, name]\n",
    ) + "      labelsFromPath:\n        <<: *l\n        kind: [kind]\n";
    std::fs::write(
        dir.path().join("c.yaml"),
        format!("\u{feff}{merged_config}"),
    )
    .unwrap();
    let objects = format!(
        "\u{feff}{}---\n{}---\n{}---\nbase: &b\n  apiVersion: g.io/v1\n  kind: K\n<<: *b\nmetadata: {{name: m}}\nspec: {{size: 2}}\n",
        object_yaml("p", ".inf"),
        object_yaml("n", "-.Inf"),
        object_yaml("nan", ".nan")
    );
    std::fs::write(dir.path().join("o.yaml"), objects).unwrap();
    std::fs::write(
        dir.path().join("o.json"),
        "\u{feff}{\"apiVersion\":\"g.io/v1\",\"kind\":\"K\",\"metadata\":{\"name\":\"j\"},\"spec\":{\"size\":-1e400}}",
    )
    .unwrap();
    let out = sh(
        dir.path(),
        "\"$B\" -c c.yaml -f o.yaml -f o.json -o prometheus | grep -v '^#'",
    );
    assert!(out.status.success(), "{out:?}");
    let series = |name: &str, v: &str| {
        format!(
            "kube_customresource_size{{customresource_group=\"g.io\",customresource_kind=\"K\",customresource_version=\"v1\",kind=\"K\",name=\"{name}\"}} {v}\n"
        )
    };
    let want = [
        series("p", "+Inf"),
        series("n", "-Inf"),
        series("nan", "NaN"),
        series("m", "2"),
        series("j", "-Inf"),
    ]
    .concat();
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
}

#[test]
fn paths_with_control_characters_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    for flag in ["-c", "-f"] {
        let out = sh(
            dir.path(),
            &format!("\"$B\" {flag} \"$(printf 'a\\033]0;x\\007b')\""),
        );
        let (code, err) = failure(&out);
        assert!(code == 3 || code == 4, "{err}");
        assert!(
            !err.contains('\u{1b}') && !err.contains('\u{7}'),
            "raw control characters: {err:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any text: a config or a one-line config error, never a panic.
    #[test]
    fn config_loader_never_panics(text in config_like()) {
        if let Err(e) = config::load_str(&text, "p.yaml") {
            prop_assert_eq!(e.kind, tap_metrics::error::ExitKind::Config);
            prop_assert!(e.message.starts_with("config p.yaml"), "{}", e.message);
            prop_assert!(!e.message.contains('\n'), "{}", e.message);
        }
    }

    /// Any bytes: objects or a one-line input error naming the file, never a panic.
    #[test]
    fn object_reader_never_panics(bytes in object_like()) {
        if let Err(e) = parse_objects(&bytes, "p.yaml") {
            prop_assert_eq!(e.kind, tap_metrics::error::ExitKind::Input);
            prop_assert!(e.message.starts_with("p.yaml: "), "{}", e.message);
            prop_assert!(!e.message.contains('\n'), "{}", e.message);
        }
    }
}

/// YAML-ish text: fragments of real configs and YAML syntax, shuffled.
fn config_like() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "kind: CustomResourceStateMetrics\n",
        "spec:\n",
        "  resources:\n",
        "  - groupVersionKind: {group: a, version: v1, kind: B}\n",
        "    metrics:\n",
        "    - name: x\n",
        "      each: {type: Gauge, gauge: {path: [spec, size]}}\n",
        "      labelsFromPath: &l {a: [b]}\n",
        "      <<: *l\n",
        "customResourceState:\n  config: |\n",
        "[",
        "]",
        "{",
        "}",
        "- ",
        "  ",
        ": ",
        "*x",
        "&x ",
        "---\n",
        "\u{feff}",
        ".inf",
        "'",
        "\"",
        "\t",
        "\n",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|p| p.concat())
}

fn object_like() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop::sample::select(vec![
        &b"apiVersion: v1\n"[..],
        b"kind: List\n",
        b"items:\n",
        b"- apiVersion: a/v1\n  kind: K\n",
        b"  metadata: {name: x}\n",
        b"{\"apiVersion\":\"a/v1\",\"kind\":\"K\"}",
        b"{\"items\":[",
        b"1e400",
        b"-.inf",
        b"<<: *a\n",
        b"&a ",
        b"---\n",
        b"\xef\xbb\xbf",
        b"\xff",
        b"[",
        b"]",
        b"{",
        b"}",
        b",",
        b"- ",
        b"  ",
        b"\n",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|p| p.concat())
}

//! The binary as a user runs it: flags, formats, errors and exit codes.

use std::io::Write;
use std::process::{Command, Stdio};

use assert_cmd::cargo::cargo_bin;
use predicates::prelude::*;

fn cmd() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(cargo_bin("kubectl-tap_metrics"));
    // Never reach for a real cluster or kubeconfig from these tests.
    c.env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST");
    c
}

const WORKLOAD: &str = r#"{"apiVersion": "v1", "kind": "List", "items": [
 {"apiVersion": "carto.run/v1alpha1", "kind": "Workload",
  "metadata": {"name": "api", "namespace": "dev", "creationTimestamp": "2024-01-02T03:04:05Z",
               "labels": {"apps.tanzu.vmware.com/workload-type": "web"}},
  "spec": {"source": {"git": {"url": "https://example.com/api.git", "ref": {"branch": "main"}}}},
  "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Failed", "message": "it \"broke\"\nbadly"},
                            {"type": "SupplyChainReady", "status": "True"}]}},
 {"apiVersion": "kpack.io/v1alpha2", "kind": "Build",
  "metadata": {"name": "api-build-1", "namespace": "qa", "labels": {"carto.run/workload-name": "api"}},
  "status": {"buildMetadata": [{"id": "paketo/java", "version": "1.0"}],
             "conditions": [{"type": "Succeeded", "status": "True"}]}},
 {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unrelated", "namespace": "dev"}}
]}"#;

fn input_file() -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(WORKLOAD.as_bytes()).unwrap();
    f
}

#[test]
fn help_and_version() {
    cmd()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("--from-file"))
        .stdout(predicate::str::contains("Exit codes:"))
        .stdout(predicate::str::contains("5  partial result"));
    cmd()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(format!(
            "kubectl tap-metrics {} (",
            env!("CARGO_PKG_VERSION")
        )));
}

#[test]
fn bad_flags_exit_2() {
    cmd()
        .arg("--no-such-flag")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--no-such-flag"));
    cmd().args(["-o", "xml"]).assert().code(2);
    let f = input_file();
    cmd()
        .args([
            "--from-file",
            f.path().to_str().unwrap(),
            "--context",
            "prod",
        ])
        .assert()
        .code(2)
        .stderr("error: --context reads from a cluster and cannot be used with --from-file\n");
    cmd()
        .args([
            "--from-file",
            f.path().to_str().unwrap(),
            "--resource",
            "nothing*",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--resource nothing* matched nothing",
        ));
}

#[test]
fn default_output_off_a_terminal_is_openmetrics() {
    let f = input_file();
    let out = cmd()
        .args(["--from-file", f.path().to_str().unwrap()])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        text.contains("# TYPE cartographer_workload info\n"),
        "{text}"
    );
    assert!(
        text.contains("message=\"it \\\"broke\\\"\\nbadly\""),
        "{text}"
    );
    openmetrics_parser::openmetrics::parse_openmetrics(&text).expect("valid OpenMetrics");
}

#[test]
fn stdin_and_every_format() {
    for (format, check) in [
        (
            "prometheus",
            "# TYPE kpack_build_involved_buildpacks gauge\n",
        ),
        ("json", "\"name\":\"kpack_build_status\""),
        ("table", "Workload (carto.run): 1 object\n"),
        ("openmetrics", "# EOF"),
    ] {
        cmd()
            .args(["--from-file", "-", "-o", format])
            .write_stdin(WORKLOAD)
            .assert()
            .success()
            .stdout(predicate::str::contains(check));
    }
    let out = cmd()
        .args(["-f", "-", "-o", "json"])
        .write_stdin(WORKLOAD)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let first = &v[0];
    assert_eq!(first["type"], "GAUGE");
    assert_eq!(first["metrics"][0]["value"], "1");
    assert_eq!(first["metrics"][0]["labels"]["name"], "api");
}

#[test]
fn filters_narrow_the_output() {
    let f = input_file();
    let path = f.path().to_str().unwrap();
    let out = cmd()
        .args([
            "-f",
            path,
            "-o",
            "prometheus",
            "--resource",
            "builds.kpack.io",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("kpack_build_status"), "{text}");
    assert!(!text.contains("cartographer_"), "{text}");
    let out = cmd()
        .args([
            "-f",
            path,
            "-o",
            "prometheus",
            "--metric",
            "*_status",
            "--resource",
            "Workload",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE")).collect();
    assert_eq!(types, ["# TYPE cartographer_workload_status gauge"]);
    // -n narrows namespaced objects as a namespaced list would.
    let out = cmd()
        .args(["-f", path, "-o", "prometheus", "-n", "qa"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("kpack_build_status"), "{text}");
    assert!(!text.contains("cartographer_"), "{text}");
}

#[test]
fn unmatched_objects_are_reported_with_v() {
    let f = input_file();
    cmd()
        .args(["-f", f.path().to_str().unwrap(), "-v"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "1 of 3 objects match no config resource:\n  v1/ConfigMap dev/unrelated\n",
        ));
}

#[test]
fn bad_input_exits_4_naming_file_and_place() {
    // One line; with -v, the cause below it.
    cmd()
        .args(["-f", "/no/such/file"])
        .assert()
        .code(4)
        .stderr("error: /no/such/file: cannot read: No such file or directory\n");
    cmd()
        .args(["-f", "/no/such/file", "-v"])
        .assert()
        .code(4)
        .stderr(
            "error: /no/such/file: cannot read: No such file or directory\n  \
             caused by: No such file or directory (os error 2)\n",
        );
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(b"apiVersion: v1\nkind: List\nitems:\n  - kind: [\n")
        .unwrap();
    cmd()
        .args(["-f", f.path().to_str().unwrap()])
        .assert()
        .code(4)
        .stderr(
            predicate::str::is_match(
                r"^error: .*: invalid YAML in document 1 at line \d+ column \d+: ",
            )
            .unwrap(),
        );
    cmd()
        .args(["-f", "/nonexistent/objects.json"])
        .assert()
        .code(4)
        .stderr("error: /nonexistent/objects.json: cannot read: No such file or directory\n");
    cmd()
        .args(["-f", "-"])
        .write_stdin("{\"kind\": \"Workload\"}")
        .assert()
        .code(4)
        .stderr("error: <stdin>: document 1: not a Kubernetes object (apiVersion and kind are required)\n");
}

#[test]
fn bad_config_exits_3_naming_file_and_place() {
    let mut cfg = tempfile::NamedTempFile::new().unwrap();
    cfg.write_all(b"kind: CustomResourceStateMetrics\nspec:\n  resources:\n    - groupVersionKind: {group: carto.run, version: v1alpha1, kind: Workload}\n      metrics:\n        - name: w\n          each: {type: Gauge, gauge: {path: spec.x}}\n")
        .unwrap();
    cmd()
        .args(["-f", "-", "--config", cfg.path().to_str().unwrap()])
        .write_stdin(WORKLOAD)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("spec.resources[0].metrics[0].each.gauge.path: invalid type: string \"spec.x\", expected a sequence at line 7 column"));

    let mut cfg = tempfile::NamedTempFile::new().unwrap();
    cfg.write_all(b"kind: CustomResourceStateMetrics\nspec:\n  resources:\n    - groupVersionKind: {group: carto.run, version: v1alpha1, kind: Workload}\n      metrics:\n        - name: w\n          each: {type: Counter, gauge: {path: [spec, x]}}\n")
        .unwrap();
    cmd()
        .args(["config", "validate", cfg.path().to_str().unwrap()])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "spec.resources[0] (carto.run/v1alpha1/Workload), metric \"w\": each.type \"counter\" is unknown",
        ));
}

#[test]
fn unknown_keys_warn_or_fail_with_strict() {
    let mut cfg = tempfile::NamedTempFile::new().unwrap();
    cfg.write_all(b"kind: CustomResourceStateMetrics\nspec:\n  resources:\n    - groupVersionKind: {group: carto.run, version: v1alpha1, kind: Workload}\n      labelFromPath: {name: [metadata, name]}\n      metrics:\n        - name: w\n          each: {type: Info, info: {labelsFromPath: {n: [metadata, name]}}}\n")
        .unwrap();
    let path = cfg.path().to_str().unwrap();
    cmd()
        .args(["-f", "-", "-c", path])
        .write_stdin(WORKLOAD)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: config ",
        ))
        .stderr(predicate::str::contains(
            "unknown field \"labelFromPath\" at spec.resources[0] (resource carto.run/v1alpha1/Workload); kube-state-metrics ignores it",
        ));
    cmd()
        .args(["-f", "-", "-c", path, "--strict"])
        .write_stdin(WORKLOAD)
        .assert()
        .code(3)
        .stdout("")
        .stderr(predicate::str::contains("(--strict)"));
}

#[test]
fn config_default_round_trips_through_validate() {
    let out = cmd().args(["config", "default"]).output().unwrap();
    assert!(out.status.success());
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(&out.stdout).unwrap();
    cmd()
        .args(["config", "validate", "--strict", f.path().to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("21 resources, 42 metrics"))
        .stdout(predicate::str::contains(
            "    cartographer_workload_status (gauge)",
        ))
        .stdout(predicate::str::ends_with("valid\n"));
}

#[test]
fn output_is_deterministic() {
    let f = input_file();
    let run = || {
        cmd()
            .args(["-f", f.path().to_str().unwrap()])
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(run(), run());
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let f = input_file();
    let mut child = Command::new(cargo_bin("kubectl-tap_metrics"))
        .args([
            "-f",
            f.path().to_str().unwrap(),
            "-f",
            f.path().to_str().unwrap(),
            "-o",
            "prometheus",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    // Every subcommand's output too: `completion bash | head -1`. The reader
    // is gone before the child has started.
    for args in [
        &["completion", "bash"][..],
        &["config", "default"],
        &["monitoring", "rules"],
    ] {
        let mut child = Command::new(cargo_bin("kubectl-tap_metrics"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args:?}");
    }
}

/// Runs the binary with `args` under `sh`, whose redirections (`>&-`,
/// `2>/dev/full`) std's `Command` cannot express.
fn sh(script: &str, args: &[&str]) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("\"$0\" \"$@\" {script}"))
        .arg(cargo_bin("kubectl-tap_metrics"))
        .args(args)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .unwrap()
}

#[test]
fn an_unwritable_stderr_does_not_crash_the_run() {
    let f = input_file();
    let path = f.path().to_str().unwrap();
    // A warning goes to stderr; the output is still complete and the run succeeds.
    let out = sh("2>/dev/full", &["-f", path, "-f", "/no/such/file"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let out = sh(
        "2>/dev/full",
        &["-f", path, "--metric", "*", "-o", "prometheus", "-v"],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("# TYPE"));
}

#[test]
fn a_closed_or_full_stdout_is_an_error() {
    let f = input_file();
    let path = f.path().to_str().unwrap();
    let out = sh(">&-", &["-f", path, "-o", "prometheus"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: cannot write output: standard output is closed\n"
    );
    let out = sh(">/dev/full", &["-f", path, "-o", "prometheus"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("error: cannot write output:"));
    // /dev/null is a place the user chose: nothing is wrong.
    let out = sh(">/dev/null", &["-f", path, "-o", "prometheus"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn usage_errors_are_one_line() {
    for args in [
        &["--no-such-flag"][..],
        &["--outpt", "json"],
        &["-o", "xml"],
        &["config"],
        &["config", "validate"],
        &["--job", "x"],
        &["--concurrency", "99"],
        &["completion", "tcsh"],
    ] {
        let out = cmd().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.lines().count() == 1,
            "{args:?}: {err}"
        );
        assert!(err.contains("--help"), "{args:?}: {err}");
    }
    let out = cmd().args(["-o", "xml"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values: openmetrics"));
}

#[test]
fn conflicting_flags_are_usage_errors() {
    let f = input_file();
    let path = f.path().to_str().unwrap();
    let gw = ["--pushgateway", "http://127.0.0.1:9"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            [&gw[..], &["--delete", "--push-mode", "add"]].concat(),
            "'--delete' cannot be used with '--push-mode",
        ),
        (
            vec!["-f", "-", "-c", "-"],
            "--from-file - and --config - cannot both read standard input",
        ),
        (
            [&gw[..], &["--delete", "--output-file", "/tmp/x.prom"]].concat(),
            "--delete lists nothing, so it cannot be used with --output-file",
        ),
        (
            vec!["-f", "-", "-f", "-"],
            "standard input can be read only once",
        ),
        (
            [
                &gw[..],
                &["--context", "a", "--context", "b", "--cluster-label", "job"],
            ]
            .concat(),
            "--cluster-label \"job\"",
        ),
        (
            [
                &gw[..],
                &[
                    "--all-contexts",
                    "--grouping-key",
                    "site=x",
                    "--cluster-label",
                    "site",
                ],
            ]
            .concat(),
            "the \"site\" label is set per cluster",
        ),
        (
            [&gw[..], &["-f", path, "--pushgateway-user", "ops:team"]].concat(),
            "a basic-auth user name cannot contain ':'",
        ),
    ];
    for (args, want) in cases {
        let out = cmd()
            .args(&args)
            .env("TAP_METRICS_PUSHGATEWAY_PASSWORD", "pw")
            .write_stdin("")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn no_secret_reaches_a_message() {
    let f = input_file();
    let path = f.path().to_str().unwrap();
    for url in ["http://ops:hunter2@pgw:9091", "http://ops:hunter2@[pgw"] {
        let out = cmd()
            .args(["-f", path, "--pushgateway", url])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            !err.contains("hunter2") && err.contains("REDACTED@"),
            "{err}"
        );
    }
    let mut token = tempfile::NamedTempFile::new().unwrap();
    token.write_all(b"hunter2\nsecond line\n").unwrap();
    let out = cmd()
        .args(["-f", path, "--pushgateway", "http://127.0.0.1:9"])
        .arg("--pushgateway-bearer-token-file")
        .arg(token.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot carry") && !err.contains("hunter2"),
        "{err}"
    );
}

/// Names, reasons and messages with terminal controls, as a hostile object holds them.
const HOSTILE: &str = r#"{"apiVersion":"carto.run/v1alpha1","kind":"Workload",
 "metadata":{"name":"evil\u001b]0;owned\u0007\nrow","namespace":"dev\rx","creationTimestamp":"2024-01-01T00:00:00Z",
  "labels":{"apps.tanzu.vmware.com/workload-type":"web\u001b[31m"}},
 "status":{"conditions":[{"type":"Ready","status":"False","reason":"Bad\u0008\u0000","message":"one\ntwo\u001b[2J"},
   {"type":"Healthy","status":"Maybe\u001b[5m"}]}}"#;

#[test]
fn tables_and_messages_never_write_terminal_controls() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(HOSTILE.as_bytes()).unwrap();
    let path = f.path().to_str().unwrap();
    let raw = |b: &[u8]| b.iter().any(|&c| (c < 0x20 && c != b'\n') || c == 0x7f);
    for wide in [false, true] {
        let mut c = cmd();
        c.args(["-f", path, "-o", "table", "-v"]);
        if wide {
            c.arg("--wide");
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(
            !raw(&out.stdout),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            !raw(&out.stderr),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        // The object is one row per table, its name escaped the way kubectl does.
        let rows: Vec<&str> = text.lines().filter(|l| l.contains("evil")).collect();
        assert_eq!(rows.len(), if wide { 3 } else { 1 }, "{text}");
        for row in rows {
            assert!(row.contains(r"evil^[]0;owned\x07\nrow"), "{text}");
            assert!(row.contains(r"dev\rx"), "{text}");
        }
    }
    // A path with controls is escaped in the error too.
    let out = cmd().args(["-f", "/no/such\x1b[2Jfile"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(
        !raw(&out.stderr),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And in what `config validate` prints: the path and the config's kinds.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("evil\x1b]0;x\x07.yaml");
    std::fs::write(
        &config,
        "kind: CustomResourceStateMetrics\nspec:\n  resources:\n  - groupVersionKind: \
         {group: \"a\\e[2J\", version: v1, kind: K}\n    metrics:\n    - name: m\n      \
         each: {type: Info, info: {labelsFromPath: {x: [a]}}}\n",
    )
    .unwrap();
    let out = cmd()
        .args(["config", "validate"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!raw(&out.stdout), "{text}");
    assert!(text.contains("a^[[2J/v1/K"), "{text}");
}

/// The kinds of the embedded config, with the family and condition type the
/// dashboards count them by.
const HEALTH_BY_KIND: &[(&str, &str, &str)] = &[
    ("Fragment", "accelerator_fragment_status", "Ready"),
    ("Accelerator", "accelerator_status", "Ready"),
    ("APIDescriptor", "api_descriptor_status", "Ready"),
    ("Revision", "knative_revision_status", "Ready"),
    ("Service", "knative_service_status", "Ready"),
    ("ServiceBinding", "service_binding_status", "Ready"),
    (
        "ClusterInstanceClass",
        "stk_cluster_instance_class_status",
        "Ready",
    ),
    ("ResourceClaim", "stk_resource_claim_status", "Ready"),
    ("ClassClaim", "stk_class_claim_status", "Ready"),
    ("Deliverable", "cartographer_deliverable_status", "Ready"),
    ("Workload", "cartographer_workload_status", "Ready"),
    ("GitRepository", "flux_git_repository_status", "Ready"),
    ("TaskRun", "tekton_task_run_status", "Succeeded"),
    ("SourceScan", "scst_source_scan_status", "Succeeded"),
    ("ImageScan", "scst_image_scan_status", "Succeeded"),
    ("PipelineRun", "tekton_pipeline_run_status", "Succeeded"),
    ("Build", "kpack_build_status", "Succeeded"),
    ("Image", "kpack_image_status", "Ready"),
    (
        "PackageRepository",
        "carvel_packagerepository_info",
        "ReconcileSucceeded",
    ),
    (
        "PackageInstall",
        "carvel_packageinstall_info",
        "ReconcileSucceeded",
    ),
    ("App", "carvel_app_info", "ReconcileSucceeded"),
];

#[test]
fn the_summary_counts_what_the_samples_say() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/tap-objects.yaml");
    let run = |format: &str| {
        let out = cmd()
            .args(["-f", examples, "-q", "-o", format])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let summary = run("summary");
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    let samples = |family: &str| -> Vec<serde_json::Map<String, serde_json::Value>> {
        json.as_array()
            .unwrap()
            .iter()
            .filter(|f| f["name"] == family)
            .flat_map(|f| f["metrics"].as_array().unwrap())
            .map(|m| m["labels"].as_object().unwrap().clone())
            .collect()
    };
    // What `count(family{type=T, status=S})` gives.
    let count = |family: &str, ty: &str, status: &str| {
        samples(family)
            .iter()
            .filter(|l| l["type"] == ty && l["status"] == status)
            .count()
    };
    for (kind, family, ty) in HEALTH_BY_KIND {
        let row: Vec<&str> = summary
            .lines()
            .find(|l| l.split_whitespace().next() == Some(kind))
            .unwrap_or_else(|| panic!("no row for {kind}:\n{summary}"))
            .split_whitespace()
            .collect();
        let ready = count(family, ty, "True");
        let not_ready = count(family, ty, "False") + count(family, "ReconcileFailed", "True");
        assert_eq!(row[2], ready.to_string(), "{kind} ready:\n{summary}");
        assert_eq!(
            row[3],
            not_ready.to_string(),
            "{kind} not ready:\n{summary}"
        );
    }

    // CVE totals: the sum of the scans' counts, by severity.
    let critical: u64 = samples("scst_image_scan_info")
        .iter()
        .filter_map(|l| l.get("critical_cve_count")?.as_str()?.parse::<u64>().ok())
        .sum();
    assert!(
        summary.contains(&format!("image scans: critical {critical}, ")),
        "{summary}"
    );
    // Buildpacks: distinct workloads per id and version, most used first.
    let mut users =
        std::collections::BTreeMap::<(String, String), std::collections::BTreeSet<String>>::new();
    for l in samples("kpack_build_involved_buildpacks") {
        let get = |k: &str| l.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        users
            .entry((get("id"), get("version")))
            .or_default()
            .insert(get("workload"));
    }
    let top = users.iter().max_by_key(|(_, w)| w.len()).unwrap();
    let line = summary
        .lines()
        .find(|l| l.starts_with(&top.0.0))
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(line.ends_with(&format!(" {}", top.1.len())), "{line}");
    assert!(summary.contains("Workloads with live update (1): dev/tanzu-java-web-app"));

    // One screen wide, on any terminal.
    for l in summary.lines() {
        assert!(l.chars().count() <= 100, "{l}");
    }
}

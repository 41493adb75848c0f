//! Pushing to Debian's real `prometheus-pushgateway`, driven through the built binary.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::pushgateway::{
    Pushgateway, Series, expected_series, fixture, fixture_subset, tap_metrics,
};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The series of `job` other than the gateway's own push_*time_seconds.
fn pushed(pgw: &Pushgateway, job: &str) -> Series {
    let mut s = pgw.series(job);
    s.retain(|(name, _), _| !name.starts_with("push_"));
    s
}

fn names(s: &Series) -> std::collections::BTreeSet<&str> {
    s.keys().map(|(n, _)| n.as_str()).collect()
}

fn assert_same(got: &Series, want: &Series) {
    let got_keys: Vec<_> = got.keys().collect();
    let want_keys: Vec<_> = want.keys().collect();
    if got_keys != want_keys {
        let missing: Vec<_> = want
            .keys()
            .filter(|k| !got.contains_key(*k))
            .take(5)
            .collect();
        let extra: Vec<_> = got
            .keys()
            .filter(|k| !want.contains_key(*k))
            .take(5)
            .collect();
        panic!(
            "series differ ({} vs {} expected); missing: {missing:?}; unexpected: {extra:?}",
            got.len(),
            want.len()
        );
    }
    for (k, v) in want {
        let g = got[k];
        assert!(g == *v || (g.is_nan() && v.is_nan()), "{k:?}: {g} != {v}");
    }
}

#[test]
fn put_then_get_shows_exactly_our_series_and_stdout_stays_clean() {
    let Some(pgw) = Pushgateway::start() else {
        return;
    };
    let out = tap_metrics()
        .arg("--from-file")
        .arg(fixture())
        .args(["--pushgateway", &pgw.url, "--job", "tap"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "stdout must stay clean");
    let err = stderr(&out);
    let summary = err.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with(&format!(
            "pushed 1 group (job=\"tap\") to {}/ with PUT: ",
            pgw.url
        )) && summary.contains(" families, ")
            && summary.contains(" samples, ")
            && summary.contains(" gzip in "),
        "{err}"
    );

    let want = expected_series(&fixture(), &[], "tap");
    assert!(want.len() > 200, "the fixture gives {} series", want.len());
    assert_same(&pushed(&pgw, "tap"), &want);
    let all = pgw.series("tap");
    let key = |n: &str| {
        (
            n.to_string(),
            BTreeMap::from([
                ("instance".to_string(), String::new()),
                ("job".to_string(), "tap".to_string()),
            ]),
        )
    };
    let push_time = all[&key("push_time_seconds")];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        (now - push_time).abs() < 60.0,
        "push_time_seconds {push_time}"
    );
    assert_eq!(all[&key("push_failure_time_seconds")], 0.0);
    assert_eq!(all.len(), want.len() + 2, "nothing else in the group");

    // -o still prints alongside a push.
    let out = tap_metrics()
        .arg("--from-file")
        .arg(fixture())
        .args([
            "--pushgateway",
            &pgw.url,
            "--job",
            "tap",
            "-o",
            "json",
            "-q",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "-q: {}", stderr(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("-o json on stdout");
    assert!(json.as_array().is_some_and(|a| !a.is_empty()));
}

#[test]
fn a_second_put_without_some_objects_removes_their_series() {
    let Some(pgw) = Pushgateway::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let push = |file: &std::path::Path| {
        let out = tap_metrics()
            .arg("--from-file")
            .arg(file)
            .args(["--pushgateway", &pgw.url])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    };
    push(&fixture());
    let full = pushed(&pgw, "tap-metrics");
    assert!(names(&full).contains("kpack_build_status"));

    // One workload deleted, and every kpack object gone.
    let smaller = fixture_subset(dir.path(), "smaller.json", |o| {
        o["apiVersion"]
            .as_str()
            .is_some_and(|a| !a.starts_with("kpack.io/"))
            && !(o["kind"] == "Workload" && o["metadata"]["name"] == "tanzu-java-web-app")
    });
    push(&smaller);
    let after = pushed(&pgw, "tap-metrics");
    assert_same(&after, &expected_series(&smaller, &[], "tap-metrics"));
    assert!(!names(&after).iter().any(|n| n.starts_with("kpack_")));
    let java_workload = |s: &Series| {
        s.keys().any(|(n, l)| {
            n == "cartographer_workload_info"
                && l.get("name").map(String::as_str) == Some("tanzu-java-web-app")
        })
    };
    assert!(java_workload(&full) && !java_workload(&after));
    assert!(after.len() < full.len());
}

#[test]
fn post_keeps_the_other_families_of_the_group() {
    let Some(pgw) = Pushgateway::start() else {
        return;
    };
    let push = |extra: &[&str]| {
        let out = tap_metrics()
            .arg("--from-file")
            .arg(fixture())
            .args(["--pushgateway", &pgw.url])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    push(&["--resource", "workloads.carto.run"]);
    let err = push(&["--push-mode", "add", "--resource", "builds.kpack.io"]);
    assert!(err.contains(" with POST: "), "{err}");
    let got = pushed(&pgw, "tap-metrics");
    let mut want = expected_series(
        &fixture(),
        &["--resource", "workloads.carto.run"],
        "tap-metrics",
    );
    want.extend(expected_series(
        &fixture(),
        &["--resource", "builds.kpack.io"],
        "tap-metrics",
    ));
    assert_same(&got, &want);
    assert!(names(&got).contains("cartographer_workload_info"));
    assert!(names(&got).contains("kpack_build_status"));

    // A PUT of the builds alone replaces the group: the workloads go.
    push(&["--resource", "builds.kpack.io"]);
    assert!(!names(&pushed(&pgw, "tap-metrics")).contains("cartographer_workload_info"));
}

#[test]
fn delete_empties_the_group() {
    let Some(pgw) = Pushgateway::start() else {
        return;
    };
    let run = |extra: &[&str]| {
        tap_metrics()
            .arg("--from-file")
            .arg(fixture())
            .args(["--pushgateway", &pgw.url, "--grouping-key", "site=eu"])
            .args(extra)
            .output()
            .unwrap()
    };
    assert!(run(&[]).status.success());
    let group = BTreeMap::from([
        ("job".to_string(), "tap-metrics".to_string()),
        ("site".to_string(), "eu".to_string()),
    ]);
    assert!(pgw.groups().contains(&group));

    // --delete lists nothing: no --from-file needed.
    let out = tap_metrics()
        .args([
            "--pushgateway",
            &pgw.url,
            "--grouping-key",
            "site=eu",
            "--delete",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "deleted 1 group (job=\"tap-metrics\",site=\"eu\") from {}/ in ",
            pgw.url
        )),
        "{err}"
    );
    assert!(!pgw.groups().contains(&group));
    assert!(pgw.series("tap-metrics").is_empty());
}

#[test]
fn grouping_values_round_trip_through_the_path() {
    let Some(pgw) = Pushgateway::start() else {
        return;
    };
    let ctx = "arn:aws:eks:eu-west-1:123456789012:cluster/prod";
    let flags = [
        "--job",
        "team/tap",
        "--grouping-key",
        &format!("context={ctx}"),
        "--grouping-key",
        "empty=",
        "--grouping-key",
        "dots=..",
        "--grouping-key",
        "odd=a b%?#é+",
    ];
    let out = tap_metrics()
        .arg("--from-file")
        .arg(fixture())
        .args([
            "--pushgateway",
            &pgw.url,
            "--resource",
            "workloads.carto.run",
        ])
        .args(flags)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let groups = pgw.groups();
    assert_eq!(groups.len(), 1, "{groups:?}");
    let want: BTreeMap<String, String> = [
        ("job", "team/tap"),
        ("context", ctx),
        ("empty", ""),
        ("dots", ".."),
        ("odd", "a b%?#é+"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(groups[0], want);
    let samples = pgw.series("team/tap");
    assert!(
        samples
            .keys()
            .all(|(_, l)| l["context"] == ctx && l["odd"] == "a b%?#é+")
    );

    let out = tap_metrics()
        .args(["--pushgateway", &pgw.url, "--delete"])
        .args(flags)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(pgw.groups().is_empty(), "{:?}", pgw.groups());
}

#[test]
fn a_400_fails_with_the_gateways_message_and_keeps_the_last_snapshot() {
    let Some(pgw) = Pushgateway::start() else {
        return;
    };
    let base = ["--pushgateway", &pgw.url, "--job", "tap"];
    let out = tap_metrics()
        .arg("--from-file")
        .arg(fixture())
        .args(base)
        .args(["--resource", "builds.kpack.io"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let before = pushed(&pgw, "tap");

    // Another pusher owns the name as a counter: the gateway refuses our gauge.
    let (status, body) = pgw.put_raw(
        "/metrics/job/other",
        "PUT",
        "# TYPE cartographer_workload_info counter\ncartographer_workload_info 1\n",
    );
    assert_eq!(status, 200, "{body}");
    let started = Instant::now();
    let out = tap_metrics()
        .arg("--from-file")
        .arg(fixture())
        .args(base)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    let err = err.lines().last().unwrap_or_default();
    assert!(
        err.starts_with(&format!(
            "error: the Pushgateway at {}/ refused the PUT of group job=\"tap\": 400 Bad Request: pushed metrics are invalid or inconsistent with existing metrics: ",
            pgw.url
        )) && err.contains("collected metric \"cartographer_workload_info\" is not a "),
        "{err}"
    );
    assert!(!err.contains("retrying"), "a 4xx is not retried: {err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_same(&pushed(&pgw, "tap"), &before);
}

#[test]
fn a_gateway_that_is_down_fails_clearly_after_the_retries() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let out = tap_metrics()
        .arg("--from-file")
        .arg(fixture())
        .args(["--pushgateway", &url, "--resource", "builds.kpack.io"])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    for (i, l) in lines[..2].iter().enumerate() {
        assert!(
            l.starts_with(&format!(
                "warning: cannot reach the Pushgateway at {url}/ for the PUT of group job=\"tap-metrics\": tcp connect error: Connection refused (attempt "
            )) && l.contains(&format!("(attempt {} of 3); retrying in", i + 1)),
            "{l}"
        );
    }
    assert!(
        lines[2]
            == format!(
                "error: cannot reach the Pushgateway at {url}/ for the PUT of group job=\"tap-metrics\": tcp connect error: Connection refused; gave up after 3 attempts"
            ),
        "{}",
        lines[2]
    );
    assert!(took >= Duration::from_millis(1500), "backoff: {took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn bad_urls_and_flags_fail_before_anything_is_sent() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--pushgateway", "pgw:9091"],
            "--pushgateway \"pgw:9091\": expected a URL like http://pushgateway:9091",
        ),
        (
            &["--pushgateway", "http://admin:pw@pgw:9091"],
            "credentials do not belong in the URL",
        ),
        (
            &["--pushgateway", "http://pgw", "--grouping-key", "job=x"],
            "the job is set with --job",
        ),
        (
            &["--pushgateway", "http://pgw", "--pushgateway-user", "u"],
            "--pushgateway-user needs a password",
        ),
        (
            &[
                "--pushgateway",
                "http://pgw",
                "--pushgateway-certificate-authority",
                "/nonexistent/ca.pem",
            ],
            "--pushgateway-certificate-authority /nonexistent/ca.pem: cannot read: No such file or directory",
        ),
        (
            &[
                "--pushgateway",
                "http://pgw",
                "--pushgateway-timeout",
                "soon",
            ],
            "\"soon\" is not a duration",
        ),
    ];
    for (args, want) in cases {
        let out = tap_metrics()
            .arg("--from-file")
            .arg(fixture())
            .args(*args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn proxy_environment_variables_are_honoured() {
    let Some(pgw) = Pushgateway::start() else {
        return;
    };
    // The gateway serves absolute-form request targets, so it can stand in
    // for the proxy: the push only lands if it went through $HTTP_PROXY.
    let out = tap_metrics()
        .env("HTTP_PROXY", &pgw.url)
        .arg("--from-file")
        .arg(fixture())
        .args([
            "--pushgateway",
            "http://pushgateway.invalid:9091",
            "--job",
            "via-proxy",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!pushed(&pgw, "via-proxy").is_empty());
}

#[test]
fn a_body_the_gateway_would_mangle_or_refuse_pushes_nothing() {
    let Some(pgw) = Pushgateway::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("clash.yaml");
    std::fs::write(
        &config,
        "kind: CustomResourceStateMetrics\nspec:\n  resources:\n  - groupVersionKind: {group: carto.run, version: v1alpha1, kind: Workload}\n    metricNamePrefix: ''\n    labelsFromPath: {name: [metadata, name]}\n    metrics:\n    - name: push_time_seconds\n      help: clashes with the gateway's own\n      each: {type: Info, info: {labelsFromPath: {ns: [metadata, namespace]}}}\n",
    )
    .unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--config", config.to_str().unwrap()],
            "error: cannot push group job=\"tap-metrics\": the Pushgateway keeps push_time_seconds for itself; rename the metric in the config; nothing was pushed",
        ),
        (
            &["--grouping-key", "namespace=dev"],
            "error: cannot push group job=\"tap-metrics\",namespace=\"dev\": accelerator_fragment_info has samples with the label \"namespace\", which the Pushgateway would overwrite with the grouping key's namespace=\"dev\"; rename the label in the config or leave it out of the grouping key; nothing was pushed",
        ),
    ];
    for (args, want) in cases {
        let out = tap_metrics()
            .arg("--from-file")
            .arg(fixture())
            .args(["--pushgateway", &pgw.url])
            .args(*args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_eq!(stderr(&out).lines().last(), Some(*want));
    }
    assert!(pgw.groups().is_empty(), "{:?}", pgw.groups());
}

#[test]
fn duplicate_series_are_dropped_so_the_gateway_takes_the_push() {
    let Some(pgw) = Pushgateway::start() else {
        return;
    };
    // A build listing one buildpack twice, as kpack can: KSM gives two
    // identical kpack_build_involved_buildpacks series, which the gateway refuses.
    let dir = tempfile::tempdir().unwrap();
    let file = fixture_subset(dir.path(), "builds.json", |o| {
        o["kind"] == "Build" && o["status"]["buildMetadata"].is_array()
    });
    let mut list: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let builds = list["items"].as_array_mut().unwrap();
    assert!(!builds.is_empty());
    let metadata = builds[0]["status"]["buildMetadata"].as_array_mut().unwrap();
    metadata.push(metadata[0].clone());
    std::fs::write(&file, list.to_string()).unwrap();

    let out = tap_metrics()
        .arg("--from-file")
        .arg(&file)
        .args(["--pushgateway", &pgw.url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .ends_with("; dropped 1 duplicate series (same name and labels; the first was kept)\n"),
        "{}",
        stderr(&out)
    );
    assert_same(
        &pushed(&pgw, "tap-metrics"),
        &expected_series(&file, &[], "tap-metrics"),
    );
}

//! Pushing what live clusters gave: partial listings, and one group per
//! cluster with several contexts. Fake API servers, real Pushgateway.

use std::collections::BTreeMap;
use std::path::Path;

use fake_apiserver::{FakeApiServer, Fault, Options, write_kubeconfig_multi};
use serde_json::Value;

use crate::pushgateway::{self, Pushgateway, Series, fixture};

/// The binary reading only the given kubeconfig, not in a pod.
fn tap_metrics(kubeconfig: &Path) -> assert_cmd::Command {
    let mut c = pushgateway::tap_metrics();
    c.env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env("HOME", kubeconfig.parent().unwrap())
        .arg("--kubeconfig")
        .arg(kubeconfig);
    c
}

fn objects(keep: impl Fn(&Value) -> bool) -> Vec<Value> {
    FakeApiServer::load_objects(&fixture())
        .into_iter()
        .filter(|o| keep(o))
        .collect()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn groups_of(pgw: &Pushgateway) -> Vec<String> {
    let mut g: Vec<String> = pgw.groups().iter().map(|g| format!("{g:?}")).collect();
    g.sort();
    g
}

fn has_family(s: &Series, name: &str) -> bool {
    s.keys().any(|(n, _)| n == name)
}

#[test]
fn a_partial_listing_is_not_pushed_unless_asked() {
    let Some(pgw) = Pushgateway::start() else {
        return;
    };
    // A good snapshot is already there.
    let out = pushgateway::tap_metrics()
        .arg("--from-file")
        .arg(fixture())
        .args(["--pushgateway", &pgw.url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let good = pgw.series("tap-metrics");
    assert!(has_family(&good, "cartographer_workload_info"));

    let srv = FakeApiServer::start(Options {
        objects: objects(|_| true),
        faults: vec![("workloads".into(), Fault::Forbidden)],
        ..Options::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    srv.write_kubeconfig(&kubeconfig, "tap");

    let out = tap_metrics(&kubeconfig)
        .args(["--pushgateway", &pgw.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.ends_with(&format!(
            "error: some resources could not be read, so nothing was pushed to {}/: a push would remove their series; fix the access or pass --push-partial\n",
            pgw.url
        )),
        "{err}"
    );
    let mut kept = pgw.series("tap-metrics");
    kept.retain(|(n, _), _| !n.starts_with("push_"));
    let mut before = good.clone();
    before.retain(|(n, _), _| !n.starts_with("push_"));
    assert_eq!(
        kept.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );

    let out = tap_metrics(&kubeconfig)
        .args(["--pushgateway", &pgw.url, "--push-partial"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: some resources could not be read; pushing the rest (--push-partial)\npushed 1 group"),
        "{err}"
    );
    let now = pgw.series("tap-metrics");
    assert!(!has_family(&now, "cartographer_workload_info"));
    assert!(has_family(&now, "kpack_build_status"));
}

/// The series of one cluster as its group `cluster=<ctx>` holds them.
fn expected_for(kubeconfig: &Path, ctx: &str) -> Series {
    let out = tap_metrics(kubeconfig)
        .args(["--context", ctx, "-o", "prometheus"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    pushgateway::as_pushed(
        &String::from_utf8(out.stdout).unwrap(),
        &[("job", "tap-metrics"), ("cluster", ctx)],
    )
}

#[test]
fn several_contexts_push_one_group_per_cluster() {
    let Some(pgw) = Pushgateway::start() else {
        return;
    };
    let build = FakeApiServer::start(Options {
        objects: objects(|_| true),
        ..Options::default()
    });
    let run = FakeApiServer::start(Options {
        objects: objects(|o| {
            o["apiVersion"]
                .as_str()
                .is_some_and(|a| a.starts_with("serving.knative.dev/"))
        }),
        ..Options::default()
    });
    let empty = FakeApiServer::start(Options::default());
    let gone = FakeApiServer::start(Options::default());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    write_kubeconfig_multi(
        &kubeconfig,
        &[
            ("build", &build),
            ("run", &run),
            ("empty", &empty),
            ("gone", &gone),
        ],
        "build",
    );
    drop(gone);
    let contexts = [
        "--context",
        "build",
        "--context",
        "run",
        "--context",
        "empty",
    ];

    let out = tap_metrics(&kubeconfig)
        .args(["--pushgateway", &pgw.url])
        .args(contexts)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).lines().last().unwrap_or_default().starts_with(
            "pushed 3 groups (job=\"tap-metrics\",cluster=\"build\"; job=\"tap-metrics\",cluster=\"run\"; job=\"tap-metrics\",cluster=\"empty\") to "
        ),
        "{}",
        stderr(&out)
    );
    let on_gateway = pgw.series("tap-metrics");
    let in_cluster = |ctx: &str| -> Series {
        on_gateway
            .iter()
            .filter(|((n, l), _)| {
                !n.starts_with("push_") && l.get("cluster").map(String::as_str) == Some(ctx)
            })
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    };
    for ctx in ["build", "run"] {
        let want = expected_for(&kubeconfig, ctx);
        assert!(!want.is_empty());
        assert_eq!(
            in_cluster(ctx).keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{ctx}"
        );
    }
    // A cluster without objects still gets its (empty) group, so a PUT clears it.
    assert!(in_cluster("empty").is_empty());
    let empty_group = BTreeMap::from([
        ("cluster".to_string(), "empty".to_string()),
        ("job".to_string(), "tap-metrics".to_string()),
    ]);
    assert!(pgw.groups().contains(&empty_group));
    let before = groups_of(&pgw);
    assert_eq!(before.len(), 3);

    // One cluster unreachable: the others are pushed and its group (none
    // here) is left alone, with or without --push-partial.
    let mut four = contexts.to_vec();
    four.extend(["--context", "gone"]);
    for flags in [&[][..], &["--push-partial"][..]] {
        let out = tap_metrics(&kubeconfig)
            .args(["--pushgateway", &pgw.url])
            .args(flags)
            .args(&four)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(
                "warning: context \"gone\": nothing was read, so its group job=\"tap-metrics\",cluster=\"gone\" is left as it is\n"
            ) && err.contains("pushed 3 groups"),
            "{flags:?}: {err}"
        );
        assert_eq!(groups_of(&pgw), before);
    }

    let out = tap_metrics(&kubeconfig)
        .args(["--pushgateway", &pgw.url, "--delete"])
        .args(contexts)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("deleted 3 groups"),
        "{}",
        stderr(&out)
    );
    assert!(pgw.groups().is_empty(), "{:?}", pgw.groups());
}

#[test]
fn a_partial_cluster_keeps_its_group_while_the_others_are_pushed() {
    let Some(pgw) = Pushgateway::start() else {
        return;
    };
    let build = FakeApiServer::start(Options {
        objects: objects(|_| true),
        ..Options::default()
    });
    // The same cluster once workloads have become forbidden.
    let build_forbidden = FakeApiServer::start(Options {
        objects: objects(|_| true),
        faults: vec![("workloads".into(), Fault::Forbidden)],
        ..Options::default()
    });
    let run = FakeApiServer::start(Options {
        objects: objects(|_| true),
        ..Options::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let healthy = dir.path().join("healthy");
    write_kubeconfig_multi(&healthy, &[("build", &build), ("run", &run)], "build");
    let forbidden = dir.path().join("forbidden");
    write_kubeconfig_multi(
        &forbidden,
        &[("build", &build_forbidden), ("run", &run)],
        "build",
    );
    let push = |kubeconfig: &Path, extra: &[&str]| {
        tap_metrics(kubeconfig)
            .args(["--pushgateway", &pgw.url])
            .args(extra)
            .args(["--context", "build", "--context", "run"])
            .output()
            .unwrap()
    };
    let in_cluster = |ctx: &str| -> Series {
        pgw.series("tap-metrics")
            .into_iter()
            .filter(|((_, l), _)| l.get("cluster").map(String::as_str) == Some(ctx))
            .collect()
    };
    let out = push(&healthy, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let good_build = in_cluster("build");
    assert!(has_family(&good_build, "cartographer_workload_info"));

    // Workloads become forbidden on build: run is still pushed, build's last
    // complete snapshot stays (push_time_seconds included, so it ages).
    let run_time = |s: &Series| -> f64 {
        s.iter()
            .find(|((n, _), _)| n == "push_time_seconds")
            .map(|(_, v)| *v)
            .unwrap()
    };
    let run_before = run_time(&in_cluster("run"));
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = push(&forbidden, &[]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "warning: context \"build\": some resources could not be read, so its group job=\"tap-metrics\",cluster=\"build\" is left as it is (--push-partial pushes the rest)\n"
        ) && err.contains("pushed 1 group (job=\"tap-metrics\",cluster=\"run\")"),
        "{err}"
    );
    assert_eq!(in_cluster("build"), good_build);
    assert!(run_time(&in_cluster("run")) > run_before);

    // --push-partial: build is pushed without its workloads.
    let out = push(&forbidden, &["--push-partial"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: context \"build\": some resources could not be read; pushing the rest (--push-partial)\n")
            && err.contains("pushed 2 groups"),
        "{err}"
    );
    let now = in_cluster("build");
    assert!(!has_family(&now, "cartographer_workload_info"));
    assert!(has_family(&now, "kpack_build_status"));
}

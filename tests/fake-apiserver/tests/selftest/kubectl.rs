//! kubectl end to end.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use fake_apiserver::{FakeApiServer, Fault, Options, write_kubeconfig_multi};
use serde_json::{Value, json};

use crate::{Http, KUBECTL_DISCOVERY_ACCEPT, WL, cic, names, start, workload};

/// kubectl's path; panics under CI=true when it is missing, else skips with a note.
fn kubectl() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("kubectl"))
                .find(|p| p.is_file())
        })
        .unwrap_or_default()
        .or_else(|| Some(PathBuf::from("/usr/bin/kubectl")).filter(|p| p.is_file()));
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "kubectl is required under CI=true but was not found"
        );
        eprintln!("note: kubectl not found; skipping kubectl end-to-end test");
    }
    found
}

struct Kubectl {
    bin: PathBuf,
    dir: tempfile::TempDir,
}

impl Kubectl {
    fn new(bin: PathBuf, servers: &[(&str, &FakeApiServer)]) -> Kubectl {
        let dir = tempfile::tempdir().unwrap();
        write_kubeconfig_multi(&dir.path().join("config"), servers, servers[0].0);
        Kubectl { bin, dir }
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// Runs kubectl with its own kubeconfig, discovery cache and HOME.
    fn run(&self, args: &[&str]) -> std::process::Output {
        let out = Command::new(&self.bin)
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .args(std::env::var("KX").ok().iter())
            .env("HOME", self.dir.path())
            .env_remove("KUBECONFIG")
            .output()
            .unwrap();
        eprintln!(
            "kubectl {args:?} -> {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }
}

#[test]
fn kubectl_end_to_end() {
    let Some(bin) = kubectl() else { return };
    let srv = start(Options {
        token: Some("tok-123".into()),
        ..Options::default()
    });
    let k = Kubectl::new(bin, &[("fake", &srv)]);

    let view = k.ok(&["config", "view", "-o", "json"]);
    let view: Value = serde_json::from_str(&view).unwrap();
    assert_eq!(view["current-context"], "fake");
    assert_eq!(view["clusters"][0]["cluster"]["server"], srv.url);
    assert_eq!(
        view["clusters"][0]["cluster"]["certificate-authority-data"],
        "DATA+OMITTED"
    );
    assert_eq!(view["users"][0]["user"]["token"], "REDACTED");

    let version: Value = serde_json::from_str(&k.ok(&["get", "--raw", "/version"])).unwrap();
    assert_eq!(version["gitVersion"], fake_apiserver::SERVER_GIT_VERSION);
    assert!(
        srv.requests().iter().all(|r| r.authorized),
        "kubectl sent the kubeconfig token"
    );

    let all = k.json(&["get", "workloads.carto.run", "-A", "-o", "json"]);
    assert_eq!(all["kind"], "List");
    assert_eq!(
        names(&all),
        [
            "a-b/two",
            "a/one",
            "dev/api",
            "dev/web",
            "dev/worker",
            "prod/web"
        ]
    );
    assert_eq!(all["items"][0]["apiVersion"], "carto.run/v1alpha1");
    // kubectl used aggregated discovery, as against a real 1.30 server: no per-group documents.
    let log = srv.requests();
    assert!(log.iter().any(|r| {
        r.path == "/apis"
            && r.status == 200
            && r.accept
                .as_deref()
                .unwrap_or("")
                .contains("as=APIGroupDiscoveryList")
    }));
    assert!(!log.iter().any(|r| r.path == "/apis/carto.run/v1alpha1"));
    assert!(
        log.iter()
            .any(|r| r.path == WL && r.param("limit").as_deref() == Some("500"))
    );

    assert_eq!(
        names(&k.json(&[
            "get",
            "workloads.carto.run",
            "-A",
            "-l",
            "app=x",
            "-o",
            "json"
        ])),
        ["dev/web", "dev/worker", "prod/web"]
    );
    assert_eq!(
        names(&k.json(&[
            "get",
            "workloads",
            "-A",
            "-l",
            "app in (y,z),!tier",
            "-o",
            "json"
        ])),
        ["a-b/two"]
    );
    assert_eq!(
        names(&k.json(&["get", "workloads.carto.run", "-n", "dev", "-o", "json"])),
        ["dev/api", "dev/web", "dev/worker"]
    );
    assert_eq!(
        names(&k.json(&[
            "get",
            "workloads",
            "-A",
            "--field-selector",
            "metadata.name=web",
            "-o",
            "json"
        ])),
        ["dev/web", "prod/web"]
    );

    srv.clear_requests();
    let chunked = k.json(&[
        "get",
        "workloads.carto.run",
        "-A",
        "--chunk-size",
        "1",
        "-o",
        "json",
    ]);
    assert_eq!(names(&chunked).len(), 6);
    let pages: Vec<_> = srv.requests_to(WL);
    assert_eq!(pages.len(), 6, "one request per item");
    assert!(
        pages
            .iter()
            .all(|r| r.param("limit").as_deref() == Some("1"))
    );
    assert!(pages[0].param("continue").is_none());
    assert!(pages[1..].iter().all(|r| r.param("continue").is_some()));

    // Short names, cluster-scoped kinds, single objects, tables and version selection.
    assert_eq!(
        k.json(&["get", "ksvc", "-A", "-o", "json"])["items"],
        json!([])
    );
    assert_eq!(
        names(&k.json(&["get", "clusterinstanceclasses", "-o", "json"])),
        ["mysql", "postgres"]
    );
    assert_eq!(
        k.json(&["get", "workload", "web", "-n", "prod", "-o", "json"])["metadata"]["namespace"],
        "prod"
    );
    let table = k.ok(&["get", "workloads", "-n", "dev"]);
    assert!(
        table.starts_with("NAME") && table.contains("worker"),
        "{table}"
    );
    let trs = k.json(&[
        "get",
        "taskruns.v1beta1.tekton.dev",
        "-n",
        "dev",
        "-o",
        "json",
    ]);
    assert_eq!(trs["items"][0]["apiVersion"], "tekton.dev/v1beta1");
    assert_eq!(
        k.json(&["get", "taskruns", "-n", "dev", "-o", "json"])["items"][0]["apiVersion"],
        "tekton.dev/v1"
    );

    let resources = k.ok(&["api-resources", "--api-group", "carto.run", "-o", "name"]);
    assert_eq!(
        resources.lines().collect::<Vec<_>>(),
        ["deliverables.carto.run", "workloads.carto.run"]
    );

    let missing = k.run(&["get", "workload", "nope", "-n", "dev"]);
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains(r#"workloads.carto.run "nope" not found"#)
    );
}

#[test]
fn kubectl_sees_faults_and_auth_errors() {
    let Some(bin) = kubectl() else { return };
    let srv = start(Options {
        token: Some("right".into()),
        faults: vec![
            ("workloads".into(), Fault::Forbidden),
            ("images.kpack.io".into(), Fault::NotFound),
            (
                "deliverables".into(),
                Fault::TooManyRequests {
                    retry_after_secs: 1,
                    times: 1,
                },
            ),
        ],
        ..Options::default()
    });
    let k = Kubectl::new(bin.clone(), &[("fake", &srv)]);

    let denied = k.run(&["get", "workloads.carto.run", "-n", "dev"]);
    assert!(!denied.status.success());
    let err = String::from_utf8_lossy(&denied.stderr);
    assert!(
        err.contains(r#"Error from server (Forbidden): workloads.carto.run is forbidden: User "system:serviceaccount:tap:tap-metrics" cannot list resource "workloads" in API group "carto.run" in the namespace "dev""#),
        "{err}"
    );

    let gone = k.run(&["get", "images.kpack.io", "-A"]);
    assert!(!gone.status.success());
    assert!(
        String::from_utf8_lossy(&gone.stderr)
            .contains(r#"the server doesn't have a resource type "images""#)
    );

    // client-go retries a 429 after Retry-After.
    let t = Instant::now();
    assert_eq!(
        k.json(&["get", "deliverables", "-A", "-o", "json"])["items"],
        json!([])
    );
    assert!(t.elapsed() >= Duration::from_secs(1));
    let statuses: Vec<u16> = srv
        .requests_to("/apis/carto.run/v1alpha1/deliverables")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [429, 200]);

    // A kubeconfig with the wrong token is refused.
    let wrong = Kubectl::new(bin, &[("fake", &srv)]);
    let cfg = std::fs::read_to_string(wrong.kubeconfig())
        .unwrap()
        .replace("right", "wrong");
    std::fs::write(wrong.kubeconfig(), cfg).unwrap();
    let out = wrong.run(&["get", "--raw", "/version"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unauthorized"));
}

#[test]
fn kubectl_switches_between_contexts_of_several_servers() {
    let Some(bin) = kubectl() else { return };
    let a = start(Options::default());
    let b = FakeApiServer::start(Options {
        objects: vec![cic("only-on-b")],
        token: Some("b".into()),
        ..Options::default()
    });
    let k = Kubectl::new(bin, &[("alpha", &a), ("beta", &b)]);
    assert_eq!(
        k.ok(&["config", "get-contexts", "-o", "name"])
            .lines()
            .collect::<Vec<_>>(),
        ["alpha", "beta"]
    );
    assert_eq!(
        names(&k.json(&["get", "clusterinstanceclasses", "-o", "json"])),
        ["mysql", "postgres"]
    );
    assert_eq!(
        names(&k.json(&[
            "--context",
            "beta",
            "get",
            "clusterinstanceclasses",
            "-o",
            "json"
        ])),
        ["only-on-b"]
    );
    assert!(
        b.requests()
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer b"))
    );

    // A plain-HTTP server works through a kubeconfig too.
    let plain = start(Options {
        tls: false,
        ..Options::default()
    });
    let k2 = Kubectl::new(k.bin.clone(), &[("plain", &plain)]);
    assert_eq!(
        names(&k2.json(&["get", "workloads", "-n", "prod", "-o", "json"])),
        ["prod/web"]
    );
}

/// A Workload of about 4 KB of JSON, like a real one with its status.
fn big_workload(i: usize) -> Value {
    let ns = format!("team-{:02}", i % 20);
    let mut w = workload(
        &ns,
        &format!("app-{i:06}"),
        json!({ "app": format!("app-{}", i % 7), "apps.tanzu.vmware.com/workload-type": "web" }),
    );
    w["spec"]["params"] = json!(
        (0..12)
            .map(|p| json!({ "name": format!("param-{p}"), "value": "v".repeat(60) }))
            .collect::<Vec<_>>()
    );
    w["status"]["conditions"] = json!(
        (0..10)
            .map(|c| json!({
                "type": format!("Condition{c}"), "status": "True", "reason": "Ready",
                "message": "m".repeat(150), "lastTransitionTime": "2024-05-01T12:00:00Z",
            }))
            .collect::<Vec<_>>()
    );
    w
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    eprintln!("{what}: {:?}", t.elapsed());
    out
}

#[test]
fn kubectl_pages_through_thousands_of_objects() {
    let Some(bin) = kubectl() else { return };
    let objects: Vec<Value> = (0..3000).map(big_workload).collect();
    let size = serde_json::to_vec(&objects[0]).unwrap().len();
    assert!((3000..6000).contains(&size), "{size} bytes");
    let srv = timed("start", || {
        FakeApiServer::start(Options {
            objects,
            ..Options::default()
        })
    });
    let k = Kubectl::new(bin, &[("fake", &srv)]);
    let all = timed("kubectl get", || {
        k.json(&["get", "workloads.carto.run", "-A", "-o", "json"])
    });
    let got = names(&all);
    assert_eq!(got.len(), 3000);
    assert!(got.windows(2).all(|w| w[0] < w[1]), "etcd key order");
    let pages = srv.requests_to(WL);
    assert_eq!(pages.len(), 6, "pages of 500");
    assert!(pages.iter().all(|r| r.status == 200 && r.accept.is_some()));
}

/// The benchmark's scale: run with `--ignored --nocapture` to see timings.
#[test]
#[ignore = "slow; a manual check of the fake server at benchmark scale"]
fn serves_fifty_thousand_objects() {
    let objects: Vec<Value> = (0..50_000).map(big_workload).collect();
    let srv = timed("start 50k", || {
        FakeApiServer::start(Options {
            objects,
            ..Options::default()
        })
    });
    let h = Http::new(&srv);
    // Raw bodies: this measures the server, not client-side JSON parsing.
    timed("reqwest 100 pages of 500", || {
        let mut path = format!("{WL}?limit=500");
        let mut pages = 0;
        loop {
            let body = String::from_utf8(h.get(&path).body).unwrap();
            pages += 1;
            let tail = &body[body.len() - 400..];
            match tail.split_once(r#""continue":""#) {
                Some((_, c)) => {
                    let c = &c[..c.find('"').unwrap()];
                    path = format!("{WL}?limit=500&continue={c}");
                }
                None => break,
            }
        }
        assert_eq!(pages, 100);
    });
    if let Some(bin) = kubectl() {
        let k = Kubectl::new(bin, &[("fake", &srv)]);
        let out = timed("kubectl get -o json", || {
            k.ok(&["get", "workloads.carto.run", "-A", "-o", "json"])
        });
        assert!(out.len() > 100_000_000);
        timed("kubectl get -o json --disable-compression", || {
            k.ok(&[
                "get",
                "workloads.carto.run",
                "-A",
                "-o",
                "json",
                "--disable-compression",
            ])
        });
    }
}

#[test]
fn kubectl_falls_back_to_legacy_discovery() {
    let Some(bin) = kubectl() else { return };
    let srv = start(Options {
        aggregated_discovery: false,
        faults: vec![("images".into(), Fault::NotFound)],
        ..Options::default()
    });
    let plain = Http::new(&srv).get_with("/apis", &[("accept", KUBECTL_DISCOVERY_ACCEPT)]);
    assert_eq!(plain.headers["content-type"], "application/json");
    assert_eq!(plain.json()["kind"], "APIGroupList");

    let k = Kubectl::new(bin, &[("fake", &srv)]);
    assert_eq!(
        names(&k.json(&["get", "workloads.carto.run", "-A", "-o", "json"])),
        [
            "a-b/two",
            "a/one",
            "dev/api",
            "dev/web",
            "dev/worker",
            "prod/web"
        ]
    );
    // kubectl asked for aggregated discovery, got plain JSON and read the per-group documents.
    let log = srv.requests();
    assert!(
        log.iter()
            .any(|r| r.path == "/apis" && r.accept.as_deref() == Some(KUBECTL_DISCOVERY_ACCEPT))
    );
    assert!(
        log.iter().any(|r| r.path == "/apis/carto.run/v1alpha1"),
        "legacy per-group discovery"
    );
    assert_eq!(
        names(&k.json(&["get", "ksvc", "-A", "-o", "json"])),
        Vec::<String>::new()
    );
    let gone = k.run(&["get", "images.kpack.io", "-A"]);
    assert!(
        String::from_utf8_lossy(&gone.stderr)
            .contains(r#"the server doesn't have a resource type "images""#)
    );
    let resources = k.ok(&["api-resources", "--api-group", "kpack.io", "-o", "name"]);
    assert_eq!(resources.trim(), "builds.kpack.io");
}

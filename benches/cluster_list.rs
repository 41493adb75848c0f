//! Benchmark of the live cluster source (a benchmark, not a test: it asserts
//! nothing). Serves N TAP objects spread over the 21 kinds from the fake API
//! server (HTTPS) and reports wall time, CPU time and peak RSS of
//!
//! - `kubectl-tap_metrics -o openmetrics` (this build, release profile),
//! - `kubectl get <the 21 resources> -A -o json` (kubectl from PATH or /usr/bin),
//! - the raw page fetch alone: the same list requests (limit 500, 8 at once,
//!   HTTP/1.1 over TLS), bodies read and dropped; this binary run as `raw-fetch`;
//! - the same fetch with every body parsed by serde_json, once skimmed
//!   (`IgnoredAny`: every byte checked, nothing built), once into a
//!   `serde_json::Value`: what a client that reads the objects pays at least.
//!
//! Run: `cargo bench --bench cluster_list [-- SIZE...]` (default 1000 10000 50000).
//! `cargo bench --bench cluster_list -- serve N [MS]` only serves N objects
//! (each list answered after MS milliseconds) and prints a kubeconfig for it,
//! to try the plugin by hand; Ctrl-C ends it.
//! CPU time and peak RSS come from GNU time (`/usr/bin/time`, Debian's `time`);
//! wall time is measured here. Each figure is the median of several runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fake_apiserver::{Crd, FakeApiServer, Fault, Options, tap_crds};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-tap_metrics");
const CHUNK: usize = 500;
const CONCURRENCY: usize = 8;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("raw-fetch") => return raw_fetch(&args[1..]),
        Some("serve") => {
            let arg = |i: usize| args.get(i).and_then(|n| n.parse::<u64>().ok());
            return serve(
                arg(1).unwrap_or(1_000) as usize,
                arg(2).map(Duration::from_millis),
            );
        }
        _ => {}
    }
    let mut sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if sizes.is_empty() {
        sizes = vec![1_000, 10_000, 50_000];
    }
    let time = Path::new("/usr/bin/time");
    assert!(
        time.is_file(),
        "GNU time is needed at /usr/bin/time (apt-get install time)"
    );
    let kubectl = ["/usr/local/bin/kubectl", "/usr/bin/kubectl"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("kubectl is needed (/usr/bin/kubectl)");
    let templates = templates();
    let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{nproc} CPUs; median of several runs; chunk size {CHUNK}, {CONCURRENCY} lists at once\n"
    );
    // The fake hands pages over at memory speed; a real API server reads,
    // decodes and encodes every object. The second pace is an assumption.
    for pace in [None, Some(PACE)] {
        match pace {
            None => println!("Server at memory speed:\n"),
            Some(d) => println!(
                "Server answering each list request after {} ms:\n",
                d.as_millis()
            ),
        }
        table(&sizes, &templates, &kubectl, pace);
    }
}

/// The assumed time a real API server needs for one list request.
const PACE: Duration = Duration::from_millis(100);

fn table(sizes: &[usize], templates: &[Vec<Value>], kubectl: &Path, pace: Option<Duration>) {
    println!("| objects | command | wall s | CPU s (user+sys) | peak RSS MiB |");
    println!("|---:|---|---:|---:|---:|");
    let mut summary = Vec::new();
    for &n in sizes {
        let crds = tap_crds();
        let srv = FakeApiServer::start(Options {
            objects: objects(templates, n),
            faults: paced(pace),
            ..Options::default()
        });
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("config");
        srv.write_kubeconfig(&kubeconfig, "bench");
        let ca = dir.path().join("ca.crt");
        std::fs::write(&ca, &srv.ca_pem).unwrap();
        let resources: Vec<String> = crds.iter().map(Crd::name).collect();
        let paths: Vec<String> = crds
            .iter()
            .map(|c| format!("/apis/{}/{}/{}", c.group, c.versions[0], c.plural))
            .collect();

        let mut ours = Command::new(BIN);
        ours.arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["-o", "openmetrics"]);
        let mut theirs = Command::new(kubectl);
        theirs
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .args(["get", &resources.join(","), "-A", "-o", "json"]);
        let fetch = |parse: &str| {
            let mut c = Command::new(std::env::current_exe().unwrap());
            c.args(["raw-fetch", parse])
                .arg(&srv.url)
                .arg(&ca)
                .args(&paths);
            c
        };
        let runs = if n > 20_000 { 3 } else { 5 };
        let rows = [
            (
                "kubectl-tap_metrics -o openmetrics",
                measure(&mut ours, dir.path(), runs),
            ),
            (
                "kubectl get (21 resources) -A -o json",
                measure(&mut theirs, dir.path(), runs),
            ),
            (
                "raw page fetch",
                measure(&mut fetch("drop"), dir.path(), runs),
            ),
            (
                "raw page fetch + JSON skim",
                measure(&mut fetch("skim"), dir.path(), runs),
            ),
            (
                "raw page fetch + JSON to Value",
                measure(&mut fetch("value"), dir.path(), runs),
            ),
        ];
        for (what, m) in &rows {
            println!(
                "| {n} | {what} | {:.2} | {:.2} | {:.1} |",
                m.wall.as_secs_f64(),
                m.cpu,
                m.rss_kib as f64 / 1024.0
            );
        }
        summary.push((n, rows[0].1, rows[1].1, rows[2].1, rows[3].1));
    }
    println!();
    for (n, ours, kubectl, raw, skim) in &summary {
        let wall = |m: &Measured| m.wall.as_secs_f64();
        println!(
            "- {n} objects: wall {:.2}x the raw fetch (target <= 1.2; the skim alone is {:.2}x), {:.2}x kubectl (target <= 0.5)",
            wall(ours) / wall(raw),
            wall(skim) / wall(raw),
            wall(ours) / wall(kubectl)
        );
    }
    let rss = |n: usize| {
        summary
            .iter()
            .find(|s| s.0 == n)
            .map(|s| s.1.rss_kib as f64)
    };
    if let (Some(a), Some(b)) = (rss(10_000), rss(50_000)) {
        println!("- peak RSS 50k / 10k: {:.2} (target <= 1.25)", b / a);
    }
    println!();
}

fn serve(n: usize, pace: Option<Duration>) {
    let srv = FakeApiServer::start(Options {
        objects: objects(&templates(), n),
        faults: paced(pace),
        ..Options::default()
    });
    let kubeconfig = std::env::temp_dir().join(format!(
        "tap-metrics-bench-{}.kubeconfig",
        std::process::id()
    ));
    srv.write_kubeconfig(&kubeconfig, "bench");
    println!("serving {n} objects at {}", srv.url);
    println!("KUBECONFIG={}", kubeconfig.display());
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Every list request of the 21 resources answered after `pace`.
fn paced(pace: Option<Duration>) -> Vec<(String, Fault)> {
    let Some(d) = pace else { return Vec::new() };
    tap_crds()
        .iter()
        .map(|c| (c.name(), Fault::Slow(d)))
        .collect()
}

#[derive(Debug, Clone, Copy)]
struct Measured {
    wall: Duration,
    /// User + system seconds.
    cpu: f64,
    rss_kib: u64,
}

/// Runs `cmd` once to warm up (kubectl's discovery cache, page cache), then
/// `runs` times under GNU time; the median of each figure.
fn measure(cmd: &mut Command, home: &Path, runs: usize) -> Measured {
    let report = home.join("time.out");
    let mut all = Vec::new();
    for i in 0..=runs {
        let mut timed = Command::new("/usr/bin/time");
        timed
            .args(["-f", "%U %S %M", "-o"])
            .arg(&report)
            .arg(cmd.get_program())
            .args(cmd.get_args())
            .env("HOME", home)
            .env_remove("KUBECONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let out = timed.output().unwrap();
        let wall = started.elapsed();
        assert!(
            out.status.success(),
            "{:?} failed: {}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stderr)
        );
        if i == 0 {
            continue;
        }
        let text = std::fs::read_to_string(&report).unwrap();
        let f: Vec<f64> = text
            .lines()
            .last()
            .unwrap()
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect();
        all.push(Measured {
            wall,
            cpu: f[0] + f[1],
            rss_kib: f[2] as u64,
        });
    }
    let mid = all.len() / 2;
    let mut walls: Vec<Duration> = all.iter().map(|m| m.wall).collect();
    walls.sort();
    let mut cpus: Vec<f64> = all.iter().map(|m| m.cpu).collect();
    cpus.sort_by(f64::total_cmp);
    let mut rss: Vec<u64> = all.iter().map(|m| m.rss_kib).collect();
    rss.sort();
    Measured {
        wall: walls[mid],
        cpu: cpus[mid],
        rss_kib: rss[mid],
    }
}

/// The example objects by kind, server-set metadata removed.
fn templates() -> Vec<Vec<Value>> {
    let all = FakeApiServer::load_objects(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tap-objects.yaml"),
    );
    tap_crds()
        .iter()
        .map(|crd| {
            let of_kind: Vec<Value> = all
                .iter()
                .filter(|o| {
                    o["kind"] == crd.kind.as_str()
                        && o["apiVersion"]
                            .as_str()
                            .is_some_and(|a| a.starts_with(&format!("{}/", crd.group)))
                })
                .map(|o| {
                    let mut o = o.clone();
                    let meta = o["metadata"].as_object_mut().unwrap();
                    meta.remove("uid");
                    meta.remove("resourceVersion");
                    o
                })
                .collect();
            assert!(!of_kind.is_empty(), "no example {}", crd.kind);
            of_kind
        })
        .collect()
}

/// `n` objects, round-robin over the kinds and each kind's examples, in 40 namespaces.
fn objects(templates: &[Vec<Value>], n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let of_kind = &templates[i % templates.len()];
            let mut o = of_kind[(i / templates.len()) % of_kind.len()].clone();
            let meta = o["metadata"].as_object_mut().unwrap();
            let name = format!("{}-{i}", meta["name"].as_str().unwrap());
            meta.insert("name".into(), name.into());
            if meta.contains_key("namespace") {
                meta.insert("namespace".into(), format!("team-{}", i % 40).into());
            }
            o
        })
        .collect()
}

/// `raw-fetch drop|skim|value URL CA PATH...`: every page of every path,
/// `CONCURRENCY` paths at once. `drop`: bodies dropped, the continue token
/// found by a byte search (list metadata comes last in these bodies), the
/// least any client can do. `skim` and `value` also parse each body.
fn raw_fetch(args: &[String]) {
    let (parse, url, ca, paths) = (&args[0], &args[1], &args[2], &args[3..]);
    let parse: fn(&[u8]) = match parse.as_str() {
        "drop" => |_: &[u8]| {},
        "skim" => |b: &[u8]| {
            serde_json::from_slice::<serde::de::IgnoredAny>(b).unwrap();
        },
        "value" => |b: &[u8]| {
            std::hint::black_box(serde_json::from_slice::<Value>(b).unwrap());
        },
        other => panic!("raw-fetch: {other:?} is not drop, skim or value"),
    };
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .no_proxy()
        .use_rustls_tls()
        .http1_only()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
        let tasks: Vec<_> = paths
            .iter()
            .map(|p| {
                let (client, permits) = (client.clone(), permits.clone());
                let base = format!("{url}{p}?limit={CHUNK}");
                tokio::spawn(async move {
                    let _permit = permits.acquire_owned().await.unwrap();
                    let mut next: Option<String> = None;
                    loop {
                        let page = match &next {
                            Some(t) => format!("{base}&continue={t}"),
                            None => base.clone(),
                        };
                        let r = client.get(&page).bearer_auth("bench").send().await.unwrap();
                        assert!(r.status().is_success(), "{page}: {}", r.status());
                        let body = r.bytes().await.unwrap();
                        parse(&body);
                        next = continue_token(&body);
                        if next.is_none() {
                            break;
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
}

fn continue_token(body: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"continue\":\"";
    let at = body.windows(KEY.len()).rposition(|w| w == KEY)? + KEY.len();
    let len = body[at..].iter().position(|&b| b == b'"')?;
    let token = std::str::from_utf8(&body[at..at + len]).ok()?;
    (!token.is_empty()).then(|| token.to_string())
}

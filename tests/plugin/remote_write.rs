//! `--remote-write`: a real Prometheus (`--web.enable-remote-write-receiver`)
//! receives the snapshot and answers the published TAP queries as on the
//! Pushgateway path; a small fake receiver over real HTTP answers with faults.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::pushgateway::{Prometheus, fixture, tap_metrics};

#[test]
fn every_tap_query_evaluates_over_a_remote_written_snapshot() {
    let Some(prom) = Prometheus::receiver() else {
        return;
    };
    let out = tap_metrics()
        .arg("--from-file")
        .arg(fixture())
        .args(["--remote-write", &format!("{}/api/v1/write", prom.url)])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains("wrote 277 series (277 samples) in 1 request ("),
        "{stderr}"
    );
    let count = prom.query("count({job=\"tap-metrics\"})").unwrap();
    assert_eq!(count[0]["value"][1].as_str(), Some("277"));
    let wrong = prom.tap_queries_that_disagree();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// One request as the fake receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    head: String,
    body: Vec<u8>,
    at: Instant,
}

/// What the fake receiver answers, request by request (the last one repeats).
#[derive(Clone)]
enum Answer {
    Status(u16, &'static str, &'static str),
    /// Never answers that request.
    Hang,
}

/// An HTTP/1.1 receiver on a free port that records requests and answers
/// from a script.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Receiver {
    fn start(script: Vec<Answer>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/api/v1/push", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (log, script) = (log.clone(), script.clone());
                std::thread::spawn(move || serve(conn, &log, &script));
            }
        });
        Receiver { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(conn: TcpStream, log: &Mutex<Vec<Seen>>, script: &[Answer]) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let n = {
            let mut log = log.lock().unwrap();
            log.push(Seen {
                head,
                body,
                at: Instant::now(),
            });
            log.len()
        };
        match &script[(n - 1).min(script.len() - 1)] {
            Answer::Hang => std::thread::sleep(Duration::from_secs(30)),
            Answer::Status(code, extra, text) => {
                let reply = format!(
                    "HTTP/1.1 {code} X\r\ncontent-length: {}\r\n{extra}\r\n{text}",
                    text.len()
                );
                if conn.write_all(reply.as_bytes()).is_err() {
                    return;
                }
            }
        }
    }
}

/// The plugin writing the example objects to `url`, each attempt bounded
/// by 2s unless `extra` says otherwise.
fn write_to(url: &str, extra: &[&str]) -> std::process::Output {
    let mut c = tap_metrics();
    c.arg("--from-file")
        .arg(fixture())
        .args(["--remote-write", url]);
    if !extra.contains(&"--remote-write-timeout") {
        c.args(["--remote-write-timeout", "2s"]);
    }
    c.args(extra).output().unwrap()
}

fn header<'a>(seen: &'a Seen, name: &str) -> Option<&'a str> {
    seen.head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn requests_follow_the_protocol_and_carry_the_tenant() {
    let r = Receiver::start(vec![Answer::Status(204, "", "")]);
    let out = write_to(&r.url, &["--remote-write-header", "X-Scope-OrgID=tenant-a"]);
    assert!(out.status.success(), "{out:?}");
    let seen = r.seen();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert!(
        s.head.starts_with("POST /api/v1/push HTTP/1.1"),
        "{}",
        s.head
    );
    assert_eq!(header(s, "content-encoding"), Some("snappy"));
    assert_eq!(header(s, "content-type"), Some("application/x-protobuf"));
    assert_eq!(
        header(s, "x-prometheus-remote-write-version"),
        Some("0.1.0")
    );
    assert_eq!(header(s, "x-scope-orgid"), Some("tenant-a"));
    let raw = snap::raw::Decoder::new().decompress_vec(&s.body).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("cartographer_workload_status"));
    assert!(text.contains("tap-metrics"));
}

#[test]
fn server_errors_and_429_are_retried_other_4xx_are_not() {
    // 500, then 200: two requests, success.
    let r = Receiver::start(vec![
        Answer::Status(500, "", "overloaded"),
        Answer::Status(200, "", ""),
    ]);
    let out = write_to(&r.url, &[]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(r.seen().len(), 2);

    // 429 with Retry-After: 1 — the retry waits that second.
    let r = Receiver::start(vec![
        Answer::Status(429, "retry-after: 1\r\n", "slow down"),
        Answer::Status(200, "", ""),
    ]);
    let out = write_to(&r.url, &[]);
    assert!(out.status.success(), "{out:?}");
    let seen = r.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen[1].at - seen[0].at >= Duration::from_millis(950));

    // A huge answer is quoted short, and read only in part.
    let huge: &'static str = Box::leak("overloaded ".repeat(20_000).into_boxed_str());
    let r = Receiver::start(vec![
        Answer::Status(503, "", huge),
        Answer::Status(200, "", ""),
    ]);
    let out = write_to(&r.url, &[]);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.len() < 2_000, "{}", out.stderr.len());

    // 400: not retried; the error quotes the receiver, on one line.
    let r = Receiver::start(vec![Answer::Status(400, "", "out of order sample\n")]);
    let out = write_to(&r.url, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(r.seen().len(), 1);
    assert!(stderr.contains("400 Bad Request"), "{stderr}");
    assert!(stderr.contains("out of order sample"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("error:")).count(),
        1
    );
}

#[test]
fn a_hanging_receiver_is_bounded_by_the_timeout_and_a_closed_port_fails_fast() {
    let r = Receiver::start(vec![Answer::Hang, Answer::Status(200, "", "")]);
    let started = Instant::now();
    let out = write_to(&r.url, &["--remote-write-timeout", "1s"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(r.seen().len(), 2);
    assert!(started.elapsed() < Duration::from_secs(20));

    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = write_to(&format!("http://127.0.0.1:{port}/api/v1/push"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("cannot reach http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(
        errors[0].ends_with("gave up after 5 attempts; nothing was written"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("retrying in").count(), 4, "{stderr}");
}

#[test]
fn bad_flags_are_usage_errors_without_secrets() {
    for (args, want) in [
        (
            vec!["--remote-write", "http://u:hunter2@mimir/api/v1/push"],
            "credentials do not belong in the URL",
        ),
        (vec!["--remote-write", "mimir:9009"], "expected a URL like"),
        (
            vec![
                "--remote-write",
                "http://mimir/api/v1/push",
                "--remote-write-header",
                "Content-Type=text/plain",
            ],
            "cannot be replaced",
        ),
        (
            vec![
                "--remote-write",
                "http://mimir/api/v1/push",
                "--remote-write-header",
                "X-Scope-OrgID",
            ],
            "expected NAME=VALUE",
        ),
        (
            // A header's value may be a credential: named, never shown.
            vec![
                "--remote-write",
                "http://mimir/api/v1/push",
                "--remote-write-header",
                "Authorization=Bearer hunter2",
            ],
            "--remote-write-header \"Authorization\": the protocol or the auth flags set this header",
        ),
        (
            vec![
                "--remote-write",
                "http://mimir/api/v1/push",
                "--remote-write-header",
                "X-Api-Key=hunter2\u{7}",
            ],
            "--remote-write-header \"X-Api-Key\": the value holds characters",
        ),
    ] {
        let out = tap_metrics()
            .arg("--from-file")
            .arg(fixture())
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}

#[test]
fn with_several_contexts_an_incomplete_cluster_is_written_only_when_asked() {
    use fake_apiserver::{FakeApiServer, Fault, Options, write_kubeconfig_multi};
    let Some(prom) = Prometheus::receiver() else {
        return;
    };
    let objects = FakeApiServer::load_objects(&fixture());
    let build = FakeApiServer::start(Options {
        objects: objects.clone(),
        faults: vec![("workloads".into(), Fault::Forbidden)],
        ..Options::default()
    });
    let run = FakeApiServer::start(Options {
        objects,
        ..Options::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    write_kubeconfig_multi(&kubeconfig, &[("build", &build), ("run", &run)], "build");
    let write = |extra: &[&str]| {
        tap_metrics()
            .env_remove("KUBECONFIG")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["--all-contexts", "--remote-write"])
            .arg(format!("{}/api/v1/write", prom.url))
            .args(extra)
            .output()
            .unwrap()
    };
    let clusters = || -> Vec<String> {
        let mut c: Vec<String> = prom
            .query("count by (cluster) ({job=\"tap-metrics\"})")
            .unwrap()
            .iter()
            .map(|s| s["metric"]["cluster"].as_str().unwrap().to_string())
            .collect();
        c.sort();
        c
    };
    let out = write(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("context \"build\": some resources could not be read, so its series are not written (--push-partial writes the rest)"),
        "{stderr}"
    );
    assert_eq!(clusters(), ["run"]);
    let out = write(&["--push-partial", "--job", "again"]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    let written: Vec<String> = prom
        .query("count by (cluster) ({job=\"again\"})")
        .unwrap()
        .iter()
        .map(|s| s["metric"]["cluster"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(written.len(), 2, "{written:?}");
}

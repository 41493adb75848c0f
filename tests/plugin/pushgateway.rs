//! Debian's real `prometheus-pushgateway`, `prometheus` and
//! `prometheus-node-exporter`, started on free 127.0.0.1 ports for one test
//! and killed when dropped.
//!
//! A missing binary fails the test under `CI=true` and skips it elsewhere
//! (`apt-get install -y prometheus-pushgateway prometheus prometheus-node-exporter`).

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The path of `bin`, or `None` (with a note) when it is missing outside CI.
pub fn require(bin: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(bin))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let note = format!(
            "{bin} is not installed (apt-get install -y prometheus-pushgateway prometheus prometheus-node-exporter)"
        );
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{note}; CI must run this test");
        }
        eprintln!("skipped: {note}");
    }
    found
}

/// A server process on a free port.
pub struct Server {
    child: Child,
    pub port: u16,
    /// The server's working directory, removed when the server is dropped.
    _dir: tempfile::TempDir,
    log: PathBuf,
}

impl Server {
    /// Starts `bin` with `args(port, dir)` and waits until the port accepts,
    /// retrying on another port when the chosen one was taken meanwhile.
    fn start(bin: &Path, args: impl Fn(u16, &Path) -> Vec<String>) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("server.log");
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(bin)
                .args(args(port, dir.path()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("log file"))
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let deadline = Instant::now() + Duration::from_secs(15);
            while child.try_wait().ok().flatten().is_none() {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    // Whoever accepted, a child that lost the port exits at once.
                    std::thread::sleep(Duration::from_millis(150));
                    if child.try_wait().ok().flatten().is_some() {
                        break;
                    }
                    return Server {
                        child,
                        port,
                        _dir: dir,
                        log,
                    };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("{} did not listen on {port} in 15s", bin.display());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        panic!("{} would not start: {log}", bin.display());
    }

    /// The server's own log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running Pushgateway.
pub struct Pushgateway {
    /// Held for its `Drop`, which stops the process.
    _server: Server,
    /// `http://127.0.0.1:PORT` (or https with a TLS web config).
    pub url: String,
}

impl Pushgateway {
    /// A plain HTTP Pushgateway; `None` when it is not installed (outside CI).
    pub fn start() -> Option<Pushgateway> {
        Self::start_with(None)
    }

    /// With an exporter-toolkit `--web.config.file` (TLS, basic auth); paths
    /// in it may be relative to the server's temp dir, where `files` are written.
    pub fn start_with_web_config(yaml: &str, files: &[(&str, &str)]) -> Option<Pushgateway> {
        Self::start_with(Some((yaml, files)))
    }

    fn start_with(web: Option<(&str, &[(&str, &str)])>) -> Option<Pushgateway> {
        let bin = require("prometheus-pushgateway")?;
        let tls = web.is_some_and(|(y, _)| y.contains("tls_server_config"));
        let server = Server::start(&bin, |port, dir| {
            let mut a = vec![
                format!("--web.listen-address=127.0.0.1:{port}"),
                // Debian's default persists to /var/lib/prometheus, shared by every run.
                format!(
                    "--persistence.file={}",
                    dir.join("pushgateway.data").display()
                ),
                "--log.level=warn".into(),
            ];
            if let Some((yaml, files)) = web {
                for (name, content) in files {
                    std::fs::write(dir.join(name), content).expect("write web config file");
                }
                let path = dir.join("web.yml");
                std::fs::write(&path, yaml).expect("write web config");
                a.push(format!("--web.config.file={}", path.display()));
            }
            a
        });
        let scheme = if tls { "https" } else { "http" };
        let url = format!("{scheme}://127.0.0.1:{}", server.port);
        Some(Pushgateway {
            _server: server,
            url,
        })
    }

    /// `GET /metrics` (plain HTTP gateways only).
    pub fn metrics_text(&self) -> String {
        let (status, body) = http(&format!("{}/metrics", self.url), &[]);
        assert_eq!(status, 200, "GET /metrics: {body}");
        body
    }

    /// Every series of job `job` on the gateway.
    pub fn series(&self, job: &str) -> Series {
        parse_text(&self.metrics_text())
            .into_iter()
            .filter(|(_, labels, _)| labels.get("job").map(String::as_str) == Some(job))
            .map(|(name, labels, value)| ((name, labels), value))
            .collect()
    }

    /// The groups `GET /api/v1/metrics` lists, as their label sets.
    pub fn groups(&self) -> Vec<BTreeMap<String, String>> {
        let (status, body) = http(&format!("{}/api/v1/metrics", self.url), &[]);
        assert_eq!(status, 200, "GET /api/v1/metrics: {body}");
        let v: Value = serde_json::from_str(&body).expect("api/v1/metrics JSON");
        v["data"]
            .as_array()
            .expect("data array")
            .iter()
            .map(|g| {
                g["labels"]
                    .as_object()
                    .expect("labels")
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .collect()
    }

    /// Pushes Prometheus text directly, as another client would.
    pub fn put_raw(&self, path: &str, method: &str, body: &str) -> (u16, String) {
        let rt = runtime();
        rt.block_on(async {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let r = client()
                .request(method, format!("{}{path}", self.url))
                .body(body.to_string())
                .send()
                .await
                .expect("push to the gateway");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        })
    }
}

/// A running node_exporter with only the textfile collector, reading `dir`.
pub struct NodeExporter {
    pub server: Server,
    pub url: String,
}

impl NodeExporter {
    /// `None` when `prometheus-node-exporter` is not installed (outside CI).
    pub fn start(dir: &Path) -> Option<NodeExporter> {
        let bin = require("prometheus-node-exporter")?;
        let server = Server::start(&bin, |port, _| {
            vec![
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--collector.disable-defaults".into(),
                "--collector.textfile".into(),
                format!("--collector.textfile.directory={}", dir.display()),
                "--log.level=warn".into(),
            ]
        });
        let url = format!("http://127.0.0.1:{}", server.port);
        Some(NodeExporter { server, url })
    }

    /// One scrape of `/metrics`, parsed.
    pub fn scrape(&self) -> Vec<(String, BTreeMap<String, String>, f64)> {
        let (status, body) = http(&format!("{}/metrics", self.url), &[]);
        assert_eq!(status, 200, "GET /metrics: {body}");
        parse_text(&body)
    }
}

/// Series by (name, labels) → value.
pub type Series = BTreeMap<(String, BTreeMap<String, String>), f64>;

/// A running Prometheus that scrapes `target` every second.
pub struct Prometheus {
    pub server: Server,
    pub url: String,
}

impl Prometheus {
    /// Starts Prometheus with `config` (YAML); `None` when not installed (outside CI).
    pub fn start(config: &str) -> Option<Prometheus> {
        Self::start_with(config, &[])
    }

    /// A Prometheus that also takes remote writes at `/api/v1/write`.
    pub fn receiver() -> Option<Prometheus> {
        Self::start_with("global: {}\n", &["--web.enable-remote-write-receiver"])
    }

    fn start_with(config: &str, extra: &[&str]) -> Option<Prometheus> {
        let bin = require("prometheus")?;
        let server = Server::start(&bin, |port, dir| {
            let cfg = dir.join("prometheus.yml");
            std::fs::write(&cfg, config).expect("write prometheus.yml");
            let mut args = vec![
                format!("--config.file={}", cfg.display()),
                format!("--storage.tsdb.path={}", dir.join("data").display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
                "--log.level=warn".into(),
            ];
            args.extend(extra.iter().map(|a| a.to_string()));
            args
        });
        let url = format!("http://127.0.0.1:{}", server.port);
        let p = Prometheus { server, url };
        let deadline = Instant::now() + Duration::from_secs(20);
        while http(&format!("{}/-/ready", p.url), &[]).0 != 200 {
            assert!(
                Instant::now() < deadline,
                "prometheus not ready: {}",
                p.server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(p)
    }

    /// An instant query: the result vector, or Prometheus' error.
    pub fn query(&self, q: &str) -> Result<Vec<Value>, String> {
        let url = format!(
            "{}/api/v1/query?query={}",
            self.url,
            percent_encoding::utf8_percent_encode(q, percent_encoding::NON_ALPHANUMERIC)
        );
        let (status, body) = http(&url, &[]);
        let v: Value = serde_json::from_str(&body).map_err(|e| format!("{status}: {e}: {body}"))?;
        if v["status"] != "success" {
            return Err(format!("{status}: {} {}", v["errorType"], v["error"]));
        }
        match v["data"]["resultType"].as_str() {
            Some("vector") => Ok(v["data"]["result"].as_array().cloned().unwrap_or_default()),
            other => Err(format!("result type {other:?}, expected a vector")),
        }
    }

    /// Every query of `tests/fixtures/tap-promql-queries.tsv` whose result
    /// count is not that of `tap-promql-expected.tsv`, with what it gave.
    pub fn tap_queries_that_disagree(&self) -> Vec<String> {
        let queries = tsv("tap-promql-queries.tsv");
        let expected = tsv("tap-promql-expected.tsv");
        assert_eq!(queries.len(), 49);
        assert_eq!(queries.len(), expected.len());
        let mut wrong = Vec::new();
        for (q, e) in queries.iter().zip(&expected) {
            let (use_case, query) = (&q[0], &q[1]);
            assert_eq!(&e[0], use_case, "the two TSV files are out of step");
            let want: usize = e[1].parse().expect("an expected count");
            match self.query(query) {
                Ok(result) if result.len() == want => {}
                Ok(result) => wrong.push(format!(
                    "{use_case}: {} series, expected {want}: {query}",
                    result.len()
                )),
                Err(err) => wrong.push(format!("{use_case}: {err}: {query}")),
            }
        }
        wrong
    }

    /// Waits until `q` returns at least one series.
    pub fn wait_for(&self, q: &str, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(r) = self.query(q)
                && !r.is_empty()
            {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "{q} returned nothing in {timeout:?}; prometheus log: {}",
                self.server.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A client that ignores the caller's proxy settings.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// A GET with extra headers; (status, body).
pub fn http(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    runtime().block_on(async {
        let mut req = client().get(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        match req.send().await {
            Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(e) => (0, e.to_string()),
        }
    })
}

/// Samples of Prometheus text 0.0.4: (name, labels, value). A minimal reader,
/// independent of the crate's own check.
pub fn parse_text(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let i = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("bad sample line {line:?}"));
        let (name, mut rest) = line.split_at(i);
        let mut labels = BTreeMap::new();
        if let Some(r) = rest.strip_prefix('{') {
            rest = r;
            loop {
                rest = rest.trim_start_matches([',', ' ']);
                if let Some(r) = rest.strip_prefix('}') {
                    rest = r;
                    break;
                }
                let (lname, r) = rest
                    .split_once("=\"")
                    .unwrap_or_else(|| panic!("bad labels in {line:?}"));
                let mut value = String::new();
                let mut chars = r.char_indices();
                rest = loop {
                    match chars.next() {
                        Some((j, '"')) => break &r[j + 1..],
                        Some((_, '\\')) => match chars.next().map(|c| c.1) {
                            Some('n') => value.push('\n'),
                            Some(c) => value.push(c),
                            None => panic!("bad escape in {line:?}"),
                        },
                        Some((_, c)) => value.push(c),
                        None => panic!("unterminated label value in {line:?}"),
                    }
                };
                labels.insert(lname.to_string(), value);
            }
        }
        let value = rest.split_whitespace().next().expect("value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        out.push((name.to_string(), labels, value));
    }
    out
}

/// The plugin binary, with no proxy or password from the caller's environment.
pub fn tap_metrics() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin("kubectl-tap_metrics"));
    for v in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "TAP_METRICS_PUSHGATEWAY_PASSWORD",
    ] {
        c.env_remove(v);
    }
    c.timeout(Duration::from_secs(60));
    c
}

/// A TSV file of `tests/fixtures`, as rows of fields.
pub fn tsv(name: &str) -> Vec<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// `examples/tap-objects.yaml`: realistic objects of every TAP kind.
pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tap-objects.yaml")
}

/// The fixture's objects that `keep` accepts, written to a JSON `List` in `dir`.
pub fn fixture_subset(dir: &Path, name: &str, keep: impl Fn(&Value) -> bool) -> PathBuf {
    let list: Value =
        serde_yaml::from_str(&std::fs::read_to_string(fixture()).expect("read fixture"))
            .expect("fixture YAML");
    let items: Vec<Value> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|o| keep(o))
        .cloned()
        .collect();
    let path = dir.join(name);
    let doc = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    std::fs::write(&path, doc.to_string()).expect("write subset");
    path
}

/// The series the plugin renders for `file` (with `extra` flags), as a
/// Pushgateway holds them for job `job`; see [`as_pushed`].
pub fn expected_series(file: &Path, extra: &[&str], job: &str) -> Series {
    let out = tap_metrics()
        .arg("--from-file")
        .arg(file)
        .args(["-o", "prometheus"])
        .args(extra)
        .output()
        .expect("run the plugin");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    as_pushed(&String::from_utf8(out.stdout).unwrap(), &[("job", job)])
}

/// Prometheus text as a Pushgateway lists it once pushed to the group `key`:
/// duplicates (same name and non-empty labels) dropped keeping the first, the
/// key's labels and an empty `instance` added.
pub fn as_pushed(text: &str, key: &[(&str, &str)]) -> Series {
    let mut seen = std::collections::BTreeSet::new();
    let mut series = Series::new();
    for (name, mut labels, value) in parse_text(text) {
        let identity: Vec<(String, String)> = labels
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !seen.insert((name.clone(), identity)) {
            continue;
        }
        labels.insert("instance".into(), String::new());
        for (k, v) in key {
            labels.insert(k.to_string(), v.to_string());
        }
        series.insert((name, labels), value);
    }
    series
}

/// Runs Debian's `promtool` with `args` in `dir`: (success, stdout + stderr);
/// `None` when it is not installed (outside CI).
pub fn promtool(dir: &Path, args: &[&str]) -> Option<(bool, String)> {
    let bin = require("promtool")?;
    let out = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text))
}

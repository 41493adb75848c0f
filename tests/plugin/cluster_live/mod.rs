//! The live cluster source, through the real binary against the fake API
//! server (HTTPS, generated CA, generated kubeconfig).

mod answers;
mod kubeconfig;
mod output_file;
mod runtime;
mod targets;
mod views;

use std::path::{Path, PathBuf};
use std::time::Duration;

use fake_apiserver::{FakeApiServer, Fault, Options, tap_crds};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-tap_metrics");
const WORKLOADS: &str = "/apis/carto.run/v1alpha1/workloads";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(self) -> String {
        assert_eq!(self.code, 0, "stderr:\n{}", self.stderr);
        self.stdout
    }
}

/// The binary with a clean environment: no kubeconfig, not in a pod.
fn tap_metrics(home: &Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(BIN);
    c.env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env("HOME", home)
        .timeout(Duration::from_secs(120));
    c
}

fn output(mut c: assert_cmd::Command) -> Run {
    let out = c.output().expect("run kubectl-tap_metrics");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The realistic TAP objects the project ships as an example.
fn tap_objects() -> Vec<Value> {
    FakeApiServer::load_objects(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tap-objects.yaml"),
    )
}

/// A fake cluster holding the example objects, and a kubeconfig for it.
struct Cluster {
    srv: FakeApiServer,
    dir: tempfile::TempDir,
}

impl Cluster {
    fn start(faults: Vec<(&str, Fault)>) -> Cluster {
        Cluster::with(Options {
            objects: tap_objects(),
            faults: faults
                .into_iter()
                .map(|(k, f)| (k.to_string(), f))
                .collect(),
            ..Options::default()
        })
    }

    fn with(opts: Options) -> Cluster {
        let srv = FakeApiServer::start(opts);
        let dir = tempfile::tempdir().unwrap();
        srv.write_kubeconfig(&dir.path().join("config"), "tap");
        Cluster { srv, dir }
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut c = tap_metrics(self.dir.path());
        c.arg("--kubeconfig").arg(self.kubeconfig()).args(args);
        output(c)
    }

    /// Every object as the server serves it (preferred versions, server-set
    /// metadata), listed without pages, in the order of the CRDs.
    fn served_objects(&self) -> Vec<Value> {
        let ca = reqwest::Certificate::from_pem(self.srv.ca_pem.as_bytes()).unwrap();
        let client = reqwest::Client::builder()
            .no_proxy()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .build()
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut items = Vec::new();
        for crd in tap_crds() {
            // The first version of each fake CRD is also its preferred one.
            let url = format!(
                "{}/apis/{}/{}/{}",
                self.srv.url, crd.group, crd.versions[0], crd.plural
            );
            let list: Value = rt.block_on(async {
                let token = self.srv.token.as_deref().unwrap_or("any");
                let r = client.get(&url).bearer_auth(token).send().await.unwrap();
                assert_eq!(r.status(), 200, "{url}");
                serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
            });
            items.extend(list["items"].as_array().unwrap().iter().cloned());
        }
        items
    }

    fn list_requests(&self, path: &str) -> Vec<fake_apiserver::Request> {
        self.srv.requests_to(path)
    }
}

/// Runs `--from-file` on `objects` written as one `List`.
fn from_file_run(objects: Vec<Value>, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("objects.json");
    let list = json!({ "apiVersion": "v1", "kind": "List", "items": objects });
    std::fs::write(&path, serde_json::to_vec(&list).unwrap()).unwrap();
    let mut c = tap_metrics(dir.path());
    c.arg("--from-file").arg(&path).args(args);
    output(c)
}

fn from_file(objects: Vec<Value>, args: &[&str]) -> String {
    from_file_run(objects, args).ok()
}

/// stderr without the evaluation-error summary: the example objects have a
/// couple of fields KSM cannot read either, which any source reports alike.
fn warnings(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.contains(" evaluation errors, samples skipped"))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn samples(openmetrics: &str) -> Vec<&str> {
    openmetrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect()
}

/// The kinds samples were made of, sorted.
fn kinds(openmetrics: &str) -> Vec<&str> {
    let mut kinds: Vec<&str> = samples(openmetrics)
        .into_iter()
        .filter_map(|l| l.split("customresource_kind=\"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// stderr is plain one-line `warning:`/`error:` messages: no panic, no
/// backtrace, no Rust debug dump of an error.
fn assert_plain_lines(run: &Run) {
    assert_ne!(run.code, 101, "panicked:\n{}", run.stderr);
    for line in run.stderr.lines() {
        assert!(
            line.starts_with("warning: ") || line.starts_with("error: "),
            "not a message line: {line:?}\nstderr:\n{}",
            run.stderr
        );
        for dump in [
            "panicked",
            "backtrace",
            "Error {",
            "Custom {",
            "kind: ",
            "Some(",
            "Os {",
            "\\n",
        ] {
            assert!(!line.contains(dump), "{dump:?} in {line:?}");
        }
    }
}

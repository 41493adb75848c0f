//! A faithful, read-only fake kube-apiserver for tap-metrics' integration tests and benches.
//!
//! Serves legacy discovery, `list`/`get` of custom resources (plus a few core kinds) with
//! `limit`/`continue` paging and label selectors, bearer-token auth, TLS with a generated CA,
//! HTTP/1.1 and HTTP/2, gzip, and injectable faults. JSON only; no writes, no watch. See
//! `FakeApiServer::start`.
//!
//! The `kubectl` feature adds what only kubectl asks for (aggregated discovery, field
//! selectors, CustomResourceDefinition objects); the selftest that drives the real kubectl
//! against this server enables it, the plugin's tests do not need it.
//!
//! kubectl caches discovery per `host:port` and ports get reused: give it a fresh
//! `--cache-dir` per test.

mod crds;
mod discovery;
mod faults;
#[cfg(feature = "kubectl")]
mod kubectl;
mod labels;
mod lists;
mod serve;
mod state;
mod tls;

use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

pub use crds::{Crd, tap_crds};
pub use faults::{FORBIDDEN_USER, Fault};

use state::State;

/// What `GET /version` reports.
pub const SERVER_GIT_VERSION: &str = "v1.31.4";

/// How to start a `FakeApiServer`.
#[derive(Clone, Debug)]
pub struct Options {
    /// CRDs served (default: `tap_crds()`). Core v1 namespaces, pods, services, configmaps,
    /// secrets and serviceaccounts are always served, and with the `kubectl` feature
    /// apiextensions.k8s.io CustomResourceDefinitions too.
    pub crds: Vec<Crd>,
    /// Objects to seed, in any served version of their kind (a `List` is flattened).
    pub objects: Vec<Value>,
    /// Bearer token every request must carry, if any.
    pub token: Option<String>,
    pub faults: Vec<(String, Fault)>,
    /// HTTPS with a generated CA (default) or plain HTTP.
    pub tls: bool,
    /// gzip responses over 128 KiB to clients that accept it, as kube-apiserver does (default).
    pub compression: bool,
    /// Answer `/api` and `/apis` with aggregated discovery to clients that ask for it, as
    /// kube-apiserver 1.30 does (default). When false, such clients (kubectl) fall back to
    /// legacy per-group discovery, as against servers before 1.26.
    #[cfg(feature = "kubectl")]
    pub aggregated_discovery: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            crds: tap_crds(),
            objects: vec![],
            token: None,
            faults: vec![],
            tls: true,
            compression: true,
            #[cfg(feature = "kubectl")]
            aggregated_discovery: true,
        }
    }
}

/// One request the server received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Raw (still percent-encoded) query string, "" if none.
    pub query: String,
    pub authorization: Option<String>,
    /// The request passed bearer-token auth (always true when no token is required).
    pub authorized: bool,
    pub accept: Option<String>,
    /// "HTTP/1.1" or "HTTP/2.0".
    pub http_version: String,
    /// Response status code; 0 while still being answered (or if the client gave up).
    pub status: u16,
}

impl Request {
    /// The decoded value of a query parameter.
    pub fn param(&self, key: &str) -> Option<String> {
        lists::parse_query(&self.query)
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// A running fake API server; dropping it shuts the server down.
pub struct FakeApiServer {
    /// `https://127.0.0.1:PORT` (or `http://` when `tls` is false).
    pub url: String,
    /// PEM of the CA that signed the server certificate ("" without TLS).
    pub ca_pem: String,
    pub token: Option<String>,
    state: Arc<State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeApiServer {
    /// Indexes the objects, binds 127.0.0.1 on a free port and serves on a background thread.
    /// Panics on objects no served kind/version accepts, or duplicates.
    pub fn start(opts: Options) -> FakeApiServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("local addr");
        let tls = if opts.tls {
            Some(tls::make_tls())
        } else {
            None
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{addr}");
        let ca_pem = tls.as_ref().map(|t| t.ca_pem.clone()).unwrap_or_default();
        let token = opts.token.clone();
        let state = Arc::new(State::new(opts, addr.to_string()));
        let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(t.config));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let st = state.clone();
        let thread = std::thread::Builder::new()
            .name(format!("fake-apiserver-{}", addr.port()))
            .spawn(move || serve::serve(listener, acceptor, st, rx))
            .expect("spawn server thread");
        FakeApiServer {
            url,
            ca_pem,
            token,
            state,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// Reads a kubectl `List` (JSON or YAML), a JSON array, or multi-document YAML.
    pub fn load_objects(path: &Path) -> Vec<Value> {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let docs: Vec<Value> = if text.trim_start().starts_with(['{', '[']) {
            vec![serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))]
        } else {
            serde_yaml::Deserializer::from_str(&text)
                .map(|d| {
                    let y = <serde_yaml::Value as serde::Deserialize>::deserialize(d)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                    serde_json::to_value(y).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                })
                .collect()
        };
        let mut out = vec![];
        for d in docs {
            flatten_into(d, &mut out);
        }
        out
    }

    /// All requests received so far, oldest first.
    pub fn requests(&self) -> Vec<Request> {
        self.state
            .log
            .lock()
            .unwrap()
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// Requests whose path is exactly `path`.
    pub fn requests_to(&self, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    pub fn clear_requests(&self) {
        self.state.log.lock().unwrap().clear();
    }

    /// `host:port` the server listens on.
    pub fn host(&self) -> &str {
        &self.state.host
    }

    /// Writes a kubeconfig with one cluster/user/context named `context`, made current.
    pub fn write_kubeconfig(&self, path: &Path, context: &str) {
        write_kubeconfig_multi(path, &[(context, self)], context);
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The kubeconfig token for servers that require none (they accept any).
pub const UNUSED_TOKEN: &str = "fake-apiserver-accepts-any-token";

/// Writes one kubeconfig with a cluster, user and context per entry (all named after the context).
pub fn write_kubeconfig_multi(path: &Path, entries: &[(&str, &FakeApiServer)], current: &str) {
    let mut clusters = vec![];
    let mut users = vec![];
    let mut contexts = vec![];
    for (name, srv) in entries {
        let mut cluster = json!({ "server": srv.url });
        if !srv.ca_pem.is_empty() {
            cluster["certificate-authority-data"] = json!(B64.encode(&srv.ca_pem));
        }
        clusters.push(json!({ "name": name, "cluster": cluster }));
        // kubectl prompts for a password (and fails on EOF) for a user with no credentials.
        let token = srv.token.as_deref().unwrap_or(UNUSED_TOKEN);
        let user = json!({ "token": token });
        users.push(json!({ "name": name, "user": user }));
        contexts.push(json!({ "name": name, "context": { "cluster": name, "user": name } }));
    }
    let cfg = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": clusters,
        "users": users,
        "contexts": contexts,
        "current-context": current,
    });
    let yaml = serde_yaml::to_string(&cfg).expect("kubeconfig yaml");
    std::fs::write(path, yaml).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

pub(crate) fn flatten_into(v: Value, out: &mut Vec<Value>) {
    match v {
        Value::Null => {}
        Value::Array(a) => a.into_iter().for_each(|d| flatten_into(d, out)),
        Value::Object(mut m)
            if m.get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k.ends_with("List"))
                && m.contains_key("items") =>
        {
            if let Some(Value::Array(items)) = m.remove("items") {
                items.into_iter().for_each(|d| flatten_into(d, out));
            }
        }
        other => out.push(other),
    }
}

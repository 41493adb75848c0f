//! A faithful, read-only fake kube-apiserver for integration tests.
//!
//! Serves legacy and aggregated discovery, `list`/`get` of custom resources (plus a few core
//! kinds and CustomResourceDefinitions) with `limit`/`continue` paging and label/field
//! selectors, bearer-token auth, TLS with a generated CA, HTTP/1.1 and HTTP/2, gzip, and
//! injectable faults. JSON only; no writes, no watch. See `FakeApiServer::start`.
//!
//! kubectl caches discovery per `host:port` and ports get reused: give it a fresh
//! `--cache-dir` per test.
// Each test crate that includes this file uses a different subset of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderValue,
};
use hyper::{Method, Response, StatusCode};
use serde_json::{Map, Value, json};

/// The user named in `Forbidden` messages, as a real RBAC denial names the caller.
pub const FORBIDDEN_USER: &str = "system:serviceaccount:tap:tap-metrics";

/// What `GET /version` reports.
pub const SERVER_GIT_VERSION: &str = "v1.31.4";

/// A CustomResourceDefinition to serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crd {
    pub group: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    /// Served versions; the first is the storage version. As in a real server, discovery
    /// prefers the highest version by Kubernetes version priority (v1 > v1beta2 > v1alpha1).
    pub versions: Vec<String>,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
}

impl Crd {
    /// A namespaced CRD whose singular is the lower-cased kind.
    pub fn new(group: &str, versions: &[&str], kind: &str, plural: &str) -> Crd {
        Crd {
            group: group.into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            namespaced: true,
            versions: versions.iter().map(|v| v.to_string()).collect(),
            short_names: vec![],
            categories: vec![],
        }
    }

    pub fn cluster_scoped(mut self) -> Crd {
        self.namespaced = false;
        self
    }

    pub fn short_names(mut self, names: &[&str]) -> Crd {
        self.short_names = names.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn categories(mut self, cats: &[&str]) -> Crd {
        self.categories = cats.iter().map(|s| s.to_string()).collect();
        self
    }

    /// `plural.group`, the CRD's object name.
    pub fn name(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }
}

/// The Tanzu Application Platform CRDs the plugin knows about.
pub fn tap_crds() -> Vec<Crd> {
    let tekton = ["tekton", "tekton-pipelines"];
    let knative = ["all", "knative", "serving"];
    vec![
        Crd::new("carto.run", &["v1alpha1"], "Workload", "workloads"),
        Crd::new("carto.run", &["v1alpha1"], "Deliverable", "deliverables"),
        Crd::new("kpack.io", &["v1alpha2", "v1alpha1"], "Image", "images")
            .short_names(&["cnbimage", "cnbimages"])
            .categories(&["kpack"]),
        Crd::new("kpack.io", &["v1alpha2", "v1alpha1"], "Build", "builds")
            .short_names(&["cnbbuild", "cnbbuilds", "bld", "blds"])
            .categories(&["kpack"]),
        Crd::new("tekton.dev", &["v1", "v1beta1"], "TaskRun", "taskruns")
            .short_names(&["tr", "trs"])
            .categories(&tekton),
        Crd::new(
            "tekton.dev",
            &["v1", "v1beta1"],
            "PipelineRun",
            "pipelineruns",
        )
        .short_names(&["pr", "prs"])
        .categories(&tekton),
        Crd::new("serving.knative.dev", &["v1"], "Service", "services")
            .short_names(&["kservice", "ksvc"])
            .categories(&knative),
        Crd::new("serving.knative.dev", &["v1"], "Revision", "revisions")
            .short_names(&["rev"])
            .categories(&knative),
        Crd::new(
            "source.toolkit.fluxcd.io",
            &["v1", "v1beta2"],
            "GitRepository",
            "gitrepositories",
        )
        .short_names(&["gitrepo"]),
        Crd::new(
            "packaging.carvel.dev",
            &["v1alpha1"],
            "PackageInstall",
            "packageinstalls",
        )
        .short_names(&["pkgi"])
        .categories(&["carvel"]),
        Crd::new(
            "packaging.carvel.dev",
            &["v1alpha1"],
            "PackageRepository",
            "packagerepositories",
        )
        .short_names(&["pkgr"])
        .categories(&["carvel"]),
        Crd::new("kappctrl.k14s.io", &["v1alpha1"], "App", "apps").categories(&["carvel"]),
        Crd::new(
            "scanning.apps.tanzu.vmware.com",
            &["v1beta1"],
            "SourceScan",
            "sourcescans",
        ),
        Crd::new(
            "scanning.apps.tanzu.vmware.com",
            &["v1beta1"],
            "ImageScan",
            "imagescans",
        ),
        Crd::new(
            "servicebinding.io",
            &["v1", "v1beta1"],
            "ServiceBinding",
            "servicebindings",
        ),
        Crd::new(
            "services.apps.tanzu.vmware.com",
            &["v1alpha1"],
            "ClusterInstanceClass",
            "clusterinstanceclasses",
        )
        .cluster_scoped(),
        Crd::new(
            "services.apps.tanzu.vmware.com",
            &["v1alpha1"],
            "ClassClaim",
            "classclaims",
        ),
        Crd::new(
            "services.apps.tanzu.vmware.com",
            &["v1alpha1"],
            "ResourceClaim",
            "resourceclaims",
        ),
        Crd::new(
            "apis.apps.tanzu.vmware.com",
            &["v1alpha1"],
            "APIDescriptor",
            "apidescriptors",
        ),
        Crd::new(
            "accelerator.apps.tanzu.vmware.com",
            &["v1alpha1"],
            "Accelerator",
            "accelerators",
        ),
        Crd::new(
            "accelerator.apps.tanzu.vmware.com",
            &["v1alpha1"],
            "Fragment",
            "fragments",
        ),
    ]
}

/// A failure injected for one resource (keyed by `plural` or `plural.group` in `Options::faults`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 403 on every list and get, with RBAC's message.
    Forbidden,
    /// The CRD is missing: absent from discovery and from the CRD list; its paths are 404.
    NotFound,
    /// The first list carrying `continue` gets 410 Expired (with a fresh token, as etcd
    /// compaction does); later ones succeed.
    GoneOnContinue,
    /// The first `times` lists get 429 with `Retry-After`.
    TooManyRequests { retry_after_secs: u64, times: u32 },
    /// The first `times` lists get 500 InternalError.
    ServerError { times: u32 },
    /// Every list waits this long before answering.
    Slow(Duration),
    /// Every list answers 200 with `Content-Type: text/html` and an HTML page, as a
    /// misconfigured proxy or login portal in front of the API server does.
    NotJson,
    /// The first `times` lists announce their full `Content-Length`, send half the body and
    /// drop the connection (HTTP/1.1) or reset the stream (HTTP/2), as a proxy or a server
    /// that dies mid-answer does; later ones succeed.
    CutShort { times: u32 },
    /// Every list is a 200 JSON list whose `items` is this value instead of an array of
    /// objects: `json!({})`, `json!("x")`, or an array of non-objects like `json!([1, "a"])`.
    BadItems(Value),
    /// Every list answers this status with this `Content-Type` and body, as a proxy's
    /// error page or an API server with a long, multi-line message does.
    ErrorBody {
        status: u16,
        content_type: String,
        body: String,
    },
}

/// How to start a `FakeApiServer`.
#[derive(Clone, Debug)]
pub struct Options {
    /// CRDs served (default: `tap_crds()`). Core v1 namespaces, pods, services, configmaps,
    /// secrets, serviceaccounts and apiextensions.k8s.io CRDs are always served.
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
        parse_query(&self.query)
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
        let tls = if opts.tls { Some(make_tls()) } else { None };
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
            .spawn(move || serve(listener, acceptor, st, rx))
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

fn flatten_into(v: Value, out: &mut Vec<Value>) {
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

// ---------------------------------------------------------------------------------------------
// Serving

struct Tls {
    config: Arc<rustls::ServerConfig>,
    ca_pem: String,
}

fn make_tls() -> Tls {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose, date_time_ymd,
    };
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name = rcgen::DistinguishedName::new();
    ca.distinguished_name
        .push(DnType::CommonName, "fake-kube-apiserver-ca");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = date_time_ymd(2000, 1, 1);
    ca.not_after = date_time_ymd(2099, 12, 31);
    let ca_cert = ca.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca, ca_key);

    let names = [
        "127.0.0.1",
        "::1",
        "localhost",
        "kubernetes",
        "kubernetes.default.svc",
    ];
    let mut srv = CertificateParams::new(names.map(String::from).to_vec()).expect("server params");
    srv.distinguished_name = rcgen::DistinguishedName::new();
    srv.distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    srv.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    srv.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    srv.not_before = date_time_ymd(2000, 1, 1);
    srv.not_after = date_time_ymd(2099, 12, 31);
    let srv_key = KeyPair::generate().expect("server key");
    let srv_cert = srv.signed_by(&srv_key, &issuer).expect("server cert");

    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(srv_key.serialize_der().into());
    // An explicit provider: the default one is ambiguous when several crypto backends are linked.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("tls versions")
        .with_no_client_auth()
        .with_single_cert(vec![srv_cert.der().clone()], key)
        .expect("server tls config");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Tls {
        config: Arc::new(config),
        ca_pem: ca_cert.pem(),
    }
}

fn serve(
    listener: std::net::TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    state: Arc<State>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("server runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        loop {
            let (tcp, _) = tokio::select! {
                _ = &mut shutdown => break,
                r = listener.accept() => match r {
                    Ok(c) => c,
                    // e.g. out of file descriptors: back off instead of spinning.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            let _ = tcp.set_nodelay(true);
            let state = state.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| handle(state.clone(), req));
                let builder = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                match acceptor {
                    Some(a) => {
                        if let Ok(tls) = a.accept(tcp).await {
                            let _ = builder
                                .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                                .await;
                        }
                    }
                    None => {
                        let _ = builder
                            .serve_connection(hyper_util::rt::TokioIo::new(tcp), svc)
                            .await;
                    }
                }
            });
        }
    });
    rt.shutdown_timeout(Duration::from_secs(1));
}

type Resp = Response<Full<Bytes>>;

async fn handle(
    state: Arc<State>,
    req: hyper::Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(String::from)
    };
    let authorization = header(AUTHORIZATION);
    let authorized = match &state.token {
        None => true,
        Some(t) => authorization
            .as_deref()
            .and_then(bearer)
            .is_some_and(|got| got == t),
    };
    let entry = Request {
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        query: req.uri().query().unwrap_or("").to_string(),
        authorization,
        authorized,
        accept: header(ACCEPT),
        http_version: format!("{:?}", req.version()),
        status: 0,
    };
    let gzip_ok =
        header(ACCEPT_ENCODING).is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let id = state.audit.fetch_add(1, Ordering::Relaxed);
    state.log.lock().unwrap().push((id, entry.clone()));
    let mut resp = if !authorized {
        status_response(401, "Unauthorized", "Unauthorized", None)
    } else if req.method() != Method::GET {
        status_response(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            Some(json!({})),
        )
    } else {
        route(&state, &entry).await
    };
    if state.compression && gzip_ok {
        compress(&mut resp);
    }
    let h = resp.headers_mut();
    h.insert(
        "cache-control",
        HeaderValue::from_static("no-cache, private"),
    );
    h.insert(
        "audit-id",
        HeaderValue::from_str(&fake_uid(id, 0xa0d17)).unwrap(),
    );
    let mut log = state.log.lock().unwrap();
    // Searched from the end: the log may have been cleared meanwhile.
    if let Some((_, e)) = log.iter_mut().rev().find(|(i, _)| *i == id) {
        e.status = resp.status().as_u16();
    }
    Ok(cut_short(resp))
}

/// Marks a response to be cut short half-way through its body (`Fault::CutShort`).
#[derive(Clone, Copy)]
struct CutShort;

/// A response body: whole, or cut short.
enum Body {
    Whole(Full<Bytes>),
    /// The first half is sent; after a pause that lets it reach the client, an error makes
    /// hyper drop the connection (HTTP/1.1) or reset the stream (HTTP/2).
    Cut {
        head: Option<Bytes>,
        pause: std::pin::Pin<Box<tokio::time::Sleep>>,
    },
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        use std::task::Poll;
        match self.get_mut() {
            Body::Whole(full) => hyper::body::Body::poll_frame(std::pin::Pin::new(full), cx)
                .map_err(|never| match never {}),
            Body::Cut { head, pause } => {
                if let Some(head) = head.take() {
                    return Poll::Ready(Some(Ok(hyper::body::Frame::data(head))));
                }
                std::task::ready!(std::future::Future::poll(pause.as_mut(), cx));
                Poll::Ready(Some(Err(std::io::Error::other(
                    "fake apiserver: answer cut short",
                ))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Whole(full) => hyper::body::Body::is_end_stream(full),
            Body::Cut { .. } => false,
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            Body::Whole(full) => hyper::body::Body::size_hint(full),
            Body::Cut { .. } => hyper::body::SizeHint::default(),
        }
    }
}

/// The response as sent: whole, or, when marked `CutShort`, announcing its full length and
/// sending half of it.
fn cut_short(resp: Resp) -> Response<Body> {
    use http_body_util::BodyExt as _;
    let (mut parts, full) = resp.into_parts();
    if parts.extensions.remove::<CutShort>().is_none() {
        return Response::from_parts(parts, Body::Whole(full));
    }
    let bytes = futures_now(full.collect())
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    parts.headers.insert(
        hyper::header::CONTENT_LENGTH,
        HeaderValue::from(bytes.len()),
    );
    let body = Body::Cut {
        head: Some(bytes.slice(..bytes.len() / 2)),
        pause: Box::pin(tokio::time::sleep(Duration::from_millis(50))),
    };
    Response::from_parts(parts, body)
}

fn bearer(h: &str) -> Option<&str> {
    let (scheme, tok) = h.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| tok.trim())
}

/// kube-apiserver gzips (level 1) responses over 128 KiB when the client accepts it.
fn compress(resp: &mut Resp) {
    use http_body_util::BodyExt as _;
    let body = std::mem::take(resp.body_mut());
    let bytes = futures_now(body.collect())
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    if bytes.len() <= 128 * 1024 {
        *resp.body_mut() = Full::new(bytes);
        return;
    }
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 4),
        flate2::Compression::new(1),
    );
    enc.write_all(&bytes).expect("gzip");
    *resp.body_mut() = Full::new(Bytes::from(enc.finish().expect("gzip")));
    resp.headers_mut()
        .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
}

/// Polls a future that is ready immediately (collecting a `Full` body).
fn futures_now<F: std::future::Future>(f: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => unreachable!("Full body is always ready"),
    }
}

fn json_response(code: u16, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap();
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// A `metav1.Status` failure, fields in the order kube-apiserver writes them.
fn status_body(
    code: u16,
    reason: &str,
    message: &str,
    details: Option<Value>,
    cont: Option<&str>,
) -> String {
    let meta = match cont {
        Some(c) => json!({ "continue": c }),
        None => json!({}),
    };
    let mut s = format!(
        r#"{{"kind":"Status","apiVersion":"v1","metadata":{meta},"status":"Failure","message":{},"reason":{}"#,
        Value::from(message),
        Value::from(reason)
    );
    if let Some(d) = details {
        s.push_str(&format!(r#","details":{d}"#));
    }
    s.push_str(&format!(r#","code":{code}}}"#));
    s
}

fn status_response(code: u16, reason: &str, message: &str, details: Option<Value>) -> Resp {
    json_response(code, status_body(code, reason, message, details, None))
}

fn not_found_path() -> Resp {
    status_response(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

fn bad_request(message: &str) -> Resp {
    status_response(400, "BadRequest", message, None)
}

// ---------------------------------------------------------------------------------------------
// State

struct Resource {
    group: String,
    /// Served versions, storage first.
    versions: Vec<String>,
    kind: String,
    plural: String,
    singular: String,
    namespaced: bool,
    short_names: Vec<String>,
    categories: Vec<String>,
    verbs: &'static [&'static str],
    status_subresource: bool,
    /// Hidden by `Fault::NotFound`.
    hidden: bool,
    is_crd: bool,
}

impl Resource {
    fn from_crd(c: &Crd) -> Resource {
        assert!(!c.versions.is_empty(), "CRD {} has no versions", c.name());
        Resource {
            group: c.group.clone(),
            versions: c.versions.clone(),
            kind: c.kind.clone(),
            plural: c.plural.clone(),
            singular: c.singular.clone(),
            namespaced: c.namespaced,
            short_names: c.short_names.clone(),
            categories: c.categories.clone(),
            verbs: CRD_VERBS,
            status_subresource: true,
            hidden: false,
            is_crd: true,
        }
    }

    fn builtin(
        group: &str,
        kind: &str,
        plural: &str,
        namespaced: bool,
        short: &[&str],
        cats: &[&str],
    ) -> Resource {
        Resource {
            group: group.into(),
            versions: vec!["v1".into()],
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            namespaced,
            short_names: short.iter().map(|s| s.to_string()).collect(),
            categories: cats.iter().map(|s| s.to_string()).collect(),
            verbs: CORE_VERBS,
            status_subresource: matches!(
                plural,
                "namespaces" | "pods" | "services" | "customresourcedefinitions"
            ),
            hidden: false,
            is_crd: false,
        }
    }

    fn group_version(&self, v: &str) -> String {
        if self.group.is_empty() {
            v.to_string()
        } else {
            format!("{}/{v}", self.group)
        }
    }

    /// `plural.group`, or `plural` for the core group, as in error messages.
    fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

const CRD_VERBS: &[&str] = &[
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
];
const CORE_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// One stored object: its etcd-style key and its JSON minus `apiVersion` and the leading `{`.
struct Entry {
    /// `ns/name` for namespaced kinds, `name` otherwise; the store is sorted by it bytewise.
    key: String,
    namespace: String,
    name: String,
    labels: BTreeMap<String, String>,
    rest: Bytes,
}

struct FaultState {
    key: String,
    fault: Fault,
    remaining: AtomicU32,
    fired: AtomicBool,
}

struct State {
    resources: Vec<Resource>,
    stores: Vec<Vec<Entry>>,
    faults: Vec<FaultState>,
    token: Option<String>,
    /// The "etcd revision": at least every object's resourceVersion.
    rv: u64,
    compression: bool,
    aggregated_discovery: bool,
    host: String,
    /// Requests with a unique id (also their Audit-Id), to set the status once answered.
    log: Mutex<Vec<(u64, Request)>>,
    audit: AtomicU64,
}

impl State {
    fn new(opts: Options, host: String) -> State {
        let mut resources = vec![
            Resource::builtin("", "Namespace", "namespaces", false, &["ns"], &[]),
            Resource::builtin("", "Pod", "pods", true, &["po"], &["all"]),
            Resource::builtin("", "Service", "services", true, &["svc"], &["all"]),
            Resource::builtin("", "ConfigMap", "configmaps", true, &["cm"], &[]),
            Resource::builtin("", "Secret", "secrets", true, &[], &[]),
            Resource::builtin("", "ServiceAccount", "serviceaccounts", true, &["sa"], &[]),
            Resource::builtin(
                "apiextensions.k8s.io",
                "CustomResourceDefinition",
                "customresourcedefinitions",
                false,
                &["crd", "crds"],
                &["api-extensions"],
            ),
        ];
        for c in &opts.crds {
            assert!(
                !resources
                    .iter()
                    .any(|r| r.group == c.group && r.plural == c.plural),
                "CRD {} declared twice",
                c.name()
            );
            resources.push(Resource::from_crd(c));
        }
        let faults: Vec<FaultState> = opts
            .faults
            .iter()
            .map(|(k, f)| FaultState {
                key: k.clone(),
                fault: f.clone(),
                remaining: AtomicU32::new(match f {
                    Fault::TooManyRequests { times, .. }
                    | Fault::ServerError { times }
                    | Fault::CutShort { times } => *times,
                    _ => 0,
                }),
                fired: AtomicBool::new(false),
            })
            .collect();
        for f in &faults {
            assert!(
                resources.iter().any(|r| fault_matches(&f.key, r)),
                "fault key {:?} matches no served resource",
                f.key
            );
        }
        for r in &mut resources {
            r.hidden = faults
                .iter()
                .any(|f| f.fault == Fault::NotFound && fault_matches(&f.key, r));
        }

        let mut seeded: Vec<Vec<Map<String, Value>>> = resources.iter().map(|_| vec![]).collect();
        let mut objects = vec![];
        for o in opts.objects {
            flatten_into(o, &mut objects);
        }
        for o in objects {
            let Value::Object(m) = o else {
                panic!("seeded object is not a JSON object: {o}")
            };
            let api_version = m
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let kind = m.get("kind").and_then(Value::as_str).unwrap_or_default();
            let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
            let Some(i) = resources
                .iter()
                .position(|r| r.group == group && r.kind == kind)
            else {
                panic!(
                    "fake apiserver serves no kind {kind} in {api_version:?}; add its Crd to Options::crds"
                )
            };
            assert!(
                resources[i].versions.iter().any(|v| v == version),
                "{kind}: version {version:?} is not served (served: {:?})",
                resources[i].versions
            );
            seeded[i].push(m);
        }
        // A real cluster has these namespaces, and every namespace an object lives in.
        let ns_idx = resources
            .iter()
            .position(|r| r.plural == "namespaces")
            .unwrap();
        let mut namespaces: BTreeSet<String> =
            ["default", "kube-node-lease", "kube-public", "kube-system"]
                .map(String::from)
                .into();
        for (i, objs) in seeded.iter_mut().enumerate() {
            if resources[i].namespaced {
                for m in objs.iter_mut() {
                    let meta = meta_mut(m);
                    if meta
                        .get("namespace")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        meta.insert("namespace".into(), "default".into());
                    }
                    namespaces.insert(meta["namespace"].as_str().unwrap().to_string());
                }
            }
        }
        let have: BTreeSet<String> = seeded[ns_idx]
            .iter()
            .map(|m| obj_name(m).to_string())
            .collect();
        for ns in namespaces.difference(&have) {
            seeded[ns_idx].push(
                json!({
                    "apiVersion": "v1", "kind": "Namespace",
                    "metadata": { "name": ns, "labels": { "kubernetes.io/metadata.name": ns } },
                    "spec": { "finalizers": ["kubernetes"] },
                    "status": { "phase": "Active" },
                })
                .as_object()
                .unwrap()
                .clone(),
            );
        }
        let crd_idx = resources
            .iter()
            .position(|r| r.plural == "customresourcedefinitions")
            .unwrap();
        let have: BTreeSet<String> = seeded[crd_idx]
            .iter()
            .map(|m| obj_name(m).to_string())
            .collect();
        for r in resources.iter().filter(|r| r.is_crd && !r.hidden) {
            if !have.contains(&r.qualified()) {
                seeded[crd_idx].push(crd_object(r));
            }
        }

        let mut next_rv = 1000u64;
        let mut max_rv = 0u64;
        let mut stores = vec![];
        for (i, objs) in seeded.into_iter().enumerate() {
            let r = &resources[i];
            let mut store = Vec::with_capacity(objs.len());
            for mut m in objs {
                next_rv += 1;
                let name = obj_name(&m).to_string();
                assert!(
                    !name.is_empty(),
                    "{} without metadata.name (generateName is not supported)",
                    r.kind
                );
                let meta = meta_mut(&mut m);
                if !r.namespaced {
                    meta.remove("namespace");
                }
                let namespace = meta
                    .get("namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let key = if r.namespaced {
                    format!("{namespace}/{name}")
                } else {
                    name.clone()
                };
                meta.entry("uid")
                    .or_insert_with(|| fake_uid(next_rv, i as u64).into());
                meta.entry("resourceVersion")
                    .or_insert_with(|| next_rv.to_string().into());
                meta.entry("creationTimestamp")
                    .or_insert_with(|| "2024-05-01T12:00:00Z".into());
                if r.is_crd {
                    meta.entry("generation").or_insert_with(|| 1.into());
                }
                if let Some(rv) = meta["resourceVersion"]
                    .as_str()
                    .and_then(|s| s.parse::<u64>().ok())
                {
                    max_rv = max_rv.max(rv);
                }
                let labels = meta
                    .get("labels")
                    .and_then(Value::as_object)
                    .map(|l| {
                        l.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                m.remove("apiVersion");
                let json = serde_json::to_vec(&Value::Object(m)).unwrap();
                store.push(Entry {
                    key,
                    namespace,
                    name,
                    labels,
                    rest: Bytes::from(json).slice(1..),
                });
            }
            store.sort_by(|a, b| a.key.cmp(&b.key));
            if let Some(w) = store.windows(2).find(|w| w[0].key == w[1].key) {
                panic!("duplicate {} {:?}", r.kind, w[0].key);
            }
            stores.push(store);
        }

        State {
            resources,
            stores,
            faults,
            token: opts.token,
            rv: max_rv.max(next_rv),
            compression: opts.compression,
            aggregated_discovery: opts.aggregated_discovery,
            host,
            log: Mutex::new(vec![]),
            audit: AtomicU64::new(1),
        }
    }

    fn faults_for(&self, r: &Resource) -> impl Iterator<Item = &FaultState> {
        self.faults.iter().filter(move |f| fault_matches(&f.key, r))
    }

    /// Resources not hidden by `Fault::NotFound`.
    fn visible(&self) -> impl Iterator<Item = (usize, &Resource)> {
        self.resources.iter().enumerate().filter(|(_, r)| !r.hidden)
    }

    /// Served versions of a group, highest priority first (the first is preferred).
    fn group_versions(&self, group: &str) -> Vec<String> {
        let mut vs: Vec<String> = vec![];
        for (_, r) in self.visible().filter(|(_, r)| r.group == group) {
            for v in &r.versions {
                if !vs.contains(v) {
                    vs.push(v.clone());
                }
            }
        }
        vs.sort_by_key(|v| version_priority(v));
        vs
    }

    fn groups(&self) -> Vec<String> {
        let mut gs: Vec<String> = vec![];
        for (_, r) in self.visible() {
            if !r.group.is_empty() && !gs.contains(&r.group) {
                gs.push(r.group.clone());
            }
        }
        // Built-in groups first, then CRD groups by name, as aggregator priorities order them.
        gs.sort_by_key(|g| (g != "apiextensions.k8s.io", g.clone()));
        gs
    }
}

fn fault_matches(key: &str, r: &Resource) -> bool {
    key == r.plural || (!r.group.is_empty() && key == format!("{}.{}", r.plural, r.group))
}

fn meta_mut(m: &mut Map<String, Value>) -> &mut Map<String, Value> {
    let meta = m.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    meta.as_object_mut().unwrap()
}

fn obj_name(m: &Map<String, Value>) -> &str {
    m.get("metadata")
        .and_then(|md| md.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// A stable RFC 4122-looking uid.
fn fake_uid(n: u64, salt: u64) -> String {
    let h = fnv(&[n.to_le_bytes(), salt.to_le_bytes()].concat());
    let h2 = fnv(&h.to_le_bytes());
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        h2 & 0xfff,
        h2 >> 16 & 0xffff_ffff_ffff
    )
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Sort key for Kubernetes version priority: GA > beta > alpha, higher numbers first,
/// non-Kubernetes-style versions last by name.
fn version_priority(v: &str) -> (u8, i64, i64, String) {
    let parse = || -> Option<(u8, i64, i64)> {
        let rest = v.strip_prefix('v')?;
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let major: i64 = rest[..digits].parse().ok()?;
        let tail = &rest[digits..];
        if tail.is_empty() {
            return Some((0, -major, 0));
        }
        let (class, num) = if let Some(n) = tail.strip_prefix("beta") {
            (1, n)
        } else if let Some(n) = tail.strip_prefix("alpha") {
            (2, n)
        } else {
            return None;
        };
        let minor: i64 = num.parse().ok()?;
        Some((class, -major, -minor))
    };
    match parse() {
        Some((c, a, b)) => (c, a, b, String::new()),
        None => (3, 0, 0, v.to_string()),
    }
}

fn storage_version_hash(r: &Resource) -> String {
    let h = fnv(format!("{}/{}/{}", r.group, r.versions[0], r.kind).as_bytes());
    B64.encode(h.to_be_bytes())
}

fn crd_object(r: &Resource) -> Map<String, Value> {
    let versions: Vec<Value> = r
        .versions
        .iter()
        .enumerate()
        .map(|(i, v)| {
            json!({
                "name": v, "served": true, "storage": i == 0,
                "schema": { "openAPIV3Schema": { "type": "object", "x-kubernetes-preserve-unknown-fields": true } },
                "subresources": { "status": {} },
            })
        })
        .collect();
    let names = json!({
        "kind": r.kind, "listKind": format!("{}List", r.kind), "plural": r.plural,
        "singular": r.singular, "shortNames": r.short_names, "categories": r.categories,
    });
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": r.qualified() },
        "spec": {
            "group": r.group,
            "names": names,
            "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
            "versions": versions,
            "conversion": { "strategy": "None" },
        },
        "status": {
            "acceptedNames": names,
            "conditions": [
                { "type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": "2024-05-01T12:00:00Z" },
                { "type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": "2024-05-01T12:00:00Z" },
            ],
            "storedVersions": [r.versions[0]],
        },
    })
    .as_object()
    .unwrap()
    .clone()
}

// ---------------------------------------------------------------------------------------------
// Routing

async fn route(state: &State, req: &Request) -> Resp {
    let path = req
        .path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(&req.path);
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    match segs.as_slice() {
        ["version"] => json_response(200, version_json()),
        ["healthz" | "livez" | "readyz"] => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"ok")));
            r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
            r
        }
        ["api" | "apis"] if state.aggregated_discovery && aggregated_accept(req).is_some() => {
            aggregated_discovery(state, segs[0] == "api", aggregated_accept(req).unwrap())
        }
        ["api"] => json_response(
            200,
            json!({
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": state.host }],
            })
            .to_string(),
        ),
        ["api", "v1"] => resource_list(state, "", "v1"),
        ["api", "v1", rest @ ..] => resource_request(state, req, "", "v1", rest).await,
        ["apis"] => {
            let groups: Vec<Value> = state.groups().iter().map(|g| group_json(state, g, false)).collect();
            json_response(200, json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups }).to_string())
        }
        ["apis", g] => {
            if state.groups().iter().any(|x| x == g) {
                json_response(200, group_json(state, g, true).to_string())
            } else {
                not_found_path()
            }
        }
        ["apis", g, v] => resource_list(state, g, v),
        ["apis", g, v, rest @ ..] => resource_request(state, req, g, v, rest).await,
        _ => not_found_path(),
    }
}

/// The aggregated-discovery version (`v2` or `v2beta1`) the client's Accept asks for first,
/// if it prefers one to plain JSON.
fn aggregated_accept(req: &Request) -> Option<&'static str> {
    for clause in req.accept.as_deref()?.split(',') {
        let mut parts = clause.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        let params: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
        let has = |k: &str, v: &str| params.iter().any(|(pk, pv)| *pk == k && *pv == v);
        if media != "application/json" {
            if media == "*/*" || media == "application/*" {
                return None;
            }
            continue;
        }
        if params.iter().all(|(k, _)| *k == "q") {
            return None;
        }
        if has("g", "apidiscovery.k8s.io") && has("as", "APIGroupDiscoveryList") {
            if has("v", "v2") {
                return Some("v2");
            }
            if has("v", "v2beta1") {
                return Some("v2beta1");
            }
        }
    }
    None
}

/// `GET /api` or `/apis` as an `APIGroupDiscoveryList` (KEP-3352), as kube-apiserver 1.30 serves
/// clients that ask for it (kubectl does).
fn aggregated_discovery(state: &State, core: bool, version: &str) -> Resp {
    let groups = if core {
        vec![String::new()]
    } else {
        state.groups()
    };
    let items: Vec<Value> = groups
        .iter()
        .map(|g| {
            let versions: Vec<Value> = state
                .group_versions(g)
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = state
                        .visible()
                        .map(|(_, r)| r)
                        .filter(|r| r.group == *g && r.versions.contains(v))
                        .map(|r| {
                            let kind = json!({ "group": r.group, "version": v, "kind": r.kind });
                            let mut o = json!({
                                "resource": r.plural,
                                "responseKind": kind,
                                "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                                "singularResource": r.singular,
                                "verbs": r.verbs,
                            });
                            if !r.short_names.is_empty() {
                                o["shortNames"] = json!(r.short_names);
                            }
                            if !r.categories.is_empty() {
                                o["categories"] = json!(r.categories);
                            }
                            if r.status_subresource {
                                o["subresources"] = json!([{
                                    "subresource": "status",
                                    "responseKind": kind,
                                    "verbs": ["get", "patch", "update"],
                                }]);
                            }
                            o
                        })
                        .collect();
                    json!({ "version": v, "resources": resources, "freshness": "Current" })
                })
                .collect();
            let mut metadata = json!({ "creationTimestamp": null });
            if !g.is_empty() {
                metadata["name"] = json!(g);
            }
            json!({ "metadata": metadata, "versions": versions })
        })
        .collect();
    let body = json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    });
    let mut r = json_response(200, body.to_string());
    let ct = format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList");
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_str(&ct).unwrap());
    r
}

fn version_json() -> String {
    json!({
        "major": "1",
        "minor": SERVER_GIT_VERSION.split('.').nth(1).unwrap(),
        "gitVersion": SERVER_GIT_VERSION,
        "gitCommit": "a78aa47129b8539636eb86a9d00e31b2720fe06b",
        "gitTreeState": "clean",
        "buildDate": "2024-12-10T18:36:32Z",
        "goVersion": "go1.22.9",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
    .to_string()
}

fn group_json(state: &State, g: &str, with_kind: bool) -> Value {
    let versions: Vec<Value> = state
        .group_versions(g)
        .iter()
        .map(|v| json!({ "groupVersion": format!("{g}/{v}"), "version": v }))
        .collect();
    let mut out = Map::new();
    if with_kind {
        out.insert("kind".into(), "APIGroup".into());
        out.insert("apiVersion".into(), "v1".into());
    }
    out.insert("name".into(), g.into());
    out.insert("preferredVersion".into(), versions[0].clone());
    out.insert("versions".into(), Value::Array(versions));
    Value::Object(out)
}

fn resource_list(state: &State, g: &str, v: &str) -> Resp {
    let rs: Vec<&Resource> = state
        .visible()
        .map(|(_, r)| r)
        .filter(|r| r.group == g && r.versions.iter().any(|x| x == v))
        .collect();
    if rs.is_empty() {
        return not_found_path();
    }
    let mut resources = vec![];
    for r in rs {
        let mut o = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs,
        });
        if !r.short_names.is_empty() {
            o["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            o["categories"] = json!(r.categories);
        }
        o["storageVersionHash"] = json!(storage_version_hash(r));
        resources.push(o);
        if r.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", r.plural),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
    }
    let gv = if g.is_empty() {
        v.to_string()
    } else {
        format!("{g}/{v}")
    };
    let mut body = json!({ "kind": "APIResourceList", "groupVersion": gv, "resources": resources });
    if !g.is_empty() {
        body["apiVersion"] = json!("v1");
    }
    json_response(200, body.to_string())
}

/// `[plural]`, `[plural, name]`, `[namespaces, ns, plural]`, `[namespaces, ns, plural, name]`
/// (each optionally followed by `/status`).
async fn resource_request(state: &State, req: &Request, g: &str, v: &str, rest: &[&str]) -> Resp {
    let (namespace, plural, name) = match rest {
        ["namespaces", ns, plural, tail @ ..] if tail.len() <= 2 => (Some(*ns), *plural, tail),
        [plural, tail @ ..] if tail.len() <= 2 => (None, *plural, tail),
        _ => return not_found_path(),
    };
    let name = match name {
        [] => None,
        [n] | [n, "status"] => Some(*n),
        _ => return not_found_path(),
    };
    let Some((ri, r)) = state
        .visible()
        .find(|(_, r)| r.group == g && r.plural == plural && r.versions.iter().any(|x| x == v))
    else {
        return not_found_path();
    };
    if namespace.is_some() && !r.namespaced {
        return not_found_path();
    }
    // GET /api/v1/pods/NAME: a namespaced object needs its namespace in the path.
    if namespace.is_none() && r.namespaced && name.is_some() {
        return not_found_path();
    }
    let verb = if name.is_some() { "get" } else { "list" };
    let params = parse_query(&req.query);
    let param = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    if name.is_none() && param("watch").is_some_and(|w| w == "true" || w == "1") {
        return bad_request("fake apiserver: watch is not supported");
    }

    let faults: Vec<&FaultState> = state.faults_for(r).collect();
    if faults.iter().any(|f| f.fault == Fault::Forbidden) {
        return forbidden(r, verb, namespace, name);
    }
    if let Some(n) = name {
        return get_object(state, ri, r, v, namespace.unwrap_or(""), n);
    }
    for f in &faults {
        if let Fault::Slow(d) = f.fault {
            tokio::time::sleep(d).await;
        }
    }
    for f in &faults {
        match f.fault {
            Fault::TooManyRequests {
                retry_after_secs, ..
            } if take_one(&f.remaining) => {
                let mut resp = status_response(
                    429,
                    "TooManyRequests",
                    "Too many requests, please try again later.",
                    Some(json!({ "retryAfterSeconds": retry_after_secs })),
                );
                resp.headers_mut()
                    .insert("retry-after", HeaderValue::from(retry_after_secs));
                return resp;
            }
            Fault::ServerError { .. } if take_one(&f.remaining) => {
                return status_response(
                    500,
                    "InternalError",
                    "Internal error occurred: fake apiserver injected failure",
                    Some(json!({ "causes": [{ "message": "fake apiserver injected failure" }] })),
                );
            }
            Fault::NotJson => return html_page(),
            Fault::BadItems(ref items) => return bad_items_list(state, r, v, items),
            Fault::ErrorBody {
                status,
                ref content_type,
                ref body,
            } => {
                let mut resp = json_response(status, body.clone());
                if let Ok(ct) = HeaderValue::from_str(content_type) {
                    resp.headers_mut().insert(CONTENT_TYPE, ct);
                }
                return resp;
            }
            Fault::CutShort { .. } if take_one(&f.remaining) => {
                let mut resp = list_objects(state, ri, r, v, namespace, &params, &faults);
                resp.extensions_mut().insert(CutShort);
                return resp;
            }
            _ => {}
        }
    }
    list_objects(state, ri, r, v, namespace, &params, &faults)
}

/// What a proxy in front of the API server answers when it wants a login (`Fault::NotJson`).
fn html_page() -> Resp {
    let mut r = Response::new(Full::new(Bytes::from_static(
        b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n<body><form action=\"/login\"></form></body></html>\n",
    )));
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// A list shaped like `list_objects`' but with `items` replaced (`Fault::BadItems`).
fn bad_items_list(state: &State, r: &Resource, v: &str, items: &Value) -> Resp {
    let body = format!(
        r#"{{"apiVersion":{},"items":{items},"kind":"{}List","metadata":{{"resourceVersion":"{}"}}}}"#,
        Value::from(r.group_version(v)),
        r.kind,
        state.rv
    );
    json_response(200, body)
}

fn take_one(n: &AtomicU32) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |x| x.checked_sub(1))
        .is_ok()
}

fn forbidden(r: &Resource, verb: &str, namespace: Option<&str>, name: Option<&str>) -> Resp {
    let subject = match name {
        Some(n) => format!("{} {n:?}", r.qualified()),
        None => r.qualified(),
    };
    let scope = match namespace {
        Some(ns) => format!("in the namespace {ns:?}"),
        None => "at the cluster scope".to_string(),
    };
    let message = format!(
        "{subject} is forbidden: User {FORBIDDEN_USER:?} cannot {verb} resource {:?} in API group {:?} {scope}",
        r.plural, r.group
    );
    let mut details = json!({ "group": r.group, "kind": r.plural });
    if let Some(n) = name {
        details["name"] = json!(n);
    }
    if r.group.is_empty() {
        details.as_object_mut().unwrap().remove("group");
    }
    status_response(403, "Forbidden", &message, Some(details))
}

fn write_object(out: &mut Vec<u8>, api_version: &str, e: &Entry) {
    out.extend_from_slice(b"{\"apiVersion\":");
    out.extend_from_slice(Value::from(api_version).to_string().as_bytes());
    if e.rest.as_ref() != b"}" {
        out.push(b',');
    }
    out.extend_from_slice(&e.rest);
}

fn get_object(
    state: &State,
    ri: usize,
    r: &Resource,
    v: &str,
    namespace: &str,
    name: &str,
) -> Resp {
    let key = if r.namespaced {
        format!("{namespace}/{name}")
    } else {
        name.to_string()
    };
    let store = &state.stores[ri];
    match store.binary_search_by(|e| e.key.as_str().cmp(&key)) {
        Ok(i) => {
            let mut out = Vec::with_capacity(store[i].rest.len() + 64);
            write_object(&mut out, &r.group_version(v), &store[i]);
            json_response(200, out)
        }
        Err(_) => {
            let mut details = json!({ "name": name, "group": r.group, "kind": r.plural });
            if r.group.is_empty() {
                details.as_object_mut().unwrap().remove("group");
            }
            status_response(
                404,
                "NotFound",
                &format!("{} {name:?} not found", r.qualified()),
                Some(details),
            )
        }
    }
}

fn list_objects(
    state: &State,
    ri: usize,
    r: &Resource,
    v: &str,
    namespace: Option<&str>,
    params: &[(String, String)],
    faults: &[&FaultState],
) -> Resp {
    let param = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let labels = match parse_label_selector(param("labelSelector").unwrap_or("")) {
        Ok(s) => s,
        Err(e) => return bad_request(&e),
    };
    let fields = match parse_field_selector(param("fieldSelector").unwrap_or("")) {
        Ok(s) => s,
        Err(e) => return bad_request(&e),
    };
    let resource_version = param("resourceVersion").unwrap_or("");
    let cont = param("continue").unwrap_or("");
    if !cont.is_empty() && !resource_version.is_empty() {
        return status_response(
            422,
            "Invalid",
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersion: Forbidden: specifying resource version is not allowed when using continue",
            Some(
                json!({ "group": "meta.k8s.io", "kind": "ListOptions", "causes": [{
                "reason": "FieldValueForbidden",
                "message": "Forbidden: specifying resource version is not allowed when using continue",
                "field": "resourceVersion" }] }),
            ),
        );
    }
    let mut limit = match param("limit").map(str::parse::<i64>) {
        None => 0,
        Some(Ok(n)) => n.max(0) as usize,
        Some(Err(e)) => return bad_request(&format!("limit: Invalid value: {e}")),
    };
    // resourceVersion=0 is served from the watch cache, which ignores limit.
    if resource_version == "0" && cont.is_empty() {
        limit = 0;
    }

    let store = &state.stores[ri];
    let prefix = match namespace {
        Some(ns) if r.namespaced => format!("{ns}/"),
        _ => String::new(),
    };
    let lo = store.partition_point(|e| e.key < prefix);
    let hi = if prefix.is_empty() {
        store.len()
    } else {
        lo + store[lo..].partition_point(|e| e.key.starts_with(&prefix))
    };

    let mut list_rv = state.rv;
    let mut start = lo;
    if !cont.is_empty() {
        let (key, rv) = match decode_continue(cont) {
            Ok(x) => x,
            Err(e) => return bad_request(&format!("invalid continue token: {e}")),
        };
        let full = format!("{prefix}{key}");
        start = lo + store[lo..hi].partition_point(|e| e.key < full);
        for f in faults.iter().filter(|f| f.fault == Fault::GoneOnContinue) {
            if !f.fired.swap(true, Ordering::SeqCst) {
                let fresh = encode_continue(&key, -1);
                let msg = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";
                return json_response(410, status_body(410, "Expired", msg, None, Some(&fresh)));
            }
        }
        if rv > 0 {
            list_rv = rv as u64;
        }
    }

    let api_version = r.group_version(v);
    let unfiltered = labels.is_empty() && fields.is_empty();
    let matches = |e: &Entry| {
        labels.iter().all(|req| req.matches(&e.labels))
            && fields.iter().all(|f| f.matches(&e.namespace, &e.name))
    };
    let mut selected: Vec<&Entry> = vec![];
    let mut last = None;
    for (i, e) in store.iter().enumerate().take(hi).skip(start) {
        if limit > 0 && selected.len() == limit {
            break;
        }
        if matches(e) {
            selected.push(e);
            last = Some(i);
        }
    }
    let mut meta = format!(r#"{{"resourceVersion":"{list_rv}""#);
    if limit > 0
        && selected.len() == limit
        && let Some(last) = last
        && last + 1 < hi
    {
        let rel = &store[last].key[prefix.len()..];
        let token = encode_continue(&format!("{rel}\u{0}"), list_rv as i64);
        meta.push_str(&format!(r#","continue":"{token}""#));
        if unfiltered {
            meta.push_str(&format!(r#","remainingItemCount":{}"#, hi - last - 1));
        }
    }
    meta.push('}');

    let size: usize = selected
        .iter()
        .map(|e| e.rest.len() + api_version.len() + 20)
        .sum();
    let mut out = Vec::with_capacity(size + 256);
    out.extend_from_slice(
        format!(
            r#"{{"apiVersion":{},"items":["#,
            Value::from(api_version.as_str())
        )
        .as_bytes(),
    );
    for (i, e) in selected.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_object(&mut out, &api_version, e);
    }
    out.extend_from_slice(format!(r#"],"kind":"{}List","metadata":{meta}}}"#, r.kind).as_bytes());
    json_response(200, out)
}

// ---------------------------------------------------------------------------------------------
// Continue tokens, in the apiserver's own format: base64url(JSON {v, rv, start}), where
// `start` is the key relative to the listed prefix to resume from.

fn encode_continue(start: &str, rv: i64) -> String {
    B64URL.encode(json!({ "v": "meta.k8s.io/v1", "rv": rv, "start": start }).to_string())
}

fn decode_continue(token: &str) -> Result<(String, i64), String> {
    let invalid = "continue key is not valid";
    let data = B64URL
        .decode(token)
        .map_err(|e| format!("{invalid}: {e}"))?;
    let v: Value = serde_json::from_slice(&data).map_err(|e| format!("{invalid}: {e}"))?;
    let version = v.get("v").and_then(Value::as_str).unwrap_or("");
    if version != "meta.k8s.io/v1" {
        return Err(format!(
            "continue key is not valid: server does not recognize this encoded version {version:?}"
        ));
    }
    let rv = v.get("rv").and_then(Value::as_i64).unwrap_or(0);
    if rv == 0 {
        return Err(format!(
            "{invalid}: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        ));
    }
    let start = v.get("start").and_then(Value::as_str).unwrap_or("");
    if start.is_empty() {
        return Err(format!(
            "{invalid}: encoded start key empty (version meta.k8s.io/v1)"
        ));
    }
    if start.starts_with('/')
        || start
            .split('/')
            .any(|s| s == ".." || s == "." || s.is_empty())
    {
        return Err(format!("{invalid}: {start}"));
    }
    Ok((start.to_string(), rv))
}

/// Decoded `key=value` pairs; `+` is a space, as Go's url.ParseQuery reads it.
fn parse_query(q: &str) -> Vec<(String, String)> {
    let dec = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (dec(k), dec(v))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Label selectors: a port of k8s.io/apimachinery/pkg/labels' lexer and parser.

#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    Exists,
    DoesNotExist,
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    Gt,
    Lt,
}

#[derive(Clone, Debug)]
struct LabelReq {
    key: String,
    op: Op,
    values: BTreeSet<String>,
}

impl LabelReq {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let got = labels.get(&self.key);
        match self.op {
            Op::Exists => got.is_some(),
            Op::DoesNotExist => got.is_none(),
            Op::Equals | Op::DoubleEquals | Op::In => got.is_some_and(|v| self.values.contains(v)),
            Op::NotEquals | Op::NotIn => got.is_none_or(|v| !self.values.contains(v)),
            Op::Gt | Op::Lt => {
                let Some(have) = got.and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                let want: i64 = self
                    .values
                    .iter()
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                if self.op == Op::Gt {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Not,
    NotEq,
    Eq,
    DoubleEq,
    Gt,
    Lt,
    Comma,
    Open,
    Close,
    In,
    NotIn,
    End,
}

impl Tok {
    fn lit(&self) -> &str {
        match self {
            Tok::Ident(s) => s,
            Tok::Not => "!",
            Tok::NotEq => "!=",
            Tok::Eq => "=",
            Tok::DoubleEq => "==",
            Tok::Gt => ">",
            Tok::Lt => "<",
            Tok::Comma => ",",
            Tok::Open => "(",
            Tok::Close => ")",
            Tok::In => "in",
            Tok::NotIn => "notin",
            Tok::End => "",
        }
    }
}

fn lex(s: &str) -> Vec<Tok> {
    let special = |c: char| "=!(),><".contains(c);
    let chars: Vec<char> = s.chars().collect();
    let mut toks = vec![];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if special(c) {
            let next = chars.get(i + 1).copied();
            let (t, n) = match (c, next) {
                ('!', Some('=')) => (Tok::NotEq, 2),
                ('=', Some('=')) => (Tok::DoubleEq, 2),
                ('!', _) => (Tok::Not, 1),
                ('=', _) => (Tok::Eq, 1),
                ('>', _) => (Tok::Gt, 1),
                ('<', _) => (Tok::Lt, 1),
                (',', _) => (Tok::Comma, 1),
                ('(', _) => (Tok::Open, 1),
                _ => (Tok::Close, 1),
            };
            toks.push(t);
            i += n;
        } else {
            let st = i;
            while i < chars.len() && !chars[i].is_whitespace() && !special(chars[i]) {
                i += 1;
            }
            let w: String = chars[st..i].iter().collect();
            toks.push(match w.as_str() {
                "in" => Tok::In,
                "notin" => Tok::NotIn,
                _ => Tok::Ident(w),
            });
        }
    }
    toks.push(Tok::End);
    toks
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    /// In the "values" context `in`/`notin` are plain identifiers.
    fn lookahead(&self, values: bool) -> Tok {
        let t = self.toks[self.pos.min(self.toks.len() - 1)].clone();
        match t {
            Tok::In | Tok::NotIn if values => Tok::Ident(t.lit().to_string()),
            t => t,
        }
    }

    fn consume(&mut self, values: bool) -> Tok {
        let t = self.lookahead(values);
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn parse(&mut self) -> Result<Vec<LabelReq>, String> {
        let mut reqs = vec![];
        loop {
            match self.lookahead(true) {
                Tok::Ident(_) | Tok::Not => {
                    reqs.push(self.requirement()?);
                    match self.consume(true) {
                        Tok::End => return Ok(reqs),
                        Tok::Comma => {
                            let t = self.lookahead(true);
                            if !matches!(t, Tok::Ident(_) | Tok::Not) {
                                return Err(format!(
                                    "found '{}', expected: identifier after ','",
                                    t.lit()
                                ));
                            }
                        }
                        t => {
                            return Err(format!(
                                "found '{}', expected: ',' or 'end of string'",
                                t.lit()
                            ));
                        }
                    }
                }
                Tok::End => return Ok(reqs),
                t => {
                    return Err(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        t.lit()
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<LabelReq, String> {
        let mut op = None;
        let mut t = self.consume(true);
        if t == Tok::Not {
            op = Some(Op::DoesNotExist);
            t = self.consume(true);
        }
        let Tok::Ident(key) = t else {
            return Err(format!("found '{}', expected: identifier", t.lit()));
        };
        validate_label_key(&key)?;
        if matches!(self.lookahead(true), Tok::End | Tok::Comma) && op.is_none() {
            op = Some(Op::Exists);
        }
        if let Some(op) = op {
            return Ok(LabelReq {
                key,
                op,
                values: BTreeSet::new(),
            });
        }
        let op = match self.consume(false) {
            Tok::In => Op::In,
            Tok::NotIn => Op::NotIn,
            Tok::Eq => Op::Equals,
            Tok::DoubleEq => Op::DoubleEquals,
            Tok::NotEq => Op::NotEquals,
            Tok::Gt => Op::Gt,
            Tok::Lt => Op::Lt,
            t => {
                return Err(format!(
                    "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    t.lit()
                ));
            }
        };
        let values = if matches!(op, Op::In | Op::NotIn) {
            self.values()?
        } else {
            self.exact_value()?
        };
        match op {
            Op::Equals | Op::DoubleEquals | Op::NotEquals if values.len() != 1 => {
                return Err("exact-match compatibility requires one single value".into());
            }
            Op::Gt | Op::Lt
                if values.len() != 1 || values.iter().any(|v| v.parse::<i64>().is_err()) =>
            {
                return Err(format!(
                    "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer: {values:?}"
                ));
            }
            _ => {}
        }
        for v in &values {
            validate_label_value(v)?;
        }
        Ok(LabelReq { key, op, values })
    }

    fn values(&mut self) -> Result<BTreeSet<String>, String> {
        let t = self.consume(true);
        if t != Tok::Open {
            return Err(format!("found '{}' expected: '('", t.lit()));
        }
        match self.lookahead(true) {
            Tok::Ident(_) | Tok::Comma => {
                let s = self.identifiers()?;
                let t = self.consume(true);
                if t != Tok::Close {
                    return Err(format!("found '{}', expected: ')'", t.lit()));
                }
                Ok(s)
            }
            Tok::Close => {
                self.consume(true);
                Ok([String::new()].into())
            }
            t => Err(format!(
                "found '{}', expected: ',', ')' or identifier",
                t.lit()
            )),
        }
    }

    fn identifiers(&mut self) -> Result<BTreeSet<String>, String> {
        let mut s = BTreeSet::new();
        loop {
            match self.consume(true) {
                Tok::Ident(v) => {
                    s.insert(v);
                    match self.lookahead(true) {
                        Tok::Comma => continue,
                        Tok::Close => return Ok(s),
                        t => return Err(format!("found '{}', expected: ',' or ')'", t.lit())),
                    }
                }
                Tok::Comma => {
                    if s.is_empty() {
                        s.insert(String::new());
                    }
                    match self.lookahead(true) {
                        Tok::Close => {
                            s.insert(String::new());
                            return Ok(s);
                        }
                        Tok::Comma => {
                            self.consume(true);
                            s.insert(String::new());
                        }
                        _ => {}
                    }
                }
                t => return Err(format!("found '{}', expected: ',', or identifier", t.lit())),
            }
        }
    }

    fn exact_value(&mut self) -> Result<BTreeSet<String>, String> {
        if matches!(self.lookahead(true), Tok::End | Tok::Comma) {
            return Ok([String::new()].into());
        }
        match self.consume(true) {
            Tok::Ident(v) => Ok([v].into()),
            t => Err(format!("found '{}', expected: identifier", t.lit())),
        }
    }
}

fn parse_label_selector(s: &str) -> Result<Vec<LabelReq>, String> {
    Parser {
        toks: lex(s),
        pos: 0,
    }
    .parse()
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, at most 63 characters.
fn is_qualified_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
}

fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

fn validate_label_key(k: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "unable to parse requirement: key: Invalid value: {k:?}: {why}"
        ))
    };
    let (prefix, name) = match k.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix
        && !is_dns1123_subdomain(p)
    {
        return bad("prefix part must be a lowercase RFC 1123 subdomain");
    }
    if name.contains('/') || !is_qualified_part(name) {
        return bad(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (and be at most 63 characters)",
        );
    }
    Ok(())
}

fn validate_label_value(v: &str) -> Result<(), String> {
    if v.is_empty() || is_qualified_part(v) {
        Ok(())
    } else {
        Err(format!(
            "unable to parse requirement: values[0]: Invalid value: {v:?}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Field selectors: custom resources support only metadata.name and metadata.namespace.

#[derive(Clone, Debug)]
struct FieldReq {
    field: String,
    equal: bool,
    value: String,
}

impl FieldReq {
    fn matches(&self, namespace: &str, name: &str) -> bool {
        let got = if self.field == "metadata.name" {
            name
        } else {
            namespace
        };
        (got == self.value) == self.equal
    }
}

fn parse_field_selector(s: &str) -> Result<Vec<FieldReq>, String> {
    // Split on commas not escaped by a backslash.
    let mut terms = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                terms.last_mut().unwrap().push(c);
                if let Some(n) = chars.next() {
                    terms.last_mut().unwrap().push(n);
                }
            }
            ',' => terms.push(String::new()),
            _ => terms.last_mut().unwrap().push(c),
        }
    }
    let mut out = vec![];
    for term in terms.iter().filter(|t| !t.is_empty()) {
        let split = ["!=", "==", "="]
            .iter()
            .find_map(|op| term.find(op).map(|i| (i, *op)));
        let Some((i, op)) = split else {
            return Err(format!(
                "invalid selector: '{s}'; can't understand '{term}'"
            ));
        };
        let field = term[..i].to_string();
        let raw = &term[i + op.len()..];
        let mut value = String::new();
        let mut it = raw.chars();
        while let Some(c) = it.next() {
            match c {
                '\\' => match it.next() {
                    Some(n @ ('\\' | ',' | '=')) => value.push(n),
                    _ => {
                        return Err(format!(
                            "invalid field selector: invalid escape sequence in {raw:?}"
                        ));
                    }
                },
                ',' | '=' => {
                    return Err(format!(
                        "invalid field selector: unescaped {c:?} in {raw:?}"
                    ));
                }
                _ => value.push(c),
            }
        }
        if field != "metadata.name" && field != "metadata.namespace" {
            return Err(format!("field label not supported: {field}"));
        }
        out.push(FieldReq {
            field,
            equal: op != "!=",
            value,
        });
    }
    Ok(out)
}

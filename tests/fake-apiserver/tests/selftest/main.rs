//! Proves the fake API server behaves like a real kube-apiserver, including to real `kubectl`:
//! over plain HTTP (`api`, `faults`, `serving`), through kube-rs, and driving kubectl itself.

mod api;
mod faults;
mod kubectl;
mod serving;

use fake_apiserver::{FakeApiServer, Options};
use serde_json::{Value, json};

const WL: &str = "/apis/carto.run/v1alpha1/workloads";
/// What kubectl 1.32 sends for `/api` and `/apis`.
const KUBECTL_DISCOVERY_ACCEPT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
const CIC: &str = "/apis/services.apps.tanzu.vmware.com/v1alpha1/clusterinstanceclasses";

fn workload(ns: &str, name: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "carto.run/v1alpha1",
        "kind": "Workload",
        "metadata": { "name": name, "namespace": ns, "labels": labels },
        "spec": { "source": { "git": { "url": format!("https://example.com/{name}.git"), "ref": { "branch": "main" } } } },
        "status": { "conditions": [{ "type": "Ready", "status": "True" }] },
    })
}

fn cic(name: &str) -> Value {
    json!({
        "apiVersion": "services.apps.tanzu.vmware.com/v1alpha1",
        "kind": "ClusterInstanceClass",
        "metadata": { "name": name },
        "spec": { "description": { "short": name } },
    })
}

/// Keys in etcd order: namespace "a-b" sorts before "a" because '-' < '/'.
fn seed() -> Vec<Value> {
    vec![
        workload(
            "dev",
            "web",
            json!({ "app": "x", "tier": "frontend", "apps.tanzu.vmware.com/workload-type": "web" }),
        ),
        workload(
            "dev",
            "api",
            json!({ "app": "y", "tier": "backend", "replicas": "3" }),
        ),
        workload("dev", "worker", json!({ "app": "x", "replicas": "10" })),
        workload("prod", "web", json!({ "app": "x", "tier": "frontend" })),
        workload("a", "one", json!({})),
        workload("a-b", "two", json!({ "app": "z" })),
        cic("postgres"),
        cic("mysql"),
        json!({
            "apiVersion": "tekton.dev/v1beta1",
            "kind": "TaskRun",
            "metadata": { "name": "tr-1", "namespace": "dev" },
            "spec": {},
        }),
    ]
}

fn start(opts: Options) -> FakeApiServer {
    FakeApiServer::start(Options {
        objects: seed(),
        ..opts
    })
}

struct Got {
    status: u16,
    headers: reqwest::header::HeaderMap,
    version: reqwest::Version,
    body: Vec<u8>,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// A blocking HTTP client trusting the server's CA and sending its token.
struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Http {
    fn new(srv: &FakeApiServer) -> Http {
        let mut b = reqwest::Client::builder().no_proxy().use_rustls_tls();
        if !srv.ca_pem.is_empty() {
            let ca = reqwest::Certificate::from_pem(srv.ca_pem.as_bytes()).unwrap();
            b = b.tls_built_in_root_certs(false).add_root_certificate(ca);
        }
        Http {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: b.build().unwrap(),
            base: srv.url.clone(),
            token: srv.token.clone(),
        }
    }

    fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Got {
        let mut rb = self.client.get(format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        self.rt.block_on(async {
            let r = rb.send().await.unwrap();
            let (status, headers, version) =
                (r.status().as_u16(), r.headers().clone(), r.version());
            let body = r.bytes().await.unwrap().to_vec();
            Got {
                status,
                headers,
                version,
                body,
            }
        })
    }

    fn get(&self, path: &str) -> Got {
        self.get_with(path, &[])
    }

    fn ok(&self, path: &str) -> Value {
        let g = self.get(path);
        assert_eq!(
            g.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&g.body)
        );
        assert_eq!(g.headers["content-type"], "application/json");
        g.json()
    }
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let m = &o["metadata"];
            match m["namespace"].as_str() {
                Some(ns) => format!("{ns}/{}", m["name"].as_str().unwrap()),
                None => m["name"].as_str().unwrap().to_string(),
            }
        })
        .collect()
}

fn assert_status(g: &Got, code: u16, reason: &str) -> Value {
    assert_eq!(g.status, code, "{}", String::from_utf8_lossy(&g.body));
    let s = g.json();
    assert_eq!(s["kind"], "Status");
    assert_eq!(s["apiVersion"], "v1");
    assert_eq!(s["status"], "Failure");
    assert_eq!(s["reason"], reason);
    assert_eq!(s["code"], code);
    s
}

//! Proves the fake API server behaves like a real kube-apiserver, including to real `kubectl`.

#[path = "support/fake_apiserver.rs"]
mod fake_apiserver;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fake_apiserver::{FakeApiServer, Fault, Options, write_kubeconfig_multi};
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

#[test]
fn discovery_documents() {
    let srv = start(Options::default());
    let h = Http::new(&srv);

    let v = h.ok("/version");
    assert_eq!(v["major"], "1");
    assert!(v["gitVersion"].as_str().unwrap().starts_with("v1."));
    assert_eq!(v["platform"], "linux/amd64");

    let api = h.ok("/api");
    assert_eq!(api["kind"], "APIVersions");
    assert_eq!(api["versions"], json!(["v1"]));

    let core = h.ok("/api/v1");
    assert_eq!(core["kind"], "APIResourceList");
    assert_eq!(core["groupVersion"], "v1");
    let core_names: Vec<&str> = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(core_names.contains(&"namespaces") && core_names.contains(&"pods"));

    let apis = h.ok("/apis");
    assert_eq!(apis["kind"], "APIGroupList");
    let group = |name: &str| {
        apis["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == name)
            .cloned()
    };
    let carto = group("carto.run").expect("carto.run in /apis");
    assert_eq!(
        carto["preferredVersion"],
        json!({ "groupVersion": "carto.run/v1alpha1", "version": "v1alpha1" })
    );
    let tekton = group("tekton.dev").unwrap();
    assert_eq!(tekton["preferredVersion"]["version"], "v1");
    assert_eq!(
        tekton["versions"],
        json!([{ "groupVersion": "tekton.dev/v1", "version": "v1" }, { "groupVersion": "tekton.dev/v1beta1", "version": "v1beta1" }])
    );
    assert_eq!(
        group("kpack.io").unwrap()["preferredVersion"]["version"],
        "v1alpha2"
    );
    assert_eq!(
        group("source.toolkit.fluxcd.io").unwrap()["preferredVersion"]["version"],
        "v1"
    );
    assert_eq!(
        group("servicebinding.io").unwrap()["preferredVersion"]["version"],
        "v1"
    );
    assert!(group("apiextensions.k8s.io").is_some());

    let g = h.ok("/apis/carto.run");
    assert_eq!(g["kind"], "APIGroup");
    assert_eq!(g["name"], "carto.run");
    assert_eq!(g["preferredVersion"]["version"], "v1alpha1");

    let rl = h.ok("/apis/carto.run/v1alpha1");
    assert_eq!(rl["kind"], "APIResourceList");
    assert_eq!(rl["groupVersion"], "carto.run/v1alpha1");
    let res = |rl: &Value, name: &str| {
        rl["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
    };
    let w = res(&rl, "workloads").unwrap();
    assert_eq!(w["singularName"], "workload");
    assert_eq!(w["namespaced"], true);
    assert_eq!(w["kind"], "Workload");
    for verb in ["get", "list", "watch"] {
        assert!(w["verbs"].as_array().unwrap().contains(&json!(verb)));
    }
    assert!(
        res(&rl, "workloads/status").is_some(),
        "status subresource listed like a real CRD"
    );
    assert!(res(&rl, "deliverables").is_some());

    let ksvc = res(&h.ok("/apis/serving.knative.dev/v1"), "services").unwrap();
    assert_eq!(ksvc["shortNames"], json!(["kservice", "ksvc"]));
    let cic = res(
        &h.ok("/apis/services.apps.tanzu.vmware.com/v1alpha1"),
        "clusterinstanceclasses",
    )
    .unwrap();
    assert_eq!(cic["namespaced"], false);
    assert!(res(&h.ok("/apis/tekton.dev/v1beta1"), "taskruns").is_some());

    assert_status(&h.get("/apis/nope.example.com"), 404, "NotFound");
    assert_status(&h.get("/apis/carto.run/v9"), 404, "NotFound");
    assert_status(&h.get("/apis/carto.run/v1alpha1/nopes"), 404, "NotFound");

    // Aggregated discovery for clients that ask for it, plain JSON for the others.
    let agg = h.get_with("/apis", &[("accept", KUBECTL_DISCOVERY_ACCEPT)]);
    assert_eq!(agg.status, 200);
    assert_eq!(
        agg.headers["content-type"],
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
    let agg = agg.json();
    assert_eq!(agg["kind"], "APIGroupDiscoveryList");
    assert_eq!(agg["apiVersion"], "apidiscovery.k8s.io/v2");
    let tk = agg["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["metadata"]["name"] == "tekton.dev")
        .unwrap();
    assert_eq!(tk["versions"][0]["version"], "v1", "preferred first");
    let tr = &tk["versions"][0]["resources"][0];
    assert_eq!(tr["resource"], "taskruns");
    assert_eq!(tr["scope"], "Namespaced");
    assert_eq!(
        tr["responseKind"],
        json!({ "group": "tekton.dev", "version": "v1", "kind": "TaskRun" })
    );
    assert_eq!(tr["subresources"][0]["subresource"], "status");
    let core = h
        .get_with("/api", &[("accept", KUBECTL_DISCOVERY_ACCEPT)])
        .json();
    assert_eq!(core["items"][0]["versions"][0]["version"], "v1");
    let plain = h.get_with("/apis", &[("accept", "application/json, */*")]);
    assert_eq!(plain.headers["content-type"], "application/json");
    assert_eq!(plain.json()["kind"], "APIGroupList");
    let v2beta1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";
    assert_eq!(
        h.get_with("/apis", &[("accept", v2beta1)]).json()["apiVersion"],
        "apidiscovery.k8s.io/v2beta1"
    );

    // CRDs are listable like in a real cluster.
    let crds = h.ok("/apis/apiextensions.k8s.io/v1/customresourcedefinitions");
    assert_eq!(crds["kind"], "CustomResourceDefinitionList");
    assert!(names(&crds).contains(&"workloads.carto.run".to_string()));
}

#[test]
fn lists_cluster_wide_namespaced_and_single_objects() {
    let srv = start(Options::default());
    let h = Http::new(&srv);

    let all = h.ok(WL);
    assert_eq!(all["kind"], "WorkloadList");
    assert_eq!(all["apiVersion"], "carto.run/v1alpha1");
    assert!(
        all["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    assert!(all["metadata"].get("continue").is_none());
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
    let first = &all["items"][0];
    assert_eq!(first["apiVersion"], "carto.run/v1alpha1");
    assert_eq!(first["kind"], "Workload");
    assert!(
        first["metadata"]["uid"].is_string() && first["metadata"]["creationTimestamp"].is_string()
    );

    let dev = h.ok("/apis/carto.run/v1alpha1/namespaces/dev/workloads");
    assert_eq!(names(&dev), ["dev/api", "dev/web", "dev/worker"]);
    assert_eq!(
        h.ok("/apis/carto.run/v1alpha1/namespaces/empty/workloads")["items"],
        json!([])
    );

    assert_eq!(names(&h.ok(CIC)), ["mysql", "postgres"]);
    assert_status(
        &h.get(
            "/apis/services.apps.tanzu.vmware.com/v1alpha1/namespaces/dev/clusterinstanceclasses",
        ),
        404,
        "NotFound",
    );

    let one = h.ok("/apis/carto.run/v1alpha1/namespaces/dev/workloads/web");
    assert_eq!(one["metadata"]["labels"]["tier"], "frontend");
    assert_eq!(h.ok(&format!("{CIC}/mysql"))["metadata"]["name"], "mysql");
    let missing = assert_status(
        &h.get("/apis/carto.run/v1alpha1/namespaces/dev/workloads/nope"),
        404,
        "NotFound",
    );
    assert_eq!(
        missing["message"],
        r#"workloads.carto.run "nope" not found"#
    );
    assert_eq!(
        missing["details"],
        json!({ "name": "nope", "group": "carto.run", "kind": "workloads" })
    );

    // Seeded as v1beta1, served as whatever version is asked for.
    for v in ["v1", "v1beta1"] {
        let trs = h.ok(&format!("/apis/tekton.dev/{v}/taskruns"));
        assert_eq!(trs["apiVersion"], format!("tekton.dev/{v}"));
        assert_eq!(trs["items"][0]["apiVersion"], format!("tekton.dev/{v}"));
    }

    // Namespaces of seeded objects exist, plus the usual system ones.
    let ns = names(&h.ok("/api/v1/namespaces"));
    for n in ["a", "a-b", "default", "dev", "kube-system", "prod"] {
        assert!(ns.contains(&n.to_string()), "{n} in {ns:?}");
    }
    assert_eq!(h.ok("/api/v1/namespaces/dev")["status"]["phase"], "Active");
    assert_eq!(h.ok("/api/v1/namespaces/dev/pods")["kind"], "PodList");
}

#[test]
fn pagination_follows_continue_tokens() {
    let srv = start(Options::default());
    let h = Http::new(&srv);
    let mut got = vec![];
    let mut remaining = vec![];
    let mut path = format!("{WL}?limit=2");
    let mut rv = None;
    loop {
        let page = h.ok(&path);
        assert!(page["items"].as_array().unwrap().len() <= 2);
        got.extend(names(&page));
        let md = &page["metadata"];
        assert_eq!(
            *rv.get_or_insert(md["resourceVersion"].clone()),
            md["resourceVersion"]
        );
        match md["continue"].as_str() {
            Some(c) => {
                remaining.push(md["remainingItemCount"].as_u64().unwrap());
                path = format!("{WL}?limit=2&continue={c}");
            }
            None => {
                assert!(md.get("remainingItemCount").is_none());
                break;
            }
        }
    }
    assert_eq!(got, names(&h.ok(WL)));
    assert_eq!(remaining, [4, 2]);

    // The last page is exactly full: no continue, as etcd reports no more keys.
    let p = h.ok("/apis/carto.run/v1alpha1/namespaces/dev/workloads?limit=3");
    assert_eq!(p["items"].as_array().unwrap().len(), 3);
    assert!(p["metadata"].get("continue").is_none());

    // limit=0 means no limit; resourceVersion=0 is served from the cache, which ignores limit.
    assert_eq!(
        h.ok(&format!("{WL}?limit=0"))["items"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    assert_eq!(
        h.ok(&format!("{WL}?limit=1&resourceVersion=0"))["items"]
            .as_array()
            .unwrap()
            .len(),
        6
    );

    // Namespaced paging uses tokens relative to the namespace.
    let p1 = h.ok("/apis/carto.run/v1alpha1/namespaces/dev/workloads?limit=1");
    let c = p1["metadata"]["continue"].as_str().unwrap().to_string();
    let p2 = h.ok(&format!(
        "/apis/carto.run/v1alpha1/namespaces/dev/workloads?limit=5&continue={c}"
    ));
    assert_eq!(names(&p2), ["dev/web", "dev/worker"]);

    let bad = assert_status(
        &h.get(&format!("{WL}?limit=1&continue=not-a-token")),
        400,
        "BadRequest",
    );
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid continue token"),
        "{bad}"
    );
    assert_status(
        &h.get(&format!("{WL}?limit=1&continue={c}&resourceVersion=5")),
        422,
        "Invalid",
    );

    let logged = srv.requests_to(WL);
    assert!(
        logged
            .iter()
            .any(|r| r.param("limit").as_deref() == Some("2") && r.param("continue").is_some())
    );
}

#[test]
fn label_and_field_selectors() {
    let srv = start(Options::default());
    let h = Http::new(&srv);
    let sel = |s: &str| {
        let q: String =
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        names(&h.ok(&format!("{WL}?labelSelector={q}")))
    };
    assert_eq!(sel("app=x"), ["dev/web", "dev/worker", "prod/web"]);
    assert_eq!(sel("app==x"), sel("app=x"));
    assert_eq!(sel("app!=x"), ["a-b/two", "a/one", "dev/api"]);
    assert_eq!(sel("tier"), ["dev/api", "dev/web", "prod/web"]);
    assert_eq!(sel("!tier"), ["a-b/two", "a/one", "dev/worker"]);
    assert_eq!(sel("app in (y, z)"), ["a-b/two", "dev/api"]);
    assert_eq!(sel("app notin (x,y)"), ["a-b/two", "a/one"]);
    assert_eq!(sel("app=x,tier=frontend"), ["dev/web", "prod/web"]);
    assert_eq!(sel(" app = x , !tier "), ["dev/worker"]);
    assert_eq!(sel("apps.tanzu.vmware.com/workload-type=web"), ["dev/web"]);
    assert_eq!(sel("replicas>5"), ["dev/worker"]);
    assert_eq!(sel("replicas<5"), ["dev/api"]);
    assert_eq!(sel(""), names(&h.ok(WL)));
    // '+' is a space in a query string, as kubectl encodes it.
    assert_eq!(
        names(&h.ok(&format!("{WL}?labelSelector=app+in+(y)"))),
        ["dev/api"]
    );

    for bad in [
        "app=",
        "=x",
        "app in x",
        "app in (x",
        "app=x,",
        "a b",
        "app=x y",
        "app>x",
        "-bad=x",
    ] {
        let q: String =
            percent_encoding::utf8_percent_encode(bad, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        let g = h.get(&format!("{WL}?labelSelector={q}"));
        if bad == "app=" {
            assert_eq!(g.status, 200, "empty value is valid");
            continue;
        }
        assert_status(&g, 400, "BadRequest");
    }

    // Paged with a selector: pages fill up to the limit; no remainingItemCount.
    let p = h.ok(&format!("{WL}?limit=2&labelSelector=app%3Dx"));
    assert_eq!(names(&p), ["dev/web", "dev/worker"]);
    assert!(p["metadata"]["continue"].is_string());
    assert!(p["metadata"].get("remainingItemCount").is_none());

    let fs = |s: &str| names(&h.ok(&format!("{WL}?fieldSelector={s}")));
    assert_eq!(fs("metadata.name=web"), ["dev/web", "prod/web"]);
    assert_eq!(
        fs("metadata.namespace==dev,metadata.name!=web"),
        ["dev/api", "dev/worker"]
    );
    let bad = assert_status(
        &h.get(&format!("{WL}?fieldSelector=spec.image%3Dx")),
        400,
        "BadRequest",
    );
    assert_eq!(bad["message"], "field label not supported: spec.image");
}

#[test]
fn bearer_token_is_required_when_configured() {
    let srv = start(Options {
        token: Some("s3cret".into()),
        ..Options::default()
    });
    let good = Http::new(&srv);
    assert_eq!(good.ok(WL)["items"].as_array().unwrap().len(), 6);

    let mut anon = Http::new(&srv);
    anon.token = None;
    for path in ["/version", "/apis", WL] {
        let g = anon.get(path);
        assert_eq!(g.status, 401);
        assert_eq!(
            String::from_utf8(g.body).unwrap(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#
        );
    }
    anon.token = Some("wrong".into());
    assert_status(&anon.get(WL), 401, "Unauthorized");

    let log = srv.requests();
    assert!(
        log.iter()
            .any(|r| r.authorized && r.authorization.as_deref() == Some("Bearer s3cret"))
    );
    assert!(
        log.iter()
            .any(|r| !r.authorized && r.authorization.is_none() && r.status == 401)
    );
    assert!(
        log.iter()
            .any(|r| !r.authorized && r.authorization.as_deref() == Some("Bearer wrong"))
    );
}

#[test]
fn fault_forbidden() {
    let srv = start(Options {
        faults: vec![("workloads.carto.run".into(), Fault::Forbidden)],
        ..Options::default()
    });
    let h = Http::new(&srv);
    let s = assert_status(&h.get(WL), 403, "Forbidden");
    assert_eq!(
        s["message"],
        r#"workloads.carto.run is forbidden: User "system:serviceaccount:tap:tap-metrics" cannot list resource "workloads" in API group "carto.run" at the cluster scope"#
    );
    assert_eq!(
        s["details"],
        json!({ "group": "carto.run", "kind": "workloads" })
    );
    let s = assert_status(
        &h.get("/apis/carto.run/v1alpha1/namespaces/dev/workloads"),
        403,
        "Forbidden",
    );
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .ends_with(r#"in API group "carto.run" in the namespace "dev""#)
    );
    // Still discoverable, and other resources are unaffected.
    assert!(
        h.ok("/apis/carto.run/v1alpha1")
            .to_string()
            .contains(r#""name":"workloads""#)
    );
    assert_eq!(h.ok(CIC)["items"].as_array().unwrap().len(), 2);
}

#[test]
fn fault_not_found_hides_the_crd() {
    let srv = start(Options {
        faults: vec![
            ("workloads".into(), Fault::NotFound),
            ("clusterinstanceclasses".into(), Fault::NotFound),
            ("classclaims".into(), Fault::NotFound),
            ("resourceclaims".into(), Fault::NotFound),
        ],
        ..Options::default()
    });
    let h = Http::new(&srv);
    assert_status(&h.get(WL), 404, "NotFound");
    let rl = h.ok("/apis/carto.run/v1alpha1");
    assert!(!rl.to_string().contains("\"workloads"), "{rl}");
    assert!(rl.to_string().contains("\"deliverables\""));
    // A group left with no resources vanishes entirely.
    assert!(
        !h.ok("/apis")
            .to_string()
            .contains("services.apps.tanzu.vmware.com")
    );
    assert_status(
        &h.get("/apis/services.apps.tanzu.vmware.com"),
        404,
        "NotFound",
    );
    assert_status(
        &h.get("/apis/services.apps.tanzu.vmware.com/v1alpha1"),
        404,
        "NotFound",
    );
    let crds = names(&h.ok("/apis/apiextensions.k8s.io/v1/customresourcedefinitions"));
    assert!(!crds.contains(&"workloads.carto.run".to_string()));
    assert!(crds.contains(&"deliverables.carto.run".to_string()));
}

#[test]
fn fault_gone_on_continue() {
    let srv = start(Options {
        faults: vec![("workloads".into(), Fault::GoneOnContinue)],
        ..Options::default()
    });
    let h = Http::new(&srv);
    let c = h.ok(&format!("{WL}?limit=2"))["metadata"]["continue"]
        .as_str()
        .unwrap()
        .to_string();
    let s = assert_status(
        &h.get(&format!("{WL}?limit=2&continue={c}")),
        410,
        "Expired",
    );
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .starts_with("The provided continue parameter is too old")
    );
    // Like etcd compaction: the Status carries a token to continue, inconsistently, at the latest version.
    let fresh = s["metadata"]["continue"].as_str().unwrap();
    assert_eq!(
        names(&h.ok(&format!("{WL}?limit=10&continue={fresh}"))),
        ["dev/api", "dev/web", "dev/worker", "prod/web"]
    );
    // Only the first continue fails.
    assert_eq!(
        h.ok(&format!("{WL}?limit=2&continue={c}"))["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn fault_too_many_requests_then_success() {
    let srv = start(Options {
        faults: vec![(
            "workloads".into(),
            Fault::TooManyRequests {
                retry_after_secs: 2,
                times: 2,
            },
        )],
        ..Options::default()
    });
    let h = Http::new(&srv);
    for _ in 0..2 {
        let g = h.get(WL);
        assert_eq!(g.headers["retry-after"], "2");
        let s = assert_status(&g, 429, "TooManyRequests");
        assert_eq!(s["details"]["retryAfterSeconds"], 2);
    }
    h.ok(WL);
    let statuses: Vec<u16> = srv.requests_to(WL).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 429, 200]);
}

#[test]
fn fault_server_error_then_success() {
    let srv = start(Options {
        faults: vec![(
            "workloads.carto.run".into(),
            Fault::ServerError { times: 1 },
        )],
        ..Options::default()
    });
    let h = Http::new(&srv);
    assert_status(&h.get(WL), 500, "InternalError");
    h.ok(WL);
}

#[test]
fn fault_slow() {
    let srv = start(Options {
        faults: vec![("workloads".into(), Fault::Slow(Duration::from_millis(400)))],
        ..Options::default()
    });
    let h = Http::new(&srv);
    let t = Instant::now();
    h.ok(CIC);
    assert!(t.elapsed() < Duration::from_millis(400));
    let t = Instant::now();
    h.ok(WL);
    assert!(t.elapsed() >= Duration::from_millis(400));
}

#[test]
fn fault_not_json() {
    let srv = start(Options {
        faults: vec![("workloads".into(), Fault::NotJson)],
        ..Options::default()
    });
    let h = Http::new(&srv);
    let g = h.get(WL);
    assert_eq!(g.status, 200);
    assert_eq!(g.headers["content-type"], "text/html; charset=utf-8");
    assert!(g.body.starts_with(b"<!DOCTYPE html>"));
    assert!(serde_json::from_slice::<Value>(&g.body).is_err());
    // Only lists: other resources and discovery are unaffected.
    h.ok(CIC);
    h.ok("/apis/carto.run/v1alpha1");
}

#[test]
fn fault_error_body() {
    let srv = start(Options {
        faults: vec![(
            "workloads".into(),
            Fault::ErrorBody {
                status: 403,
                content_type: "text/html".into(),
                body: "<html>\r\n<title>403 Forbidden</title>\r\n".into(),
            },
        )],
        ..Options::default()
    });
    let h = Http::new(&srv);
    let g = h.get(WL);
    assert_eq!(g.status, 403);
    assert_eq!(g.headers["content-type"], "text/html");
    assert_eq!(g.body, b"<html>\r\n<title>403 Forbidden</title>\r\n");
    h.ok(CIC);
}

#[test]
fn fault_bad_items() {
    for items in [json!({ "a": 1 }), json!("x"), json!([1, "a"])] {
        let srv = start(Options {
            faults: vec![("workloads".into(), Fault::BadItems(items.clone()))],
            ..Options::default()
        });
        let list = Http::new(&srv).ok(WL);
        assert_eq!(list["items"], items);
        assert_eq!(list["kind"], "WorkloadList");
        assert_eq!(list["apiVersion"], "carto.run/v1alpha1");
        assert!(list["metadata"]["resourceVersion"].is_string());
        assert_eq!(names(&Http::new(&srv).ok(CIC)), ["mysql", "postgres"]);
    }
}

#[test]
fn fault_cut_short_then_success() {
    let srv = start(Options {
        faults: vec![("workloads".into(), Fault::CutShort { times: 2 })],
        ..Options::default()
    });
    let whole = Http::new(&srv).ok(CIC);
    assert_eq!(names(&whole).len(), 2);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ca = reqwest::Certificate::from_pem(srv.ca_pem.as_bytes()).unwrap();
    // Over HTTP/1.1 the connection closes before the announced length; over
    // HTTP/2 the stream is reset. Either way the headers and part of the body came.
    for http1 in [true, false] {
        let mut b = reqwest::Client::builder()
            .no_proxy()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca.clone());
        if http1 {
            b = b.http1_only();
        }
        let client = b.build().unwrap();
        rt.block_on(async {
            let mut r = client.get(format!("{}{WL}", srv.url)).send().await.unwrap();
            assert_eq!(r.status(), 200);
            let announced: usize = r.headers()["content-length"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            let mut got = 0;
            let err = loop {
                match r.chunk().await {
                    Ok(Some(c)) => got += c.len(),
                    Ok(None) => panic!("the whole body came (http1: {http1})"),
                    Err(e) => break e,
                }
            };
            assert!(err.is_body() || err.is_decode(), "{err:?}");
            assert!(got > 0 && got < announced, "{got} of {announced}");
        });
    }
    // Then whole again.
    assert_eq!(names(&Http::new(&srv).ok(WL)).len(), 6);
}

#[test]
fn tls_is_verified_with_the_generated_ca_and_speaks_h2() {
    let srv = start(Options::default());
    assert!(srv.url.starts_with("https://127.0.0.1:"));
    assert!(srv.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let h = Http::new(&srv);
    let g = h.get("/version");
    assert_eq!(g.status, 200);
    assert_eq!(g.version, reqwest::Version::HTTP_2, "ALPN should pick h2");

    // "localhost" is in the certificate too.
    let mut by_name = Http::new(&srv);
    by_name.base = srv.url.replace("127.0.0.1", "localhost");
    assert_eq!(by_name.get("/version").status, 200);

    // Without the CA the certificate is rejected.
    let untrusted = reqwest::Client::builder()
        .no_proxy()
        .use_rustls_tls()
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt
        .block_on(untrusted.get(format!("{}/version", srv.url)).send())
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");

    // HTTP/1.1 only clients work too.
    let h1 = reqwest::Client::builder()
        .no_proxy()
        .use_rustls_tls()
        .http1_only()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(srv.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let r = rt
        .block_on(h1.get(format!("{}/version", srv.url)).send())
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_11);
}

#[test]
fn plain_http_when_tls_is_off() {
    let srv = start(Options {
        tls: false,
        ..Options::default()
    });
    assert!(srv.url.starts_with("http://127.0.0.1:"));
    assert!(srv.ca_pem.is_empty());
    assert_eq!(Http::new(&srv).ok(WL)["items"].as_array().unwrap().len(), 6);
}

#[test]
fn large_responses_are_gzipped_for_clients_that_ask() {
    let objects: Vec<Value> = (0..400)
        .map(|i| {
            let mut w = workload("bulk", &format!("w-{i:04}"), json!({ "app": "bulk" }));
            w["spec"]["padding"] = json!("x".repeat(600));
            w
        })
        .collect();
    let srv = FakeApiServer::start(Options {
        objects,
        ..Options::default()
    });
    let h = Http::new(&srv);
    let plain = h.get(WL);
    assert!(plain.headers.get("content-encoding").is_none());
    assert!(plain.body.len() > 128 * 1024);
    let gz = h.get_with(WL, &[("accept-encoding", "gzip")]);
    assert_eq!(gz.headers["content-encoding"], "gzip");
    let mut out = vec![];
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz.body[..]), &mut out).unwrap();
    assert_eq!(out, plain.body);
    // Small responses are not compressed.
    let small = h.get_with(CIC, &[("accept-encoding", "gzip")]);
    assert!(small.headers.get("content-encoding").is_none());
}

#[test]
fn load_objects_reads_lists_and_multi_document_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("objs.yaml");
    std::fs::write(
        &yaml,
        "apiVersion: carto.run/v1alpha1\nkind: Workload\nmetadata: {name: a, namespace: dev}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: services.apps.tanzu.vmware.com/v1alpha1\n  kind: ClusterInstanceClass\n  metadata: {name: c}\n",
    )
    .unwrap();
    let objs = FakeApiServer::load_objects(&yaml);
    assert_eq!(objs.len(), 2);
    let json_list = dir.path().join("list.json");
    std::fs::write(
        &json_list,
        json!({ "apiVersion": "v1", "kind": "List", "items": seed() }).to_string(),
    )
    .unwrap();
    assert_eq!(FakeApiServer::load_objects(&json_list), seed());

    let srv = FakeApiServer::start(Options {
        objects: objs,
        ..Options::default()
    });
    assert_eq!(names(&Http::new(&srv).ok(WL)), ["dev/a"]);

    // The shared realistic fixtures, when another helper has written them.
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tap-objects.yaml");
    if fixtures.exists() {
        let objs = FakeApiServer::load_objects(&fixtures);
        assert!(!objs.is_empty());
        let _srv = FakeApiServer::start(Options {
            objects: objs,
            ..Options::default()
        });
    }
}

// ---------------------------------------------------------------------------------------------
// kubectl end to end

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

/// The plugin's client stack (kube-rs, rustls) reads the kubeconfig and talks to the server.
#[test]
fn kube_rs_client_works_through_the_kubeconfig() {
    use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
    let srv = start(Options {
        token: Some("kube-rs".into()),
        ..Options::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    srv.write_kubeconfig(&path, "fake");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let kc = kube::config::Kubeconfig::read_from(&path).unwrap();
        let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap();
        let client = kube::Client::try_from(cfg).unwrap();
        let v = client.apiserver_version().await.unwrap();
        assert_eq!(v.git_version, fake_apiserver::SERVER_GIT_VERSION);
        let groups = client.list_api_groups().await.unwrap();
        assert!(groups.groups.iter().any(|g| g.name == "carto.run"));
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("carto.run", "v1alpha1", "Workload"),
            "workloads",
        );
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let page = api.list(&ListParams::default().limit(4)).await.unwrap();
        assert_eq!(page.items.len(), 4);
        let rest = api
            .list(
                &ListParams::default()
                    .limit(4)
                    .continue_token(page.metadata.continue_.as_deref().unwrap()),
            )
            .await
            .unwrap();
        assert_eq!(rest.items.len(), 2);
        assert_eq!(page.metadata.remaining_item_count, Some(2));
        let dev: Api<DynamicObject> = Api::namespaced_with(client, "dev", &ar);
        assert_eq!(
            dev.list(&ListParams::default().labels("app=x"))
                .await
                .unwrap()
                .items
                .len(),
            2
        );
    });
    assert!(srv.requests().iter().all(|r| r.authorized));
}

//! Discovery, lists, paging, selectors and auth over plain HTTP.

use fake_apiserver::Options;
use serde_json::{Value, json};

use crate::{CIC, Http, KUBECTL_DISCOVERY_ACCEPT, WL, assert_status, names, start};

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

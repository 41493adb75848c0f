//! TLS, HTTP/2, plain HTTP, gzip, loading fixtures, and the plugin's kube-rs client stack.

use std::path::Path;

use fake_apiserver::{FakeApiServer, Options};
use serde_json::{Value, json};

use crate::{CIC, Http, WL, names, seed, start, workload};

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
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/tap-objects.yaml");
    if fixtures.exists() {
        let objs = FakeApiServer::load_objects(&fixtures);
        assert!(!objs.is_empty());
        let _srv = FakeApiServer::start(Options {
            objects: objs,
            ..Options::default()
        });
    }
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

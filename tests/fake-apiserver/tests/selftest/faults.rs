//! Every injectable fault, as a client sees it.

use std::time::{Duration, Instant};

use fake_apiserver::{Fault, Options};
use serde_json::{Value, json};

use crate::{CIC, Http, WL, assert_status, names, start};

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

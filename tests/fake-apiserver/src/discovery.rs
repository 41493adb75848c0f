//! Routing, and legacy discovery: `/version`, `/api`, `/apis`, `/apis/GROUP`, and the
//! resource list of each group version.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use http_body_util::Full;
use hyper::Response;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use serde_json::{Map, Value, json};

use crate::lists::resource_request;
use crate::serve::{Resp, json_response, not_found_path};
use crate::state::{Resource, State, fnv};
use crate::{Request, SERVER_GIT_VERSION};

/// Answers one authorized GET.
pub(crate) async fn route(state: &State, req: &Request) -> Resp {
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
        #[cfg(feature = "kubectl")]
        ["api" | "apis"]
            if state.aggregated_discovery && crate::kubectl::aggregated_accept(req).is_some() =>
        {
            let version = crate::kubectl::aggregated_accept(req).unwrap();
            crate::kubectl::aggregated_discovery(state, segs[0] == "api", version)
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

/// Sort key for Kubernetes version priority: GA > beta > alpha, higher numbers first,
/// non-Kubernetes-style versions last by name.
pub(crate) fn version_priority(v: &str) -> (u8, i64, i64, String) {
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

pub(crate) fn storage_version_hash(r: &Resource) -> String {
    let h = fnv(format!("{}/{}/{}", r.group, r.versions[0], r.kind).as_bytes());
    B64.encode(h.to_be_bytes())
}

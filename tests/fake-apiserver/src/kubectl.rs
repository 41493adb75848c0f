//! What only kubectl asks of the server (the `kubectl` feature): aggregated discovery,
//! field selectors and CustomResourceDefinition objects. The plugin reads none of them; the
//! selftest needs them to prove the server faithful with the real kubectl.

use hyper::header::{CONTENT_TYPE, HeaderValue};
use serde_json::{Map, Value, json};

use crate::Request;
use crate::serve::{Resp, json_response};
use crate::state::{Resource, State, obj_name};

/// apiextensions.k8s.io CustomResourceDefinitions, served like a built-in kind.
pub(crate) fn crd_resource() -> Resource {
    Resource::builtin(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        &["crd", "crds"],
        &["api-extensions"],
    )
}

/// Adds a CRD object for every served (not hidden) CRD that was not seeded explicitly.
pub(crate) fn seed_crd_objects(resources: &[Resource], seeded: &mut [Vec<Map<String, Value>>]) {
    let crd_idx = resources
        .iter()
        .position(|r| r.plural == "customresourcedefinitions")
        .unwrap();
    let have: std::collections::BTreeSet<String> = seeded[crd_idx]
        .iter()
        .map(|m| obj_name(m).to_string())
        .collect();
    for r in resources.iter().filter(|r| r.is_crd && !r.hidden) {
        if !have.contains(&r.qualified()) {
            seeded[crd_idx].push(crd_object(r));
        }
    }
}

/// The aggregated-discovery version (`v2` or `v2beta1`) the client's Accept asks for first,
/// if it prefers one to plain JSON.
pub(crate) fn aggregated_accept(req: &Request) -> Option<&'static str> {
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
pub(crate) fn aggregated_discovery(state: &State, core: bool, version: &str) -> Resp {
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

// Field selectors: custom resources support only metadata.name and metadata.namespace.

#[derive(Clone, Debug)]
pub(crate) struct FieldReq {
    field: String,
    equal: bool,
    value: String,
}

impl FieldReq {
    pub(crate) fn matches(&self, namespace: &str, name: &str) -> bool {
        let got = if self.field == "metadata.name" {
            name
        } else {
            namespace
        };
        (got == self.value) == self.equal
    }
}

pub(crate) fn parse_field_selector(s: &str) -> Result<Vec<FieldReq>, String> {
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

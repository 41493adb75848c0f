//! Reading objects: `get`, and `list` with `limit`/`continue` paging (continue tokens in the
//! apiserver's own format) and label selectors.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde_json::{Value, json};

use crate::Request;
use crate::faults::{self, Fault, FaultState, ListFault};
use crate::labels::parse_label_selector;
use crate::serve::{CutShort, Resp, bad_request, json_response, not_found_path, status_response};
use crate::state::{Entry, Resource, State};

#[cfg(feature = "kubectl")]
use crate::kubectl::parse_field_selector;

/// Without the `kubectl` feature no field selector is served: the server rejects any.
#[cfg(not(feature = "kubectl"))]
enum NoFieldSelector {}

#[cfg(not(feature = "kubectl"))]
impl NoFieldSelector {
    fn matches(&self, _namespace: &str, _name: &str) -> bool {
        match *self {}
    }
}

#[cfg(not(feature = "kubectl"))]
fn parse_field_selector(s: &str) -> Result<Vec<NoFieldSelector>, String> {
    if s.is_empty() {
        Ok(vec![])
    } else {
        Err("fake apiserver: field selectors are served with the kubectl feature".into())
    }
}

/// `[plural]`, `[plural, name]`, `[namespaces, ns, plural]`, `[namespaces, ns, plural, name]`
/// (each optionally followed by `/status`).
pub(crate) async fn resource_request(
    state: &State,
    req: &Request,
    g: &str,
    v: &str,
    rest: &[&str],
) -> Resp {
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
        return faults::forbidden(r, verb, namespace, name);
    }
    if let Some(n) = name {
        return get_object(state, ri, r, v, namespace.unwrap_or(""), n);
    }
    match faults::on_list(state, r, v, &faults).await {
        ListFault::Answer(resp) => resp,
        ListFault::CutShort => {
            let mut resp = list_objects(state, ri, r, v, namespace, &params, &faults);
            resp.extensions_mut().insert(CutShort);
            resp
        }
        ListFault::Pass => list_objects(state, ri, r, v, namespace, &params, &faults),
    }
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
        if let Some(gone) = faults::gone_on_continue(faults, &key) {
            return gone;
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

pub(crate) fn encode_continue(start: &str, rv: i64) -> String {
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
pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
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

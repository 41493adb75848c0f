//! Injectable failures: the `Fault` catalogue and the answers it produces.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use http_body_util::Full;
use hyper::Response;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};

use crate::lists::encode_continue;
use crate::serve::{Resp, json_response, status_body, status_response};
use crate::state::{Resource, State};

/// The user named in `Forbidden` messages, as a real RBAC denial names the caller.
pub const FORBIDDEN_USER: &str = "system:serviceaccount:tap:tap-metrics";

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

/// A fault injected for one resource, with what it has left to do.
pub(crate) struct FaultState {
    pub(crate) key: String,
    pub(crate) fault: Fault,
    remaining: AtomicU32,
    fired: AtomicBool,
}

impl FaultState {
    pub(crate) fn new(key: &str, fault: &Fault) -> FaultState {
        FaultState {
            key: key.to_string(),
            fault: fault.clone(),
            remaining: AtomicU32::new(match fault {
                Fault::TooManyRequests { times, .. }
                | Fault::ServerError { times }
                | Fault::CutShort { times } => *times,
                _ => 0,
            }),
            fired: AtomicBool::new(false),
        }
    }

    /// Whether the key (`plural` or `plural.group`) names this resource.
    pub(crate) fn matches(&self, r: &Resource) -> bool {
        self.key == r.plural
            || (!r.group.is_empty() && self.key == format!("{}.{}", r.plural, r.group))
    }
}

/// What the faults on a resource make of one list request.
pub(crate) enum ListFault {
    /// Answer this instead of the list.
    Answer(Resp),
    /// Serve the list, cut short half-way.
    CutShort,
    /// Serve the list.
    Pass,
}

/// Applies `Slow`, then the first fault that fires on this list.
pub(crate) async fn on_list(
    state: &State,
    r: &Resource,
    v: &str,
    faults: &[&FaultState],
) -> ListFault {
    for f in faults {
        if let Fault::Slow(d) = f.fault {
            tokio::time::sleep(d).await;
        }
    }
    for f in faults {
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
                return ListFault::Answer(resp);
            }
            Fault::ServerError { .. } if take_one(&f.remaining) => {
                return ListFault::Answer(status_response(
                    500,
                    "InternalError",
                    "Internal error occurred: fake apiserver injected failure",
                    Some(json!({ "causes": [{ "message": "fake apiserver injected failure" }] })),
                ));
            }
            Fault::NotJson => return ListFault::Answer(html_page()),
            Fault::BadItems(ref items) => {
                return ListFault::Answer(bad_items_list(state, r, v, items));
            }
            Fault::ErrorBody {
                status,
                ref content_type,
                ref body,
            } => {
                let mut resp = json_response(status, body.clone());
                if let Ok(ct) = HeaderValue::from_str(content_type) {
                    resp.headers_mut().insert(CONTENT_TYPE, ct);
                }
                return ListFault::Answer(resp);
            }
            Fault::CutShort { .. } if take_one(&f.remaining) => {
                return ListFault::CutShort;
            }
            _ => {}
        }
    }
    ListFault::Pass
}

/// `Fault::GoneOnContinue`: the first continued list is told its token expired, with a fresh
/// token that restarts from `key`, as after an etcd compaction.
pub(crate) fn gone_on_continue(faults: &[&FaultState], key: &str) -> Option<Resp> {
    for f in faults.iter().filter(|f| f.fault == Fault::GoneOnContinue) {
        if !f.fired.swap(true, Ordering::SeqCst) {
            let fresh = encode_continue(key, -1);
            let msg = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";
            return Some(json_response(
                410,
                status_body(410, "Expired", msg, None, Some(&fresh)),
            ));
        }
    }
    None
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

pub(crate) fn forbidden(
    r: &Resource,
    verb: &str,
    namespace: Option<&str>,
    name: Option<&str>,
) -> Resp {
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

//! Serving: the accept loop (TLS or plain, HTTP/1.1 and HTTP/2), bearer-token auth, the
//! request log, gzip, cut-short bodies, and `metav1.Status` answers.

use std::convert::Infallible;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderValue,
};
use hyper::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::Request;
use crate::discovery::route;
use crate::state::{State, fake_uid};

pub(crate) fn serve(
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

pub(crate) type Resp = Response<Full<Bytes>>;

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
pub(crate) struct CutShort;

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

pub(crate) fn json_response(code: u16, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap();
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// A `metav1.Status` failure, fields in the order kube-apiserver writes them.
pub(crate) fn status_body(
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

pub(crate) fn status_response(
    code: u16,
    reason: &str,
    message: &str,
    details: Option<Value>,
) -> Resp {
    json_response(code, status_body(code, reason, message, details, None))
}

pub(crate) fn not_found_path() -> Resp {
    status_response(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

pub(crate) fn bad_request(message: &str) -> Resp {
    status_response(400, "BadRequest", message, None)
}

//! One cluster's API server: raw GETs through kube's client (auth, TLS),
//! with bounded retries, an optional time limit per request, and failures
//! described in one line that names the server.

use crate::shared::text::one_line;
use std::fmt;
use std::time::Duration;

use http::StatusCode;
use kube::client::Body;
use serde::Deserialize;

use crate::shared::retry::{Step, doubling, retry, retry_after};

/// Retries of a request answered 429 or 5xx, after the first attempt.
const MAX_RETRIES: u32 = 5;
/// The longest wait between attempts, whatever Retry-After asks for.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// The wait before the first retry, doubling for each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

#[derive(Clone)]
pub struct Api {
    client: kube::Client,
    /// The server URL, for messages.
    pub url: String,
    timeout: Option<Duration>,
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server answered with an error status (after retries, for 429 and 5xx).
    Status {
        code: u16,
        reason: String,
        message: String,
        /// Attempts made; more than one when the server kept failing.
        attempts: u32,
    },
    /// No usable answer: connection, TLS, time limit, or a malformed body.
    /// The message names the server.
    Transport(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status {
                code,
                reason,
                message,
                attempts,
            } => {
                write!(f, "{code} {reason}")?;
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                if *attempts > 1 {
                    write!(f, " (gave up after {attempts} attempts)")?;
                }
                Ok(())
            }
            Failure::Transport(m) => f.write_str(m),
        }
    }
}

impl Failure {
    pub fn code(&self) -> Option<u16> {
        match self {
            Failure::Status { code, .. } => Some(*code),
            Failure::Transport(_) => None,
        }
    }
}

/// The part of a `metav1.Status` body the messages use.
#[derive(Debug, Default, Deserialize)]
struct StatusBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    details: Option<StatusDetails>,
}

#[derive(Debug, Default, Deserialize)]
struct StatusDetails {
    #[serde(rename = "retryAfterSeconds", default)]
    retry_after_seconds: Option<u64>,
}

/// One failed attempt, and how long the server asked us to wait.
struct Attempt {
    failure: Failure,
    retry_after: Option<Duration>,
    /// The answer broke off mid-body: worth asking again, like a 5xx.
    cut_short: bool,
}

impl Api {
    pub fn new(config: kube::Config, timeout: Option<Duration>) -> Result<Api, String> {
        let url = server_url(&config.cluster_url);
        let client = kube::Client::try_from(config)
            .map_err(|e| format!("cannot set up a client for {url}: {}", reason(&e)))?;
        Ok(Api {
            client,
            url,
            timeout,
        })
    }

    /// GETs `uri` (a path and query under the server URL) and returns the body
    /// of a 2xx answer. 429 and 5xx answers, and answers cut short, are retried
    /// with exponential backoff, honouring Retry-After, at most [`MAX_RETRIES`]
    /// times. (A GET is safe to repeat; a connection that cannot be made is not
    /// retried, so an unreachable server is reported at once.)
    pub async fn get(&self, uri: &str) -> Result<Vec<u8>, Failure> {
        retry(|attempts| async move {
            let a = match self.once(uri).await {
                Ok(body) => return Step::Done(body),
                Err(a) => a,
            };
            let retryable =
                a.cut_short || matches!(a.failure.code(), Some(429 | 500 | 502 | 503 | 504));
            if !retryable || attempts > MAX_RETRIES {
                return Step::GiveUp(match a.failure {
                    Failure::Status {
                        code,
                        reason,
                        message,
                        ..
                    } => Failure::Status {
                        code,
                        reason,
                        message,
                        attempts,
                    },
                    Failure::Transport(m) if a.cut_short && attempts > 1 => {
                        Failure::Transport(format!("{m} (gave up after {attempts} attempts)"))
                    }
                    t => t,
                });
            }
            // 0.2s, 0.4s, … 3.2s: six attempts span about six seconds.
            let backoff = doubling(FIRST_BACKOFF, attempts);
            Step::RetryAfter(a.retry_after.unwrap_or(backoff).min(MAX_WAIT))
        })
        .await
    }

    /// GETs `uri` and parses the JSON answer.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, uri: &str) -> Result<T, Failure> {
        let body = self.get(uri).await?;
        serde_json::from_slice(&body).map_err(|e| {
            Failure::Transport(format!(
                "{}{uri} answered invalid JSON: {}",
                self.url,
                one_line(&e.to_string(), MESSAGE_MAX)
            ))
        })
    }

    async fn once(&self, uri: &str) -> Result<Vec<u8>, Attempt> {
        let transport = |msg: String| Attempt {
            failure: Failure::Transport(msg),
            retry_after: None,
            cut_short: false,
        };
        let req = http::Request::get(uri)
            .header(http::header::ACCEPT, "application/json")
            .body(Body::empty())
            .map_err(|e| transport(format!("invalid request {uri}: {e}")))?;
        let exchange = async {
            let res = self
                .client
                .send(req)
                .await
                .map_err(|e| transport(format!("cannot reach {}: {}", self.url, reason(&e))))?;
            let status = res.status();
            let (retry_after, media) = {
                let header = |name| res.headers().get(name).and_then(|v| v.to_str().ok());
                let retry_after = header(http::header::RETRY_AFTER).and_then(retry_after);
                let media = header(http::header::CONTENT_TYPE)
                    .map(|v| {
                        v.split(';')
                            .next()
                            .unwrap_or("")
                            .trim()
                            .to_ascii_lowercase()
                    })
                    .filter(|m| !m.is_empty());
                (retry_after, media)
            };
            // The server was reached and answered: a body that breaks off is
            // not "cannot reach", and names what was being read.
            let body = res.into_body().collect_bytes().await.map_err(|e| Attempt {
                cut_short: true,
                ..transport(format!(
                    "the answer from {}{uri} was cut short: {}",
                    self.url,
                    cut_reason(&e)
                ))
            })?;
            Ok::<_, Attempt>((status, retry_after, media, body))
        };
        let (status, retry_after, media, body) = match self.timeout {
            Some(limit) => tokio::time::timeout(limit, exchange).await.map_err(|_| {
                transport(format!(
                    "no answer from {} within {} (--request-timeout)",
                    self.url,
                    humantime(limit)
                ))
            })??,
            None => exchange.await?,
        };
        if status.is_success() {
            // An HTML page (a proxy's login or error page) is no answer: kubectl
            // has no decoder for it either, and its JSON error would hide why.
            if let Some(media) = media.filter(|m| !is_json(m)) {
                return Err(transport(format!(
                    "{}{uri} answered {}, not JSON (a proxy in front of the API server?)",
                    self.url,
                    one_line(&media, 64)
                )));
            }
            return Ok(Vec::from(body));
        }
        let mut parsed: StatusBody = serde_json::from_slice(&body).unwrap_or_else(|_| StatusBody {
            message: body_summary(&body),
            ..StatusBody::default()
        });
        parsed.message = one_line(&parsed.message, MESSAGE_MAX);
        parsed.reason = one_line(&parsed.reason, 64);
        let retry_after = retry_after.or_else(|| {
            parsed
                .details
                .as_ref()
                .and_then(|d| d.retry_after_seconds)
                .map(Duration::from_secs)
        });
        let reason = if parsed.reason.is_empty() {
            status_reason(status)
        } else {
            parsed.reason
        };
        Err(Attempt {
            failure: Failure::Status {
                code: status.as_u16(),
                reason,
                message: parsed.message,
                attempts: 1,
            },
            retry_after,
            cut_short: false,
        })
    }
}

/// `application/json`, or a `+json` type.
fn is_json(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json")
}

/// Why a body could not be read to its end. A connection closed early is
/// said plainly: rustls' wording of it ends in a link to its manual.
fn cut_reason(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::UnexpectedEof)
        {
            return "the connection closed before its end".into();
        }
        cause = c.source();
    }
    reason(e)
}

/// The server URL as users write it (no trailing slash), credentials
/// hidden: it is printed.
pub fn server_url(uri: &http::Uri) -> String {
    let s = uri.to_string();
    crate::shared::text::redact_userinfo(&s)
        .trim_end_matches('/')
        .to_string()
}

fn status_reason(status: StatusCode) -> String {
    status
        .canonical_reason()
        .map(|r| r.replace(' ', ""))
        .unwrap_or_else(|| "Error".into())
}

/// The useful line of an error answer that is not a Kubernetes Status: the
/// title of an HTML page (a proxy's), else the text without its markup.
fn body_summary(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]);
    let lower = text.to_ascii_lowercase();
    if let Some(start) = lower.find("<title>")
        && let Some(len) = lower[start + 7..].find("</title>")
    {
        let title = one_line(&text[start + 7..start + 7 + len], MESSAGE_MAX);
        if !title.is_empty() {
            return title;
        }
    }
    let mut plain = String::with_capacity(text.len().min(4096));
    let html = lower.trim_start().starts_with('<');
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' if html => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                plain.push(' ');
            }
            _ if in_tag => {}
            _ => plain.push(c),
        }
        if plain.len() > MESSAGE_MAX * 8 {
            break;
        }
    }
    one_line(&plain, MESSAGE_MAX)
}

/// The longest server message quoted, in characters.
const MESSAGE_MAX: usize = 300;

pub(super) fn humantime(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// The most useful one-line reason of an error chain: the whole message when
/// it already spells out its causes (kube's do), otherwise the innermost cause
/// ("Connection refused", rustls' "invalid peer certificate: UnknownIssuer"
/// under hyper's bare "client error (Connect)"); without "(os error N)".
pub fn reason(e: &(dyn std::error::Error + 'static)) -> String {
    let mut deepest = e;
    while let Some(next) = deepest.source() {
        deepest = next;
    }
    let (top, inner) = (e.to_string(), deepest.to_string());
    let chosen = if top.contains(&inner) { top } else { inner };
    crate::shared::io::io_reason(&std::io::Error::other(chosen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrap(&'static str, Box<dyn std::error::Error + Send + Sync>);
    impl fmt::Display for Wrap {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Wrap {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&*self.1)
        }
    }

    #[test]
    fn reasons_are_the_innermost_cause() {
        let refused = std::io::Error::from_raw_os_error(111);
        let e = Wrap("client error (Connect)", Box::new(refused));
        assert_eq!(reason(&e), "Connection refused");
        let e = Wrap("auth: no such file: /t", "no such file: /t".into());
        assert_eq!(reason(&e), "auth: no such file: /t");
        let e = Wrap(
            "client error (Connect)",
            Box::new(Wrap(
                "tls",
                Box::new(std::io::Error::other(
                    "invalid peer certificate: UnknownIssuer",
                )),
            )),
        );
        assert_eq!(reason(&e), "invalid peer certificate: UnknownIssuer");
    }

    #[test]
    fn bodies_cut_short_and_types_that_are_not_json_are_named() {
        let eof = std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "peer closed connection without sending TLS close_notify: https://docs.rs/rustls/",
        );
        let e = Wrap("error reading a body from connection", Box::new(eof));
        assert_eq!(cut_reason(&e), "the connection closed before its end");
        let reset = std::io::Error::from_raw_os_error(104);
        let e = Wrap("error reading a body from connection", Box::new(reset));
        assert_eq!(cut_reason(&e), "Connection reset by peer");
        assert!(is_json("application/json"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/html"));
        assert!(!is_json("application/vnd.kubernetes.protobuf"));
    }

    #[test]
    fn failures_read_as_one_line() {
        let f = Failure::Status {
            code: 503,
            reason: "ServiceUnavailable".into(),
            message: "etcd is down".into(),
            attempts: 6,
        };
        assert_eq!(
            f.to_string(),
            "503 ServiceUnavailable: etcd is down (gave up after 6 attempts)"
        );
        assert_eq!(
            status_reason(StatusCode::TOO_MANY_REQUESTS),
            "TooManyRequests"
        );
        assert_eq!(one_line(" a\n\r\n  b\t", 10), "a b");
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(
            body_summary(
                b"<html>\r\n<head><title>502 Bad\nGateway</title></head>\r\n<body></body></html>"
            ),
            "502 Bad Gateway"
        );
        assert_eq!(body_summary(b"<p>no\n<b>title</b></p>"), "no title");
        assert_eq!(
            body_summary(b"upstream\nconnect error"),
            "upstream connect error"
        );
        assert_eq!(
            body_summary(&b"x ".repeat(100_000)).chars().count(),
            MESSAGE_MAX + 1
        );
        assert_eq!(humantime(Duration::from_millis(1500)), "1500ms");
        assert_eq!(
            server_url(&"https://10.0.0.1:6443/".parse().unwrap()),
            "https://10.0.0.1:6443"
        );
        assert_eq!(
            server_url(&"https://me:s3cret@10.0.0.1:6443/x".parse().unwrap()),
            "https://REDACTED@10.0.0.1:6443/x"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Whatever a server answers, the quoted part is one bounded line.
        #[test]
        fn any_error_body_is_one_bounded_line(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            html in "(<[a-z]{1,6}>|</?title>|[^<>]{0,40}|\r?\n){0,40}",
        ) {
            for b in [&body[..], html.as_bytes()] {
                let line = body_summary(b);
                proptest::prop_assert!(!line.contains(['\n', '\r', '\t']), "{line:?}");
                proptest::prop_assert!(line.chars().count() <= MESSAGE_MAX + 1);
            }
        }
    }
}

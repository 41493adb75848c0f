//! The HTTP client of the push targets (TLS, auth, timeout: one setup for the
//! Pushgateway and remote write), and the Pushgateway's bounded retries.
//!
//! Pushgateway retries: a connection that could not be made is retried for every method,
//! since nothing reached the Pushgateway. A 5xx answer, a timeout or a
//! connection lost mid-request is retried for PUT and DELETE only: both are
//! idempotent, so a repeat after a request that did arrive changes nothing.
//! POST is not retried then. A 4xx is never retried: the Pushgateway's answer
//! is the error.

use std::time::Duration;

use reqwest::{Method, StatusCode, Url};

use crate::error::Error;
use crate::shared::io::{io_reason, without_os_error};
use crate::shared::retry::{Step, doubling, retry};
use crate::shared::text::one_line;
use crate::ui::Ui;

/// Attempts per request, the first one included.
const ATTEMPTS: u32 = 3;
/// Wait before the first retry; doubles for each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest Pushgateway message quoted in an error.
const MAX_MESSAGE: usize = 600;

#[derive(Debug)]
enum Auth {
    None,
    Basic { user: String, password: String },
    Bearer(String),
}

/// Credentials, TLS and timeout of the HTTP client: the files are named here
/// and read by [`Transport::new`].
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// The target's flag (`--pushgateway`, `--remote-write`): messages name
    /// its `-user`, `-password-file`, … flags.
    pub flag: &'static str,
    /// Basic-auth user; the password comes from `password_file`, else `password_env`.
    pub user: Option<String>,
    pub password_file: Option<String>,
    /// The environment variable that may hold the password, and its value if set.
    pub password_env_name: &'static str,
    pub password_env: Option<String>,
    pub bearer_token_file: Option<String>,
    pub certificate_authority: Option<String>,
    pub client_certificate: Option<String>,
    pub client_key: Option<String>,
    pub insecure_skip_tls_verify: bool,
    /// Per attempt.
    pub timeout: Duration,
}

/// A configured client for one target.
#[derive(Debug)]
pub(crate) struct Transport {
    client: reqwest::Client,
    auth: Auth,
    /// The target as messages name it.
    gateway: String,
}

/// Why a request failed.
#[derive(Debug)]
pub(crate) struct Failed {
    pub message: String,
    /// No answer at all: later groups would fare no better.
    pub unreachable: bool,
}

impl Transport {
    /// Reads the credential and certificate files and builds the client.
    pub fn new(args: &ClientOptions, gateway: &Url) -> Result<Transport, Error> {
        let flag = args.flag;
        let env = args.password_env_name;
        let auth = if let Some(user) = &args.user {
            // Basic auth joins user and password with ':' (RFC 7617).
            if user.contains(':') {
                return Err(Error::usage(format!(
                    "{flag}-user {user:?}: a basic-auth user name cannot contain ':'"
                )));
            }
            let password = match (&args.password_file, &args.password_env) {
                (Some(path), _) => read_secret(path, &format!("{flag}-password-file"))?,
                (None, Some(password)) => password.clone(),
                (None, None) => {
                    return Err(Error::usage(format!(
                        "{flag}-user needs a password: {flag}-password-file FILE or ${env}"
                    )));
                }
            };
            Auth::Basic {
                user: user.clone(),
                password,
            }
        } else if let Some(path) = &args.bearer_token_file {
            let token = read_secret(path, &format!("{flag}-bearer-token-file"))?;
            if token.is_empty() {
                return Err(Error::usage(format!(
                    "{flag}-bearer-token-file {path}: the file is empty"
                )));
            }
            if reqwest::header::HeaderValue::from_str(&token).is_err() {
                return Err(Error::usage(format!(
                    "{flag}-bearer-token-file {path}: the token holds characters an HTTP header cannot carry"
                )));
            }
            Auth::Bearer(token)
        } else {
            Auth::None
        };

        let mut builder = reqwest::Client::builder()
            .user_agent(format!("kubectl-tap_metrics/{}", env!("CARGO_PKG_VERSION")))
            .timeout(args.timeout)
            .connect_timeout(args.timeout.min(Duration::from_secs(10)))
            // A redirected PUT may come back as a GET that "succeeds".
            .redirect(reqwest::redirect::Policy::none())
            .use_rustls_tls();
        if let Some(path) = &args.certificate_authority {
            let ca_flag = format!("{flag}-certificate-authority");
            let pem = read_file(path, &ca_flag)?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| bad_file(&ca_flag, path, e))?;
            if certs.is_empty() {
                return Err(Error::usage(format!(
                    "{ca_flag} {path}: no PEM certificate in the file"
                )));
            }
            builder = builder.tls_built_in_root_certs(false);
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        if let (Some(cert), Some(key)) = (&args.client_certificate, &args.client_key) {
            let mut pem = read_file(cert, &format!("{flag}-client-certificate"))?;
            pem.push(b'\n');
            pem.extend(read_file(key, &format!("{flag}-client-key"))?);
            let id = reqwest::Identity::from_pem(&pem).map_err(|e| {
                Error::usage(format!(
                    "{flag}-client-certificate {cert} / {flag}-client-key {key}: {}",
                    chain(&e)
                ))
            })?;
            builder = builder.identity(id);
        }
        if args.insecure_skip_tls_verify {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let client = builder
            .build()
            .map_err(|e| Error::usage(format!("{flag}: {}", chain(&e))).caused_by(e))?;
        Ok(Transport {
            client,
            auth,
            gateway: gateway.to_string(),
        })
    }

    /// Sends one request, retrying as the module describes. `what` names the
    /// request in messages, e.g. `PUT of group job="x"`.
    pub async fn send(
        &self,
        method: Method,
        url: &Url,
        body: Option<&[u8]>,
        what: &str,
        ui: &Ui,
    ) -> Result<StatusCode, Failed> {
        let idempotent = method == Method::PUT || method == Method::DELETE;
        retry(|attempt| {
            let method = method.clone();
            async move {
                let (failure, retryable) = match self.once(method, url, body).await {
                    Ok(resp) if resp.status().is_success() => return Step::Done(resp.status()),
                    Ok(resp) => {
                        let status = resp.status();
                        let location = resp
                            .headers()
                            .get(reqwest::header::LOCATION)
                            .and_then(|l| l.to_str().ok())
                            .map(str::to_string);
                        let text = resp.text().await.unwrap_or_default();
                        let failure = Failed {
                            message: answer(
                                &self.gateway,
                                status,
                                &text,
                                location.as_deref(),
                                what,
                            ),
                            unreachable: false,
                        };
                        (failure, status.is_server_error() && idempotent)
                    }
                    Err(e) => {
                        let failure = Failed {
                            message: format!(
                                "cannot reach the Pushgateway at {} for the {what}: {}",
                                self.gateway,
                                chain(&e)
                            ),
                            unreachable: true,
                        };
                        (failure, e.is_connect() || idempotent)
                    }
                };
                if !retryable {
                    return Step::GiveUp(failure);
                }
                if attempt == ATTEMPTS {
                    return Step::GiveUp(Failed {
                        message: format!("{}; gave up after {ATTEMPTS} attempts", failure.message),
                        ..failure
                    });
                }
                let backoff = doubling(FIRST_BACKOFF, attempt);
                ui.warn(format!(
                    "{} (attempt {attempt} of {ATTEMPTS}); retrying in {}ms",
                    failure.message,
                    backoff.as_millis()
                ));
                Step::RetryAfter(backoff)
            }
        })
        .await
    }

    /// A request to `url` with the target's credentials.
    pub fn request(&self, method: Method, url: &Url) -> reqwest::RequestBuilder {
        let req = self.client.request(method, url.clone());
        match &self.auth {
            Auth::None => req,
            Auth::Basic { user, password } => req.basic_auth(user, Some(password)),
            Auth::Bearer(token) => req.bearer_auth(token),
        }
    }

    async fn once(
        &self,
        method: Method,
        url: &Url,
        body: Option<&[u8]>,
    ) -> reqwest::Result<reqwest::Response> {
        let mut req = self.request(method, url);
        if let Some(body) = body {
            req = req
                .header(
                    reqwest::header::CONTENT_TYPE,
                    crate::render::Format::Prometheus.content_type(),
                )
                .header(reqwest::header::CONTENT_ENCODING, "gzip")
                .body(body.to_vec());
        }
        req.send().await
    }
}

/// The error for a non-2xx answer, quoting the Pushgateway on one line.
fn answer(
    gateway: &str,
    status: StatusCode,
    text: &str,
    location: Option<&str>,
    what: &str,
) -> String {
    let mut msg = format!("the Pushgateway at {gateway} refused the {what}: {status}");
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let quoted = one_line(&condense(&words), MAX_MESSAGE);
    if !quoted.is_empty() {
        msg.push_str(": ");
        msg.push_str(&quoted);
    }
    if let Some(loc) = location {
        msg.push_str(&format!(" (redirected to {loc}; use that URL)"));
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        msg.push_str(
            " (check --pushgateway-user and its password, or --pushgateway-bearer-token-file)",
        );
    }
    msg
}

/// The Pushgateway quotes each offending metric as a protobuf dump
/// (`{ label:<…> gauge:<…> }`) before saying what is wrong with it; the
/// metric's name is enough, and the reason must not be cut off.
pub(super) fn condense(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(" { ") {
        let dump = &rest[start + 3..];
        let (mut quoted, mut escaped, mut end) = (false, false, None);
        for (i, c) in dump.char_indices() {
            if quoted {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => quoted = false,
                    _ => {}
                }
            } else if c == '"' {
                quoted = true;
            } else if c == '}' {
                end = Some(i);
                break;
            }
        }
        let Some(end) = end else { break };
        out.push_str(&rest[..start]);
        rest = &dump[end + 1..];
    }
    out.push_str(rest);
    out
}

/// An error and its causes on one line, without the URL (messages name the
/// group) and without Rust's `(os error N)`.
pub(super) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        let mut s = without_os_error(&text).to_string();
        if let Some(i) = s.find(" for url (") {
            s.truncate(i);
        }
        // Wrappers that say nothing the causes do not.
        let wrapper = s == "error sending request" || s.starts_with("client error (");
        if !wrapper && !s.is_empty() && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

fn read_file(path: &str, flag: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| {
        Error::usage(format!("{flag} {path}: cannot read: {}", io_reason(&e))).caused_by(e)
    })
}

/// A password or token file: UTF-8, trailing newline ignored.
fn read_secret(path: &str, flag: &str) -> Result<String, Error> {
    let bytes = read_file(path, flag)?;
    let s = String::from_utf8(bytes)
        .map_err(|_| Error::usage(format!("{flag} {path}: not UTF-8 text")))?;
    Ok(s.trim_end_matches(['\r', '\n']).to_string())
}

fn bad_file(flag: &str, path: &str, e: reqwest::Error) -> Error {
    Error::usage(format!("{flag} {path}: {}", chain(&e))).caused_by(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_dumps_are_left_out_of_the_quoted_answer() {
        let text = "pushed metrics are invalid or inconsistent with existing metrics: 2 error(s) occurred:\n\
            * collected metric \"a\" { label:<name:\"message\" value:\"x } \\\" { y\" > gauge:<value:1 > } is not a COUNTER\n\
            * collected metric \"b\" { label:<name:\"job\" value:\"j\" > untyped:<value:1 > } was collected before with the same name and label values\n";
        assert_eq!(
            answer("g", StatusCode::BAD_REQUEST, text, None, "PUT"),
            "the Pushgateway at g refused the PUT: 400 Bad Request: pushed metrics are invalid or inconsistent with existing metrics: 2 error(s) occurred: \
             * collected metric \"a\" is not a COUNTER * collected metric \"b\" was collected before with the same name and label values"
        );
        assert_eq!(condense("a { unterminated"), "a { unterminated");
    }

    #[test]
    fn answers_are_quoted_on_one_line_and_bounded() {
        let m = answer(
            "http://pgw:9091/",
            StatusCode::BAD_REQUEST,
            "pushed metrics are invalid or inconsistent with existing metrics: 2 error(s) occurred:\n* a\n* b\n",
            None,
            "PUT of group job=\"j\"",
        );
        assert_eq!(
            m,
            "the Pushgateway at http://pgw:9091/ refused the PUT of group job=\"j\": 400 Bad Request: pushed metrics are invalid or inconsistent with existing metrics: 2 error(s) occurred: * a * b"
        );
        let long = "é".repeat(2 * MAX_MESSAGE);
        let m = answer("g", StatusCode::INTERNAL_SERVER_ERROR, &long, None, "x");
        assert!(
            m.ends_with('…') && m.chars().count() < MAX_MESSAGE + 80,
            "{m}"
        );
        let m = answer(
            "g",
            StatusCode::MOVED_PERMANENTLY,
            "",
            Some("https://x/"),
            "x",
        );
        assert!(
            m.ends_with("(redirected to https://x/; use that URL)"),
            "{m}"
        );
        let m = answer("g", StatusCode::UNAUTHORIZED, "Unauthorized", None, "x");
        assert!(m.contains("--pushgateway-user"), "{m}");
    }
}

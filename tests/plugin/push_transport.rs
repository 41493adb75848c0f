//! Auth, TLS and retries of pushes. Basic auth and TLS run against the real
//! Pushgateway (exporter-toolkit's `--web.config.file`); what a real gateway
//! cannot be made to do (a bearer token check, 5xx, redirects, hanging) runs
//! against a scripted HTTP server.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::pushgateway::{self, Pushgateway, fixture, tap_metrics};

/// bcrypt of "correct horse battery", cost 4 (made once with Python's
/// `crypt.crypt(pw, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16))`).
const BCRYPT: &str = "$2b$04$OqZ9GkHqjhVcJove6OFZN.Mw7m9rrnFL7F90jbEukv7Nz0hUe7qGa";
const PASSWORD: &str = "correct horse battery";

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn push(url: &str, extra: &[&str]) -> assert_cmd::Command {
    let mut c = tap_metrics();
    c.arg("--from-file")
        .arg(fixture())
        .args(["--pushgateway", url, "--resource", "builds.kpack.io"])
        .args(extra);
    c
}

#[test]
fn basic_auth_through_the_gateways_web_config() {
    let web = format!("basic_auth_users:\n  tap: {BCRYPT}\n");
    let Some(pgw) = Pushgateway::start_with_web_config(&web, &[]) else {
        return;
    };
    let groups = || {
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("tap:{PASSWORD}"))
        );
        let (status, body) = pushgateway::http(
            &format!("{}/api/v1/metrics", pgw.url),
            &[("Authorization", &auth)],
        );
        assert_eq!(status, 200, "{body}");
        body
    };

    let out = push(&pgw.url, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("error: the Pushgateway at {}/ refused the PUT of group job=\"tap-metrics\": 401 Unauthorized", pgw.url))
            && err.contains("check --pushgateway-user"),
        "{err}"
    );

    let out = push(&pgw.url, &["--pushgateway-user", "tap"])
        .env("TAP_METRICS_PUSHGATEWAY_PASSWORD", "wrong")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("401 Unauthorized"));
    assert!(!groups().contains("kpack_build_status"));

    let out = push(&pgw.url, &["--pushgateway-user", "tap"])
        .env("TAP_METRICS_PUSHGATEWAY_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains(PASSWORD));
    assert!(groups().contains("kpack_build_status"));

    // A password file as `echo pw > file` writes it; it wins over the variable.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("password");
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    let out = push(
        &pgw.url,
        &[
            "--pushgateway-user",
            "tap",
            "--pushgateway-password-file",
            file.to_str().unwrap(),
            "--delete",
        ],
    )
    .env("TAP_METRICS_PUSHGATEWAY_PASSWORD", "wrong")
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!groups().contains("kpack_build_status"));
}

struct Pki {
    ca: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf = |names: Vec<String>, usage| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(names).unwrap();
        p.extended_key_usages = vec![usage];
        (
            p.signed_by(&key, &issuer).unwrap().pem(),
            key.serialize_pem(),
        )
    };
    let (server_cert, server_key) = leaf(
        vec!["127.0.0.1".into(), "localhost".into()],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (client_cert, client_key) = leaf(
        vec!["tap-metrics".into()],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    Pki {
        ca: ca_cert.pem(),
        server_cert,
        server_key,
        client_cert,
        client_key,
    }
}

#[test]
fn tls_with_a_custom_ca_and_a_client_certificate() {
    let pki = pki();
    let web = "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n  \
               client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n";
    let Some(pgw) = Pushgateway::start_with_web_config(
        web,
        &[
            ("server.pem", &pki.server_cert),
            ("server-key.pem", &pki.server_key),
            ("ca.pem", &pki.ca),
        ],
    ) else {
        return;
    };
    assert!(pgw.url.starts_with("https://"));
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, content: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p.to_str().unwrap().to_string()
    };
    let ca = write("ca.pem", &pki.ca);
    let cert = write("client.pem", &pki.client_cert);
    let key = write("client-key.pem", &pki.client_key);
    let client = [
        "--pushgateway-client-certificate",
        cert.as_str(),
        "--pushgateway-client-key",
        key.as_str(),
    ];

    // The built-in public roots do not know our CA.
    let out = push(&pgw.url, &client).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot reach the Pushgateway") && err.contains("UnknownIssuer"),
        "{err}"
    );

    // The gateway demands a client certificate.
    let out = push(&pgw.url, &["--pushgateway-certificate-authority", &ca])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot reach the Pushgateway"),
        "{}",
        stderr(&out)
    );

    let mut args = vec!["--pushgateway-certificate-authority", ca.as_str()];
    args.extend(client);
    let out = push(&pgw.url, &args).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let mut args = vec!["--pushgateway-insecure-skip-tls-verify", "--delete"];
    args.extend(client);
    let out = push(&pgw.url, &args).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("deleted 1 group"),
        "{}",
        stderr(&out)
    );

    let out = push(
        &pgw.url,
        &[
            "--pushgateway-client-certificate",
            ca.as_str(),
            "--pushgateway-client-key",
            ca.as_str(),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!(
            "--pushgateway-client-certificate {ca} / --pushgateway-client-key {ca}: "
        )),
        "{}",
        stderr(&out)
    );
}

/// What the scripted server does with one request.
#[derive(Clone)]
enum Reply {
    Status(u16, &'static str),
    /// Reads the request and never answers.
    Hang,
}

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// A one-request-per-connection HTTP/1.1 server answering with `script` in
/// order (the last reply repeats); returns its URL and what it saw.
fn scripted(script: Vec<Reply>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for (i, conn) in listener.incoming().enumerate() {
            let Ok(mut conn) = conn else { return };
            let mut r = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let mut parts = line.split_whitespace();
            let (method, path) = (
                parts.next().unwrap().to_string(),
                parts.next().unwrap().to_string(),
            );
            let mut headers = BTreeMap::new();
            loop {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                let Some((k, v)) = h.trim_end().split_once(": ") else {
                    break;
                };
                headers.insert(k.to_ascii_lowercase(), v.to_string());
            }
            let len: usize = headers
                .get("content-length")
                .map_or(0, |l| l.parse().unwrap());
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            log.lock().unwrap().push(Seen {
                method,
                path,
                headers,
                body,
            });
            match script[i.min(script.len() - 1)].clone() {
                Reply::Status(code, extra) => {
                    let msg = format!("answer {code}\n");
                    let _ = write!(
                        conn,
                        "HTTP/1.1 {code} X\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n{msg}",
                        msg.len()
                    );
                }
                Reply::Hang => {
                    std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_secs(30));
                        drop(conn);
                    });
                }
            }
        }
    });
    (url, seen)
}

#[test]
fn a_bearer_token_and_the_gzipped_body_reach_the_server() {
    let (url, seen) = scripted(vec![Reply::Status(200, "")]);
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cr3t-token\n").unwrap();
    let out = push(
        &url,
        &["--pushgateway-bearer-token-file", token.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("PUT", "/metrics/job/tap-metrics")
    );
    assert_eq!(s.headers["authorization"], "Bearer s3cr3t-token");
    assert_eq!(s.headers["content-encoding"], "gzip");
    assert_eq!(
        s.headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let mut text = String::new();
    flate2::read::GzDecoder::new(&s.body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.starts_with("# HELP kpack_build_"), "{text}");
    let samples = pushgateway::parse_text(&text);
    assert!(
        !samples.is_empty()
            && samples
                .iter()
                .all(|(n, _, _)| n.starts_with("kpack_build_"))
    );
}

#[test]
fn a_5xx_is_retried_for_put_and_delete_but_not_for_post() {
    let (url, seen) = scripted(vec![Reply::Status(503, ""), Reply::Status(200, "")]);
    let out = push(&url, &[]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with(
            &format!("warning: the Pushgateway at {url}/ refused the PUT of group job=\"tap-metrics\": 503 Service Unavailable: answer 503 (attempt 1 of 3); retrying in 500ms\npushed 1 group")
        ),
        "{err}"
    );
    assert_eq!(seen.lock().unwrap().len(), 2);

    let (url, seen) = scripted(vec![Reply::Status(503, "")]);
    let out = push(&url, &["--push-mode", "add"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "error: the Pushgateway at {url}/ refused the POST of group job=\"tap-metrics\": 503 Service Unavailable: answer 503\n"
        )
    );
    assert_eq!(seen.lock().unwrap().len(), 1);

    let (url, seen) = scripted(vec![Reply::Status(500, "")]);
    let out = push(&url, &["--delete"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).ends_with(
            &format!("error: the Pushgateway at {url}/ refused the DELETE of group job=\"tap-metrics\": 500 Internal Server Error: answer 500; gave up after 3 attempts\n")
        ),
        "{}",
        stderr(&out)
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .all(|s| s.method == "DELETE" && s.body.is_empty())
    );
}

#[test]
fn a_redirect_is_not_followed() {
    let (url, seen) = scripted(vec![Reply::Status(301, "Location: http://elsewhere/\r\n")]);
    let out = push(&url, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).ends_with(
            ": 301 Moved Permanently: answer 301 (redirected to http://elsewhere/; use that URL)\n"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn a_hanging_gateway_times_out_after_the_retries() {
    let (url, seen) = scripted(vec![Reply::Hang]);
    let started = Instant::now();
    let out = push(&url, &["--pushgateway-timeout", "200ms"])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.ends_with(
            &format!("error: cannot reach the Pushgateway at {url}/ for the PUT of group job=\"tap-metrics\": operation timed out; gave up after 3 attempts\n")
        ),
        "{err}"
    );
    assert_eq!(seen.lock().unwrap().len(), 3);
    assert!(
        took >= Duration::from_millis(2100) && took < Duration::from_secs(10),
        "{took:?}"
    );
}

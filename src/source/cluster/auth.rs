//! Credentials made ready before kube builds its client, so that a bad one is
//! one line naming where it came from, never a panic in the HTTP stack
//! (tower-http's bearer layer panics on a token that is not a header value),
//! never a message holding the secret, and an exec plugin cannot hang a run.
//!
//! kube's order of precedence is kept: auth provider, basic auth, token,
//! token file, exec plugin. A token file and an exec plugin are read once per
//! run (kube would reread them; a run does not outlive the token).

use std::io::{IsTerminal, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use kube::config::{AuthInfo, ExecConfig, ExecInteractiveMode};
use serde_json::{Value, json};

use crate::error::Error;
use crate::shared::text::one_line;

/// How long an exec plugin may run when `--request-timeout` sets no limit:
/// long enough for a browser login, short enough for a cron job to fail.
pub const EXEC_DEFAULT_LIMIT: Duration = Duration::from_secs(300);
/// A token file or plugin answer larger than this is not a credential.
const CREDENTIAL_MAX: u64 = 1 << 20;

/// Checks and settles the credentials of `auth`, which come from `who` (for
/// messages: `kubeconfig user "x"`); flag values are checked before, by
/// [`header_value`] with the flag's name. `limit` bounds an exec plugin.
pub fn resolve(auth: &mut AuthInfo, who: &str, limit: Duration) -> Result<(), Error> {
    if let Some(user) = &auth.impersonate {
        header_value(who, "as", user)?;
    }
    if let Some(uid) = &auth.impersonate_uid {
        header_value(who, "as-uid", uid)?;
    }
    for group in auth.impersonate_groups.iter().flatten() {
        header_value(who, "as-groups", group)?;
    }
    for values in auth.impersonate_user_extra.iter().flat_map(|m| m.values()) {
        for v in values {
            header_value(who, "as-user-extra", v)?;
        }
    }
    if let Some(provider) = &auth.auth_provider {
        return match provider.name.as_str() {
            // kube validates and refreshes OIDC tokens itself; the header
            // value it makes of the ID token is checked here first.
            "oidc" => match provider.config.get("id-token") {
                Some(token) => header_value(who, "the oidc id-token", token),
                None => Ok(()),
            },
            // kube would run its `cmd-path` without a time limit; kubectl dropped it.
            "gcp" => Err(Error::failure(format!(
                "{who}: the gcp auth provider is not supported (kubectl removed it too); \
                 use the exec plugin gke-gcloud-auth-plugin"
            ))),
            other => Err(Error::failure(format!(
                "{who}: auth provider {:?} is not supported; use an exec plugin",
                one_line(other, 64)
            ))),
        };
    }
    if let (Some(user), Some(_)) = (&auth.username, &auth.password) {
        // Sent base64-encoded: always a valid header; but `user:password`
        // cannot tell a colon in the name from the separator (RFC 7617).
        if user.contains(':') {
            return Err(Error::failure(format!(
                "{who}: the username holds ':', which basic auth cannot carry"
            )));
        }
        return Ok(());
    }
    if let Some(token) = token_of(auth) {
        return header_value(who, "token", &token);
    }
    if let Some(path) = auth.token_file.take() {
        let token = read_token_file(who, &path)?;
        return set_token(auth, who, &format!("tokenFile {path}"), &token);
    }
    if let Some(exec) = auth.exec.take() {
        let cred = run_exec(who, &exec, limit)?;
        match cred {
            Credential::Token(t) => {
                let what = format!("exec plugin {:?} token", command_name(&exec));
                set_token(auth, who, &what, &t)?;
            }
            Credential::Certificate { cert, key } => {
                let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
                let with: AuthInfo = serde_json::from_value(json!({
                    "client-certificate-data": b64(&cert),
                    "client-key-data": b64(&key),
                }))
                .map_err(|_| Error::failure(format!("{who}: exec plugin answer unusable")))?;
                auth.client_certificate = None;
                auth.client_key = None;
                auth.client_certificate_data = with.client_certificate_data;
                auth.client_key_data = with.client_key_data;
            }
        }
    }
    Ok(())
}

/// `value` as an HTTP header value, or an error naming `who` and `what` but
/// never the value (it may be a secret).
pub fn header_value(who: &str, what: &str, value: &str) -> Result<(), Error> {
    match value
        .bytes()
        .find(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        None => Ok(()),
        Some(_) => {
            let msg = format!(
                "{who}: {what} is not a valid HTTP header value (it holds a control character)"
            );
            // A flag is a usage error; a kubeconfig or plugin value is not.
            Err(if who.starts_with("--") {
                Error::usage(msg)
            } else {
                Error::failure(msg)
            })
        }
    }
}

/// Sets `auth.token` to `token`, checked as the `Authorization` header value
/// it becomes. (kube keeps it as a `secrecy::SecretString`, made here by
/// kube's own deserializer: this crate does not depend on secrecy.)
pub fn set_token(auth: &mut AuthInfo, who: &str, what: &str, token: &str) -> Result<(), Error> {
    header_value(who, what, token)?;
    let with: AuthInfo = serde_json::from_value(json!({ "token": token }))
        .map_err(|_| Error::failure(format!("{who}: {what} cannot be used")))?;
    auth.token = with.token;
    Ok(())
}

/// The token of `auth`, read through kube's serializer (see [`set_token`]).
pub fn token_of(auth: &AuthInfo) -> Option<String> {
    let v = serde_json::to_value(auth).ok()?;
    v.get("token")?.as_str().map(str::to_string)
}

/// A token file, trimmed as client-go trims it; bounded, since a path can
/// name an endless device.
fn read_token_file(who: &str, path: &str) -> Result<String, Error> {
    let what = format!("{who}: tokenFile {path}");
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(CREDENTIAL_MAX + 1).read_to_string(&mut text))
        .map_err(|e| {
            Error::failure(format!(
                "{what}: cannot read: {}",
                crate::shared::io::io_reason(&e)
            ))
        })?;
    if text.len() as u64 > CREDENTIAL_MAX {
        return Err(Error::failure(format!(
            "{what}: larger than {} MiB, not a token",
            CREDENTIAL_MAX >> 20
        )));
    }
    let token = text.trim();
    if token.is_empty() {
        return Err(Error::failure(format!("{what}: the file is empty")));
    }
    Ok(token.to_string())
}

/// What an exec plugin logs in with.
#[derive(Debug, PartialEq, Eq)]
enum Credential {
    Token(String),
    /// PEM client certificate and key.
    Certificate {
        cert: String,
        key: String,
    },
}

fn command_name(exec: &ExecConfig) -> String {
    one_line(exec.command.as_deref().unwrap_or_default(), 200)
}

/// Runs an exec credential plugin as client-go does (`KUBERNETES_EXEC_INFO`,
/// its `env`, its args), for at most `limit`: a plugin still running then is
/// killed. Its standard error is kept for the message unless it talks to the
/// user on a terminal.
fn run_exec(who: &str, exec: &ExecConfig, limit: Duration) -> Result<Credential, Error> {
    let name = command_name(exec);
    let fail = |why: String| Error::failure(format!("{who}: exec plugin {name:?} {why}"));
    let Some(command) = exec.command.as_deref().filter(|c| !c.is_empty()) else {
        return Err(Error::failure(format!("{who}: exec has no command")));
    };
    let interactive = match exec.interactive_mode {
        Some(ExecInteractiveMode::Never) => false,
        Some(ExecInteractiveMode::Always) => {
            if !std::io::stdin().is_terminal() {
                return Err(fail(
                    "needs a terminal (interactiveMode: Always) and standard input is not one"
                        .into(),
                ));
            }
            true
        }
        _ => std::io::stdin().is_terminal(),
    };
    let mut spec = json!({ "interactive": interactive });
    if exec.provide_cluster_info
        && let Some(cluster) = &exec.cluster
    {
        spec["cluster"] = serde_json::to_value(cluster).unwrap_or(Value::Null);
    }
    let info = json!({
        "apiVersion": exec.api_version,
        "kind": "ExecCredential",
        "spec": spec,
    });
    let mut cmd = Command::new(command);
    cmd.args(exec.args.iter().flatten());
    for e in exec.env.iter().flatten() {
        if let (Some(k), Some(v)) = (e.get("name"), e.get("value")) {
            cmd.env(k, v);
        }
    }
    cmd.env("KUBERNETES_EXEC_INFO", info.to_string());
    for k in exec.drop_env.iter().flatten() {
        cmd.env_remove(k);
    }
    cmd.stdout(Stdio::piped());
    if interactive {
        cmd.stdin(Stdio::inherit()).stderr(Stdio::inherit());
    } else {
        cmd.stdin(Stdio::null()).stderr(Stdio::piped());
        // Its own process group, so that a plugin that is a script can be
        // stopped with what it started (an interactive one must stay in the
        // terminal's group to read it).
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    }
    let mut child = cmd.spawn().map_err(|e| {
        let hint = exec
            .install_hint
            .as_deref()
            .map(|h| format!(" ({})", one_line(h, 200)))
            .unwrap_or_default();
        match e.kind() {
            std::io::ErrorKind::NotFound => fail(format!("was not found{hint}")),
            _ => fail(format!(
                "cannot be run: {}{hint}",
                crate::shared::io::io_reason(&e)
            )),
        }
    })?;
    let (tx, rx) = mpsc::channel();
    let pipes: Vec<Box<dyn Read + Send>> = [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .collect();
    let readers = pipes.len();
    for (i, mut pipe) in pipes.into_iter().enumerate() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = (&mut pipe).take(CREDENTIAL_MAX + 1).read_to_end(&mut buf);
            // Keep the plugin from blocking on a full pipe.
            let _ = std::io::copy(&mut pipe, &mut std::io::sink());
            let _ = tx.send((i, buf));
        });
    }
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) => {
                stop(&mut child, !interactive);
                let which = if limit == EXEC_DEFAULT_LIMIT {
                    "the limit without --request-timeout"
                } else {
                    "--request-timeout"
                };
                return Err(fail(format!(
                    "gave no answer within {} ({which}) and was stopped",
                    super::api::humantime(limit)
                )));
            }
            Err(e) => {
                return Err(fail(format!(
                    "failed: {}",
                    crate::shared::io::io_reason(&e)
                )));
            }
        }
    };
    // A process the plugin left behind may hold its pipes open: wait no longer
    // than the time that is left.
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    for _ in 0..readers {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.max(Duration::from_millis(100))) {
            Ok((0, buf)) => stdout = buf,
            Ok((_, buf)) => stderr = buf,
            Err(_) => break,
        }
    }
    if !status.success() {
        let how = match status.code() {
            Some(code) => format!("exited with status {code}"),
            None => "was killed by a signal".into(),
        };
        let said = String::from_utf8_lossy(&stderr);
        let last = said.lines().rev().find(|l| !l.trim().is_empty());
        return Err(fail(match last {
            Some(line) => format!("{how}: {}", one_line(line, 200)),
            None => how,
        }));
    }
    if stdout.len() as u64 > CREDENTIAL_MAX {
        return Err(fail(format!(
            "printed more than {} MiB",
            CREDENTIAL_MAX >> 20
        )));
    }
    parse_credential(&stdout).map_err(|why| fail(why.to_string()))
}

/// Stops a plugin that ran out of time, with its process group if it has one.
fn stop(child: &mut std::process::Child, group: bool) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if group && let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) has no memory effects; the group is the plugin's own.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = group;
    let _ = child.kill();
    let _ = child.wait();
}

/// The credential of an ExecCredential answer. Values are never quoted in the
/// reason: they may be secrets.
fn parse_credential(out: &[u8]) -> Result<Credential, &'static str> {
    let v: Value =
        serde_json::from_slice(out).map_err(|_| "printed no ExecCredential (not JSON)")?;
    if v.get("kind").and_then(Value::as_str) != Some("ExecCredential") {
        return Err("printed JSON that is not an ExecCredential");
    }
    let Some(status) = v.get("status").and_then(Value::as_object) else {
        return Err("printed an ExecCredential without a status");
    };
    let field = |k: &str| match status.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(Value::String(_)) => Ok(None),
        Some(_) => Err("printed an ExecCredential whose status fields are not strings"),
    };
    let (token, cert, key) = (
        field("token")?,
        field("clientCertificateData")?,
        field("clientKeyData")?,
    );
    match (token, cert, key) {
        (_, Some(cert), Some(key)) => Ok(Credential::Certificate { cert, key }),
        (_, Some(_), None) | (_, None, Some(_)) => {
            Err("printed a client certificate without its key, or a key without its certificate")
        }
        (Some(t), None, None) => Ok(Credential::Token(t)),
        (None, None, None) => {
            Err("printed an ExecCredential with neither a token nor a client certificate")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_name_their_source_never_the_value() {
        assert!(header_value("--as", "the user name", "jane doe\t").is_ok());
        assert!(header_value("--as", "the user name", "jäne").is_ok());
        let e = header_value("--token", "the token", "s3cret\n").unwrap_err();
        assert_eq!(e.kind, crate::error::ExitKind::Usage);
        assert_eq!(
            e.message,
            "--token: the token is not a valid HTTP header value (it holds a control character)"
        );
        let e = header_value("kubeconfig user \"u\"", "token", "s3cret\x7f").unwrap_err();
        assert_eq!(e.kind, crate::error::ExitKind::Failure);
        assert!(!e.message.contains("s3cret"));
    }

    #[test]
    fn basic_auth_names_cannot_hold_a_colon() {
        let with = |user: &str| {
            serde_json::from_value::<AuthInfo>(json!({ "username": user, "password": "s3cret" }))
                .unwrap()
        };
        assert!(resolve(&mut with("jane"), "u", EXEC_DEFAULT_LIMIT).is_ok());
        let e = resolve(&mut with("ja:ne"), "u", EXEC_DEFAULT_LIMIT).unwrap_err();
        assert_eq!(
            e.message,
            "u: the username holds ':', which basic auth cannot carry"
        );
    }

    #[test]
    fn oidc_id_tokens_are_checked_and_gcp_refused() {
        let with = |name: &str, token: &str| {
            serde_json::from_value::<AuthInfo>(json!({ "auth-provider": {
                "name": name, "config": { "id-token": token },
            }}))
            .unwrap()
        };
        assert!(resolve(&mut with("oidc", "a.b.c"), "u", EXEC_DEFAULT_LIMIT).is_ok());
        let e = resolve(&mut with("oidc", "s3cret\n"), "u", EXEC_DEFAULT_LIMIT).unwrap_err();
        assert_eq!(
            e.message,
            "u: the oidc id-token is not a valid HTTP header value (it holds a control character)"
        );
        let e = resolve(&mut with("gcp", "t"), "u", EXEC_DEFAULT_LIMIT).unwrap_err();
        assert!(
            e.message
                .starts_with("u: the gcp auth provider is not supported")
        );
    }

    #[test]
    fn tokens_are_set_and_read_through_kube() {
        let mut auth = AuthInfo::default();
        set_token(&mut auth, "--token", "the token", "abc").unwrap();
        assert_eq!(token_of(&auth).as_deref(), Some("abc"));
        assert!(set_token(&mut auth, "--token", "the token", "a\rb").is_err());
    }

    #[test]
    fn token_files_are_trimmed_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p.display().to_string()
        };
        let mut auth = AuthInfo {
            token_file: Some(file("ok", "  t0k3n\n")),
            ..AuthInfo::default()
        };
        resolve(&mut auth, "u", EXEC_DEFAULT_LIMIT).unwrap();
        assert_eq!(token_of(&auth).as_deref(), Some("t0k3n"));
        assert!(auth.token_file.is_none());
        let bad = file("bad", "s3cret\nmore\n");
        let mut auth = AuthInfo {
            token_file: Some(bad.clone()),
            ..AuthInfo::default()
        };
        let e = resolve(&mut auth, "u", EXEC_DEFAULT_LIMIT).unwrap_err();
        assert_eq!(
            e.message,
            format!(
                "u: tokenFile {bad} is not a valid HTTP header value (it holds a control character)"
            )
        );
        let empty = file("empty", "\n");
        let mut auth = AuthInfo {
            token_file: Some(empty.clone()),
            ..AuthInfo::default()
        };
        let e = resolve(&mut auth, "u", EXEC_DEFAULT_LIMIT).unwrap_err();
        assert_eq!(
            e.message,
            format!("u: tokenFile {empty}: the file is empty")
        );
    }

    #[test]
    fn exec_answers_are_read_without_quoting_them() {
        let token = br#"{"kind":"ExecCredential","status":{"token":"t"}}"#;
        assert_eq!(parse_credential(token), Ok(Credential::Token("t".into())));
        let cert = br#"{"kind":"ExecCredential","status":{"clientCertificateData":"c","clientKeyData":"k"}}"#;
        assert_eq!(
            parse_credential(cert),
            Ok(Credential::Certificate {
                cert: "c".into(),
                key: "k".into()
            })
        );
        for bad in [
            &b"s3cret"[..],
            br#"{"kind":"Other","status":{"token":"s3cret"}}"#,
            br#"{"kind":"ExecCredential"}"#,
            br#"{"kind":"ExecCredential","status":{"token":["s3cret"]}}"#,
            br#"{"kind":"ExecCredential","status":{"clientKeyData":"s3cret"}}"#,
            br#"{"kind":"ExecCredential","status":{}}"#,
        ] {
            let why = parse_credential(bad).unwrap_err();
            assert!(!why.contains("s3cret") && !why.contains('\n'), "{why}");
        }
    }
}

//! Kubeconfig users, clusters and exec plugins: every failure is one line, never a secret.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fake_apiserver::{FakeApiServer, Fault, Options};
use serde_json::{Value, json};

use super::{Cluster, Run, assert_plain_lines, output, tap_metrics, tap_objects, warnings};

/// A kubeconfig in `dir` for `srv` whose one user (`tap`) is `user`, a
/// kubeconfig `user:` map. (JSON is YAML.)
fn kubeconfig_with_user(srv: &FakeApiServer, dir: &Path, user: Value) -> PathBuf {
    use base64::Engine as _;
    let ca = base64::engine::general_purpose::STANDARD.encode(&srv.ca_pem);
    let cfg = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "tap",
        "clusters": [{ "name": "tap", "cluster": { "server": srv.url, "certificate-authority-data": ca } }],
        "users": [{ "name": "tap", "user": user }],
        "contexts": [{ "name": "tap", "context": { "cluster": "tap", "user": "tap" } }],
    });
    let path = dir.join("config");
    std::fs::write(&path, cfg.to_string()).unwrap();
    path
}

fn run_with(kubeconfig: &Path, args: &[&str]) -> Run {
    let home = kubeconfig.parent().unwrap();
    let mut c = tap_metrics(home);
    c.arg("--kubeconfig").arg(kubeconfig).args(args);
    output(c)
}

/// One `error:` line, exit 1 or 2, and no secret in it.
fn assert_one_error(run: &Run, code: i32, expected: &str) {
    assert_plain_lines(run);
    assert_eq!(run.code, code, "{}", run.stderr);
    assert_eq!(run.stderr, format!("error: {expected}\n"));
    assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
}

#[test]
fn credentials_that_are_not_header_values_are_one_line_never_a_panic() {
    let c = Cluster::with(Options {
        objects: tap_objects(),
        token: Some("s3cret".into()),
        ..Options::default()
    });
    let not_header = "is not a valid HTTP header value (it holds a control character)";
    assert_one_error(
        &c.run(&["--token", "s3cret\n"]),
        2,
        &format!("--token: the token {not_header}"),
    );
    assert_one_error(
        &c.run(&["--as", "ja\nne"]),
        2,
        &format!("--as: the user name {not_header}"),
    );
    assert_one_error(
        &c.run(&["--as-group", "ops", "--as-group", "d\u{1b}vs"]),
        2,
        &format!("--as-group: the group name {not_header}"),
    );
    let dir = tempfile::tempdir().unwrap();
    let kc = kubeconfig_with_user(&c.srv, dir.path(), json!({ "token": "s3cret\nx" }));
    assert_one_error(
        &run_with(&kc, &[]),
        1,
        &format!("kubeconfig user \"tap\": token {not_header}"),
    );
    let kc = kubeconfig_with_user(
        &c.srv,
        dir.path(),
        json!({ "token": "s3cret", "as": "a\rb" }),
    );
    assert_one_error(
        &run_with(&kc, &[]),
        1,
        &format!("kubeconfig user \"tap\": as {not_header}"),
    );
    // A token file is trimmed as kubectl trims it; a line break inside is refused.
    let file = dir.path().join("token");
    let kc = kubeconfig_with_user(
        &c.srv,
        dir.path(),
        json!({ "tokenFile": file.display().to_string() }),
    );
    std::fs::write(&file, "s3cret\nx\n").unwrap();
    assert_one_error(
        &run_with(&kc, &[]),
        1,
        &format!(
            "kubeconfig user \"tap\": tokenFile {} {not_header}",
            file.display()
        ),
    );
    std::fs::write(&file, "s3cret\n").unwrap();
    assert_eq!(run_with(&kc, &["-o", "openmetrics"]).code, 0);
    assert!(c.srv.requests().iter().all(|r| r.authorized));
}

#[test]
fn users_and_clusters_that_do_not_exist_are_usage_errors() {
    let c = Cluster::start(vec![]);
    let origin = c.kubeconfig().display().to_string();
    assert_one_error(
        &c.run(&["--user", "nope"]),
        2,
        &format!(
            "--user nope: auth info \"nope\" does not exist in kubeconfig {origin} (users: tap)"
        ),
    );
    assert_one_error(
        &c.run(&["--cluster", "nope"]),
        2,
        &format!(
            "--cluster nope: cluster \"nope\" does not exist in kubeconfig {origin} (clusters: tap)"
        ),
    );
    // Not a silent anonymous connection: the server was never asked.
    assert!(c.srv.requests().is_empty());
    assert_eq!(c.run(&["--user", "tap", "--cluster", "tap"]).code, 0);
}

#[test]
fn exec_plugins_are_bounded_and_fail_in_one_line() {
    use std::os::unix::fs::PermissionsExt;
    let c = Cluster::with(Options {
        objects: tap_objects(),
        token: Some("s3cret".into()),
        ..Options::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let plugin = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.display().to_string()
    };
    let answer = |token: &str| {
        let cred = json!({
            "apiVersion": "client.authentication.k8s.io/v1",
            "kind": "ExecCredential",
            "status": { "token": token },
        });
        format!("printf '%s\\n' '{cred}'")
    };
    let with = |command: &str| {
        kubeconfig_with_user(
            &c.srv,
            dir.path(),
            json!({ "exec": {
                "apiVersion": "client.authentication.k8s.io/v1",
                "command": command,
                "interactiveMode": "Never",
            }}),
        )
    };
    let ok = plugin("ok", &answer("s3cret"));
    let run = run_with(&with(&ok), &["-o", "openmetrics"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(c.srv.requests().iter().all(|r| r.authorized));

    let cases = [
        (
            // A script: what it started is stopped with it.
            plugin("sleeps", "sleep 37.25 && echo {}"),
            "gave no answer within 1s (--request-timeout) and was stopped",
        ),
        (
            plugin("garbage", "echo 'garbage {'\necho s3cret"),
            "printed no ExecCredential (not JSON)",
        ),
        (
            plugin(
                "fails",
                "echo first >&2\necho 'no credentials found' >&2\nexit 3",
            ),
            "exited with status 3: no credentials found",
        ),
        (
            plugin("bad-token", &answer("s3cret\nx")),
            "token is not a valid HTTP header value (it holds a control character)",
        ),
        (
            dir.path().join("missing").display().to_string(),
            "was not found",
        ),
    ];
    for (command, why) in cases {
        let started = Instant::now();
        let run = run_with(&with(&command), &["--request-timeout", "1s"]);
        assert!(started.elapsed() < Duration::from_secs(10), "{command}");
        let expected = format!("kubeconfig user \"tap\": exec plugin {command:?} {why}");
        assert_one_error(&run, 1, &expected);
    }
    assert!(!sleeping("37.25"), "the plugin's sleep was left running");
}

/// A live process runs `sleep arg` (Linux /proc; a zombie has no command line).
fn sleeping(arg: &str) -> bool {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    let wanted = format!("sleep\0{arg}\0").into_bytes();
    procs
        .flatten()
        .any(|p| std::fs::read(p.path().join("cmdline")).is_ok_and(|c| c == wanted))
}

#[test]
fn kubeconfig_parse_errors_are_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("config");
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: {token: s3cret, [\n",
    )
    .unwrap();
    let run = run_with(&kc, &[]);
    assert_plain_lines(&run);
    assert_eq!(run.code, 1);
    let prefix = format!("error: kubeconfig {}: invalid YAML: line ", kc.display());
    assert!(run.stderr.starts_with(&prefix), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
    // An endless kubeconfig is refused at a bound, not read into memory.
    let run = run_with(Path::new("/dev/zero"), &[]);
    assert_eq!(
        run.stderr,
        "error: kubeconfig /dev/zero: larger than 16 MiB\n"
    );
}

#[test]
fn server_error_bodies_are_one_bounded_line() {
    let page = "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n\
                <center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    let c = Cluster::start(vec![(
        "workloads",
        Fault::ErrorBody {
            status: 403,
            content_type: "text/html".into(),
            body: page.into(),
        },
    )]);
    let run = c.run(&["-o", "openmetrics"]);
    assert_plain_lines(&run);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(
            "warning: cannot list workloads.carto.run in all namespaces: 403 Forbidden: 403 Forbidden\n"
        ),
        "{}",
        run.stderr
    );
    let message = format!(
        "admission denied:\n{}\u{1b}]0;owned\u{7}",
        "a long reason ".repeat(2000)
    );
    let status = json!({
        "kind": "Status", "apiVersion": "v1", "status": "Failure",
        "message": message, "reason": "Forbidden\nreally", "code": 403,
    });
    let c = Cluster::start(vec![(
        "workloads",
        Fault::ErrorBody {
            status: 403,
            content_type: "application/json".into(),
            body: status.to_string(),
        },
    )]);
    let run = c.run(&["-o", "openmetrics"]);
    assert_plain_lines(&run);
    let line = run.stderr.lines().next().unwrap();
    assert!(
        line.starts_with("warning: cannot list workloads.carto.run in all namespaces: 403 Forbidden really: admission denied: a long reason a long"),
        "{line}"
    );
    assert!(line.ends_with('…') && line.chars().count() < 500, "{line}");
    assert!(!run.stderr.contains('\u{1b}'));
    // A list whose items are one long string: serde quotes it, bounded.
    let long = format!("{}\n{}", "x".repeat(5000), "y".repeat(5000));
    let c = Cluster::start(vec![("workloads", Fault::BadItems(json!(long)))]);
    let run = c.run(&["-o", "openmetrics"]);
    assert_plain_lines(&run);
    let line = run.stderr.lines().next().unwrap();
    assert!(
        line.contains(" answered an invalid list: invalid type: string \"xxx")
            && line.chars().count() < 600,
        "{line}"
    );
}

#[test]
fn server_urls_never_show_their_password() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("config");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster: {{server: 'https://me:s3cret@127.0.0.1:{port}'}}\nusers:\n- name: u\n  user: {{token: x}}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u}}\n"
        ),
    )
    .unwrap();
    assert_one_error(
        &run_with(&kc, &[]),
        1,
        &format!("cannot reach https://REDACTED@127.0.0.1:{port}: Connection refused"),
    );
    let run = output({
        let mut c = tap_metrics(dir.path());
        c.args(["--server", "https://me:s3cret@"]);
        c
    });
    assert_one_error(&run, 2, "--server \"https://REDACTED@\" is not a URL");
}

#[test]
fn a_failing_plugin_of_one_context_leaves_the_others_read() {
    use base64::Engine as _;
    use std::os::unix::fs::PermissionsExt;
    let good = Cluster::start(vec![]);
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("expired");
    std::fs::write(&plugin, "#!/bin/sh\necho 'session expired' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cluster = |srv: &FakeApiServer| {
        let ca = base64::engine::general_purpose::STANDARD.encode(&srv.ca_pem);
        json!({ "server": srv.url, "certificate-authority-data": ca })
    };
    let cfg = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            { "name": "good", "cluster": cluster(&good.srv) },
            { "name": "sso", "cluster": cluster(&good.srv) },
        ],
        "users": [
            { "name": "good", "user": { "token": "any" } },
            { "name": "sso", "user": { "exec": {
                "apiVersion": "client.authentication.k8s.io/v1",
                "command": plugin.display().to_string(),
                "interactiveMode": "Never",
            }}},
        ],
        "contexts": [
            { "name": "good", "context": { "cluster": "good", "user": "good" } },
            { "name": "sso", "context": { "cluster": "sso", "user": "sso" } },
        ],
    });
    let kc = dir.path().join("config");
    std::fs::write(&kc, cfg.to_string()).unwrap();
    let run = run_with(&kc, &["--all-contexts", "-o", "openmetrics"]);
    assert_plain_lines(&run);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert_eq!(
        warnings(&run.stderr),
        format!(
            "warning: context \"sso\": kubeconfig user \"sso\": exec plugin {:?} exited with status 1: session expired\n\
             warning: partial result: 1 of 2 clusters could not be read (exit code 5)\n",
            plugin.display().to_string()
        )
    );
    assert!(run.stdout.contains("cluster=\"good\""));
    assert!(!run.stdout.contains("cluster=\"sso\""));
}

//! How a run behaves: progress on a terminal, in-cluster service accounts, streaming output.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fake_apiserver::{Fault, Options};

use super::{BIN, Cluster, output, tap_metrics, tap_objects, warnings};

#[test]
fn progress_is_drawn_only_on_a_terminal() {
    let Some(script) = tool("script") else { return };
    let c = Cluster::start(vec![("workloads", Fault::Slow(Duration::from_millis(500)))]);
    let cmd = format!(
        "{BIN} --kubeconfig {} -o openmetrics > /dev/null",
        c.kubeconfig().display()
    );
    let on_tty = |extra: &str| {
        let out = std::process::Command::new(&script)
            .args(["-qec", &format!("{cmd} {extra}"), "/dev/null"])
            .env_remove("KUBECONFIG")
            .env("HOME", c.dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = on_tty("");
    assert!(shown.contains("listing: "), "{shown:?}");
    assert!(shown.contains(" objects"), "{shown:?}");
    assert!(!on_tty("-q").contains("listing: "));
    // Not a terminal: no progress line.
    assert!(!c.run(&["-o", "openmetrics"]).stderr.contains("listing: "));
}

/// A tool the test needs; under CI=true its absence fails the test.
fn tool(name: &str) -> Option<PathBuf> {
    let found = ["/usr/bin", "/bin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{name} is required under CI=true but was not found"
        );
        eprintln!("note: {name} not found; skipping");
    }
    found
}

#[test]
fn in_cluster_service_account_is_used_without_a_kubeconfig() {
    let c = Cluster::with(Options {
        objects: tap_objects(),
        token: Some("sa-token".into()),
        ..Options::default()
    });
    let full = c.run(&["-o", "openmetrics"]).ok();
    c.srv.clear_requests();
    let port = c.srv.host().rsplit(':').next().unwrap().to_string();
    let home = tempfile::tempdir().unwrap();
    let sa = tempfile::tempdir().unwrap();
    std::fs::write(sa.path().join("token"), "sa-token").unwrap();
    std::fs::write(sa.path().join("ca.crt"), &c.srv.ca_pem).unwrap();
    std::fs::write(sa.path().join("namespace"), "tap").unwrap();

    // Without the service account files, the reason is given.
    let mut plain = tap_metrics(home.path());
    plain
        .env("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        .env("KUBERNETES_SERVICE_PORT", &port)
        .args(["-o", "openmetrics"]);
    if !Path::new("/var/run/secrets/kubernetes.io/serviceaccount/token").exists() {
        let run = output(plain);
        assert_eq!(run.code, 1);
        assert!(
            run.stderr.starts_with(
                "error: no kubeconfig, and the in-cluster service account cannot be used: "
            ),
            "{}",
            run.stderr
        );
    }

    // kube reads the fixed paths under /var/run/secrets/kubernetes.io/serviceaccount:
    // give the binary its own mount namespace with the files there (needs root).
    let Some(unshare) = tool("unshare") else {
        return;
    };
    let mount = format!(
        "mount -t tmpfs tmpfs /var/run && mkdir -p {d} && cp {src}/* {d}/ && exec \"$0\" \"$@\"",
        d = "/var/run/secrets/kubernetes.io/serviceaccount",
        src = sa.path().display()
    );
    let probe = std::process::Command::new(&unshare)
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            "mount -t tmpfs tmpfs /var/run",
        ])
        .output()
        .unwrap();
    if !probe.status.success() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the in-cluster test needs a private mount namespace (root) under CI=true: {}",
            String::from_utf8_lossy(&probe.stderr)
        );
        eprintln!("note: cannot create a mount namespace (not root?); skipping the in-cluster run");
        return;
    }
    let mut cmd = assert_cmd::Command::new(&unshare);
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        &mount,
        BIN,
        "-o",
        "openmetrics",
    ])
    .env_remove("KUBECONFIG")
    .env("HOME", home.path())
    .env("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    .env("KUBERNETES_SERVICE_PORT", &port);
    let run = output(cmd);
    assert_eq!(warnings(&run.stderr), "");
    assert_eq!(run.ok(), full);
    let reqs = c.srv.requests();
    assert!(!reqs.is_empty());
    assert!(
        reqs.iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer sa-token")),
        "the service account token is sent"
    );
}

/// The binary reading `c`, its stdout and stderr piped, started now.
fn spawn_piped(c: &Cluster, args: &[&str]) -> std::process::Child {
    std::process::Command::new(BIN)
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("HOME", c.dir.path())
        .arg("--kubeconfig")
        .arg(c.kubeconfig())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn families_are_written_while_later_lists_still_run() {
    use std::io::{BufRead, Read};
    // App is the config's last resource: everything before it can be written
    // while its list waits.
    let slow = Duration::from_secs(3);
    let c = Cluster::start(vec![("apps.kappctrl.k14s.io", Fault::Slow(slow))]);
    let started = Instant::now();
    let mut child = spawn_piped(&c, &["-o", "openmetrics"]);
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "first line after {:?}",
        started.elapsed()
    );
    assert!(child.try_wait().unwrap().is_none(), "the run already ended");
    assert!(first.starts_with("# HELP accelerator_fragment"), "{first}");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(started.elapsed() >= slow);
    // The same text as when nothing waits.
    let whole = Cluster::start(vec![]).run(&["-o", "openmetrics"]).ok();
    assert_eq!(first + &rest, whole);
}

#[test]
fn a_reader_that_stops_early_ends_the_output_quietly() {
    use std::io::BufRead;
    let c = Cluster::start(vec![(
        "apps.kappctrl.k14s.io",
        Fault::Slow(Duration::from_secs(1)),
    )]);
    for format in ["openmetrics", "prometheus", "json"] {
        let mut child = spawn_piped(&c, &["-o", format]);
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        drop(out);
        let done = child.wait_with_output().unwrap();
        assert!(done.status.success(), "{format}: {done:?}");
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert!(
            !stderr.contains("error:") && !stderr.contains("pipe"),
            "{format}: {stderr}"
        );
    }
}

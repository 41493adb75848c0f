//! Which objects and clusters are read: selector and namespace, several contexts, connections, credentials and certificates.

use std::time::{Duration, Instant};

use fake_apiserver::{FakeApiServer, Fault, Options, write_kubeconfig_multi};
use serde_json::Value;

use super::{Cluster, WORKLOADS, from_file, output, samples, tap_metrics, tap_objects, warnings};

#[test]
fn selector_and_namespace_go_to_the_server() {
    let c = Cluster::start(vec![]);
    let run = c.run(&[
        "-o",
        "openmetrics",
        "-n",
        "dev",
        "-l",
        "app.kubernetes.io/part-of!=x",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ns = c.list_requests("/apis/carto.run/v1alpha1/namespaces/dev/workloads");
    assert_eq!(ns.len(), 1);
    assert_eq!(
        ns[0].param("labelSelector").as_deref(),
        Some("app.kubernetes.io/part-of!=x")
    );
    assert!(c.list_requests(WORKLOADS).is_empty());
    // Cluster-scoped kinds are read cluster-wide even with -n.
    let cic =
        c.list_requests("/apis/services.apps.tanzu.vmware.com/v1alpha1/clusterinstanceclasses");
    assert_eq!(cic.len(), 1);
    // Only objects of namespace dev (and cluster-scoped ones) are in the output.
    for line in samples(&run.stdout) {
        if let Some(i) = line
            .find(",namespace=\"")
            .or_else(|| line.find("{namespace=\""))
        {
            assert!(line[i + 1..].starts_with("namespace=\"dev\""), "{line}");
        }
    }
    let expected: Vec<Value> = c
        .served_objects()
        .into_iter()
        .filter(|o| {
            o["metadata"]["namespace"]
                .as_str()
                .is_none_or(|n| n == "dev")
                && o["metadata"]["labels"]["app.kubernetes.io/part-of"] != "x"
        })
        .collect();
    assert_eq!(run.stdout, from_file(expected, &["-o", "openmetrics"]));

    let bad = c.run(&["-o", "openmetrics", "-l", "a b"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr
            .starts_with("error: -l \"a b\": the API server rejects it: 400 BadRequest: "),
        "{}",
        bad.stderr
    );
    let bad = c.run(&["-n", "Not/A/Namespace"]);
    assert_eq!(bad.code, 2);
    assert_eq!(
        bad.stderr,
        "error: -n \"Not/A/Namespace\" is not a valid namespace name\n"
    );
}

#[test]
fn two_contexts_are_read_at_once_and_labelled() {
    let build = Cluster::start(vec![]);
    let run_objects: Vec<Value> = tap_objects()
        .into_iter()
        .filter(|o| {
            o["apiVersion"]
                .as_str()
                .unwrap()
                .starts_with("serving.knative.dev/")
        })
        .collect();
    let run_cluster = Cluster::with(Options {
        objects: run_objects,
        faults: vec![("images.kpack.io".into(), Fault::NotFound)],
        ..Options::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    write_kubeconfig_multi(
        &kubeconfig,
        &[("build", &build.srv), ("run", &run_cluster.srv)],
        "build",
    );
    let tm = |args: &[&str]| {
        let mut c = tap_metrics(dir.path());
        c.arg("--kubeconfig").arg(&kubeconfig).args(args);
        output(c)
    };
    let single_build = tm(&["-o", "openmetrics"]).ok();
    let single_run = tm(&["-o", "openmetrics", "--context", "run"]);
    assert_eq!(single_run.code, 0);
    let single_run = single_run.stdout;

    let both = tm(&[
        "-o",
        "openmetrics",
        "--context",
        "build",
        "--context",
        "run",
    ]);
    assert_eq!(both.code, 0, "{}", both.stderr);
    assert_eq!(
        warnings(&both.stderr),
        "warning: context \"run\": kpack.io/v1alpha2/Image is not served by the cluster (no kind Image in kpack.io: CRD not installed?); skipped\n"
    );
    let lines = samples(&both.stdout);
    assert_eq!(
        lines.len(),
        samples(&single_build).len() + samples(&single_run).len()
    );
    let strip = |l: &str, c: &str| l.replace(&format!("cluster=\"{c}\","), "");
    let from_build: Vec<String> = lines
        .iter()
        .filter(|l| l.contains("cluster=\"build\""))
        .map(|l| strip(l, "build"))
        .collect();
    let from_run: Vec<String> = lines
        .iter()
        .filter(|l| l.contains("cluster=\"run\""))
        .map(|l| strip(l, "run"))
        .collect();
    assert_eq!(
        from_build.len() + from_run.len(),
        lines.len(),
        "every sample is labelled"
    );
    let mut want_build: Vec<&str> = samples(&single_build);
    let mut got_build: Vec<&str> = from_build.iter().map(String::as_str).collect();
    want_build.sort();
    got_build.sort();
    assert_eq!(got_build, want_build);
    let mut want_run: Vec<&str> = samples(&single_run);
    let mut got_run: Vec<&str> = from_run.iter().map(String::as_str).collect();
    want_run.sort();
    got_run.sort();
    assert_eq!(got_run, want_run);
    // Families stay in config order, build's samples before run's in each.
    let knative = lines
        .iter()
        .position(|l| l.starts_with("knative_service_") && l.contains("cluster=\"build\""))
        .unwrap();
    let knative_run = lines
        .iter()
        .position(|l| l.starts_with("knative_service_") && l.contains("cluster=\"run\""))
        .unwrap();
    assert!(knative < knative_run);

    // --all-contexts is the same here; the output does not depend on timing.
    assert_eq!(
        tm(&["-o", "openmetrics", "--all-contexts"]).stdout,
        both.stdout
    );
    let renamed = tm(&[
        "-o",
        "openmetrics",
        "--all-contexts",
        "--cluster-label",
        "kube_context",
    ])
    .ok();
    // Label names are sorted, so the renamed label moves: count instead of compare.
    assert!(!renamed.contains("cluster=\""));
    assert_eq!(
        renamed.matches("kube_context=\"build\"").count(),
        from_build.len()
    );
    assert_eq!(
        renamed.matches("kube_context=\"run\"").count(),
        from_run.len()
    );
    let unlabelled = tm(&["-o", "openmetrics", "--all-contexts", "--cluster-label", ""]).ok();
    assert!(!unlabelled.contains("cluster=\""));
    // Without the label the run cluster's copies of build's objects are the
    // same series, which the renderer writes once.
    let mut distinct: Vec<&str> = from_build
        .iter()
        .chain(&from_run)
        .map(String::as_str)
        .collect();
    distinct.sort();
    distinct.dedup();
    let mut got: Vec<&str> = samples(&unlabelled);
    got.sort();
    assert_eq!(got, distinct);
    let bad = tm(&["--all-contexts", "--cluster-label", "a-b"]);
    assert_eq!(bad.code, 2);

    // One cluster down: the other is still produced, as a partial result.
    drop(run_cluster);
    let half = tm(&["-o", "openmetrics", "--all-contexts"]);
    assert_eq!(half.code, 5, "{}", half.stderr);
    assert!(
        half.stderr
            .starts_with("warning: context \"run\": cannot reach https://127.0.0.1:"),
        "{}",
        half.stderr
    );
    assert!(
        warnings(&half.stderr).ends_with(
            "warning: partial result: 1 of 2 clusters could not be read (exit code 5)\n"
        )
    );
    assert_eq!(samples(&half.stdout).len(), samples(&single_build).len());
}

#[test]
fn a_refused_connection_is_one_clear_line() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: gone\nclusters:\n- name: gone\n  cluster: {{server: 'https://127.0.0.1:{port}'}}\nusers:\n- name: gone\n  user: {{token: x}}\ncontexts:\n- name: gone\n  context: {{cluster: gone, user: gone}}\n"
        ),
    )
    .unwrap();
    let mut c = tap_metrics(dir.path());
    c.env("KUBECONFIG", &kubeconfig);
    let run = output(c);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!("error: cannot reach https://127.0.0.1:{port}: Connection refused\n")
    );
}

#[test]
fn slow_answers_hit_the_request_timeout() {
    let c = Cluster::start(vec![("workloads", Fault::Slow(Duration::from_secs(5)))]);
    let started = Instant::now();
    let run = c.run(&["-o", "openmetrics", "--request-timeout", "1s"]);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!(
            "warning: cannot list workloads.carto.run in all namespaces: no answer from {} within 1s (--request-timeout)\n",
            c.srv.url
        )),
        "{}",
        run.stderr
    );
    let bad = c.run(&["--request-timeout", "soon"]);
    assert_eq!(bad.code, 2);
}

#[test]
fn credentials_and_certificates_are_checked() {
    let c = Cluster::with(Options {
        objects: tap_objects(),
        token: Some("s3cret".into()),
        ..Options::default()
    });
    let full = c.run(&["-o", "openmetrics"]).ok();
    assert!(c.srv.requests().iter().all(|r| r.authorized));
    let run = c.run(&["-o", "openmetrics", "--token", "wrong"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        format!(
            "error: the API server {} rejected the credentials (401 Unauthorized: Unauthorized)\n",
            c.srv.url
        )
    );
    // Another cluster's CA does not vouch for this server.
    let other = FakeApiServer::start(Options::default());
    let ca = c.dir.path().join("other-ca.crt");
    std::fs::write(&ca, &other.ca_pem).unwrap();
    let run = c.run(&[
        "-o",
        "openmetrics",
        "--certificate-authority",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1);
    // Both fake CAs have the same name: rustls finds the issuer, not its signature.
    assert!(
        run.stderr.starts_with(&format!(
            "error: cannot reach {}: invalid peer certificate: ",
            c.srv.url
        )),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1);
    let run = c.run(&[
        "-o",
        "openmetrics",
        "--certificate-authority",
        ca.to_str().unwrap(),
        "--insecure-skip-tls-verify",
    ]);
    assert_eq!(run.ok(), full);
    // The server's own CA, and impersonation headers reach it.
    let own = c.dir.path().join("ca.crt");
    std::fs::write(&own, &c.srv.ca_pem).unwrap();
    let run = c.run(&[
        "-o",
        "openmetrics",
        "--certificate-authority",
        own.to_str().unwrap(),
        "--as",
        "jane",
    ]);
    assert_eq!(run.ok(), full);
}

#[test]
fn contexts_that_do_not_exist_are_usage_errors() {
    let c = Cluster::start(vec![]);
    let run = c.run(&["--context", "nope"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        format!(
            "error: --context nope: no such context in kubeconfig {} (contexts: tap)\n",
            c.kubeconfig().display()
        )
    );
    let dir = tempfile::tempdir().unwrap();
    let run = output(tap_metrics(dir.path()));
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("error: no kubeconfig found (none: "),
        "{}",
        run.stderr
    );
}

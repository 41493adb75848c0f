//! The live cluster source, through the real binary against the fake API
//! server (HTTPS, generated CA, generated kubeconfig).

#[path = "support/fake_apiserver.rs"]
mod fake_apiserver;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fake_apiserver::{FakeApiServer, Fault, Options, tap_crds, write_kubeconfig_multi};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-tap_metrics");
const WORKLOADS: &str = "/apis/carto.run/v1alpha1/workloads";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(self) -> String {
        assert_eq!(self.code, 0, "stderr:\n{}", self.stderr);
        self.stdout
    }
}

/// The binary with a clean environment: no kubeconfig, not in a pod.
fn tap_metrics(home: &Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(BIN);
    c.env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env("HOME", home)
        .timeout(Duration::from_secs(120));
    c
}

fn output(mut c: assert_cmd::Command) -> Run {
    let out = c.output().expect("run kubectl-tap_metrics");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The realistic TAP objects the project ships as an example.
fn tap_objects() -> Vec<Value> {
    FakeApiServer::load_objects(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tap-objects.yaml"),
    )
}

/// A fake cluster holding the example objects, and a kubeconfig for it.
struct Cluster {
    srv: FakeApiServer,
    dir: tempfile::TempDir,
}

impl Cluster {
    fn start(faults: Vec<(&str, Fault)>) -> Cluster {
        Cluster::with(Options {
            objects: tap_objects(),
            faults: faults
                .into_iter()
                .map(|(k, f)| (k.to_string(), f))
                .collect(),
            ..Options::default()
        })
    }

    fn with(opts: Options) -> Cluster {
        let srv = FakeApiServer::start(opts);
        let dir = tempfile::tempdir().unwrap();
        srv.write_kubeconfig(&dir.path().join("config"), "tap");
        Cluster { srv, dir }
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut c = tap_metrics(self.dir.path());
        c.arg("--kubeconfig").arg(self.kubeconfig()).args(args);
        output(c)
    }

    /// Every object as the server serves it (preferred versions, server-set
    /// metadata), listed without pages, in the order of the CRDs.
    fn served_objects(&self) -> Vec<Value> {
        let ca = reqwest::Certificate::from_pem(self.srv.ca_pem.as_bytes()).unwrap();
        let client = reqwest::Client::builder()
            .no_proxy()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .build()
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut items = Vec::new();
        for crd in tap_crds() {
            // The first version of each fake CRD is also its preferred one.
            let url = format!(
                "{}/apis/{}/{}/{}",
                self.srv.url, crd.group, crd.versions[0], crd.plural
            );
            let list: Value = rt.block_on(async {
                let token = self.srv.token.as_deref().unwrap_or("any");
                let r = client.get(&url).bearer_auth(token).send().await.unwrap();
                assert_eq!(r.status(), 200, "{url}");
                serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
            });
            items.extend(list["items"].as_array().unwrap().iter().cloned());
        }
        items
    }

    fn list_requests(&self, path: &str) -> Vec<fake_apiserver::Request> {
        self.srv.requests_to(path)
    }
}

/// Runs `--from-file` on `objects` written as one `List`.
fn from_file_run(objects: Vec<Value>, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("objects.json");
    let list = json!({ "apiVersion": "v1", "kind": "List", "items": objects });
    std::fs::write(&path, serde_json::to_vec(&list).unwrap()).unwrap();
    let mut c = tap_metrics(dir.path());
    c.arg("--from-file").arg(&path).args(args);
    output(c)
}

fn from_file(objects: Vec<Value>, args: &[&str]) -> String {
    from_file_run(objects, args).ok()
}

/// stderr without the evaluation-error summary: the example objects have a
/// couple of fields KSM cannot read either, which any source reports alike.
fn warnings(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.contains(" evaluation errors, samples skipped"))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn samples(openmetrics: &str) -> Vec<&str> {
    openmetrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect()
}

/// The kinds samples were made of, sorted.
fn kinds(openmetrics: &str) -> Vec<&str> {
    let mut kinds: Vec<&str> = samples(openmetrics)
        .into_iter()
        .filter_map(|l| l.split("customresource_kind=\"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

#[test]
fn output_equals_the_from_file_output_for_the_same_objects() {
    let c = Cluster::start(vec![]);
    let run = c.run(&["-o", "openmetrics"]);
    let file = from_file_run(c.served_objects(), &["-o", "openmetrics"]);
    assert_eq!(
        run.stderr, file.stderr,
        "the same evaluation errors, and nothing else"
    );
    assert_eq!(warnings(&run.stderr), "");
    let live = run.ok();
    assert_eq!(live, file.ok());
    assert!(live.ends_with("# EOF\n"));
    // Every one of the 21 kinds contributed.
    let mut want: Vec<String> = tap_crds().into_iter().map(|c| c.kind).collect();
    want.sort();
    assert_eq!(kinds(&live), want);
    assert!(
        !live.contains("cluster=\""),
        "one cluster: no cluster label"
    );
    // The same with JSON output, which carries every label too.
    assert_eq!(
        c.run(&["-o", "json"]).ok(),
        from_file(c.served_objects(), &["-o", "json"])
    );
}

#[test]
fn pages_of_one_object_are_followed_to_the_end() {
    let c = Cluster::start(vec![]);
    let whole = c.run(&["-o", "openmetrics"]).ok();
    let whole_requests = c.list_requests(WORKLOADS);
    assert_eq!(whole_requests.len(), 1);
    assert_eq!(whole_requests[0].param("limit").as_deref(), Some("500"));
    c.srv.clear_requests();

    let paged = c.run(&["-o", "openmetrics", "--chunk-size", "1"]).ok();
    assert_eq!(paged, whole);
    let workloads = tap_objects()
        .iter()
        .filter(|o| o["kind"] == "Workload")
        .count();
    let reqs = c.list_requests(WORKLOADS);
    // One page per object, and a last one that says there is no more.
    assert!(
        reqs.len() == workloads || reqs.len() == workloads + 1,
        "{} requests for {workloads} workloads",
        reqs.len()
    );
    assert!(
        reqs.iter()
            .all(|r| r.param("limit").as_deref() == Some("1"))
    );
    assert!(reqs[0].param("continue").is_none());
    let tokens: Vec<String> = reqs[1..]
        .iter()
        .filter_map(|r| r.param("continue"))
        .collect();
    assert_eq!(tokens.len(), reqs.len() - 1);
    let mut unique = tokens.clone();
    unique.dedup();
    assert_eq!(unique, tokens, "each page continues from a new token");

    // --chunk-size 0: one unpaginated list per resource.
    c.srv.clear_requests();
    assert_eq!(
        c.run(&["-o", "openmetrics", "--chunk-size", "0"]).ok(),
        whole
    );
    let reqs = c.list_requests(WORKLOADS);
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].param("limit"), None);
}

#[test]
fn resources_whose_crd_is_missing_are_skipped_with_one_warning_each() {
    let c = Cluster::start(vec![
        ("workloads.carto.run", Fault::NotFound),
        ("builds.kpack.io", Fault::NotFound),
    ]);
    let run = c.run(&["-o", "openmetrics"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        warnings(&run.stderr),
        "warning: carto.run/v1alpha1/Workload is not served by the cluster (no kind Workload in carto.run: CRD not installed?); skipped\n\
         warning: kpack.io/v1alpha2/Build is not served by the cluster (no kind Build in kpack.io: CRD not installed?); skipped\n"
    );
    let kinds = kinds(&run.stdout);
    assert_eq!(kinds.len(), 19, "{kinds:?}");
    assert!(!kinds.contains(&"Workload") && !kinds.contains(&"Build"));
    assert!(
        c.list_requests(WORKLOADS).is_empty(),
        "nothing listed that discovery did not show"
    );
}

#[test]
fn forbidden_resources_give_a_partial_result_and_exit_code_5() {
    let c = Cluster::start(vec![
        ("workloads", Fault::Forbidden),
        ("clusterinstanceclasses", Fault::Forbidden),
    ]);
    let full = Cluster::start(vec![]).run(&["-o", "openmetrics"]).ok();
    let run = c.run(&["-o", "openmetrics"]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    let stderr = warnings(&run.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stderr);
    assert!(
        lines[0].starts_with("warning: cannot list clusterinstanceclasses.services.apps.tanzu.vmware.com (cluster-scoped): 403 Forbidden: "),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("warning: cannot list workloads.carto.run in all namespaces: 403 Forbidden: workloads.carto.run is forbidden: User \"system:serviceaccount:tap:tap-metrics\" cannot list resource \"workloads\""),
        "{}",
        lines[1]
    );
    assert_eq!(
        lines[2],
        "warning: partial result: 2 of 21 resources could not be read (exit code 5)"
    );
    // Everything else is there, exactly as without the denial.
    let kept: Vec<&str> = samples(&full)
        .into_iter()
        .filter(|l| {
            !l.contains("customresource_kind=\"Workload\"")
                && !l.contains("customresource_kind=\"ClusterInstanceClass\"")
        })
        .collect();
    assert_eq!(samples(&run.stdout), kept);

    let run = c.run(&["-o", "openmetrics", "-n", "dev", "-q"]);
    assert_eq!(run.code, 5);
    assert_eq!(run.stderr, "", "-q keeps warnings quiet");
    let run = c.run(&["-o", "openmetrics", "-n", "dev"]);
    assert!(
        run.stderr.contains(
            "warning: cannot list workloads.carto.run in namespace \"dev\": 403 Forbidden: "
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn nothing_readable_is_a_failure() {
    let faults = tap_crds()
        .into_iter()
        .map(|c| (c.name(), Fault::Forbidden))
        .collect();
    let c = Cluster::with(Options {
        objects: tap_objects(),
        faults,
        ..Options::default()
    });
    let run = c.run(&["-o", "openmetrics"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.matches("403 Forbidden").count(), 21);
    assert!(
        run.stderr.ends_with(
            "error: nothing could be read: all 21 resources failed (see the warnings above)\n"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn throttling_and_server_errors_are_retried() {
    let c = Cluster::start(vec![
        (
            "workloads",
            Fault::TooManyRequests {
                retry_after_secs: 1,
                times: 2,
            },
        ),
        ("builds", Fault::ServerError { times: 2 }),
    ]);
    let full = Cluster::start(vec![]).run(&["-o", "openmetrics"]).ok();
    let started = Instant::now();
    let run = c.run(&["-o", "openmetrics"]);
    let took = started.elapsed();
    assert_eq!(warnings(&run.stderr), "");
    assert_eq!(run.ok(), full);
    let statuses: Vec<u16> = c
        .list_requests(WORKLOADS)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [429, 429, 200]);
    let statuses: Vec<u16> = c
        .list_requests("/apis/kpack.io/v1alpha2/builds")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [500, 500, 200]);
    assert!(
        took >= Duration::from_secs(2),
        "Retry-After: 1 was not honoured: {took:?}"
    );
}

#[test]
fn retries_are_bounded() {
    let c = Cluster::start(vec![("builds", Fault::ServerError { times: 100 })]);
    let run = c.run(&["-o", "openmetrics"]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(
            "warning: cannot list builds.kpack.io in all namespaces: 500 InternalError: Internal error occurred: fake apiserver injected failure (gave up after 6 attempts)\n"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(c.list_requests("/apis/kpack.io/v1alpha2/builds").len(), 6);
}

#[test]
fn an_expired_continue_token_restarts_the_list_once() {
    let c = Cluster::start(vec![("workloads", Fault::GoneOnContinue)]);
    let full = Cluster::start(vec![]).run(&["-o", "openmetrics"]).ok();
    let run = c.run(&["-o", "openmetrics", "--chunk-size", "2"]);
    assert_eq!(warnings(&run.stderr), "");
    assert_eq!(run.ok(), full, "no object lost or counted twice");
    let reqs = c.list_requests(WORKLOADS);
    assert_eq!(reqs[0].param("continue"), None);
    assert_eq!(reqs[1].status, 410);
    assert_eq!(
        reqs[2].param("continue"),
        None,
        "restarted from the beginning"
    );
    assert!(reqs[2..].iter().all(|r| r.status == 200));
}

/// The samples of `full` but those of `kinds`: what a run that could not
/// read those kinds still produces.
fn samples_without<'a>(full: &'a str, kinds: &[&str]) -> Vec<&'a str> {
    samples(full)
        .into_iter()
        .filter(|l| {
            !kinds
                .iter()
                .any(|k| l.contains(&format!("customresource_kind=\"{k}\"")))
        })
        .collect()
}

/// stderr is plain one-line `warning:`/`error:` messages: no panic, no
/// backtrace, no Rust debug dump of an error.
fn assert_plain_lines(run: &Run) {
    assert_ne!(run.code, 101, "panicked:\n{}", run.stderr);
    for line in run.stderr.lines() {
        assert!(
            line.starts_with("warning: ") || line.starts_with("error: "),
            "not a message line: {line:?}\nstderr:\n{}",
            run.stderr
        );
        for dump in [
            "panicked",
            "backtrace",
            "Error {",
            "Custom {",
            "kind: ",
            "Some(",
            "Os {",
            "\\n",
        ] {
            assert!(!line.contains(dump), "{dump:?} in {line:?}");
        }
    }
}

#[test]
fn an_html_answer_to_a_list_names_the_resource_and_its_url() {
    // A proxy in front of the API server answering with its login page.
    let c = Cluster::start(vec![("workloads", Fault::NotJson)]);
    let full = Cluster::start(vec![]).run(&["-o", "openmetrics"]).ok();
    let run = c.run(&["-o", "openmetrics"]);
    assert_plain_lines(&run);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert_eq!(
        warnings(&run.stderr),
        format!(
            "warning: cannot list workloads.carto.run in all namespaces: {}{WORKLOADS}?limit=500 answered text/html, not JSON (a proxy in front of the API server?)\n\
             warning: partial result: 1 of 21 resources could not be read (exit code 5)\n",
            c.srv.url
        )
    );
    assert_eq!(samples(&run.stdout), samples_without(&full, &["Workload"]));
    assert!(run.stdout.ends_with("# EOF\n"));
    // Not a passing fault: asked once.
    assert_eq!(c.list_requests(WORKLOADS).len(), 1);
}

#[test]
fn lists_whose_items_are_not_objects_are_refused_whole() {
    let c = Cluster::start(vec![
        (
            "workloads",
            Fault::BadItems(json!({ "a": { "kind": "Workload" } })),
        ),
        ("builds", Fault::BadItems(json!("none"))),
        // Objects before the bad item are not kept either.
        (
            "taskruns",
            Fault::BadItems(
                json!([{ "apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": { "name": "a", "namespace": "dev" } }, 7]),
            ),
        ),
    ]);
    let full = Cluster::start(vec![]).run(&["-o", "openmetrics"]).ok();
    let run = c.run(&["-o", "openmetrics"]);
    assert_plain_lines(&run);
    assert_eq!(run.code, 5, "{}", run.stderr);
    let stderr = warnings(&run.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{}", run.stderr);
    let url = &c.srv.url;
    // In config order.
    let expected = [
        format!(
            "warning: cannot list workloads.carto.run in all namespaces: {url}{WORKLOADS}?limit=500 answered an invalid list: invalid type: map, expected a list of objects at line 1 column "
        ),
        format!(
            "warning: cannot list taskruns.tekton.dev in all namespaces: {url}/apis/tekton.dev/v1/taskruns?limit=500 answered an invalid list: items[1] is a number, not an object at line 1 column "
        ),
        format!(
            "warning: cannot list builds.kpack.io in all namespaces: {url}/apis/kpack.io/v1alpha2/builds?limit=500 answered an invalid list: invalid type: string \"none\", expected a list of objects at line 1 column "
        ),
    ];
    for (line, want) in lines.iter().zip(&expected) {
        assert!(line.starts_with(want), "{line}");
        let column = &line[want.len()..];
        assert!(column.parse::<u32>().is_ok(), "{line}");
    }
    assert_eq!(
        lines[3],
        "warning: partial result: 3 of 21 resources could not be read (exit code 5)"
    );
    assert_eq!(
        samples(&run.stdout),
        samples_without(&full, &["Workload", "Build", "TaskRun"])
    );
}

#[test]
fn a_list_cut_short_is_asked_again() {
    let c = Cluster::start(vec![("workloads", Fault::CutShort { times: 2 })]);
    let full = Cluster::start(vec![]).run(&["-o", "openmetrics"]).ok();
    let run = c.run(&["-o", "openmetrics"]);
    assert_eq!(warnings(&run.stderr), "");
    assert_eq!(run.ok(), full, "nothing lost or counted twice");
    assert_eq!(c.list_requests(WORKLOADS).len(), 3);
}

#[test]
fn a_list_always_cut_short_gives_up_after_bounded_attempts() {
    let c = Cluster::start(vec![("workloads", Fault::CutShort { times: 100 })]);
    let full = Cluster::start(vec![]).run(&["-o", "openmetrics"]).ok();
    let started = Instant::now();
    let run = c.run(&["-o", "openmetrics"]);
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_plain_lines(&run);
    assert_eq!(run.code, 5, "{}", run.stderr);
    let stderr = warnings(&run.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    let head = format!(
        "warning: cannot list workloads.carto.run in all namespaces: the answer from {}{WORKLOADS}?limit=500 was cut short: ",
        c.srv.url
    );
    assert!(lines[0].starts_with(&head), "{}", lines[0]);
    assert!(
        lines[0].ends_with(" (gave up after 6 attempts)"),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines[1],
        "warning: partial result: 1 of 21 resources could not be read (exit code 5)"
    );
    assert_eq!(samples(&run.stdout), samples_without(&full, &["Workload"]));
    assert_eq!(c.list_requests(WORKLOADS).len(), 6);
}

#[test]
fn malformed_answers_everywhere_are_a_failure() {
    // Nothing readable, whatever the reason: exit 1, as when all are forbidden.
    let faults = tap_crds()
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let f = match i % 3 {
                0 => Fault::NotJson,
                1 => Fault::BadItems(json!(42)),
                _ => Fault::CutShort { times: 100 },
            };
            (c.name(), f)
        })
        .collect();
    let c = Cluster::with(Options {
        objects: tap_objects(),
        faults,
        ..Options::default()
    });
    let run = c.run(&["-o", "openmetrics", "--chunk-size", "0"]);
    assert_plain_lines(&run);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.ends_with(
            "error: nothing could be read: all 21 resources failed (see the warnings above)\n"
        ),
        "{}",
        run.stderr
    );
}

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
        &format!("cannot reach https://xxxxx@127.0.0.1:{port}: Connection refused"),
    );
    let run = output({
        let mut c = tap_metrics(dir.path());
        c.args(["--server", "https://me:s3cret@"]);
        c
    });
    assert_one_error(&run, 2, "--server \"https://xxxxx@\" is not a URL");
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

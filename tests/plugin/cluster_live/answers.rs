//! What the server answers: paging, missing and forbidden kinds, retries, and malformed or cut-short answers.

use std::time::{Duration, Instant};

use fake_apiserver::{Fault, Options, tap_crds};
use serde_json::json;

use super::{
    Cluster, WORKLOADS, assert_plain_lines, from_file, from_file_run, kinds, samples, tap_objects,
    warnings,
};

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

//! `--output-file` on a live cluster: streamed into a temporary file, put in
//! place only when the listing is complete (or with --push-partial).

use super::*;

#[test]
fn the_file_is_the_prometheus_output_and_a_partial_listing_leaves_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tap.prom");
    let path = file.to_str().unwrap();
    let full = Cluster::start(vec![]);
    let stdout = full.run(&["-o", "prometheus"]).ok();
    let run = full.run(&["--output-file", path]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "", "the output goes to the file only");
    // The examples hold no duplicate series, so the file is exactly -o prometheus.
    assert_eq!(std::fs::read_to_string(&file).unwrap(), stdout);

    let partial = Cluster::start(vec![("workloads", Fault::Forbidden)]);
    std::fs::write(&file, "# the previous snapshot\n").unwrap();
    let run = partial.run(&["--output-file", path]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "warning: some resources could not be read, so {path} is left as it is (--push-partial writes what was read)"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "# the previous snapshot\n"
    );
    let entries = || std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(entries(), 1, "no temporary file is left");

    let run = partial.run(&["--output-file", path, "--push-partial"]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("kpack_build_status{"), "{written}");
    assert!(!written.contains("customresource_kind=\"Workload\""));
    assert_eq!(entries(), 1);

    // A cluster that cannot be reached at all fails the run: the file stays.
    std::fs::write(&file, "# the previous snapshot\n").unwrap();
    let mut cmd = tap_metrics(dir.path());
    cmd.args(["--server", "https://127.0.0.1:1", "--output-file", path]);
    let run = output(cmd);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "# the previous snapshot\n"
    );
    assert_eq!(entries(), 1);
}

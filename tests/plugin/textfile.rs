//! `--output-file` for node_exporter's textfile collector, served by a real
//! node_exporter (Debian's `prometheus-node-exporter`, textfile collector only).

use std::collections::BTreeSet;

use crate::pushgateway::{NodeExporter, fixture, parse_text, tap_metrics};

/// The samples node_exporter serves that are not its own.
fn tap_samples(
    ne: &NodeExporter,
) -> Vec<(String, std::collections::BTreeMap<String, String>, f64)> {
    ne.scrape()
        .into_iter()
        .filter(|(n, _, _)| {
            !["node_", "go_", "process_", "promhttp_"]
                .iter()
                .any(|p| n.starts_with(p))
        })
        .collect()
}

#[test]
fn node_exporter_serves_the_file_and_a_failed_run_leaves_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tap.prom");
    let out = tap_metrics()
        .arg("--from-file")
        .arg(fixture())
        .arg("--output-file")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty());
    let written = std::fs::read_to_string(&file).unwrap();
    let Some(ne) = NodeExporter::start(dir.path()) else {
        return;
    };
    let scrape = ne.scrape();
    let error = scrape
        .iter()
        .find(|(n, _, _)| n == "node_textfile_scrape_error")
        .map(|s| s.2);
    assert_eq!(error, Some(0.0), "{}", ne.server.log());
    let served = tap_samples(&ne);
    assert_eq!(served.len(), parse_text(&written).len());
    assert!(
        served
            .iter()
            .any(|(n, l, v)| n == "cartographer_workload_status"
                && l.get("name").map(String::as_str) == Some("inventory-api")
                && *v == 0.0)
    );

    // A run that fails leaves the file as it was, and no temporary file.
    let out = tap_metrics()
        .args(["--from-file", "/no/such/file", "--output-file"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), written);
    let names: BTreeSet<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, BTreeSet::from(["tap.prom".to_string()]));
}

#[test]
fn duplicate_series_never_reach_the_collector() {
    // The same objects twice: every series twice, which node_exporter refuses
    // to gather ("collected before with the same name and label values").
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tap.prom");
    let out = tap_metrics()
        .arg("--from-file")
        .arg(fixture())
        .arg("--from-file")
        .arg(fixture())
        .arg("--output-file")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let written = parse_text(&std::fs::read_to_string(&file).unwrap());
    let once = tap_metrics()
        .arg("--from-file")
        .arg(fixture())
        .args(["-o", "prometheus"])
        .output()
        .unwrap();
    assert_eq!(
        written.len(),
        parse_text(&String::from_utf8_lossy(&once.stdout)).len()
    );
    let Some(ne) = NodeExporter::start(dir.path()) else {
        return;
    };
    assert_eq!(tap_samples(&ne).len(), written.len());
    assert!(
        !ne.server.log().contains("collected before"),
        "{}",
        ne.server.log()
    );
}

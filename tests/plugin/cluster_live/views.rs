//! The table and the summary over several clusters: told apart by the
//! cluster a sample came from, whatever --cluster-label names its label.

use super::*;
use fake_apiserver::write_kubeconfig_multi;

#[test]
fn several_clusters_are_told_apart_whatever_the_label_is_called() {
    let east = Cluster::start(vec![]);
    let west = Cluster::start(vec![]);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    write_kubeconfig_multi(
        &kubeconfig,
        &[("east", &east.srv), ("west", &west.srv)],
        "east",
    );
    for label in ["cluster", "site"] {
        let run = |format: &str| {
            let mut c = tap_metrics(dir.path());
            c.arg("--kubeconfig").arg(&kubeconfig).args([
                "--all-contexts",
                "--cluster-label",
                label,
                "-q",
                "-o",
                format,
            ]);
            output(c).ok()
        };
        let table = run("table");
        let rows: Vec<&str> = table
            .lines()
            .filter(|l| l.contains(" tanzu-java-web-app ") && l.contains(" dev "))
            .collect();
        assert!(
            rows.iter().any(|r| r.starts_with("east "))
                && rows.iter().any(|r| r.starts_with("west ")),
            "--cluster-label {label}:\n{table}"
        );
        let summary = run("summary");
        assert!(
            summary.contains("Workloads with live update (2): east:dev/tanzu-java-web-app, west:dev/tanzu-java-web-app"),
            "--cluster-label {label}:\n{summary}"
        );
    }
}

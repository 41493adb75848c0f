//! End to end: the fixture snapshot pushed to a real Pushgateway, scraped by a
//! real Prometheus with the example scrape config (`honor_labels: true`), and
//! every published TAP query evaluated there.

#[path = "support/pushgateway.rs"]
mod pushgateway;

use std::path::Path;
use std::time::Duration;

use pushgateway::{Prometheus, Pushgateway, fixture, tap_metrics};

fn tsv(name: &str) -> Vec<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// The example scrape config, pointed at `target` and scraping every second.
fn scrape_config(target: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/cronjob/prometheus-scrape-config.yaml");
    let mut cfg: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let job = &mut cfg["scrape_configs"][0];
    job["scrape_interval"] = "1s".into();
    job["static_configs"][0]["targets"] = vec![serde_yaml::Value::from(target)].into();
    serde_yaml::to_string(&cfg).unwrap()
}

#[test]
fn every_tap_query_evaluates_over_a_pushed_snapshot() {
    let queries = tsv("tap-promql-queries.tsv");
    let expected = tsv("tap-promql-expected.tsv");
    assert_eq!(queries.len(), 49);
    assert_eq!(queries.len(), expected.len());

    let Some(pgw) = Pushgateway::start() else {
        return;
    };
    let target = pgw.url.trim_start_matches("http://").to_string();
    let Some(prom) = Prometheus::start(&scrape_config(&target)) else {
        return;
    };
    let out = tap_metrics()
        .arg("--from-file")
        .arg(fixture())
        .args(["--pushgateway", &pgw.url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The group appears whole in one scrape, so its first sample means all are in.
    prom.wait_for(
        "push_time_seconds{job=\"tap-metrics\"} > 0",
        Duration::from_secs(20),
    );

    // Every pushed series arrived as its own series: none collided once empty
    // labels were dropped.
    let on_gateway = pgw.series("tap-metrics").len();
    let count = prom.query("count({job=\"tap-metrics\"})").unwrap();
    assert_eq!(
        count[0]["value"][1].as_str(),
        Some(on_gateway.to_string().as_str())
    );

    let mut wrong = Vec::new();
    for (q, e) in queries.iter().zip(&expected) {
        let (use_case, query) = (&q[0], &q[1]);
        assert_eq!(&e[0], use_case, "the two TSV files are out of step");
        let want: usize = e[1].parse().expect("an expected count");
        match prom.query(query) {
            Ok(result) if result.len() == want => {}
            Ok(result) => wrong.push(format!(
                "{use_case}: {} series, expected {want}: {query}",
                result.len()
            )),
            Err(err) => wrong.push(format!("{use_case}: {err}: {query}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

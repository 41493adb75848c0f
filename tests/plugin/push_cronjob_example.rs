//! `examples/cronjob`: the least-privilege ClusterRole matches the embedded
//! config exactly, the CronJob's arguments push, and the scrape config is valid.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::pushgateway::{self, Pushgateway, fixture, tap_metrics};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/cronjob")
        .join(name)
}

/// Every YAML document of an example file.
fn documents(name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(example(name)).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

fn object(name: &str, kind: &str) -> Value {
    let docs = documents(name);
    let mut of_kind = docs.into_iter().filter(|d| d["kind"] == kind);
    let o = of_kind
        .next()
        .unwrap_or_else(|| panic!("no {kind} in {name}"));
    assert!(of_kind.next().is_none(), "two {kind}s in {name}");
    o
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .unwrap_or_else(|| panic!("not a list: {v:?}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

#[test]
fn the_cluster_role_lists_exactly_the_resources_of_the_embedded_config() {
    let loaded = tap_metrics::config::tap_default();
    let engine = tap_metrics::engine::Engine::compile(&loaded.config, &loaded.origin).unwrap();
    let needed: BTreeSet<(String, String)> = engine
        .resources()
        .iter()
        .map(|r| (r.gvk.group.clone(), r.plural_guess()))
        .collect();
    assert_eq!(needed.len(), 21);

    let role = object("rbac.yaml", "ClusterRole");
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_sequence().unwrap() {
        let keys: BTreeSet<&str> = rule
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from(["apiGroups", "resources", "verbs"]),
            "{rule:?}"
        );
        assert_eq!(strings(&rule["verbs"]), ["list"], "{rule:?}");
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                assert!(
                    granted.insert((group.clone(), resource.clone())),
                    "{resource}.{group} granted twice"
                );
            }
        }
    }
    let missing: Vec<_> = needed.difference(&granted).collect();
    let extra: Vec<_> = granted.difference(&needed).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:?}; not in the config: {extra:?}"
    );
}

#[test]
fn the_service_account_binding_and_cronjob_fit_together() {
    let sa = object("rbac.yaml", "ServiceAccount");
    let binding = object("rbac.yaml", "ClusterRoleBinding");
    let role = object("rbac.yaml", "ClusterRole");
    let cron = object("cronjob.yaml", "CronJob");
    assert_eq!(binding["roleRef"]["kind"], "ClusterRole");
    assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
    let subjects = binding["subjects"].as_sequence().unwrap();
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0]["kind"], "ServiceAccount");
    assert_eq!(subjects[0]["name"], sa["metadata"]["name"]);
    assert_eq!(subjects[0]["namespace"], sa["metadata"]["namespace"]);
    assert_eq!(cron["metadata"]["namespace"], sa["metadata"]["namespace"]);
    let pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], sa["metadata"]["name"]);
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(
        object("namespace.yaml", "Namespace")["metadata"]["name"],
        sa["metadata"]["namespace"]
    );
    let kustomization = object("kustomization.yaml", "Kustomization");
    for file in strings(&kustomization["resources"]) {
        assert!(example(&file).is_file(), "kustomization lists {file}");
    }
}

#[test]
fn the_cronjobs_arguments_push_a_snapshot() {
    let Some(pgw) = Pushgateway::start() else {
        return;
    };
    let cron = object("cronjob.yaml", "CronJob");
    let containers = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"];
    let args: Vec<String> = strings(&containers[0]["args"])
        .into_iter()
        .map(|a| match a.strip_prefix("--pushgateway=") {
            Some(_) => format!("--pushgateway={}", pgw.url),
            None => a,
        })
        .collect();
    assert!(
        args.iter()
            .any(|a| a.starts_with("--pushgateway=http://127.0.0.1"))
    );
    // In the pod the objects come from the cluster; here from the fixture.
    let out = tap_metrics()
        .args(&args)
        .arg("--from-file")
        .arg(fixture())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    assert!(
        pgw.series("tap-metrics")
            .keys()
            .any(|(n, _)| n == "cartographer_workload_info")
    );
}

#[test]
fn the_scrape_config_is_valid_and_honours_pushed_labels() {
    let scrape = &documents("prometheus-scrape-config.yaml")[0];
    let jobs = scrape["scrape_configs"].as_sequence().unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["honor_labels"], true);
    let Some(promtool) = pushgateway::require("promtool") else {
        return;
    };
    let out = std::process::Command::new(promtool)
        .args(["check", "config"])
        .arg(example("prometheus-scrape-config.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

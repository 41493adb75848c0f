//! End to end: the fixture snapshot pushed to a real Pushgateway, scraped by a
//! real Prometheus with the example scrape config (`honor_labels: true`), and
//! every published TAP query evaluated there; and the monitoring suite
//! (`monitoring rules|dashboards`) checked by promtool and evaluated there.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::pushgateway::{self, Prometheus, Pushgateway, fixture, promtool, tap_metrics};

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

    let wrong = prom.tap_queries_that_disagree();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Runs the plugin with `args` and returns its stdout, asserting success.
fn plugin_stdout(args: &[&str]) -> String {
    let out = tap_metrics().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The metric names of the embedded config, from `config validate`.
fn config_metric_names() -> BTreeSet<String> {
    let default = plugin_stdout(&["config", "default"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tap-default.yaml");
    std::fs::write(&path, default).unwrap();
    plugin_stdout(&["config", "validate", path.to_str().unwrap()])
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .filter_map(|l| l.split_once(" (").map(|(name, _)| name.to_string()))
        .collect()
}

/// The dashboards as `monitoring dashboards --out` writes them: (file, JSON).
fn written_dashboards() -> Vec<(String, Value)> {
    let dir = tempfile::tempdir().unwrap();
    plugin_stdout(&[
        "monitoring",
        "dashboards",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let mut files: Vec<(String, Value)> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            let text = std::fs::read_to_string(e.path()).unwrap();
            let json = serde_json::from_str(&text).unwrap_or_else(|err| panic!("{name}: {err}"));
            (name, json)
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// (dashboard file, panel title, PromQL) of every panel target.
fn panel_exprs(dashboards: &[(String, Value)]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (file, d) in dashboards {
        for p in d["panels"].as_array().unwrap() {
            for t in p["targets"].as_array().into_iter().flatten() {
                let expr = t["expr"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{file}: a target without expr"));
                out.push((
                    file.clone(),
                    p["title"].as_str().unwrap_or("").to_string(),
                    expr.to_string(),
                ));
            }
        }
    }
    out
}

/// Grafana's built-in and template variables, as Grafana would expand them
/// with one cluster selected (a regex, as for multi-value variables) and all namespaces.
fn grafana_expand(expr: &str, cluster: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$__interval", "30s")
        .replace("$__range", "1h")
        .replace("${datasource}", "prometheus")
        .replace("$datasource", "prometheus")
        .replace("$cluster", cluster)
        .replace("$namespace", ".*")
}

/// The metric selectors of `expr` for `name`: the text in braces after each
/// whole-word occurrence (`None` where it has no braces).
fn selectors<'a>(expr: &'a str, name: &str) -> Vec<Option<&'a str>> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = expr[from..].find(name) {
        let start = from + i;
        let end = start + name.len();
        from = end;
        if expr[..start].chars().next_back().is_some_and(ident)
            || expr[end..].chars().next().is_some_and(ident)
        {
            continue;
        }
        out.push(
            expr[end..]
                .strip_prefix('{')
                .and_then(|rest| rest.find('}').map(|j| &rest[..j])),
        );
    }
    out
}

#[test]
fn monitoring_rules_pass_promtool_check_and_the_unit_tests() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("rules.yaml");
    std::fs::write(&plain, plugin_stdout(&["monitoring", "rules"])).unwrap();
    let Some((ok, out)) = promtool(dir.path(), &["check", "rules", "rules.yaml"]) else {
        return;
    };
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS: 36 rules found"), "{out}");

    // The PrometheusRule's spec is the same rule file.
    let rule: serde_yaml::Value = serde_yaml::from_str(&plugin_stdout(&[
        "monitoring",
        "rules",
        "--prometheus-rule",
        "--label",
        "release=kube-prometheus-stack",
    ]))
    .unwrap();
    assert_eq!(rule["kind"], "PrometheusRule");
    assert_eq!(
        rule["metadata"]["labels"]["release"],
        "kube-prometheus-stack"
    );
    std::fs::write(
        dir.path().join("spec.yaml"),
        serde_yaml::to_string(&rule["spec"]).unwrap(),
    )
    .unwrap();
    let (ok, out) = promtool(dir.path(), &["check", "rules", "spec.yaml"]).unwrap();
    assert!(ok && out.contains("SUCCESS: 36 rules found"), "{out}");

    // Every alert firing and not firing, `for:` included.
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("monitoring/tests");
    let mut files: Vec<String> = std::fs::read_dir(&tests)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.ends_with(".yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut args = vec!["test", "rules"];
    args.extend(files.iter().map(String::as_str));
    let (ok, out) = promtool(&tests, &args).unwrap();
    assert!(ok, "{out}");
    assert!(!out.contains("FAILED"), "{out}");

    // ... and the unit tests name every alert of the rule file.
    let rules: serde_yaml::Value =
        serde_yaml::from_str(&plugin_stdout(&["monitoring", "rules"])).unwrap();
    let alerts: BTreeSet<String> = rules["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap())
        .filter_map(|r| r["alert"].as_str().map(str::to_string))
        .collect();
    assert!(alerts.len() >= 14, "{alerts:?}");
    let mut tested = BTreeSet::new();
    for f in &files {
        let t: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(tests.join(f)).unwrap()).unwrap();
        for case in t["tests"].as_sequence().unwrap() {
            for a in case["alert_rule_test"].as_sequence().into_iter().flatten() {
                let name = a["alertname"].as_str().unwrap().to_string();
                let fires = a["exp_alerts"].as_sequence().is_some_and(|e| !e.is_empty());
                tested.insert((name, fires));
            }
        }
    }
    for a in &alerts {
        assert!(
            tested.contains(&(a.clone(), true)),
            "{a} is never tested firing"
        );
        // An alert without `for:` fires at once; the others are tested before their `for:` ends.
        let has_for = rules["groups"][1]["rules"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|r| r["alert"].as_str() == Some(a) && r.get("for").is_some());
        if has_for {
            assert!(
                tested.contains(&(a.clone(), false)),
                "{a} is never tested not firing"
            );
        }
    }
}

#[test]
fn dashboards_are_structurally_sound_and_use_every_metric() {
    let dashboards = written_dashboards();
    assert!(dashboards.len() >= 9, "{}", dashboards.len());
    let metrics = config_metric_names();
    assert_eq!(metrics.len(), 42, "{metrics:?}");
    let cluster_scoped =
        |m: &str| m.starts_with("stk_cluster_instance_class") || m == "push_time_seconds";
    let mut checked: Vec<String> = metrics.iter().cloned().collect();
    checked.extend(
        [
            "tap:objects:count",
            "tap:object:status",
            "push_time_seconds",
        ]
        .map(String::from),
    );

    let mut uids = BTreeSet::new();
    let mut used = BTreeSet::new();
    let mut problems = Vec::new();
    for (file, d) in &dashboards {
        let uid = d["uid"].as_str().unwrap_or_default();
        assert!(!uid.is_empty() && uid.len() <= 40, "{file}: uid {uid:?}");
        assert!(
            uids.insert(uid.to_string()),
            "{file}: uid {uid} is not unique"
        );
        assert!(
            d["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{file}: title"
        );
        assert!(
            d["schemaVersion"].as_u64().is_some_and(|v| v >= 38),
            "{file}: schemaVersion for Grafana 10+"
        );

        let vars: BTreeMap<&str, &Value> = d["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["name"].as_str().unwrap(), v))
            .collect();
        let ds = vars
            .get("datasource")
            .unwrap_or_else(|| panic!("{file}: no datasource variable"));
        assert_eq!(ds["type"], "datasource", "{file}");
        assert_eq!(ds["query"], "prometheus", "{file}");
        for name in ["cluster", "namespace"] {
            let v = vars
                .get(name)
                .unwrap_or_else(|| panic!("{file}: no {name} variable"));
            assert_eq!(v["type"], "query", "{file}: {name}");
            assert_eq!(v["multi"], true, "{file}: {name} multi-value");
            assert_eq!(v["includeAll"], true, "{file}: {name} All");
            assert_eq!(
                v["allValue"], ".*",
                "{file}: {name} All matches a missing label too"
            );
            assert_eq!(v["datasource"]["uid"], "${datasource}", "{file}: {name}");
        }

        let mut ids = BTreeSet::new();
        for p in d["panels"].as_array().unwrap() {
            let title = p["title"].as_str().unwrap_or_default();
            assert!(
                ids.insert(p["id"].as_u64().unwrap()),
                "{file}: panel id of {title}"
            );
            let g = &p["gridPos"];
            assert!(
                g["x"].as_u64().unwrap() + g["w"].as_u64().unwrap() <= 24,
                "{file}: {title} wider than the grid"
            );
            assert_eq!(p["datasource"]["type"], "prometheus", "{file}: {title}");
            assert_eq!(p["datasource"]["uid"], "${datasource}", "{file}: {title}");
            let targets = p["targets"].as_array().unwrap();
            assert!(!targets.is_empty(), "{file}: {title} has no query");
            for t in targets {
                assert_eq!(t["datasource"]["uid"], "${datasource}", "{file}: {title}");
                let expr = t["expr"].as_str().unwrap();
                if expr.contains("=\"$cluster\"") || expr.contains("=\"$namespace\"") {
                    problems.push(format!(
                        "{file}: {title}: a multi-value variable needs =~: {expr}"
                    ));
                }
                for m in &checked {
                    for sel in selectors(expr, m) {
                        used.insert(m.clone());
                        let sel = sel.unwrap_or_default();
                        if !sel.contains("cluster=~\"$cluster\"") {
                            problems.push(format!(
                                "{file}: {title}: {m} not filtered by $cluster: {expr}"
                            ));
                        }
                        if !cluster_scoped(m) && !sel.contains("namespace=~\"$namespace\"") {
                            problems.push(format!(
                                "{file}: {title}: {m} not filtered by $namespace: {expr}"
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let unused: Vec<&String> = metrics.iter().filter(|m| !used.contains(*m)).collect();
    assert!(unused.is_empty(), "metrics no panel shows: {unused:?}");
}

#[test]
fn dashboards_as_configmaps_for_the_grafana_sidecar() {
    let dashboards = written_dashboards();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("new/dashboards");
    let args = [
        "monitoring",
        "dashboards",
        "--out",
        out.to_str().unwrap(),
        "--configmap",
        "--namespace",
        "monitoring",
    ];
    let run = tap_metrics().args(args).output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.stdout.is_empty());
    assert!(String::from_utf8_lossy(&run.stderr).starts_with("wrote 10 dashboard ConfigMaps to "));
    // Again over the same files: replaced, nothing else left behind.
    plugin_stdout(&args);
    let mut names = BTreeSet::new();
    for e in std::fs::read_dir(&out).unwrap() {
        let e = e.unwrap();
        let file = e.file_name().into_string().unwrap();
        assert!(file.ends_with(".yaml"), "{file}");
        let cm: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
        assert_eq!(cm["apiVersion"], "v1", "{file}");
        assert_eq!(cm["kind"], "ConfigMap", "{file}");
        assert_eq!(cm["metadata"]["namespace"], "monitoring", "{file}");
        assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], "1", "{file}");
        let name = cm["metadata"]["name"].as_str().unwrap();
        assert!(names.insert(name.to_string()), "{file}: name {name} twice");
        let data = cm["data"].as_mapping().unwrap();
        assert_eq!(data.len(), 1, "{file}");
        let (key, json) = data.iter().next().unwrap();
        let key = key.as_str().unwrap();
        assert_eq!(format!("{}.yaml", key.strip_suffix(".json").unwrap()), file);
        let json: Value = serde_json::from_str(json.as_str().unwrap()).unwrap();
        let plain = &dashboards.iter().find(|(f, _)| f == key).unwrap().1;
        assert_eq!(&json, plain, "{file}");
        // Client-side `kubectl apply` keeps the whole object in an annotation of at most 256 KiB.
        assert!(
            std::fs::metadata(e.path()).unwrap().len() < 200 * 1024,
            "{file}"
        );
    }
    assert_eq!(names.len(), dashboards.len());

    // A DIR that cannot be created: one line, exit 1, nothing written.
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "x").unwrap();
    let run = tap_metrics()
        .args(["monitoring", "dashboards", "--out"])
        .arg(blocker.join("sub"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error: cannot write ") && err.lines().count() == 1,
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "x");

    // Usage errors: exit 2, one line.
    for bad in [
        &["monitoring", "dashboards"][..],
        &[
            "monitoring",
            "dashboards",
            "--out",
            "x",
            "--namespace",
            "monitoring",
        ],
        &[
            "monitoring",
            "dashboards",
            "--out",
            "x",
            "--configmap",
            "--namespace",
            "Not_A_Namespace",
        ],
        &["monitoring", "rules", "--label", "release=x"],
        &[
            "monitoring",
            "rules",
            "--prometheus-rule",
            "--label",
            "release",
        ],
        &[
            "monitoring",
            "rules",
            "--prometheus-rule",
            "--label",
            "bad key=x",
        ],
    ] {
        let run = tap_metrics()
            .current_dir(dir.path())
            .args(bad)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{bad:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.lines().count() == 1,
            "{bad:?}: {err}"
        );
    }
    assert!(!dir.path().join("x").exists());
}

/// Objects of each kind label of the recording rules in `examples/tap-objects.yaml`.
fn fixture_kinds() -> BTreeMap<String, usize> {
    let list: Value = serde_yaml::from_str(&std::fs::read_to_string(fixture()).unwrap()).unwrap();
    let mut kinds = BTreeMap::new();
    for o in list["items"].as_array().unwrap() {
        let kind = match (
            o["apiVersion"].as_str().unwrap(),
            o["kind"].as_str().unwrap(),
        ) {
            (v, "Service") if v.starts_with("serving.knative.dev/") => "KnativeService",
            (_, k) => k,
        };
        *kinds.entry(kind.to_string()).or_default() += 1;
    }
    kinds
}

#[test]
fn every_dashboard_and_rule_expression_evaluates_over_a_pushed_snapshot() {
    let dashboards = written_dashboards();
    let rules_text = plugin_stdout(&["monitoring", "rules"]);
    let Some(pgw) = Pushgateway::start() else {
        return;
    };
    let target = pgw.url.trim_start_matches("http://").to_string();
    // The rules as printed, evaluated every second by the Prometheus that scrapes the gateway.
    let rules_dir = tempfile::tempdir().unwrap();
    let rules_path = rules_dir.path().join("tap-metrics.rules.yaml");
    std::fs::write(&rules_path, &rules_text).unwrap();
    let mut cfg: serde_yaml::Value = serde_yaml::from_str(&scrape_config(&target)).unwrap();
    cfg["global"]["evaluation_interval"] = "1s".into();
    cfg["rule_files"] = vec![serde_yaml::Value::from(rules_path.to_str().unwrap())].into();
    let Some(prom) = Prometheus::start(&serde_yaml::to_string(&cfg).unwrap()) else {
        return;
    };
    // One cluster's group, as a multi-context run pushes it.
    let out = tap_metrics()
        .arg("--from-file")
        .arg(fixture())
        .args(["--pushgateway", &pgw.url, "--grouping-key", "cluster=east"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A second cluster with only its workloads, which the cluster filter keeps apart.
    let west =
        pushgateway::fixture_subset(rules_dir.path(), "west.json", |o| o["kind"] == "Workload");
    let out = tap_metrics()
        .arg("--from-file")
        .arg(&west)
        .args(["--pushgateway", &pgw.url, "--grouping-key", "cluster=west"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    prom.wait_for(
        "push_time_seconds{job=\"tap-metrics\",cluster=\"west\"} > 0",
        Duration::from_secs(20),
    );
    prom.wait_for(
        "push_time_seconds{job=\"tap-metrics\",cluster=\"east\"} > 0",
        Duration::from_secs(20),
    );
    // Recording rules see a complete scrape once they have recorded every kind.
    let kinds = fixture_kinds();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let recorded = prom
            .query("count(count by (kind) (tap:objects:count))")
            .unwrap();
        if recorded.first().and_then(|r| r["value"][1].as_str())
            == Some(kinds.len().to_string().as_str())
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "recording rules did not record {} kinds",
            kinds.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Two evaluations later every rule has seen the same scrape.
    std::thread::sleep(Duration::from_secs(2));

    // The per-kind counts are the fixture's objects, each counted once.
    for (kind, n) in &kinds {
        let q = format!("sum(tap:objects:count{{kind=\"{kind}\",cluster=\"east\"}})");
        let r = prom.query(&q).unwrap();
        assert_eq!(
            r.first().and_then(|r| r["value"][1].as_str()),
            Some(n.to_string().as_str()),
            "{q}"
        );
    }

    // The overview's object count follows the cluster variable.
    let (_, overview) = dashboards
        .iter()
        .find(|(f, _)| f == "tap-overview.json")
        .unwrap();
    let objects = overview["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == "Objects")
        .unwrap()["targets"][0]["expr"]
        .as_str()
        .unwrap();
    let total: usize = kinds.values().sum();
    let workloads = kinds["Workload"];
    for (cluster, want) in [
        ("east", total),
        ("west", workloads),
        (".*", total + workloads),
    ] {
        let q = grafana_expand(objects, cluster);
        let r = prom.query(&q).unwrap();
        assert_eq!(
            r.first().and_then(|r| r["value"][1].as_str()),
            Some(want.to_string().as_str()),
            "{q}"
        );
    }

    let mut errors = Vec::new();
    let mut empty = Vec::new();
    for (file, title, expr) in panel_exprs(&dashboards) {
        let q = grafana_expand(&expr, "east|west");
        // A stat's `or vector(0)` shows 0 for nothing: whether data came is the inner query's answer.
        let inner = q
            .strip_suffix(" or vector(0)")
            .and_then(|q| q.strip_prefix('('))
            .and_then(|q| q.strip_suffix(')'))
            .unwrap_or(&q);
        match prom.query(inner) {
            Ok(r) if r.is_empty() => empty.push(format!("{file}: {title}: {q}")),
            Ok(_) => {}
            Err(e) => errors.push(format!("{file}: {title}: {e}: {q}")),
        }
        if let Err(e) = prom.query(&q) {
            errors.push(format!("{file}: {title}: {e}: {q}"));
        }
    }
    // The variables' own queries, as PromQL.
    for (file, d) in &dashboards {
        for v in d["templating"]["list"].as_array().unwrap() {
            let Some(def) = v["definition"].as_str() else {
                continue;
            };
            let inner = def
                .strip_prefix("label_values(")
                .and_then(|d| d.strip_suffix(')'))
                .unwrap();
            let (selector, label) = inner.rsplit_once(", ").unwrap();
            let q = grafana_expand(&format!("group by ({label}) ({selector})"), "east|west");
            match prom.query(&q) {
                Ok(r) if r.is_empty() => empty.push(format!("{file}: variable {}: {q}", v["name"])),
                Ok(_) => {}
                Err(e) => errors.push(format!("{file}: variable {}: {e}: {q}", v["name"])),
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(
        empty.is_empty(),
        "panels without data on the examples:\n{}",
        empty.join("\n")
    );

    // Every rule expression; every recording rule and every alert but the
    // stale snapshot one has something to say about the examples.
    let rules: serde_yaml::Value = serde_yaml::from_str(&rules_text).unwrap();
    for group in rules["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            let name = rule["alert"].as_str().or(rule["record"].as_str()).unwrap();
            let expr = rule["expr"].as_str().unwrap();
            match prom.query(expr) {
                Ok(r) if r.is_empty() && name != "TapMetricsSnapshotStale" => {
                    empty.push(format!("{name}: {expr}"))
                }
                Ok(r) if !r.is_empty() && name == "TapMetricsSnapshotStale" => {
                    empty.push(format!("{name} fires on a fresh snapshot: {r:?}"))
                }
                Ok(_) => {}
                Err(e) => errors.push(format!("{name}: {e}: {expr}")),
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(empty.is_empty(), "{}", empty.join("\n"));
}

//! The TAP monitoring suite shipped in the binary: Grafana dashboards and one
//! Prometheus rule file (recording rules and alerts) for the embedded config's
//! metrics, with the Kubernetes wrappers kube-prometheus-stack picks up. The
//! sources are under `monitoring/`; everything here is pure.

use crate::error::Error;
use crate::shared::names::is_dns_label;

/// The rule file: recording rules and alerts (`monitoring/rules/`).
pub const RULES_YAML: &str = include_str!("../monitoring/rules/tap-metrics.rules.yaml");

/// One Grafana dashboard (`monitoring/dashboards/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dashboard {
    /// The file name, e.g. `tap-workloads.json`.
    pub file: &'static str,
    /// Grafana dashboard JSON.
    pub json: &'static str,
}

macro_rules! dashboards {
    ($($file:literal),* $(,)?) => {
        &[$(Dashboard {
            file: $file,
            json: include_str!(concat!("../monitoring/dashboards/", $file)),
        }),*]
    };
}

/// Every dashboard, the overview first.
pub const DASHBOARDS: &[Dashboard] = dashboards![
    "tap-overview.json",
    "tap-carvel.json",
    "tap-workloads.json",
    "tap-flux.json",
    "tap-build-service.json",
    "tap-supply-chain-security.json",
    "tap-knative.json",
    "tap-accelerators-apis.json",
    "tap-delivery.json",
    "tap-services.json",
];

/// The dashboard with this file name.
pub fn dashboard(file: &str) -> Option<&'static Dashboard> {
    DASHBOARDS.iter().find(|d| d.file == file)
}

/// The name of the objects this suite creates, and its `app.kubernetes.io/name`.
pub const NAME: &str = "tap-metrics";

/// The label kube-prometheus-stack's Grafana sidecar selects dashboards by
/// (`sidecar.dashboards.label`, value `sidecar.dashboards.labelValue`).
pub const GRAFANA_DASHBOARD_LABEL: (&str, &str) = ("grafana_dashboard", "1");

/// A `KEY=VALUE` Kubernetes label from the command line.
pub fn parse_label(arg: &str) -> Result<(String, String), Error> {
    let (key, value) = arg
        .split_once('=')
        .ok_or_else(|| Error::usage(format!("--label {arg:?}: expected KEY=VALUE")))?;
    check_label_key(key).map_err(|why| Error::usage(format!("--label {arg:?}: key {why}")))?;
    if !(value.is_empty() || is_label_name(value)) {
        return Err(Error::usage(format!(
            "--label {arg:?}: value must be empty or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        )));
    }
    Ok((key.to_string(), value.to_string()))
}

/// A label key: an optional DNS subdomain prefix and `/`, then a name.
fn check_label_key(key: &str) -> Result<(), &'static str> {
    let name = match key.split_once('/') {
        Some((prefix, name)) => {
            if !is_dns_subdomain(prefix) {
                return Err("prefix must be a DNS subdomain (e.g. example.com)");
            }
            name
        }
        None => key,
    };
    if !is_label_name(name) {
        return Err(
            "must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
        );
    }
    Ok(())
}

fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// The rule file as a Prometheus Operator `PrometheusRule`. kube-prometheus-stack's
/// Prometheus selects rules by the label `release: <helm release name>` (its
/// default `ruleSelector`), so `labels` should usually hold that.
pub fn prometheus_rule(labels: &[(String, String)]) -> String {
    let mut meta_labels = serde_yaml::Mapping::new();
    meta_labels.insert("app.kubernetes.io/name".into(), NAME.into());
    for (k, v) in labels {
        meta_labels.insert(k.as_str().into(), v.as_str().into());
    }
    let mut metadata = serde_yaml::Mapping::new();
    metadata.insert("name".into(), NAME.into());
    metadata.insert("labels".into(), meta_labels.into());
    let mut head = serde_yaml::Mapping::new();
    head.insert("apiVersion".into(), "monitoring.coreos.com/v1".into());
    head.insert("kind".into(), "PrometheusRule".into());
    head.insert("metadata".into(), metadata.into());
    let head = serde_yaml::to_string(&head).expect("a mapping of strings serializes");

    // The rule file's `groups:` document, indented under `spec:` as it is, so
    // the rules read the same in both forms.
    let mut out = String::from(
        "# The TAP monitoring rules for the Prometheus Operator. kube-prometheus-stack\n\
         # loads PrometheusRules labelled `release: <helm release name>` (its default\n\
         # ruleSelector): add it with `--label release=NAME`.\n",
    );
    out.push_str(&head);
    out.push_str("spec:\n");
    let body = RULES_YAML
        .lines()
        .skip_while(|l| l.starts_with('#') || l.trim().is_empty());
    for line in body {
        if !line.is_empty() {
            out.push_str("  ");
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The file name a dashboard's ConfigMap is written to, e.g. `tap-workloads.yaml`.
pub fn configmap_file(d: &Dashboard) -> String {
    format!("{}.yaml", stem(d))
}

fn stem(d: &Dashboard) -> &'static str {
    d.file.strip_suffix(".json").unwrap_or(d.file)
}

/// A dashboard as a ConfigMap for kube-prometheus-stack's Grafana sidecar,
/// which loads every ConfigMap labelled `grafana_dashboard: "1"` (in Grafana's
/// own namespace unless `sidecar.dashboards.searchNamespace` says otherwise).
pub fn dashboard_configmap(d: &Dashboard, namespace: Option<&str>) -> String {
    let name = format!("{NAME}-{}", stem(d).strip_prefix("tap-").unwrap_or(stem(d)));
    let mut labels = serde_yaml::Mapping::new();
    labels.insert(
        GRAFANA_DASHBOARD_LABEL.0.into(),
        GRAFANA_DASHBOARD_LABEL.1.into(),
    );
    labels.insert("app.kubernetes.io/name".into(), NAME.into());
    let mut metadata = serde_yaml::Mapping::new();
    metadata.insert("name".into(), name.into());
    if let Some(ns) = namespace {
        metadata.insert("namespace".into(), ns.into());
    }
    metadata.insert("labels".into(), labels.into());
    let mut data = serde_yaml::Mapping::new();
    data.insert(d.file.into(), d.json.into());
    let mut cm = serde_yaml::Mapping::new();
    cm.insert("apiVersion".into(), "v1".into());
    cm.insert("kind".into(), "ConfigMap".into());
    cm.insert("metadata".into(), metadata.into());
    cm.insert("data".into(), data.into());
    serde_yaml::to_string(&cm).expect("a mapping of strings serializes")
}

/// What `monitoring dashboards` writes: (file name, content) per dashboard.
pub fn dashboard_files(configmap: bool, namespace: Option<&str>) -> Vec<(String, String)> {
    DASHBOARDS
        .iter()
        .map(|d| {
            if configmap {
                (configmap_file(d), dashboard_configmap(d, namespace))
            } else {
                (d.file.to_string(), d.json.to_string())
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn every_dashboard_is_listed_once_and_is_json() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("monitoring/dashboards");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = DASHBOARDS.iter().map(|d| d.file.to_string()).collect();
        listed.sort();
        assert_eq!(listed, on_disk);
        for d in DASHBOARDS {
            let v: Value =
                serde_json::from_str(d.json).unwrap_or_else(|e| panic!("{}: {e}", d.file));
            assert!(v["title"].as_str().is_some_and(|t| t.starts_with("TAP / ")));
            assert_eq!(dashboard(d.file), Some(d));
        }
        assert_eq!(dashboard("nope.json"), None);
    }

    #[test]
    fn prometheus_rule_wraps_the_rule_file_with_the_given_labels() {
        let labels = vec![
            ("release".to_string(), "kube-prometheus-stack".to_string()),
            ("team".to_string(), "".to_string()),
        ];
        let doc: serde_yaml::Value = serde_yaml::from_str(&prometheus_rule(&labels)).unwrap();
        let rules: serde_yaml::Value = serde_yaml::from_str(RULES_YAML).unwrap();
        assert_eq!(doc["apiVersion"], "monitoring.coreos.com/v1");
        assert_eq!(doc["kind"], "PrometheusRule");
        assert_eq!(doc["metadata"]["name"], NAME);
        assert_eq!(
            doc["metadata"]["labels"]["release"],
            "kube-prometheus-stack"
        );
        assert_eq!(doc["metadata"]["labels"]["team"], "");
        assert_eq!(doc["metadata"]["labels"]["app.kubernetes.io/name"], NAME);
        assert_eq!(doc["spec"]["groups"], rules["groups"]);
        assert!(
            doc["spec"]["groups"]
                .as_sequence()
                .is_some_and(|g| g.len() == 2)
        );
    }

    #[test]
    fn configmaps_carry_the_sidecar_label_and_the_dashboard_unchanged() {
        for d in DASHBOARDS {
            for ns in [None, Some("monitoring")] {
                let cm: serde_yaml::Value =
                    serde_yaml::from_str(&dashboard_configmap(d, ns)).unwrap();
                assert_eq!(cm["kind"], "ConfigMap");
                assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], "1");
                assert_eq!(cm["data"][d.file].as_str(), Some(d.json));
                match ns {
                    Some(ns) => assert_eq!(cm["metadata"]["namespace"], ns),
                    None => assert!(cm["metadata"].get("namespace").is_none()),
                }
                let name = cm["metadata"]["name"].as_str().unwrap();
                assert!(is_dns_subdomain(name), "{name}");
            }
        }
        let files = dashboard_files(true, None);
        assert!(files.iter().all(|(f, _)| f.ends_with(".yaml")));
        assert_eq!(dashboard_files(false, None)[0].0, "tap-overview.json");
    }

    #[test]
    fn labels_are_checked_like_kubernetes_does() {
        assert_eq!(
            parse_label("release=kube-prometheus-stack").unwrap(),
            ("release".into(), "kube-prometheus-stack".into())
        );
        assert_eq!(
            parse_label("example.com/team=").unwrap(),
            ("example.com/team".into(), "".into())
        );
        for bad in [
            "release",
            "=x",
            "-a=b",
            "a=b c",
            "a=-b",
            "Example.com/a=b",
            "/a=b",
            &format!("a={}", "x".repeat(64)),
        ] {
            let e = parse_label(bad).unwrap_err();
            assert_eq!(e.kind, crate::ExitKind::Usage, "{bad}");
            assert!(!e.message.contains('\n'), "{bad}");
        }
        assert!(is_dns_label("monitoring"));
        for bad in ["", "Monitoring", "a_b", "-a", "a-", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }
}

//! The kube-state-metrics `CustomResourceStateMetrics` config, field for field.
//!
//! Field names and nesting follow KSM's `pkg/customresourcestate/config.go`, so
//! any config written for KSM deserializes here unchanged. Keys are
//! case-sensitive, as in KSM's YAML decoder. Fields are spelled out rather
//! than flattened so that unknown keys can be reported with their location.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A whole config document (`kind: CustomResourceStateMetrics`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default)]
    pub spec: MetricsSpec,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MetricsSpec {
    #[serde(default)]
    pub resources: Vec<Resource>,
}

/// One custom resource type and the metrics generated from it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// Absent means `kube_customresource`; `""` means no prefix at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name_prefix: Option<String>,
    pub group_version_kind: GroupVersionKind,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels_from_path: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub metrics: Vec<Generator>,
    #[serde(default, rename = "errorLogV", skip_serializing_if = "is_zero")]
    pub error_log_v: i32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_plural: String,
}

impl Resource {
    /// The prefix KSM joins to every metric name of this resource.
    pub fn prefix(&self) -> &str {
        self.metric_name_prefix
            .as_deref()
            .unwrap_or("kube_customresource")
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct GroupVersionKind {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
}

impl std::fmt::Display for GroupVersionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            write!(f, "{}/{}", self.version, self.kind)
        } else {
            write!(f, "{}/{}/{}", self.group, self.version, self.kind)
        }
    }
}

/// One metric (KSM calls it a generator).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Generator {
    pub name: String,
    #[serde(default)]
    pub help: String,
    pub each: Metric,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels_from_path: BTreeMap<String, Vec<String>>,
    #[serde(default, rename = "errorLogV", skip_serializing_if = "is_zero")]
    pub error_log_v: i32,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
    /// `Gauge`, `Info` or `StateSet`, in any case.
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gauge: Option<MetricGauge>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_set: Option<MetricStateSet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<MetricInfo>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MetricGauge {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels_from_path: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value_from: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label_from_key: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub nil_is_zero: bool,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MetricInfo {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels_from_path: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label_from_key: String,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MetricStateSet {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels_from_path: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<String>,
    #[serde(default)]
    pub list: Vec<String>,
    #[serde(default)]
    pub label_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value_from: Vec<String>,
}

fn is_zero(v: &i32) -> bool {
    *v == 0
}

fn is_false(v: &bool) -> bool {
    !*v
}

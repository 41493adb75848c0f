//! Compiling a config: every check and parse done once, so that per object
//! only evaluation is left.

use std::collections::BTreeMap;

use super::labels::LabelPlan;
use super::path::ValuePath;
use super::projection::Node;
use super::{CommonValue, CompiledFamily, CompiledResource, Each, EachKind};
use crate::config::model::{Metric, Resource};
use crate::model::MetricType;
use crate::shared::names::{check_label_name, is_valid_metric_name};

type CompileError = (Option<String>, String);

pub(super) fn compile_resource(
    index: usize,
    r: &Resource,
) -> Result<CompiledResource, CompileError> {
    let gvk = &r.group_version_kind;
    let top = |msg: String| (None, msg);
    if gvk.version.is_empty() {
        return Err(top("groupVersionKind.version is missing".into()));
    }
    if gvk.kind.is_empty() {
        return Err(top("groupVersionKind.kind is missing".into()));
    }
    if r.metrics.is_empty() {
        return Err(top("metrics is empty".into()));
    }
    for k in r.common_labels.keys() {
        check_label_name(k).map_err(|why| top(format!("commonLabels: {k:?} {why}")))?;
    }
    // KSM forces the GVK labels into the resource's commonLabels.
    let mut resource_common: BTreeMap<String, CommonValue> = r
        .common_labels
        .iter()
        .map(|(k, v)| (k.clone(), CommonValue::Fixed(v.clone())))
        .collect();
    resource_common.insert(
        "customresource_group".into(),
        CommonValue::Fixed(gvk.group.clone()),
    );
    resource_common.insert(
        "customresource_version".into(),
        if gvk.version == "*" {
            CommonValue::ObjectVersion
        } else {
            CommonValue::Fixed(gvk.version.clone())
        },
    );
    resource_common.insert(
        "customresource_kind".into(),
        if gvk.kind == "*" {
            CommonValue::ObjectKind
        } else {
            CommonValue::Fixed(gvk.kind.clone())
        },
    );

    let mut families = Vec::with_capacity(r.metrics.len());
    for g in &r.metrics {
        let ctx = |msg: String| (Some(g.name.clone()), msg);
        if g.name.is_empty() {
            return Err(top("a metric has no name".into()));
        }
        let name = match r.prefix() {
            "" => g.name.clone(),
            p => format!("{p}_{}", g.name),
        };
        if !is_valid_metric_name(&name) {
            return Err(ctx(format!("{name:?} is not a valid metric name")));
        }
        let mut common = resource_common.clone();
        for (k, v) in &g.common_labels {
            check_label_name(k).map_err(|why| ctx(format!("commonLabels: {k:?} {why}")))?;
            common.insert(k.clone(), CommonValue::Fixed(v.clone()));
        }
        let mut paths = r.labels_from_path.clone();
        paths.extend(g.labels_from_path.clone());
        let path_labels =
            LabelPlan::compile(&paths).map_err(|e| ctx(format!("labelsFromPath: {e}")))?;
        let (metric_type, each, each_reads) = compile_each(&g.each).map_err(ctx)?;
        let mut reads = label_reads(&paths);
        reads.merge(&each_reads);
        families.push(CompiledFamily {
            name,
            help: g.help.clone(),
            metric_type,
            error_log_v: if g.error_log_v != 0 {
                g.error_log_v
            } else {
                r.error_log_v
            },
            common: common.into_iter().collect(),
            path_labels,
            each,
            reads,
        });
    }
    Ok(CompiledResource {
        config_index: index,
        gvk: gvk.clone(),
        plural: (!r.resource_plural.is_empty()).then(|| r.resource_plural.clone()),
        families,
    })
}

fn compile_each(m: &Metric) -> Result<(MetricType, Each, Node), String> {
    let compile_path =
        |field: &str, p: &[String]| ValuePath::compile(p).map_err(|e| format!("each.{field}: {e}"));
    let compile_labels = |field: &str, l| {
        LabelPlan::compile(l).map_err(|e| format!("each.{field}.labelsFromPath: {e}"))
    };
    let check_name = |field: &str, name: &str| {
        if name.is_empty() {
            return Ok(());
        }
        check_label_name(name).map_err(|why| format!("each.{field}: {name:?} {why}"))
    };
    let missing = |field: &str| format!("each.{field} is missing (each.type is {})", m.type_);
    match m.type_.to_lowercase().as_str() {
        "gauge" => {
            let g = m.gauge.as_ref().ok_or_else(|| missing("gauge"))?;
            check_name("gauge.labelFromKey", &g.label_from_key)?;
            let path = compile_path("gauge.path", &g.path)?;
            let value_from = compile_path("gauge.valueFrom", &g.value_from)?;
            let reads = each_reads(&path, &g.labels_from_path, Some(&value_from));
            Ok((
                MetricType::Gauge,
                Each {
                    path,
                    labels: compile_labels("gauge", &g.labels_from_path)?,
                    kind: EachKind::Gauge {
                        value_from,
                        label_from_key: g.label_from_key.clone(),
                        nil_is_zero: g.nil_is_zero,
                    },
                },
                reads,
            ))
        }
        "info" => {
            let i = m.info.as_ref().ok_or_else(|| missing("info"))?;
            check_name("info.labelFromKey", &i.label_from_key)?;
            let path = compile_path("info.path", &i.path)?;
            let reads = each_reads(&path, &i.labels_from_path, None);
            Ok((
                MetricType::Info,
                Each {
                    path,
                    labels: compile_labels("info", &i.labels_from_path)?,
                    kind: EachKind::Info {
                        label_from_key: i.label_from_key.clone(),
                    },
                },
                reads,
            ))
        }
        "stateset" => {
            let s = m.state_set.as_ref().ok_or_else(|| missing("stateSet"))?;
            if s.label_name.is_empty() {
                return Err("each.stateSet.labelName is missing".into());
            }
            check_name("stateSet.labelName", &s.label_name)?;
            let path = compile_path("stateSet.path", &s.path)?;
            let value_from = compile_path("stateSet.valueFrom", &s.value_from)?;
            let reads = each_reads(&path, &s.labels_from_path, Some(&value_from));
            Ok((
                MetricType::StateSet,
                Each {
                    path,
                    labels: compile_labels("stateSet", &s.labels_from_path)?,
                    kind: EachKind::StateSet {
                        value_from,
                        label_name: s.label_name.clone(),
                        list: s.list.clone(),
                    },
                },
                reads,
            ))
        }
        "" => Err("each.type is missing (Gauge, Info or StateSet)".into()),
        other => Err(format!(
            "each.type {other:?} is unknown (Gauge, Info or StateSet)"
        )),
    }
}

/// What a `labelsFromPath` map reads, from where its paths start. Paths that
/// do not compile are left out: compiling the map itself reports them.
fn label_reads(paths: &BTreeMap<String, Vec<String>>) -> Node {
    let mut reads = Node::default();
    for p in paths.values().filter_map(|p| ValuePath::compile(p).ok()) {
        reads.add(&p, &Node::whole());
    }
    reads
}

/// What a metric's `each` reads: its labels and value, from the value at its
/// path and from every key or element there.
fn each_reads(
    path: &ValuePath,
    labels: &BTreeMap<String, Vec<String>>,
    value_from: Option<&ValuePath>,
) -> Node {
    let mut inner = label_reads(labels);
    if let Some(v) = value_from {
        inner.add(v, &Node::whole());
    }
    let mut reads = Node::default();
    reads.add(path, &Node::iterated(inner));
    reads
}

/// A lower-case English plural good enough for Kubernetes kinds.
pub(super) fn plural_of(kind: &str) -> String {
    let k = kind.to_lowercase();
    if let Some(stem) = k.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        return format!("{stem}ies");
    }
    if k.ends_with('s') || k.ends_with('x') || k.ends_with("ch") || k.ends_with("sh") {
        return format!("{k}es");
    }
    format!("{k}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_of_tap_kinds() {
        for (kind, plural) in [
            ("GitRepository", "gitrepositories"),
            ("ClusterInstanceClass", "clusterinstanceclasses"),
            ("APIDescriptor", "apidescriptors"),
            ("App", "apps"),
            ("Gateway", "gateways"),
        ] {
            assert_eq!(plural_of(kind), plural);
        }
    }
}

//! The mapping engine: a compiled config turns one object into samples, with
//! the semantics of kube-state-metrics v2.20's `pkg/customresourcestate`.
//!
//! Pure: no I/O beyond the sample [`Spool`](crate::model::Spool), no async.
//! [`Engine::compile`] does all parsing and validation once, so that per object
//! only evaluation is left.

mod assemble;
mod eval;
mod labels;
mod path;
mod projection;
pub mod value;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

pub use assemble::Assembler;
pub use eval::{EvalErrors, object_name};
use labels::LabelPlan;
pub use labels::sanitize_label_name;
use path::ValuePath;
use projection::Node;
pub use projection::{Projection, Seed};

use crate::config::Metrics;
use crate::config::model::{GroupVersionKind, Resource};
use crate::error::{Error, ExitKind};
use crate::model::{Labels, MetricSet, MetricType, Spool};
use crate::shared::names::{check_label_name, is_valid_metric_name};

/// A config compiled for evaluation.
#[derive(Debug, Clone)]
pub struct Engine {
    resources: Vec<CompiledResource>,
}

/// One `spec.resources` entry.
#[derive(Debug, Clone)]
pub struct CompiledResource {
    /// Position in the config's `spec.resources`.
    pub config_index: usize,
    pub gvk: GroupVersionKind,
    /// `resourcePlural`, when the config sets it.
    pub plural: Option<String>,
    pub families: Vec<CompiledFamily>,
}

impl CompiledResource {
    /// Whether an object with this `apiVersion` and `kind` belongs to the resource.
    pub fn matches(&self, api_version: &str, kind: &str) -> bool {
        let (group, version) = split_api_version(api_version);
        group == self.gvk.group
            && (self.gvk.version == "*" || self.gvk.version == version)
            && (self.gvk.kind == "*" || self.gvk.kind == kind)
    }

    /// The plural KSM would list: `resourcePlural`, or a lower-case English plural of the kind.
    pub fn plural_guess(&self) -> String {
        self.plural
            .clone()
            .unwrap_or_else(|| plural_of(&self.gvk.kind))
    }
}

/// One metric of a resource.
#[derive(Debug, Clone)]
pub struct CompiledFamily {
    /// Full name, prefix joined.
    pub name: String,
    pub help: String,
    pub metric_type: MetricType,
    /// Errors of this family are printed at this verbosity or above.
    pub error_log_v: i32,
    /// Resource and metric `commonLabels`, merged (metric wins).
    common: Vec<(String, CommonValue)>,
    /// Resource and metric `labelsFromPath`, merged (metric wins).
    path_labels: LabelPlan,
    each: Each,
    /// What evaluating the family reads of an object.
    reads: Node,
}

#[derive(Debug, Clone)]
enum CommonValue {
    Fixed(String),
    /// `customresource_version` of a `version: "*"` resource: the object's version.
    ObjectVersion,
    /// `customresource_kind` of a `kind: "*"` resource: the object's kind.
    ObjectKind,
}

#[derive(Debug, Clone)]
struct Each {
    path: ValuePath,
    labels: LabelPlan,
    kind: EachKind,
}

#[derive(Debug, Clone)]
enum EachKind {
    Gauge {
        value_from: ValuePath,
        label_from_key: String,
        nil_is_zero: bool,
    },
    Info {
        label_from_key: String,
    },
    StateSet {
        value_from: ValuePath,
        label_name: String,
        list: Vec<String>,
    },
}

/// The samples one resource gives, from one source (one cluster, or the input files).
#[derive(Debug)]
pub struct Batch {
    pub resource: usize,
    pub cluster: Option<String>,
    /// Labels added to every sample, e.g. `cluster`.
    pub extra_labels: Labels,
    /// Objects evaluated.
    pub objects: u64,
    spools: Vec<Spool>,
}

impl Engine {
    /// Compiles and validates a config; `origin` names it in errors.
    pub fn compile(config: &Metrics, origin: &str) -> Result<Engine, Error> {
        let mut resources = Vec::with_capacity(config.spec.resources.len());
        for (i, r) in config.spec.resources.iter().enumerate() {
            let res = compile_resource(i, r).map_err(|(metric, msg)| {
                let mut at = format!("spec.resources[{i}] ({})", r.group_version_kind);
                if let Some(m) = metric {
                    at.push_str(&format!(", metric {m:?}"));
                }
                Error::new(ExitKind::Config, format!("config {origin}: {at}: {msg}"))
            })?;
            resources.push(res);
        }
        Ok(Engine { resources })
    }

    pub fn resources(&self) -> &[CompiledResource] {
        &self.resources
    }

    /// Keeps only the families `keep_family` accepts, of the resources `keep_resource`
    /// accepts; resources left without families are dropped.
    pub fn retain(
        &mut self,
        keep_resource: impl Fn(&CompiledResource) -> bool,
        keep_family: impl Fn(&CompiledFamily) -> bool,
    ) {
        self.resources.retain(|r| keep_resource(r));
        for r in &mut self.resources {
            r.families.retain(|f| keep_family(f));
        }
        self.resources.retain(|r| !r.families.is_empty());
    }

    /// What evaluating `resources` reads of an object, with what messages
    /// name it by (`apiVersion`, `kind`, `metadata.namespace` and `.name`).
    pub fn projection(&self, resources: &[usize]) -> Projection {
        let mut always = Node::default();
        for p in [
            &["apiVersion"][..],
            &["kind"],
            &["metadata", "namespace"],
            &["metadata", "name"],
        ] {
            let p: Vec<String> = p.iter().map(|s| s.to_string()).collect();
            let path = ValuePath::compile(&p).expect("plain keys compile");
            always.add(&path, &Node::whole());
        }
        let families = resources
            .iter()
            .flat_map(|&r| &self.resources[r].families)
            .map(|f| &f.reads);
        Projection::new(std::iter::once(&always).chain(families))
    }

    /// An empty batch for resource `resource`.
    pub fn batch(&self, resource: usize, cluster: Option<String>, extra_labels: Labels) -> Batch {
        Batch {
            resource,
            cluster,
            extra_labels,
            objects: 0,
            spools: self.resources[resource]
                .families
                .iter()
                .map(|_| Spool::default())
                .collect(),
        }
    }

    /// One empty batch per resource, indexed like [`Engine::resources`].
    pub fn batches(&self, cluster: Option<&str>, extra_labels: &Labels) -> Vec<Batch> {
        (0..self.resources.len())
            .map(|i| self.batch(i, cluster.map(str::to_string), extra_labels.clone()))
            .collect()
    }

    /// Evaluates one object for every resource it belongs to, into `batches`
    /// (as made by [`Engine::batches`]); false when no resource matched. Unlike
    /// KSM, which keeps only the last entry for a GVK, every matching entry applies.
    pub fn evaluate_matching(
        &self,
        batches: &mut [Batch],
        obj: &Value,
        errors: &mut EvalErrors,
    ) -> std::io::Result<bool> {
        let api = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        let mut matched = false;
        for (i, res) in self.resources.iter().enumerate() {
            if res.matches(api, kind) {
                matched = true;
                self.evaluate(&mut batches[i], obj, errors)?;
            }
        }
        Ok(matched)
    }

    /// Evaluates every metric of the batch's resource on one object.
    /// Evaluation errors are recorded and never stop the other metrics.
    pub fn evaluate(
        &self,
        batch: &mut Batch,
        obj: &Value,
        errors: &mut EvalErrors,
    ) -> std::io::Result<()> {
        let res = &self.resources[batch.resource];
        batch.objects += 1;
        for (fam, spool) in res.families.iter().zip(&mut batch.spools) {
            eval::evaluate_family(fam, obj, spool, errors)?;
        }
        Ok(())
    }

    /// An assembler for this engine's batches; see [`Assembler`].
    pub fn assembler(&self) -> Assembler {
        Assembler::new(self)
    }

    /// Every family name of the config.
    pub fn family_names(&self) -> BTreeSet<String> {
        self.resources
            .iter()
            .flat_map(|r| &r.families)
            .map(|f| f.name.clone())
            .collect()
    }

    /// Puts batches together into families in config order (see
    /// [`Assembler`]); the batches of one resource keep their order.
    pub fn assemble(&self, batches: Vec<Batch>) -> MetricSet {
        let mut asm = self.assembler();
        for (i, b) in batches.into_iter().enumerate() {
            asm.deliver(i, b.resource, Some(b));
        }
        let families = std::iter::from_fn(|| asm.next_ready()).collect();
        MetricSet {
            families,
            resources: asm.summaries().to_vec(),
            names: self.family_names(),
        }
    }
}

type CompileError = (Option<String>, String);

fn compile_resource(index: usize, r: &Resource) -> Result<CompiledResource, CompileError> {
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

fn compile_each(m: &crate::config::model::Metric) -> Result<(MetricType, Each, Node), String> {
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

/// `group/version` → (`group`, `version`); `v1` → (`""`, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

/// A lower-case English plural good enough for Kubernetes kinds.
fn plural_of(kind: &str) -> String {
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

    #[test]
    fn api_versions_split() {
        assert_eq!(
            split_api_version("carto.run/v1alpha1"),
            ("carto.run", "v1alpha1")
        );
        assert_eq!(split_api_version("v1"), ("", "v1"));
    }
}

//! The mapping engine: a compiled config turns one object into samples, with
//! the semantics of kube-state-metrics v2.20's `pkg/customresourcestate`.
//!
//! Pure: evaluation appends samples to in-memory [`Spool`]s and cannot fail;
//! the caller moves full spools to disk ([`Batch::spill_if_full`]) and handles
//! that I/O's errors. No async. [`Engine::compile`] (in `compile`) does all
//! parsing and validation once, so that per object only evaluation is left.

mod assemble;
mod compile;
mod eval;
mod labels;
mod path;
mod projection;
mod value;

use std::collections::BTreeSet;
use std::io;

use serde_json::Value;

pub use assemble::Assembler;
use compile::{compile_resource, plural_of};
pub use eval::{EvalErrors, object_name};
use labels::LabelPlan;
pub use labels::sanitize_label_name;
use path::ValuePath;
use projection::Node;
pub use projection::{Projection, Seed};

use crate::config::Metrics;
use crate::config::model::GroupVersionKind;
use crate::error::{Error, ExitKind};
use crate::model::{Labels, MetricSet, MetricType, Spool};

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

    /// The names a user may call the resource by, as kubectl takes them: the
    /// canonical `plural.group` (`plural` in the core group) first, then the
    /// kind, the plural and `Kind.group`.
    pub fn names(&self) -> [String; 4] {
        let plural = self.plural_guess();
        let g = &self.gvk.group;
        let canonical = if g.is_empty() {
            plural.clone()
        } else {
            format!("{plural}.{g}")
        };
        [
            canonical,
            self.gvk.kind.clone(),
            plural,
            format!("{}.{g}", self.gvk.kind),
        ]
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
    /// Samples were appended since the last [`Batch::spill_if_full`]: a
    /// source checks every batch after each object, and most have none.
    appended: bool,
}

impl Batch {
    /// Moves each full spool of the batch to disk, bounding its memory; call
    /// it between objects.
    pub fn spill_if_full(&mut self) -> io::Result<()> {
        if !std::mem::take(&mut self.appended) {
            return Ok(());
        }
        self.spools.iter_mut().try_for_each(Spool::spill_if_full)
    }
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
            appended: false,
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
    ) -> bool {
        let api = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        let mut matched = false;
        for (i, res) in self.resources.iter().enumerate() {
            if res.matches(api, kind) {
                matched = true;
                self.evaluate_object(&mut batches[i], obj, errors);
            }
        }
        matched
    }

    /// Evaluates every metric of the batch's resource on one object.
    /// Evaluation errors are recorded and never stop the other metrics.
    pub fn evaluate_object(&self, batch: &mut Batch, obj: &Value, errors: &mut EvalErrors) {
        let res = &self.resources[batch.resource];
        batch.objects += 1;
        batch.appended = true;
        for (fam, spool) in res.families.iter().zip(&mut batch.spools) {
            eval::evaluate_family(fam, obj, spool, errors);
        }
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

/// `group/version` → (`group`, `version`); `v1` → (`""`, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_split() {
        assert_eq!(
            split_api_version("carto.run/v1alpha1"),
            ("carto.run", "v1alpha1")
        );
        assert_eq!(split_api_version("v1"), ("", "v1"));
    }
}

//! The neutral metric model between the engine and the renderers: families of
//! samples, in a fixed order.
//!
//! Samples are kept in [`Spool`]s: in memory up to a bound, then on disk.

mod spool;

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::io;

pub use spool::Spool;

/// The metric type as the config declares it. Renderers decide how each type
/// is written in their format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Gauge,
    Info,
    StateSet,
}

impl MetricType {
    /// The lower-case name KSM uses.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Gauge => "gauge",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
        }
    }
}

/// Label pairs sorted by name, names unique.
pub type Labels = Vec<(String, String)>;

/// One sample as read back: labels sorted by name, borrowed from the spool.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample<'a> {
    pub labels: &'a [(&'a str, &'a str)],
    pub value: f64,
}

impl<'a> Sample<'a> {
    pub fn label(&self, name: &str) -> Option<&'a str> {
        self.labels
            .binary_search_by(|(n, _)| (*n).cmp(name))
            .ok()
            .map(|i| self.labels[i].1)
    }
}

/// An empty vector of borrowed pairs with the allocation of `v`: collecting an
/// emptied vector into one of a same-sized type reuses its buffer in place.
pub(crate) fn recycle<'b>(mut v: Vec<(&str, &str)>) -> Vec<(&'b str, &'b str)> {
    v.clear();
    v.into_iter().map(|_| ("", "")).collect()
}

/// One metric family: a name, its help and type, and its samples in parts.
#[derive(Debug)]
pub struct Family {
    pub name: String,
    pub help: String,
    pub metric_type: MetricType,
    pub parts: Vec<Part>,
}

/// The samples one config resource gave a family, from one source.
#[derive(Debug)]
pub struct Part {
    /// Index of the config resource (in config order) the samples come from.
    pub resource: usize,
    /// The cluster (kubeconfig context) they were read from, if any.
    pub cluster: Option<String>,
    /// Labels added to every sample of the part (e.g. `cluster`); they win over
    /// the sample's own label of the same name.
    pub extra_labels: Labels,
    pub samples: std::sync::Arc<Spool>,
}

impl Family {
    /// Number of samples in all parts.
    pub fn len(&self) -> u64 {
        self.parts.iter().map(|p| p.samples.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every label name any sample of the family carries.
    pub fn label_names(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for p in &self.parts {
            names.extend(p.samples.label_names().iter().cloned());
            names.extend(p.extra_labels.iter().map(|(n, _)| n.clone()));
        }
        names
    }

    /// Calls `f` with each sample of every part, in order, extra labels merged in.
    pub fn for_each_sample(
        &self,
        mut f: impl FnMut(&Part, Sample<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut spare = Vec::new();
        for part in &self.parts {
            if part.extra_labels.is_empty() {
                part.samples.for_each(|s| f(part, s))?;
                continue;
            }
            part.samples.for_each(|s| {
                let mut merged = recycle(std::mem::take(&mut spare));
                merge_labels(&part.extra_labels, s.labels, &mut merged);
                f(
                    part,
                    Sample {
                        labels: &merged,
                        value: s.value,
                    },
                )?;
                spare = recycle(merged);
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// Merges two label lists sorted by name into `out`, sorted; on a name in
/// both, `top`'s value wins. One rule for the engine (each-level labels over
/// the base labels) and for parts (extra labels over a sample's own).
pub(crate) fn merge_labels<'s, T, U>(
    top: &'s [(T, T)],
    under: &'s [(U, U)],
    out: &mut Vec<(&'s str, &'s str)>,
) where
    T: AsRef<str>,
    U: AsRef<str>,
{
    let (mut i, mut j) = (0, 0);
    while let (Some((tn, tv)), Some((un, uv))) = (top.get(i), under.get(j)) {
        let (tn, un) = (tn.as_ref(), un.as_ref());
        match tn.cmp(un) {
            Ordering::Less => {
                out.push((tn, tv.as_ref()));
                i += 1;
            }
            Ordering::Greater => {
                out.push((un, uv.as_ref()));
                j += 1;
            }
            Ordering::Equal => {
                out.push((tn, tv.as_ref()));
                i += 1;
                j += 1;
            }
        }
    }
    out.extend(top[i..].iter().map(|(n, v)| (n.as_ref(), v.as_ref())));
    out.extend(under[j..].iter().map(|(n, v)| (n.as_ref(), v.as_ref())));
}

/// A whole snapshot: the families in output order.
#[derive(Debug, Default)]
pub struct MetricSet {
    pub families: Vec<Family>,
    /// The config resources, indexed by [`Part::resource`].
    pub resources: Vec<ResourceSummary>,
    /// Every family name the config defines, with samples or not: formats
    /// that rename families check for clashes against all of them, so that a
    /// family's name does not depend on what the cluster holds.
    pub names: BTreeSet<String>,
}

/// A config resource as the renderers see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceSummary {
    pub group: String,
    /// `*` when the config reads every version.
    pub version: String,
    pub kind: String,
    /// Objects evaluated, over all sources.
    pub objects: u64,
}

impl MetricSet {
    pub fn sample_count(&self) -> u64 {
        self.families.iter().map(Family::len).sum()
    }

    /// The same families restricted to the parts `keep` accepts; families left
    /// without parts are dropped.
    pub fn filter_parts(&self, keep: impl Fn(&Part) -> bool) -> MetricSet {
        let families = self
            .families
            .iter()
            .filter_map(|f| {
                let parts: Vec<Part> = f
                    .parts
                    .iter()
                    .filter(|p| keep(p))
                    .map(|p| Part {
                        resource: p.resource,
                        cluster: p.cluster.clone(),
                        extra_labels: p.extra_labels.clone(),
                        samples: p.samples.clone(),
                    })
                    .collect();
                (!parts.is_empty()).then(|| Family {
                    name: f.name.clone(),
                    help: f.help.clone(),
                    metric_type: f.metric_type,
                    parts,
                })
            })
            .collect();
        MetricSet {
            families,
            resources: self.resources.clone(),
            names: self.names.clone(),
        }
    }
}

/// Where a snapshot's samples came from: the clusters read, the label that
/// tells them apart, and which could not be read in full.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The clusters (kubeconfig contexts) read, in run order; empty for files.
    pub clusters: Vec<String>,
    /// The label every sample carries with its cluster's name, when several
    /// clusters are read (and `--cluster-label` is not empty).
    pub cluster_label: Option<String>,
    /// Clusters with resources that could not be read, in run order; empty
    /// when the snapshot is complete.
    pub incomplete: Vec<Incomplete>,
}

/// A cluster with resources that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incomplete {
    /// Its name: the value of its cluster label.
    pub cluster: String,
    /// Not one resource could be listed (unreachable, or every list failed).
    pub nothing_read: bool,
}

impl Incomplete {
    /// Whether the targets keep this cluster's series back (the partial-listing
    /// rule): always when nothing of it was read, else unless `partial_ok`
    /// (`--push-partial`).
    pub fn held(&self, partial_ok: bool) -> bool {
        self.nothing_read || !partial_ok
    }
}

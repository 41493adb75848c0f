//! Batches put together into families in config order, each family handed
//! out as soon as every batch it needs has arrived: a live listing can be
//! rendered while the last resources are still being read.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Batch, Engine};
use crate::model::{Family, MetricType, Part, ResourceSummary};

/// Takes batches as sources deliver them and hands out finished families.
///
/// Families are in config order; families that share a name are one, placed,
/// named and typed by their first entry in the config. A resource none of
/// whose batches saw an object contributes nothing, as in KSM.
#[derive(Debug)]
pub struct Assembler {
    plan: Vec<Planned>,
    /// Families handed out so far.
    next: usize,
    /// Per resource: deliveries still expected.
    pending: Vec<usize>,
    /// Per resource: the batches delivered, with their source's position.
    batches: Vec<Vec<(usize, Batch)>>,
    summaries: Vec<ResourceSummary>,
}

#[derive(Debug)]
struct Planned {
    name: String,
    help: String,
    metric_type: MetricType,
    /// (resource, family of the resource), in config order.
    members: Vec<(usize, usize)>,
}

impl Assembler {
    pub(super) fn new(engine: &Engine) -> Assembler {
        let mut plan: Vec<Planned> = Vec::new();
        let mut by_name: BTreeMap<&str, usize> = BTreeMap::new();
        for (ri, res) in engine.resources.iter().enumerate() {
            for (fi, fam) in res.families.iter().enumerate() {
                let i = *by_name.entry(&fam.name).or_insert_with(|| {
                    plan.push(Planned {
                        name: fam.name.clone(),
                        help: fam.help.clone(),
                        metric_type: fam.metric_type,
                        members: Vec::new(),
                    });
                    plan.len() - 1
                });
                plan[i].members.push((ri, fi));
            }
        }
        let n = engine.resources.len();
        Assembler {
            plan,
            next: 0,
            pending: vec![0; n],
            batches: (0..n).map(|_| Vec::new()).collect(),
            summaries: engine
                .resources
                .iter()
                .map(|r| ResourceSummary {
                    group: r.gvk.group.clone(),
                    version: r.gvk.version.clone(),
                    kind: r.gvk.kind.clone(),
                    objects: 0,
                })
                .collect(),
        }
    }

    /// Every resource will be delivered once by each of `sources` sources.
    pub fn expect(&mut self, sources: usize) {
        self.pending.iter_mut().for_each(|p| *p += sources);
    }

    /// A source is done with `resource`: its batch, or `None` when the source
    /// has nothing for it (not installed, unreadable, cluster unreachable).
    /// `source` orders the parts of a family.
    pub fn deliver(&mut self, source: usize, resource: usize, batch: Option<Batch>) {
        self.pending[resource] = self.pending[resource].saturating_sub(1);
        if let Some(b) = batch {
            self.summaries[resource].objects += b.objects;
            self.batches[resource].push((source, b));
        }
    }

    /// Stops waiting for deliveries: what has not come will not.
    pub fn close(&mut self) {
        self.pending.iter_mut().for_each(|p| *p = 0);
    }

    /// The next family in order, once all it needs has been delivered; `None`
    /// while it waits, and at the end.
    pub fn next_ready(&mut self) -> Option<Family> {
        while let Some(p) = self.plan.get(self.next) {
            if p.members.iter().any(|&(r, _)| self.pending[r] > 0) {
                return None;
            }
            self.next += 1;
            let mut parts = Vec::new();
            for &(r, fi) in &p.members {
                if self.summaries[r].objects == 0 {
                    continue;
                }
                self.batches[r].sort_by_key(|(source, _)| *source);
                for (_, b) in &mut self.batches[r] {
                    parts.push(Part {
                        resource: r,
                        cluster: b.cluster.clone(),
                        extra_labels: b.extra_labels.clone(),
                        samples: Arc::new(std::mem::take(&mut b.spools[fi])),
                    });
                }
            }
            if !parts.is_empty() {
                return Some(Family {
                    name: p.name.clone(),
                    help: p.help.clone(),
                    metric_type: p.metric_type,
                    parts,
                });
            }
        }
        None
    }

    /// The config resources with the objects delivered for each.
    pub fn summaries(&self) -> &[ResourceSummary] {
        &self.summaries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn engine() -> Engine {
        let yaml = r#"
kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: a.io, version: v1, kind: A}
    metricNamePrefix: ""
    metrics:
    - {name: a_info, help: first, each: {type: Info, info: {labelsFromPath: {name: [metadata, name]}}}}
    - {name: shared, help: from A, each: {type: Gauge, gauge: {path: [spec, n]}}}
  - groupVersionKind: {group: b.io, version: v1, kind: B}
    metricNamePrefix: ""
    metrics:
    - {name: shared, help: from B, each: {type: Gauge, gauge: {path: [spec, n]}}}
    - {name: b_gauge, help: b, each: {type: Gauge, gauge: {path: [spec, n]}}}
"#;
        let cfg: crate::config::Metrics = serde_yaml::from_str(yaml).unwrap();
        Engine::compile(&cfg, "test").unwrap()
    }

    fn batch(engine: &Engine, resource: usize, cluster: &str, objects: usize) -> Batch {
        let mut b = engine.batch(resource, Some(cluster.into()), Vec::new());
        let mut errors = crate::engine::EvalErrors::new(0);
        for i in 0..objects {
            let obj = json!({"metadata": {"name": format!("{cluster}-{i}")}, "spec": {"n": i}});
            engine.evaluate_object(&mut b, &obj, &mut errors);
        }
        b
    }

    fn clusters(f: &Family) -> Vec<&str> {
        f.parts
            .iter()
            .filter_map(|p| p.cluster.as_deref())
            .collect()
    }

    #[test]
    fn families_wait_for_every_source_and_keep_source_order() {
        let e = engine();
        let mut asm = e.assembler();
        asm.expect(2);
        asm.deliver(1, 0, Some(batch(&e, 0, "two", 1)));
        assert!(asm.next_ready().is_none(), "A still has a source to come");
        asm.deliver(0, 0, Some(batch(&e, 0, "one", 2)));
        let a = asm.next_ready().unwrap();
        assert_eq!(
            (a.name.as_str(), clusters(&a)),
            ("a_info", vec!["one", "two"])
        );
        assert_eq!(a.len(), 3);
        // `shared` needs B too.
        assert!(asm.next_ready().is_none());
        asm.deliver(0, 1, Some(batch(&e, 1, "one", 1)));
        asm.deliver(1, 1, None);
        let shared = asm.next_ready().unwrap();
        assert_eq!(shared.help, "from A", "the first entry names and types it");
        assert_eq!(
            shared.parts.iter().map(|p| p.resource).collect::<Vec<_>>(),
            [0, 0, 1]
        );
        assert_eq!(asm.next_ready().unwrap().name, "b_gauge");
        assert!(asm.next_ready().is_none());
        assert_eq!(asm.summaries()[0].objects, 3);
        assert_eq!(asm.summaries()[1].objects, 1);
    }

    #[test]
    fn resources_without_objects_give_no_family_and_close_ends_the_wait() {
        let e = engine();
        let mut asm = e.assembler();
        asm.expect(1);
        asm.deliver(0, 0, Some(batch(&e, 0, "one", 0)));
        assert!(asm.next_ready().is_none(), "B has not come");
        asm.deliver(0, 1, Some(batch(&e, 1, "one", 2)));
        let names: Vec<String> = std::iter::from_fn(|| asm.next_ready())
            .map(|f| f.name)
            .collect();
        assert_eq!(names, ["shared", "b_gauge"]);

        let mut asm = e.assembler();
        asm.expect(1);
        asm.deliver(0, 1, Some(batch(&e, 1, "one", 1)));
        assert!(asm.next_ready().is_none());
        asm.close();
        let names: Vec<String> = std::iter::from_fn(|| asm.next_ready())
            .map(|f| f.name)
            .collect();
        assert_eq!(names, ["shared", "b_gauge"]);
    }
}

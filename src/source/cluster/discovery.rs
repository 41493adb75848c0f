//! Config resources → what to list, through the API server's discovery
//! documents (`/api`, `/apis`, `/apis/<group>/<version>`), never by guessing
//! plurals: plural, scope and served versions come from the server.
//!
//! `version: "*"` lists the kind in the group's preferred version (or the
//! first served version that has it): one list per kind. `kind: "*"` lists
//! every kind of the group/version. Config entries that resolve to the same
//! resource share one list.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::api::{Api, Failure};
use crate::engine::CompiledResource;

/// A resource to list, as discovery describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gvr {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub kind: String,
    pub namespaced: bool,
}

impl Gvr {
    /// `plural.group` (`plural` in the core group), as kubectl names resources.
    pub fn display(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The collection path, in one namespace for namespaced kinds when given.
    pub fn path(&self, namespace: Option<&str>) -> String {
        let base = gv_path(&self.group, &self.version);
        match namespace {
            Some(ns) if self.namespaced => format!("{base}/namespaces/{ns}/{}", self.plural),
            _ => format!("{base}/{}", self.plural),
        }
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// One list to run and the config resources (indices) its objects feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub gvr: Gvr,
    pub resources: Vec<usize>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// In config order of their first resource.
    pub tasks: Vec<Task>,
    /// One warning per config resource the cluster does not serve.
    pub skipped: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct CoreVersions {
    #[serde(default)]
    versions: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct GroupList {
    #[serde(default)]
    groups: Vec<Group>,
}

#[derive(Debug, Deserialize)]
struct Group {
    name: String,
    #[serde(default)]
    versions: Vec<GroupVersion>,
    #[serde(rename = "preferredVersion", default)]
    preferred: Option<GroupVersion>,
}

#[derive(Debug, Deserialize)]
struct GroupVersion {
    version: String,
}

#[derive(Debug, Deserialize)]
struct ResourceList {
    #[serde(default)]
    resources: Vec<ApiResource>,
}

#[derive(Debug, Clone, Deserialize)]
struct ApiResource {
    name: String,
    kind: String,
    #[serde(default)]
    namespaced: bool,
    #[serde(default)]
    verbs: Vec<String>,
}

/// Served versions per group, preferred first.
type Groups = BTreeMap<String, Vec<String>>;
/// Resources per (group, version).
type Lists = HashMap<(String, String), Vec<ApiResource>>;

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

/// Asks the server what the config's resources are. Fails, with a message
/// naming the server, only when discovery itself cannot be read.
pub async fn plan(api: &Api, resources: &[CompiledResource]) -> Result<Plan, String> {
    let need_core = resources.iter().any(|r| r.gvk.group.is_empty());
    let need_named = resources.iter().any(|r| !r.gvk.group.is_empty());
    let describe = |path: &str, f: Failure| match f {
        Failure::Status { code: 401, .. } => {
            format!("the API server {} rejected the credentials ({f})", api.url)
        }
        Failure::Status { .. } => format!("discovery GET {}{path}: {f}", api.url),
        Failure::Transport(m) => m,
    };
    let (core, named) = tokio::join!(
        async {
            match need_core {
                true => api.get_json::<CoreVersions>("/api").await.map(Some),
                false => Ok(None),
            }
        },
        async {
            match need_named {
                true => api.get_json::<GroupList>("/apis").await.map(Some),
                false => Ok(None),
            }
        }
    );
    let mut groups = Groups::new();
    if let Some(core) = core.map_err(|f| describe("/api", f))? {
        groups.insert(String::new(), core.versions);
    }
    if let Some(named) = named.map_err(|f| describe("/apis", f))? {
        for g in named.groups {
            let mut versions: Vec<String> = g.preferred.into_iter().map(|p| p.version).collect();
            for v in g.versions {
                if !versions.contains(&v.version) {
                    versions.push(v.version);
                }
            }
            groups.insert(g.name, versions);
        }
    }

    let mut wanted: Vec<(String, String)> = Vec::new();
    for r in resources {
        for v in candidates(r, &groups) {
            let gv = (r.gvk.group.clone(), v);
            if !wanted.contains(&gv) {
                wanted.push(gv);
            }
        }
    }
    let fetches: Vec<_> = wanted
        .into_iter()
        .map(|(g, v)| {
            let api = api.clone();
            tokio::spawn(async move {
                let path = gv_path(&g, &v);
                let got = api.get_json::<ResourceList>(&path).await;
                (g, v, path, got)
            })
        })
        .collect();
    let mut lists = Lists::new();
    for f in fetches {
        let (g, v, path, got) = f
            .await
            .map_err(|e| format!("discovery at {} stopped: {e}", api.url))?;
        let resources = match got {
            Ok(list) => list.resources,
            // Removed since /apis was read: nothing served there.
            Err(f) if f.code() == Some(404) => Vec::new(),
            Err(f) => return Err(describe(&path, f)),
        };
        lists.insert((g, v), resources);
    }
    Ok(resolve(resources, &groups, &lists))
}

/// The versions to look for a resource in, in order of preference.
fn candidates(r: &CompiledResource, groups: &Groups) -> Vec<String> {
    let Some(served) = groups.get(&r.gvk.group) else {
        return Vec::new();
    };
    if r.gvk.version == "*" {
        served.clone()
    } else if served.contains(&r.gvk.version) {
        vec![r.gvk.version.clone()]
    } else {
        Vec::new()
    }
}

fn resolve(resources: &[CompiledResource], groups: &Groups, lists: &Lists) -> Plan {
    let mut plan = Plan::default();
    for (i, r) in resources.iter().enumerate() {
        let group = &r.gvk.group;
        let any_kind = r.gvk.kind == "*";
        let mut found: Vec<Gvr> = Vec::new();
        let mut unlistable: Vec<String> = Vec::new();
        for v in candidates(r, groups) {
            let Some(list) = lists.get(&(group.clone(), v.clone())) else {
                continue;
            };
            // Subresources (`workloads/status`) are not lists.
            for res in list.iter().filter(|x| !x.name.contains('/')) {
                let wanted = match &r.plural {
                    Some(p) => &res.name == p,
                    None => any_kind || res.kind == r.gvk.kind,
                };
                // One version per kind: the first, most preferred, wins.
                if !wanted || found.iter().any(|f| f.kind == res.kind) {
                    continue;
                }
                let gvr = Gvr {
                    group: group.clone(),
                    version: v.clone(),
                    plural: res.name.clone(),
                    kind: res.kind.clone(),
                    namespaced: res.namespaced,
                };
                if res.verbs.iter().any(|verb| verb == "list") {
                    found.push(gvr);
                } else if !unlistable.contains(&gvr.display()) {
                    unlistable.push(gvr.display());
                }
            }
            if !any_kind && !found.is_empty() {
                break;
            }
        }
        for name in &unlistable {
            plan.skipped
                .push(format!("{}: {name} does not support list; skipped", r.gvk));
        }
        if found.is_empty() {
            if unlistable.is_empty() {
                plan.skipped.push(not_served(r, groups));
            }
            continue;
        }
        for gvr in found {
            match plan.tasks.iter_mut().find(|t| t.gvr == gvr) {
                Some(t) if !t.resources.contains(&i) => t.resources.push(i),
                Some(_) => {}
                None => plan.tasks.push(Task {
                    gvr,
                    resources: vec![i],
                }),
            }
        }
    }
    plan
}

fn not_served(r: &CompiledResource, groups: &Groups) -> String {
    let g = &r.gvk.group;
    let why = match groups.get(g) {
        None => format!("no API group {g}: CRD not installed?"),
        Some(vs) if r.gvk.version != "*" && !vs.contains(&r.gvk.version) => {
            format!("{g} is served in {} only", vs.join(", "))
        }
        Some(_) => match &r.plural {
            Some(p) => format!("no resource {p} in {g}: CRD not installed?"),
            None => format!("no kind {} in {g}: CRD not installed?", r.gvk.kind),
        },
    };
    format!("{} is not served by the cluster ({why}); skipped", r.gvk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::GroupVersionKind;

    fn res(group: &str, version: &str, kind: &str, plural: Option<&str>) -> CompiledResource {
        CompiledResource {
            config_index: 0,
            gvk: GroupVersionKind {
                group: group.into(),
                version: version.into(),
                kind: kind.into(),
            },
            plural: plural.map(String::from),
            families: Vec::new(),
        }
    }

    fn api(name: &str, kind: &str, namespaced: bool) -> ApiResource {
        ApiResource {
            name: name.into(),
            kind: kind.into(),
            namespaced,
            verbs: vec!["get".into(), "list".into(), "watch".into()],
        }
    }

    fn gvr(group: &str, version: &str, plural: &str, kind: &str, namespaced: bool) -> Gvr {
        Gvr {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
            kind: kind.into(),
            namespaced,
        }
    }

    fn cluster() -> (Groups, Lists) {
        let groups: Groups = [
            ("".to_string(), vec!["v1".to_string()]),
            (
                "tekton.dev".to_string(),
                vec!["v1".to_string(), "v1beta1".to_string()],
            ),
            ("carto.run".to_string(), vec!["v1alpha1".to_string()]),
        ]
        .into();
        let mut lists = Lists::new();
        lists.insert(
            ("".into(), "v1".into()),
            vec![api("pods", "Pod", true), api("pods/status", "Pod", true)],
        );
        lists.insert(
            ("tekton.dev".into(), "v1".into()),
            vec![
                api("taskruns", "TaskRun", true),
                api("taskruns/status", "TaskRun", true),
                api("pipelineruns", "PipelineRun", true),
            ],
        );
        let mut claims = api("claims", "Claim", false);
        claims.verbs = vec!["get".into()];
        lists.insert(
            ("tekton.dev".into(), "v1beta1".into()),
            vec![
                api("taskruns", "TaskRun", true),
                api("runs", "Run", true),
                claims,
            ],
        );
        lists.insert(
            ("carto.run".into(), "v1alpha1".into()),
            vec![
                api("workloads", "Workload", true),
                api("clustersupplychains", "ClusterSupplyChain", false),
            ],
        );
        (groups, lists)
    }

    #[test]
    fn star_version_is_the_preferred_one_serving_the_kind() {
        let (groups, lists) = cluster();
        let plan = resolve(
            &[
                res("tekton.dev", "*", "TaskRun", None),
                res("tekton.dev", "*", "Run", None),
            ],
            &groups,
            &lists,
        );
        assert_eq!(
            plan.tasks,
            [
                Task {
                    gvr: gvr("tekton.dev", "v1", "taskruns", "TaskRun", true),
                    resources: vec![0]
                },
                Task {
                    gvr: gvr("tekton.dev", "v1beta1", "runs", "Run", true),
                    resources: vec![1]
                },
            ]
        );
        assert!(plan.skipped.is_empty());
    }

    #[test]
    fn star_kind_is_every_listable_kind_once() {
        let (groups, lists) = cluster();
        let plan = resolve(&[res("tekton.dev", "*", "*", None)], &groups, &lists);
        let names: Vec<String> = plan.tasks.iter().map(|t| t.gvr.display()).collect();
        assert_eq!(
            names,
            [
                "taskruns.tekton.dev",
                "pipelineruns.tekton.dev",
                "runs.tekton.dev"
            ]
        );
        assert_eq!(plan.tasks[2].gvr.version, "v1beta1");
        assert_eq!(
            plan.skipped,
            ["tekton.dev/*/*: claims.tekton.dev does not support list; skipped"]
        );
        let plan = resolve(&[res("carto.run", "v1alpha1", "*", None)], &groups, &lists);
        assert_eq!(plan.tasks.len(), 2);
        assert!(!plan.tasks[1].gvr.namespaced);
    }

    #[test]
    fn shared_resources_list_once_and_plurals_come_from_the_server() {
        let (groups, lists) = cluster();
        let plan = resolve(
            &[
                res("carto.run", "v1alpha1", "Workload", None),
                res("", "v1", "Pod", None),
                res("carto.run", "*", "Workload", Some("workloads")),
            ],
            &groups,
            &lists,
        );
        assert_eq!(plan.tasks.len(), 2);
        assert_eq!(plan.tasks[0].resources, [0, 2]);
        assert_eq!(plan.tasks[1].gvr, gvr("", "v1", "pods", "Pod", true));
        assert_eq!(
            plan.tasks[1].gvr.path(Some("dev")),
            "/api/v1/namespaces/dev/pods"
        );
        assert_eq!(
            plan.tasks[0].gvr.path(None),
            "/apis/carto.run/v1alpha1/workloads"
        );
        let cluster_scoped = gvr("carto.run", "v1alpha1", "clustersupplychains", "X", false);
        assert_eq!(
            cluster_scoped.path(Some("dev")),
            "/apis/carto.run/v1alpha1/clustersupplychains"
        );
    }

    #[test]
    fn missing_resources_are_skipped_with_one_line_each() {
        let (groups, lists) = cluster();
        let plan = resolve(
            &[
                res("kpack.io", "v1alpha2", "Build", None),
                res("carto.run", "v1", "Workload", None),
                res("carto.run", "v1alpha1", "Deliverable", None),
                res("carto.run", "v1alpha1", "Workload", Some("wl")),
            ],
            &groups,
            &lists,
        );
        assert!(plan.tasks.is_empty());
        assert_eq!(
            plan.skipped,
            [
                "kpack.io/v1alpha2/Build is not served by the cluster (no API group kpack.io: CRD not installed?); skipped",
                "carto.run/v1/Workload is not served by the cluster (carto.run is served in v1alpha1 only); skipped",
                "carto.run/v1alpha1/Deliverable is not served by the cluster (no kind Deliverable in carto.run: CRD not installed?); skipped",
                "carto.run/v1alpha1/Workload is not served by the cluster (no resource wl in carto.run: CRD not installed?); skipped",
            ]
        );
    }
}

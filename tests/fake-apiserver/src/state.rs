//! The server's state: the resources it serves and their objects, indexed once at start.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use hyper::body::Bytes;
use serde_json::{Map, Value, json};

use crate::crds::Crd;
use crate::discovery::version_priority;
use crate::faults::{Fault, FaultState};
use crate::{Options, Request, flatten_into};

pub(crate) struct Resource {
    pub(crate) group: String,
    /// Served versions, storage first.
    pub(crate) versions: Vec<String>,
    pub(crate) kind: String,
    pub(crate) plural: String,
    pub(crate) singular: String,
    pub(crate) namespaced: bool,
    pub(crate) short_names: Vec<String>,
    pub(crate) categories: Vec<String>,
    pub(crate) verbs: &'static [&'static str],
    pub(crate) status_subresource: bool,
    /// Hidden by `Fault::NotFound`.
    pub(crate) hidden: bool,
    pub(crate) is_crd: bool,
}

impl Resource {
    fn from_crd(c: &Crd) -> Resource {
        assert!(!c.versions.is_empty(), "CRD {} has no versions", c.name());
        Resource {
            group: c.group.clone(),
            versions: c.versions.clone(),
            kind: c.kind.clone(),
            plural: c.plural.clone(),
            singular: c.singular.clone(),
            namespaced: c.namespaced,
            short_names: c.short_names.clone(),
            categories: c.categories.clone(),
            verbs: CRD_VERBS,
            status_subresource: true,
            hidden: false,
            is_crd: true,
        }
    }

    pub(crate) fn builtin(
        group: &str,
        kind: &str,
        plural: &str,
        namespaced: bool,
        short: &[&str],
        cats: &[&str],
    ) -> Resource {
        Resource {
            group: group.into(),
            versions: vec!["v1".into()],
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            namespaced,
            short_names: short.iter().map(|s| s.to_string()).collect(),
            categories: cats.iter().map(|s| s.to_string()).collect(),
            verbs: CORE_VERBS,
            status_subresource: matches!(
                plural,
                "namespaces" | "pods" | "services" | "customresourcedefinitions"
            ),
            hidden: false,
            is_crd: false,
        }
    }

    pub(crate) fn group_version(&self, v: &str) -> String {
        if self.group.is_empty() {
            v.to_string()
        } else {
            format!("{}/{v}", self.group)
        }
    }

    /// `plural.group`, or `plural` for the core group, as in error messages.
    pub(crate) fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

const CRD_VERBS: &[&str] = &[
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
];
const CORE_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// One stored object: its etcd-style key and its JSON minus `apiVersion` and the leading `{`.
pub(crate) struct Entry {
    /// `ns/name` for namespaced kinds, `name` otherwise; the store is sorted by it bytewise.
    pub(crate) key: String,
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) rest: Bytes,
}

pub(crate) struct State {
    pub(crate) resources: Vec<Resource>,
    pub(crate) stores: Vec<Vec<Entry>>,
    pub(crate) faults: Vec<FaultState>,
    pub(crate) token: Option<String>,
    /// The "etcd revision": at least every object's resourceVersion.
    pub(crate) rv: u64,
    pub(crate) compression: bool,
    #[cfg(feature = "kubectl")]
    pub(crate) aggregated_discovery: bool,
    pub(crate) host: String,
    /// Requests with a unique id (also their Audit-Id), to set the status once answered.
    pub(crate) log: Mutex<Vec<(u64, Request)>>,
    pub(crate) audit: AtomicU64,
}

impl State {
    pub(crate) fn new(opts: Options, host: String) -> State {
        let mut resources = vec![
            Resource::builtin("", "Namespace", "namespaces", false, &["ns"], &[]),
            Resource::builtin("", "Pod", "pods", true, &["po"], &["all"]),
            Resource::builtin("", "Service", "services", true, &["svc"], &["all"]),
            Resource::builtin("", "ConfigMap", "configmaps", true, &["cm"], &[]),
            Resource::builtin("", "Secret", "secrets", true, &[], &[]),
            Resource::builtin("", "ServiceAccount", "serviceaccounts", true, &["sa"], &[]),
        ];
        #[cfg(feature = "kubectl")]
        resources.push(crate::kubectl::crd_resource());
        for c in &opts.crds {
            assert!(
                !resources
                    .iter()
                    .any(|r| r.group == c.group && r.plural == c.plural),
                "CRD {} declared twice",
                c.name()
            );
            resources.push(Resource::from_crd(c));
        }
        let faults: Vec<FaultState> = opts
            .faults
            .iter()
            .map(|(k, f)| FaultState::new(k, f))
            .collect();
        for f in &faults {
            assert!(
                resources.iter().any(|r| f.matches(r)),
                "fault key {:?} matches no served resource",
                f.key
            );
        }
        for r in &mut resources {
            r.hidden = faults
                .iter()
                .any(|f| f.fault == Fault::NotFound && f.matches(r));
        }

        let mut seeded: Vec<Vec<Map<String, Value>>> = resources.iter().map(|_| vec![]).collect();
        let mut objects = vec![];
        for o in opts.objects {
            flatten_into(o, &mut objects);
        }
        for o in objects {
            let Value::Object(m) = o else {
                panic!("seeded object is not a JSON object: {o}")
            };
            let api_version = m
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let kind = m.get("kind").and_then(Value::as_str).unwrap_or_default();
            let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
            let Some(i) = resources
                .iter()
                .position(|r| r.group == group && r.kind == kind)
            else {
                panic!(
                    "fake apiserver serves no kind {kind} in {api_version:?}; add its Crd to Options::crds"
                )
            };
            assert!(
                resources[i].versions.iter().any(|v| v == version),
                "{kind}: version {version:?} is not served (served: {:?})",
                resources[i].versions
            );
            seeded[i].push(m);
        }
        // A real cluster has these namespaces, and every namespace an object lives in.
        let ns_idx = resources
            .iter()
            .position(|r| r.plural == "namespaces")
            .unwrap();
        let mut namespaces: BTreeSet<String> =
            ["default", "kube-node-lease", "kube-public", "kube-system"]
                .map(String::from)
                .into();
        for (i, objs) in seeded.iter_mut().enumerate() {
            if resources[i].namespaced {
                for m in objs.iter_mut() {
                    let meta = meta_mut(m);
                    if meta
                        .get("namespace")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        meta.insert("namespace".into(), "default".into());
                    }
                    namespaces.insert(meta["namespace"].as_str().unwrap().to_string());
                }
            }
        }
        let have: BTreeSet<String> = seeded[ns_idx]
            .iter()
            .map(|m| obj_name(m).to_string())
            .collect();
        for ns in namespaces.difference(&have) {
            seeded[ns_idx].push(
                json!({
                    "apiVersion": "v1", "kind": "Namespace",
                    "metadata": { "name": ns, "labels": { "kubernetes.io/metadata.name": ns } },
                    "spec": { "finalizers": ["kubernetes"] },
                    "status": { "phase": "Active" },
                })
                .as_object()
                .unwrap()
                .clone(),
            );
        }
        #[cfg(feature = "kubectl")]
        crate::kubectl::seed_crd_objects(&resources, &mut seeded);

        let mut next_rv = 1000u64;
        let mut max_rv = 0u64;
        let mut stores = vec![];
        for (i, objs) in seeded.into_iter().enumerate() {
            let r = &resources[i];
            let mut store = Vec::with_capacity(objs.len());
            for mut m in objs {
                next_rv += 1;
                let name = obj_name(&m).to_string();
                assert!(
                    !name.is_empty(),
                    "{} without metadata.name (generateName is not supported)",
                    r.kind
                );
                let meta = meta_mut(&mut m);
                if !r.namespaced {
                    meta.remove("namespace");
                }
                let namespace = meta
                    .get("namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let key = if r.namespaced {
                    format!("{namespace}/{name}")
                } else {
                    name.clone()
                };
                meta.entry("uid")
                    .or_insert_with(|| fake_uid(next_rv, i as u64).into());
                meta.entry("resourceVersion")
                    .or_insert_with(|| next_rv.to_string().into());
                meta.entry("creationTimestamp")
                    .or_insert_with(|| "2024-05-01T12:00:00Z".into());
                if r.is_crd {
                    meta.entry("generation").or_insert_with(|| 1.into());
                }
                if let Some(rv) = meta["resourceVersion"]
                    .as_str()
                    .and_then(|s| s.parse::<u64>().ok())
                {
                    max_rv = max_rv.max(rv);
                }
                let labels = meta
                    .get("labels")
                    .and_then(Value::as_object)
                    .map(|l| {
                        l.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                m.remove("apiVersion");
                let json = serde_json::to_vec(&Value::Object(m)).unwrap();
                store.push(Entry {
                    key,
                    namespace,
                    name,
                    labels,
                    rest: Bytes::from(json).slice(1..),
                });
            }
            store.sort_by(|a, b| a.key.cmp(&b.key));
            if let Some(w) = store.windows(2).find(|w| w[0].key == w[1].key) {
                panic!("duplicate {} {:?}", r.kind, w[0].key);
            }
            stores.push(store);
        }

        State {
            resources,
            stores,
            faults,
            token: opts.token,
            rv: max_rv.max(next_rv),
            compression: opts.compression,
            #[cfg(feature = "kubectl")]
            aggregated_discovery: opts.aggregated_discovery,
            host,
            log: Mutex::new(vec![]),
            audit: AtomicU64::new(1),
        }
    }

    pub(crate) fn faults_for(&self, r: &Resource) -> impl Iterator<Item = &FaultState> {
        self.faults.iter().filter(move |f| f.matches(r))
    }

    /// Resources not hidden by `Fault::NotFound`.
    pub(crate) fn visible(&self) -> impl Iterator<Item = (usize, &Resource)> {
        self.resources.iter().enumerate().filter(|(_, r)| !r.hidden)
    }

    /// Served versions of a group, highest priority first (the first is preferred).
    pub(crate) fn group_versions(&self, group: &str) -> Vec<String> {
        let mut vs: Vec<String> = vec![];
        for (_, r) in self.visible().filter(|(_, r)| r.group == group) {
            for v in &r.versions {
                if !vs.contains(v) {
                    vs.push(v.clone());
                }
            }
        }
        vs.sort_by_key(|v| version_priority(v));
        vs
    }

    pub(crate) fn groups(&self) -> Vec<String> {
        let mut gs: Vec<String> = vec![];
        for (_, r) in self.visible() {
            if !r.group.is_empty() && !gs.contains(&r.group) {
                gs.push(r.group.clone());
            }
        }
        // Built-in groups first, then CRD groups by name, as aggregator priorities order them.
        gs.sort_by_key(|g| (g != "apiextensions.k8s.io", g.clone()));
        gs
    }
}

pub(crate) fn meta_mut(m: &mut Map<String, Value>) -> &mut Map<String, Value> {
    let meta = m.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    meta.as_object_mut().unwrap()
}

pub(crate) fn obj_name(m: &Map<String, Value>) -> &str {
    m.get("metadata")
        .and_then(|md| md.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// A stable RFC 4122-looking uid.
pub(crate) fn fake_uid(n: u64, salt: u64) -> String {
    let h = fnv(&[n.to_le_bytes(), salt.to_le_bytes()].concat());
    let h2 = fnv(&h.to_le_bytes());
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        h2 & 0xfff,
        h2 >> 16 & 0xffff_ffff_ffff
    )
}

pub(crate) fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

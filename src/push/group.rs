//! Groups: the Pushgateway URL of each grouping key, and which samples go where.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Url;

use super::PushOptions;
use crate::error::Error;
use crate::model::{Incomplete, MetricSet, Origin};
use crate::ui::Ui;

/// Everything but RFC 3986's unreserved characters is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The Pushgateway and the grouping key shared by every group of a run.
#[derive(Debug)]
pub(crate) struct Target {
    /// The `--pushgateway` URL.
    pub base: Url,
    /// Its path without the trailing `/`, where `/metrics/…` is appended.
    prefix: String,
    /// `job` first, then `--grouping-key`s in order.
    key: Vec<(String, String)>,
}

/// A snapshot split by cluster.
#[derive(Debug)]
struct Split {
    groups: Vec<(Group, MetricSet)>,
    /// Groups left as they are, each with its context and why.
    held: Vec<(String, Group, Held)>,
}

/// Why a cluster's group is not pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// Not one of its resources could be read.
    NothingRead,
    /// Some of its resources could not be read, and `--push-partial` is off.
    Partial,
}

/// One group: its full grouping key and URL.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub key: Vec<(String, String)>,
    pub url: Url,
}

impl Group {
    /// `job="tap-metrics",cluster="prod"`, for messages.
    pub fn describe(&self) -> String {
        self.key
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Target {
    /// Checks the options; nothing is read from the network or the kubeconfig.
    pub fn new(args: &PushOptions) -> Result<Target, Error> {
        let raw = args.url.as_str();
        let shown = crate::shared::text::redact_userinfo(raw);
        let bad = |why: String| Error::usage(format!("--pushgateway {shown:?}: {why}"));
        let like = "expected a URL like http://pushgateway:9091";
        if !raw.contains("://") {
            return Err(bad(like.into()));
        }
        let base = Url::parse(raw).map_err(|e| bad(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || !base.has_host() {
            return Err(bad(format!("{like} (http or https)")));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(bad(format!(
                "credentials do not belong in the URL; use --pushgateway-user with --pushgateway-password-file or ${}",
                super::PASSWORD_ENV
            )));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(bad("the URL must not have a query or a fragment".into()));
        }
        let prefix = base.path().trim_end_matches('/').to_string();

        if args.job.is_empty() {
            return Err(Error::usage("--job: the job name must not be empty"));
        }
        let cluster_label = args.cluster_label.as_deref();
        // The label that tells clusters apart must not be one the group key
        // already owns: every cluster would land in one group and overwrite it.
        if cluster_label == Some("job") {
            return Err(Error::usage(
                "--cluster-label \"job\": the job label is set with --job; with several contexts each cluster needs a label of its own",
            ));
        }
        let mut key = vec![("job".to_string(), args.job.clone())];
        for kv in &args.grouping_key {
            let bad = |why: String| Error::usage(format!("--grouping-key {kv:?}: {why}"));
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| bad("expected KEY=VALUE".into()))?;
            if crate::shared::names::check_label_name(k).is_err() {
                return Err(bad(format!("{k:?} is not a valid label name")));
            }
            if k == "job" {
                return Err(bad("the job is set with --job".into()));
            }
            // The Pushgateway gives every group without an instance an empty one:
            // this group would clash with that one and block every later push.
            if k == "instance" && v.is_empty() {
                return Err(bad(
                    "an empty instance is the same group as no instance".into()
                ));
            }
            if cluster_label == Some(k) {
                return Err(bad(format!(
                    "with several contexts the {k:?} label is set per cluster (see --cluster-label)"
                )));
            }
            if key.iter().any(|(have, _)| have == k) {
                return Err(bad(format!("{k:?} is given twice")));
            }
            key.push((k.to_string(), v.to_string()));
        }
        Ok(Target { base, prefix, key })
    }

    /// The groups of a push, each with its part of the snapshot. With several
    /// contexts every context gets its group, even one without samples, so that
    /// a PUT also clears a cluster whose objects are all gone. `incomplete`
    /// clusters are pushed only with `push_partial`, and never when nothing of
    /// theirs was read: a PUT would remove what could not be read. Empty when
    /// that holds back every group.
    pub fn split(
        &self,
        set: &MetricSet,
        origin: &Origin,
        push_partial: bool,
        ui: &Ui,
    ) -> Result<Vec<(Group, MetricSet)>, Error> {
        let incomplete = &origin.incomplete[..];
        let Some(label) = origin.cluster_label.as_deref() else {
            if incomplete.is_empty() {
                return Ok(vec![(self.group(None), set.filter_parts(|_| true))]);
            }
            if !push_partial {
                return Ok(Vec::new());
            }
            // Several contexts in one group (`--cluster-label ''`): a PUT
            // would remove every series of a cluster that gave nothing.
            if let Some(i) = incomplete.iter().find(|i| i.nothing_read) {
                ui.warn(format!(
                    "context {:?}: nothing was read, and its series share the group {} with the other contexts, so it is left as it is",
                    i.cluster,
                    self.group(None).describe()
                ));
                return Ok(Vec::new());
            }
            ui.warn("some resources could not be read; pushing the rest (--push-partial)");
            return Ok(vec![(self.group(None), set.filter_parts(|_| true))]);
        };
        let Split { groups, held } = self.split_clusters(
            set,
            label,
            origin.clusters.clone(),
            incomplete,
            push_partial,
        )?;
        for (name, group, why) in held {
            let group = group.describe();
            ui.warn(match why {
                Held::NothingRead => {
                    format!("context {name:?}: nothing was read, so its group {group} is left as it is")
                }
                Held::Partial => format!(
                    "context {name:?}: some resources could not be read, so its group {group} is left as it is (--push-partial pushes the rest)"
                ),
            });
        }
        for i in incomplete {
            if push_partial && !i.nothing_read {
                ui.warn(format!(
                    "context {:?}: some resources could not be read; pushing the rest (--push-partial)",
                    i.cluster
                ));
            }
        }
        Ok(groups)
    }

    /// Splits `set` by cluster, holding back the groups of `incomplete`
    /// clusters (see [`Target::split`]).
    fn split_clusters(
        &self,
        set: &MetricSet,
        label: &str,
        mut names: Vec<String>,
        incomplete: &[Incomplete],
        push_partial: bool,
    ) -> Result<Split, Error> {
        for part in set.families.iter().flat_map(|f| &f.parts) {
            match &part.cluster {
                Some(c) if !names.contains(c) => names.push(c.clone()),
                Some(_) => {}
                // Without its cluster a part would land in no group and vanish.
                None => {
                    return Err(Error::failure(
                        "cannot push: some samples have no cluster although several contexts were read; nothing was pushed",
                    ));
                }
            }
        }
        let mut groups = Vec::new();
        let mut held = Vec::new();
        for name in names {
            let group = self.group(Some((label, &name)));
            let why = incomplete
                .iter()
                .find(|i| i.cluster == name && i.held(push_partial))
                .map(|i| {
                    if i.nothing_read {
                        Held::NothingRead
                    } else {
                        Held::Partial
                    }
                });
            if let Some(why) = why {
                held.push((name, group, why));
                continue;
            }
            let mut part = set.filter_parts(|p| p.cluster.as_deref() == Some(name.as_str()));
            // The Pushgateway adds the grouping key's labels to every sample.
            for p in part.families.iter_mut().flat_map(|f| &mut f.parts) {
                p.extra_labels.retain(|(k, _)| k != label);
            }
            groups.push((group, part));
        }
        Ok(Split { groups, held })
    }

    /// The groups `--delete` removes: one per cluster of `origin` when they
    /// are told apart by a label.
    pub fn delete_groups(&self, origin: &Origin) -> Vec<Group> {
        match origin.cluster_label.as_deref() {
            None => vec![self.group(None)],
            Some(label) => origin
                .clusters
                .iter()
                .map(|n| self.group(Some((label, n))))
                .collect(),
        }
    }

    /// The group of the cluster `(label, name)`, or the only group.
    fn group(&self, cluster: Option<(&str, &str)>) -> Group {
        let mut key = self.key.clone();
        if let Some((label, name)) = cluster {
            key.push((label.to_string(), name.to_string()));
        }
        let mut path = self.prefix.clone();
        path.push_str("/metrics");
        for (k, v) in &key {
            path.push('/');
            path.push_str(&segment(k, v));
        }
        let mut url = self.base.clone();
        url.set_path(&path);
        Group { key, url }
    }
}

/// `key/value` as the Pushgateway reads a path: `key@base64/…` (URL-safe) when
/// the value has a `/` or would be a dot segment, `key@base64/=` when empty.
fn segment(key: &str, value: &str) -> String {
    if value.is_empty() {
        format!("{key}@base64/=")
    } else if value.contains('/') || value == "." || value == ".." {
        format!("{key}@base64/{}", URL_SAFE_NO_PAD.encode(value))
    } else {
        format!("{key}/{}", utf8_percent_encode(value, SEGMENT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push_args(url: &str, job: &str, keys: &[&str]) -> PushOptions {
        PushOptions {
            url: url.into(),
            job: job.into(),
            grouping_key: keys.iter().map(|k| k.to_string()).collect(),
            ..PushOptions::default()
        }
    }

    /// Several contexts asked for, told apart by `cluster`.
    fn multi(args: PushOptions) -> PushOptions {
        PushOptions {
            cluster_label: Some("cluster".into()),
            ..args
        }
    }

    fn url(base: &str, job: &str, keys: &[&str]) -> String {
        let t = Target::new(&push_args(base, job, keys)).unwrap();
        t.group(None).url.to_string()
    }

    #[test]
    fn paths_encode_values_as_the_pushgateway_expects() {
        assert_eq!(
            url("http://pgw:9091", "tap-metrics", &[]),
            "http://pgw:9091/metrics/job/tap-metrics"
        );
        assert_eq!(
            url(
                "https://pgw.example/prefix/",
                "a/b",
                &[
                    "ctx=arn:aws:eks:eu-west-1:1:cluster/prod",
                    "e=",
                    "d=..",
                    "s=a b%?#é"
                ]
            ),
            "https://pgw.example/prefix/metrics/job@base64/YS9i\
             /ctx@base64/YXJuOmF3czpla3M6ZXUtd2VzdC0xOjE6Y2x1c3Rlci9wcm9k\
             /e@base64/=/d@base64/Li4/s/a%20b%25%3F%23%C3%A9"
        );
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        let cases: &[(&str, &str, &[&str], &str)] = &[
            (
                "pgw:9091",
                "j",
                &[],
                "expected a URL like http://pushgateway:9091",
            ),
            (
                "127.0.0.1:9091",
                "j",
                &[],
                "expected a URL like http://pushgateway:9091",
            ),
            ("http://pgw:99999", "j", &[], "invalid port number"),
            (
                "http://u:p@pgw",
                "j",
                &[],
                "credentials do not belong in the URL",
            ),
            ("http://pgw/?a=b", "j", &[], "query or a fragment"),
            ("http://pgw", "", &[], "job name must not be empty"),
            ("http://pgw", "j", &["novalue"], "expected KEY=VALUE"),
            ("http://pgw", "j", &["job=x"], "set with --job"),
            (
                "http://pgw",
                "j",
                &["instance="],
                "same group as no instance",
            ),
            ("http://pgw", "j", &["a-b=x"], "not a valid label name"),
            ("http://pgw", "j", &["__a=x"], "not a valid label name"),
            ("http://pgw", "j", &["a=1", "a=2"], "given twice"),
        ];
        for (u, job, keys, want) in cases {
            let e = Target::new(&push_args(u, job, keys)).unwrap_err();
            assert_eq!(e.kind, crate::error::ExitKind::Usage);
            assert!(e.message.contains(want), "{u} {keys:?}: {e}");
        }
        let e = Target::new(&multi(push_args("http://pgw", "j", &["cluster=x"]))).unwrap_err();
        assert!(e.message.contains("set per cluster"), "{e}");
    }

    #[test]
    fn one_group_is_pushed_partial_only_when_asked_and_never_without_a_cluster() {
        let t = Target::new(&push_args("http://pgw", "j", &[])).unwrap();
        let ui = Ui::new(true, 0);
        let set = MetricSet {
            families: vec![],
            resources: vec![],
            names: Default::default(),
        };
        // Two contexts sharing one group (`--cluster-label ''`).
        let split = |incomplete: &[Incomplete], push_partial| {
            let shared = Origin {
                clusters: vec!["build".into(), "run".into()],
                cluster_label: None,
                incomplete: incomplete.to_vec(),
            };
            t.split(&set, &shared, push_partial, &ui).unwrap().len()
        };
        let some_read = Incomplete {
            cluster: "build".into(),
            nothing_read: false,
        };
        let none_read = Incomplete {
            cluster: "run".into(),
            nothing_read: true,
        };
        assert_eq!(split(&[], false), 1);
        assert_eq!(split(std::slice::from_ref(&some_read), false), 0);
        assert_eq!(split(std::slice::from_ref(&some_read), true), 1);
        // The group holds run's series too: even --push-partial leaves it.
        assert_eq!(split(&[some_read, none_read], true), 0);
    }

    #[test]
    fn several_contexts_give_one_group_per_cluster_without_the_label_in_samples() {
        use crate::model::{Family, MetricType, Part, Spool};
        let part = |c: Option<&str>| {
            let mut s = Spool::default();
            s.append(&[("name", "w")], 1.0);
            Part {
                resource: 0,
                cluster: c.map(str::to_string),
                extra_labels: c
                    .map(|c| ("cluster".into(), c.into()))
                    .into_iter()
                    .collect(),
                samples: std::sync::Arc::new(s),
            }
        };
        let set = |parts| MetricSet {
            families: vec![Family {
                name: "m".into(),
                help: "h".into(),
                metric_type: MetricType::Gauge,
                parts,
            }],
            resources: vec![],
            names: Default::default(),
        };
        let t = Target::new(&multi(push_args("http://pgw", "j", &["k=v"]))).unwrap();
        let names = vec!["a".to_string(), "b".to_string(), "empty".to_string()];
        let three = set(vec![part(Some("a")), part(Some("b")), part(Some("extra"))]);
        let Split { groups, held } = t
            .split_clusters(&three, "cluster", names.clone(), &[], false)
            .unwrap();
        assert!(held.is_empty());
        let urls: Vec<&str> = groups.iter().map(|(g, _)| g.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "http://pgw/metrics/job/j/k/v/cluster/a",
                "http://pgw/metrics/job/j/k/v/cluster/b",
                "http://pgw/metrics/job/j/k/v/cluster/empty",
                "http://pgw/metrics/job/j/k/v/cluster/extra",
            ]
        );
        assert_eq!(groups[1].0.describe(), "job=\"j\",k=\"v\",cluster=\"b\"");
        assert_eq!(groups[2].1.sample_count(), 0);
        for (g, s) in &groups {
            // The cluster label went into the key: the body check would refuse it.
            let body = super::super::body::build(s, &g.key).unwrap();
            assert_eq!(body.checked.samples, s.sample_count());
        }
        // Partial: a cluster that gave nothing keeps its group untouched; one
        // that gave some is pushed only with --push-partial.
        let incomplete = [
            Incomplete {
                cluster: "empty".into(),
                nothing_read: true,
            },
            Incomplete {
                cluster: "b".into(),
                nothing_read: false,
            },
        ];
        let pushed = |split: &Split| -> Vec<String> {
            split.groups.iter().map(|(g, _)| g.describe()).collect()
        };
        let split = t
            .split_clusters(&three, "cluster", names.clone(), &incomplete, false)
            .unwrap();
        assert_eq!(
            pushed(&split),
            [
                "job=\"j\",k=\"v\",cluster=\"a\"",
                "job=\"j\",k=\"v\",cluster=\"extra\""
            ]
        );
        let held: Vec<(&str, Held)> = split
            .held
            .iter()
            .map(|(n, _, w)| (n.as_str(), *w))
            .collect();
        assert_eq!(held, [("b", Held::Partial), ("empty", Held::NothingRead)]);
        let split = t
            .split_clusters(&three, "cluster", names.clone(), &incomplete, true)
            .unwrap();
        assert_eq!(pushed(&split).len(), 3);
        assert_eq!(split.held.len(), 1);
        assert_eq!(split.held[0].2, Held::NothingRead);
        let err = t
            .split_clusters(&set(vec![part(None)]), "cluster", names, &[], false)
            .unwrap_err();
        assert!(err.message.contains("nothing was pushed"), "{err}");
    }
}

//! `labelsFromPath` plans and KSM's `addPathLabels`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::Value;

use super::path::ValuePath;
use super::value::go_label;
use crate::shared::names::check_label_name;

/// A label name and value, borrowed from the config or the object unless
/// they had to be built.
pub type Label<'a> = (Cow<'a, str>, Cow<'a, str>);

/// Label sets built one after another in one `Vec`, so that an object's sets
/// cost one allocation rather than one each. The set being built, the tail
/// from `start`, behaves as a map would: sorted by name, names unique, a later
/// insert replacing the value. Sets are small, so a sorted `Vec` beats a tree.
#[derive(Debug, Default)]
pub struct LabelSets<'a> {
    labels: Vec<Label<'a>>,
    /// Where the set being built begins.
    start: usize,
}

impl<'a> LabelSets<'a> {
    pub fn with_capacity(labels: usize) -> Self {
        LabelSets {
            labels: Vec::with_capacity(labels),
            start: 0,
        }
    }

    fn building(&self) -> &[Label<'a>] {
        &self.labels[self.start..]
    }

    /// Adds a label to the set being built, or replaces its value.
    pub fn insert(&mut self, name: Cow<'a, str>, value: Cow<'a, str>) {
        // Names often come in sorted order: then one comparison is enough.
        if self
            .building()
            .last()
            .is_none_or(|(last, _)| **last < *name)
        {
            self.labels.push((name, value));
            return;
        }
        match self.building().binary_search_by(|(n, _)| (**n).cmp(&*name)) {
            Ok(i) => self.labels[self.start + i].1 = value,
            Err(i) => self.labels.insert(self.start + i, (name, value)),
        }
    }

    /// Whether the set being built has a label of this name.
    pub fn contains(&self, name: &str) -> bool {
        self.building()
            .binary_search_by(|(n, _)| (**n).cmp(name))
            .is_ok()
    }

    /// Whether the set being built is still empty.
    pub fn is_empty(&self) -> bool {
        self.start == self.labels.len()
    }

    /// Ends the set being built and says where it lies; the next one starts empty.
    pub fn finish(&mut self) -> Range<usize> {
        let set = self.start..self.labels.len();
        self.start = set.end;
        set
    }

    /// A finished set, sorted by name.
    pub fn get(&self, set: &Range<usize>) -> &[Label<'a>] {
        &self.labels[set.start..set.end]
    }
}

/// A compiled `labelsFromPath` map.
#[derive(Debug, Clone, Default)]
pub struct LabelPlan {
    /// `*`-keys in sorted key order: each copies a whole map.
    stars: Vec<Star>,
    /// Plain keys, already sanitised.
    plain: PathTree,
}

/// Plain keys as a tree of path segments, so that paths that begin alike
/// (`[spec, git, url]`, `[spec, git, ref, tag]`) look the common part up once.
/// Walking one-segment paths in turn is what a whole path does.
#[derive(Debug, Clone, Default)]
struct PathTree {
    /// Labels whose path ends here.
    names: Vec<String>,
    /// The next segments: as written, compiled, and the subtree under them.
    children: Vec<(String, ValuePath, PathTree)>,
}

impl PathTree {
    fn add(&mut self, segments: &[String], name: String) -> Result<(), String> {
        let Some((first, rest)) = segments.split_first() else {
            self.names.push(name);
            return Ok(());
        };
        let i = match self.children.iter().position(|(s, ..)| s == first) {
            Some(i) => i,
            None => {
                let step = ValuePath::compile(std::slice::from_ref(first))?;
                self.children
                    .push((first.clone(), step, PathTree::default()));
                self.children.len() - 1
            }
        };
        self.children[i].2.add(rest, name)
    }

    /// Adds the labels of this subtree; `at`, the value at its path, is not null.
    fn apply<'a>(&'a self, at: &'a Value, out: &mut LabelSets<'a>) {
        if !self.names.is_empty() {
            let value = go_label(at);
            for name in &self.names {
                out.insert(Cow::Borrowed(name), value.clone());
            }
        }
        for (_, step, next) in &self.children {
            if let Some(v) = step.get(Some(at)) {
                next.apply(v, out);
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Star {
    /// For a key ending in `*`, the text before it, sanitised, put in front of every copied key.
    prefix: Option<String>,
    path: ValuePath,
}

impl LabelPlan {
    /// Compiles a `labelsFromPath` map.
    pub fn compile(paths: &BTreeMap<String, Vec<String>>) -> Result<LabelPlan, String> {
        let mut plan = LabelPlan::default();
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        // BTreeMap iteration is sorted, which is the order KSM applies stars in.
        for (key, segments) in paths {
            let path = ValuePath::compile(segments).map_err(|e| format!("{key}: {e}"))?;
            if key.starts_with('*') || key.ends_with('*') {
                // Sanitising works per character, so the prefix can be done once here.
                let prefix = key
                    .strip_suffix('*')
                    .map(|p| sanitize_label_name(p).into_owned());
                if let Some(p) = &prefix
                    && p.starts_with("__")
                {
                    return Err(format!(
                        "{key:?}: every label it gives starts with \"__\", which is reserved for Prometheus' own use"
                    ));
                }
                plan.stars.push(Star { prefix, path });
                continue;
            }
            let name = sanitize_label_name(key).into_owned();
            if let Err(why) = check_label_name(&name) {
                return Err(if name == *key {
                    format!("{key:?} {why}")
                } else {
                    format!("{key:?} becomes label {name:?}, which {why}")
                });
            }
            if let Some(other) = seen.insert(name.clone(), key) {
                return Err(format!(
                    "{other:?} and {key:?} both become label {name:?}; KSM would pick one at random"
                ));
            }
            plan.plain
                .add(segments, name)
                .map_err(|e| format!("{key}: {e}"))?;
        }
        Ok(plan)
    }

    /// Adds the labels the plan finds in `obj` to `out`: stars first, then
    /// plain keys over them. A missing value leaves its label out. True when
    /// a star key was left out for its name: KSM would have written a label.
    pub fn apply<'a>(
        &'a self,
        obj: Option<&'a Value>,
        out: &mut LabelSets<'a>,
        errors: &mut Vec<String>,
    ) -> bool {
        let mut left_out = false;
        for star in &self.stars {
            if let Some(Value::Object(map)) = star.path.get(obj) {
                for (k, v) in map {
                    let name = match &star.prefix {
                        Some(p) => Cow::Owned(format!("{p}{}", sanitize_label_name(k))),
                        None => sanitize_label_name(k),
                    };
                    if let Err(why) = check_label_name(&name) {
                        errors.push(format!(
                            "{}: key {k:?} gives label name {name:?}, which {why}; label left out",
                            star.path
                        ));
                        left_out = true;
                        continue;
                    }
                    out.insert(name, go_label(v));
                }
            }
        }
        // Plain keys have unique names, so their order does not matter.
        if let Some(obj) = obj.filter(|v| !v.is_null()) {
            self.plain.apply(obj, out);
        }
        left_out
    }
}

/// KSM's `SanitizeLabelName`: every character outside `[a-zA-Z0-9_]` becomes `_`.
pub fn sanitize_label_name(s: &str) -> Cow<'_, str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if s.chars().all(ok) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().map(|c| if ok(c) { c } else { '_' }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(pairs: &[(&str, &[&str])]) -> LabelPlan {
        let map = pairs
            .iter()
            .map(|(k, p)| (k.to_string(), p.iter().map(|s| s.to_string()).collect()))
            .collect();
        LabelPlan::compile(&map).unwrap()
    }

    fn apply(p: &LabelPlan, obj: &Value) -> (Vec<(String, String)>, Vec<String>) {
        let mut out = LabelSets::default();
        let mut errs = Vec::new();
        p.apply(Some(obj), &mut out, &mut errs);
        let set = out.finish();
        let got = out
            .get(&set)
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()));
        (got.collect(), errs)
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn stars_expand_and_explicit_keys_win() {
        let obj = json!({"m": {"tier": "gold", "bar": 1, "services.apps.tanzu.vmware.com/tier": "dev", "n": null},
                         "spec": {"str": "explicit"}});
        let (got, _) = apply(&plan(&[("*", &["m"]), ("tier", &["spec", "str"])]), &obj);
        assert_eq!(
            got,
            pairs(&[
                ("bar", "1"),
                ("n", "<nil>"),
                ("services_apps_tanzu_vmware_com_tier", "dev"),
                ("tier", "explicit")
            ])
        );
        let (got, _) = apply(&plan(&[("lbl_*", &["m"])]), &obj);
        assert_eq!(got[0], ("lbl_bar".to_string(), "1".to_string()));
        let (got, _) = apply(&plan(&[("*1", &["m"])]), &obj);
        assert_eq!(got[0], ("bar".to_string(), "1".to_string()));
        let (got, _) = apply(&plan(&[("**", &["m"])]), &obj);
        assert_eq!(got[0], ("_bar".to_string(), "1".to_string()));
        // A star whose target is not a map adds nothing.
        let (got, _) = apply(&plan(&[("*", &["spec", "str"])]), &obj);
        assert!(got.is_empty());
    }

    #[test]
    fn star_keys_that_cannot_be_label_names_are_reported() {
        let (got, errs) = apply(
            &plan(&[("*", &["m"])]),
            &json!({"m": {"1x": "a", "ok": "b"}}),
        );
        assert_eq!(got, pairs(&[("ok", "b")]));
        assert_eq!(errs.len(), 1, "{errs:?}");
    }

    #[test]
    fn names_are_sanitised_and_checked() {
        let obj = json!({"a": "x"});
        assert_eq!(
            apply(&plan(&[("dash-ed.key", &["a"])]), &obj).0,
            pairs(&[("dash_ed_key", "x")])
        );
        let bad = BTreeMap::from([("0abc".to_string(), vec!["a".to_string()])]);
        assert!(
            LabelPlan::compile(&bad)
                .unwrap_err()
                .contains("not a valid label name")
        );
        let clash = BTreeMap::from([
            ("a-b".to_string(), vec!["a".to_string()]),
            ("a_b".to_string(), vec!["a".to_string()]),
        ]);
        assert!(
            LabelPlan::compile(&clash)
                .unwrap_err()
                .contains("both become label")
        );
    }

    #[test]
    fn sets_keep_names_sorted_and_unique_one_after_another() {
        let mut sets = LabelSets::default();
        for (k, v) in [("b", "1"), ("a", "2"), ("c", "3"), ("a", "4")] {
            sets.insert(k.into(), v.into());
        }
        assert!(sets.contains("a") && !sets.contains("d"));
        let first = sets.finish();
        assert!(sets.is_empty() && !sets.contains("a"));
        sets.insert("a".into(), "5".into());
        let second = sets.finish();
        let flat = |set| {
            let labels = sets.get(set).iter();
            labels.map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>()
        };
        assert_eq!(flat(&first), ["a=4", "b=1", "c=3"]);
        assert_eq!(flat(&second), ["a=5"]);
    }

    #[test]
    fn paths_that_share_segments_resolve_as_they_would_alone() {
        let obj = json!({"git": {"url": "u", "ref": {"tag": "t"}},
                         "list": [{"k": "x", "v": 1}, {"k": "y", "v": 2}]});
        let p = plan(&[
            ("url", &["git", "url"]),
            ("tag", &["git", "ref", "tag"]),
            ("branch", &["git", "ref", "branch"]),
            ("ref", &["git", "ref"]),
            ("x", &["list", "0", "v"]),
            ("y", &["list", "[k=y]", "v"]),
            ("root", &[]),
        ]);
        let (got, _) = apply(&p, &json!({"a": 1}));
        assert_eq!(got, pairs(&[("root", "map[a:1]")]));
        let (mut got, _) = apply(&p, &obj);
        got.retain(|(k, _)| k != "root");
        assert_eq!(
            got,
            pairs(&[
                ("ref", "map[tag:t]"),
                ("tag", "t"),
                ("url", "u"),
                ("x", "1"),
                ("y", "2")
            ])
        );
    }

    #[test]
    fn missing_values_leave_the_label_out_but_empty_strings_stay() {
        let obj = json!({"s": "", "n": null, "l": [], "m": {}});
        let p = plan(&[
            ("s", &["s"]),
            ("n", &["n"]),
            ("x", &["x"]),
            ("l", &["l"]),
            ("m", &["m"]),
        ]);
        assert_eq!(
            apply(&p, &obj).0,
            pairs(&[("l", "[]"), ("m", "map[]"), ("s", "")])
        );
    }
}

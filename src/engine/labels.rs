//! `labelsFromPath` plans and KSM's `addPathLabels`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::path::ValuePath;
use super::value::go_fmt;

/// Labels built for one sample, by name.
pub type LabelMap = BTreeMap<String, String>;

/// A compiled `labelsFromPath` map.
#[derive(Debug, Clone, Default)]
pub struct LabelPlan {
    /// `*`-keys in sorted key order: each copies a whole map.
    stars: Vec<Star>,
    /// Plain keys, already sanitised.
    plain: Vec<(String, ValuePath)>,
}

#[derive(Debug, Clone)]
struct Star {
    /// For a key ending in `*`, the text before it, put in front of every copied key.
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
                let prefix = key.strip_suffix('*').map(str::to_string);
                plan.stars.push(Star { prefix, path });
                continue;
            }
            let name = sanitize_label_name(key);
            if !is_valid_label_name(&name) {
                return Err(format!("{key:?} is not a valid label name"));
            }
            if let Some(other) = seen.insert(name.clone(), key) {
                return Err(format!(
                    "{other:?} and {key:?} both become label {name:?}; KSM would pick one at random"
                ));
            }
            plan.plain.push((name, path));
        }
        Ok(plan)
    }

    /// Adds the labels the plan finds in `obj` to `out`: stars first, then
    /// plain keys over them. A missing value leaves its label out.
    pub fn apply(&self, obj: Option<&Value>, out: &mut LabelMap, errors: &mut Vec<String>) {
        for star in &self.stars {
            if let Some(Value::Object(map)) = star.path.get(obj) {
                for (k, v) in map {
                    let raw = match &star.prefix {
                        Some(p) => format!("{p}{k}"),
                        None => k.clone(),
                    };
                    let name = sanitize_label_name(&raw);
                    if !is_valid_label_name(&name) {
                        errors.push(format!(
                            "{}: key {k:?} gives label name {name:?}, which is not valid; label left out",
                            star.path
                        ));
                        continue;
                    }
                    out.insert(name, go_fmt(v));
                }
            }
        }
        for (name, path) in &self.plain {
            if let Some(v) = path.get(obj) {
                out.insert(name.clone(), go_fmt(v));
            }
        }
    }
}

/// KSM's `SanitizeLabelName`: every character outside `[a-zA-Z0-9_]` becomes `_`.
pub fn sanitize_label_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Prometheus label names: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Prometheus metric names: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_valid_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
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
        let mut out = LabelMap::new();
        let mut errs = Vec::new();
        p.apply(Some(obj), &mut out, &mut errs);
        (out.into_iter().collect(), errs)
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

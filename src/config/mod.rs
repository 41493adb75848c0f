//! The KSM config: its model, the loader for every form users keep it in, and
//! the embedded TAP default.
//!
//! Loading only reads and type-checks the document; turning paths and names
//! into something the engine can evaluate is [`crate::engine::Engine::compile`].

pub mod model;
pub mod yaml;

use std::fmt;

use serde::Deserialize;
use serde::de::DeserializeOwned;

pub use model::Metrics;

use crate::error::{Error, ExitKind};

/// The embedded TAP default config, as shipped in the binary.
pub const TAP_DEFAULT_YAML: &str = include_str!("tap-default.yaml");

/// Where a config came from, for messages.
pub const TAP_DEFAULT_ORIGIN: &str = "embedded TAP default config";

/// A loaded config and what the loader noticed on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Metrics,
    /// File name, `<stdin>` or [`TAP_DEFAULT_ORIGIN`].
    pub origin: String,
    /// Which form the document had.
    pub form: Form,
    /// Keys KSM would ignore, with their location.
    pub unknown_keys: Vec<UnknownKey>,
}

/// The shapes a KSM config is found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `kind: CustomResourceStateMetrics` with `spec.resources`.
    Bare,
    /// kube-prometheus-stack values: `kube-state-metrics.customResourceState.config`.
    KubePrometheusStackValues,
    /// kube-state-metrics chart values: `customResourceState.config`.
    KubeStateMetricsValues,
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Form::Bare => "CustomResourceStateMetrics document",
            Form::KubePrometheusStackValues => {
                "kube-prometheus-stack values (kube-state-metrics.customResourceState.config)"
            }
            Form::KubeStateMetricsValues => {
                "kube-state-metrics chart values (customResourceState.config)"
            }
        })
    }
}

/// A key that the config model does not know, so KSM would silently ignore it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// Location of the mapping holding the key, e.g. `spec.resources[3].metrics[1].each.stateSet`.
    pub at: String,
    pub key: String,
    /// `resource <gvk>, metric "<name>"` when the key sits inside one.
    pub context: Option<String>,
}

impl fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown field \"{}\" at {}", self.key, self.at)?;
        if let Some(c) = &self.context {
            write!(f, " ({c})")?;
        }
        Ok(())
    }
}

/// The largest config read: Helm values files holding a config are well
/// under 1 MiB.
pub const CONFIG_LIMIT: u64 = 4 * 1024 * 1024;

/// Reads a config file (`-` is standard input).
pub fn load_path(path: &str) -> Result<Loaded, Error> {
    let (text, origin) = crate::shared::io::read_bounded(path, CONFIG_LIMIT, "configs")
        .map_err(|e| Error::new(ExitKind::Config, format!("config {e}")).caused_by(e))?;
    let text = String::from_utf8(text).map_err(|e| {
        Error::new(
            ExitKind::Config,
            format!(
                "config {origin}: not UTF-8 text (byte {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    load_str(&text, &origin)
}

/// The embedded TAP default config.
pub fn tap_default() -> Loaded {
    load_str(TAP_DEFAULT_YAML, TAP_DEFAULT_ORIGIN).expect("the embedded default config is valid")
}

/// Parses a config in any of its [`Form`]s. A leading byte order mark is
/// skipped; YAML merge keys (`<<: *anchor`) are applied as KSM's yaml.v3 does.
pub fn load_str(text: &str, origin: &str) -> Result<Loaded, Error> {
    let err = |msg: String| Error::new(ExitKind::Config, format!("config {origin}: {msg}"));
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    yaml::check_depth(text.as_bytes()).map_err(|e| err(e.to_string()))?;
    let mut doc: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| err(yaml_error(&e)))?;
    // Merged documents are read from the merged tree, which has no line numbers.
    let merged = has_merge_key(&doc);
    if merged {
        doc.apply_merge()
            .map_err(|e| err(format!("YAML merge key: {e}")))?;
    }
    let source = Source {
        text,
        merged: merged.then_some(&doc),
    };
    let form = detect(&doc).map_err(err)?;
    let mut unknown = Vec::new();
    let config = match form {
        Form::Bare => {
            if let Some(kind) = doc.get("kind").and_then(|k| k.as_str())
                && kind != "CustomResourceStateMetrics"
            {
                return Err(err(format!(
                    "kind is {kind:?}, expected CustomResourceStateMetrics (or Helm values with customResourceState.config)"
                )));
            }
            source
                .deserialize::<Metrics>(&[], &mut unknown)
                .map_err(err)?
        }
        Form::KubePrometheusStackValues => {
            // A string `config` is a YAML document of its own.
            if let Some(s) = config_node(&doc, form).and_then(|c| c.as_str()) {
                return load_str(
                    s,
                    &format!("{origin} (kube-state-metrics.customResourceState.config)"),
                );
            }
            source
                .deserialize::<KpsValues>(
                    &["kube-state-metrics", "customResourceState", "config"],
                    &mut unknown,
                )
                .map_err(err)?
                .ksm
                .crs
                .config
        }
        Form::KubeStateMetricsValues => {
            if let Some(s) = config_node(&doc, form).and_then(|c| c.as_str()) {
                return load_str(s, &format!("{origin} (customResourceState.config)"));
            }
            source
                .deserialize::<KsmValues>(&["customResourceState", "config"], &mut unknown)
                .map_err(err)?
                .crs
                .config
        }
    };
    if config.spec.resources.is_empty() {
        return Err(err(format!("{form} has no spec.resources")));
    }
    let unknown_keys = unknown
        .into_iter()
        .map(|(segments, key)| describe_unknown(&config, &segments, key))
        .collect();
    Ok(Loaded {
        config,
        origin: origin.to_string(),
        form,
        unknown_keys,
    })
}

fn detect(doc: &serde_yaml::Value) -> Result<Form, String> {
    if !doc.is_mapping() {
        return Err(
            "expected a YAML mapping (a CustomResourceStateMetrics document or Helm values)".into(),
        );
    }
    for form in [
        Form::KubePrometheusStackValues,
        Form::KubeStateMetricsValues,
    ] {
        if config_node(doc, form).is_some() {
            return Ok(form);
        }
    }
    if doc.get("kind").is_some() || doc.get("spec").is_some() {
        return Ok(Form::Bare);
    }
    Err("no KSM custom resource state config found: expected `kind: CustomResourceStateMetrics` with `spec.resources`, \
         or Helm values with `kube-state-metrics.customResourceState.config` or `customResourceState.config`"
        .into())
}

fn config_node(doc: &serde_yaml::Value, form: Form) -> Option<&serde_yaml::Value> {
    let crs = match form {
        Form::Bare => return Some(doc),
        Form::KubePrometheusStackValues => {
            doc.get("kube-state-metrics")?.get("customResourceState")?
        }
        Form::KubeStateMetricsValues => doc.get("customResourceState")?,
    };
    crs.get("config").filter(|c| !c.is_null())
}

#[derive(Deserialize)]
struct KpsValues {
    #[serde(rename = "kube-state-metrics")]
    ksm: KsmValues,
}

#[derive(Deserialize)]
struct KsmValues {
    #[serde(rename = "customResourceState")]
    crs: CrsValues,
}

#[derive(Deserialize)]
struct CrsValues {
    config: Metrics,
}

/// One step of a location in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Whether any mapping of the document has a `<<` key.
fn has_merge_key(v: &serde_yaml::Value) -> bool {
    match v {
        serde_yaml::Value::Mapping(m) => m
            .iter()
            .any(|(k, v)| k.as_str() == Some("<<") || has_merge_key(v)),
        serde_yaml::Value::Sequence(s) => s.iter().any(has_merge_key),
        serde_yaml::Value::Tagged(t) => has_merge_key(&t.value),
        _ => false,
    }
}

/// What a config is deserialized from: the text, so that errors keep their
/// line and column, or the tree with merge keys applied.
struct Source<'a> {
    text: &'a str,
    merged: Option<&'a serde_yaml::Value>,
}

impl Source<'_> {
    /// Deserializes the document, collecting ignored keys below `inside` (the
    /// rest of a Helm values file is not ours to judge).
    fn deserialize<T: DeserializeOwned>(
        &self,
        inside: &[&str],
        unknown: &mut Vec<(Vec<Seg>, String)>,
    ) -> Result<T, String> {
        let mut ignored = Vec::new();
        let value: T = match self.merged {
            Some(doc) => {
                serde_ignored::deserialize(doc.clone(), |path| ignored.push(segments(&path)))
            }
            None => {
                serde_ignored::deserialize(serde_yaml::Deserializer::from_str(self.text), |path| {
                    ignored.push(segments(&path))
                })
            }
        }
        .map_err(|e| yaml_error(&e))?;
        Ok(keep_unknown(value, ignored, inside, unknown))
    }
}

fn keep_unknown<T>(
    value: T,
    ignored: Vec<Vec<Seg>>,
    inside: &[&str],
    unknown: &mut Vec<(Vec<Seg>, String)>,
) -> T {
    for mut segs in ignored {
        let prefix_len = inside.len();
        let under = segs.len() > prefix_len
            && segs
                .iter()
                .zip(inside)
                .all(|(s, want)| matches!(s, Seg::Key(k) if k == want));
        if !under && !inside.is_empty() {
            continue;
        }
        segs.drain(..prefix_len);
        if let Some(Seg::Key(key)) = segs.pop() {
            unknown.push((segs, key));
        }
    }
    value
}

fn segments(path: &serde_ignored::Path<'_>) -> Vec<Seg> {
    use serde_ignored::Path;
    let mut out = match path {
        Path::Root => return Vec::new(),
        Path::Seq { parent, .. }
        | Path::Map { parent, .. }
        | Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => segments(parent),
    };
    match path {
        Path::Seq { index, .. } => out.push(Seg::Index(*index)),
        Path::Map { key, .. } => out.push(Seg::Key(key.clone())),
        _ => {}
    }
    out
}

fn describe_unknown(config: &Metrics, segs: &[Seg], key: String) -> UnknownKey {
    let mut at = String::new();
    for s in segs {
        match s {
            Seg::Key(k) => {
                if !at.is_empty() {
                    at.push('.');
                }
                at.push_str(k);
            }
            Seg::Index(i) => at.push_str(&format!("[{i}]")),
        }
    }
    if at.is_empty() {
        at.push_str("top level");
    }
    let mut context = None;
    if let [Seg::Key(spec), Seg::Key(res), Seg::Index(ri), rest @ ..] = segs
        && spec == "spec"
        && res == "resources"
        && let Some(r) = config.spec.resources.get(*ri)
    {
        let mut c = format!("resource {}", r.group_version_kind);
        if let [Seg::Key(m), Seg::Index(mi), ..] = rest
            && m == "metrics"
            && let Some(g) = r.metrics.get(*mi)
        {
            c.push_str(&format!(", metric {:?}", g.name));
        }
        context = Some(c);
    }
    UnknownKey { at, key, context }
}

/// serde_yaml's message already names the path and the line and column.
fn yaml_error(e: &serde_yaml::Error) -> String {
    let msg = e.to_string();
    match e.location() {
        Some(loc) if !msg.contains("line ") => {
            format!("{msg} at line {} column {}", loc.line(), loc.column())
        }
        _ => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_loads_without_unknown_keys() {
        let l = tap_default();
        assert_eq!(l.form, Form::Bare);
        assert_eq!(l.config.spec.resources.len(), 21);
        let metrics: usize = l
            .config
            .spec
            .resources
            .iter()
            .map(|r| r.metrics.len())
            .sum();
        assert_eq!(metrics, 42);
        assert!(l.unknown_keys.is_empty(), "{:?}", l.unknown_keys);
    }

    #[test]
    fn unknown_keys_are_located() {
        let text = r#"
kind: CustomResourceStateMetrics
spec:
  resources:
    - groupVersionKind: {group: g.io, version: v1, kind: Foo}
      labelFromPath: {name: [metadata, name]}
      metrics:
        - name: foo_state
          each:
            type: StateSet
            stateSet:
              nilIsZero: true
              labelName: state
              list: [A]
              path: [status, phase]
"#;
        let l = load_str(text, "t.yaml").unwrap();
        let got: Vec<String> = l.unknown_keys.iter().map(|u| u.to_string()).collect();
        assert_eq!(
            got,
            [
                "unknown field \"labelFromPath\" at spec.resources[0] (resource g.io/v1/Foo)",
                "unknown field \"nilIsZero\" at spec.resources[0].metrics[0].each.stateSet (resource g.io/v1/Foo, metric \"foo_state\")",
            ]
        );
    }

    #[test]
    fn helm_values_forms_are_found() {
        let kps = "prometheus: {x: 1}\nkube-state-metrics:\n  rbac: {}\n  customResourceState:\n    enabled: true\n    config:\n      spec:\n        resources:\n          - groupVersionKind: {group: a, version: v1, kind: B}\n            metrics: []\n";
        let l = load_str(kps, "v.yaml").unwrap();
        assert_eq!(l.form, Form::KubePrometheusStackValues);
        assert!(l.unknown_keys.is_empty(), "{:?}", l.unknown_keys);

        let ksm = "customResourceState:\n  enabled: true\n  config: |\n    kind: CustomResourceStateMetrics\n    spec:\n      resources:\n        - groupVersionKind: {group: a, version: v1, kind: B}\n";
        let l = load_str(ksm, "v.yaml").unwrap();
        assert_eq!(l.config.spec.resources[0].group_version_kind.kind, "B");
    }

    #[test]
    fn errors_name_the_place() {
        let e = load_str(
            "kind: CustomResourceStateMetrics\nspec:\n  resources:\n    - groupVersionKind: {group: a, version: v1, kind: B}\n      metrics:\n        - name: x\n          each: {type: Gauge, gauge: {path: spec.size}}\n",
            "bad.yaml",
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("config bad.yaml: "), "{msg}");
        assert!(msg.contains("line 7"), "{msg}");
        assert!(
            msg.contains("spec.resources[0].metrics[0].each.gauge.path"),
            "{msg}"
        );

        let e = load_str("kind: ConfigMap\n", "cm.yaml").unwrap_err();
        assert!(
            e.to_string()
                .contains("expected CustomResourceStateMetrics"),
            "{e}"
        );
        let e = load_str("- a\n", "list.yaml").unwrap_err();
        assert!(e.to_string().contains("expected a YAML mapping"), "{e}");
        let e = load_str("foo: bar\n", "x.yaml").unwrap_err();
        assert!(
            e.to_string()
                .contains("no KSM custom resource state config found"),
            "{e}"
        );
    }
}

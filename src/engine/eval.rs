//! Evaluation of one compiled metric on one object: KSM's `Values` of each
//! metric type, the base labels, and the per-object sample order.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::Value;

use super::labels::LabelMap;
use super::value::to_f64;
use super::{CommonValue, CompiledFamily, EachKind, split_api_version};
use crate::model::Spool;

/// Evaluation errors: always counted, kept as messages only when they would be shown.
#[derive(Debug, Default)]
pub struct EvalErrors {
    verbosity: u8,
    pub total: u64,
    /// Error count per metric name.
    pub by_metric: BTreeMap<String, u64>,
    /// Messages of the errors shown at this verbosity, at most [`EvalErrors::MAX_MESSAGES`].
    pub messages: Vec<String>,
    /// Errors shown at this verbosity that did not fit in `messages`.
    pub messages_dropped: u64,
}

impl EvalErrors {
    pub const MAX_MESSAGES: usize = 10_000;

    /// `verbosity` is the `-v` count: an error of a metric whose `errorLogV`
    /// is N is kept when the count is at least N (and at least 1).
    pub fn new(verbosity: u8) -> Self {
        EvalErrors {
            verbosity,
            ..Default::default()
        }
    }

    fn record(&mut self, fam: &CompiledFamily, obj: &Value, msg: String) {
        self.total += 1;
        *self.by_metric.entry(fam.name.clone()).or_default() += 1;
        if i32::from(self.verbosity) < fam.error_log_v.max(1) {
            return;
        }
        if self.messages.len() >= Self::MAX_MESSAGES {
            self.messages_dropped += 1;
            return;
        }
        self.messages
            .push(format!("{} {}: {msg}", fam.name, object_ref(obj)));
    }

    /// Adds another collector's counts and messages (e.g. of a concurrent list).
    pub fn merge(&mut self, other: EvalErrors) {
        self.total += other.total;
        for (k, v) in other.by_metric {
            *self.by_metric.entry(k).or_default() += v;
        }
        let room = Self::MAX_MESSAGES.saturating_sub(self.messages.len());
        let n = other.messages.len();
        self.messages.extend(other.messages.into_iter().take(room));
        self.messages_dropped += other.messages_dropped + n.saturating_sub(room) as u64;
    }
}

/// `Kind namespace/name` of an object, for messages.
fn object_ref(obj: &Value) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    format!("{kind} {}", object_name(obj))
}

/// `namespace/name` of an object (`name` when cluster-scoped), for messages.
pub fn object_name(obj: &Value) -> String {
    let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("");
    let (ns, name) = (s("/metadata/namespace"), s("/metadata/name"));
    let name = if name.is_empty() { "<unnamed>" } else { name };
    if ns.is_empty() {
        name.to_string()
    } else {
        format!("{ns}/{name}")
    }
}

/// What `Values` gives: each-level labels and a value.
struct EachValue {
    labels: LabelMap,
    value: f64,
}

pub(super) fn evaluate_family(
    fam: &CompiledFamily,
    obj: &Value,
    spool: &mut Spool,
    errors: &mut EvalErrors,
) -> std::io::Result<()> {
    let mut errs = Vec::new();

    let mut base = LabelMap::new();
    for (name, v) in &fam.common {
        let value = match v {
            CommonValue::Fixed(s) => s.clone(),
            CommonValue::ObjectVersion => {
                let api = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
                split_api_version(api).1.to_string()
            }
            CommonValue::ObjectKind => obj
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        };
        base.insert(name.clone(), value);
    }
    fam.path_labels.apply(Some(obj), &mut base, &mut errs);

    let each = &fam.each;
    let v = each.path.get(Some(obj));
    let path_str = || each.path.to_string();
    let mut values: Vec<EachValue> = Vec::new();
    match &each.kind {
        EachKind::Gauge {
            value_from,
            label_from_key,
            nil_is_zero,
        } => {
            let gauge_value = |it: Option<&Value>| -> Result<Option<EachValue>, String> {
                let got = value_from.get(it);
                let Some(got) = got else {
                    if *nil_is_zero {
                        return Ok(Some(EachValue {
                            labels: LabelMap::new(),
                            value: 0.0,
                        }));
                    }
                    if it.is_none() {
                        return Err("got nil while resolving path".into());
                    }
                    // The value is simply not there: no sample, no error.
                    return Ok(None);
                };
                to_f64(got, *nil_is_zero)
                    .map(|value| {
                        Some(EachValue {
                            labels: LabelMap::new(),
                            value,
                        })
                    })
                    .map_err(|e| format!("{value_from}: {e}"))
            };
            match v {
                Some(Value::Object(map)) => {
                    let single = value_from.single_segment();
                    for (key, it) in map {
                        let it = Some(it).filter(|v| !v.is_null());
                        let mut ev = None;
                        if single == Some(key.as_str()) {
                            match to_f64(it.unwrap_or(&Value::Null), *nil_is_zero) {
                                Ok(value) => {
                                    ev = Some(EachValue {
                                        labels: LabelMap::new(),
                                        value,
                                    })
                                }
                                Err(e) => {
                                    errs.push(format!("{}: [{key}]: {e}", path_str()));
                                    continue;
                                }
                            }
                        }
                        // Inside a map, failures are dropped silently, as in KSM.
                        let Some(mut ev) = ev.or_else(|| gauge_value(it).ok().flatten()) else {
                            continue;
                        };
                        if !key.is_empty() && !label_from_key.is_empty() {
                            ev.labels.insert(label_from_key.clone(), key.clone());
                        }
                        each.labels.apply(it, &mut ev.labels, &mut errs);
                        // Paths are evaluated against the map itself too, and that wins.
                        each.labels.apply(v, &mut ev.labels, &mut errs);
                        values.push(ev);
                    }
                }
                Some(Value::Array(list)) => {
                    for (i, it) in list.iter().enumerate() {
                        let it = Some(it).filter(|v| !v.is_null());
                        match gauge_value(it) {
                            Err(e) => errs.push(format!("{}: [{i}]: {e}", path_str())),
                            Ok(None) => {}
                            Ok(Some(mut ev)) => {
                                each.labels.apply(it, &mut ev.labels, &mut errs);
                                values.push(ev);
                            }
                        }
                    }
                }
                _ => match gauge_value(v) {
                    Err(e) => errs.push(format!("{}: {e}", path_str())),
                    Ok(None) => {}
                    Ok(Some(mut ev)) => {
                        each.labels.apply(v, &mut ev.labels, &mut errs);
                        values.push(ev);
                    }
                },
            }
        }
        EachKind::Info { label_from_key } => {
            let info_value = |it: Option<&Value>, errs: &mut Vec<String>| -> Option<EachValue> {
                it?;
                let mut labels = LabelMap::new();
                each.labels.apply(it, &mut labels, errs);
                (!labels.is_empty()).then_some(EachValue { labels, value: 1.0 })
            };
            match v {
                Some(Value::Array(list)) => {
                    for it in list {
                        values.extend(info_value(Some(it).filter(|v| !v.is_null()), &mut errs));
                    }
                }
                Some(Value::Object(map)) => {
                    let own = info_value(v, &mut errs);
                    if let Some(own) = &own
                        && own.labels.contains_key(label_from_key)
                    {
                        errs.push(format!(
                            "{}: labelFromKey ({label_from_key}) generated labels conflict with labelsFromPath, consider renaming it",
                            path_str()
                        ));
                    }
                    // Every child that yields labels gives a sample of its own.
                    for (key, it) in map {
                        let mut labels = LabelMap::new();
                        if !key.is_empty() && !label_from_key.is_empty() {
                            labels.insert(label_from_key.clone(), key.clone());
                        }
                        each.labels.apply(
                            Some(it).filter(|v| !v.is_null()),
                            &mut labels,
                            &mut errs,
                        );
                        if !labels.is_empty() {
                            values.push(EachValue { labels, value: 1.0 });
                        }
                    }
                    values.extend(own);
                }
                _ => values.extend(info_value(v, &mut errs)),
            }
        }
        EachKind::StateSet {
            value_from,
            label_name,
            list,
            quiet_when_missing,
        } => {
            let mut state_values = |it: Option<&Value>, errs: &mut Vec<String>| {
                let got = value_from.get(it);
                let Some(Value::String(current)) = got else {
                    if !quiet_when_missing {
                        errs.push(format!(
                            "{}: expected value for path to be string, got {}",
                            path_str(),
                            go_type_name(got)
                        ));
                    }
                    return;
                };
                for entry in list {
                    let mut labels = LabelMap::new();
                    labels.insert(label_name.clone(), entry.clone());
                    each.labels.apply(it, &mut labels, errs);
                    values.push(EachValue {
                        labels,
                        value: if entry == current { 1.0 } else { 0.0 },
                    });
                }
            };
            match v {
                Some(Value::Array(items)) => {
                    for it in items {
                        state_values(Some(it).filter(|v| !v.is_null()), &mut errs);
                    }
                }
                _ => state_values(v, &mut errs),
            }
        }
    }

    for e in errs {
        errors.record(fam, obj, e);
    }

    // KSM sorts one object's samples by their each-level labels only.
    values.sort_by(|a, b| cmp_labels(&a.labels, &b.labels));
    let mut labels: Vec<(String, String)> = Vec::new();
    for ev in values {
        let mut merged = ev.labels;
        for (k, v) in &base {
            if !merged.contains_key(k) {
                merged.insert(k.clone(), v.clone());
            }
        }
        labels.clear();
        labels.extend(merged);
        spool.push(&labels, ev.value)?;
    }
    Ok(())
}

/// KSM's `less`: sorted keys compared pairwise, key then value; fewer labels first.
fn cmp_labels(a: &LabelMap, b: &LabelMap) -> Ordering {
    for ((ka, va), (kb, vb)) in a.iter().zip(b.iter()) {
        match ka.cmp(kb).then_with(|| va.cmp(vb)) {
            Ordering::Equal => continue,
            o => return o,
        }
    }
    a.len().cmp(&b.len())
}

/// Go's `%T` of a decoded JSON value.
fn go_type_name(v: Option<&Value>) -> &'static str {
    match v {
        None | Some(Value::Null) => "<nil>",
        Some(Value::Bool(_)) => "bool",
        Some(Value::Number(n)) if n.is_i64() => "int64",
        Some(Value::Number(_)) => "float64",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "[]interface {}",
        Some(Value::Object(_)) => "map[string]interface {}",
    }
}

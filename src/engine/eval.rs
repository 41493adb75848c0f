//! Evaluation of one compiled metric on one object: KSM's `Values` of each
//! metric type, the base labels, and the per-object sample order.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::Value;

use super::labels::{Label, LabelSets};
use super::path::ValuePath;
use super::value::{GoNumber, go_number, to_f64};
use super::{CommonValue, CompiledFamily, Each, EachKind, split_api_version};
use crate::model::{Spool, merge_labels};

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

/// What `Values` gives: a set of each-level labels and a value.
struct EachValue {
    labels: Range<usize>,
    value: f64,
}

/// One object's samples for one family while they are made: the label sets
/// in one vector (see [`LabelSets`]), each sample a set and a value, and the
/// error messages, built only when something fails.
struct Collected<'a> {
    sets: LabelSets<'a>,
    values: Vec<EachValue>,
    errs: Vec<String>,
}

impl Collected<'_> {
    /// Ends the set being built as a sample's labels.
    fn push(&mut self, value: f64) {
        let labels = self.sets.finish();
        self.values.push(EachValue { labels, value });
    }
}

/// KSM's evaluation of one metric on one object, appended to `spool`: the base
/// labels, the samples of the metric's type, then the samples in KSM's order.
/// Errors are recorded in `errors` and never stop the other samples.
pub(super) fn evaluate_family(
    fam: &CompiledFamily,
    obj: &Value,
    spool: &mut Spool,
    errors: &mut EvalErrors,
) {
    // The base labels come first, then each sample's each-level labels;
    // 32 fits most objects without growing.
    let mut c = Collected {
        sets: LabelSets::with_capacity(32),
        values: Vec::new(),
        errs: Vec::new(),
    };
    let base = base_labels(fam, obj, &mut c);
    let each = &fam.each;
    let at = each.path.get(Some(obj));
    match &each.kind {
        EachKind::Gauge {
            value_from,
            label_from_key,
            nil_is_zero,
        } => gauge_values(each, value_from, label_from_key, *nil_is_zero, at, &mut c),
        EachKind::Info { label_from_key } => info_values(each, label_from_key, at, &mut c),
        EachKind::StateSet {
            value_from,
            label_name,
            list,
        } => state_set_values(each, value_from, label_name, list, at, &mut c),
    }
    for e in c.errs.drain(..) {
        errors.record(fam, obj, e);
    }
    append_sorted(c, base, spool);
}

/// The labels every sample of the family carries: `commonLabels` (with the
/// GVK labels) and the family's `labelsFromPath`, as a finished set.
fn base_labels<'a>(fam: &'a CompiledFamily, obj: &'a Value, c: &mut Collected<'a>) -> Range<usize> {
    for (name, v) in &fam.common {
        let value = match v {
            CommonValue::Fixed(s) => s.as_str(),
            CommonValue::ObjectVersion => split_api_version(str_field(obj, "apiVersion")).1,
            CommonValue::ObjectKind => str_field(obj, "kind"),
        };
        c.sets.insert(Cow::Borrowed(name), Cow::Borrowed(value));
    }
    fam.path_labels.apply(Some(obj), &mut c.sets, &mut c.errs);
    c.sets.finish()
}

/// KSM's gauge `Values` on `at`, the value at the `each` path: one sample per
/// map entry or list element with a value, or one for a scalar.
fn gauge_values<'a>(
    each: &'a Each,
    value_from: &ValuePath,
    label_from_key: &'a str,
    nil_is_zero: bool,
    at: Option<&'a Value>,
    c: &mut Collected<'a>,
) {
    let path_str = || each.path.to_string();
    let gauge_value = |it: Option<&Value>| -> Result<Option<f64>, String> {
        let Some(got) = value_from.get(it) else {
            if nil_is_zero {
                return Ok(Some(0.0));
            }
            if it.is_none() {
                return Err("got nil while resolving path".into());
            }
            // The value is simply not there: no sample, no error.
            return Ok(None);
        };
        to_f64(got, nil_is_zero)
            .map(Some)
            .map_err(|e| format!("{value_from}: {e}"))
    };
    match at {
        Some(Value::Object(map)) => {
            let single = value_from.single_segment();
            for (key, it) in map {
                let it = Some(it).filter(|v| !v.is_null());
                let mut value = None;
                if single == Some(key.as_str()) {
                    match to_f64(it.unwrap_or(&Value::Null), nil_is_zero) {
                        Ok(x) => value = Some(x),
                        Err(e) => {
                            c.errs.push(format!("{}: [{key}]: {e}", path_str()));
                            continue;
                        }
                    }
                }
                // Inside a map, failures are dropped silently, as in KSM.
                let Some(value) = value.or_else(|| gauge_value(it).ok().flatten()) else {
                    continue;
                };
                if !key.is_empty() && !label_from_key.is_empty() {
                    c.sets
                        .insert(Cow::Borrowed(label_from_key), Cow::Borrowed(key));
                }
                each.labels.apply(it, &mut c.sets, &mut c.errs);
                // Paths are evaluated against the map itself too, and that wins.
                each.labels.apply(at, &mut c.sets, &mut c.errs);
                c.push(value);
            }
        }
        Some(Value::Array(list)) => {
            for (i, it) in list.iter().enumerate() {
                let it = Some(it).filter(|v| !v.is_null());
                match gauge_value(it) {
                    Err(e) => c.errs.push(format!("{}: [{i}]: {e}", path_str())),
                    Ok(None) => {}
                    Ok(Some(value)) => {
                        each.labels.apply(it, &mut c.sets, &mut c.errs);
                        c.push(value);
                    }
                }
            }
        }
        _ => match gauge_value(at) {
            Err(e) => c.errs.push(format!("{}: {e}", path_str())),
            Ok(None) => {}
            Ok(Some(value)) => {
                each.labels.apply(at, &mut c.sets, &mut c.errs);
                c.push(value);
            }
        },
    }
}

/// KSM's info `Values` on `at`: a sample of value 1 per list element or map
/// entry with labels of its own, and for a map one of the map's own.
fn info_values<'a>(
    each: &'a Each,
    label_from_key: &'a str,
    at: Option<&'a Value>,
    c: &mut Collected<'a>,
) {
    // An info sample needs labels of its own: the base labels don't count,
    // but a star label left out for its name does (KSM has it).
    let info_value = |it: Option<&'a Value>, c: &mut Collected<'a>| {
        if it.is_some() {
            let left_out = each.labels.apply(it, &mut c.sets, &mut c.errs);
            if !c.sets.is_empty() || left_out {
                c.push(1.0);
            }
        }
    };
    match at {
        Some(Value::Array(list)) => {
            for it in list {
                let it = Some(it).filter(|v| !v.is_null());
                info_value(it, c);
            }
        }
        Some(Value::Object(map)) => {
            let own_left_out = each.labels.apply(at, &mut c.sets, &mut c.errs);
            if c.sets.contains(label_from_key) {
                c.errs.push(format!(
                    "{}: labelFromKey ({label_from_key}) generated labels conflict with labelsFromPath, consider renaming it",
                    each.path
                ));
            }
            // The map's own sample comes after its children's.
            let own = c.sets.finish();
            // Every child that yields labels gives a sample of its own.
            for (key, it) in map {
                if !key.is_empty() && !label_from_key.is_empty() {
                    c.sets
                        .insert(Cow::Borrowed(label_from_key), Cow::Borrowed(key));
                }
                let it = Some(it).filter(|v| !v.is_null());
                let left_out = each.labels.apply(it, &mut c.sets, &mut c.errs);
                if !c.sets.is_empty() || left_out {
                    c.push(1.0);
                }
            }
            if !own.is_empty() || own_left_out {
                c.values.push(EachValue {
                    labels: own,
                    value: 1.0,
                });
            }
        }
        _ => info_value(at, c),
    }
}

/// KSM's stateSet `Values` on `at`: for the current state (a string at
/// `valueFrom`) one sample per state of the list, 1 for the current one.
fn state_set_values<'a>(
    each: &'a Each,
    value_from: &ValuePath,
    label_name: &'a str,
    list: &'a [String],
    at: Option<&'a Value>,
    c: &mut Collected<'a>,
) {
    let state_values = |it: Option<&'a Value>, c: &mut Collected<'a>| {
        let got = value_from.get(it);
        // A missing path or value gives nothing, quietly (KSM #2884: a
        // status not yet written); a value of another type is an error.
        let Some(Value::String(current)) = got else {
            if got.is_some() {
                c.errs.push(format!(
                    "{}: expected value for path to be string, got {}",
                    each.path,
                    go_type_name(got)
                ));
            }
            return;
        };
        for entry in list {
            c.sets
                .insert(Cow::Borrowed(label_name), Cow::Borrowed(entry));
            each.labels.apply(it, &mut c.sets, &mut c.errs);
            c.push(if entry == current { 1.0 } else { 0.0 });
        }
    };
    match at {
        Some(Value::Array(items)) => {
            for it in items {
                let it = Some(it).filter(|v| !v.is_null());
                state_values(it, c);
            }
        }
        _ => state_values(at, c),
    }
}

/// Appends the samples to `spool` in KSM's order, each with the base labels
/// under its own.
fn append_sorted(c: Collected<'_>, base: Range<usize>, spool: &mut Spool) {
    let Collected {
        sets, mut values, ..
    } = c;
    // KSM sorts one object's samples by their each-level labels only; the
    // sort is stable, so equal sets keep the order they were made in.
    values.sort_by(|a, b| cmp_labels(sets.get(&a.labels), sets.get(&b.labels)));
    let base = sets.get(&base);
    let most = values.iter().map(|ev| ev.labels.len()).max().unwrap_or(0);
    let mut labels: Vec<(&str, &str)> = Vec::with_capacity(base.len() + most);
    for ev in &values {
        labels.clear();
        merge_labels(sets.get(&ev.labels), base, &mut labels);
        spool.append(&labels, ev.value);
    }
}

/// A string field of the object, `""` when missing.
fn str_field<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj.get(key).and_then(Value::as_str).unwrap_or("")
}

/// KSM's `less`: sorted keys compared pairwise, key then value; fewer labels first.
fn cmp_labels(a: &[Label], b: &[Label]) -> Ordering {
    for ((ka, va), (kb, vb)) in a.iter().zip(b) {
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
        Some(Value::Number(n)) => match go_number(n) {
            GoNumber::Int(_) => "int64",
            GoNumber::Float(_) => "float64",
        },
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "[]interface {}",
        Some(Value::Object(_)) => "map[string]interface {}",
    }
}

//! The reference model: what KSM v2.20 makes of one object, written from
//! its source.

use std::collections::BTreeMap;

/// Strings objects may hold, with what KSM's `toFloat64` makes of them
/// (`None`: an error). The figures are KSM's own (docs, issue 10) or
/// worked out from apimachinery's and Go's source.
pub const STRINGS: &[(&str, Option<f64>)] = &[
    ("True", Some(1.0)),
    ("no", Some(0.0)),
    ("Unknown", Some(0.0)),
    ("x", None),
    ("A", None),
    ("1", Some(1.0)),
    ("true", Some(1.0)),
    ("250m", Some(0.25)),
    ("1.5Gi", Some(1_610_612_736.0)),
    ("123456789Gi", Some(1.3256071780604315e17)),
    ("25%", Some(0.25)),
    ("12.5%", None),
    ("0x1p-2", Some(0.25)),
    ("1_000", Some(1000.0)),
    ("NaN", Some(f64::NAN)),
    ("-Inf", Some(f64::NEG_INFINITY)),
    ("-nan", None),
    ("2024-01-02T03:04:05Z", Some(1_704_164_645.0)),
    // Go's general layout parser: one-digit hour, offset up to 24:00.
    ("2024-01-02T3:04:05,5+24:00", Some(1_704_078_245.0)),
    // A quantity: 3 × math.Pow10(-1).
    ("0.3", Some(0.30000000000000004)),
    ("", None),
    ("a b", None),
    ("1e400", Some(f64::INFINITY)),
    ("Ki", Some(0.0)),
    ("30s", None),
    ("map[a:b]", None),
    ("example.com/v1", None),
    ("Foo", None),
];

/// Float literals as JSON text, their value, and Go's `%v` of the float64.
pub const FLOATS: &[(&str, f64, &str)] = &[
    ("1.5", 1.5, "1.5"),
    ("2.0", 2.0, "2"),
    ("1e2", 100.0, "100"),
    ("-0.5", -0.5, "-0.5"),
    ("1234567.5", 1_234_567.5, "1.2345675e+06"),
    ("123456789.0", 123_456_789.0, "1.23456789e+08"),
    ("0.00001", 0.00001, "1e-05"),
    ("1e21", 1e21, "1e+21"),
    // Beyond int64: Go's decoder makes it a float64.
    (
        "18446744073709551615",
        18_446_744_073_709_551_615.0,
        "1.8446744073709552e+19",
    ),
];

/// A decoded JSON value as Go holds it (`interface{}`).
#[derive(Debug, Clone)]
pub enum Go {
    Nil,
    Bool(bool),
    /// An int64; `true` when written as `-0`.
    Int(i64, bool),
    Float(usize),
    Str(usize),
    List(Vec<Go>),
    Map(BTreeMap<String, Go>),
}

impl Go {
    pub fn json(&self) -> String {
        match self {
            Go::Nil => "null".into(),
            Go::Bool(b) => b.to_string(),
            Go::Int(0, true) => "-0".into(),
            Go::Int(i, _) => i.to_string(),
            Go::Float(i) => FLOATS[*i].0.into(),
            Go::Str(i) => format!("{:?}", STRINGS[*i].0),
            Go::List(l) => {
                format!("[{}]", l.iter().map(Go::json).collect::<Vec<_>>().join(","))
            }
            Go::Map(m) => format!(
                "{{{}}}",
                m.iter()
                    .map(|(k, v)| format!("{k:?}:{}", v.json()))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }

    fn non_nil(&self) -> Option<&Go> {
        match self {
            Go::Nil => None,
            v => Some(v),
        }
    }
}

/// `fmt.Sprintf("%v", v)`.
pub fn fmt_v(v: Option<&Go>) -> String {
    match v {
        None | Some(Go::Nil) => "<nil>".into(),
        Some(Go::Bool(b)) => b.to_string(),
        Some(Go::Int(i, _)) => i.to_string(),
        Some(Go::Float(i)) => FLOATS[*i].2.into(),
        Some(Go::Str(i)) => STRINGS[*i].0.into(),
        Some(Go::List(l)) => format!(
            "[{}]",
            l.iter()
                .map(|x| fmt_v(Some(x)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Some(Go::Map(m)) => format!(
            "map[{}]",
            m.iter()
                .map(|(k, x)| format!("{k}:{}", fmt_v(Some(x))))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

fn string_value(s: &str) -> Option<f64> {
    STRINGS.iter().find(|(t, _)| *t == s).and_then(|(_, v)| *v)
}

/// `toFloat64`.
pub fn to_float(v: Option<&Go>, nil_is_zero: bool) -> Result<f64, ()> {
    match v {
        None | Some(Go::Nil) => {
            if nil_is_zero {
                Ok(0.0)
            } else {
                Err(())
            }
        }
        Some(Go::Bool(b)) => Ok(if *b { 1.0 } else { 0.0 }),
        Some(Go::Int(i, _)) => Ok(*i as f64),
        Some(Go::Float(i)) => Ok(FLOATS[*i].1),
        Some(Go::Str(i)) => STRINGS[*i].1.ok_or(()),
        Some(_) => Err(()),
    }
}

/// `valuePath.Get` (v2.20: an index out of range resolves to nil).
pub fn get<'a>(path: &[String], obj: Option<&'a Go>) -> Option<&'a Go> {
    let mut cur = obj.and_then(Go::non_nil);
    for part in path {
        let here = cur?;
        cur = step(part, here).and_then(Go::non_nil);
    }
    cur
}

fn step<'a>(part: &str, v: &'a Go) -> Option<&'a Go> {
    if part.len() >= 2 && part.starts_with('[') && part.ends_with(']') {
        let (key, val) = part[1..part.len() - 1].split_once('=')?;
        let Go::List(items) = v else { return None };
        let num = string_value(val);
        let boolean = match val {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
            _ => None,
        };
        for item in items {
            let Go::Map(m) = item else { continue };
            let Some(candidate) = m.get(key) else {
                continue;
            };
            if matches!(candidate, Go::Str(i) if STRINGS[*i].0 == val) {
                return Some(item);
            }
            if let Some(n) = num
                && to_float(Some(candidate), false) == Ok(n)
            {
                return Some(item);
            }
            if let (Some(b), Go::Bool(c)) = (boolean, candidate)
                && b == *c
            {
                return Some(item);
            }
        }
        return None;
    }
    match v {
        Go::Map(m) => {
            let kv: Vec<&str> = part.split('=').collect();
            if kv.len() == 2
                && let Some(found @ Go::Str(i)) = m.get(kv[0])
                && STRINGS[*i].0 == kv[1]
            {
                return Some(found);
            }
            m.get(part)
        }
        Go::List(l) => {
            let digits = part.strip_prefix(['+', '-']).unwrap_or(part);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let mut i: i64 = part.parse().ok()?;
            if i < 0 {
                i += l.len() as i64;
            }
            usize::try_from(i).ok().and_then(|i| l.get(i))
        }
        _ => None,
    }
}

fn sanitize(s: &str) -> String {
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

fn usable(name: &str) -> bool {
    let mut cs = name.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
}

pub type Labels = BTreeMap<String, String>;
pub type Plan = BTreeMap<String, Vec<String>>;

/// `addPathLabels`. Returns whether a star label was left out (ours).
pub fn add_path_labels(obj: Option<&Go>, plan: &Plan, out: &mut Labels, errors: &mut u64) -> bool {
    let mut left_out = false;
    let is_star = |k: &str| k.starts_with('*') || k.ends_with('*');
    for (star, path) in plan.iter().filter(|(k, _)| is_star(k)) {
        if let Some(Go::Map(m)) = get(path, obj) {
            for (k, v) in m {
                let name = match star.strip_suffix('*') {
                    Some(prefix) => format!("{prefix}{k}"),
                    None => k.clone(),
                };
                let name = sanitize(&name);
                if !usable(&name) {
                    *errors += 1;
                    left_out = true;
                    continue;
                }
                out.insert(name, fmt_v(Some(v)));
            }
        }
    }
    for (key, path) in plan.iter().filter(|(k, _)| !is_star(k)) {
        if let Some(v) = get(path, obj) {
            out.insert(sanitize(key), fmt_v(Some(v)));
        }
    }
    left_out
}

#[derive(Debug, Clone)]
pub enum Each {
    Gauge {
        value_from: Vec<String>,
        label_from_key: String,
        nil_is_zero: bool,
    },
    Info {
        label_from_key: String,
    },
    StateSet {
        value_from: Vec<String>,
        label_name: String,
        list: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Metric {
    pub name: String,
    pub common: BTreeMap<String, String>,
    pub labels: Plan,
    pub path: Vec<String>,
    pub each_labels: Plan,
    pub each: Each,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub common: BTreeMap<String, String>,
    pub labels: Plan,
    pub metrics: Vec<Metric>,
}

/// A sample: metric name, labels, value.
pub type Sample = (String, Labels, f64);

/// What KSM makes of one object; `errors` counts what it logs, plus
/// star labels left out.
pub fn evaluate(res: &Resource, obj: &Go, errors: &mut u64) -> Vec<Sample> {
    let mut out = Vec::new();
    for m in &res.metrics {
        // Forced GVK labels overwrite the resource's; the metric's win.
        let mut base: Labels = res.common.clone();
        base.insert("customresource_group".into(), "example.com".into());
        base.insert("customresource_version".into(), "v1".into());
        base.insert("customresource_kind".into(), "Foo".into());
        base.extend(m.common.clone());
        let mut plan = res.labels.clone();
        plan.extend(m.labels.clone());
        add_path_labels(Some(obj), &plan, &mut base, errors);
        let v = get(&m.path, Some(obj));
        for (mut labels, value) in values(m, v, errors) {
            for (k, val) in &base {
                labels.entry(k.clone()).or_insert_with(|| val.clone());
            }
            out.push((m.name.clone(), labels, value));
        }
    }
    out
}

fn values(m: &Metric, v: Option<&Go>, errors: &mut u64) -> Vec<(Labels, f64)> {
    let mut out = Vec::new();
    let plan = &m.each_labels;
    match &m.each {
        Each::Gauge {
            value_from,
            label_from_key,
            nil_is_zero,
        } => {
            // compiledGauge.value: Err is an error, Ok(None) no sample.
            let value = |it: Option<&Go>| -> Result<Option<f64>, ()> {
                match get(value_from, it) {
                    None if *nil_is_zero => Ok(Some(0.0)),
                    None if it.is_none() => Err(()),
                    None => Ok(None),
                    got => to_float(got, *nil_is_zero).map(Some),
                }
            };
            match v {
                Some(Go::Map(map)) => {
                    let printed = format!("[{}]", value_from.join(","));
                    for (key, it) in map {
                        let it = it.non_nil();
                        let shortcut = !printed.contains(',')
                            && printed.len() > 2
                            && *key == printed[1..printed.len() - 1];
                        let x = if shortcut {
                            match to_float(it, *nil_is_zero) {
                                Ok(x) => x,
                                Err(()) => {
                                    *errors += 1;
                                    continue;
                                }
                            }
                        } else {
                            // Failures here are silent.
                            match value(it) {
                                Ok(Some(x)) => x,
                                _ => continue,
                            }
                        };
                        let mut labels = Labels::new();
                        if !key.is_empty() && !label_from_key.is_empty() {
                            labels.insert(label_from_key.clone(), key.clone());
                        }
                        add_path_labels(it, plan, &mut labels, errors);
                        add_path_labels(v, plan, &mut labels, errors);
                        out.push((labels, x));
                    }
                }
                Some(Go::List(items)) => {
                    for it in items {
                        let it = it.non_nil();
                        match value(it) {
                            Err(()) => *errors += 1,
                            Ok(None) => {}
                            Ok(Some(x)) => {
                                let mut labels = Labels::new();
                                add_path_labels(it, plan, &mut labels, errors);
                                out.push((labels, x));
                            }
                        }
                    }
                }
                _ => match value(v) {
                    Err(()) => *errors += 1,
                    Ok(None) => {}
                    Ok(Some(x)) => {
                        let mut labels = Labels::new();
                        add_path_labels(v, plan, &mut labels, errors);
                        out.push((labels, x));
                    }
                },
            }
        }
        Each::Info { label_from_key } => {
            // compiledInfo.values; a left-out star label still counts.
            let own = |x: Option<&Go>, errors: &mut u64| -> Option<Labels> {
                let x = x?;
                let mut labels = Labels::new();
                let left_out = add_path_labels(Some(x), plan, &mut labels, errors);
                (!labels.is_empty() || left_out).then_some(labels)
            };
            match v {
                Some(Go::List(items)) => {
                    for it in items {
                        out.extend(own(it.non_nil(), errors).map(|l| (l, 1.0)));
                    }
                }
                Some(Go::Map(map)) => {
                    let mine = own(v, errors);
                    if mine
                        .as_ref()
                        .is_some_and(|l| l.contains_key(label_from_key))
                    {
                        *errors += 1;
                    }
                    for (key, it) in map {
                        let mut labels = Labels::new();
                        if !key.is_empty() && !label_from_key.is_empty() {
                            labels.insert(label_from_key.clone(), key.clone());
                        }
                        let left_out = add_path_labels(it.non_nil(), plan, &mut labels, errors);
                        if !labels.is_empty() || left_out {
                            out.push((labels, 1.0));
                        }
                    }
                    out.extend(mine.map(|l| (l, 1.0)));
                }
                _ => out.extend(own(v, errors).map(|l| (l, 1.0))),
            }
        }
        Each::StateSet {
            value_from,
            label_name,
            list,
        } => {
            let mut state = |x: Option<&Go>, out: &mut Vec<(Labels, f64)>| {
                // Nil (path or value missing) is skipped quietly since KSM
                // #2884; another type is an error.
                let got = get(value_from, x);
                let Some(Go::Str(i)) = got else {
                    if got.is_some() {
                        *errors += 1;
                    }
                    return;
                };
                for entry in list {
                    let mut labels = Labels::from([(label_name.clone(), entry.clone())]);
                    add_path_labels(x, plan, &mut labels, errors);
                    out.push((labels, if STRINGS[*i].0 == entry { 1.0 } else { 0.0 }));
                }
            };
            match v {
                Some(Go::List(items)) => {
                    for it in items {
                        state(it.non_nil(), &mut out);
                    }
                }
                _ => state(v, &mut out),
            }
        }
    }
    out
}

//! Compiled value paths: KSM's `compilePath` and `valuePath.Get`.

use std::fmt;

use serde_json::Value;

use super::value::{string_to_f64, to_f64};

/// A path compiled once at config load; [`ValuePath::get`] walks an object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValuePath {
    ops: Vec<Op>,
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    /// A map key, a list index, or a `key=value` test on a map.
    Part {
        part: String,
        /// `key=value` split when the segment holds exactly one `=`.
        test: Option<(String, String)>,
        index: Option<i64>,
    },
    /// `[key=value]`: the first list element whose `key` equals `value`.
    Filter {
        part: String,
        key: String,
        value: String,
        number: Option<f64>,
        boolean: Option<bool>,
    },
}

impl ValuePath {
    /// Compiles path segments; a `[...]` segment without `=` is an error, as in KSM.
    pub fn compile(segments: &[String]) -> Result<ValuePath, String> {
        let mut ops = Vec::with_capacity(segments.len());
        for part in segments {
            if part.len() >= 2 && part.starts_with('[') && part.ends_with(']') {
                let inner = &part[1..part.len() - 1];
                let Some((key, value)) = inner.split_once('=') else {
                    return Err(format!(
                        "invalid list lookup {part:?}: expected \"[key=value]\""
                    ));
                };
                ops.push(Op::Filter {
                    part: part.clone(),
                    key: key.to_string(),
                    value: value.to_string(),
                    number: string_to_f64(value).ok(),
                    boolean: go_parse_bool(value),
                });
            } else {
                let mut kv = part.split('=');
                let test = match (kv.next(), kv.next(), kv.next()) {
                    (Some(k), Some(v), None) => Some((k.to_string(), v.to_string())),
                    _ => None,
                };
                ops.push(Op::Part {
                    part: part.clone(),
                    test,
                    index: go_atoi(part),
                });
            }
        }
        Ok(ValuePath { ops })
    }

    /// The key KSM's map shortcut compares with: the text between the
    /// brackets of the printed path (`[key]`), when it has one segment, is not
    /// `[]` and holds no comma (KSM tests the printed path for a comma).
    pub fn single_segment(&self) -> Option<&str> {
        match self.ops.as_slice() {
            [Op::Part { part, .. }] | [Op::Filter { part, .. }]
                if !part.is_empty() && !part.contains(',') =>
            {
                Some(part)
            }
            _ => None,
        }
    }

    /// The segments as [`get`](ValuePath::get) applies them.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'_>> {
        self.ops.iter().map(|op| match op {
            Op::Part { part, test, index } => Segment::Key {
                key: part,
                test_key: test.as_ref().map(|(k, _)| k.as_str()),
                index: index.is_some(),
            },
            Op::Filter { key, .. } => Segment::Filter { key },
        })
    }

    /// The value at the path; `None` is Go's nil (missing, JSON null, out of range).
    pub fn get<'a>(&self, obj: Option<&'a Value>) -> Option<&'a Value> {
        let mut cur = obj.filter(|v| !v.is_null())?;
        for op in &self.ops {
            cur = step(op, cur)?;
            if cur.is_null() {
                return None;
            }
        }
        Some(cur)
    }
}

/// One path segment, as far as which parts of an object it reads.
pub enum Segment<'a> {
    /// A map key; also a list index when `index`; a `key=value` segment also
    /// reads map key `test_key`.
    Key {
        key: &'a str,
        test_key: Option<&'a str>,
        index: bool,
    },
    /// `[key=value]`: list elements, whose `key` it reads.
    Filter { key: &'a str },
}

fn step<'a>(op: &Op, cur: &'a Value) -> Option<&'a Value> {
    match op {
        Op::Part { part, test, index } => match cur {
            Value::Object(map) => {
                if let Some((k, v)) = test
                    && let Some(found @ Value::String(s)) = map.get(k)
                    && s == v
                {
                    return Some(found);
                }
                map.get(part)
            }
            Value::Array(list) => {
                let mut i = (*index)?;
                if i < 0 {
                    i += list.len() as i64;
                }
                usize::try_from(i).ok().and_then(|i| list.get(i))
            }
            _ => None,
        },
        Op::Filter {
            key,
            value,
            number,
            boolean,
            ..
        } => {
            let Value::Array(list) = cur else {
                return None;
            };
            list.iter().find(|item| {
                let Some(candidate) = item.as_object().and_then(|m| m.get(key)) else {
                    return false;
                };
                if candidate.as_str() == Some(value.as_str()) {
                    return true;
                }
                if let Some(n) = number
                    && to_f64(candidate, false).ok() == Some(*n)
                {
                    return true;
                }
                matches!((boolean, candidate), (Some(b), Value::Bool(c)) if b == c)
            })
        }
    }
}

/// Go's `strconv.Atoi`: optional sign, decimal digits, nothing else.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Go's `strconv.ParseBool`.
fn go_parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// KSM prints paths as `[a,b,c]` in its error messages.
impl fmt::Display for ValuePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, op) in self.ops.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match op {
                Op::Part { part, .. } | Op::Filter { part, .. } => f.write_str(part)?,
            }
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(p: &[&str]) -> ValuePath {
        ValuePath::compile(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn get(p: &[&str], obj: &Value) -> Option<Value> {
        path(p).get(Some(obj)).cloned()
    }

    #[test]
    fn segments_resolve_like_ksm() {
        let obj = json!({
            "metadata": {"labels": {"apps.tanzu.vmware.com/workload-type": "web"},
                         "annotations": {"ext.packaging.carvel.dev/ytt-paths-from-secret-name.0": "ov"}},
            "spec": {
                "list": ["a", "b", "c"],
                "params": [{"name": "debug", "value": "true"}, {"name": "live-update", "value": true},
                           {"name": "n", "value": 3}, {"name": "b", "value": false}],
                "str": "val",
                "nil": null
            }
        });
        assert_eq!(
            get(
                &["metadata", "labels", "apps.tanzu.vmware.com/workload-type"],
                &obj
            ),
            Some(json!("web"))
        );
        assert_eq!(
            get(
                &[
                    "metadata",
                    "annotations",
                    "ext.packaging.carvel.dev/ytt-paths-from-secret-name.0"
                ],
                &obj
            ),
            Some(json!("ov"))
        );
        assert_eq!(get(&["spec", "list", "0"], &obj), Some(json!("a")));
        assert_eq!(get(&["spec", "list", "-1"], &obj), Some(json!("c")));
        assert_eq!(get(&["spec", "list", "9"], &obj), None);
        assert_eq!(get(&["spec", "list", "-4"], &obj), None);
        assert_eq!(get(&["spec", "list", "x"], &obj), None);
        assert_eq!(
            get(&["spec", "params", "[name=debug]", "value"], &obj),
            Some(json!("true"))
        );
        assert_eq!(
            get(&["spec", "params", "[name=live-update]", "value"], &obj),
            Some(json!(true))
        );
        assert_eq!(get(&["spec", "params", "[name=nope]", "value"], &obj), None);
        // Numbers and booleans in filters compare by value.
        assert_eq!(
            get(&["spec", "params", "[value=3]", "name"], &obj),
            Some(json!("n"))
        );
        assert_eq!(
            get(&["spec", "params", "[value=false]", "name"], &obj),
            Some(json!("b"))
        );
        // `key=value` on a map gives the value when it matches, nil otherwise.
        assert_eq!(get(&["spec", "str=val"], &obj), Some(json!("val")));
        assert_eq!(get(&["spec", "str=nope"], &obj), None);
        assert_eq!(get(&["spec", "nil"], &obj), None);
        assert_eq!(get(&["spec", "str", "deeper"], &obj), None);
        assert_eq!(get(&[], &obj), Some(obj.clone()));
    }

    #[test]
    fn bad_list_lookup_is_a_compile_error() {
        let err = ValuePath::compile(&["[x]".to_string()]).unwrap_err();
        assert!(err.contains("invalid list lookup \"[x]\""), "{err}");
        assert_eq!(
            path(&["status", "conditions"]).to_string(),
            "[status,conditions]"
        );
        assert_eq!(path(&["status"]).single_segment(), Some("status"));
        assert_eq!(path(&["a,b"]).single_segment(), None);
        assert_eq!(path(&[""]).single_segment(), None);
        assert_eq!(path(&["a", "b"]).single_segment(), None);
    }
}

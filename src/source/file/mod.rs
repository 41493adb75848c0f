//! Objects from files: `kubectl get -o json|yaml` output, a single object, a
//! `List`, or a multi-document YAML stream. JSON here; YAML in [`yaml_input`].

mod yaml_input;

use serde::de::{
    DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::Value;

use super::items::{EachItem, plain};
use crate::config::yaml;
use crate::engine::{Batch, Engine, EvalErrors};
use crate::error::Error;
use yaml_input::yaml_objects;

/// What reading the files found besides the samples.
#[derive(Debug, Default)]
pub struct FileStats {
    /// Objects read from all inputs.
    pub objects: u64,
    /// Objects no config resource matched, as `apiVersion/Kind namespace/name`.
    pub unmatched: Vec<String>,
}

/// Reads every input in order and evaluates its objects, in input order.
/// With `namespace`, namespaced objects of other namespaces are skipped, as a
/// namespaced list would; cluster-scoped objects are kept.
pub fn collect(
    engine: &Engine,
    paths: &[String],
    namespace: Option<&str>,
    errors: &mut EvalErrors,
) -> Result<(Vec<Batch>, FileStats), Error> {
    let mut batches = engine.batches(None, &Vec::new());
    let mut stats = FileStats::default();
    for path in paths {
        let (bytes, origin) = super::read_input(path)?;
        for_each_object(&bytes, &origin, &mut |obj| {
            let obj_ns = obj.pointer("/metadata/namespace").and_then(Value::as_str);
            if let (Some(want), Some(ns)) = (namespace, obj_ns)
                && want != ns
            {
                return Ok(());
            }
            stats.objects += 1;
            let matched = engine.evaluate_matching(&mut batches, &obj, errors);
            for b in &mut batches {
                b.spill_if_full()
                    .map_err(|e| Error::failure(format!("cannot keep samples: {e}")))?;
            }
            if !matched {
                let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("");
                stats.unmatched.push(format!(
                    "{}/{} {}",
                    s("/apiVersion"),
                    s("/kind"),
                    crate::engine::object_name(&obj)
                ));
            }
            Ok(())
        })?;
    }
    Ok((batches, stats))
}

/// The Kubernetes objects in one input, `List`s flattened.
pub fn parse_objects(bytes: &[u8], origin: &str) -> Result<Vec<Value>, Error> {
    let mut objects = Vec::new();
    for_each_object(bytes, origin, &mut |o| {
        objects.push(o);
        Ok(())
    })?;
    Ok(objects)
}

type Sink<'a> = dyn FnMut(Value) -> Result<(), Error> + 'a;

/// Calls `f` with each Kubernetes object of one input, in order, `List`s
/// flattened. The `items` of a list are handed over one at a time as they are
/// parsed, so a large `kubectl get -o json|yaml` dump is never held whole
/// beside its text. A leading byte order mark is skipped.
pub fn for_each_object(bytes: &[u8], origin: &str, f: &mut Sink<'_>) -> Result<(), Error> {
    let bytes = yaml::strip_bom(bytes);
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let mut count = 0u64;
    let mut counting = |v: Value| {
        count += 1;
        f(v)
    };
    match first {
        None => {
            return Err(Error::input(format!(
                "{origin}: empty input, no Kubernetes objects"
            )));
        }
        Some(b'{') | Some(b'[') => match json_objects(bytes, origin, 0, &mut counting)? {
            JsonEnd::Done => {}
            JsonEnd::OutOfRange { handed } => {
                // Rare, so the copy is only made when needed.
                let patched = infinite_numbers_as_strings(bytes);
                if let JsonEnd::OutOfRange { .. } =
                    json_objects(&patched, origin, handed, &mut counting)?
                {
                    return Err(Error::input(format!(
                        "{origin}: invalid JSON: number out of range"
                    )));
                }
            }
        },
        Some(_) => yaml_objects(bytes, origin, &mut counting)?,
    }
    if count == 0 {
        return Err(Error::input(format!(
            "{origin}: no Kubernetes objects found"
        )));
    }
    Ok(())
}

enum JsonEnd {
    Done,
    /// serde_json refused a number beyond f64 after `handed` objects.
    OutOfRange {
        handed: u64,
    },
}

/// The objects of a JSON stream, the first `skip` left out.
fn json_objects(bytes: &[u8], origin: &str, skip: u64, f: &mut Sink<'_>) -> Result<JsonEnd, Error> {
    let mut handed = 0u64;
    let mut sink = |v: Value| {
        handed += 1;
        if handed <= skip { Ok(()) } else { f(v) }
    };
    // A first pass finds where each document of a JSON stream ends (and any
    // syntax error, with its line); the second hands out objects.
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<IgnoredAny>();
    let mut start = 0;
    let mut doc = 0;
    while let Some(r) = stream.next() {
        if let Err(e) = r {
            if json_reason(&e) == "number out of range" {
                return Ok(JsonEnd::OutOfRange { handed });
            }
            return Err(json_error(origin, &e));
        }
        let end = stream.byte_offset();
        doc += 1;
        let at = format!("{origin}: document {doc}");
        let mut failed = None;
        let seed = DocSeed {
            at: &at,
            sink: &mut sink,
            failed: &mut failed,
        };
        let result = seed.deserialize(&mut serde_json::Deserializer::from_slice(
            &bytes[start..end],
        ));
        if let Some(e) = failed {
            return Err(e);
        }
        if let Err(e) = result {
            if json_reason(&e) == "number out of range" {
                return Ok(JsonEnd::OutOfRange { handed });
            }
            return Err(json_error(origin, &e));
        }
        start = end;
    }
    Ok(JsonEnd::Done)
}

/// `bytes` with each JSON number beyond f64 replaced by the string `"+Inf"`
/// or `"-Inf"`: what a YAML `.inf` becomes (see [`json_value`]), and what
/// the engine reads as the float, as KSM's ParseFloat and `%v` do.
fn infinite_numbers_as_strings(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 64);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' {
            // Copy the string, escapes included.
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != b'"' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(bytes.len());
            out.extend_from_slice(&bytes[i..end]);
            i = end;
        } else if b == b'-' || b.is_ascii_digit() {
            let len = bytes[i..]
                .iter()
                .take_while(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'))
                .count();
            let number = &bytes[i..i + len];
            let value = std::str::from_utf8(number)
                .ok()
                .and_then(|s| s.parse::<f64>().ok());
            match value {
                Some(v) if v.is_infinite() => {
                    out.extend_from_slice(if v > 0.0 { b"\"+Inf\"" } else { b"\"-Inf\"" })
                }
                _ => out.extend_from_slice(number),
            }
            i += len;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

fn json_error(origin: &str, e: &serde_json::Error) -> Error {
    let reason = match json_reason(e) {
        r if r == "recursion limit exceeded" => {
            format!(
                "nested deeper than {} levels (the limit)",
                yaml::DEPTH_LIMIT
            )
        }
        r => r,
    };
    Error::input(format!(
        "{origin}: invalid JSON at line {} column {}: {reason}",
        e.line(),
        e.column(),
    ))
}

/// One JSON document: a top-level `items` array is streamed element by
/// element; anything else is collected and checked as an object.
struct DocSeed<'a, 'f> {
    at: &'a str,
    sink: &'a mut Sink<'f>,
    /// Our own error, kept aside: serde errors cannot carry it.
    failed: &'a mut Option<Error>,
}

impl<'de> DeserializeSeed<'de> for DocSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a Kubernetes object or list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut rest = serde_json::Map::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" && !streamed {
                let (at, sink, failed) = (self.at, &mut *self.sink, &mut *self.failed);
                let mut each = |j: usize, item: Value| {
                    push_object(item, sink, &|| format!("{at}, items[{j}]")).map_err(|e| {
                        *failed = Some(e);
                        "stopped".to_string()
                    })
                };
                map.next_value_seed(EachItem {
                    seed: plain::<Value>,
                    each: &mut each,
                    null_is_empty: false,
                    expecting: "a list of Kubernetes objects in items",
                })?;
                streamed = true;
            } else {
                rest.insert(key, map.next_value()?);
            }
        }
        if streamed {
            return Ok(());
        }
        let at = self.at;
        push_object(Value::Object(rest), self.sink, &|| at.to_string()).map_err(|e| {
            *self.failed = Some(e);
            A::Error::custom("stopped")
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut j = 0;
        while let Some(item) = seq.next_element::<Value>()? {
            let at = self.at;
            push_object(item, self.sink, &|| format!("{at}, element {j}")).map_err(|e| {
                *self.failed = Some(e);
                A::Error::custom("stopped")
            })?;
            j += 1;
        }
        Ok(())
    }
}
/// The `items` of a list, each handed to the sink as soon as it is parsed.
fn push_object(v: Value, out: &mut Sink<'_>, at: &dyn Fn() -> String) -> Result<(), Error> {
    let Value::Object(map) = &v else {
        return Err(Error::input(format!(
            "{}: not a Kubernetes object (expected a mapping)",
            at()
        )));
    };
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind.ends_with("List") && map.get("items").is_some_and(Value::is_array) {
        let Value::Object(mut map) = v else {
            unreachable!()
        };
        let Some(Value::Array(items)) = map.remove("items") else {
            unreachable!()
        };
        for (j, item) in items.into_iter().enumerate() {
            push_object(item, out, &|| format!("{}, items[{j}]", at()))?;
        }
        return Ok(());
    }
    let has = |k: &str| {
        map.get(k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    if !has("apiVersion") || !has("kind") {
        return Err(Error::input(format!(
            "{}: not a Kubernetes object (apiVersion and kind are required)",
            at()
        )));
    }
    out(v)
}

/// A JSON value from a YAML document, with what JSON cannot hold kept:
/// `.inf`, `-.inf` and `.nan` become the strings `+Inf`, `-Inf` and `NaN`
/// (not nulls), which the engine reads as those floats, as KSM does: ParseFloat
/// for values, and Go's `%v` of the float is the same text for labels.
fn json_value<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    d.deserialize_any(JsonVisitor)
}

struct JsonVisitor;

impl<'de> DeserializeSeed<'de> for JsonVisitor {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(match serde_json::Number::from_f64(v) {
            Some(n) => Value::Number(n),
            None => Value::String(crate::shared::float::go_float(v)),
        })
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        json_value(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(JsonVisitor)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(k) = map.next_key::<String>()? {
            out.insert(k, map.next_value_seed(JsonVisitor)?);
        }
        Ok(Value::Object(out))
    }
}

fn json_reason(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(objs: &[Value]) -> Vec<&str> {
        objs.iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn lists_streams_and_single_objects() {
        let list = br#"{"apiVersion":"v1","kind":"List","items":[
            {"apiVersion":"carto.run/v1alpha1","kind":"Workload","metadata":{"name":"a"}},
            {"apiVersion":"kpack.io/v1alpha2","kind":"Build","metadata":{"name":"b"}}]}"#;
        assert_eq!(names(&parse_objects(list, "x").unwrap()), ["a", "b"]);
        let stream = b"{\"apiVersion\":\"a/v1\",\"kind\":\"K\",\"metadata\":{\"name\":\"a\"}}\n{\"apiVersion\":\"a/v1\",\"kind\":\"KList\",\"items\":[{\"apiVersion\":\"a/v1\",\"kind\":\"K\",\"metadata\":{\"name\":\"b\"}}]}";
        assert_eq!(names(&parse_objects(stream, "x").unwrap()), ["a", "b"]);
        let yaml = b"---\napiVersion: a/v1\nkind: K\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: a/v1\n  kind: K\n  metadata: {name: b}\n";
        assert_eq!(names(&parse_objects(yaml, "x").unwrap()), ["a", "b"]);
    }

    /// Entries parsed one by one read as the whole List does, whatever the layout.
    #[test]
    fn streamed_list_entries_equal_the_whole_document() {
        let lists: &[&str] = &[
            "apiVersion: v1\nitems:\n- apiVersion: a/v1\n  kind: K\n  metadata:\n    name: a\n    annotations:\n      text: |\n        line one\n          indented\n      folded: >-\n        x\n        y\n  spec: {list: [1, 2.5, true, null, ~, \"q\"]}\n# between\n- apiVersion: a/v1\n  kind: K\n  metadata: {name: b}\n  plain: multi\n    line\n  quoted: \"multi\n    line\"\nkind: List\nmetadata: {resourceVersion: \"\"}\n",
            "kind: List\nitems:\n  - apiVersion: a/v1\n    kind: K\n    metadata: {name: a}\n  -   apiVersion: a/v1\n      kind: K\n      metadata: {name: b}\n",
            "kind: List\r\nitems:\r\n- apiVersion: a/v1\r\n  kind: K\r\n  metadata: {name: a, u: \"\u{e9}\u{65e5}\"}\r\n",
            "kind: List\nitems: [{apiVersion: a/v1, kind: K, metadata: {name: a}},\n  {apiVersion: a/v1, kind: K,\n   metadata: {name: b}}]\n",
            "--- !!map\nkind: SomeList\nitems:\n- !!map\n  apiVersion: a/v1\n  kind: K\n  metadata: {name: a}\n  n: [.inf, -.Inf, .NaN, 0x1f, 1e3]\n",
        ];
        for list in lists {
            let got = parse_objects(list.as_bytes(), "l").unwrap();
            let whole: Value = serde_yaml::from_str(
                &list
                    .replace(".inf", "\"+Inf\"")
                    .replace("-.Inf", "\"-Inf\"")
                    .replace(".NaN", "\"NaN\""),
            )
            .unwrap();
            let Value::Array(want) = whole["items"].clone() else {
                panic!("{list}")
            };
            assert_eq!(got, want, "{list}");
        }
    }

    #[test]
    fn errors_name_file_and_place() {
        let e = parse_objects(b"{\"apiVersion\": \"a/v1\",\n \"kind\": }", "in.json").unwrap_err();
        assert_eq!(e.kind, crate::error::ExitKind::Input);
        assert!(
            e.message
                .starts_with("in.json: invalid JSON at line 2 column"),
            "{e}"
        );
        let e = parse_objects(b"apiVersion: a/v1\nkind: K\n---\nkind: [\n", "in.yaml").unwrap_err();
        assert!(
            e.message
                .starts_with("in.yaml: invalid YAML in document 2 at line"),
            "{e}"
        );
        let e = parse_objects(
            b"apiVersion: v1\nkind: List\nitems:\n- {metadata: {name: x}}\n",
            "l.yaml",
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "l.yaml: document 1, items[0]: not a Kubernetes object (apiVersion and kind are required)"
        );
        assert!(
            parse_objects(b"  \n", "e")
                .unwrap_err()
                .message
                .contains("empty input")
        );
        assert!(
            parse_objects(b"---\n", "e")
                .unwrap_err()
                .message
                .contains("no Kubernetes objects")
        );
    }
}

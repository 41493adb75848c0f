//! Objects from files: `kubectl get -o json|yaml` output, a single object, a
//! `List`, or a multi-document YAML stream.

use serde::Deserialize;
use serde::de::{
    DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::Value;

use crate::engine::{Batch, Engine, EvalErrors};
use crate::error::Error;

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
            let matched = engine
                .evaluate_matching(&mut batches, &obj, errors)
                .map_err(|e| Error::failure(format!("cannot keep samples: {e}")))?;
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
/// flattened. The `items` of a JSON document are handed over one at a time as
/// they are parsed, so a large `kubectl get -o json` dump is never held whole.
pub fn for_each_object(bytes: &[u8], origin: &str, f: &mut Sink<'_>) -> Result<(), Error> {
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
        Some(b'{') | Some(b'[') => {
            // A first pass finds where each document of a JSON stream ends (and
            // any syntax error, with its line); the second hands out objects.
            let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<IgnoredAny>();
            let mut start = 0;
            let mut doc = 0;
            while let Some(r) = stream.next() {
                r.map_err(|e| json_error(origin, &e))?;
                let end = stream.byte_offset();
                doc += 1;
                let at = format!("{origin}: document {doc}");
                let mut failed = None;
                let seed = DocSeed {
                    at: &at,
                    sink: &mut counting,
                    failed: &mut failed,
                };
                let result = seed.deserialize(&mut serde_json::Deserializer::from_slice(
                    &bytes[start..end],
                ));
                if let Some(e) = failed {
                    return Err(e);
                }
                result.map_err(|e| json_error(origin, &e))?;
                start = end;
            }
        }
        Some(_) => {
            for (i, doc) in serde_yaml::Deserializer::from_slice(bytes).enumerate() {
                let v = Value::deserialize(doc).map_err(|e| {
                    let at = e
                        .location()
                        .map(|l| format!(" at line {} column {}", l.line(), l.column()))
                        .unwrap_or_default();
                    Error::input(format!(
                        "{origin}: invalid YAML in document {}{at}: {}",
                        i + 1,
                        yaml_reason(&e)
                    ))
                })?;
                let at = format!("{origin}: document {}", i + 1);
                match v {
                    Value::Null => {}
                    Value::Array(items) => {
                        for (j, item) in items.into_iter().enumerate() {
                            push_object(item, &mut counting, &|| format!("{at}, element {j}"))?;
                        }
                    }
                    v => push_object(v, &mut counting, &|| at.clone())?,
                }
            }
        }
    }
    if count == 0 {
        return Err(Error::input(format!(
            "{origin}: no Kubernetes objects found"
        )));
    }
    Ok(())
}

fn json_error(origin: &str, e: &serde_json::Error) -> Error {
    Error::input(format!(
        "{origin}: invalid JSON at line {} column {}: {}",
        e.line(),
        e.column(),
        json_reason(e)
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
                map.next_value_seed(ItemsSeed {
                    at: self.at,
                    sink: &mut *self.sink,
                    failed: &mut *self.failed,
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
struct ItemsSeed<'a, 'f> {
    at: &'a str,
    sink: &'a mut Sink<'f>,
    failed: &'a mut Option<Error>,
}

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of Kubernetes objects in items")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut j = 0;
        while let Some(item) = seq.next_element::<Value>()? {
            let at = self.at;
            push_object(item, self.sink, &|| format!("{at}, items[{j}]")).map_err(|e| {
                *self.failed = Some(e);
                A::Error::custom("stopped")
            })?;
            j += 1;
        }
        Ok(())
    }
}

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

fn json_reason(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn yaml_reason(e: &serde_yaml::Error) -> String {
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

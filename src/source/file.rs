//! Objects from files: `kubectl get -o json|yaml` output, a single object, a
//! `List`, or a multi-document YAML stream.

use serde::Deserialize;
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
    let mut batches: Vec<Batch> = (0..engine.resources().len())
        .map(|i| engine.batch(i, None, Vec::new()))
        .collect();
    let mut stats = FileStats::default();
    for path in paths {
        let (bytes, origin) = super::read_input(path)?;
        for obj in parse_objects(&bytes, &origin)? {
            let obj_ns = obj.pointer("/metadata/namespace").and_then(Value::as_str);
            if let (Some(want), Some(ns)) = (namespace, obj_ns)
                && want != ns
            {
                continue;
            }
            stats.objects += 1;
            let api = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
            let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
            let matching = engine.matching(api, kind);
            if matching.is_empty() {
                stats
                    .unmatched
                    .push(format!("{api}/{kind} {}", crate::engine::object_name(&obj)));
            }
            for i in matching {
                engine
                    .evaluate(&mut batches[i], &obj, errors)
                    .map_err(|e| Error::failure(format!("cannot keep samples: {e}")))?;
            }
        }
    }
    Ok((batches, stats))
}

/// The Kubernetes objects in one input, `List`s flattened.
pub fn parse_objects(bytes: &[u8], origin: &str) -> Result<Vec<Value>, Error> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let docs: Vec<Value> = match first {
        None => {
            return Err(Error::input(format!(
                "{origin}: empty input, no Kubernetes objects"
            )));
        }
        Some(b'{') | Some(b'[') => serde_json::Deserializer::from_slice(bytes)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .map_err(|e| {
                Error::input(format!(
                    "{origin}: invalid JSON at line {} column {}: {}",
                    e.line(),
                    e.column(),
                    json_reason(&e)
                ))
            })?,
        Some(_) => {
            let mut docs = Vec::new();
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
                docs.push(v);
            }
            docs
        }
    };
    let mut objects = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        let where_ = || format!("{origin}: document {}", i + 1);
        match doc {
            Value::Null => {}
            Value::Array(items) => {
                for (j, item) in items.into_iter().enumerate() {
                    push_object(item, &mut objects, &|| format!("{}, element {j}", where_()))?;
                }
            }
            doc => push_object(doc, &mut objects, &where_)?,
        }
    }
    if objects.is_empty() {
        return Err(Error::input(format!(
            "{origin}: no Kubernetes objects found"
        )));
    }
    Ok(objects)
}

fn push_object(v: Value, out: &mut Vec<Value>, at: &dyn Fn() -> String) -> Result<(), Error> {
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
    out.push(v);
    Ok(())
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
        let e = parse_objects(b"a: b\n---\nkind: [\n", "in.yaml").unwrap_err();
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

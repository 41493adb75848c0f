//! What of an object the engine reads. An object parsed through a
//! [`Projection`] keeps only that (a TAP object's managed fields, annotations
//! and most of its spec are skipped, never built), and evaluating it gives the
//! same samples and errors as evaluating the whole object.
//!
//! What is kept: every value a path ends at, whole; along the way, the keys
//! paths name, and every key or element of the maps and lists a metric
//! iterates. A value read only for whether it is there keeps its type but not
//! its contents (a string becomes `""`, a map or list empty), since nothing
//! looks inside it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::path::{Segment, ValuePath};

/// The parts of an object that evaluating some config resources reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    root: Node,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Node {
    /// The whole value is read.
    all: bool,
    /// Map keys read, and what of their values.
    keys: BTreeMap<String, Node>,
    /// What is read of every value of a map (a metric iterates it); once
    /// settled, also merged into `keys`.
    any: Option<Box<Node>>,
    /// What is read of every element of a list (indices, filters, iteration).
    elem: Option<Box<Node>>,
}

impl Node {
    pub(super) fn whole() -> Node {
        Node {
            all: true,
            ..Node::default()
        }
    }

    /// What a metric's `each` reads from the value at its path: `inner` of the
    /// value itself, and of every key or element, since it iterates maps and lists.
    pub(super) fn iterated(inner: Node) -> Node {
        let boxed = Box::new(inner.clone());
        Node {
            any: Some(boxed.clone()),
            elem: Some(boxed),
            ..inner
        }
    }

    /// Adds `leaf` at the end of `path`.
    pub(super) fn add(&mut self, path: &ValuePath, leaf: &Node) {
        let segments: Vec<Segment<'_>> = path.segments().collect();
        self.add_segments(&segments, leaf);
    }

    fn add_segments(&mut self, segments: &[Segment<'_>], leaf: &Node) {
        let Some((first, rest)) = segments.split_first() else {
            self.merge(leaf);
            return;
        };
        match *first {
            Segment::Key {
                key,
                test_key,
                index,
            } => {
                self.key(key).add_segments(rest, leaf);
                if let Some(k) = test_key {
                    self.key(k).all = true;
                }
                if index {
                    self.elem.get_or_insert_default().add_segments(rest, leaf);
                }
            }
            Segment::Filter { key } => {
                let elem = self.elem.get_or_insert_default();
                elem.key(key).all = true;
                elem.add_segments(rest, leaf);
            }
        }
    }

    fn key(&mut self, key: &str) -> &mut Node {
        self.keys.entry(key.to_string()).or_default()
    }

    pub(super) fn merge(&mut self, other: &Node) {
        self.all |= other.all;
        for (k, n) in &other.keys {
            self.key(k).merge(n);
        }
        for (mine, theirs) in [(&mut self.any, &other.any), (&mut self.elem, &other.elem)] {
            if let Some(theirs) = theirs {
                mine.get_or_insert_default().merge(theirs);
            }
        }
    }

    /// Makes every node complete on its own: a named key also gets what is
    /// read of any key, and below a whole value nothing else matters.
    fn settle(&mut self) {
        if self.all {
            *self = Node::whole();
            return;
        }
        if let Some(any) = &self.any {
            for n in self.keys.values_mut() {
                n.merge(any);
            }
        }
        self.keys.values_mut().for_each(Node::settle);
        self.any.iter_mut().for_each(|n| n.settle());
        self.elem.iter_mut().for_each(|n| n.settle());
    }
}

impl Projection {
    /// The projection reading what all of `reads` read; `reads` are rooted at the object.
    pub(super) fn new<'a>(reads: impl IntoIterator<Item = &'a Node>) -> Projection {
        let mut root = Node::default();
        for n in reads {
            root.merge(n);
        }
        root.settle();
        Projection { root }
    }

    /// A seed that parses one object into what the projection keeps.
    pub fn seed(&self) -> Seed<'_> {
        Seed(&self.root)
    }
}

/// Parses a value into what its node keeps; see [`Projection::seed`].
#[derive(Clone, Copy)]
pub struct Seed<'a>(&'a Node);

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.0.all {
            Value::deserialize(d)
        } else {
            d.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    // Nothing reads inside a string here (a path ending at it would keep it whole).
    fn visit_str<E>(self, _: &str) -> Result<Value, E> {
        Ok(Value::String(String::new()))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        match &self.0.elem {
            Some(elem) => {
                while let Some(v) = seq.next_element_seed(Seed(elem))? {
                    items.push(v);
                }
            }
            None => while seq.next_element::<IgnoredAny>()?.is_some() {},
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(Key(key)) = map.next_key()? {
            match self.0.keys.get(key.as_ref()).or(self.0.any.as_deref()) {
                Some(node) => {
                    let v = map.next_value_seed(Seed(node))?;
                    out.insert(key.into_owned(), v);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// A map key, borrowed from the input when it has no escapes: most keys are
/// skipped and never need a `String`.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map key")
            }

            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }

            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }

            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(p: &[&str]) -> ValuePath {
        ValuePath::compile(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn project(reads: &Node, obj: &Value) -> Value {
        let p = Projection::new([reads]);
        let text = obj.to_string();
        let mut de = serde_json::Deserializer::from_str(&text);
        p.seed().deserialize(&mut de).unwrap()
    }

    #[test]
    fn keeps_what_paths_read_and_skips_the_rest() {
        let obj = json!({
            "metadata": {"name": "w", "managedFields": [{"big": "x"}], "labels": {"a": "1", "b": "2"}},
            "spec": {"params": [{"name": "n", "value": 3, "junk": "j"}], "s": "text", "m": {"k": "v"}},
            "status": {"conditions": [{"type": "Ready", "status": "True", "message": "long"}]}
        });
        let mut reads = Node::default();
        reads.add(&path(&["metadata", "name"]), &Node::whole());
        reads.add(&path(&["metadata", "labels"]), &Node::whole());
        reads.add(
            &path(&["spec", "params", "[name=n]", "value"]),
            &Node::whole(),
        );
        reads.add(&path(&["spec", "s", "deeper"]), &Node::whole());
        let mut each = Node::default();
        each.add(&path(&["type"]), &Node::whole());
        reads.add(&path(&["status", "conditions"]), &Node::iterated(each));
        assert_eq!(
            project(&reads, &obj),
            json!({
                "metadata": {"name": "w", "labels": {"a": "1", "b": "2"}},
                "spec": {"params": [{"name": "n", "value": 3}], "s": ""},
                "status": {"conditions": [{"type": "Ready"}]}
            })
        );
    }

    #[test]
    fn indices_and_key_tests_read_lists_and_keys() {
        let obj = json!({"l": [{"a": 1, "b": 2}, null], "m": {"k": "v", "k=v": {"x": 1}}});
        let mut reads = Node::default();
        reads.add(&path(&["l", "-1", "a"]), &Node::whole());
        reads.add(&path(&["m", "k=v", "x"]), &Node::whole());
        assert_eq!(
            project(&reads, &obj),
            json!({"l": [{"a": 1}, null], "m": {"k": "v", "k=v": {"x": 1}}})
        );
    }

    #[test]
    fn iterated_maps_keep_every_key() {
        let obj = json!({"m": {"a": {"v": 1, "w": 2}, "b": "s", "c": null}});
        let mut each = Node::default();
        each.add(&path(&["v"]), &Node::whole());
        let mut reads = Node::default();
        reads.add(&path(&["m"]), &Node::iterated(each));
        assert_eq!(
            project(&reads, &obj),
            json!({"m": {"a": {"v": 1}, "b": "", "c": null}})
        );
    }
}

//! One list page: its items streamed into the engine as they are parsed, so
//! only one object's tree exists at a time, and its continue token found
//! without reading the items.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::Progressing;
use crate::engine::{Engine, Projection};
use crate::shared::text::one_line;
use crate::source::cluster::discovery::Gvr;
use crate::source::items::EachItem;

/// The continue token of a list body, without building its items: read from
/// the end when `metadata` is the body's last key (custom resource lists sort
/// their keys), else by a scan that skips everything else. `None` for a last
/// page or a body that is not a list (the evaluation then says why).
pub(super) fn peek_token(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Head {
        #[serde(default)]
        metadata: Option<ListMeta>,
    }
    let meta = match trailing_metadata(body) {
        Some(meta) => meta,
        None => serde_json::from_slice::<Head>(body).ok()?.metadata?,
    };
    meta.token.filter(|t| !t.is_empty())
}

/// `"metadata": {…}` right before the body's final `}`: then it is a key of
/// the top-level object (a nested one would need its own `}` after it), and
/// the key cannot be inside a string, where every quote is escaped.
pub(super) fn trailing_metadata(body: &[u8]) -> Option<ListMeta> {
    const KEY: &[u8] = b"\"metadata\":";
    let end = body.iter().rposition(|b| !b.is_ascii_whitespace())?;
    if body[end] != b'}' {
        return None;
    }
    // List metadata is a few hundred bytes.
    let from = end.saturating_sub(4096);
    let key = from + body[from..end].windows(KEY.len()).rposition(|w| w == KEY)?;
    if key > 0 && body[key - 1] == b'\\' {
        return None;
    }
    let mut de = serde_json::Deserializer::from_slice(&body[key + KEY.len()..end]);
    let meta = ListMeta::deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(meta)
}

pub(super) enum PageError {
    /// Samples could not be written to the spool.
    Spool(std::io::Error),
    /// The body is not a Kubernetes list.
    Invalid(String),
}

pub(super) struct Page {
    pub objects: u64,
    /// The continue token of the next page, if any.
    pub next: Option<String>,
}

/// Evaluates every item of one list page into the task's batches, each item
/// parsed into only what the engine reads of it.
pub(super) fn evaluate_page(
    engine: &Engine,
    reads: &Projection,
    gvr: &Gvr,
    body: &[u8],
    st: &mut Progressing,
) -> Result<Page, PageError> {
    let api_version = Value::String(gvr.api_version());
    let kind = Value::String(gvr.kind.clone());
    let mut spool_error = None;
    let mut objects = 0u64;
    let Progressing {
        batches, errors, ..
    } = st;
    let mut each = |mut obj: Value| -> Result<(), ()> {
        // Built-in lists leave apiVersion and kind out of their items.
        if let Value::Object(m) = &mut obj {
            m.entry("apiVersion").or_insert_with(|| api_version.clone());
            m.entry("kind").or_insert_with(|| kind.clone());
        }
        objects += 1;
        for b in batches.iter_mut() {
            engine.evaluate_object(b, &obj, errors);
            if let Err(e) = b.spill_if_full() {
                spool_error = Some(e);
                return Err(());
            }
        }
        Ok(())
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = PageSeed {
        reads,
        each: &mut each,
    }
    .deserialize(&mut de)
    .and_then(|next| de.end().map(|()| next));
    st.objects += objects;
    if let Some(e) = spool_error {
        return Err(PageError::Spool(e));
    }
    // serde quotes what it did not expect, which may be long.
    let next = parsed.map_err(|e| {
        PageError::Invalid(format!(
            "an invalid list: {}",
            one_line(&e.to_string(), 300)
        ))
    })?;
    Ok(Page { objects, next })
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum Field {
    Metadata,
    Items,
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default)]
pub(super) struct ListMeta {
    #[serde(rename = "continue", default)]
    pub token: Option<String>,
}

/// A list body: `items` streamed into `each`, the rest skipped but
/// `metadata.continue`, which is returned (the server may put it last).
struct PageSeed<'a, F> {
    reads: &'a Projection,
    each: &'a mut F,
}

impl<'de, F: FnMut(Value) -> Result<(), ()>> DeserializeSeed<'de> for PageSeed<'_, F> {
    type Value = Option<String>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(Value) -> Result<(), ()>> Visitor<'de> for PageSeed<'_, F> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kubernetes list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut next = None;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Metadata => {
                    let meta: Option<ListMeta> = map.next_value()?;
                    next = meta.and_then(|m| m.token).filter(|t| !t.is_empty());
                }
                Field::Items => {
                    let each = &mut *self.each;
                    let mut check = |i: usize, item: Value| {
                        // Not a Kubernetes list: refused whole, rather than a
                        // number counted as an object of the kind.
                        if !item.is_object() {
                            let what = match item {
                                Value::Null => "null",
                                Value::Bool(_) => "a boolean",
                                Value::Number(_) => "a number",
                                Value::String(_) => "a string",
                                _ => "an array",
                            };
                            return Err(format!("items[{i}] is {what}, not an object"));
                        }
                        each(item).map_err(|()| "evaluation stopped".to_string())
                    };
                    map.next_value_seed(EachItem {
                        seed: || self.reads.seed(),
                        each: &mut check,
                        null_is_empty: true,
                        expecting: "a list of objects",
                    })?
                }
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(next)
    }
}

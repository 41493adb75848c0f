//! YAML object files: each document (and each entry of a `List`) is
//! outlined with libyaml's event parser, so that a List's items are parsed
//! one at a time and nesting is bounded before serde_yaml sees them.

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::{Sink, json_value, push_object};
use crate::config::yaml::{self, Kind, ScanError, Scanner};
use crate::error::Error;

/// Where a YAML document or list entry lies in the text.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    /// 0-based line and column (in characters) of `start`.
    line: usize,
    column: usize,
}

impl Span {
    /// The node's text, alone, indented as it was: a block node's first line
    /// keeps its column (what preceded it was `- ` and indentation). A flow
    /// node far along a line needs no indentation, and gets none, so that a
    /// one-line list costs no more than its length.
    fn text(&self, bytes: &[u8]) -> Vec<u8> {
        let pad = if self.column <= 256 { self.column } else { 0 };
        let mut text = Vec::with_capacity(pad + self.end - self.start);
        text.resize(pad, b' ');
        text.extend_from_slice(&bytes[self.start..self.end]);
        text
    }
}

/// One YAML document as the event pass saw it.
#[derive(Default)]
struct Outline {
    /// The top-level `kind`, when it is a scalar.
    kind: Option<String>,
    /// The entries of a top-level `items` sequence.
    items: Option<Vec<Span>>,
    /// Aliases or merge keys: entries cannot be parsed alone.
    whole_only: bool,
    /// The document is empty (null).
    empty: bool,
}

/// The objects of a YAML stream. Each document is outlined by one pass of
/// libyaml's event parser (which holds no tree and stops at the depth limit);
/// the entries of a `List` are then parsed one by one, any other document whole.
pub(super) fn yaml_objects(bytes: &[u8], origin: &str, f: &mut Sink<'_>) -> Result<(), Error> {
    let mut scan = Scanner::new(bytes);
    let mut doc = 0usize;
    // Where serde_yaml starts to explain a syntax error, and which document that is.
    let mut region = (0usize, 1usize);
    loop {
        let Some(ev) = scan.next_event() else {
            return Ok(());
        };
        let ev = ev.map_err(|e| scan_error(bytes, origin, region, e))?;
        match ev.kind {
            Kind::DocumentStart => {
                doc += 1;
                region = (ev.start, doc);
                let (outline, end) = outline_document(&mut scan)
                    .map_err(|e| scan_error(bytes, origin, region, e))?;
                let whole = Span {
                    start: ev.start,
                    end,
                    line: ev.line,
                    column: ev.column,
                };
                region = (end, doc + 1);
                yaml_document(bytes, origin, doc, whole, outline, f)?;
            }
            Kind::StreamEnd => return Ok(()),
            _ => {}
        }
    }
}

fn yaml_document(
    bytes: &[u8],
    origin: &str,
    doc: usize,
    whole: Span,
    outline: Outline,
    f: &mut Sink<'_>,
) -> Result<(), Error> {
    let at = format!("{origin}: document {doc}");
    if outline.empty {
        return Ok(());
    }
    let is_list = outline.kind.is_some_and(|k| k.ends_with("List"));
    if let (true, false, Some(items)) = (is_list, outline.whole_only, outline.items) {
        for (j, span) in items.into_iter().enumerate() {
            let item_at = format!("{at}, items[{j}]");
            let item = parse_yaml(&span.text(bytes), span.line, false)
                .map_err(|e| yaml_error(origin, &format!("document {doc}, items[{j}]"), &e))?;
            push_object(item, f, &|| item_at.clone())?;
        }
        return Ok(());
    }
    let v = parse_yaml(&whole.text(bytes), whole.line, outline.whole_only)
        .map_err(|e| yaml_error(origin, &format!("document {doc}"), &e))?;
    match v {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for (j, item) in items.into_iter().enumerate() {
                push_object(item, f, &|| format!("{at}, element {j}"))?;
            }
            Ok(())
        }
        v => push_object(v, f, &|| at.clone()),
    }
}

/// A YAML error with its line in the whole input.
struct YamlError {
    line: Option<(usize, usize)>,
    reason: String,
}

/// Parses one document whose text starts on 0-based line `line` of the
/// input; with `merge`, YAML merge keys are applied as yaml.v3 does.
fn parse_yaml(text: &[u8], line: usize, merge: bool) -> Result<Value, YamlError> {
    let err = |e: serde_yaml::Error| YamlError {
        line: e.location().map(|l| (l.line() + line, l.column())),
        reason: yaml_reason(&e),
    };
    let de = serde_yaml::Deserializer::from_slice(text);
    if !merge {
        return json_value(de).map_err(err);
    }
    let mut v = serde_yaml::Value::deserialize(de).map_err(err)?;
    v.apply_merge().map_err(err)?;
    json_value(v).map_err(err)
}

fn yaml_error(origin: &str, what: &str, e: &YamlError) -> Error {
    let at = e
        .line
        .map(|(l, c)| format!(" at line {l} column {c}"))
        .unwrap_or_default();
    Error::input(format!(
        "{origin}: invalid YAML in {what}{at}: {}",
        e.reason
    ))
}

/// A failed event pass: the depth limit, or a syntax error that serde_yaml
/// explains from `region` on.
fn scan_error(bytes: &[u8], origin: &str, region: (usize, usize), e: ScanError) -> Error {
    let (start, doc) = region;
    if let ScanError::TooDeep { .. } = e {
        return Error::input(format!("{origin}: document {doc}: {e}"));
    }
    let line = bytes[..start].iter().filter(|b| **b == b'\n').count();
    let explained = serde_yaml::Deserializer::from_slice(&bytes[start..])
        .next()
        .map(|d| IgnoredAny::deserialize(d).err());
    let e = match explained {
        Some(Some(e)) => YamlError {
            line: e.location().map(|l| (l.line() + line, l.column())),
            reason: yaml_reason(&e),
        },
        _ => YamlError {
            line: None,
            reason: "not YAML".into(),
        },
    };
    yaml_error(origin, &format!("document {doc}"), &e)
}

/// Reads the events of one document after its start; returns its outline
/// and where it ends.
fn outline_document(scan: &mut Scanner<'_>) -> Result<(Outline, usize), ScanError> {
    let mut outline = Outline::default();
    let root = expect_event(scan)?;
    match root.kind {
        Kind::MappingStart => loop {
            let key = expect_event(scan)?;
            if key.kind == Kind::MappingEnd {
                break;
            }
            let name = (key.kind == Kind::Scalar).then(|| scan.scalar().to_vec());
            skip_node(scan, key, &mut outline)?;
            let value = expect_event(scan)?;
            match (name.as_deref(), value.kind) {
                (Some(b"kind"), Kind::Scalar) => {
                    outline.kind = Some(String::from_utf8_lossy(scan.scalar()).into_owned());
                }
                (Some(b"items"), Kind::SequenceStart) => {
                    let mut items = Vec::new();
                    loop {
                        let item = expect_event(scan)?;
                        if item.kind == Kind::SequenceEnd {
                            break;
                        }
                        let end = skip_node(scan, item, &mut outline)?;
                        items.push((item, end));
                    }
                    outline.items = Some(
                        items
                            .into_iter()
                            .map(|(ev, end)| Span {
                                start: ev.start,
                                end,
                                line: ev.line,
                                column: ev.column,
                            })
                            .collect(),
                    );
                }
                _ => {
                    skip_node(scan, value, &mut outline)?;
                }
            }
        },
        _ => {
            outline.empty = root.kind == Kind::Scalar && root.plain && scan.scalar().is_empty();
            skip_node(scan, root, &mut outline)?;
        }
    }
    let end = expect_event(scan)?;
    Ok((outline, end.end))
}

fn expect_event(scan: &mut Scanner<'_>) -> Result<yaml::Event, ScanError> {
    scan.next_event().unwrap_or(Err(ScanError::Syntax))
}

/// Reads the rest of the node `first` starts; returns where it ends.
fn skip_node(
    scan: &mut Scanner<'_>,
    first: yaml::Event,
    outline: &mut Outline,
) -> Result<usize, ScanError> {
    let mut ev = first;
    let mut open = 0usize;
    loop {
        match ev.kind {
            Kind::SequenceStart | Kind::MappingStart => open += 1,
            Kind::SequenceEnd | Kind::MappingEnd => open -= 1,
            Kind::Alias => outline.whole_only = true,
            // Maybe a merge key: only a whole document can be merged.
            Kind::Scalar if ev.plain && scan.scalar() == b"<<" => outline.whole_only = true,
            _ => {}
        }
        if open == 0 {
            return Ok(ev.end);
        }
        ev = expect_event(scan)?;
    }
}

fn yaml_reason(e: &serde_yaml::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

//! A pass of libyaml's event parser (the one serde_yaml uses, so the same
//! grammar) that holds nothing but the current event, for what serde_yaml
//! cannot do: stop at a nesting limit before the work grows (libyaml's
//! scanner costs time proportional to the flow depth for every token, so a
//! document nested 100k deep takes minutes), and find where the entries of
//! a large `items` sequence start and end, so that each can be parsed alone.

use std::mem::MaybeUninit;

use unsafe_libyaml as unsafe_sys;

/// How deep configs and objects may nest: serde_yaml and serde_json refuse
/// more than 128 levels anyway; this limit makes that fail fast.
pub const DEPTH_LIMIT: usize = 128;

/// The UTF-8 byte order mark some editors write first.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// `text` without a leading byte order mark.
pub fn strip_bom(text: &[u8]) -> &[u8] {
    text.strip_prefix(BOM).unwrap_or(text)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Alias,
    Scalar,
    SequenceStart,
    SequenceEnd,
    MappingStart,
    MappingEnd,
}

/// Where an event starts and ends: byte offsets into the text, and the
/// 0-based line of the start.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub column: usize,
    /// A plain (unquoted) scalar.
    pub plain: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanError {
    /// Not YAML: serde_yaml says why when it parses the same text.
    Syntax,
    /// Nested deeper than [`DEPTH_LIMIT`]; 1-based line and column.
    TooDeep { line: usize, column: usize },
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanError::Syntax => f.write_str("invalid YAML"),
            ScanError::TooDeep { line, column } => write!(
                f,
                "nested deeper than {DEPTH_LIMIT} levels (the limit) at line {line} column {column}"
            ),
        }
    }
}

/// Events of a UTF-8 text without a byte order mark (libyaml would skip one
/// without counting it in the offsets).
pub struct Scanner<'a> {
    parser: Box<MaybeUninit<unsafe_sys::yaml_parser_t>>,
    _text: std::marker::PhantomData<&'a [u8]>,
    depth: usize,
    /// The text of the last scalar event.
    scalar: Vec<u8>,
    finished: bool,
}

impl<'a> Scanner<'a> {
    pub fn new(text: &'a [u8]) -> Scanner<'a> {
        let mut parser = Box::new(MaybeUninit::<unsafe_sys::yaml_parser_t>::uninit());
        // SAFETY: initialize fills the zeroed struct; the input outlives the
        // parser (the `'a` borrow) and is never moved.
        unsafe {
            let p = parser.as_mut_ptr();
            // Only fails when allocation fails, which aborts in Rust anyway.
            let _ = unsafe_sys::yaml_parser_initialize(p);
            unsafe_sys::yaml_parser_set_input_string(p, text.as_ptr(), text.len() as u64);
        }
        Scanner {
            parser,
            _text: std::marker::PhantomData,
            depth: 0,
            scalar: Vec::new(),
            finished: false,
        }
    }

    /// Nesting of the collections open after the last event.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The value of the last scalar event.
    pub fn scalar(&self) -> &[u8] {
        &self.scalar
    }

    /// The next event; `None` after the stream's end or an error.
    pub fn next_event(&mut self) -> Option<Result<Event, ScanError>> {
        if self.finished {
            return None;
        }
        let mut raw = MaybeUninit::<unsafe_sys::yaml_event_t>::uninit();
        // SAFETY: the parser was initialized in `new`; a parsed event is read
        // only while alive and deleted once.
        let event = unsafe {
            if !unsafe_sys::yaml_parser_parse(self.parser.as_mut_ptr(), raw.as_mut_ptr()).ok {
                self.finished = true;
                return Some(Err(ScanError::Syntax));
            }
            let raw = raw.as_mut_ptr();
            let kind = match (*raw).type_ {
                unsafe_sys::YAML_STREAM_START_EVENT => Kind::StreamStart,
                unsafe_sys::YAML_STREAM_END_EVENT => Kind::StreamEnd,
                unsafe_sys::YAML_DOCUMENT_START_EVENT => Kind::DocumentStart,
                unsafe_sys::YAML_DOCUMENT_END_EVENT => Kind::DocumentEnd,
                unsafe_sys::YAML_ALIAS_EVENT => Kind::Alias,
                unsafe_sys::YAML_SCALAR_EVENT => Kind::Scalar,
                unsafe_sys::YAML_SEQUENCE_START_EVENT => Kind::SequenceStart,
                unsafe_sys::YAML_SEQUENCE_END_EVENT => Kind::SequenceEnd,
                unsafe_sys::YAML_MAPPING_START_EVENT => Kind::MappingStart,
                _ => Kind::MappingEnd,
            };
            let mut plain = false;
            if kind == Kind::Scalar {
                let s = (*raw).data.scalar;
                self.scalar.clear();
                if !s.value.is_null() {
                    self.scalar
                        .extend_from_slice(std::slice::from_raw_parts(s.value, s.length as usize));
                }
                plain = s.style == unsafe_sys::YAML_PLAIN_SCALAR_STYLE;
            }
            let event = Event {
                kind,
                start: (*raw).start_mark.index as usize,
                end: (*raw).end_mark.index as usize,
                line: (*raw).start_mark.line as usize,
                column: (*raw).start_mark.column as usize,
                plain,
            };
            unsafe_sys::yaml_event_delete(raw);
            event
        };
        match event.kind {
            Kind::SequenceStart | Kind::MappingStart => {
                self.depth += 1;
                if self.depth > DEPTH_LIMIT {
                    self.finished = true;
                    return Some(Err(ScanError::TooDeep {
                        line: event.line + 1,
                        column: event.column + 1,
                    }));
                }
            }
            Kind::SequenceEnd | Kind::MappingEnd => self.depth = self.depth.saturating_sub(1),
            Kind::StreamEnd => self.finished = true,
            _ => {}
        }
        Some(Ok(event))
    }
}

impl Drop for Scanner<'_> {
    fn drop(&mut self) {
        // SAFETY: initialized in `new`, deleted only here.
        unsafe { unsafe_sys::yaml_parser_delete(self.parser.as_mut_ptr()) }
    }
}

/// Fails fast on a text nested deeper than [`DEPTH_LIMIT`]; a syntax error
/// is left for serde_yaml to report (the text up to it is within the limit).
pub fn check_depth(text: &[u8]) -> Result<(), ScanError> {
    let mut scan = Scanner::new(strip_bom(text));
    while let Some(ev) = scan.next_event() {
        match ev {
            Err(ScanError::Syntax) => return Ok(()),
            Err(e) => return Err(e),
            Ok(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_fails_fast_at_the_limit() {
        let deep = format!("a: {}1{}", "{a: ".repeat(100_000), "}".repeat(100_000));
        let e = check_depth(deep.as_bytes()).unwrap_err();
        assert_eq!(
            e,
            ScanError::TooDeep {
                line: 1,
                column: 4 + 4 * (DEPTH_LIMIT - 1)
            }
        );
        let ok = format!("{}1{}", "[".repeat(DEPTH_LIMIT), "]".repeat(DEPTH_LIMIT));
        assert_eq!(check_depth(ok.as_bytes()), Ok(()));
        let seqs = format!("{}x", "- ".repeat(DEPTH_LIMIT + 1));
        assert!(matches!(
            check_depth(seqs.as_bytes()),
            Err(ScanError::TooDeep { .. })
        ));
        assert_eq!(check_depth(b"a: [\n"), Ok(()));
    }

    #[test]
    fn events_carry_byte_offsets() {
        let text = "k: v\nitems:\n- a: 1\n- b\n";
        let mut scan = Scanner::new(text.as_bytes());
        let mut seen = Vec::new();
        while let Some(ev) = scan.next_event() {
            let ev = ev.unwrap();
            if ev.kind == Kind::Scalar {
                seen.push((
                    String::from_utf8(scan.scalar().to_vec()).unwrap(),
                    &text[ev.start..ev.end],
                    ev.line,
                ));
            }
        }
        assert_eq!(
            seen,
            [
                ("k".into(), "k", 0),
                ("v".into(), "v", 0),
                ("items".into(), "items", 1),
                ("a".into(), "a", 2),
                ("1".into(), "1", 2),
                ("b".into(), "b", 3),
            ]
        );
    }
}

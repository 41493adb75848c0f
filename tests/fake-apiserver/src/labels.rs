//! Label selectors: a port of k8s.io/apimachinery/pkg/labels' lexer and parser, so that a
//! selector the API server would reject is rejected here with the same message.

use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    Exists,
    DoesNotExist,
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    Gt,
    Lt,
}

#[derive(Clone, Debug)]
pub(crate) struct LabelReq {
    key: String,
    op: Op,
    values: BTreeSet<String>,
}

impl LabelReq {
    pub(crate) fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let got = labels.get(&self.key);
        match self.op {
            Op::Exists => got.is_some(),
            Op::DoesNotExist => got.is_none(),
            Op::Equals | Op::DoubleEquals | Op::In => got.is_some_and(|v| self.values.contains(v)),
            Op::NotEquals | Op::NotIn => got.is_none_or(|v| !self.values.contains(v)),
            Op::Gt | Op::Lt => {
                let Some(have) = got.and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                let want: i64 = self
                    .values
                    .iter()
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                if self.op == Op::Gt {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Not,
    NotEq,
    Eq,
    DoubleEq,
    Gt,
    Lt,
    Comma,
    Open,
    Close,
    In,
    NotIn,
    End,
}

impl Tok {
    fn lit(&self) -> &str {
        match self {
            Tok::Ident(s) => s,
            Tok::Not => "!",
            Tok::NotEq => "!=",
            Tok::Eq => "=",
            Tok::DoubleEq => "==",
            Tok::Gt => ">",
            Tok::Lt => "<",
            Tok::Comma => ",",
            Tok::Open => "(",
            Tok::Close => ")",
            Tok::In => "in",
            Tok::NotIn => "notin",
            Tok::End => "",
        }
    }
}

fn lex(s: &str) -> Vec<Tok> {
    let special = |c: char| "=!(),><".contains(c);
    let chars: Vec<char> = s.chars().collect();
    let mut toks = vec![];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if special(c) {
            let next = chars.get(i + 1).copied();
            let (t, n) = match (c, next) {
                ('!', Some('=')) => (Tok::NotEq, 2),
                ('=', Some('=')) => (Tok::DoubleEq, 2),
                ('!', _) => (Tok::Not, 1),
                ('=', _) => (Tok::Eq, 1),
                ('>', _) => (Tok::Gt, 1),
                ('<', _) => (Tok::Lt, 1),
                (',', _) => (Tok::Comma, 1),
                ('(', _) => (Tok::Open, 1),
                _ => (Tok::Close, 1),
            };
            toks.push(t);
            i += n;
        } else {
            let st = i;
            while i < chars.len() && !chars[i].is_whitespace() && !special(chars[i]) {
                i += 1;
            }
            let w: String = chars[st..i].iter().collect();
            toks.push(match w.as_str() {
                "in" => Tok::In,
                "notin" => Tok::NotIn,
                _ => Tok::Ident(w),
            });
        }
    }
    toks.push(Tok::End);
    toks
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    /// In the "values" context `in`/`notin` are plain identifiers.
    fn lookahead(&self, values: bool) -> Tok {
        let t = self.toks[self.pos.min(self.toks.len() - 1)].clone();
        match t {
            Tok::In | Tok::NotIn if values => Tok::Ident(t.lit().to_string()),
            t => t,
        }
    }

    fn consume(&mut self, values: bool) -> Tok {
        let t = self.lookahead(values);
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn parse(&mut self) -> Result<Vec<LabelReq>, String> {
        let mut reqs = vec![];
        loop {
            match self.lookahead(true) {
                Tok::Ident(_) | Tok::Not => {
                    reqs.push(self.requirement()?);
                    match self.consume(true) {
                        Tok::End => return Ok(reqs),
                        Tok::Comma => {
                            let t = self.lookahead(true);
                            if !matches!(t, Tok::Ident(_) | Tok::Not) {
                                return Err(format!(
                                    "found '{}', expected: identifier after ','",
                                    t.lit()
                                ));
                            }
                        }
                        t => {
                            return Err(format!(
                                "found '{}', expected: ',' or 'end of string'",
                                t.lit()
                            ));
                        }
                    }
                }
                Tok::End => return Ok(reqs),
                t => {
                    return Err(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        t.lit()
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<LabelReq, String> {
        let mut op = None;
        let mut t = self.consume(true);
        if t == Tok::Not {
            op = Some(Op::DoesNotExist);
            t = self.consume(true);
        }
        let Tok::Ident(key) = t else {
            return Err(format!("found '{}', expected: identifier", t.lit()));
        };
        validate_label_key(&key)?;
        if matches!(self.lookahead(true), Tok::End | Tok::Comma) && op.is_none() {
            op = Some(Op::Exists);
        }
        if let Some(op) = op {
            return Ok(LabelReq {
                key,
                op,
                values: BTreeSet::new(),
            });
        }
        let op = match self.consume(false) {
            Tok::In => Op::In,
            Tok::NotIn => Op::NotIn,
            Tok::Eq => Op::Equals,
            Tok::DoubleEq => Op::DoubleEquals,
            Tok::NotEq => Op::NotEquals,
            Tok::Gt => Op::Gt,
            Tok::Lt => Op::Lt,
            t => {
                return Err(format!(
                    "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    t.lit()
                ));
            }
        };
        let values = if matches!(op, Op::In | Op::NotIn) {
            self.values()?
        } else {
            self.exact_value()?
        };
        match op {
            Op::Equals | Op::DoubleEquals | Op::NotEquals if values.len() != 1 => {
                return Err("exact-match compatibility requires one single value".into());
            }
            Op::Gt | Op::Lt
                if values.len() != 1 || values.iter().any(|v| v.parse::<i64>().is_err()) =>
            {
                return Err(format!(
                    "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer: {values:?}"
                ));
            }
            _ => {}
        }
        for v in &values {
            validate_label_value(v)?;
        }
        Ok(LabelReq { key, op, values })
    }

    fn values(&mut self) -> Result<BTreeSet<String>, String> {
        let t = self.consume(true);
        if t != Tok::Open {
            return Err(format!("found '{}' expected: '('", t.lit()));
        }
        match self.lookahead(true) {
            Tok::Ident(_) | Tok::Comma => {
                let s = self.identifiers()?;
                let t = self.consume(true);
                if t != Tok::Close {
                    return Err(format!("found '{}', expected: ')'", t.lit()));
                }
                Ok(s)
            }
            Tok::Close => {
                self.consume(true);
                Ok([String::new()].into())
            }
            t => Err(format!(
                "found '{}', expected: ',', ')' or identifier",
                t.lit()
            )),
        }
    }

    fn identifiers(&mut self) -> Result<BTreeSet<String>, String> {
        let mut s = BTreeSet::new();
        loop {
            match self.consume(true) {
                Tok::Ident(v) => {
                    s.insert(v);
                    match self.lookahead(true) {
                        Tok::Comma => continue,
                        Tok::Close => return Ok(s),
                        t => return Err(format!("found '{}', expected: ',' or ')'", t.lit())),
                    }
                }
                Tok::Comma => {
                    if s.is_empty() {
                        s.insert(String::new());
                    }
                    match self.lookahead(true) {
                        Tok::Close => {
                            s.insert(String::new());
                            return Ok(s);
                        }
                        Tok::Comma => {
                            self.consume(true);
                            s.insert(String::new());
                        }
                        _ => {}
                    }
                }
                t => return Err(format!("found '{}', expected: ',', or identifier", t.lit())),
            }
        }
    }

    fn exact_value(&mut self) -> Result<BTreeSet<String>, String> {
        if matches!(self.lookahead(true), Tok::End | Tok::Comma) {
            return Ok([String::new()].into());
        }
        match self.consume(true) {
            Tok::Ident(v) => Ok([v].into()),
            t => Err(format!("found '{}', expected: identifier", t.lit())),
        }
    }
}

pub(crate) fn parse_label_selector(s: &str) -> Result<Vec<LabelReq>, String> {
    Parser {
        toks: lex(s),
        pos: 0,
    }
    .parse()
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, at most 63 characters.
fn is_qualified_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
}

fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            let b = l.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

fn validate_label_key(k: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "unable to parse requirement: key: Invalid value: {k:?}: {why}"
        ))
    };
    let (prefix, name) = match k.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix
        && !is_dns1123_subdomain(p)
    {
        return bad("prefix part must be a lowercase RFC 1123 subdomain");
    }
    if name.contains('/') || !is_qualified_part(name) {
        return bad(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (and be at most 63 characters)",
        );
    }
    Ok(())
}

fn validate_label_value(v: &str) -> Result<(), String> {
    if v.is_empty() || is_qualified_part(v) {
        Ok(())
    } else {
        Err(format!(
            "unable to parse requirement: values[0]: Invalid value: {v:?}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ))
    }
}

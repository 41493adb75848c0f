//! Text that reaches a terminal: control characters made visible.
//!
//! Object names, condition messages, file paths and server answers come from
//! outside. Written raw, an ESC can recolour or retitle the terminal, a CR can
//! overwrite what was printed and a newline can forge a second message line or
//! break a table row. kubectl escapes such text before printing it; so do we.

use std::borrow::Cow;

/// `s` with every control character written visibly: `\n`, `\r`, `\t`, ESC as
/// `^[` (kubectl's form), other C0/C1 controls and DEL as `\xNN` / `\u{NN}`.
/// Printable text, including non-ASCII, is returned unchanged and unallocated.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x1b' => out.push_str("^["),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A URL as given, with any `user:password@` replaced by `REDACTED@`, for
/// messages and labels: a credential must never reach a log, even in a
/// refusal. A URL without a scheme (`user:pw@host`) is read the same way.
pub fn redact_userinfo(url: &str) -> Cow<'_, str> {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => Cow::Owned(format!("{}REDACTED{}", &url[..start], &rest[at..])),
        None => Cow::Borrowed(url),
    }
}

/// Outside text (a server's message, a plugin's error) fit for one line of
/// a message: whitespace runs, line breaks included, become one space, and
/// at most `max` characters are kept. (Other control characters are escaped
/// where the line is written.)
pub fn one_line(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (n, word) in s.split_whitespace().enumerate() {
        if n > 0 {
            out.push(' ');
        }
        out.push_str(word);
        if out.len() > max * 4 {
            break;
        }
    }
    match out.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &out[..i]),
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::{redact_userinfo, visible};

    #[test]
    fn userinfo_is_redacted() {
        assert_eq!(
            redact_userinfo("https://admin:s3cr3t@pgw:9091/x?a=b@c"),
            "https://REDACTED@pgw:9091/x?a=b@c"
        );
        assert_eq!(redact_userinfo("http://a:b@c@[bad"), "http://REDACTED@[bad");
        assert_eq!(
            redact_userinfo("http://pgw:9091/p@x"),
            "http://pgw:9091/p@x"
        );
        assert_eq!(redact_userinfo("pgw:9091"), "pgw:9091");
        assert_eq!(redact_userinfo("me:pw@h"), "REDACTED@h");
    }

    #[test]
    fn printable_text_is_borrowed() {
        assert!(matches!(
            visible("dev/web-app ünï"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn controls_are_escaped() {
        assert_eq!(
            visible("a\x1b]0;owned\x07b\rc\nd\te\x08\x00\x7f\u{9b}"),
            "a^[]0;owned\\x07b\\rc\\nd\\te\\x08\\x00\\x7f\\u{9b}"
        );
    }
}

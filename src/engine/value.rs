//! Turning JSON values into sample values and label strings the way KSM's Go
//! code does (`toFloat64` and `fmt.Sprintf("%v", …)`).
//!
//! Objects reach KSM as the API server's JSON: integers are Go `int64`, other
//! numbers `float64`; serde_json's `Number` keeps the same distinction.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Value;

use crate::model::go_float;

/// KSM's `toFloat64`: the sample value of a JSON value.
pub fn to_f64(value: &Value, nil_is_zero: bool) -> Result<f64, String> {
    match value {
        Value::Null if nil_is_zero => Ok(0.0),
        Value::Null => Err("expected number but found nil value".into()),
        Value::Bool(b) => Ok(if *b { 1.0 } else { 0.0 }),
        Value::Number(n) => Ok(number_f64(n)),
        Value::String(s) => string_to_f64(s),
        other => Err(format!("expected number but was {}", go_fmt(other))),
    }
}

fn number_f64(n: &serde_json::Number) -> f64 {
    n.as_i64()
        .map(|i| i as f64)
        .or_else(|| n.as_f64())
        .unwrap_or(f64::NAN)
}

/// Strings are tried as a boolean word, an RFC 3339 time, a Kubernetes
/// quantity, a percentage and finally a plain float, in KSM's order.
pub fn string_to_f64(s: &str) -> Result<f64, String> {
    match s.to_lowercase().as_str() {
        "true" | "yes" => return Ok(1.0),
        "false" | "no" | "unknown" => return Ok(0.0),
        _ => {}
    }
    if let Some(t) = parse_rfc3339(s) {
        return Ok(t as f64);
    }
    if let Some(q) = parse_quantity(s) {
        return Ok(q);
    }
    if let Some(p) = s.strip_suffix('%')
        && is_percent_number(p)
    {
        return p
            .parse::<f64>()
            .map(|v| v / 100.0)
            .map_err(|_| format!("cannot parse {s:?} as a percentage"));
    }
    parse_go_float(s).ok_or_else(|| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))
}

fn is_percent_number(p: &str) -> bool {
    let (int, frac) = match p.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (p, None),
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal input: `inf`, `infinity` and
/// `nan` in any case, with an optional sign; no surrounding space.
fn parse_go_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    if body.is_empty() {
        return None;
    }
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return s.parse::<f64>().ok();
    }
    // Rust also accepts forms Go rejects ("1." is fine in both; "e5" in neither),
    // so only the plain decimal alphabet is let through.
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-' | b'_'))
    {
        return None;
    }
    if body.contains('_') {
        // Go allows underscores only with a base prefix, which decimals lack.
        return None;
    }
    s.parse::<f64>().ok()
}

/// `time.Parse(time.RFC3339, s)` followed by `Unix()`: whole seconds, rounded down.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(part).ok()?.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, min, sec) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let mut i = 19;
    if b[i] == b'.' || b[i] == b',' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset = match b.get(i)? {
        b'Z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if b.len() == i + 6 && b[i + 3] == b':' => {
            let (h, m) = (digits(i + 1..i + 3)?, digits(i + 4..i + 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            let off = h * 3600 + m * 60;
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month)
        || day < 1
        || day > month_days[(month - 1) as usize]
        || hour > 23
        || min > 59
        || sec > 59
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `resource.ParseQuantity(s)` then `AsApproximateFloat64()`.
///
/// Accepts what apimachinery accepts (including its odd corners: `"."`, `"-"`
/// and a bare suffix such as `"Ki"` are zero) and rounds non-zero values up to
/// nano precision as it does.
pub fn parse_quantity(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    let b = s.as_bytes();
    let mut pos = 0;
    let mut positive = true;
    match b[0] {
        b'-' => {
            positive = false;
            pos = 1;
        }
        b'+' => pos = 1,
        _ => {}
    }
    let digits_end =
        |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let num_end = digits_end(pos);
    let num = &s[pos..num_end];
    pos = num_end;
    let mut denom = "";
    if pos < b.len() && b[pos] == b'.' {
        let end = digits_end(pos + 1);
        denom = &s[pos + 1..end];
        pos = end;
    }
    let suffix = &s[pos..];
    // The suffix is letters from the SI set, optionally followed by a signed exponent.
    let letters = suffix
        .bytes()
        .take_while(|c| b"eEinumkKMGTP".contains(c))
        .count();
    let rest = &suffix[letters..];
    let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    if !rest.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (base, exponent): (u32, i32) = match suffix {
        "" => (10, 0),
        "n" => (10, -9),
        "u" => (10, -6),
        "m" => (10, -3),
        "k" => (10, 3),
        "M" => (10, 6),
        "G" => (10, 9),
        "T" => (10, 12),
        "P" => (10, 15),
        "E" => (10, 18),
        "Ki" => (2, 10),
        "Mi" => (2, 20),
        "Gi" => (2, 30),
        "Ti" => (2, 40),
        "Pi" => (2, 50),
        "Ei" => (2, 60),
        _ if suffix.len() > 1 && (suffix.starts_with('e') || suffix.starts_with('E')) => {
            (10, suffix[1..].parse::<i32>().ok()?)
        }
        _ => return None,
    };
    let num = num.trim_start_matches('0');
    let mut unscaled: String = format!("{num}{denom}");
    let mut scale = -(denom.len() as i32);
    if base == 10 {
        scale += exponent;
    }
    let trimmed = unscaled.trim_start_matches('0');
    unscaled = if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    };
    if unscaled == "0" {
        return Some(0.0);
    }
    // Non-zero values round up (away from zero) to nano precision.
    if scale < -9 {
        let drop = (-9 - scale) as usize;
        let round_up = if drop >= unscaled.len() {
            unscaled = "0".into();
            true
        } else {
            let (keep, gone) = unscaled.split_at(unscaled.len() - drop);
            let up = gone.bytes().any(|c| c != b'0');
            unscaled = keep.to_string();
            up
        };
        scale = -9;
        if round_up {
            unscaled = increment_decimal(&unscaled);
        }
    }
    let mantissa: f64 = unscaled.parse().ok()?;
    let mut v = if base == 2 {
        // apimachinery stores binary amounts exactly before converting.
        let m = mantissa * 2f64.powi(exponent);
        if scale < 0 {
            m / 10f64.powi(-scale)
        } else {
            m * 10f64.powi(scale)
        }
    } else {
        mantissa * pow10(scale)
    };
    if !positive {
        v = -v;
    }
    Some(v)
}

fn increment_decimal(s: &str) -> String {
    let mut digits: Vec<u8> = s.bytes().collect();
    for d in digits.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return String::from_utf8(digits).unwrap_or_default();
        }
    }
    format!("1{}", String::from_utf8(digits).unwrap_or_default())
}

/// Like Go's `math.Pow10`: exact for the powers a float holds exactly.
fn pow10(e: i32) -> f64 {
    if e >= 0 {
        10f64.powi(e)
    } else {
        1.0 / 10f64.powi(-e)
    }
}

/// [`go_fmt`] for a label value: strings, the usual case, are borrowed as they are.
pub fn go_label(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(go_fmt(other)),
    }
}

/// Go's `fmt.Sprintf("%v", v)` for a decoded JSON value.
pub fn go_fmt(v: &Value) -> String {
    let mut out = String::new();
    write_go(&mut out, v);
    out
}

fn write_go(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_i64() {
            Some(i) => {
                let _ = write!(out, "{i}");
            }
            None => out.push_str(&go_float(number_f64(n))),
        },
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_go(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push_str("map[");
            // serde_json's map iterates in key order, as Go's fmt prints maps.
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_go(out, item);
            }
            out.push(']');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_convert_in_ksm_order() {
        let cases: &[(&str, f64)] = &[
            ("True", 1.0),
            ("yes", 1.0),
            ("FALSE", 0.0),
            ("no", 0.0),
            ("Unknown", 0.0),
            ("2024-01-02T03:04:05Z", 1_704_164_645.0),
            ("2024-01-02T05:04:05.123+02:00", 1_704_164_645.0),
            ("250m", 0.25),
            ("1.5Gi", 1_610_612_736.0),
            ("5Gi", 5_368_709_120.0),
            ("1e3", 1000.0),
            ("2k", 2000.0),
            ("12.5%", 0.125),
            ("50%", 0.5),
            ("0.00001", 0.00001),
            ("-3", -3.0),
            ("Ki", 0.0),
        ];
        for (s, want) in cases {
            assert_eq!(string_to_f64(s), Ok(*want), "{s}");
        }
        assert!(string_to_f64("NaN").unwrap().is_nan());
        assert_eq!(string_to_f64("+Inf"), Ok(f64::INFINITY));
        assert_eq!(string_to_f64("-infinity"), Ok(f64::NEG_INFINITY));
        for bad in ["Maybe", "30s", "", " 1", "1_000", "0x10", "n/a", "5%%"] {
            assert!(string_to_f64(bad).is_err(), "{bad:?} should not parse");
        }
        assert_eq!(
            string_to_f64("Maybe").unwrap_err(),
            "strconv.ParseFloat: parsing \"Maybe\": invalid syntax"
        );
    }

    #[test]
    fn quantities_round_up_to_nano() {
        assert_eq!(parse_quantity("0.0000000001"), Some(1e-9));
        assert_eq!(parse_quantity("-0.0000000001"), Some(-1e-9));
        assert_eq!(parse_quantity("1.23456789012"), Some(1.234567891));
        assert_eq!(parse_quantity("100Mi"), Some(104_857_600.0));
        assert_eq!(parse_quantity("1.G"), Some(1e9));
        assert_eq!(parse_quantity("."), Some(0.0));
        assert_eq!(parse_quantity("1Q"), None);
        assert_eq!(parse_quantity("1e"), None);
    }

    #[test]
    fn rfc3339_is_strict() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Some(-1));
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        for bad in [
            "2023-02-29T00:00:00Z",
            "2024-01-02 03:04:05Z",
            "2024-01-02T03:04:05",
            "2024-01-02",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn non_scalars_are_errors() {
        assert_eq!(
            to_f64(&json!({"a": 1}), false),
            Err("expected number but was map[a:1]".into())
        );
        assert_eq!(to_f64(&Value::Null, true), Ok(0.0));
        assert!(to_f64(&Value::Null, false).is_err());
        assert_eq!(to_f64(&json!(true), false), Ok(1.0));
        assert_eq!(to_f64(&json!(7), false), Ok(7.0));
    }

    #[test]
    fn values_print_like_go_percent_v() {
        let cases = [
            (json!(1234567), "1234567"),
            (json!(1234567.5), "1.2345675e+06"),
            (json!(0.5), "0.5"),
            (json!(2.0), "2"),
            (json!(true), "true"),
            (json!("x y"), "x y"),
            (json!(["dev", "tap-install"]), "[dev tap-install]"),
            (json!([]), "[]"),
            (json!({"k2": 2, "k1": "v1"}), "map[k1:v1 k2:2]"),
            (json!({}), "map[]"),
            (json!([null, {"a": [1, 2.5]}]), "[<nil> map[a:[1 2.5]]]"),
        ];
        for (v, want) in cases {
            assert_eq!(go_fmt(&v), want, "{v}");
        }
    }
}

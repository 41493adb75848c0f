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
        Value::Number(n) => Ok(match go_number(n) {
            GoNumber::Int(i) => i as f64,
            GoNumber::Float(f) => f,
        }),
        Value::String(s) => string_to_f64(s),
        other => Err(format!("expected number but was {}", go_fmt(other))),
    }
}

/// A JSON number as the API server's decoder hands it to Go: `int64` when
/// the text parses as one, `float64` otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GoNumber {
    Int(i64),
    Float(f64),
}

/// serde_json keeps integers and floats apart as Go does, except for the
/// text `-0`, which it reads as the float -0.0. Go reads `-0` as the int64 0,
/// and a float -0 reaches KSM as `-0` too (Go's encoder writes it so), so
/// every -0.0 is taken for that integer.
pub fn go_number(n: &serde_json::Number) -> GoNumber {
    if let Some(i) = n.as_i64() {
        return GoNumber::Int(i);
    }
    // Integers beyond int64 (serde_json's u64) are float64 to Go.
    let f = n.as_f64().unwrap_or(f64::NAN);
    if f == 0.0 {
        GoNumber::Int(0)
    } else {
        GoNumber::Float(f)
    }
}

/// Strings are tried as a boolean word, an RFC 3339 time, a Kubernetes
/// quantity, a whole-number percentage and finally Go's `ParseFloat`, in KSM's order.
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
    // apimachinery's IsValidPercent: `^[0-9]+%$`; anything else falls through.
    if let Some(p) = s.strip_suffix('%')
        && !p.is_empty()
        && p.bytes().all(|b| b.is_ascii_digit())
    {
        return parse_go_float(p)
            .map(|v| v / 100.0)
            .ok_or_else(|| format!("strconv.ParseFloat: parsing {p:?}: value out of range"));
    }
    parse_go_float(s).ok_or_else(|| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))
}

/// Go's `strconv.ParseFloat(s, 64)`, `None` where it returns an error: its
/// syntax (decimal or `0x` hexadecimal mantissa with a `p` exponent, `_`
/// between digits, `inf`/`infinity` with an optional sign and `nan` without
/// one, in any case) and its range error on overflow.
pub fn parse_go_float(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if lower == "nan" && body.len() == s.len() {
        return Some(f64::NAN);
    }
    if s.contains('_') && !underscores_ok(s) {
        return None;
    }
    let body = body.replace('_', "");
    let b = body.as_bytes();
    let hex = b.len() > 2 && b[0] == b'0' && (b[1] | 0x20) == b'x';
    let digits = if hex { &body[2..] } else { &body[..] };
    let is_digit = |c: u8| c.is_ascii_digit() || (hex && c.is_ascii_hexdigit());
    let mant_end = digits
        .bytes()
        .position(|c| !(is_digit(c) || c == b'.'))
        .unwrap_or(digits.len());
    let (mant, rest) = digits.split_at(mant_end);
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if frac.contains('.') || (int.is_empty() && frac.is_empty()) {
        return None;
    }
    let exp_char = if hex { b'p' } else { b'e' };
    let exp: i64 = match rest.as_bytes().first() {
        None if hex => return None,
        None => 0,
        Some(c) if c | 0x20 == exp_char => {
            let e = &rest[1..];
            let unsigned = e.strip_prefix(['+', '-']).unwrap_or(e);
            if unsigned.is_empty() || !unsigned.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            // Go stops counting at 10,000; the result is the same.
            let mag = unsigned
                .bytes()
                .fold(0i64, |acc, c| (acc * 10 + i64::from(c - b'0')).min(100_000));
            if e.starts_with('-') { -mag } else { mag }
        }
        Some(_) => return None,
    };
    let v = if hex {
        hex_to_f64(int, frac, exp)?
    } else {
        let int = if int.is_empty() { "0" } else { int };
        let frac = if frac.is_empty() { "0" } else { frac };
        format!("{int}.{frac}e{exp}").parse::<f64>().ok()?
    };
    if v.is_infinite() {
        // Go's range error.
        return None;
    }
    Some(if neg { -v } else { v })
}

/// Go's rule for `_` in numbers: only between digits, or between a base prefix and a digit.
fn underscores_ok(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s).as_bytes();
    // 'd' digit or base prefix, '_' underscore, '^' start, '!' anything else.
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'd';
        hex = s[1] | 0x20 == b'x';
    }
    for &c in &s[i..] {
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'd';
        } else if c == b'_' {
            if saw != b'd' {
                return false;
            }
            saw = b'_';
        } else if saw == b'_' {
            return false;
        } else {
            saw = b'!';
        }
    }
    saw != b'_'
}

/// A hexadecimal mantissa times 2^`exp`, rounded to nearest even as Go's
/// `atofHex` does (keeping 16 hex digits and a sticky bit for the rest).
fn hex_to_f64(int: &str, frac: &str, exp: i64) -> Option<f64> {
    let mut mantissa: u64 = 0;
    let mut kept = 0i64;
    let mut trunc = false;
    // Binary exponent of the point, counted in hex digits until the end.
    let mut point = 0i64;
    let mut seen_nonzero = false;
    for (i, c) in int.bytes().chain(frac.bytes()).enumerate() {
        let d = u64::from((c as char).to_digit(16)?);
        let in_int = i < int.len();
        if d == 0 && !seen_nonzero {
            if !in_int {
                point -= 1;
            }
            continue;
        }
        seen_nonzero = true;
        if in_int {
            point += 1;
        }
        if kept < 16 {
            mantissa = mantissa * 16 + d;
            kept += 1;
        } else if d != 0 {
            trunc = true;
        }
    }
    if mantissa == 0 {
        return Some(0.0);
    }
    // value = mantissa * 2^(4*(point - kept) + exp); as Go: mantissa scaled by 2^52.
    let mut e = 4 * (point - kept) + exp + 52;
    while mantissa >> 54 == 0 {
        mantissa <<= 1;
        e -= 1;
    }
    if trunc {
        mantissa |= 1;
    }
    while mantissa >> 55 != 0 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        e += 1;
    }
    let min_exp = -1022;
    while mantissa > 1 && e < min_exp - 2 {
        mantissa = (mantissa >> 1) | (mantissa & 1);
        e += 1;
    }
    let mut round = mantissa & 3;
    mantissa >>= 2;
    round |= mantissa & 1;
    e += 2;
    if round == 3 {
        mantissa += 1;
        if mantissa == 1 << 53 {
            mantissa >>= 1;
            e += 1;
        }
    }
    if mantissa >> 52 == 0 {
        // Subnormal or zero.
        e = -1023;
    }
    if e > 1023 {
        return Some(f64::INFINITY);
    }
    let bits = (mantissa & ((1 << 52) - 1)) | (((e + 1023) as u64 & 0x7ff) << 52);
    Some(f64::from_bits(bits))
}

/// `time.Parse(time.RFC3339, s)` followed by `Unix()`: whole seconds, rounded down.
///
/// Go tries a strict RFC 3339 parser first and then its general layout
/// parser, which is laxer: the hour may be one digit, a fraction of a second
/// may follow with `.` or `,`, and a zone offset may be up to 24:60.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let lit = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(lit(4, b'-') && lit(7, b'-') && lit(10, b'T')) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    // stdHour: one or two digits.
    let mut i = 11;
    let hour_len = if b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        2
    } else {
        1
    };
    let hour = num(i..i + hour_len)?;
    i += hour_len;
    if !lit(i, b':') || !lit(i + 3, b':') {
        return None;
    }
    let (min, sec) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
    i += 6;
    if matches!(b.get(i), Some(b'.' | b',')) && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let offset = match b.get(i)? {
        b'Z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if b.len() == i + 6 && b[i + 3] == b':' => {
            let (h, m) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if h > 24 || m > 60 {
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

/// `resource.ParseQuantity(s)` then `AsApproximateFloat64()`, step by step
/// as apimachinery does them, since the float can differ from the exact value.
///
/// Parsing keeps an int64 mantissa and a decimal scale when it can (fast
/// path); otherwise an arbitrary-precision decimal, rounded up (away from
/// zero) to nano precision, binary suffixes capped at 2^63-1. The float is then
/// the mantissa rounded to float64 times Go's `math.Pow10(-scale)`.
/// Its odd corners are kept: `"."`, `"-"` and a bare suffix such as `"Ki"`
/// are zero, `"0e400"` is NaN (0 × +Inf), `"1e400"` is +Inf.
pub fn parse_quantity(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    if s == "0" {
        return Some(0.0);
    }
    let q = scan_quantity(s)?;
    let (binary, exponent) = quantity_suffix(q.suffix)?;
    let digits_len = |x: &str| i32::try_from(x.len()).unwrap_or(i32::MAX);
    let (precision, mut scale, mantissa) = if !binary {
        let len = digits_len(q.num).saturating_add(digits_len(q.denom));
        (18i32.saturating_sub(len), exponent, 1i64)
    } else if exponent >= 0 && q.denom.is_empty() {
        // Go: 15 - len(num) - int32(float32(exponent)*3/10) - 1.
        let p = 15 - digits_len(q.num).min(1000) - exponent * 3 / 10 - 1;
        (p, 0, 1i64 << exponent)
    } else {
        (-1, 0, 1)
    };
    if precision >= 0 {
        scale = scale.wrapping_sub(digits_len(q.denom));
        if scale >= -9 {
            let value: i64 = format!("{}{}", q.num, q.denom).parse().ok()?;
            if let Some(r) = value.checked_mul(mantissa) {
                let r = if q.positive { r } else { -r };
                return Some(times_pow10(r as f64, scale));
            }
        }
    }
    slow_quantity(q.value, binary, exponent)
}

struct QuantityParts<'a> {
    positive: bool,
    /// The number as written, sign included.
    value: &'a str,
    /// Integer digits without leading zeros ("0" when none).
    num: &'a str,
    denom: &'a str,
    suffix: &'a str,
}

/// apimachinery's `parseQuantityString`: a scanner, not a regular expression.
fn scan_quantity(s: &str) -> Option<QuantityParts<'_>> {
    let b = s.as_bytes();
    let end = b.len();
    let mut q = QuantityParts {
        positive: true,
        value: "0",
        num: "0",
        denom: "",
        suffix: "",
    };
    let mut pos = 0;
    match b[0] {
        b'-' => {
            q.positive = false;
            pos = 1;
        }
        b'+' => pos = 1,
        _ => {}
    }
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return Some(q);
    }
    let start = pos;
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos >= end {
        q.num = &s[start..];
        q.value = s;
        return Some(q);
    }
    if pos > start {
        q.num = &s[start..pos];
    }
    if b[pos] == b'.' {
        pos += 1;
        let start = pos;
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        q.denom = &s[start..pos];
        if pos >= end {
            q.value = s;
            return Some(q);
        }
    }
    q.value = &s[..pos];
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < end && matches!(b[pos], b'+' | b'-') {
        pos += 1;
    }
    if !b[pos.min(end)..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    q.suffix = &s[suffix_start..];
    Some(q)
}

/// The suffix as (binary, exponent): `Ki`…`Ei` are powers of two, the SI
/// letters and `e`/`E` with an exponent powers of ten. The exponent is read
/// as an int64 and kept as its low 32 bits, as Go's `int32(parsed)` does.
fn quantity_suffix(suffix: &str) -> Option<(bool, i32)> {
    let dec = match suffix {
        "n" => -9,
        "u" => -6,
        "m" => -3,
        "" => 0,
        "k" => 3,
        "M" => 6,
        "G" => 9,
        "T" => 12,
        "P" => 15,
        "E" => 18,
        "Ki" => return Some((true, 10)),
        "Mi" => return Some((true, 20)),
        "Gi" => return Some((true, 30)),
        "Ti" => return Some((true, 40)),
        "Pi" => return Some((true, 50)),
        "Ei" => return Some((true, 60)),
        _ if suffix.len() > 1 && suffix.starts_with(['e', 'E']) => {
            let e = &suffix[1..];
            let unsigned = e.strip_prefix(['+', '-']).unwrap_or(e);
            if unsigned.is_empty() || !unsigned.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            return Some((false, e.parse::<i64>().ok()? as i32));
        }
        _ => return None,
    };
    Some((false, dec))
}

/// The arbitrary-precision path of `ParseQuantity` (`inf.Dec`), then
/// `AsApproximateFloat64`. Magnitudes are decimal digits; a power of ten
/// too large to write out is kept as a count of zeros.
fn slow_quantity(value: &str, binary: bool, exponent: i32) -> Option<f64> {
    // inf.Dec's SetString: optional sign, digits with at most one point, at least one digit.
    let (negative, body) = match value.as_bytes().first() {
        Some(b'-') => (true, &value[1..]),
        Some(b'+') => (false, &value[1..]),
        _ => (false, value),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|c| c - b'0').collect();
    let mut scale = i32::try_from(frac.len()).unwrap_or(i32::MAX);
    if binary {
        // Times 2^exponent (at most 60), ten bits at a time.
        for _ in 0..exponent / 10 {
            mul_small(&mut digits, 1024);
        }
    } else {
        scale = scale.wrapping_add(exponent.wrapping_neg());
    }
    strip_zeros(&mut digits);
    if digits.is_empty() {
        // Zero keeps its scale: 0 × Pow10(-scale), NaN when that is +Inf.
        return Some(times_pow10(0.0, scale.wrapping_neg()));
    }
    // Round away from zero to scale 9: drop digits, or pad with zeros.
    let mut zeros: i64 = 0;
    let scale = i64::from(scale);
    if scale > 9 {
        let drop = scale - 9;
        if drop >= digits.len() as i64 {
            digits = vec![1];
        } else {
            let keep = digits.len() - drop as usize;
            let round_up = digits[keep..].iter().any(|&d| d != 0);
            digits.truncate(keep);
            if round_up {
                increment(&mut digits);
            }
        }
    } else {
        zeros = 9 - scale;
    }
    let sign = if negative { -1.0 } else { 1.0 };
    if binary && exceeds_int64_max_nanos(&digits, zeros) {
        // Capped at 2^63-1 with scale 0; as a float that is 2^63.
        return Some(sign * (i64::MAX as f64));
    }
    let text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    let base: f64 = format!("{text}e{zeros}").parse().ok()?;
    Some(times_pow10(sign * base, -9))
}

fn strip_zeros(digits: &mut Vec<u8>) {
    let lead = digits.iter().take_while(|&&d| d == 0).count();
    digits.drain(..lead);
}

fn mul_small(digits: &mut Vec<u8>, by: u32) {
    let mut carry = 0u32;
    for d in digits.iter_mut().rev() {
        let v = u32::from(*d) * by + carry;
        *d = (v % 10) as u8;
        carry = v / 10;
    }
    while carry > 0 {
        digits.insert(0, (carry % 10) as u8);
        carry /= 10;
    }
}

fn increment(digits: &mut Vec<u8>) {
    for d in digits.iter_mut().rev() {
        if *d == 9 {
            *d = 0;
        } else {
            *d += 1;
            return;
        }
    }
    digits.insert(0, 1);
}

/// Whether digits × 10^zeros nanos is above 2^63-1 units.
fn exceeds_int64_max_nanos(digits: &[u8], zeros: i64) -> bool {
    const MAX_NANOS: &[u8] = b"9223372036854775807000000000";
    let len = digits.len() as i64 + zeros;
    if len != MAX_NANOS.len() as i64 {
        return len > MAX_NANOS.len() as i64;
    }
    let padded = digits
        .iter()
        .map(|d| b'0' + d)
        .chain(std::iter::repeat(b'0'));
    for (a, &b) in padded.zip(MAX_NANOS) {
        if a != b {
            return a > b;
        }
    }
    false
}

/// `base * math.Pow10(exp)` as `AsApproximateFloat64` computes it.
fn times_pow10(base: f64, exp: i32) -> f64 {
    if exp == 0 { base } else { base * go_pow10(exp) }
}

/// Go's `math.Pow10`: a product (or quotient) of two table entries, so not
/// always the float nearest 10^n.
fn go_pow10(n: i32) -> f64 {
    const TAB: [f64; 32] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31,
    ];
    const POS32: [f64; 10] = [
        1e0, 1e32, 1e64, 1e96, 1e128, 1e160, 1e192, 1e224, 1e256, 1e288,
    ];
    const NEG32: [f64; 11] = [
        1e0, 1e-32, 1e-64, 1e-96, 1e-128, 1e-160, 1e-192, 1e-224, 1e-256, 1e-288, 1e-320,
    ];
    match n {
        0..=308 => POS32[n as usize / 32] * TAB[n as usize % 32],
        -323..=-1 => {
            let m = n.unsigned_abs() as usize;
            NEG32[m / 32] / TAB[m % 32]
        }
        _ if n > 0 => f64::INFINITY,
        _ => 0.0,
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
        Value::Number(n) => match go_number(n) {
            GoNumber::Int(i) => {
                let _ = write!(out, "{i}");
            }
            GoNumber::Float(f) => out.push_str(&go_float(f)),
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
            ("50%", 0.5),
            ("0x1p-2", 0.25),
            ("0X1.8P1", 3.0),
            ("1_000", 1000.0),
            ("0x_1p0", 1.0),
            // Hexadecimal rounding: ties to even, subnormals, a sticky bit past 16 digits.
            ("0x1.fffffffffffff8p0", 2.0),
            ("0x1p-1074", 5e-324),
            ("0x1.8p-1074", 1e-323),
            ("0x1p-1075", 0.0),
            ("0x0p0", 0.0),
            ("0x1.00000000000008000000001p0", 1.0000000000000002),
            ("0xffffffffffffffffffffp0", 1.2089258196146292e24),
            ("-Infinity", f64::NEG_INFINITY),
            ("1e400", f64::INFINITY),
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
        for bad in [
            "Maybe", "30s", "", " 1", "0x10", "n/a", "5%%", "12.5%", "-5%", "1__0", "_1", "1_",
            "+NaN", "-nan", "infin", "0x1p", "0x", "0x1p1024", "1e5_", "0xp1",
        ] {
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
        // AsApproximateFloat64 is one step off the exact 1.3256071780604314e17 here.
        assert_eq!(parse_quantity("123456789Gi"), Some(1.3256071780604315e17));
        // 3 × Pow10(-1), where Pow10(-1) is the float 0.1: KSM's value too.
        assert_eq!(parse_quantity("0.3"), Some(0.30000000000000004));
        assert_eq!(parse_quantity("8Ei"), Some(9.223372036854776e18));
        assert_eq!(parse_quantity("-16Ei"), Some(-9.223372036854776e18));
        assert_eq!(parse_quantity("1e4294967296"), Some(1.0));
        assert!(parse_quantity("0e400").unwrap().is_nan());
        assert_eq!(parse_quantity("1e-400"), Some(1e-9));
        assert_eq!(parse_quantity("-"), Some(0.0));
        assert_eq!(parse_quantity("e5"), Some(0.0));
        assert_eq!(parse_quantity(".e-10"), None);
        assert_eq!(parse_quantity("0.e-10"), Some(0.0));
        assert_eq!(parse_quantity("1e"), None);
    }

    #[test]
    fn rfc3339_is_strict() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Some(-1));
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        // Go's general layout parser, tried after the strict one, is laxer.
        assert_eq!(parse_rfc3339("1970-01-01T1:00:00Z"), Some(3600));
        assert_eq!(parse_rfc3339("1970-01-02T00:00:00,5+24:00"), Some(0));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00-00:60"), Some(3600));
        for bad in [
            "2023-02-29T00:00:00Z",
            "2024-01-02 03:04:05Z",
            "2024-01-02T03:04:05",
            "2024-01-02",
            "2024-01-02T03:04:05.Z",
            "2024-01-02T03:04:05+25:00",
            "2024-01-02T24:00:00Z",
            "2024-01-02T03:04:60Z",
            "2024-01-02T03:4:05Z",
            "2024-01-02T03:04:05z",
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
        let neg_zero = to_f64(&serde_json::from_str("-0").unwrap(), false).unwrap();
        assert!(neg_zero == 0.0 && neg_zero.is_sign_positive());
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
            // Go's decoder reads `-0` as the int64 0; beyond int64 is float64.
            (serde_json::from_str("-0").unwrap(), "0"),
            (
                serde_json::from_str(r#"{"generation": -0, "l": [-0, 1.0, 1e2]}"#).unwrap(),
                "map[generation:0 l:[0 1 100]]",
            ),
            (
                serde_json::from_str("9223372036854775808").unwrap(),
                "9.223372036854776e+18",
            ),
            (
                serde_json::from_str("-9223372036854775808").unwrap(),
                "-9223372036854775808",
            ),
            (
                serde_json::from_str("123456789.0").unwrap(),
                "1.23456789e+08",
            ),
        ];
        for (v, want) in cases {
            assert_eq!(go_fmt(&v), want, "{v}");
        }
    }
}

//! Go's `strconv.ParseFloat`, the last thing KSM tries on a string value.

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

//! Kubernetes quantities (`250m`, `1.5Gi`) as apimachinery parses them and
//! turns them into a float.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}

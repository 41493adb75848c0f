//! Go's float formatting, as KSM writes sample values and `%v` prints floats.

/// How a sample value is written, as KSM writes it: Go's shortest `%g`, with
/// `NaN`, `+Inf` and `-Inf`.
pub fn format_value(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    // Most values are small integers (conditions, states, counts): no float formatting.
    if v.fract() == 0.0 && v.abs() < 1e6 {
        return (v as i64).to_string();
    }
    go_float(v)
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`, which is also what `%v` prints
/// for a float: shortest round-trip digits, exponent form below 1e-4 and from
/// 1e6 on (Go decides with precision 6 when formatting shortest).
pub fn go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` gives the same shortest round-trip digits as Go.
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if v < 0.0 {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (-1.0, "-1"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.00001, "1e-05"),
            (0.0001, "0.0001"),
            (1_704_164_645.0, "1.704164645e+09"),
            (5_368_709_120.0, "5.36870912e+09"),
            (0.125, "0.125"),
            (100000.0, "100000"),
            (1e21, "1e+21"),
            (1.5e-300, "1.5e-300"),
            (-2.5e7, "-2.5e+07"),
        ];
        for (v, want) in cases {
            assert_eq!(go_float(*v), *want, "{v}");
        }
        assert_eq!(format_value(-0.0), "0");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
    }
}

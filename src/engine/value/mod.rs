//! Turning JSON values into sample values and label strings the way KSM's Go
//! code does (`toFloat64` and `fmt.Sprintf("%v", …)`).
//!
//! Objects reach KSM as the API server's JSON: integers are Go `int64`, other
//! numbers `float64`; serde_json's `Number` keeps the same distinction.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Value;

mod parse_float;
mod quantity;

use parse_float::parse_go_float;
use quantity::parse_quantity;

use crate::shared::float::go_float;
use crate::shared::time::parse_rfc3339;

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

//! Durations as kubectl and Go spell them: `1h2m3.5s`, `500ms`, `250us`, `10ns`.

use std::time::Duration;

/// Parses a Go duration (units `ns`, `us`/`µs`, `ms`, `s`, `m`, `h`, summed;
/// no sign). With `bare_seconds`, a plain whole number is seconds, as
/// kubectl's `--request-timeout` reads it. `example` ends the error message.
pub fn parse(s: &str, bare_seconds: bool, example: &str) -> Result<Duration, String> {
    let s = s.trim();
    let bad = || format!("{s:?} is not a duration (e.g. {example})");
    if s.is_empty() {
        return Err(bad());
    }
    if bare_seconds && let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let value: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    // A billion seconds is 31 years: anything longer is a typo, not a timeout.
    if !total.is_finite() || total > 1e9 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let p = |s| parse(s, false, "10s");
        assert_eq!(p("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(p("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(p("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(p("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(p("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(p("0s"), Ok(Duration::ZERO));
        for bad in [
            "",
            "10",
            "s",
            "10x",
            "1..2s",
            "-1s",
            "1e3s",
            "1s2",
            "99999999999h",
        ] {
            assert!(p(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            p("soon").unwrap_err(),
            "\"soon\" is not a duration (e.g. 10s)"
        );
    }

    #[test]
    fn bare_numbers_are_seconds_only_where_allowed() {
        assert_eq!(parse("5", true, ""), Ok(Duration::from_secs(5)));
        assert_eq!(parse("0", true, ""), Ok(Duration::ZERO));
        assert!(parse("5", false, "").is_err());
    }
}

//! Times as Go's `time.Parse(time.RFC3339, …)` reads them: what KSM turns a
//! timestamp string into, and what the table's AGE column reads.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}

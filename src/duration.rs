//! Durations as people write them: `500ms`, `30s`, `2m`, `1h30m` (humantime), or a bare number of
//! seconds (`30`, `0.5`), the way `timeout(1)` and wait-for-it take them.

use std::time::Duration;

/// The longest duration accepted anywhere (365 days). Longer ones are refused rather than
/// saturated: nobody means "wait 500 billion years", and a deadline must stay addable to the clock
/// (`--timeout 0` is how to wait forever).
pub const MAX: Duration = Duration::from_secs(365 * 24 * 3600);

/// Parses a duration; the error quotes the input and shows accepted forms.
pub fn parse(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    let bad = || {
        format!("'{input}' is not a duration (examples: 30s, 500ms, 2m, 1h30m, or 30 for seconds)")
    };
    if s.is_empty() {
        return Err(bad());
    }
    if s.starts_with('-') {
        return Err(format!(
            "'{input}' is negative: a duration must be 0 or more (example: 30s)"
        ));
    }
    let too_long = || {
        format!(
            "'{input}' is longer than the longest duration accepted (365 days; for no deadline use --timeout 0)"
        )
    };
    let d = if s.chars().all(|c| c.is_ascii_digit() || c == '.') {
        let secs: f64 = s.parse().map_err(|_| bad())?;
        Duration::try_from_secs_f64(secs).map_err(|_| too_long())?
    } else {
        humantime::parse_duration(s).map_err(|e| match e {
            humantime::DurationError::NumberOverflow => too_long(),
            _ => bad(),
        })?
    };
    if d > MAX {
        return Err(too_long());
    }
    Ok(d)
}

/// Renders a duration short and exact enough for a log line: `250ms`, `1.5s`, `2m30s`.
pub fn show(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 && !d.is_zero() {
        // Sub-millisecond values are legal input (`100ns`); never show them as 0ms.
        return match d.as_micros() {
            0 => format!("{}ns", d.as_nanos()),
            us => format!("{us}µs"),
        };
    }
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        let s = format!("{:.2}", d.as_secs_f64());
        format!("{}s", s.trim_end_matches('0').trim_end_matches('.'))
    } else if ms < 3_600_000 {
        let secs = d.as_secs();
        match (secs / 60, secs % 60) {
            (m, 0) => format!("{m}m"),
            (m, s) => format!("{m}m{s}s"),
        }
    } else {
        let mins = d.as_secs() / 60;
        match (mins / 60, mins % 60) {
            (h, 0) => format!("{h}h"),
            (h, m) => format!("{h}h{m}m"),
        }
    }
}

/// A UTC calendar time as Unix seconds (the proleptic Gregorian calendar; days from the civil
/// date after H. Hinnant's algorithm). The caller checks the fields' ranges. Certificates' validity
/// and the container engine's times both need it.
pub fn utc_seconds(year: i64, month: i64, day: i64, hour: i64, minute: i64, second: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hour * 3600 + minute * 60 + second
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let ok = [
            ("30", 30_000),
            ("0", 0),
            ("0.5", 500),
            ("500ms", 500),
            ("2m", 120_000),
            ("1h30m", 5_400_000),
            (" 10s ", 10_000),
        ];
        for (input, ms) in ok {
            assert_eq!(parse(input), Ok(Duration::from_millis(ms)), "{input:?}");
        }
        for huge in ["10000000000000000000", "500000000000y", "366d", "31536001"] {
            let e = parse(huge).unwrap_err();
            assert!(e.contains("longest duration"), "{huge}: {e}");
        }
        assert_eq!(parse("365d"), Ok(MAX));
        for bad in ["10x", "", "-5", "-1s", "abc", "1..2", "s"] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(&format!("'{bad}'")), "{e}");
            assert!(e.contains("example"), "{e}");
        }
    }

    #[test]
    fn show_table() {
        for (ms, want) in [
            (0, "0ms"),
            (250, "250ms"),
            (1000, "1s"),
            (1500, "1.5s"),
            (1234, "1.23s"),
            (60_000, "1m"),
            (150_000, "2m30s"),
            (3_600_000, "1h"),
            (5_400_000, "1h30m"),
        ] {
            assert_eq!(show(Duration::from_millis(ms)), want);
        }
        assert_eq!(show(Duration::from_nanos(100)), "100ns");
        assert_eq!(show(Duration::from_micros(250)), "250µs");
    }
}

//! Times as responders type them: RFC 3339, a bare date, or an age relative to now.

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};

/// Why a duration was refused: text that is no duration, or one too long to be a time.
#[derive(Debug)]
enum Duration {
    Unreadable(String),
    OutOfRange(String),
}

/// A duration like `90m`, `24h`, `7d`, in milliseconds.
pub fn duration_ms(text: &str) -> anyhow::Result<i64> {
    duration(text).map_err(|(Duration::Unreadable(m) | Duration::OutOfRange(m))| anyhow::anyhow!(m))
}

fn duration(text: &str) -> Result<i64, Duration> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.trim_end_matches(|c: char| c.is_ascii_alphabetic()).len());
    let n: i64 = num.parse().map_err(|_| {
        Duration::Unreadable(format!(
            "cannot read duration '{text}' (help: 90m, 24h, 7d)"
        ))
    })?;
    let per_unit: i64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(Duration::Unreadable(format!(
                "unknown unit in '{text}' (help: s, m, h, d or w)"
            )));
        }
    };
    // Checked: a wrapped product would silently turn "long ago" into the future.
    n.checked_mul(per_unit)
        .and_then(|secs| secs.checked_mul(1000))
        .filter(|ms| ms.abs() <= MAX_SPAN_MS)
        .ok_or_else(|| {
            Duration::OutOfRange(format!(
                "duration '{text}' is out of range (at most 100,000 years)"
            ))
        })
}

/// The longest span a duration may have: far past any log, far inside `i64` milliseconds and
/// chrono's range, so arithmetic on event times cannot overflow.
const MAX_SPAN_MS: i64 = 100_000 * 366 * 86_400 * 1000;

/// Milliseconds since the epoch for `--since`/`--until`.
pub fn parse(text: &str, now: DateTime<Utc>) -> anyhow::Result<i64> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.timestamp_millis());
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        let dt = d.and_hms_opt(0, 0, 0).context("midnight")?.and_utc();
        return Ok(dt.timestamp_millis());
    }
    let age = match duration(t) {
        Ok(age) => age,
        // An age with a known unit that is too large says so, rather than "cannot read".
        Err(Duration::OutOfRange(m)) => bail!(m),
        Err(Duration::Unreadable(_)) => bail!(
            "cannot read time '{text}' (help: use RFC 3339 like 2026-10-01T12:00:00Z, a date like 2026-10-01, or an age like 90m, 24h, 7d)"
        ),
    };
    Ok(now.timestamp_millis() - age)
}

#[cfg(test)]
mod overflow {
    use super::*;

    #[test]
    fn huge_ages_are_an_error_not_a_wrapped_time() {
        let now = Utc::now();
        let err = parse("9999999999999d", now).unwrap_err().to_string();
        assert!(err.contains("out of range"), "{err}");
        assert!(duration_ms("9223372036854775807s").is_err());
        assert!(parse("36500d", now).unwrap() < now.timestamp_millis());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_responders_type() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let day = parse("2026-11-28", now).unwrap();
        assert_eq!(parse("12h", now).unwrap(), day);
        assert_eq!(parse("2026-11-28T00:00:00+00:00", now).unwrap(), day);
        assert!(parse("yesterday", now).is_err());
        assert!(parse("3x", now).is_err());
    }
}

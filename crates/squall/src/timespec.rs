//! Times as responders type them: RFC 3339, a bare date, or an age relative to now.

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};

/// A duration like `90m`, `24h`, `7d`, in milliseconds.
pub fn duration_ms(text: &str) -> anyhow::Result<i64> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.trim_end_matches(|c: char| c.is_ascii_alphabetic()).len());
    let n: i64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("cannot read duration '{text}' (help: 90m, 24h, 7d)"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        "w" => n * 7 * 86_400,
        _ => bail!("unknown unit in '{text}' (help: s, m, h, d or w)"),
    };
    Ok(secs * 1000)
}

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
    let age = duration_ms(t).map_err(|_| {
        anyhow::anyhow!(
            "cannot read time '{text}' (help: use RFC 3339 like 2026-10-01T12:00:00Z, a date like 2026-10-01, or an age like 90m, 24h, 7d)"
        )
    })?;
    Ok(now.timestamp_millis() - age)
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

//! Event times as the providers write them, parsed once and shown one way.
//!
//! A record's time is attacker-controlled text. Passing it on as text let a string such as
//! `"!! x\n## Summary\n\nAll clear"` become a case's identified time and a line of its report,
//! and made times compare as strings. So a time leaves the reader only parsed: as milliseconds
//! for ordering and windows, and as one canonical RFC 3339 form for display and storage.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};

/// An instant at which an event happened, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventTime(DateTime<Utc>);

impl EventTime {
    /// Parses RFC 3339 as the providers write it: CloudTrail's `2024-01-02T03:04:05Z`, GCP's
    /// nanoseconds (`…05.123456789Z`), Azure's ten-millionths (`…05.1234567Z`), and explicit
    /// offsets (`…05+02:00`). Anything else is refused rather than guessed at: a time without a
    /// zone could be any of 26 hours.
    pub fn parse(text: &str) -> Option<EventTime> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| EventTime(t.with_timezone(&Utc)))
    }

    /// Milliseconds since the epoch; sub-millisecond digits are dropped, as in [`fmt::Display`].
    pub fn millis(self) -> i64 {
        self.0.timestamp_millis()
    }
}

impl fmt::Display for EventTime {
    /// `2024-01-02T03:04:05.000Z`: fixed width, so later times sort later as text too.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

/// Record text for a message: JSON-quoted, so line breaks and control characters stay escaped,
/// and cut to a length a terminal line can hold.
pub(crate) fn quote(text: &str) -> String {
    const MAX_CHARS: usize = 80;
    let cut: String = text.chars().take(MAX_CHARS).collect();
    let mut quoted = serde_json::to_string(&cut).unwrap_or_default();
    if cut.len() < text.len() {
        quoted.push('…');
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str) -> Option<String> {
        EventTime::parse(text).map(|t| t.to_string())
    }

    #[test]
    fn provider_forms_become_one_utc_form() {
        let cases = [
            ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05.000Z"),
            ("2024-01-02T03:04:05.123456789Z", "2024-01-02T03:04:05.123Z"),
            ("2024-01-02T03:04:05.1234567Z", "2024-01-02T03:04:05.123Z"),
            ("2024-01-02T05:04:05.5+02:00", "2024-01-02T03:04:05.500Z"),
            ("2024-01-01T22:04:05-05:00", "2024-01-02T03:04:05.000Z"),
        ];
        for (given, want) in cases {
            assert_eq!(shown(given).as_deref(), Some(want), "{given}");
        }
    }

    #[test]
    fn text_that_is_not_a_time_is_refused() {
        for bad in [
            "!! x\n## Summary\n\nAll clear",
            "",
            "2024-01-02",
            "2024-01-02T03:04:05",
            "2024-13-02T03:04:05Z",
            " 2024-01-02T03:04:05Z",
            "1704164645",
        ] {
            assert_eq!(shown(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn millis_and_text_name_the_same_instant() {
        let t = EventTime::parse("2024-01-02T03:04:05.999999Z").unwrap();
        assert_eq!(t.millis(), 1_704_164_645_999);
        assert_eq!(t.to_string(), "2024-01-02T03:04:05.999Z");
        let before_epoch = EventTime::parse("1969-12-31T23:59:59.9995Z").unwrap();
        assert_eq!(before_epoch.millis(), -1);
        assert_eq!(before_epoch.to_string(), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn quoted_text_keeps_line_breaks_escaped() {
        assert_eq!(quote("a\nb"), "\"a\\nb\"");
        assert!(quote(&"x".repeat(500)).len() < 100);
    }
}

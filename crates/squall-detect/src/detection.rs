//! What a hunt reports: one detection per rule match, carrying what the analyst needs to judge it
//! and the exact place of the original record.

use serde::Serialize;
use squall_logs::{LogSource, Summary};

/// Where the record behind a detection is, so it can be opened and quoted as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// The file as given (or found under a directory given) on the command line; `-` is stdin.
    pub file: String,
    /// 0-based position of the record among the file's records.
    pub record_index: u64,
    /// 1-based line, when the file is JSON Lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Byte offset of the record in the decompressed file.
    pub byte_offset: u64,
    /// The provider's own id: CloudTrail `eventID`, GCP `insertId`, Azure record id.
    pub event_id: Option<String>,
}

/// For correlation rules: what was counted, over which group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorrelationFacts {
    #[serde(rename = "type")]
    pub kind: String,
    /// Group-by field → value.
    pub group: Vec<(String, String)>,
    /// The count (or distinct-value count) that crossed the threshold.
    pub value: f64,
    pub timespan_secs: u64,
}

/// Sigma levels, ordered so `--min-level` can compare them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    pub(crate) fn from_sigma(level: Option<&rsigma_parser::Level>) -> Level {
        use rsigma_parser::Level as L;
        match level {
            Some(L::Critical) => Level::Critical,
            Some(L::High) => Level::High,
            Some(L::Medium) => Level::Medium,
            Some(L::Low) => Level::Low,
            Some(L::Informational) | None => Level::Informational,
        }
    }

    /// Every level, lowest first.
    pub const ALL: [Level; 5] = [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.to_ascii_lowercase();
        Level::ALL
            .into_iter()
            .find(|l| l.name() == s || (s == "info" && *l == Level::Informational))
            .ok_or_else(|| {
                format!(
                    "unknown level '{s}' (expected informational, low, medium, high or critical)"
                )
            })
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One rule match. The serialized form is the stable JSON/JSONL output documented in the README.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    pub rule_id: String,
    pub rule_title: String,
    pub level: Level,
    pub tags: Vec<String>,
    /// Where the rule came from: `builtin:...` or the rule file's path.
    pub rule_source: String,
    /// The event's own time (RFC 3339 as the provider wrote it).
    pub event_time: Option<String>,
    /// Milliseconds since the epoch, for sorting and filtering.
    #[serde(skip)]
    pub event_millis: Option<i64>,
    pub log_source: LogSource,
    #[serde(flatten)]
    pub summary: Summary,
    pub evidence: Evidence,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation: Option<CorrelationFacts>,
}

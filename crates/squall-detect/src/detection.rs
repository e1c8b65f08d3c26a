//! What a hunt reports: one detection per rule match, carrying what the analyst needs to judge it
//! and the exact place of the original record.

use std::sync::Arc;

use serde::Serialize;
use squall_logs::{LogSource, Summary};

/// Where the record behind a detection is, so it can be opened and quoted as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The file as given (or found under a directory given) on the command line; `-` is stdin.
    pub file: Arc<str>,
    /// 0-based position of the record among the file's records.
    pub record_index: u64,
    /// 1-based line, when the file is JSON Lines.
    pub line: Option<u64>,
    /// Byte offset of the record in the decompressed file.
    pub byte_offset: u64,
}

/// What is known of a rule, shared by all its detections (a noisy rule can match millions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMeta {
    pub id: String,
    pub title: String,
    pub level: Level,
    pub tags: Vec<String>,
    /// Where the rule came from: `builtin:...` or the rule file's path.
    pub source: String,
    pub log_source: LogSource,
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

/// One rule match. Serialized flat: the stable JSON/JSONL output documented in the README.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub rule: Arc<RuleMeta>,
    /// What the record says, shared by every detection of the same record.
    pub summary: Arc<Summary>,
    /// Event time in milliseconds since the epoch, for sorting and filtering.
    pub event_millis: Option<i64>,
    pub evidence: Evidence,
    pub correlation: Option<CorrelationFacts>,
}

impl Serialize for Detection {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct EvidenceOut<'a>(&'a Evidence, &'a Option<String>);
        impl Serialize for EvidenceOut<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("file", &*self.0.file)?;
                m.serialize_entry("record_index", &self.0.record_index)?;
                if let Some(line) = self.0.line {
                    m.serialize_entry("line", &line)?;
                }
                m.serialize_entry("byte_offset", &self.0.byte_offset)?;
                m.serialize_entry("event_id", self.1)?;
                m.end()
            }
        }
        let (r, sm) = (&*self.rule, &*self.summary);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("rule_id", &r.id)?;
        m.serialize_entry("rule_title", &r.title)?;
        m.serialize_entry("level", &r.level)?;
        m.serialize_entry("tags", &r.tags)?;
        m.serialize_entry("rule_source", &r.source)?;
        m.serialize_entry("event_time", &sm.time)?;
        m.serialize_entry("log_source", &r.log_source)?;
        m.serialize_entry("principal", &sm.principal)?;
        m.serialize_entry("source_ip", &sm.source_ip)?;
        m.serialize_entry("action", &sm.action)?;
        m.serialize_entry("resource", &sm.resource)?;
        m.serialize_entry("account", &sm.account)?;
        m.serialize_entry("region", &sm.region)?;
        m.serialize_entry("evidence", &EvidenceOut(&self.evidence, &sm.event_id))?;
        if let Some(c) = &self.correlation {
            m.serialize_entry("correlation", c)?;
        }
        m.end()
    }
}

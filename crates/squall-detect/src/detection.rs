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
    /// Lowercase hex SHA-256 of the record's raw bytes as read from the file (decompressed,
    /// exactly the record's span): the same record found twice, in two files or two hunts, has
    /// the same digest, so detections can be deduplicated and a quoted record checked against
    /// its source.
    pub record_sha256: String,
}

impl Evidence {
    /// The digest [`Evidence::record_sha256`] holds, of a record's raw bytes.
    pub fn digest(raw: &[u8]) -> String {
        use sha2::{Digest, Sha256};
        format!("{:x}", Sha256::digest(raw))
    }
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
    /// The rule's part of every detection's JSON, serialized once.
    json_head: String,
}

impl RuleMeta {
    pub fn new(
        id: String,
        title: String,
        level: Level,
        tags: Vec<String>,
        source: String,
        log_source: LogSource,
    ) -> RuleMeta {
        let json_head = format!(
            "{{\"rule_id\":{},\"rule_title\":{},\"level\":{},\"tags\":{},\"rule_source\":{}",
            json(&id),
            json(&title),
            json(&level),
            json(&tags),
            json(&source)
        );
        RuleMeta {
            id,
            title,
            level,
            tags,
            source,
            log_source,
            json_head,
        }
    }
}

/// JSON text of plain data (strings, numbers, lists), which cannot fail to serialize.
fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serializes")
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

pub use squall_core::Level;

/// A rule's level as Squall ranks it; a rule without one is informational.
pub(crate) fn level_from_sigma(level: Option<&rsigma_parser::Level>) -> Level {
    use rsigma_parser::Level as L;
    match level {
        Some(L::Critical) => Level::Critical,
        Some(L::High) => Level::High,
        Some(L::Medium) => Level::Medium,
        Some(L::Low) => Level::Low,
        Some(L::Informational) | None => Level::Informational,
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

impl Detection {
    /// Appends the detection as one JSON Lines row: the same bytes as its `Serialize` output
    /// (a test holds them equal), with the rule's part written once per rule instead of once
    /// per detection. JSON Lines output is most of what a noisy hunt spends on output.
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        fn put<T: Serialize + ?Sized>(out: &mut Vec<u8>, key: &str, value: &T) {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":");
            serde_json::to_writer(&mut *out, value).expect("writing to a Vec cannot fail");
        }
        let (r, sm, ev) = (&*self.rule, &*self.summary, &self.evidence);
        out.extend_from_slice(r.json_head.as_bytes());
        put(out, "event_time", &sm.time);
        put(out, "log_source", &r.log_source);
        put(out, "principal", &sm.principal);
        put(out, "source_ip", &sm.source_ip);
        put(out, "action", &sm.action);
        put(out, "resource", &sm.resource);
        put(out, "account", &sm.account);
        put(out, "region", &sm.region);
        put(out, "access_key", &sm.key);
        out.extend_from_slice(b",\"evidence\":{\"file\":");
        serde_json::to_writer(&mut *out, &*ev.file).expect("writing to a Vec cannot fail");
        put(out, "record_index", &ev.record_index);
        if let Some(line) = ev.line {
            put(out, "line", &line);
        }
        put(out, "byte_offset", &ev.byte_offset);
        put(out, "event_id", &sm.event_id);
        put(out, "record_sha256", &ev.record_sha256);
        out.push(b'}');
        if let Some(c) = &self.correlation {
            put(out, "correlation", c);
        }
        out.extend_from_slice(b"}\n");
    }
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
                m.serialize_entry("record_sha256", &self.0.record_sha256)?;
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
        m.serialize_entry("access_key", &sm.key)?;
        m.serialize_entry("evidence", &EvidenceOut(&self.evidence, &sm.event_id))?;
        if let Some(c) = &self.correlation {
            m.serialize_entry("correlation", c)?;
        }
        m.end()
    }
}

impl Detection {
    /// The detection as one CSV row, in [`CSV_HEADER`]'s order; nested values (tags, the
    /// correlation's group) are joined so one row is one match. Cells are raw text: the writer
    /// neutralizes them (formulas, control characters) on the way out.
    pub fn csv_record(&self) -> Vec<String> {
        let d = self;
        let s = &d.summary;
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        let (ctype, cgroup, cvalue) = match &d.correlation {
            Some(c) => (
                c.kind.clone(),
                c.group
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(";"),
                c.value.to_string(),
            ),
            None => Default::default(),
        };
        vec![
            o(&s.time),
            d.rule.level.name().into(),
            d.rule.id.clone(),
            d.rule.title.clone(),
            d.rule.log_source.name().into(),
            o(&s.principal),
            o(&s.source_ip),
            o(&s.action),
            o(&s.resource),
            o(&s.account),
            o(&s.region),
            o(&s.event_id),
            d.evidence.file.to_string(),
            d.evidence.record_index.to_string(),
            d.evidence.line.map(|l| l.to_string()).unwrap_or_default(),
            d.evidence.byte_offset.to_string(),
            ctype,
            cgroup,
            cvalue,
            d.rule.tags.join(";"),
            d.rule.source.clone(),
            o(&s.key),
        ]
    }
}

/// The CSV columns of `squall hunt --format csv`: the stable interface the README documents.
pub const CSV_HEADER: [&str; 22] = [
    "event_time",
    "level",
    "rule_id",
    "rule_title",
    "log_source",
    "principal",
    "source_ip",
    "action",
    "resource",
    "account",
    "region",
    "event_id",
    "file",
    "record_index",
    "line",
    "byte_offset",
    "correlation_type",
    "correlation_group",
    "correlation_value",
    "tags",
    "rule_source",
    "access_key",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_have_one_cell_per_header_column() {
        let d = Detection {
            rule: std::sync::Arc::new(crate::RuleMeta::new(
                "r".into(),
                "t".into(),
                crate::Level::High,
                vec!["a".into(), "b".into()],
                "builtin:x".into(),
                squall_logs::LogSource::CloudTrail,
            )),
            summary: Default::default(),
            event_millis: None,
            evidence: crate::Evidence {
                file: "f".into(),
                record_index: 3,
                line: None,
                byte_offset: 9,
                record_sha256: String::new(),
            },
            correlation: None,
        };
        let row = d.csv_record();
        assert_eq!(row.len(), CSV_HEADER.len());
        assert_eq!(row[13], "3");
        assert_eq!(row[19], "a;b");
    }

    fn detection(line: Option<u64>, correlation: Option<CorrelationFacts>) -> Detection {
        Detection {
            rule: Arc::new(RuleMeta::new(
                "id-1".into(),
                "A \"quoted\" title".into(),
                Level::High,
                vec!["attack.t1078".into()],
                "builtin:aws/x.yml".into(),
                LogSource::CloudTrail,
            )),
            summary: Arc::new(Summary {
                time: Some("2026-01-01T00:00:00Z".into()),
                principal: Some("arn:aws:iam::1:user/\u{e9}ve\\x".into()),
                source_ip: None,
                action: Some("iam:CreateAccessKey".into()),
                resource: None,
                account: Some("1".into()),
                region: Some("eu-west-1".into()),
                event_id: Some("e-1".into()),
                key: Some("AKIAEXAMPLE".into()),
            }),
            event_millis: Some(0),
            evidence: Evidence {
                file: "logs/a \"b\".json".into(),
                record_index: 7,
                line,
                byte_offset: 1234,
                record_sha256: Evidence::digest(b"{}"),
            },
            correlation,
        }
    }

    #[test]
    fn the_fast_json_line_is_the_serialized_detection() {
        let facts = CorrelationFacts {
            kind: "value_count".into(),
            group: vec![("userIdentity.accessKeyId".into(), "AKIA".into())],
            value: 2.0,
            timespan_secs: 3600,
        };
        for d in [detection(None, None), detection(Some(8), Some(facts))] {
            let mut fast = Vec::new();
            d.write_json_line(&mut fast);
            let expected = format!("{}\n", serde_json::to_string(&d).unwrap());
            assert_eq!(String::from_utf8(fast).unwrap(), expected);
        }
    }

    #[test]
    fn the_record_digest_is_lowercase_hex_sha256_in_the_evidence() {
        // `printf '{}' | sha256sum`
        let known = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
        assert_eq!(Evidence::digest(b"{}"), known);
        let json: serde_json::Value =
            serde_json::to_value(detection(None, None)).expect("serializes");
        assert_eq!(json["evidence"]["record_sha256"], known);
    }
}

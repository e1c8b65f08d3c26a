//! Findings: what any source of suspicion reports, in one typed shape. A Sigma rule or a
//! correlation over audit logs is one origin; indicator feeds, providers' own alerts,
//! notification mail, artifacts inside a disk image and query results are the others. Triage,
//! the timeline, scope and the report read findings through this type, never by key name.
//!
//! A finding from the logs keeps the JSON shape `squall hunt` prints (the stable interface the
//! README documents, and what the case ledger records): [`Finding::from_detection`] reads it
//! and [`Finding::to_detection`] writes it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::asset::Provider;
use crate::level::Level;

/// What raised a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// A Sigma rule matched one record.
    Sigma { rule_id: String, source: String },
    /// A Sigma correlation crossed its threshold over a group of records.
    Correlation {
        rule_id: String,
        source: String,
        #[serde(rename = "type")]
        kind: String,
        /// Group-by field → value.
        group: Vec<(String, String)>,
        value: f64,
        timespan_secs: u64,
    },
    /// An indicator from a feed matched a value in the logs.
    Indicator { feed: String, indicator: String },
    /// The provider's own alert (GuardDuty, Security Command Center, Defender).
    ProviderAlert { provider: Provider, product: String },
    /// A provider's notification mail (an abuse report, a leaked-key notice).
    Mail { sender: String },
    /// Something found inside an acquired disk image.
    HostArtifact { image: String },
    /// A row of a query a responder ran.
    Query { query: String },
}

/// Where the evidence behind a finding is, so it can be opened, quoted and checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Location {
    /// A record in a log file: its position and the SHA-256 of its bytes.
    LogRecord {
        file: String,
        /// 0-based position among the file's records.
        record_index: u64,
        /// 1-based line, for JSON Lines.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<u64>,
        /// Offset in the decompressed file.
        byte_offset: u64,
        /// Empty when the record was not hashed.
        record_sha256: String,
    },
    /// A finding in the provider's own service.
    ProviderFinding { provider: Provider, id: String },
    /// A mail, by its Message-ID.
    Mail { message_id: String },
    /// A file in a disk image.
    DiskImage {
        image: String,
        path: String,
        inode: u64,
    },
    /// A row of a query's result.
    QueryRow { query_id: String, row: u64 },
}

/// What the evidence says, normalized across providers: who, from where, did what to what.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fields {
    /// The event's time, as recorded (normalized to UTC by the reader).
    pub time: Option<String>,
    /// Which log: `cloudtrail`, `gcp_audit`, `azure_activity`, ...
    pub log_source: Option<String>,
    pub principal: Option<String>,
    pub source_ip: Option<String>,
    pub action: Option<String>,
    pub resource: Option<String>,
    /// Account, project or subscription.
    pub account: Option<String>,
    pub region: Option<String>,
    pub access_key: Option<String>,
    /// The provider's id of the event.
    pub event_id: Option<String>,
}

/// One finding, whatever raised it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub origin: Origin,
    pub title: String,
    pub level: Level,
    pub tags: Vec<String>,
    pub fields: Fields,
    pub location: Location,
}

/// The JSON `squall hunt` prints for a detection (see the README's field list).
#[derive(Serialize, Deserialize)]
struct DetectionJson {
    rule_id: String,
    rule_title: String,
    level: Level,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    rule_source: String,
    event_time: Option<String>,
    log_source: Option<String>,
    principal: Option<String>,
    source_ip: Option<String>,
    action: Option<String>,
    resource: Option<String>,
    account: Option<String>,
    region: Option<String>,
    access_key: Option<String>,
    evidence: EvidenceJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    correlation: Option<CorrelationJson>,
}

#[derive(Serialize, Deserialize)]
struct EvidenceJson {
    file: String,
    record_index: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    byte_offset: u64,
    event_id: Option<String>,
    #[serde(default)]
    record_sha256: String,
}

#[derive(Serialize, Deserialize)]
struct CorrelationJson {
    #[serde(rename = "type")]
    kind: String,
    group: Vec<(String, String)>,
    #[serde(deserialize_with = "recorded_number")]
    value: f64,
    timespan_secs: u64,
}

/// A number as `squall hunt` prints it or as the case ledger keeps it: the ledger stores a
/// fraction as text and a whole number as an integer (so every JSON tool prints them alike),
/// and a NaN was serialized as `null`.
fn recorded_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    use serde::de::Error;
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_f64()
            .ok_or_else(|| D::Error::custom(format!("{n} is not a number"))),
        Value::String(s) => s
            .parse()
            .map_err(|_| D::Error::custom(format!("{s:?} is not a number"))),
        Value::Null => Ok(f64::NAN),
        other => Err(D::Error::custom(format!("{other} is not a number"))),
    }
}

impl Finding {
    /// Reads a detection as `squall hunt` prints it and a case records it; `None` when the
    /// JSON lacks the fields every detection has (which the case's checks report as damage).
    pub fn from_detection(json: &Value) -> Option<Finding> {
        let d = DetectionJson::deserialize(json).ok()?;
        let origin = match d.correlation {
            None => Origin::Sigma {
                rule_id: d.rule_id,
                source: d.rule_source,
            },
            Some(c) => Origin::Correlation {
                rule_id: d.rule_id,
                source: d.rule_source,
                kind: c.kind,
                group: c.group,
                value: c.value,
                timespan_secs: c.timespan_secs,
            },
        };
        Some(Finding {
            origin,
            title: d.rule_title,
            level: d.level,
            tags: d.tags,
            fields: Fields {
                time: d.event_time,
                log_source: d.log_source,
                principal: d.principal,
                source_ip: d.source_ip,
                action: d.action,
                resource: d.resource,
                account: d.account,
                region: d.region,
                access_key: d.access_key,
                event_id: d.evidence.event_id,
            },
            location: Location::LogRecord {
                file: d.evidence.file,
                record_index: d.evidence.record_index,
                line: d.evidence.line,
                byte_offset: d.evidence.byte_offset,
                record_sha256: d.evidence.record_sha256,
            },
        })
    }

    /// The detection JSON of a finding from the logs (the inverse of
    /// [`Finding::from_detection`]); `None` for other origins, which have no such form.
    pub fn to_detection(&self) -> Option<Value> {
        let (rule_id, rule_source, correlation) = match &self.origin {
            Origin::Sigma { rule_id, source } => (rule_id, source, None),
            Origin::Correlation {
                rule_id,
                source,
                kind,
                group,
                value,
                timespan_secs,
            } => (
                rule_id,
                source,
                Some(CorrelationJson {
                    kind: kind.clone(),
                    group: group.clone(),
                    value: *value,
                    timespan_secs: *timespan_secs,
                }),
            ),
            _ => return None,
        };
        let Location::LogRecord {
            file,
            record_index,
            line,
            byte_offset,
            record_sha256,
        } = &self.location
        else {
            return None;
        };
        let f = self.fields.clone();
        let d = DetectionJson {
            rule_id: rule_id.clone(),
            rule_title: self.title.clone(),
            level: self.level,
            tags: self.tags.clone(),
            rule_source: rule_source.clone(),
            event_time: f.time,
            log_source: f.log_source,
            principal: f.principal,
            source_ip: f.source_ip,
            action: f.action,
            resource: f.resource,
            account: f.account,
            region: f.region,
            access_key: f.access_key,
            evidence: EvidenceJson {
                file: file.clone(),
                record_index: *record_index,
                line: *line,
                byte_offset: *byte_offset,
                event_id: f.event_id,
                record_sha256: record_sha256.clone(),
            },
            correlation,
        };
        serde_json::to_value(d).ok()
    }

    /// Whether it stands for a group of records rather than one.
    pub fn is_correlation(&self) -> bool {
        matches!(self.origin, Origin::Correlation { .. })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn detection() -> Value {
        json!({"rule_id": "r1", "rule_title": "Root login", "level": "high", "tags": ["t"],
               "rule_source": "builtin:x", "event_time": "2026-10-02T09:28:12.000Z",
               "log_source": "cloudtrail", "principal": "root", "source_ip": "203.0.113.9",
               "action": "ConsoleLogin", "resource": null, "account": "111122223333",
               "region": "us-east-1", "access_key": null,
               "evidence": {"file": "/l/t.json", "record_index": 4, "byte_offset": 99,
                            "event_id": "e-1", "record_sha256": "ab"}})
    }

    #[test]
    fn a_detection_reads_into_typed_fields_and_writes_back_unchanged() {
        let f = Finding::from_detection(&detection()).unwrap();
        assert_eq!(f.fields.account.as_deref(), Some("111122223333"));
        assert_eq!(f.fields.event_id.as_deref(), Some("e-1"));
        assert!(matches!(&f.origin, Origin::Sigma { rule_id, .. } if rule_id == "r1"));
        assert!(matches!(
            f.location,
            Location::LogRecord {
                record_index: 4,
                ..
            }
        ));
        assert_eq!(f.to_detection().unwrap(), detection());
        let mut c = detection();
        c["correlation"] = json!({"type": "event_count", "group": [["k", "v"]], "value": 12.0,
                                  "timespan_secs": 600});
        let f = Finding::from_detection(&c).unwrap();
        assert!(f.is_correlation());
        assert_eq!(f.to_detection().unwrap(), c);
    }

    #[test]
    fn a_correlation_reads_as_the_case_ledger_recorded_it() {
        // The ledger keeps whole numbers as integers and fractions as text (so every JSON tool
        // prints them alike); NaN was serialized as null.
        for (recorded, value) in [(json!(12), 12.0), (json!("2.5"), 2.5), (json!(2.5), 2.5)] {
            let mut c = detection();
            c["correlation"] = json!({"type": "value_avg", "group": [["k", "v"]],
                                      "value": recorded, "timespan_secs": 600});
            let f = Finding::from_detection(&c).unwrap();
            assert!(matches!(f.origin, Origin::Correlation { value: v, .. } if v == value));
        }
        let mut c = detection();
        c["correlation"] = json!({"type": "value_avg", "group": [], "value": null,
                                  "timespan_secs": 600});
        let f = Finding::from_detection(&c).unwrap();
        assert!(matches!(f.origin, Origin::Correlation { value, .. } if value.is_nan()));
        c["correlation"]["value"] = json!("many");
        assert!(Finding::from_detection(&c).is_none());
    }

    #[test]
    fn json_without_a_detections_fields_is_not_a_finding() {
        assert!(Finding::from_detection(&json!({"rule_id": "r"})).is_none());
        assert!(Finding::from_detection(&json!("x")).is_none());
    }
}

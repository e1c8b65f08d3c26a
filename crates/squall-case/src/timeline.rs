//! The timeline of a case: everything its actors did in the logs the case was hunted on, in
//! event-time order, before and after the detections.
//!
//! The actors are the principals, source addresses, access keys and resources named by the
//! case's detections; `--pivot` chooses which of them to follow. The logs are read again from
//! the case's recorded sources, so the timeline is built from the evidence itself.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use serde::Serialize;
use squall_core::Touch;
use squall_logs::{Input, LogSource, ReadOptions, Record, Summary, Warning, read_input_hashed};

use crate::casefile::Source;
use crate::store::AttachedDetection;

/// What to follow from the detections to the rest of the activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pivot {
    Principal,
    Ip,
    Key,
    Resource,
}

impl std::str::FromStr for Pivot {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "principal" => Ok(Pivot::Principal),
            "ip" => Ok(Pivot::Ip),
            "key" => Ok(Pivot::Key),
            "resource" => Ok(Pivot::Resource),
            other => Err(format!(
                "unknown pivot '{other}' (expected principal, ip, key or resource)"
            )),
        }
    }
}

/// The case's actors, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Actors {
    pub principals: BTreeSet<String>,
    pub ips: BTreeSet<String>,
    pub keys: BTreeSet<String>,
    pub resources: BTreeSet<String>,
}

impl Actors {
    /// Collects the actors named by detections' findings. Addresses that are not IPs ("AWS
    /// Internal", a service name) say nothing about an actor and are left out; so is a
    /// correlation's principal, which may be its group's values shown in a principal's place
    /// (see squall-detect's `finish_correlations`) rather than anyone who acted.
    pub fn from_detections(detections: &[AttachedDetection]) -> Actors {
        let mut a = Actors::default();
        for f in detections.iter().filter_map(|d| d.finding.as_ref()) {
            let fields = &f.fields;
            if !f.is_correlation() {
                a.principals.extend(fields.principal.clone());
            }
            a.ips.extend(
                fields
                    .source_ip
                    .clone()
                    .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok()),
            );
            a.keys.extend(fields.access_key.clone());
            a.resources.extend(fields.resource.clone());
        }
        a
    }

    fn matches(&self, s: &Summary, pivots: &[Pivot]) -> Vec<Pivot> {
        let has = |set: &BTreeSet<String>, v: &Option<String>| {
            v.as_ref().is_some_and(|v| set.contains(v))
        };
        pivots
            .iter()
            .copied()
            .filter(|p| match p {
                Pivot::Principal => has(&self.principals, &s.principal),
                Pivot::Ip => has(&self.ips, &s.source_ip),
                Pivot::Key => has(&self.keys, &s.key),
                Pivot::Resource => has(&self.resources, &s.resource),
            })
            .collect()
    }
}

/// One event of the timeline. Serialized flat, its time once (see the `Serialize` impl).
#[derive(Debug, Clone)]
pub struct TimelineEvent {
    pub time: String,
    pub millis: i64,
    pub log_source: LogSource,
    pub summary: Summary,
    pub file: String,
    pub record_index: u64,
    /// Why the event is in the timeline: which actors it shares with the case.
    pub matched: Vec<Pivot>,
    /// Titles of the case's detections on this event.
    pub detections: Vec<String>,
    /// Why the call failed (CloudTrail's `errorCode`); a failed call changed nothing.
    pub error: Option<String>,
    /// The resources the record names and what it did to each (see `squall_logs`' touches).
    pub touches: Vec<Touch>,
    /// The long-running operation the record belongs to (GCP), whose last entry decides
    /// whether the change of its first happened.
    pub operation: Option<String>,
}

impl TimelineEvent {
    /// The changes the call made: none when it failed.
    pub fn changes(&self) -> impl Iterator<Item = &Touch> {
        self.touches
            .iter()
            .filter(|t| t.change.is_change() && self.error.is_none())
    }
}

impl Serialize for TimelineEvent {
    /// The summary's fields beside the event's own, without repeating the time: flattening the
    /// summary as it is would write `time` twice in one object, which JSON readers resolve
    /// differently (first wins, last wins, or an error).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Flat<'a> {
            time: &'a str,
            log_source: LogSource,
            principal: &'a Option<String>,
            source_ip: &'a Option<String>,
            action: &'a Option<String>,
            resource: &'a Option<String>,
            account: &'a Option<String>,
            region: &'a Option<String>,
            event_id: &'a Option<String>,
            access_key: &'a Option<String>,
            file: &'a str,
            record_index: u64,
            matched: &'a [Pivot],
            detections: &'a [String],
            #[serde(skip_serializing_if = "Option::is_none")]
            error: &'a Option<String>,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            changes: Vec<&'a Touch>,
        }
        let m = &self.summary;
        Flat {
            time: &self.time,
            log_source: self.log_source,
            principal: &m.principal,
            source_ip: &m.source_ip,
            action: &m.action,
            resource: &m.resource,
            account: &m.account,
            region: &m.region,
            event_id: &m.event_id,
            access_key: &m.key,
            file: &self.file,
            record_index: self.record_index,
            matched: &self.matched,
            detections: &self.detections,
            error: &self.error,
            changes: self.changes().collect(),
        }
        .serialize(s)
    }
}

/// The time range to show, in milliseconds since the epoch (either end open).
#[derive(Debug, Clone, Copy, Default)]
pub struct Window {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// What reading a case's sources gave: the events, the readers' warnings, and what the
/// sources' checks found (see [`build`]).
#[derive(Debug, Default)]
pub struct Built {
    pub events: Vec<TimelineEvent>,
    pub warnings: Vec<Warning>,
    /// Sources changed, missing or unreadable since the hunt: their events are left out.
    pub failures: Vec<String>,
    /// Sources read that no hunt hashed (recorded by an earlier Squall).
    pub unchecked: Vec<String>,
}

/// Reads the case's sources and keeps the events that involve the actors within the window.
///
/// Each source is hashed by the same read that parses it and compared with its digest at hunt
/// time; the events of a source that no longer matches are dropped and the source is named in
/// [`Built::failures`]. Hashing and parsing one stream means a file swapped or rewritten
/// between a check and a read cannot pass for the original. Problems reading a source are
/// warnings, not fatal: a timeline from what can be read is better than none.
pub fn build(
    sources: &[Source],
    actors: &Actors,
    pivots: &[Pivot],
    window: Window,
    detections: &[AttachedDetection],
) -> Built {
    let mut by_event: HashMap<String, Vec<String>> = HashMap::new();
    for d in detections {
        if let Some(id) = d.finding.as_ref().and_then(|f| f.fields.event_id.as_ref()) {
            by_event
                .entry(id.clone())
                .or_default()
                .push(d.title.clone());
        }
    }
    let mut built = Built::default();
    for (i, source) in sources.iter().enumerate() {
        let path = PathBuf::from(&source.path);
        if let Err(failure) = source.check_size() {
            built.failures.push(failure);
            continue;
        }
        let input = Input {
            path: Some(path),
            name: source.path.clone(),
            size: None,
        };
        let mut events = Vec::new();
        let mut warnings = Vec::new();
        let mut record_warnings = Vec::new();
        let read = read_input_hashed(
            &input,
            i,
            ReadOptions::default(),
            Default::default(),
            &mut |batch| {
                for raw in &batch.records {
                    let Ok(record) = Record::parse(batch.record(raw), None) else {
                        continue;
                    };
                    // Repeated keys, values too deep, a time that is none: named, as the hunt
                    // names them, rather than dropped without a word.
                    record_warnings.extend(record.warnings(&input.name, raw));
                    let Some(millis) = record.time_millis() else {
                        continue;
                    };
                    if window.from.is_some_and(|f| millis < f)
                        || window.to.is_some_and(|t| millis > t)
                    {
                        continue;
                    }
                    let summary = record.summary();
                    let matched = actors.matches(&summary, pivots);
                    if matched.is_empty() {
                        continue;
                    }
                    let detections = summary
                        .event_id
                        .as_ref()
                        .and_then(|id| by_event.get(id).cloned())
                        .unwrap_or_default();
                    events.push(TimelineEvent {
                        error: record.error(),
                        touches: record.touches(),
                        operation: record.operation(),
                        time: summary.time.clone().unwrap_or_default(),
                        millis,
                        log_source: record.source(),
                        summary,
                        file: input.name.clone(),
                        record_index: raw.index,
                        matched,
                        detections,
                    });
                }
            },
            &mut |w| warnings.push(w),
        );
        let checked = read
            .map_err(|e| {
                format!(
                    "source {} cannot be read again ({e}), left out",
                    source.path
                )
            })
            .and_then(|(_, got)| source.check_digest(&got.sha256, got.size));
        match checked {
            Err(failure) => built.failures.push(failure),
            Ok(hashed) => {
                if !hashed {
                    built.unchecked.push(source.unchecked());
                }
                built.events.append(&mut events);
                built.warnings.append(&mut warnings);
                built.warnings.append(&mut record_warnings);
            }
        }
    }
    built.events.sort_by(|a, b| {
        (a.millis, &a.file, a.record_index).cmp(&(b.millis, &b.file, b.record_index))
    });
    built
}

/// A one-line description of an event, for people and for Timesketch's `message`.
pub fn message(e: &TimelineEvent) -> String {
    let s = &e.summary;
    let mut m = format!(
        "{} {}",
        s.principal.as_deref().unwrap_or("(unknown principal)"),
        s.action.as_deref().unwrap_or("(unknown action)")
    );
    if let Some(r) = &s.resource {
        m.push_str(&format!(" on {r}"));
    }
    if let Some(ip) = &s.source_ip {
        m.push_str(&format!(" from {ip}"));
    }
    if let Some(error) = &e.error {
        m.push_str(&format!(" (failed: {error})"));
    }
    if let Some(changed) = changes_line(e) {
        m.push_str(&format!(" → {changed}"));
    }
    if !e.detections.is_empty() {
        m.push_str(&format!(" [detection: {}]", e.detections.join("; ")));
    }
    m
}

/// What the call changed, in a few words: `created access key AKIA... for user x`, or
/// `launched 20 instances` when one call changed many of a kind; at most three kinds.
fn changes_line(e: &TimelineEvent) -> Option<String> {
    let mut groups: Vec<(&Touch, usize)> = Vec::new();
    for t in e.changes() {
        match groups
            .iter_mut()
            .find(|(g, _)| g.kind == t.kind && g.change == t.change)
        {
            Some((_, n)) => *n += 1,
            None => groups.push((t, 1)),
        }
    }
    let mut said: Vec<String> = groups
        .iter()
        .take(3)
        .map(|(t, n)| {
            let kind = t.kind.name().replace('_', " ");
            match n {
                1 => {
                    let mut one = format!("{} {kind} {}", t.change.past(), t.id);
                    if let Some(p) = &t.parent {
                        one.push_str(&format!(" ({p})"));
                    }
                    one
                }
                n => format!("{} {n} {}", t.change.past(), t.kind.plural()),
            }
        })
        .collect();
    if groups.len() > 3 {
        said.push(format!("{} more kinds", groups.len() - 3));
    }
    (!said.is_empty()).then(|| said.join("; "))
}

/// The event as a Timesketch JSONL/CSV row: `message`, `datetime`, `timestamp` (µs) and
/// `timestamp_desc` first, then Squall's fields.
pub fn timesketch_row(e: &TimelineEvent) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    let s = &e.summary;
    let mut row = serde_json::Map::new();
    let datetime = chrono::DateTime::from_timestamp_millis(e.millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, false))
        .unwrap_or_default();
    row.insert("message".into(), Value::String(message(e)));
    row.insert("datetime".into(), Value::String(datetime));
    row.insert("timestamp".into(), Value::from(e.millis * 1000));
    row.insert(
        "timestamp_desc".into(),
        Value::String("Event Recorded".into()),
    );
    let text = |v: &Option<String>| Value::String(v.clone().unwrap_or_default());
    row.insert(
        "log_source".into(),
        Value::String(e.log_source.name().into()),
    );
    row.insert("principal".into(), text(&s.principal));
    row.insert("source_ip".into(), text(&s.source_ip));
    row.insert("action".into(), text(&s.action));
    row.insert("resource".into(), text(&s.resource));
    row.insert("account".into(), text(&s.account));
    row.insert("region".into(), text(&s.region));
    row.insert("access_key".into(), text(&s.key));
    row.insert("event_id".into(), text(&s.event_id));
    row.insert("file".into(), Value::String(e.file.clone()));
    row.insert("record_index".into(), Value::from(e.record_index));
    row.insert("detections".into(), Value::String(e.detections.join("; ")));
    row.insert("error".into(), text(&e.error));
    row
}

/// An account, region, address or action the actors' events show, with when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Touched {
    /// `account`, `region`, `ip` or `action`.
    pub kind: &'static str,
    pub value: String,
    pub first_seen: String,
    pub last_seen: String,
    pub events: u64,
}

/// Where the actors acted and what they called: every account, region, source address and
/// action in the events, each with first and last seen. The resources they touched are
/// [`crate::affected`]'s.
pub fn context(events: &[TimelineEvent]) -> Vec<Touched> {
    let mut seen: std::collections::BTreeMap<(&'static str, String), Touched> = Default::default();
    for e in events {
        let s = &e.summary;
        for (kind, value) in [
            ("account", &s.account),
            ("region", &s.region),
            ("ip", &s.source_ip),
            ("action", &s.action),
        ] {
            let Some(value) = value else { continue };
            let t = seen
                .entry((kind, value.clone()))
                .or_insert_with(|| Touched {
                    kind,
                    value: value.clone(),
                    first_seen: e.time.clone(),
                    last_seen: e.time.clone(),
                    events: 0,
                });
            // Events arrive in time order, so the last one seen is the latest.
            t.last_seen = e.time.clone();
            t.events += 1;
        }
    }
    let order = ["account", "region", "ip", "action"];
    let mut out: Vec<Touched> = seen.into_values().collect();
    out.sort_by_key(|t| {
        (
            order.iter().position(|k| *k == t.kind),
            t.first_seen.clone(),
        )
    });
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A detection as the case replays it from its ledger entry (numbers normalized as the
    /// ledger keeps them).
    fn attached(
        principal: &str,
        ip: &str,
        correlation: Option<serde_json::Value>,
    ) -> AttachedDetection {
        let mut json = json!({"rule_id": "r", "rule_title": "t", "level": "high",
                              "event_time": null, "principal": principal, "source_ip": ip,
                              "access_key": "AKIA1", "resource": null,
                              "evidence": {"file": "/l/a.json", "record_index": 0,
                                           "byte_offset": 0, "event_id": "e-1"}});
        if let Some(c) = correlation {
            json["correlation"] = c;
        }
        crate::casefile::detection_from_payload(&crate::ledger::normalize(json), 1)
    }

    #[test]
    fn actors_come_from_the_findings_and_a_correlation_names_no_principal() {
        let fraction = json!({"type": "value_avg", "group": [["k", "v"]], "value": 2.5,
                              "timespan_secs": 600});
        let actors = Actors::from_detections(&[
            attached("root", "203.0.113.9", None),
            attached("AWS Internal", "AWS Internal", None),
            attached("the group", "198.51.100.7", Some(fraction)),
        ]);
        assert_eq!(
            actors.principals,
            BTreeSet::from(["root".to_string(), "AWS Internal".to_string()])
        );
        assert_eq!(
            actors.ips,
            BTreeSet::from(["198.51.100.7".to_string(), "203.0.113.9".to_string()])
        );
        assert_eq!(actors.keys, BTreeSet::from(["AKIA1".to_string()]));
        assert!(actors.resources.is_empty());
    }
}

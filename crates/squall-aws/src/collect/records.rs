//! A CloudTrail file's records read one at a time, for what collecting needs of them (event
//! times, ids, trail stops): memory stays that of one record whatever the file's size, and a
//! record that does not read is passed over, not the file.

use std::fmt;
use std::io::Read;

use chrono::{DateTime, Duration, Utc};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The fields of a record collecting reads.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Head {
    #[serde(rename = "eventTime", default)]
    pub time: Option<String>,
    #[serde(rename = "eventName", default)]
    pub name: Option<String>,
    #[serde(rename = "errorCode", default)]
    pub error: Option<IgnoredAny>,
    #[serde(rename = "eventID", default)]
    pub id: Option<String>,
    #[serde(rename = "requestParameters", default)]
    pub parameters: Option<Parameters>,
}

/// The one request parameter collecting reads: which trail a call was about.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Parameters {
    #[serde(default)]
    pub name: Option<String>,
}

impl Head {
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.time.as_deref().and_then(|t| t.parse().ok())
    }
}

/// Calls `each` with every record of a `{"Records": [...]}` document.
pub fn each_record(reader: impl Read, each: &mut dyn FnMut(Head)) -> serde_json::Result<()> {
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    serde::Deserializer::deserialize_map(&mut de, Document(each))?;
    de.end()
}

struct Document<'f>(&'f mut dyn FnMut(Head));

impl<'de> Visitor<'de> for Document<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CloudTrail file: {\"Records\": [...]}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "Records" {
                map.next_value_seed(Records(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct Records<'f>(&'f mut dyn FnMut(Head));

impl<'de> DeserializeSeed<'de> for Records<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Records<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<Box<serde_json::value::RawValue>>()? {
            (self.0)(serde_json::from_str(raw.get()).unwrap_or_default());
        }
        Ok(())
    }
}

/// What a delivered file's records say that collecting needs.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The newest event time, no later than shortly after the file was written (a record
    /// cannot come from the future; a planted one may claim to).
    pub newest: Option<DateTime<Utc>>,
    /// Successful `StopLogging`/`DeleteTrail` and `StartLogging`/`CreateTrail` calls: when,
    /// and which trail (as the call named it).
    pub stops: Vec<(DateTime<Utc>, Option<String>)>,
    pub starts: Vec<(DateTime<Utc>, Option<String>)>,
}

/// At most this many trail stops or starts are kept from one file.
const MAX_CALLS: usize = 1000;

impl Summary {
    /// Folds a record into the summary of a file written at `stamp`.
    pub fn add(&mut self, head: &Head, stamp: DateTime<Utc>) {
        let Some(t) = head.time() else { return };
        let t = t.min(stamp + Duration::minutes(15));
        self.newest = Some(self.newest.map_or(t, |n| n.max(t)));
        if head.error.is_some() {
            return;
        }
        let trail = head.parameters.as_ref().and_then(|p| p.name.clone());
        match head.name.as_deref() {
            Some("StopLogging" | "DeleteTrail") if self.stops.len() < MAX_CALLS => {
                self.stops.push((t, trail))
            }
            Some("StartLogging" | "CreateTrail") if self.starts.len() < MAX_CALLS => {
                self.starts.push((t, trail))
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_read_one_by_one_and_a_bad_one_is_passed_over() {
        let doc = br#"{"Other": {"x": [1,2]}, "Records": [
            {"eventTime": "2026-11-30T10:00:00Z", "eventName": "StopLogging", "eventID": "a", "requestParameters": {"name": "main"}},
            {"eventTime": 5, "eventName": ["not", "a", "name"]},
            {"eventTime": "2026-11-30T10:05:00Z", "eventName": "StartLogging", "eventID": "b", "errorCode": "AccessDenied"},
            {"eventTime": "2099-01-01T00:00:00Z", "eventName": "ListBuckets", "eventID": "c"}
        ]}"#;
        let mut ids = Vec::new();
        let mut summary = Summary::default();
        let stamp: DateTime<Utc> = "2026-11-30T10:10:00Z".parse().unwrap();
        each_record(&doc[..], &mut |h| {
            summary.add(&h, stamp);
            ids.push(h.id.unwrap_or_default());
        })
        .unwrap();
        assert_eq!(ids, ["a", "", "b", "c"]);
        assert_eq!(summary.stops.len(), 1);
        assert_eq!(summary.stops[0].1.as_deref(), Some("main"));
        assert!(
            summary.starts.is_empty(),
            "a failed StartLogging started nothing"
        );
        assert_eq!(
            summary.newest.unwrap().to_rfc3339(),
            "2026-11-30T10:25:00+00:00",
            "a record from the future counts as the file's own time"
        );
        assert!(each_record(&b"[1, 2]"[..], &mut |_| {}).is_err());
    }
}

//! A CloudTrail file's records read one at a time, for what collecting needs of them (event
//! times, ids, trail stops): memory stays that of one record whatever the file's size, and a
//! record that does not read is passed over, not the file.

use std::fmt;
use std::io::Read;

use chrono::{DateTime, Duration, Utc};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The fields of a record collecting reads. Read leniently: a field of another type is
/// absent, a record that is not an object is empty, and nothing else of it is kept (a string
/// of any size elsewhere in the record is skipped, not held).
#[derive(Debug, Default)]
pub struct Head {
    pub time: Option<String>,
    pub name: Option<String>,
    /// Whether the call failed (`errorCode` present and not null).
    pub error: bool,
    pub id: Option<String>,
    /// `requestParameters.name`: which trail a call was about.
    pub trail: Option<String>,
}

/// A visitor's answer to the JSON values it does not read: absent (its `Default`).
macro_rules! otherwise_absent {
    () => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
}

/// The same, for objects too.
macro_rules! drain_map {
    () => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
}

impl<'de> serde::Deserialize<'de> for Head {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Head, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Head;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a CloudTrail record")
            }
            fn visit_str<E>(self, _: &str) -> Result<Head, E> {
                Ok(Head::default())
            }
            otherwise_absent!();
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Head, A::Error> {
                let mut head = Head::default();
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Time => head.time = map.next_value::<Text>()?.0,
                        Key::Name => head.name = map.next_value::<Text>()?.0,
                        Key::Id => head.id = map.next_value::<Text>()?.0,
                        Key::Error => head.error = map.next_value::<Text>()?.0.is_some(),
                        Key::Parameters => head.trail = map.next_value::<Parameters>()?.0,
                        Key::TrailName | Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(head)
            }
        }
        d.deserialize_any(V)
    }
}

/// The fields collecting reads, by name; any other is skipped unread.
enum Key {
    Time,
    Name,
    Id,
    Error,
    Parameters,
    /// `name`, read only inside `requestParameters`.
    TrailName,
    Other,
}

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "eventTime" => Key::Time,
                    "eventName" => Key::Name,
                    "eventID" => Key::Id,
                    "errorCode" => Key::Error,
                    "requestParameters" => Key::Parameters,
                    "name" => Key::TrailName,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

/// Longer than any time, name, id or error code CloudTrail writes.
const MAX_TEXT: usize = 256;

/// A string of at most [`MAX_TEXT`] bytes; a longer one is cut there; anything else is absent.
#[derive(Default)]
struct Text(Option<String>);

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, v: &str) -> Result<Text, E> {
                let mut end = v.len().min(MAX_TEXT);
                while !v.is_char_boundary(end) {
                    end -= 1;
                }
                Ok(Text(Some(v[..end].to_string())))
            }
            otherwise_absent!();
            drain_map!();
        }
        d.deserialize_any(V)
    }
}

/// `requestParameters`, for its `name`.
#[derive(Default)]
struct Parameters(Option<String>);

impl<'de> serde::Deserialize<'de> for Parameters {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Parameters, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Parameters;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("request parameters")
            }
            fn visit_str<E>(self, _: &str) -> Result<Parameters, E> {
                Ok(Parameters(None))
            }
            otherwise_absent!();
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parameters, A::Error> {
                let mut name = None;
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::TrailName => name = map.next_value::<Text>()?.0,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Parameters(name))
            }
        }
        d.deserialize_any(V)
    }
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
        // Each record is taken whole, unread (skipping checks less than reading: a lone
        // surrogate in one field must not end the file), then read on its own.
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
    /// Successful `StopLogging`/`DeleteTrail` and `StartLogging` calls: when,
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
        // A file holds the minutes before it was written; a record claiming another time
        // (a planted one may claim any) counts as the nearest a file could hold.
        let t = t.clamp(stamp - Duration::days(1), stamp + Duration::minutes(15));
        self.newest = Some(self.newest.map_or(t, |n| n.max(t)));
        if head.error {
            return;
        }
        let trail = head.trail.clone();
        match head.name.as_deref() {
            Some("StopLogging" | "DeleteTrail") if self.stops.len() < MAX_CALLS => {
                self.stops.push((t, trail))
            }
            // A trail made by CreateTrail logs only once StartLogging is called.
            Some("StartLogging") if self.starts.len() < MAX_CALLS => self.starts.push((t, trail)),
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
            {"eventTime": 5, "eventName": ["not", "a", "name"], "requestParameters": "x"},
            7,
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
        assert_eq!(ids, ["a", "", "", "b", "c"]);
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

    #[test]
    fn a_record_that_does_not_read_does_not_end_the_file() {
        let doc = br#"{"Records": [
            {"eventID": "a", "requestParameters": {"name": "\ud800"}},
            {"eventID": "b", "eventTime": 1e400},
            {"eventID": "c"}
        ]}"#;
        let mut ids = Vec::new();
        each_record(&doc[..], &mut |h| ids.push(h.id.unwrap_or_default())).unwrap();
        assert_eq!(ids.last().map(String::as_str), Some("c"), "{ids:?}");
        assert_eq!(ids.len(), 3);
    }
}

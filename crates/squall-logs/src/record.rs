//! One audit-log record, parsed once and lazily, and read by Sigma rules through rsigma's
//! [`Event`] trait.
//!
//! Parsing stops at the top level: each top-level member is kept as raw JSON text, and a nested
//! member (`userIdentity`, `requestParameters`, `protoPayload`) becomes a tree only when a rule
//! first asks for a path inside it. Most records are ruled out by `eventSource`/`eventName`
//! alone, so most nested members are never parsed.
//!
//! A key that appears twice in one object (at the top level or nested) keeps its **last** value,
//! as jq, Python, serde_json's `Value` and AWS's own parsers do: `{"eventName":"DescribeTrails",
//! "eventName":"StopLogging"}` is a `StopLogging` to every rule, the summary and correlations,
//! because all of them read the same members. Taking the first, as Squall once did, let an
//! attacker show Squall one action and every other tool another. Such a record is still read,
//! and [`Record::warnings`] says so.
//!
//! A value nested deeper than [`crate::node::MAX_DEPTH`] is kept as its JSON text, so its
//! siblings stay readable; before, one deep value made the whole member (`userIdentity`,
//! `requestParameters`) look absent to rules, without a word. That too is a warning.
//!
//! Times leave the reader parsed: [`Summary::time`] is RFC 3339 UTC with milliseconds, never
//! the text the record carried, which is attacker-controlled and once reached reports as is.
//!
//! The same layer makes SigmaHQ's field conventions work on native records: GCP rules written
//! against Elastic's `gcp.audit.method_name` or against `data.protoPayload.*`, and Azure rules
//! written against Log Analytics columns (`ResultType`, `properties.message`) for records exported
//! to storage with other casing and nesting.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;

use rsigma_eval::{Event, EventValue};
use serde::Deserializer;
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::audit::{Findings, audit_members};
use crate::batch::RawRef;
use crate::node::{BorrowedStr, Node, key_eq, last_wins};
use crate::source::LogSource;
use crate::time::{EventTime, quote};
use crate::warning::{SkipReason, Warning};

/// A parsed record; see the module documentation.
pub struct Record<'a> {
    text: &'a str,
    /// Top-level members in order: name, raw JSON, and the tree once a rule looked inside.
    fields: Vec<Field<'a>>,
    source: LogSource,
    /// Duplicate keys and over-deep values anywhere in the record.
    findings: Findings,
}

/// Why bytes could not become a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// Not valid UTF-8; the byte offset within the record.
    Utf8(usize),
    /// Not valid JSON, with serde_json's line and column within the record.
    Json(String),
    /// Valid JSON, but not an object.
    NotObject,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Utf8(at) => write!(f, "invalid UTF-8 at byte {at} of the record"),
            RecordError::Json(why) => write!(f, "malformed JSON: {why}"),
            RecordError::NotObject => write!(f, "record is not a JSON object"),
        }
    }
}

struct Field<'a> {
    key: Cow<'a, str>,
    raw: &'a RawValue,
    tree: OnceCell<Option<Node<'a>>>,
}

fn field_key<'e>(field: &'e Field<'_>) -> &'e str {
    &field.key
}

/// The record's members, and its repeated keys: the first one and how many.
struct TopLevel<'a>(Vec<Field<'a>>, Option<Cow<'a, str>>, u64);

impl<'de> serde::Deserialize<'de> for TopLevel<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TopLevel<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel<'de>, A::Error> {
                let mut fields = Vec::with_capacity(24);
                let mut index = None;
                let (mut first_repeat, mut repeats) = (None, 0);
                while let Some((k, v)) = map.next_entry::<BorrowedStr<'de>, &'de RawValue>()? {
                    let key = k.0.clone();
                    let field = Field {
                        key: k.0,
                        raw: v,
                        tree: OnceCell::new(),
                    };
                    if last_wins(&mut fields, &mut index, field_key, field) {
                        repeats += 1;
                        first_repeat.get_or_insert(key);
                    }
                }
                Ok(TopLevel(fields, first_repeat, repeats))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'a> Record<'a> {
    /// Parses the top level of one record. `forced` overrides the shape-based classification
    /// (the `--input-format` flag).
    pub fn parse(bytes: &'a [u8], forced: Option<LogSource>) -> Result<Record<'a>, RecordError> {
        let text = std::str::from_utf8(bytes).map_err(|e| RecordError::Utf8(e.valid_up_to()))?;
        let trimmed = text.trim_start();
        if !trimmed.starts_with('{') {
            // Distinguish "valid JSON of the wrong shape" from garbage.
            return match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Ok(_) => Err(RecordError::NotObject),
                Err(e) => Err(RecordError::Json(e.to_string())),
            };
        }
        let TopLevel(fields, first_repeat, repeats) =
            serde_json::from_str(text).map_err(|e| RecordError::Json(e.to_string()))?;
        let mut record = Record {
            text,
            fields,
            source: LogSource::Unknown,
            findings: Findings::default(),
        };
        if let Some(key) = first_repeat {
            record.findings.top_level_duplicates(&key, repeats);
        }
        let members = record.fields.iter().map(|f| (f.key.as_ref(), f.raw.get()));
        audit_members(members, &mut record.findings);
        record.source = forced.unwrap_or_else(|| record.classify());
        Ok(record)
    }

    #[cfg(test)]
    pub(crate) fn findings(&self) -> &Findings {
        &self.findings
    }

    /// Which log the record belongs to, from its shape.
    pub fn source(&self) -> LogSource {
        self.source
    }

    /// The record's JSON text exactly as delivered.
    pub fn text(&self) -> &'a str {
        self.text
    }

    fn index_of(&self, key: &str, ignore_case: bool) -> Option<usize> {
        let exact = self.fields.iter().position(|f| key_eq(&f.key, key));
        exact.or_else(|| {
            ignore_case
                .then(|| {
                    self.fields
                        .iter()
                        .position(|f| f.key.eq_ignore_ascii_case(key))
                })
                .flatten()
        })
    }

    fn has(&self, key: &str) -> bool {
        self.index_of(key, false).is_some()
    }

    fn tree(&self, i: usize) -> Option<&Node<'a>> {
        let field = &self.fields[i];
        field
            .tree
            .get_or_init(|| Node::parse(field.raw.get()).ok())
            .as_ref()
    }

    /// A top-level member as a tree (`requestParameters`), parsed on first use.
    pub(crate) fn member(&self, key: &str) -> Option<&Node<'a>> {
        self.index_of(key, false).and_then(|i| self.tree(i))
    }

    /// A top-level scalar member as text, borrowed when it needs no unescaping.
    pub(crate) fn member_text(&self, key: &str) -> Option<Cow<'_, str>> {
        self.index_of(key, false).and_then(|i| self.top_text(i))
    }

    /// A top-level member as a matcher value; plain strings are sliced from the raw text.
    fn top_value(&self, i: usize) -> Option<EventValue<'_>> {
        let raw = self.fields[i].raw.get();
        if raw.len() >= 2 && raw.starts_with('"') && !raw.contains('\\') {
            return Some(EventValue::Str(Cow::Borrowed(&raw[1..raw.len() - 1])));
        }
        self.tree(i).map(Node::to_event_value)
    }

    fn top_text(&self, i: usize) -> Option<Cow<'_, str>> {
        let raw = self.fields[i].raw.get();
        if raw.len() >= 2 && raw.starts_with('"') && !raw.contains('\\') {
            return Some(Cow::Borrowed(&raw[1..raw.len() - 1]));
        }
        self.tree(i).and_then(Node::as_text)
    }

    /// Resolves a dotted path against the record as delivered.
    fn lookup(&self, path: &str, ignore_case: bool) -> Option<EventValue<'_>> {
        let Some((root, rest)) = path.split_once('.') else {
            return self
                .index_of(path, ignore_case)
                .and_then(|i| self.top_value(i));
        };
        let nested = self
            .index_of(root, ignore_case)
            .and_then(|i| self.tree(i))
            .and_then(|tree| tree.value_at(rest, ignore_case));
        // Provider keys hold no dots, so a dotted top-level key is the rare fallback.
        nested.or_else(|| {
            self.index_of(path, ignore_case)
                .and_then(|i| self.top_value(i))
        })
    }

    /// The first path that holds a scalar, as text.
    pub fn text_at(&self, paths: &[&str]) -> Option<String> {
        self.borrowed_text_at(paths).map(Cow::into_owned)
    }

    /// [`Record::text_at`], borrowed from the record where it can be (a top-level string
    /// without escapes): what the per-record readers (the event time) use.
    fn borrowed_text_at(&self, paths: &[&str]) -> Option<Cow<'_, str>> {
        paths.iter().find_map(|p| {
            if let Some(i) = self.index_of(p, false) {
                return self.top_text(i);
            }
            let (root, rest) = p.split_once('.')?;
            let i = self.index_of(root, false)?;
            self.tree(i)?.first_text(rest).map(Cow::Owned)
        })
    }

    fn classify(&self) -> LogSource {
        if self.has("eventSource") && self.has("eventName") {
            return LogSource::CloudTrail;
        }
        if self.has("protoPayload") {
            return LogSource::GcpAudit;
        }
        if self.has("digestStartTime") || self.has("digestPublicKeyFingerprint") {
            return LogSource::CloudTrailDigest;
        }
        if let Some(i) = self.index_of("category", true)
            && (self.has("operationName") || self.has("resourceId") || self.has("time"))
        {
            let category = self.top_text(i).unwrap_or_default().to_ascii_lowercase();
            return LogSource::azure_from_category(&category);
        }
        if self.has("createdDateTime") && self.has("userPrincipalName") {
            return LogSource::AzureSignIn;
        }
        if self.has("activityDateTime") && self.has("activityDisplayName") {
            return LogSource::AzureAudit;
        }
        if self.has("operationName") && self.has("resourceId") {
            return LogSource::AzureActivity;
        }
        LogSource::Unknown
    }

    /// When the event happened, read from the provider's time field and parsed; `None` when the
    /// record has no time or its text is not a time (see [`EventTime`]).
    pub fn time(&self) -> Option<EventTime> {
        EventTime::parse(&self.borrowed_text_at(self.source.time_paths())?)
    }

    /// When the event happened, in milliseconds since the epoch: the same instant as
    /// [`Summary::time`].
    pub fn time_millis(&self) -> Option<i64> {
        self.time().map(EventTime::millis)
    }

    /// What is wrong with a record that was read nonetheless: repeated keys, values too deep to
    /// keep as a tree, and (for provider logs) a missing or unparseable event time. Each kind
    /// is reported once per record, its first instance named. The worker that parsed the record
    /// hands these to the hunt's sink, so the run's counts include them.
    pub fn warnings(&self, file: &str, raw: &RawRef) -> Vec<Warning> {
        let mut out = Vec::new();
        let f = &self.findings;
        if let Some(path) = &f.first_duplicate {
            let more = match f.duplicates {
                1 => String::new(),
                n => format!(" ({} more repeated keys)", n - 1),
            };
            out.push(Warning::record(
                file,
                raw,
                SkipReason::DuplicateKey,
                format!(
                    "key {} appears more than once in its object{more}; the last value is used",
                    quote(path)
                ),
            ));
        }
        if let Some(path) = &f.first_too_deep {
            out.push(Warning::record(
                file,
                raw,
                SkipReason::TooDeep,
                format!(
                    "{} value(s) nested more than {} levels deep under {} kept as text: \
                     rules cannot reach fields inside them",
                    f.too_deep,
                    crate::node::MAX_DEPTH,
                    quote(path)
                ),
            ));
        }
        let paths = self.source.time_paths();
        if !paths.is_empty() && self.time().is_none() {
            let message = match self.text_at(paths) {
                Some(t) => format!(
                    "event time {} is not an RFC 3339 time (looked at {}); \
                     time windows, correlations and timelines cannot place the record",
                    quote(&t),
                    paths.join(", ")
                ),
                None => format!(
                    "no event time (looked at {}); \
                     time windows, correlations and timelines cannot place the record",
                    paths.join(", ")
                ),
            };
            out.push(Warning::record(file, raw, SkipReason::BadTime, message));
        }
        out
    }

    /// The account the record's touches are placed in: its source's field, else (a GCP
    /// audit entry) the project its log is named under.
    pub(crate) fn account(&self) -> Option<String> {
        self.text_at(self.source.summary_paths().account)
            .or_else(|| match self.source {
                LogSource::GcpAudit => self.text_at(&["logName"]).and_then(|l| {
                    l.strip_prefix("projects/")
                        .map(|r| r.split('/').next().unwrap_or(r).to_string())
                }),
                _ => None,
            })
    }

    /// The fields an analyst reads first, the same names for every provider.
    pub fn summary(&self) -> Summary {
        let paths = self.source.summary_paths();
        let mut s = Summary {
            time: self.time().map(|t| t.to_string()),
            principal: self.text_at(paths.principal),
            source_ip: self.text_at(paths.source_ip),
            action: self.text_at(paths.action),
            resource: self.text_at(paths.resource),
            account: self.account(),
            region: self.text_at(paths.region),
            event_id: self.text_at(paths.event_id),
            key: self.text_at(paths.key),
        };
        match self.source {
            LogSource::CloudTrail => {
                // "iam.amazonaws.com" + "CreateAccessKey" reads as "iam:CreateAccessKey".
                if let (Some(name), Some(src)) = (&s.action, self.text_at(&["eventSource"])) {
                    let service = src.split('.').next().unwrap_or(&src);
                    s.action = Some(format!("{service}:{name}"));
                }
                if s.resource.is_none() {
                    s.resource = self.cloudtrail_resource();
                }
            }
            LogSource::AzureActivity
            | LogSource::AzureAudit
            | LogSource::AzureSignIn
            | LogSource::AzureRisk
                if s.account.is_none() =>
            {
                s.account = s.resource.as_deref().and_then(azure_subscription);
            }
            _ => {}
        }
        s
    }

    /// CloudTrail names the target in a service-specific request parameter.
    fn cloudtrail_resource(&self) -> Option<String> {
        const REQUEST: &[&str] = &[
            "instanceId",
            "instancesSet.items.instanceId",
            "groupId",
            "userName",
            "roleName",
            "policyArn",
            "bucketName",
            "snapshotId",
            "imageId",
            "dBSnapshotIdentifier",
            "name",
            "trailName",
            "functionName",
            "secretId",
            "keyId",
            "detectorId",
            "flowLogIds",
        ];
        let from_request = self
            .index_of("requestParameters", false)
            .and_then(|i| self.tree(i))
            .and_then(|params| REQUEST.iter().find_map(|k| params.first_text(k)));
        from_request.or_else(|| self.text_at(&["resources.ARN", "responseElements.user.arn"]))
    }
}

/// `/subscriptions/<id>/...` in an Azure resource id.
fn azure_subscription(resource_id: &str) -> Option<String> {
    let lower = resource_id.to_ascii_lowercase();
    let at = lower.find("/subscriptions/")? + "/subscriptions/".len();
    let rest = &resource_id[at..];
    Some(rest.split('/').next().unwrap_or(rest).to_string())
}

/// The normalized view of a record that detections and tables show.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// The event time as RFC 3339 UTC with milliseconds (`2024-01-02T03:04:05.000Z`), so times
    /// compare as text; `None` when the record's time is absent or not a time.
    pub time: Option<String>,
    pub principal: Option<String>,
    pub source_ip: Option<String>,
    pub action: Option<String>,
    pub resource: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub event_id: Option<String>,
    /// The access key (CloudTrail) or service-account key (GCP) that signed the request.
    #[serde(rename = "access_key")]
    pub key: Option<String>,
}

/// `authentication_info.principal_email` → `authenticationInfo.principalEmail`.
fn snake_to_camel_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut upper = false;
    for c in path.chars() {
        match c {
            '_' => upper = true,
            '.' => {
                upper = false;
                out.push('.');
            }
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

impl Event for Record<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        match self.source {
            LogSource::GcpAudit => {
                if let Some(rest) = path.strip_prefix("gcp.audit.") {
                    let mapped = format!("protoPayload.{}", snake_to_camel_path(rest));
                    return self.lookup(&mapped, false);
                }
                if let Some(rest) = path.strip_prefix("data.") {
                    // Some SigmaHQ rules place LogEntry members (logName) under protoPayload.
                    return self.lookup(rest, false).or_else(|| {
                        rest.strip_prefix("protoPayload.")
                            .and_then(|top| self.lookup(top, false))
                    });
                }
                self.lookup(path, false)
            }
            LogSource::AzureActivity
            | LogSource::AzureAudit
            | LogSource::AzureSignIn
            | LogSource::AzureRisk => self
                .lookup(path, false)
                .or_else(|| self.lookup(path, true))
                .or_else(|| {
                    let i = self.index_of("properties", false)?;
                    self.tree(i)?.value_at(path, true)
                }),
            _ => self.lookup(path, false),
        }
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        let mut hit = false;
        self.visit_string_values(&mut |s| hit = hit || pred(s));
        hit
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        let mut out = Vec::new();
        self.visit_string_values(&mut |s| out.push(Cow::Owned(s.to_string())));
        out
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        for i in 0..self.fields.len() {
            if let Some(tree) = self.tree(i) {
                tree.visit_strings(visit);
            }
        }
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::from_str(self.text).unwrap_or(serde_json::Value::Null)
    }
}

/// Extracts the CloudTrail record that `aws cloudtrail lookup-events` carries as a string.
pub fn unwrap_lookup_event(bytes: &[u8]) -> Result<String, RecordError> {
    /// The element's `CloudTrailEvent`; repeated, the last one wins, as everywhere in a record.
    struct Element(Option<String>);
    impl<'de> serde::Deserialize<'de> for Element {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Element;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a lookup-events element")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Element, A::Error> {
                    let mut event = None;
                    while let Some(k) = map.next_key::<BorrowedStr<'de>>()? {
                        if k.0 == "CloudTrailEvent" {
                            event = map.next_value::<Option<String>>()?;
                        } else {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                    Ok(Element(event))
                }
            }
            d.deserialize_map(V)
        }
    }
    let element: Element =
        serde_json::from_slice(bytes).map_err(|e| RecordError::Json(e.to_string()))?;
    element.0.ok_or_else(|| {
        RecordError::Json("lookup-events element has no CloudTrailEvent".to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: Option<EventValue<'_>>) -> Option<String> {
        v.and_then(|v| v.as_str().map(|s| s.into_owned()))
    }

    const CT: &str = r#"{"eventVersion":"1.09","eventTime":"2024-08-01T12:23:55Z",
        "eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress",
        "awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.9",
        "userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/mallory"},
        "requestParameters":{"groupId":"sg-1","ipPermissions":{"items":[{"ipRanges":{"items":[{"cidrIp":"10.0.0.0/8"},{"cidrIp":"0.0.0.0/0"}]}}]}},
        "recipientAccountId":"111122223333","eventID":"e-1"}"#;

    #[test]
    fn cloudtrail_fields_resolve_natively() {
        let r = Record::parse(CT.as_bytes(), None).unwrap();
        assert_eq!(r.source(), LogSource::CloudTrail);
        assert_eq!(
            text(r.get_field("eventName")).as_deref(),
            Some("AuthorizeSecurityGroupIngress")
        );
        assert_eq!(
            text(r.get_field("userIdentity.type")).as_deref(),
            Some("IAMUser")
        );
        assert!(
            r.get_field("errorCode").is_none(),
            "absent field must be None"
        );
        match r.get_field("requestParameters.ipPermissions.items.ipRanges.items.cidrIp") {
            Some(EventValue::Array(v)) => assert_eq!(v.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn summary_names_principal_action_and_resource() {
        let r = Record::parse(CT.as_bytes(), None).unwrap();
        let s = r.summary();
        assert_eq!(
            s.action.as_deref(),
            Some("ec2:AuthorizeSecurityGroupIngress")
        );
        assert_eq!(
            s.principal.as_deref(),
            Some("arn:aws:iam::111122223333:user/mallory")
        );
        assert_eq!(s.resource.as_deref(), Some("sg-1"));
        assert_eq!(s.account.as_deref(), Some("111122223333"));
        assert_eq!(r.time_millis(), Some(1_722_515_035_000));
    }

    #[test]
    fn gcp_rules_conventions_map_to_the_log_entry() {
        let entry = r#"{"insertId":"x1","logName":"projects/p1/logs/cloudaudit.googleapis.com%2Factivity",
          "protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog",
            "methodName":"v1.compute.firewalls.insert","serviceName":"compute.googleapis.com",
            "authenticationInfo":{"principalEmail":"eve@example.com"},
            "authorizationInfo":[{"permission":"compute.firewalls.create","granted":true}]},
          "resource":{"type":"gce_firewall_rule","labels":{"project_id":"p1"}},
          "timestamp":"2024-05-01T10:00:00.123456Z"}"#;
        let r = Record::parse(entry.as_bytes(), None).unwrap();
        assert_eq!(r.source(), LogSource::GcpAudit);
        let m = text(r.get_field("gcp.audit.method_name"));
        assert_eq!(m.as_deref(), Some("v1.compute.firewalls.insert"));
        let p = text(r.get_field("gcp.audit.authentication_info.principal_email"));
        assert_eq!(p.as_deref(), Some("eve@example.com"));
        let s = text(r.get_field("data.protoPayload.serviceName"));
        assert_eq!(s.as_deref(), Some("compute.googleapis.com"));
        assert!(text(r.get_field("data.protoPayload.logName")).is_some());
        assert_eq!(r.summary().account.as_deref(), Some("p1"));
    }

    #[test]
    fn azure_rules_read_log_analytics_names_from_storage_exports() {
        let rec = r#"{"time":"2024-03-01T08:00:00.1234567Z","category":"SignInLogs",
          "operationName":"Sign-in activity","resultType":"50126","callerIpAddress":"198.51.100.7",
          "properties":{"userPrincipalName":"bob@contoso.com","authenticationRequirement":"singleFactorAuthentication",
          "deviceDetail":{"trustType":"Azure AD joined"}}}"#;
        let r = Record::parse(rec.as_bytes(), None).unwrap();
        assert_eq!(r.source(), LogSource::AzureSignIn);
        assert_eq!(text(r.get_field("ResultType")).as_deref(), Some("50126"));
        let a = text(r.get_field("AuthenticationRequirement"));
        assert_eq!(a.as_deref(), Some("singleFactorAuthentication"));
        assert!(text(r.get_field("DeviceDetail.trusttype")).is_some());
    }

    #[test]
    fn bad_records_say_why() {
        assert!(matches!(
            Record::parse(b"{\"a\":", None),
            Err(RecordError::Json(_))
        ));
        assert_eq!(
            Record::parse(b"[1,2]", None).err(),
            Some(RecordError::NotObject)
        );
        assert!(matches!(
            Record::parse(b"{\"a\":\"\xff\"}", None),
            Err(RecordError::Utf8(6))
        ));
    }

    #[test]
    fn lookup_events_carry_the_record_as_a_string() {
        let el = r#"{"EventId":"1","CloudTrailEvent":"{\"eventName\":\"ConsoleLogin\",\"eventSource\":\"signin.amazonaws.com\"}"}"#;
        let inner = unwrap_lookup_event(el.as_bytes()).unwrap();
        let r = Record::parse(inner.as_bytes(), None).unwrap();
        assert_eq!(r.source(), LogSource::CloudTrail);
    }
}

//! The kinds of entry a case's ledger (and the inventory's log) holds, and each kind's typed
//! payload. Writers and readers use these instead of spelling kinds and keys by hand, so a
//! renamed field is a compile error rather than a silently empty report.
//!
//! Payloads serialize to exactly the JSON earlier releases wrote, `null` for an unset optional
//! field included: the ledger's hashes cover that JSON, and a store written by an earlier
//! release must verify unchanged. Shapes only the first releases wrote (a hunt without source
//! digests, an action without a stage or a result) still read.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::asset::{Asset, Provider, Resource};
use crate::respond::Plan;

/// Every kind of ledger entry Squall writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    CaseOpened,
    CaseAssigned,
    CaseStatus,
    CaseTriaged,
    HuntRun,
    DetectionAttached,
    EvidenceAdded,
    TaskAdded,
    TaskDone,
    Note,
    InventoryImported,
    InventoryAdopted,
    ActionPlanned,
    ActionExecuted,
    ActionVerified,
    ActionFailed,
    ResponseProposed,
    ResponseApproved,
    ResponseSkipped,
    LogsCollected,
}

impl Kind {
    /// Every kind, in the order a case usually meets them.
    pub const ALL: [Kind; 20] = [
        Kind::CaseOpened,
        Kind::CaseAssigned,
        Kind::CaseStatus,
        Kind::CaseTriaged,
        Kind::HuntRun,
        Kind::DetectionAttached,
        Kind::EvidenceAdded,
        Kind::TaskAdded,
        Kind::TaskDone,
        Kind::Note,
        Kind::InventoryImported,
        Kind::InventoryAdopted,
        Kind::ActionPlanned,
        Kind::ActionExecuted,
        Kind::ActionVerified,
        Kind::ActionFailed,
        Kind::ResponseProposed,
        Kind::ResponseApproved,
        Kind::ResponseSkipped,
        Kind::LogsCollected,
    ];

    /// The name the ledger records (and an export shows).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CaseOpened => "case.opened",
            Kind::CaseAssigned => "case.assigned",
            Kind::CaseStatus => "case.status",
            Kind::CaseTriaged => "case.triaged",
            Kind::HuntRun => "hunt.run",
            Kind::DetectionAttached => "detection.attached",
            Kind::EvidenceAdded => "evidence.added",
            Kind::TaskAdded => "task.added",
            Kind::TaskDone => "task.done",
            Kind::Note => "note",
            Kind::InventoryImported => "inventory.imported",
            Kind::InventoryAdopted => "inventory.adopted",
            Kind::ActionPlanned => "action.planned",
            Kind::ActionExecuted => "action.executed",
            Kind::ActionVerified => "action.verified",
            Kind::ActionFailed => "action.failed",
            Kind::ResponseProposed => "response.proposed",
            Kind::ResponseApproved => "response.approved",
            Kind::ResponseSkipped => "response.skipped",
            Kind::LogsCollected => "logs.collected",
        }
    }

    /// The kind a recorded name stands for; `None` for a name no release wrote (which a
    /// reader reports rather than guesses at).
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// A proposed response, or the analyst's word on its steps.
    pub fn is_response(self) -> bool {
        matches!(
            self,
            Kind::ResponseProposed | Kind::ResponseApproved | Kind::ResponseSkipped
        )
    }

    /// A response action's record (planned, executed, verified, failed).
    pub fn is_action(self) -> bool {
        matches!(
            self,
            Kind::ActionPlanned | Kind::ActionExecuted | Kind::ActionVerified | Kind::ActionFailed
        )
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<Kind> for str {
    fn eq(&self, other: &Kind) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Kind> for String {
    fn eq(&self, other: &Kind) -> bool {
        self == other.as_str()
    }
}

/// `response.proposed`: the steps the case calls for, numbered; a later proposal replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseProposed {
    /// 1 for the case's first proposal, then 2, ...
    pub proposal: u32,
    pub steps: Vec<crate::proposal::Step>,
}

/// `response.approved`: the analyst approved these steps of a proposal (the entry's actor and
/// time say who and when).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseApproved {
    pub proposal: u32,
    pub steps: Vec<u32>,
}

/// `response.skipped`: the analyst decided against these steps, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseSkipped {
    pub proposal: u32,
    pub steps: Vec<u32>,
    #[serde(default)]
    pub reason: String,
}

/// `action.planned`: an approved plan, before anything ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionPlanned {
    pub plan: Plan,
    pub approved_by: String,
    /// Where it acts (entries before this field was recorded have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// `action.executed`: the provider accepted the change; `result` holds the ids it created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionExecuted {
    pub action: String,
    pub resource: String,
    /// The first release recorded no result; its entries read as `null`.
    #[serde(default)]
    pub result: Value,
}

/// `action.verified`: the resource holds the planned state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionVerified {
    pub action: String,
    pub resource: String,
    /// Where it holds (entries before this field was recorded have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(flatten)]
    pub how: Verified,
}

/// How a verified resource came to be in its planned state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Verified {
    /// It already was: nothing ran, and `state` is what the plan read.
    Unchanged { state: Value, note: String },
    /// The action ran and a fresh read showed what the plan expected.
    Changed { expected: Value, observed: Value },
}

impl Verified {
    /// What the resource was seen to be.
    pub fn state(&self) -> &Value {
        match self {
            Verified::Unchanged { state, .. } => state,
            Verified::Changed { observed, .. } => observed,
        }
    }
}

/// Where an action failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Plan,
    Execute,
    Verify,
    /// No stage recorded: the first release's failures (of execution or of verification)
    /// named none. Only ever read from such an entry, never written.
    #[default]
    #[serde(skip)]
    Unrecorded,
}

impl Stage {
    /// Whether the entry named no stage (see [`Stage::Unrecorded`]).
    pub fn is_unrecorded(&self) -> bool {
        *self == Stage::Unrecorded
    }
}

/// `action.failed`: what failed, at which stage, and what was seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionFailed {
    /// Absent in entries written before actions named themselves when planning failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub resource: String,
    /// When planning failed: the larger resource this one is part of (a disk's instance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_of: Option<String>,
    #[serde(default, skip_serializing_if = "Stage::is_unrecorded")]
    pub stage: Stage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<Value>,
}

/// `case.opened`: the case as it was opened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseOpened {
    pub title: String,
    pub severity: Option<String>,
    pub owner: Option<String>,
}

/// `case.assigned`: who owns the case from now on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseAssigned {
    pub owner: String,
}

/// `case.status`: a move to a later phase (or to closed), and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseStatus {
    pub from: String,
    pub to: String,
    /// Empty when none was given.
    pub reason: String,
}

/// `case.triaged`: the triage as `squall triage` printed it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseTriaged {
    pub severity: String,
    pub reasons: Vec<String>,
    pub assets: Vec<TriagedAsset>,
}

/// One affected account or project of a [`CaseTriaged`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriagedAsset {
    pub provider: Option<Provider>,
    pub id: String,
    pub name: Option<String>,
    pub possible_shadow_it: bool,
    pub answers: Vec<TriageAnswer>,
    pub questions: Vec<TriageQuestion>,
    pub flags: Vec<String>,
}

/// A question triage answered from the inventory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageAnswer {
    pub question: String,
    pub answer: String,
}

/// A question the inventory could not answer, and whom to ask.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageQuestion {
    pub question: String,
    pub ask: String,
}

/// `hunt.run`: a hunt whose detections went into the case. The logs it read are the case's
/// sources, which the timeline and scope read again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HuntRun {
    /// The paths as given.
    pub inputs: Vec<String>,
    /// Every file read, absolute.
    pub files: Vec<String>,
    pub records: u64,
    pub rules: u64,
    pub detections: u64,
    /// Each file's digest as it was hunted, so the case can tell later whether a source it
    /// reads again is still what the hunt saw. Absent from hunts recorded before sources were
    /// hashed.
    #[serde(default)]
    pub sources: Vec<SourceDigest>,
    /// AWS's IP ranges the stolen-credential detector placed addresses with (where from, as
    /// `path`; their digest), when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_ip_ranges: Option<SourceDigest>,
}

/// A hunted file's SHA-256 and size.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceDigest {
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

/// `detection.attached`: the detection as `squall hunt` printed it in JSON (read it with
/// [`crate::finding::Finding::from_detection`]), with the four fields the case keeps beside
/// it set by the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DetectionAttached {
    pub rule_id: String,
    pub rule_title: String,
    /// A level's name, as the hunt gave it.
    pub level: String,
    /// As the log wrote it; `null` when the record had none.
    pub event_time: Option<String>,
    /// Every other field of the detection, verbatim.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl DetectionAttached {
    /// The payload recording `detection` (a detection's JSON object) with the case's own
    /// values of the fields it keeps beside it; they replace the detection's.
    pub fn new(
        detection: &Value,
        rule_id: &str,
        rule_title: &str,
        level: &str,
        event_time: Option<&str>,
    ) -> DetectionAttached {
        let mut rest = detection.as_object().cloned().unwrap_or_default();
        for kept in ["rule_id", "rule_title", "level", "event_time"] {
            rest.remove(kept);
        }
        DetectionAttached {
            rule_id: rule_id.to_string(),
            rule_title: rule_title.to_string(),
            level: level.to_string(),
            event_time: event_time.map(str::to_string),
            rest,
        }
    }
}

/// `evidence.added`: a file recorded with its digest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceAdded {
    /// The evidence's number on the case, from 1.
    pub evidence_id: u64,
    pub path: String,
    pub sha256: String,
    pub size: u64,
    pub description: String,
    /// Where it came from (a host, a bucket, an acquisition); `null` when not said.
    pub source: Option<String>,
    /// Where it is kept now.
    pub stored_at: String,
}

/// `task.added`: a to-do on the case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskAdded {
    /// The task's number on the case, from 1.
    pub task: u64,
    pub text: String,
    pub owner: Option<String>,
}

/// `task.done`: a task finished, with what came of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDone {
    pub task: u64,
    pub result: String,
}

/// `note`: free text on the case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub text: String,
    /// For the postmortem's lessons learned. Recorded only when set: a plain note is
    /// `{"text": ...}` alone, as it was before lessons existed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub lesson: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `inventory.imported` (in the inventory's log): records read from a file, replacing earlier
/// records of the same provider and id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryImported {
    /// The file they came from.
    pub source: String,
    pub assets: Vec<Asset>,
    /// Resources and their tags, replacing earlier records of the same provider, account and
    /// id. Recorded only when the import held some: an import of accounts alone is the JSON
    /// it was before resources existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
}

/// `inventory.adopted` (in the inventory's log): the inventory an earlier release kept without
/// a log, taken in as found before the first import is recorded. A record is whatever its row
/// held (its text, when that was not JSON), so a bad row is named rather than lost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryAdopted {
    pub source: String,
    pub assets: Vec<Value>,
}

/// `logs.collected`: a provider's logs fetched into the case's folder for a window (each
/// file also an `evidence.added`), what their providers' own integrity records said of them,
/// and the gaps filled from the provider's API. The check a hunt of collected logs reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogsCollected {
    pub provider: String,
    pub since: String,
    pub until: String,
    /// Where from (`s3://bucket/prefix/`).
    pub source: String,
    /// The trail whose bucket it is, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trail: Option<String>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// Files in the window, fetched now or already in the case, and their bytes as stored.
    pub files: u64,
    pub bytes: u64,
    /// Of those, already recorded by an earlier run.
    pub already: u64,
    pub digests: u64,
    /// Digests whose signature was checked and holds.
    pub digests_verified: u64,
    /// Files that could not be fetched or read (named, with why).
    pub failures: Vec<String>,
    /// What the provider's integrity records say is wrong: files missing, altered, or
    /// vouched for by no digest; digests moved, unsigned or broken out of their chain.
    #[serde(default)]
    pub integrity: Vec<String>,
    /// What could not be checked, and why.
    pub unchecked: Vec<String>,
    pub gaps: Vec<CollectedGap>,
    /// `LookupEvents` files of earlier runs whose every event has been delivered since: a
    /// hunt of the case leaves them out.
    #[serde(default)]
    pub superseded: Vec<String>,
    pub warnings: Vec<String>,
}

/// A time the delivered files do not cover, and what the provider's API gave for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectedGap {
    pub account: String,
    pub region: String,
    pub from: String,
    pub to: String,
    pub why: String,
    /// Events written that the delivered files did not hold.
    pub events: u64,
    /// The file they were written to, when there were any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Why it was not asked of the provider, or only partly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A typed payload and the kind it is recorded under.
pub trait Payload: Serialize + for<'de> Deserialize<'de> {
    const KIND: Kind;

    /// The JSON the ledger records.
    fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("payloads are plain data")
    }

    /// Reads a recorded payload of this kind; `None` when it does not have this shape (a
    /// tampered or foreign entry, which the ledger's checks report).
    fn from_value(payload: &Value) -> Option<Self> {
        Self::deserialize(payload).ok()
    }
}

impl Payload for ActionPlanned {
    const KIND: Kind = Kind::ActionPlanned;
}
impl Payload for ResponseProposed {
    const KIND: Kind = Kind::ResponseProposed;
}
impl Payload for ResponseApproved {
    const KIND: Kind = Kind::ResponseApproved;
}
impl Payload for ResponseSkipped {
    const KIND: Kind = Kind::ResponseSkipped;
}
impl Payload for ActionExecuted {
    const KIND: Kind = Kind::ActionExecuted;
}
impl Payload for ActionVerified {
    const KIND: Kind = Kind::ActionVerified;
}
impl Payload for ActionFailed {
    const KIND: Kind = Kind::ActionFailed;
}
impl Payload for LogsCollected {
    const KIND: Kind = Kind::LogsCollected;
}
impl Payload for CaseOpened {
    const KIND: Kind = Kind::CaseOpened;
}
impl Payload for CaseAssigned {
    const KIND: Kind = Kind::CaseAssigned;
}
impl Payload for CaseStatus {
    const KIND: Kind = Kind::CaseStatus;
}
impl Payload for CaseTriaged {
    const KIND: Kind = Kind::CaseTriaged;
}
impl Payload for HuntRun {
    const KIND: Kind = Kind::HuntRun;
}
impl Payload for DetectionAttached {
    const KIND: Kind = Kind::DetectionAttached;
}
impl Payload for EvidenceAdded {
    const KIND: Kind = Kind::EvidenceAdded;
}
impl Payload for TaskAdded {
    const KIND: Kind = Kind::TaskAdded;
}
impl Payload for TaskDone {
    const KIND: Kind = Kind::TaskDone;
}
impl Payload for Note {
    const KIND: Kind = Kind::Note;
}
impl Payload for InventoryImported {
    const KIND: Kind = Kind::InventoryImported;
}
impl Payload for InventoryAdopted {
    const KIND: Kind = Kind::InventoryAdopted;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Kind::parse("case.deleted"), None);
    }

    #[test]
    fn action_payloads_keep_the_json_earlier_releases_wrote() {
        // The shapes the driver wrote before these types existed (issue 9): byte-identical
        // JSON keeps old ledgers verifying.
        let unchanged = json!({"action": "a", "resource": "r", "state": {"x": 1},
                               "note": "already in the expected state; nothing changed"});
        let v = ActionVerified::from_value(&unchanged).unwrap();
        assert!(matches!(v.how, Verified::Unchanged { .. }));
        assert_eq!(v.to_value(), unchanged);
        let changed = json!({"action": "a", "resource": "r", "expected": {"x": 1}, "observed": {"x": 1, "y": 2}});
        let v = ActionVerified::from_value(&changed).unwrap();
        assert_eq!(v.how.state(), &json!({"x": 1, "y": 2}));
        assert_eq!(v.to_value(), changed);
        for failed in [
            json!({"stage": "plan", "resource": "r", "error": "e"}),
            json!({"action": "a", "resource": "r", "stage": "execute", "error": "e"}),
            json!({"action": "a", "resource": "r", "stage": "verify", "expected": {}, "observed": {"s": 1}}),
        ] {
            assert_eq!(
                ActionFailed::from_value(&failed).unwrap().to_value(),
                failed
            );
        }
        let planned = json!({"approved_by": "alice", "plan": {"action": "a", "resource": "r",
            "before": {}, "after": {"s": 1}, "visible_to_attacker": true, "already_done": false}});
        assert_eq!(
            ActionPlanned::from_value(&planned).unwrap().to_value(),
            planned
        );
    }

    /// `to_value` is the JSON the store's `json!` wrote before the payloads had types, and
    /// that JSON reads back into the same value.
    fn same_as_before<P: Payload + PartialEq + std::fmt::Debug>(typed: P, before: Value) {
        assert_eq!(typed.to_value(), before, "{}", P::KIND);
        assert_eq!(P::from_value(&before).as_ref(), Some(&typed), "{}", P::KIND);
    }

    #[test]
    fn case_payloads_keep_the_json_earlier_releases_wrote() {
        // `insert_case`: an unset severity or owner is `null`, not absent.
        let (title, severity, owner) = ("Leaked key", Some("high"), None::<&str>);
        same_as_before(
            CaseOpened {
                title: title.into(),
                severity: severity.map(Into::into),
                owner: None,
            },
            json!({"title": title, "severity": severity, "owner": owner}),
        );
        same_as_before(
            CaseAssigned {
                owner: "bob".into(),
            },
            json!({"owner": "bob"}),
        );
        let (current, status, reason) = ("open", "contained", "");
        same_as_before(
            CaseStatus {
                from: current.into(),
                to: status.into(),
                reason: reason.into(),
            },
            json!({"from": current, "to": status, "reason": reason}),
        );
    }

    #[test]
    fn a_note_records_lesson_only_when_it_is_one() {
        let text = "Replace CI keys with OIDC roles";
        same_as_before(
            Note {
                text: text.into(),
                lesson: true,
            },
            json!({"text": text, "lesson": true}),
        );
        same_as_before(
            Note {
                text: text.into(),
                lesson: false,
            },
            json!({"text": text}),
        );
    }

    #[test]
    fn task_and_evidence_payloads_keep_the_json_earlier_releases_wrote() {
        let (id, text, owner) = (2u64, "Rotate the key", None::<&str>);
        same_as_before(
            TaskAdded {
                task: id,
                text: text.into(),
                owner: None,
            },
            json!({"task": id, "text": text, "owner": owner}),
        );
        same_as_before(
            TaskAdded {
                task: 1,
                text: text.into(),
                owner: Some("carol".into()),
            },
            json!({"task": 1, "text": text, "owner": "carol"}),
        );
        same_as_before(
            TaskDone {
                task: id,
                result: "rotated".into(),
            },
            json!({"task": id, "result": "rotated"}),
        );
        let source: Option<&str> = None;
        same_as_before(
            EvidenceAdded {
                evidence_id: 1,
                path: "/e/disk.raw".into(),
                sha256: "ab".repeat(32),
                size: 16,
                description: "a <disk>".into(),
                source: None,
                stored_at: "/home/cases/C-0001/disk.raw".into(),
            },
            json!({
                "evidence_id": 1, "path": "/e/disk.raw", "sha256": "ab".repeat(32), "size": 16,
                "description": "a <disk>", "source": source,
                "stored_at": "/home/cases/C-0001/disk.raw",
            }),
        );
    }

    #[test]
    fn a_hunt_keeps_its_json_and_one_from_before_sources_were_hashed_still_reads() {
        let run = HuntRun {
            inputs: vec!["logs".into()],
            files: vec!["/l/a.json".into(), "/l/b.json.gz".into()],
            records: 120,
            rules: 40,
            detections: 3,
            sources: vec![SourceDigest {
                path: "/l/a.json".into(),
                sha256: "cd".repeat(32),
                size: 4096,
            }],
            aws_ip_ranges: None,
        };
        same_as_before(
            run.clone(),
            json!({
                "inputs": ["logs"], "files": ["/l/a.json", "/l/b.json.gz"], "records": 120,
                "rules": 40, "detections": 3,
                "sources": [{"path": "/l/a.json", "sha256": "cd".repeat(32), "size": 4096}],
            }),
        );
        let before_digests = json!({"inputs": ["logs"], "files": ["/l/a.json"], "records": 1,
                                    "rules": 1, "detections": 0});
        let read = HuntRun::from_value(&before_digests).unwrap();
        assert!(read.sources.is_empty());
        assert_eq!(read.files, ["/l/a.json"]);
    }

    #[test]
    fn an_attached_detection_is_the_hunts_json_with_the_cases_own_fields() {
        // `attach` copied the detection and set these four keys over it.
        let detection = json!({"rule_id": "from-the-hunt", "rule_title": "T", "level": "high",
                               "tags": ["t"], "event_time": "2026-10-02T09:28:12Z",
                               "principal": "root", "resource": null,
                               "evidence": {"file": "/l/a.json", "record_index": 4}});
        let mut before = detection.clone();
        let map = before.as_object_mut().unwrap();
        map.insert("rule_id".into(), "r-1".into());
        map.insert("rule_title".into(), "Root login".into());
        map.insert("level".into(), "critical".into());
        map.insert("event_time".into(), None::<String>.into());
        let typed = DetectionAttached::new(&detection, "r-1", "Root login", "critical", None);
        assert_eq!(typed.rest["principal"], "root");
        same_as_before(typed, before);
    }

    #[test]
    fn triage_and_inventory_payloads_keep_their_json() {
        let triaged = json!({
            "severity": "critical",
            "reasons": ["highest detection level high (Root login)", "111122223333 is production"],
            "assets": [
                {"provider": "aws", "id": "111122223333", "name": "shop", "possible_shadow_it": false,
                 "answers": [{"question": "Production or test?", "answer": "prod"}],
                 "questions": [], "flags": []},
                {"provider": null, "id": "acme-prod", "name": null, "possible_shadow_it": true,
                 "answers": [], "questions": [{"question": "What is it for?", "ask": "the owner"}],
                 "flags": ["not in the inventory: possible shadow IT"]},
            ],
        });
        let typed = CaseTriaged::from_value(&triaged).unwrap();
        assert_eq!(typed.assets[0].provider, Some(Provider::Aws));
        assert_eq!(typed.to_value(), triaged);

        let assets: Vec<Asset> = vec![
            serde_json::from_value(json!({"provider": "aws", "id": "111122223333", "env": "prod"}))
                .unwrap(),
        ];
        let source = "inventory.yaml";
        same_as_before(
            InventoryImported {
                source: source.into(),
                assets: assets.clone(),
                resources: Vec::new(),
            },
            json!({"source": source, "assets": assets}),
        );
        let resources: Vec<Resource> = vec![
            serde_json::from_value(json!({"provider": "aws", "account": "111122223333",
                "id": "i-0abc", "kind": "instance", "tags": {"Environment": "prod"}}))
            .unwrap(),
        ];
        same_as_before(
            InventoryImported {
                source: source.into(),
                assets: assets.clone(),
                resources: resources.clone(),
            },
            json!({"source": source, "assets": assets, "resources": resources}),
        );
        // Rows adopted as found: an unreadable one is kept as its text.
        let existing = vec![
            json!({"provider": "gcp", "id": "acme-prod"}),
            json!("not json"),
        ];
        let source = "(inventory of an earlier squall, adopted as found)";
        same_as_before(
            InventoryAdopted {
                source: source.into(),
                assets: existing.clone(),
            },
            json!({"source": source, "assets": existing}),
        );
    }

    #[test]
    fn the_first_releases_action_entries_still_read() {
        // No result on `action.executed`, no stage on `action.failed` (execution errors and
        // failed verifications alike); the latter writes back as it was.
        let executed = json!({"action": "deactivate-access-key", "resource": "AKIA1"});
        assert_eq!(
            ActionExecuted::from_value(&executed).unwrap().result,
            Value::Null
        );
        for failed in [
            json!({"action": "deactivate-access-key", "resource": "AKIA1", "error": "throttled"}),
            json!({"action": "deactivate-access-key", "resource": "AKIA1",
                   "expected": {"status": "Inactive"}, "observed": {"status": "Active"}}),
        ] {
            let typed = ActionFailed::from_value(&failed).unwrap();
            assert_eq!(typed.stage, Stage::Unrecorded);
            assert_eq!(typed.to_value(), failed);
        }
        // No entry names the unrecorded stage.
        let named = json!({"action": "a", "resource": "r", "stage": "unrecorded"});
        assert!(ActionFailed::from_value(&named).is_none());
    }

    #[test]
    fn response_payloads_say_the_proposal_and_the_steps() {
        use crate::proposal::{Phase, Step};
        let step = Step {
            step: 1,
            phase: Phase::Undo,
            provider: Provider::Aws,
            action: "start-logging".into(),
            resource: "org".into(),
            account: None,
            region: None,
            with: Default::default(),
            reason: "stopped by x".into(),
            record: None,
            after: vec![],
            by_hand: None,
        };
        let proposed = ResponseProposed {
            proposal: 2,
            steps: vec![step],
        };
        assert_eq!(
            proposed.to_value(),
            json!({"proposal": 2, "steps": [{"step": 1, "phase": "undo", "provider": "aws",
                   "action": "start-logging", "resource": "org", "reason": "stopped by x"}]})
        );
        assert_eq!(
            ResponseProposed::from_value(&proposed.to_value()),
            Some(proposed)
        );
        let skipped = json!({"proposal": 1, "steps": [3], "reason": "kept"});
        assert_eq!(
            ResponseSkipped::from_value(&skipped).map(|s| s.steps),
            Some(vec![3])
        );
        assert!(Kind::parse("response.approved").is_some_and(Kind::is_response));
        assert!(!Kind::ActionPlanned.is_response());
    }

    #[test]
    fn a_payload_of_another_shape_is_not_read_as_one() {
        assert!(CaseStatus::from_value(&json!({"forged": "x"})).is_none());
        assert!(EvidenceAdded::from_value(&json!({"evidence_id": "one"})).is_none());
        assert!(Note::from_value(&json!("text")).is_none());
    }
}

//! What the verbs need from a case store, as a trait, so a team server (PostgreSQL) can follow
//! the embedded SQLite store without touching the verbs.
//!
//! Every change is recorded as a ledger entry in the same transaction that changes the case's
//! state, so the ledger and the state cannot disagree, whatever stops the process.

use serde::Serialize;
use squall_core::finding::Finding;

use crate::ledger::{Entry, Head};

/// A hunt recorded on a case is its `hunt.run` payload.
pub use squall_core::entry::{HuntRun, SourceDigest};

/// Errors a store reports; each names the case or the file involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no case {0} (help: `squall case list` shows the cases)")]
    NoCase(String),
    #[error("case {0} is closed; reopening is not supported")]
    Closed(String),
    #[error("case store {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "case store {path} was written by a newer squall (schema {found}, this one knows {known})"
    )]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Case statuses, in the order an incident moves through them.
pub const STATUSES: &[&str] = &["open", "triaged", "contained", "recovered", "closed"];

/// A case as the verbs show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Case {
    pub id: String,
    pub title: String,
    pub status: String,
    pub severity: Option<String>,
    pub owner: Option<String>,
    pub created_at: String,
    /// When the incident was identified (first detection attached, or the case opened).
    pub identified_at: Option<String>,
    pub triaged_at: Option<String>,
    pub contained_at: Option<String>,
    pub recovered_at: Option<String>,
    pub closed_at: Option<String>,
    /// The ledger's last entry, kept apart from the ledger so a cut-off end is noticed.
    pub head_seq: u64,
    pub head_hash: String,
}

impl Case {
    pub fn head(&self) -> Option<Head> {
        (self.head_seq > 0).then(|| Head {
            seq: self.head_seq,
            hash: self.head_hash.clone(),
        })
    }
}

/// What `case new` asks for.
#[derive(Debug, Clone, Default)]
pub struct NewCase {
    pub title: String,
    pub severity: Option<String>,
    pub owner: Option<String>,
}

/// A detection to attach: the identity used to avoid attaching it twice, and its full JSON.
#[derive(Debug, Clone)]
pub struct NewDetection {
    pub rule_id: String,
    pub title: String,
    pub level: String,
    pub event_time: Option<String>,
    /// The provider's event id; with the rule id and the record's digest it identifies the
    /// detection even when the same event is delivered in two files.
    pub event_id: Option<String>,
    /// SHA-256 of the record's bytes. Event ids are written by whoever wrote the log, so an id
    /// alone would let a decoy record with the real event's id hide the real one.
    pub record_sha256: Option<String>,
    pub file: String,
    pub record_index: u64,
    /// The detection as `squall hunt` prints it in JSON.
    pub json: serde_json::Value,
}

impl NewDetection {
    /// Event-time order, so the ledger tells the story in the order it happened.
    pub fn sort_by_time(detections: &mut [NewDetection]) {
        detections.sort_by(|a, b| {
            (&a.event_time, &a.file, a.record_index).cmp(&(&b.event_time, &b.file, b.record_index))
        });
    }
}

/// A detection attached to a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttachedDetection {
    pub rule_id: String,
    pub title: String,
    pub level: String,
    pub event_time: Option<String>,
    /// The record as attached, shown verbatim.
    pub detection: serde_json::Value,
    /// `detection` read as a finding: what triage, the timeline and the report read. `None`
    /// when the record lacks the fields every detection has (a damaged or hand-made entry).
    #[serde(skip)]
    pub finding: Option<Finding>,
    pub ledger_seq: u64,
    /// The key the store deduplicates on (a row's; `None` when rebuilt from the ledger, which
    /// derives it from the payload): checked, since a forged key could turn a future detection
    /// away as "already attached".
    #[serde(skip)]
    pub identity: Option<String>,
}

/// How many of the offered detections were new.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attached {
    pub added: u64,
    pub already_attached: u64,
    /// Event ids seen again with other content (a rule, an id, two different records): both
    /// are attached, and this says so, since one of them is not what the provider logged.
    pub conflicts: Vec<String>,
}

/// A piece of evidence to record; its hash is computed by the caller while streaming it.
#[derive(Debug, Clone)]
pub struct NewEvidence {
    pub path: String,
    pub sha256: String,
    pub size: u64,
    pub description: String,
    /// Where it came from (a host, a bucket, an acquisition).
    pub source: Option<String>,
    /// Where it is kept now.
    pub stored_at: String,
}

/// Evidence recorded on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub id: u64,
    pub path: String,
    pub sha256: String,
    pub size: u64,
    pub description: String,
    pub source: Option<String>,
    pub stored_at: String,
    pub added_by: String,
    pub added_at: String,
    pub ledger_seq: u64,
}

/// The case a hunt is recorded on.
#[derive(Debug, Clone, Copy)]
pub enum HuntCase<'a> {
    Existing(&'a str),
    /// Opened with the hunt, so that a case never exists without the hunt that made it.
    New(&'a NewCase),
}

/// A to-do on a case: who does what, and whether it is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    pub id: u64,
    pub text: String,
    pub owner: Option<String>,
    pub done: bool,
    pub created_at: String,
    pub done_at: Option<String>,
}

/// The operations the verbs use. Writes take the acting analyst and return the ledger entry
/// that records them.
pub trait Store {
    fn open_case(&mut self, actor: &str, new: &NewCase) -> Result<Case>;
    /// A note; `lesson` marks it for the postmortem's lessons-learned section.
    fn note(&mut self, case: &str, actor: &str, text: &str, lesson: bool) -> Result<Entry>;
    fn assign(&mut self, case: &str, actor: &str, owner: &str) -> Result<Entry>;
    /// Records a stage of a response action: `action.planned`, `action.executed`,
    /// `action.verified` or `action.failed`, with the plan, result or check as payload.
    fn record_action(
        &mut self,
        case: &str,
        actor: &str,
        kind: &str,
        payload: serde_json::Value,
    ) -> Result<Entry>;
    /// Records a proposed response or the analyst's approval or skip of its steps
    /// (`response.proposed`, `response.approved`, `response.skipped`).
    fn record_response(
        &mut self,
        case: &str,
        actor: &str,
        kind: squall_core::Kind,
        payload: serde_json::Value,
    ) -> Result<Entry>;
    /// Moves a case to a later status (`triaged`, `contained`, `recovered`, `closed`),
    /// stamping the phase time.
    fn set_status(&mut self, case: &str, actor: &str, status: &str, reason: &str) -> Result<Entry>;
    fn attach_detections(
        &mut self,
        case: &str,
        actor: &str,
        detections: &[NewDetection],
    ) -> Result<Attached>;
    fn add_evidence(&mut self, case: &str, actor: &str, evidence: &NewEvidence)
    -> Result<Evidence>;
    /// Many pieces at once (collected logs), in one transaction: each its own ledger entry.
    fn add_evidence_batch(
        &mut self,
        case: &str,
        actor: &str,
        evidence: &[NewEvidence],
    ) -> Result<Vec<Evidence>>;
    /// Records what a log collection fetched, checked and filled (`logs.collected`).
    fn record_collection(
        &mut self,
        case: &str,
        actor: &str,
        collected: &squall_core::entry::LogsCollected,
    ) -> Result<Entry>;
    /// Records a hunt on the case, remembers the files it read and attaches its detections,
    /// all in one transaction: a hunt entry never claims detections that are not attached.
    /// `--new-case` opens the case in that same transaction. Returns the case's id.
    fn record_hunt(
        &mut self,
        case: HuntCase<'_>,
        actor: &str,
        run: &HuntRun,
        detections: &[NewDetection],
    ) -> Result<(String, Entry, Attached)>;
    /// Adds or replaces inventory records (by provider and id); returns how many.
    fn import_inventory(
        &mut self,
        actor: &str,
        source: &str,
        assets: &[crate::inventory::Asset],
    ) -> Result<usize> {
        self.import_resources(actor, source, assets, &[])
    }
    /// [`Store::import_inventory`] with resources and their tags, which replace earlier
    /// records of the same provider, account and id. Resources are kept in the inventory's
    /// log alone (no table to drift from it).
    fn import_resources(
        &mut self,
        actor: &str,
        source: &str,
        assets: &[crate::inventory::Asset],
        resources: &[crate::inventory::Resource],
    ) -> Result<usize>;
    /// Records a triage: severity, answers and open questions; moves an open case to triaged.
    fn record_triage(
        &mut self,
        case: &str,
        actor: &str,
        severity: &str,
        payload: serde_json::Value,
    ) -> Result<Entry>;

    fn case(&self, id: &str) -> Result<Case>;
    fn cases(&self) -> Result<Vec<Case>>;
    fn ledger(&self, case: &str) -> Result<Vec<Entry>>;
    /// One entry of a case's ledger, as stored: what a deletion reads back to know its record
    /// is there before anything goes.
    fn entry(&self, case: &str, seq: u64) -> Result<Option<Entry>>;
    fn detections(&self, case: &str) -> Result<Vec<AttachedDetection>>;
    fn evidence(&self, case: &str) -> Result<Vec<Evidence>>;
    fn add_task(
        &mut self,
        case: &str,
        actor: &str,
        text: &str,
        owner: Option<&str>,
    ) -> Result<Task>;
    /// Marks a task done, with what came of it.
    fn finish_task(&mut self, case: &str, actor: &str, id: u64, result: &str) -> Result<Entry>;
    fn tasks(&self, case: &str) -> Result<Vec<Task>>;
    /// The log files hunted for this case.
    fn sources(&self, case: &str) -> Result<Vec<String>>;
    /// The inventory table's records, as stored.
    fn inventory(&self) -> Result<Vec<crate::inventory::Asset>>;
    /// The inventory as its own hash-chained log tells it, with what does not hold.
    fn inventory_checked(&self) -> Result<CheckedInventory>;
}

/// The inventory rebuilt from its log, and what failed: what triage answers from.
#[derive(Debug, Clone, Default)]
pub struct CheckedInventory {
    pub assets: Vec<crate::inventory::Asset>,
    /// Resources and their tags, as the log's imports left them.
    pub resources: Vec<crate::inventory::Resource>,
    /// A broken log, or a table that disagrees with it.
    pub failures: Vec<String>,
    /// An inventory from an earlier squall, which no log covers yet.
    pub unchecked: Vec<String>,
}

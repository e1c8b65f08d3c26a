//! The kinds of entry a case's ledger holds, and the typed payloads of those that later code
//! reads back. Writers and readers use these instead of spelling kinds and keys by hand, so a
//! renamed field is a compile error rather than a silently empty report.
//!
//! Payloads serialize to exactly the JSON earlier releases wrote: the ledger's hashes cover
//! that JSON, and a store written by an earlier release must verify unchanged.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
}

impl Kind {
    pub const ALL: [Kind; 16] = [
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
        }
    }

    /// The kind a recorded name stands for; `None` for a name no release wrote (which a
    /// reader reports rather than guesses at).
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
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

/// `action.planned`: an approved plan, before anything ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionPlanned {
    pub plan: Plan,
    pub approved_by: String,
}

/// `action.executed`: the provider accepted the change; `result` holds the ids it created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionExecuted {
    pub action: String,
    pub resource: String,
    pub result: Value,
}

/// `action.verified`: the resource holds the planned state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionVerified {
    pub action: String,
    pub resource: String,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Plan,
    Execute,
    Verify,
}

/// `action.failed`: what failed, at which stage, and what was seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionFailed {
    /// Absent when planning failed (the action's name comes from its plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub resource: String,
    pub stage: Stage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<Value>,
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
impl Payload for ActionExecuted {
    const KIND: Kind = Kind::ActionExecuted;
}
impl Payload for ActionVerified {
    const KIND: Kind = Kind::ActionVerified;
}
impl Payload for ActionFailed {
    const KIND: Kind = Kind::ActionFailed;
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
}

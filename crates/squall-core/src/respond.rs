//! The response contract every provider implements: one [`Action`] per resource, planned from
//! a fresh read, executed, read back and compared. The driver that carries actions through
//! approval and records them in a case's ledger lives with the store (`squall_case::respond`);
//! a provider crate needs only this, so it compiles without the store.

use std::future::Future;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An error from a provider call, already saying which call and resource failed.
pub type ActionError = Box<dyn std::error::Error + Send + Sync>;

/// A response action before it runs: printable, recordable, approvable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// `isolate-instance`, `deactivate-access-key`, `acquire-volume`, ...
    pub action: String,
    /// The resource it changes (an instance id, a key id, a volume id).
    pub resource: String,
    pub before: Value,
    /// What a fresh read must show afterwards; verification compares against this.
    pub after: Value,
    /// The attacker will notice (their next call fails, their shell hangs): scope first.
    pub visible_to_attacker: bool,
    /// Already in the expected state: running it changes nothing.
    pub already_done: bool,
    /// A step the analyst should know about (for example: "the instance will be stopped").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Plan {
    /// A plan with no notes; it is already done when `before` shows everything `after` asks
    /// for, so a re-run records "unchanged" instead of acting twice.
    pub fn new(action: &str, resource: &str, before: Value, after: Value, visible: bool) -> Plan {
        let already_done = satisfies(&before, &after);
        Plan {
            action: action.to_string(),
            resource: resource.to_string(),
            before,
            after,
            visible_to_attacker: visible,
            already_done,
            notes: Vec::new(),
        }
    }
}

/// Where a run's actions act: the account (project, subscription) and region the provider's
/// clients reach. Recorded with each plan and verification, so a step on `org-trail` in one
/// account is not taken as done by the same name's restore in another.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// Whether two records of where something acted (an account, a region) can be the same
/// place: equal, or either unknown (entries from before places were recorded say none).
pub fn same_place(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// One response action on one resource, as a provider implements it.
pub trait Action: Sync {
    /// The resource it is about, to name it even when planning fails.
    fn resource(&self) -> String;
    /// Its name, the one its plan carries (`isolate-instance`): a failure to plan is recorded
    /// under it, so the ledger says what was tried, not only where.
    fn action(&self) -> &'static str;
    /// The larger resource this one is a part of (a disk's instance), when a failure to plan
    /// must still count against it: an instance one of whose disks could not even be planned
    /// is not acquired.
    fn part_of(&self) -> Option<String> {
        None
    }
    /// Reads the resource and says what would change. Changes nothing.
    fn plan(&self) -> impl Future<Output = Result<Plan, ActionError>> + Send;
    /// Carries the plan out; returns facts worth recording (ids of what was created).
    fn execute(&self, plan: &Plan) -> impl Future<Output = Result<Value, ActionError>> + Send;
    /// Reads the state again, to compare with `plan.after`.
    fn observe(&self, plan: &Plan) -> impl Future<Output = Result<Value, ActionError>> + Send;
}

/// How one resource's action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Planned only: the analyst did not approve (`--yes`).
    Planned,
    /// Already in the expected state; nothing changed.
    Unchanged,
    /// Executed and read back as planned.
    Verified,
    /// Could not be planned, executed or verified.
    Failed,
}

impl Status {
    /// The name outcomes are printed and serialized with.
    pub fn name(self) -> &'static str {
        match self {
            Status::Planned => "planned",
            Status::Unchanged => "unchanged",
            Status::Verified => "verified",
            Status::Failed => "failed",
        }
    }

    /// The resource is in the planned state (whether this run changed it or found it so).
    pub fn holds(self) -> bool {
        matches!(self, Status::Unchanged | Status::Verified)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// What happened to one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub action: String,
    pub resource: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The ledger entry that closed this resource's record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_seq: Option<u64>,
    /// The state read back (or found already done).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Value>,
}

/// True when `observed` shows everything `expected` asks for (extra fields are fine).
pub fn satisfies(observed: &Value, expected: &Value) -> bool {
    match (observed, expected) {
        (Value::Object(o), Value::Object(e)) => e
            .iter()
            .all(|(k, v)| satisfies(o.get(k).unwrap_or(&Value::Null), v)),
        (o, e) => o == e,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn verification_accepts_extra_fields_but_not_different_ones() {
        assert!(satisfies(
            &json!({"a": 1, "b": {"c": 2, "d": 3}}),
            &json!({"b": {"c": 2}})
        ));
        assert!(!satisfies(&json!({"a": 1}), &json!({"a": 2})));
        assert!(!satisfies(&json!({}), &json!({"a": false})));
        assert!(satisfies(&json!({}), &json!({"a": null})));
    }

    #[test]
    fn statuses_pad_in_tables_and_serialize_as_their_names() {
        assert_eq!(format!("{:<10}|", Status::Verified), "verified  |");
        assert_eq!(json!(Status::Unchanged), json!("unchanged"));
    }
}

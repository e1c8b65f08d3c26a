//! A response the case proposes: the steps its findings and what it touched call for, in a safe
//! order (acquire before anything destructive, contain, stop what the attacker launched once it
//! is acquired, undo each change, delete what it made for itself, rotate what leaked), each with its reason and the record it
//! comes from.
//!
//! A proposal, the analyst's approvals and skips are ledger entries (`response.proposed`,
//! `response.approved`, `response.skipped`): a front end shows and approves a plan from them
//! alone, and what ran is the usual `action.*` entries of each step's action.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::asset::Provider;

/// Where a step stands in the order of a response. Steps run phase by phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Copy what will be changed, while it is still as the attacker left it.
    Acquire,
    /// Cut the attacker's access: keys, users, roles' sessions, compromised instances.
    Contain,
    /// Stop what the attacker runs (after it was acquired).
    Stop,
    /// Undo each change the attacker made.
    Undo,
    /// Delete what the attacker created for itself (a user), once wholly described: after the
    /// undo steps, so those on the same resource are recorded and done first.
    Remove,
    /// Replace what leaked.
    Rotate,
    /// Close what was left open before the incident (a rule open to the world on SSH).
    Harden,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Acquire => "acquire",
            Phase::Contain => "contain",
            Phase::Stop => "stop",
            Phase::Undo => "undo",
            Phase::Remove => "remove",
            Phase::Rotate => "rotate",
            Phase::Harden => "harden",
        }
    }
}

/// The log record a step's reason comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRef {
    pub file: String,
    pub record_index: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

/// One step of a proposed response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Its number in the proposal, from 1: what `--approve 1,3-7` names.
    pub step: u32,
    pub phase: Phase,
    pub provider: Provider,
    /// The action as the provider's plans name it (`deactivate-access-key`, `isolate-instance`,
    /// `detach-policy`): what the step's `action.*` ledger entries will say.
    pub action: String,
    pub resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Particulars the action needs (the principal a policy is detached from, the accounts a
    /// snapshot is unshared from).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub with: BTreeMap<String, String>,
    /// Why: the finding or the change it answers.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordRef>,
    /// Steps that must be verified first (a launched instance is stopped only after its
    /// acquisition).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<u32>,
    /// Set when no Squall verb carries it out yet: what the responder does by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_hand: Option<String>,
}

/// A step's reason for a change the case's actors made: `created by P at T`.
pub fn changed_by(c: &crate::touched::Changed) -> String {
    format!(
        "{} by {} at {}",
        c.change.past(),
        c.record
            .principal
            .as_deref()
            .unwrap_or("an unknown principal"),
        c.record.time
    )
}

/// A step's reason for a resource the actors only used: when.
pub fn used_by_actors(r: &crate::touched::Resource) -> String {
    format!(
        "used by the case's actors from {} to {}",
        r.first_seen, r.last_seen
    )
}

impl RecordRef {
    /// The record a step's reason comes from.
    pub fn of(seen: &crate::touched::Seen) -> RecordRef {
        RecordRef {
            file: seen.file.clone(),
            record_index: seen.record_index,
            event_id: seen.event_id.clone(),
        }
    }
}

/// Step numbers as an analyst writes them: `all`, or `1,3-7`. `max` is the proposal's last
/// step; a number outside 1..=max, an empty item or a reversed range is refused, naming it.
pub fn parse_steps(spec: &str, max: u32) -> Result<Vec<u32>, String> {
    if spec.trim().eq_ignore_ascii_case("all") {
        return Ok((1..=max).collect());
    }
    let mut steps = Vec::new();
    for item in spec.split(',') {
        let item = item.trim();
        let number = |s: &str| {
            s.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| format!("step '{s}' is not a step of this proposal (1 to {max})"))
        };
        let (from, to) = match item.split_once('-') {
            Some((a, b)) => (number(a)?, number(b)?),
            None if item.is_empty() => return Err(format!("an empty step in '{spec}'")),
            None => {
                let n = number(item)?;
                (n, n)
            }
        };
        if from > to {
            return Err(format!("the range '{item}' runs backwards"));
        }
        steps.extend(from..=to);
    }
    steps.sort_unstable();
    steps.dedup();
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_read_as_analysts_write_them() {
        assert_eq!(parse_steps("all", 3), Ok(vec![1, 2, 3]));
        assert_eq!(parse_steps("1,3-5, 4", 6), Ok(vec![1, 3, 4, 5]));
        for bad in ["0", "7", "2-1", "1,,2", "x", "1-"] {
            assert!(parse_steps(bad, 6).is_err(), "{bad}");
        }
    }

    #[test]
    fn phases_run_in_the_order_of_a_response() {
        let mut phases = [
            Phase::Undo,
            Phase::Harden,
            Phase::Remove,
            Phase::Acquire,
            Phase::Rotate,
            Phase::Contain,
            Phase::Stop,
        ];
        phases.sort();
        assert_eq!(
            phases.map(Phase::name),
            [
                "acquire", "contain", "stop", "undo", "remove", "rotate", "harden"
            ]
        );
    }
}

//! A proposed response's standing, from the ledger alone: the latest `response.proposed`,
//! the analyst's approvals and skips of it, and each step done once its action is verified.
//! Here, beside the ledger, so the report and any front end read it the same way.

use std::collections::HashSet;

use serde::Serialize;
use squall_core::entry::{
    ActionFailed, ActionPlanned, ActionVerified, Kind, Payload, ResponseApproved, ResponseProposed,
    ResponseSkipped,
};
use squall_core::proposal::Step;

use crate::CaseFile;

/// Where a step stands, from the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Neither approved nor skipped yet.
    Proposed,
    Approved {
        by: String,
        at: String,
    },
    Skipped {
        by: String,
        at: String,
        reason: String,
    },
    /// Its action ran and was verified after the proposal was made.
    Done {
        at: String,
    },
}

/// A step and where it stands.
#[derive(Debug, Clone, Serialize)]
pub struct Standing {
    #[serde(flatten)]
    pub step: Step,
    #[serde(flatten)]
    pub status: Status,
}

/// The case's current proposal (its latest), each step with where it stands.
#[derive(Debug, Clone, Serialize)]
pub struct Current {
    pub proposal: u32,
    pub proposed_by: String,
    pub proposed_at: String,
    /// The ledger entry that holds it.
    pub seq: u64,
    pub steps: Vec<Standing>,
}

/// The case's latest proposal and the entry that holds it.
pub fn latest(file: &CaseFile) -> Option<(ResponseProposed, &crate::ledger::Entry)> {
    file.ledger
        .iter()
        .rev()
        .filter(|e| e.kind == Kind::ResponseProposed)
        .find_map(|e| ResponseProposed::from_value(&e.payload).map(|p| (p, e)))
}

/// The case's current proposal with each step's standing, from the ledger alone; `None` when
/// no response was proposed. The analyst's word counts for this proposal only (a later word on
/// a step replaces an earlier one); a step is done by its action verified anywhere in the
/// case's ledger, so proposing again never runs again what already ran.
pub fn current(file: &CaseFile) -> Option<Current> {
    let (proposal, entry) = latest(file)?;
    let mut standing: Vec<Standing> = proposal
        .steps
        .iter()
        .cloned()
        .map(|step| Standing {
            step,
            status: Status::Proposed,
        })
        .collect();
    let mark = |steps: &[u32], status: &Status, standing: &mut Vec<Standing>| {
        for s in standing.iter_mut().filter(|s| steps.contains(&s.step.step)) {
            s.status = status.clone();
        }
    };
    for e in file.ledger.iter().filter(|e| e.seq > entry.seq) {
        match Kind::parse(&e.kind) {
            Some(Kind::ResponseApproved) => {
                if let Some(a) = ResponseApproved::from_value(&e.payload)
                    .filter(|a| a.proposal == proposal.proposal)
                {
                    let status = Status::Approved {
                        by: e.actor.clone(),
                        at: e.time.clone(),
                    };
                    mark(&a.steps, &status, &mut standing);
                }
            }
            Some(Kind::ResponseSkipped) => {
                if let Some(a) = ResponseSkipped::from_value(&e.payload)
                    .filter(|a| a.proposal == proposal.proposal)
                {
                    let status = Status::Skipped {
                        by: e.actor.clone(),
                        at: e.time.clone(),
                        reason: a.reason,
                    };
                    mark(&a.steps, &status, &mut standing);
                }
            }
            _ => {}
        }
    }
    let actions = Actions::of(&file.ledger);
    for s in standing.iter_mut() {
        if let Some(at) = actions.done(&s.step) {
            s.status = Status::Done { at };
        }
    }
    Some(Current {
        proposal: proposal.proposal,
        proposed_by: entry.actor.clone(),
        proposed_at: entry.time.clone(),
        seq: entry.seq,
        steps: standing,
    })
}

/// The actions that copy one disk of an instance (AWS's volumes, Google's disks): an
/// instance's acquisition step is done when every one of its disks was copied.
const PER_DISK: [&str; 2] = ["acquire-volume", "acquire-disk"];

/// The case's verified and failed actions, and which instance each acquired volume belongs to.
struct Actions {
    /// Every verified action with its time, in ledger order.
    verified: Vec<(ActionVerified, String)>,
    /// Volume → instance, from the acquisition plans.
    volume_of: std::collections::HashMap<String, String>,
    /// Volumes whose acquisition failed.
    failed: HashSet<String>,
}

impl Actions {
    fn of(ledger: &[crate::Entry]) -> Actions {
        let mut a = Actions {
            verified: Vec::new(),
            volume_of: Default::default(),
            failed: HashSet::new(),
        };
        for e in ledger {
            match Kind::parse(&e.kind) {
                Some(Kind::ActionPlanned) => {
                    if let Some(p) = ActionPlanned::from_value(&e.payload)
                        && PER_DISK.contains(&p.plan.action.as_str())
                        && let Some(i) = p.plan.before["instance"].as_str()
                    {
                        a.volume_of.insert(p.plan.resource.clone(), i.to_string());
                    }
                }
                Some(Kind::ActionVerified) => {
                    if let Some(v) = ActionVerified::from_value(&e.payload) {
                        a.verified.push((v, e.time.clone()));
                    }
                }
                Some(Kind::ActionFailed) => {
                    if let Some(f) = ActionFailed::from_value(&e.payload)
                        && f.action.as_deref().is_some_and(|a| PER_DISK.contains(&a))
                    {
                        // A disk whose copy could not even be planned still counts against
                        // its instance.
                        if let Some(i) = f.part_of {
                            a.volume_of.entry(f.resource.clone()).or_insert(i);
                        }
                        a.failed.insert(f.resource);
                    }
                }
                _ => {}
            }
        }
        a
    }

    /// When the step was done, if it was.
    fn done(&self, step: &Step) -> Option<String> {
        if step.action == "acquire-instance" {
            // Every volume of the instance that was tried was acquired: one that failed (and
            // was not acquired since) leaves the step undone, so nothing destructive follows.
            let mine =
                |vol: &str| self.volume_of.get(vol).map(String::as_str) == Some(&step.resource);
            let verified: Vec<&(ActionVerified, String)> = self
                .verified
                .iter()
                .filter(|(v, _)| PER_DISK.contains(&v.action.as_str()) && mine(&v.resource))
                .collect();
            let unacquired = self
                .failed
                .iter()
                .filter(|vol| mine(vol))
                .any(|vol| !verified.iter().any(|(v, _)| v.resource == **vol));
            return match (verified.last(), unacquired) {
                (Some((_, at)), false) => Some(at.clone()),
                _ => None,
            };
        }
        self.verified
            .iter()
            .rev()
            .find(|(v, _)| done_by(step, v))
            .map(|(_, at)| at.clone())
    }
}

/// Whether a verified action carried out a step: the same action on the same resource (a
/// group's world rules, `sg-...:tcp/22:0.0.0.0/0`, are the group's), in the step's account
/// and region where both say (a trail or user of one name is another in another account;
/// entries from before places were recorded say none).
fn done_by(step: &Step, v: &ActionVerified) -> bool {
    use squall_core::respond::same_place;
    if v.action != step.action
        || !same_place(step.account.as_deref(), v.account.as_deref())
        || !same_place(step.region.as_deref(), v.region.as_deref())
    {
        return false;
    }
    if step.action == "replace-world-rule" {
        // AWS records a group's rules (`sg-...:tcp/22:0.0.0.0/0`), Google the rule itself.
        return v.resource == step.resource
            || v.resource
                .strip_prefix(step.resource.as_str())
                .is_some_and(|rest| rest.starts_with(':'));
    }
    v.resource == step.resource
}

/// Records the analyst's approval of steps (`1,3-7` or `all`) of the current proposal; with
#[cfg(test)]
mod tests {
    use squall_core::Provider;
    use squall_core::proposal::Phase;

    use super::*;

    fn step(action: &str, resource: &str) -> Step {
        Step {
            step: 1,
            phase: Phase::Acquire,
            provider: Provider::Aws,
            action: action.into(),
            resource: resource.into(),
            account: None,
            region: None,
            with: Default::default(),
            reason: String::new(),
            record: None,
            after: vec![],
            by_hand: None,
        }
    }

    /// A verified action on `resource`, in `account` when given.
    fn verified(action: &str, resource: &str, account: Option<&str>) -> ActionVerified {
        ActionVerified {
            action: action.into(),
            resource: resource.into(),
            account: account.map(Into::into),
            region: Some("us-east-1".into()),
            how: squall_core::entry::Verified::Changed {
                expected: serde_json::json!({}),
                observed: serde_json::json!({}),
            },
        }
    }

    #[test]
    fn a_step_is_done_by_its_own_action_and_an_instance_by_all_its_volumes() {
        let key = step("deactivate-access-key", "AKIA1");
        assert!(done_by(
            &key,
            &verified("deactivate-access-key", "AKIA1", None)
        ));
        assert!(!done_by(
            &key,
            &verified("deactivate-access-key", "AKIA2", None)
        ));
        let rule = step("replace-world-rule", "sg-1");
        assert!(done_by(
            &rule,
            &verified("replace-world-rule", "sg-1:tcp/22:0.0.0.0/0", None)
        ));
        assert!(!done_by(
            &rule,
            &verified("replace-world-rule", "sg-10:tcp/22:0.0.0.0/0", None)
        ));

        let at = |t: &str| t.to_string();
        let mut actions = Actions {
            verified: vec![(verified("acquire-volume", "vol-1", None), at("t1"))],
            volume_of: [(at("vol-1"), at("i-1")), (at("vol-2"), at("i-1"))].into(),
            failed: [at("vol-2")].into(),
        };
        let acquire = step("acquire-instance", "i-1");
        // One volume in, one failed: not done, so the instance is not stopped on half a copy.
        assert_eq!(actions.done(&acquire), None);
        actions
            .verified
            .push((verified("acquire-volume", "vol-2", None), at("t2")));
        assert_eq!(actions.done(&acquire).as_deref(), Some("t2"));
        assert_eq!(actions.done(&step("acquire-instance", "i-9")), None);
    }

    #[test]
    fn a_disk_whose_copy_could_not_be_planned_leaves_its_instance_unacquired() {
        use squall_core::entry::{ActionFailed, ActionPlanned, Payload, Stage};
        use squall_core::respond::Plan;
        let entry = |seq: u64, kind: Kind, payload: serde_json::Value| {
            crate::Entry::new(
                seq,
                format!("t{seq}"),
                "a".into(),
                kind.as_str().into(),
                payload,
                String::new(),
            )
        };
        let vm = "projects/p/zones/z/instances/web-1";
        let mut plan = Plan::new(
            "acquire-disk",
            "projects/p/zones/z/disks/boot",
            serde_json::json!({"instance": vm}),
            serde_json::json!({}),
            false,
        );
        plan.already_done = false;
        let planned = ActionPlanned {
            plan,
            approved_by: "a".into(),
            account: None,
            region: None,
        };
        let boot = verified("acquire-disk", "projects/p/zones/z/disks/boot", None);
        let data_failed = |part_of: Option<&str>| ActionFailed {
            action: Some("acquire-disk".into()),
            resource: "projects/p/zones/z/disks/data".into(),
            part_of: part_of.map(Into::into),
            stage: Stage::Plan,
            error: Some("refused".into()),
            expected: None,
            observed: None,
        };
        let ledger = |failed: ActionFailed| {
            vec![
                entry(1, ActionPlanned::KIND, planned.to_value()),
                entry(2, ActionVerified::KIND, boot.to_value()),
                entry(3, ActionFailed::KIND, failed.to_value()),
            ]
        };
        let acquire = step("acquire-instance", vm);
        // The data disk never got a plan, so only its failure says whose it is.
        assert_eq!(
            Actions::of(&ledger(data_failed(Some(vm)))).done(&acquire),
            None
        );
        // An entry from before failures named their instance: the boot disk alone counts.
        assert_eq!(
            Actions::of(&ledger(data_failed(None)))
                .done(&acquire)
                .as_deref(),
            Some("t2")
        );
    }

    #[test]
    fn a_step_in_one_account_is_not_done_by_the_same_name_in_another() {
        let mut trail = step("start-logging", "org-trail");
        trail.account = Some("111111111111".into());
        trail.region = Some("us-east-1".into());
        let there = verified("start-logging", "org-trail", Some("111111111111"));
        let elsewhere = verified("start-logging", "org-trail", Some("222222222222"));
        assert!(done_by(&trail, &there));
        assert!(!done_by(&trail, &elsewhere));
        let mut other_region = there.clone();
        other_region.region = Some("eu-west-1".into());
        assert!(!done_by(&trail, &other_region));
        // An entry from before places were recorded names none: it still counts.
        let older = verified("start-logging", "org-trail", None);
        assert!(done_by(&trail, &older));
    }
}

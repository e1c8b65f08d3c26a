//! Response actions, provider-neutral: every verb that touches the cloud (contain, acquire,
//! recover, release) is a set of [`Action`]s, one per resource, and [`run`] carries them
//! through the same safe sequence whatever the provider:
//!
//! 1. **plan**: read the resource, say what would change (state before, state expected after);
//! 2. **confirm**: without `--yes` stop here, having changed nothing;
//! 3. **execute**, 4. **verify** against a fresh read, 5. **record** all three in the ledger.
//!
//! Re-running converges: a plan that finds the resource already in the expected state records
//! "nothing changed" instead of doing it twice. Resources run concurrently, bounded, and a
//! failure on one does not stop the others: the outcome of each is returned for the summary.

use futures_util::StreamExt;
use squall_core::entry::{
    ActionExecuted, ActionFailed, ActionPlanned, ActionVerified, Payload, Stage, Verified,
};

pub use squall_core::respond::{
    Action, ActionError, Outcome, Place, Plan, Status, same_place, satisfies,
};

use crate::ledger::Entry;
use crate::store::{Result as StoreResult, Store};

/// Who runs the actions, on which case, and whether they approved.
pub struct Run<'a, S: Store> {
    pub store: &'a mut S,
    pub case: &'a str,
    pub actor: &'a str,
    /// The analyst's approval (`--yes`): without it only the plans are produced.
    pub approved: bool,
    /// How many resources are read or changed at once.
    pub concurrency: usize,
    /// Where the actions act, recorded with each plan and verification.
    pub place: Place,
}

impl<S: Store> Run<'_, S> {
    fn record<P: Payload>(&mut self, payload: &P) -> StoreResult<u64> {
        Ok(self
            .store
            .record_action(self.case, self.actor, P::KIND.as_str(), payload.to_value())?
            .seq)
    }

    /// Reads the plan just recorded at `seq` back from the store: nothing runs unless the
    /// ledger holds it as written (its hash intact), since for a deletion that entry is the
    /// only copy of what goes. The error says what did not read back.
    fn read_back(&self, seq: u64, planned: &ActionPlanned) -> StoreResult<Result<(), String>> {
        let what = format!(
            "the plan of {} on {} (ledger entry {seq})",
            planned.plan.action, planned.plan.resource
        );
        let Some(entry) = self.store.entry(self.case, seq)? else {
            return Ok(Err(format!(
                "{what} is not in the ledger: nothing was done"
            )));
        };
        if entry.kind != ActionPlanned::KIND
            || entry.computed_hash() != entry.hash
            || entry.payload != crate::ledger::normalize(planned.to_value())
        {
            return Ok(Err(format!(
                "{what} does not read back from the ledger as it was written: nothing was done"
            )));
        }
        Ok(Ok(()))
    }

    /// Plans every action (concurrently), shows each plan through `show`, and — only when
    /// approved — executes, verifies and records them. Returns one outcome per action, in order.
    ///
    /// Store errors end the run (nothing more may happen unrecorded); provider errors are
    /// outcomes of their resource and the others go on.
    pub async fn run<A: Action>(
        &mut self,
        actions: &[A],
        mut show: impl FnMut(&Plan),
    ) -> StoreResult<Vec<Outcome>> {
        let width = self.concurrency.max(1);
        let plans: Vec<Result<Plan, ActionError>> = futures_util::stream::iter(actions)
            .map(|a| a.plan())
            .buffered(width)
            .collect()
            .await;
        let mut outcomes: Vec<Option<Outcome>> = vec![None; actions.len()];
        let mut to_run = Vec::new();
        for (i, plan) in plans.iter().enumerate() {
            match plan {
                Ok(p) => {
                    // A failure to plan is recorded under `action()`: the two must agree.
                    debug_assert_eq!(p.action, actions[i].action(), "{}", p.resource);
                    show(p)
                }
                Err(e) => {
                    let mut seq = None;
                    if self.approved {
                        seq = Some(self.record(&ActionFailed {
                            action: Some(actions[i].action().to_string()),
                            resource: actions[i].resource(),
                            part_of: actions[i].part_of(),
                            stage: Stage::Plan,
                            error: Some(e.to_string()),
                            expected: None,
                            observed: None,
                        })?);
                    }
                    outcomes[i] = Some(Outcome {
                        action: actions[i].action().to_string(),
                        resource: actions[i].resource(),
                        status: Status::Failed,
                        error: Some(e.to_string()),
                        ledger_seq: seq,
                        observed: None,
                    });
                }
            }
        }
        for (i, plan) in plans.iter().enumerate() {
            let Ok(plan) = plan else { continue };
            let outcome = |status, error, ledger_seq, observed| Outcome {
                action: plan.action.clone(),
                resource: plan.resource.clone(),
                status,
                error,
                ledger_seq,
                observed,
            };
            if !self.approved {
                outcomes[i] = Some(outcome(Status::Planned, None, None, None));
                continue;
            }
            let planned = ActionPlanned {
                plan: plan.clone(),
                approved_by: self.actor.to_string(),
                account: self.place.account.clone(),
                region: self.place.region.clone(),
            };
            let seq = self.record(&planned)?;
            if !plan.already_done
                && let Err(e) = self.read_back(seq, &planned)?
            {
                let seq = self.record(&ActionFailed {
                    action: Some(plan.action.clone()),
                    resource: plan.resource.clone(),
                    part_of: None,
                    stage: Stage::Plan,
                    error: Some(e.clone()),
                    expected: None,
                    observed: None,
                })?;
                outcomes[i] = Some(outcome(Status::Failed, Some(e), Some(seq), None));
                continue;
            }
            if plan.already_done {
                let seq = self.record(&ActionVerified {
                    action: plan.action.clone(),
                    resource: plan.resource.clone(),
                    account: self.place.account.clone(),
                    region: self.place.region.clone(),
                    how: Verified::Unchanged {
                        state: plan.before.clone(),
                        note: UNCHANGED_NOTE.to_string(),
                    },
                })?;
                outcomes[i] = Some(outcome(
                    Status::Unchanged,
                    None,
                    Some(seq),
                    Some(plan.before.clone()),
                ));
            } else {
                to_run.push(i);
            }
        }
        let mut done = futures_util::stream::iter(to_run)
            .map(|i| {
                let action = &actions[i];
                let plan = plans[i].as_ref().expect("only planned actions run");
                async move {
                    let executed = action.execute(plan).await;
                    let observed = match &executed {
                        Ok(_) => Some(action.observe(plan).await),
                        Err(_) => None,
                    };
                    (i, executed, observed)
                }
            })
            .buffer_unordered(width);
        while let Some((i, executed, observed)) = done.next().await {
            let plan = plans[i].as_ref().expect("only planned actions run");
            let failed = |stage, error, expected, observed| ActionFailed {
                action: Some(plan.action.clone()),
                resource: plan.resource.clone(),
                part_of: None,
                stage,
                error,
                expected,
                observed,
            };
            let outcome = |status, error: Option<String>, ledger_seq, observed| Outcome {
                action: plan.action.clone(),
                resource: plan.resource.clone(),
                status,
                error,
                ledger_seq: Some(ledger_seq),
                observed,
            };
            outcomes[i] = Some(match (executed, observed) {
                (Err(e), _) => {
                    let seq =
                        self.record(&failed(Stage::Execute, Some(e.to_string()), None, None))?;
                    outcome(Status::Failed, Some(e.to_string()), seq, None)
                }
                (Ok(facts), observed) => {
                    self.record(&ActionExecuted {
                        action: plan.action.clone(),
                        resource: plan.resource.clone(),
                        result: facts,
                    })?;
                    match observed {
                        Some(Ok(state)) if satisfies(&state, &plan.after) => {
                            let seq = self.record(&ActionVerified {
                                action: plan.action.clone(),
                                resource: plan.resource.clone(),
                                account: self.place.account.clone(),
                                region: self.place.region.clone(),
                                how: Verified::Changed {
                                    expected: plan.after.clone(),
                                    observed: state.clone(),
                                },
                            })?;
                            outcome(Status::Verified, None, seq, Some(state))
                        }
                        Some(Ok(state)) => {
                            let seq = self.record(&failed(
                                Stage::Verify,
                                None,
                                Some(plan.after.clone()),
                                Some(state.clone()),
                            ))?;
                            outcome(
                                Status::Failed,
                                Some(format!("expected {}, observed {state}", plan.after)),
                                seq,
                                Some(state),
                            )
                        }
                        observed => {
                            let e = match observed {
                                Some(Err(e)) => e.to_string(),
                                _ => "the state could not be read back".to_string(),
                            };
                            let seq =
                                self.record(&failed(Stage::Verify, Some(e.clone()), None, None))?;
                            outcome(
                                Status::Failed,
                                Some(format!("executed, but not verified: {e}")),
                                seq,
                                None,
                            )
                        }
                    }
                }
            });
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.expect("every action has an outcome"))
            .collect())
    }
}

/// The note an `action.verified` entry carries when the resource already was as planned.
pub const UNCHANGED_NOTE: &str = "already in the expected state; nothing changed";

/// What a case's ledger says its response did, read through the same types [`Run`] writes:
/// the questions a later verb asks of earlier ones (what to restore, what was acquired).
#[derive(Debug, Default)]
pub struct History {
    /// Each with its place in the ledger, which tells a verification from an earlier one.
    planned: Vec<(usize, ActionPlanned)>,
    verified: Vec<(usize, ActionVerified)>,
}

/// The last plan among several actions on a resource, and whether it was seen to hold.
#[derive(Debug)]
pub struct Last<'a> {
    pub plan: &'a Plan,
    /// A verification of the same action on the same resource came after the plan.
    pub verified: bool,
}

impl History {
    /// Reads the action entries of a case's ledger, oldest first; entries of other kinds, and
    /// any whose payload is not the shape [`Run`] writes, are passed over.
    pub fn read(entries: &[Entry]) -> History {
        let mut h = History::default();
        for (at, e) in entries.iter().enumerate() {
            if e.kind == ActionPlanned::KIND {
                h.planned
                    .extend(ActionPlanned::from_value(&e.payload).map(|p| (at, p)));
            } else if e.kind == ActionVerified::KIND {
                h.verified
                    .extend(ActionVerified::from_value(&e.payload).map(|v| (at, v)));
            }
        }
        h
    }

    /// The last approved plan of `action` on `resource` that changed something: its `before`
    /// is the state to go back to. A re-run that found the resource already done saw only the
    /// changed state, so it does not count.
    pub fn last_change(&self, action: &str, resource: &str) -> Option<&Plan> {
        self.last_change_in(action, resource, None)
    }

    /// The last approved plan that changed something on `resource`, among `actions`: which of
    /// an isolation and its release came last, and whether that one was seen to hold (a
    /// release verified long ago says nothing of the release that failed since).
    pub fn last_of(&self, actions: &[&str], resource: &str) -> Option<Last<'_>> {
        let (at, plan) = self
            .planned
            .iter()
            .rev()
            .map(|(at, p)| (*at, &p.plan))
            .find(|(_, p)| {
                actions.contains(&p.action.as_str()) && p.resource == resource && !p.already_done
            })?;
        let verified = self
            .verified
            .iter()
            .any(|(v_at, v)| *v_at > at && v.action == plan.action && v.resource == plan.resource);
        Some(Last { plan, verified })
    }

    /// [`History::last_change`] among the plans that acted in `account` (or named none).
    fn last_change_in(&self, action: &str, resource: &str, account: Option<&str>) -> Option<&Plan> {
        self.planned
            .iter()
            .rev()
            .map(|(_, p)| p)
            .filter(|p| same_place(p.account.as_deref(), account))
            .map(|p| &p.plan)
            .find(|p| p.action == action && p.resource == resource && !p.already_done)
    }

    /// Whether `action` (a deletion) verifiably removed `resource` in `account` (and, when the
    /// deletion's plan recorded a region, in `region`): a re-run finds it absent and done, its
    /// description staying in that earlier plan. An entry or a run that names no account
    /// counts for any.
    pub fn deleted(
        &self,
        action: &str,
        resource: &str,
        account: Option<&str>,
        region: Option<&str>,
    ) -> bool {
        self.verified.iter().any(|(_, v)| {
            v.action == action
                && v.resource == resource
                && same_place(v.account.as_deref(), account)
        }) && self
            .last_change_in(action, resource, account)
            .is_some_and(|p| {
                region.is_none_or(|region| p.before["region"].as_str() == Some(region))
            })
    }

    /// The resources `action` was verified on (changed by it, or found already so).
    pub fn verified(&self, action: &str) -> Vec<String> {
        self.verified
            .iter()
            .filter(|(_, v)| v.action == action)
            .map(|(_, v)| v.resource.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::{Value, json};

    use super::*;
    use crate::SqliteStore;
    use crate::store::NewCase;

    /// A resource in memory: a state, a fault to inject, and a log of what was called.
    struct Fake {
        name: &'static str,
        state: Mutex<&'static str>,
        fail_execute: bool,
        /// Execution "succeeds" but leaves the state unchanged.
        lie: bool,
        calls: Mutex<Vec<&'static str>>,
    }

    fn fake(name: &'static str, state: &'static str) -> Fake {
        Fake {
            name,
            state: Mutex::new(state),
            fail_execute: false,
            lie: false,
            calls: Mutex::new(Vec::new()),
        }
    }

    impl Action for Fake {
        fn resource(&self) -> String {
            self.name.to_string()
        }
        fn action(&self) -> &'static str {
            "contain"
        }
        async fn plan(&self) -> Result<Plan, ActionError> {
            self.calls.lock().unwrap().push("plan");
            if self.name == "missing" {
                return Err("no such resource".into());
            }
            let before = json!({"state": *self.state.lock().unwrap()});
            let after = json!({"state": "contained"});
            Ok(Plan {
                action: "contain".into(),
                resource: self.name.into(),
                already_done: satisfies(&before, &after),
                before,
                after,
                visible_to_attacker: true,
                notes: vec![],
            })
        }
        async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
            self.calls.lock().unwrap().push("execute");
            if self.fail_execute {
                return Err("throttled for good".into());
            }
            if !self.lie {
                *self.state.lock().unwrap() = "contained";
            }
            Ok(json!({}))
        }
        async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
            Ok(json!({"state": *self.state.lock().unwrap(), "extra": 1}))
        }
    }

    fn run(store: &mut SqliteStore, approved: bool, actions: &[Fake]) -> Vec<Outcome> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(
            Run {
                store,
                case: "C-0001",
                actor: "alice",
                approved,
                concurrency: 2,
                place: Place::default(),
            }
            .run(actions, |_| {}),
        )
        .unwrap()
    }

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
        store
            .open_case(
                "alice",
                &NewCase {
                    title: "t".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        (dir, store)
    }

    fn kinds(store: &SqliteStore) -> Vec<String> {
        store
            .ledger("C-0001")
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

    #[test]
    fn without_approval_nothing_runs_and_nothing_is_recorded() {
        let (_d, mut store) = store();
        let actions = [fake("a", "open")];
        let out = run(&mut store, false, &actions);
        assert_eq!(out[0].status, Status::Planned);
        assert_eq!(*actions[0].calls.lock().unwrap(), vec!["plan"]);
        assert_eq!(kinds(&store), vec!["case.opened"]);
    }

    #[test]
    fn a_plan_that_does_not_read_back_from_the_ledger_is_not_carried_out() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let mut store = SqliteStore::open(&db).unwrap();
        store
            .open_case(
                "alice",
                &NewCase {
                    title: "t".into(),
                    ..Default::default()
                },
            )
            .unwrap();
        // Something between Squall and its disk rewrites what is recorded.
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch(
                "CREATE TRIGGER garble AFTER INSERT ON ledger WHEN NEW.kind = 'action.planned'
                 BEGIN UPDATE ledger SET payload = '{}' WHERE rowid = NEW.rowid; END;",
            )
            .unwrap();
        let actions = [fake("a", "open"), fake("c", "contained")];
        let out = run(&mut store, true, &actions);
        assert_eq!(out[0].status, Status::Failed);
        let error = out[0].error.as_deref().unwrap();
        assert!(error.contains("does not read back"), "{error}");
        assert!(error.contains("contain on a"), "{error}");
        assert_eq!(*actions[0].calls.lock().unwrap(), vec!["plan"]);
        assert_eq!(*actions[0].state.lock().unwrap(), "open");
        // Found already done, nothing was going to change: no read-back needed.
        assert_eq!(out[1].status, Status::Unchanged);
        assert!(kinds(&store).contains(&"action.failed".to_string()));
    }

    #[test]
    fn each_resource_gets_its_own_outcome_and_the_others_go_on() {
        let (_d, mut store) = store();
        let mut failing = fake("b", "open");
        failing.fail_execute = true;
        let mut lying = fake("d", "open");
        lying.lie = true;
        let actions = [
            fake("a", "open"),
            failing,
            fake("c", "contained"),
            lying,
            fake("missing", ""),
        ];
        let out = run(&mut store, true, &actions);
        let status: Vec<&str> = out.iter().map(|o| o.status.name()).collect();
        assert_eq!(
            status,
            vec!["verified", "failed", "unchanged", "failed", "failed"]
        );
        assert_eq!(out[4].resource, "missing");
        // A failure to plan is recorded under the action's own name.
        assert_eq!(out[4].action, "contain");
        let failed: Vec<ActionFailed> = store
            .ledger("C-0001")
            .unwrap()
            .iter()
            .filter(|e| e.kind == ActionFailed::KIND)
            .filter_map(|e| ActionFailed::from_value(&e.payload))
            .collect();
        assert!(
            failed
                .iter()
                .any(|f| f.resource == "missing" && f.action.as_deref() == Some("contain")),
            "{failed:?}"
        );
        assert!(out[1].error.as_deref().unwrap().contains("throttled"));
        assert!(out[3].error.as_deref().unwrap().contains("expected"));
        // The already-contained resource was never touched.
        assert_eq!(*actions[2].calls.lock().unwrap(), vec!["plan"]);
        // Every resource's record is closed in the ledger, and the chain holds.
        let k = kinds(&store);
        assert_eq!(k.iter().filter(|k| *k == "action.planned").count(), 4);
        assert_eq!(k.iter().filter(|k| *k == "action.verified").count(), 2);
        assert_eq!(k.iter().filter(|k| *k == "action.failed").count(), 3);
        assert!(crate::verify(&store.ledger("C-0001").unwrap(), None).is_ok());
        // Re-running converges: the verified one is unchanged now.
        let again = run(&mut store, true, &actions[..1]);
        assert_eq!(again[0].status, Status::Unchanged);
        // What later verbs ask of the ledger: "a" changed once (its re-run found it done), "c"
        // was already contained; the failures never count as verified.
        let history = History::read(&store.ledger("C-0001").unwrap());
        assert_eq!(history.verified("contain"), vec!["c", "a", "a"]);
        assert_eq!(
            history.last_change("contain", "a").unwrap().before,
            json!({"state": "open"})
        );
        assert!(history.last_change("contain", "c").is_none());
        assert!(history.verified("isolate").is_empty());
    }

    /// Isolate, release (verified), isolate again, release (failed): the last release did not
    /// hold, whatever the first one did.
    #[test]
    fn last_of_asks_about_the_last_plan_not_any_before_it() {
        let entry = |kind: squall_core::entry::Kind, payload: Value| Entry {
            seq: 0,
            time: String::new(),
            actor: "t".into(),
            kind: kind.as_str().into(),
            payload,
            prev_hash: String::new(),
            hash: String::new(),
            signer: None,
            signature: None,
        };
        let planned = |action: &str, n: u32| {
            let plan = Plan::new(action, "vm", json!({"n": n}), json!({"n": n + 1}), true);
            entry(
                ActionPlanned::KIND,
                serde_json::to_value(ActionPlanned {
                    plan,
                    approved_by: "t".into(),
                    account: None,
                    region: None,
                })
                .unwrap(),
            )
        };
        let verified = |action: &str| {
            entry(
                ActionVerified::KIND,
                json!({"action": action, "resource": "vm", "state": {}, "note": "x"}),
            )
        };
        let acts = ["isolate-instance", "release-instance"];
        let mut entries = vec![
            planned("isolate-instance", 1),
            verified("isolate-instance"),
            planned("release-instance", 2),
            verified("release-instance"),
        ];
        let last = History::read(&entries);
        let last = last.last_of(&acts, "vm").unwrap();
        assert_eq!(
            (last.plan.action.as_str(), last.verified),
            ("release-instance", true)
        );
        entries.extend([
            planned("isolate-instance", 3),
            verified("isolate-instance"),
            planned("release-instance", 4),
        ]);
        let history = History::read(&entries);
        let last = history.last_of(&acts, "vm").unwrap();
        assert_eq!(last.plan.before, json!({"n": 4}));
        assert!(!last.verified);
        assert!(History::read(&entries).last_of(&acts, "other").is_none());
    }
}

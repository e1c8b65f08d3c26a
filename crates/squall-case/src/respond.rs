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

use std::future::Future;

use futures_util::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};

use crate::store::{Result as StoreResult, Store};

/// An error from a provider call, already saying which call and resource failed.
pub type ActionError = Box<dyn std::error::Error + Send + Sync>;

/// A response action before it runs: printable, recordable, approvable.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One response action on one resource, as a provider implements it.
pub trait Action: Sync {
    /// The resource it is about, to name it even when planning fails.
    fn resource(&self) -> String;
    /// Reads the resource and says what would change. Changes nothing.
    fn plan(&self) -> impl Future<Output = Result<Plan, ActionError>> + Send;
    /// Carries the plan out; returns facts worth recording (ids of what was created).
    fn execute(&self, plan: &Plan) -> impl Future<Output = Result<Value, ActionError>> + Send;
    /// Reads the state again, to compare with `plan.after`.
    fn observe(&self, plan: &Plan) -> impl Future<Output = Result<Value, ActionError>> + Send;
}

/// What happened to one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub action: String,
    pub resource: String,
    /// `planned` (no --yes), `unchanged` (already done), `verified`, `failed`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The ledger entry that closed this resource's record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_seq: Option<u64>,
    /// The state read back (or found already done).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Value>,
}

/// Who runs the actions, on which case, and whether they approved.
pub struct Run<'a, S: Store> {
    pub store: &'a mut S,
    pub case: &'a str,
    pub actor: &'a str,
    /// The analyst's approval (`--yes`): without it only the plans are produced.
    pub approved: bool,
    /// How many resources are read or changed at once.
    pub concurrency: usize,
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

impl<S: Store> Run<'_, S> {
    fn record(&mut self, kind: &str, payload: Value) -> StoreResult<u64> {
        Ok(self
            .store
            .record_action(self.case, self.actor, kind, payload)?
            .seq)
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
                Ok(p) => show(p),
                Err(e) => {
                    let mut seq = None;
                    if self.approved {
                        seq = Some(self.record(
                            "action.failed",
                            json!({"stage": "plan", "resource": actions[i].resource(), "error": e.to_string()}),
                        )?);
                    }
                    outcomes[i] = Some(Outcome {
                        action: "plan".to_string(),
                        resource: actions[i].resource(),
                        status: "failed",
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
                outcomes[i] = Some(outcome("planned", None, None, None));
                continue;
            }
            self.record(
                "action.planned",
                json!({"plan": plan, "approved_by": self.actor}),
            )?;
            if plan.already_done {
                let seq = self.record(
                    "action.verified",
                    json!({"action": plan.action, "resource": plan.resource, "state": plan.before,
                           "note": "already in the expected state; nothing changed"}),
                )?;
                outcomes[i] = Some(outcome(
                    "unchanged",
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
            let head = |extra: Value| {
                let mut v = json!({"action": plan.action, "resource": plan.resource});
                if let (Value::Object(m), Value::Object(x)) = (&mut v, extra) {
                    m.extend(x);
                }
                v
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
                    let seq = self.record(
                        "action.failed",
                        head(json!({"stage": "execute", "error": e.to_string()})),
                    )?;
                    outcome("failed", Some(e.to_string()), seq, None)
                }
                (Ok(facts), observed) => {
                    self.record("action.executed", head(json!({"result": facts})))?;
                    match observed {
                        Some(Ok(state)) if satisfies(&state, &plan.after) => {
                            let seq = self.record(
                                "action.verified",
                                head(json!({"expected": plan.after, "observed": state})),
                            )?;
                            outcome("verified", None, seq, Some(state))
                        }
                        Some(Ok(state)) => {
                            let seq = self.record(
                                "action.failed",
                                head(json!({"stage": "verify", "expected": plan.after, "observed": state})),
                            )?;
                            outcome(
                                "failed",
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
                            let seq = self.record(
                                "action.failed",
                                head(json!({"stage": "verify", "error": e})),
                            )?;
                            outcome(
                                "failed",
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

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
        assert_eq!(out[0].status, "planned");
        assert_eq!(*actions[0].calls.lock().unwrap(), vec!["plan"]);
        assert_eq!(kinds(&store), vec!["case.opened"]);
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
        let status: Vec<&str> = out.iter().map(|o| o.status).collect();
        assert_eq!(
            status,
            vec!["verified", "failed", "unchanged", "failed", "failed"]
        );
        assert_eq!(out[4].resource, "missing");
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
        assert_eq!(again[0].status, "unchanged");
    }

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
}

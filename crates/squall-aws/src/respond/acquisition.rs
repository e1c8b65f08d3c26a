//! Evidence from disks: a case's snapshots of an instance's volumes.
//!
//! A snapshot is taken without stopping the instance or touching anything the attacker can see,
//! tagged with the case and the volume so an interrupted run continues with it instead of
//! taking another, and shared with the forensic account (copied there too when Squall may act
//! in it), through a copy under a shareable key when the volume's key cannot be shared.

use std::time::Duration;

use serde_json::{Value, json};
use squall_core::respond::{Action, ActionError, Plan};

use super::{CASE_TAG, Clients, VOLUME_TAG, err, plan};
use crate::AwsError;
use crate::services::{ec2, kms};

/// Where evidence goes: the security team's own account.
#[derive(Clone, Debug)]
pub struct Forensic {
    pub account: String,
    /// Clients in the forensic account (through the IR role) to copy the shared snapshot
    /// there; without them the snapshot is shared and the copy is left to that account.
    pub clients: Option<Clients>,
}

/// Snapshot one volume of a running instance (never stopped: memory and the attacker's view
/// stay as they are; a snapshot is not visible from inside the instance), tag it with the
/// case, and share it with the forensic account — through a copy under a shareable KMS key
/// when the volume uses the AWS-managed key, which cannot be shared.
pub struct AcquireVolume {
    pub c: Clients,
    pub instance: String,
    pub volume: String,
    pub case: String,
    pub forensic: Option<Forensic>,
    pub wait: Duration,
}

impl AcquireVolume {
    /// The case's snapshots of this volume: (original, shareable copy).
    async fn found(&self) -> Result<(Option<ec2::Snapshot>, Option<ec2::Snapshot>), ActionError> {
        let all = ec2::snapshots_tagged(&self.c.ec2, VOLUME_TAG, &self.volume)
            .await
            .map_err(err)?;
        Ok((
            case_snapshot(&all, &self.case, "original"),
            case_snapshot(&all, &self.case, "shareable"),
        ))
    }

    async fn state(&self) -> Result<Value, ActionError> {
        let (original, copy) = self.found().await?;
        let shared = match (&self.forensic, copy.as_ref().or(original.as_ref())) {
            (Some(f), Some(s)) => ec2::snapshot_shared_with(&self.c.ec2, &s.id)
                .await
                .map_err(err)?
                .contains(&f.account),
            _ => false,
        };
        let mut state = json!({
            "snapshot": original.as_ref().map(|s| &s.id),
            "snapshot_state": original.as_ref().map(|s| &s.state),
        });
        if let Some(f) = &self.forensic {
            state["shareable_snapshot"] = json!(copy.as_ref().map(|s| &s.id));
            state["shared_with_forensic_account"] = json!(shared);
            if let Some(fc) = &f.clients {
                let there = self.forensic_copy(fc).await?;
                state["forensic_copy"] = json!(there.as_ref().map(|s| &s.id));
                state["forensic_copy_state"] = json!(there.as_ref().map(|s| &s.state));
            }
        }
        Ok(state)
    }

    /// The case's copy of this volume's snapshot in the forensic account, if made.
    async fn forensic_copy(&self, fc: &Clients) -> Result<Option<ec2::Snapshot>, ActionError> {
        let all = ec2::snapshots_tagged(&fc.ec2, VOLUME_TAG, &self.volume)
            .await
            .map_err(err)?;
        Ok(case_snapshot(&all, &self.case, "forensic-copy"))
    }
}

/// The case's usable snapshot at a stage of the acquisition (`original`, `shareable`,
/// `forensic-copy`); if a failed run left several, the same one every time.
fn case_snapshot(all: &[ec2::Snapshot], case: &str, stage: &str) -> Option<ec2::Snapshot> {
    all.iter()
        .filter(|s| {
            s.tags.get(CASE_TAG).map(String::as_str) == Some(case)
                && s.tags.get("squall:stage").map(String::as_str) == Some(stage)
                && s.state != "error"
        })
        .max_by(|a, b| a.id.cmp(&b.id))
        .cloned()
}

/// The plan to acquire `volume` (`v` as read) from the case's snapshots of it in `state`: a
/// completed snapshot, and with a forensic account, shared with it (and copied there when
/// Squall has clients in it). `managed` says the volume is under the AWS-managed key, which
/// cannot be shared, so a shareable copy comes first.
fn acquisition_plan(
    volume: &str,
    v: &ec2::Volume,
    state: Value,
    forensic: Option<&Forensic>,
    managed: bool,
) -> Plan {
    let mut before = state;
    before["volume"] = json!(v);
    let mut after = json!({"snapshot_state": "completed"});
    if let Some(f) = forensic {
        after["shared_with_forensic_account"] = json!(true);
        if f.clients.is_some() {
            after["forensic_copy_state"] = json!("completed");
        }
    }
    let mut p = plan("acquire-volume", volume, before, after, false);
    if let Some(f) = forensic {
        if managed {
            p.notes.push(format!(
                "{volume} uses the AWS-managed key, which cannot be shared: the snapshot is copied under {} first",
                kms::SHARE_ALIAS
            ));
        }
        p.before["needs_reencryption"] = json!(managed);
        p.notes.push(match f.clients {
            Some(_) => format!("the shared snapshot is copied into account {}", f.account),
            None => format!(
                "shared with account {}; copy it there (help: --forensic-role to let Squall do it)",
                f.account
            ),
        });
    }
    p
}

impl Action for AcquireVolume {
    fn resource(&self) -> String {
        self.volume.clone()
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let v = ec2::volume(&self.c.ec2, &self.volume).await.map_err(err)?;
        let state = self.state().await?;
        // Only a snapshot to share needs its key looked at.
        let managed = match (&self.forensic, &v.kms_key) {
            (Some(_), Some(k)) if v.encrypted => {
                kms::aws_managed(&self.c.kms, k).await.map_err(err)?
            }
            _ => false,
        };
        Ok(acquisition_plan(
            &self.volume,
            &v,
            state,
            self.forensic.as_ref(),
            managed,
        ))
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        let c = &self.c;
        // The plan read the case's snapshots of this volume; an interrupted run's are among them.
        let found = plan.before["snapshot"].as_str().map(str::to_string);
        let found_copy = plan.before["shareable_snapshot"]
            .as_str()
            .map(str::to_string);
        let tags = |stage: &'static str| {
            [
                (CASE_TAG, self.case.as_str()),
                (VOLUME_TAG, self.volume.as_str()),
                ("squall:instance", self.instance.as_str()),
                ("squall:stage", stage),
            ]
        };
        let description = format!(
            "Squall case {}: {} of {}",
            self.case, self.volume, self.instance
        );
        // An interrupted run left its snapshot behind: continue with it, never take two.
        let original = match found {
            Some(id) => id,
            None => ec2::create_snapshot(&c.ec2, &self.volume, &description, &tags("original"))
                .await
                .map_err(err)?,
        };
        let done = ec2::wait_snapshot(&c.ec2, &original, self.wait)
            .await
            .map_err(err)?;
        if done.state != "completed" {
            return Err(format!("snapshot {original} is {} (not completed)", done.state).into());
        }
        let mut facts = json!({"snapshot": original});
        let Some(f) = &self.forensic else {
            return Ok(facts);
        };
        let mut to_share = original.clone();
        if plan.before["needs_reencryption"] == true {
            let own = c
                .sts
                .get_caller_identity()
                .send()
                .await
                .map_err(|e| err(AwsError::call("sts:GetCallerIdentity", "", e)))?
                .account()
                .unwrap_or_default()
                .to_string();
            let key = kms::share_key(&c.kms, &own, &f.account)
                .await
                .map_err(err)?;
            let copy = match found_copy {
                Some(id) => id,
                None => ec2::copy_snapshot(
                    &c.ec2,
                    &original,
                    &c.region,
                    Some(&key),
                    &description,
                    &tags("shareable"),
                )
                .await
                .map_err(err)?,
            };
            ec2::wait_snapshot(&c.ec2, &copy, self.wait)
                .await
                .map_err(err)?;
            facts["shareable_snapshot"] = json!(copy);
            facts["kms_key"] = json!(key);
            to_share = copy;
        }
        ec2::share_snapshot(&c.ec2, &to_share, &f.account)
            .await
            .map_err(err)?;
        if let Some(fc) = &f.clients {
            let copy = match self.forensic_copy(fc).await? {
                Some(s) => s.id,
                None => ec2::copy_snapshot(
                    &fc.ec2,
                    &to_share,
                    &c.region,
                    None,
                    &description,
                    &tags("forensic-copy"),
                )
                .await
                .map_err(err)?,
            };
            ec2::wait_snapshot(&fc.ec2, &copy, self.wait)
                .await
                .map_err(err)?;
            facts["forensic_copy"] = json!(copy);
        }
        Ok(facts)
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.state().await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn snapshot(id: &str, state: &str, tags: &[(&str, &str)]) -> ec2::Snapshot {
        ec2::Snapshot {
            id: id.to_string(),
            state: state.to_string(),
            volume: Some("vol-1".into()),
            encrypted: true,
            kms_key: None,
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    fn volume() -> ec2::Volume {
        ec2::Volume {
            id: "vol-1".into(),
            size_gib: 8,
            encrypted: true,
            kms_key: Some("arn:aws:kms:eu-west-1:111122223333:key/aws-ebs".into()),
            availability_zone: Some("eu-west-1a".into()),
            snapshot: None,
        }
    }

    /// Clients that are never called: the plan only asks whether there are any.
    fn offline_clients() -> Clients {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .build();
        Clients::new(&config)
    }

    #[test]
    fn a_rerun_continues_with_the_same_usable_snapshot_of_the_case() {
        let original = |case| [(CASE_TAG, case), ("squall:stage", "original")];
        let all = [
            snapshot("snap-01", "completed", &original("case-7")),
            snapshot("snap-03", "pending", &original("case-7")),
            // A failed snapshot is never picked, even if it is the newest.
            snapshot("snap-09", "error", &original("case-7")),
            // Another case's, another stage's, and an untagged one are not this case's.
            snapshot("snap-05", "completed", &original("case-8")),
            snapshot(
                "snap-07",
                "completed",
                &[(CASE_TAG, "case-7"), ("squall:stage", "shareable")],
            ),
            snapshot("snap-08", "completed", &[]),
        ];
        let id = |case, stage| case_snapshot(&all, case, stage).map(|s| s.id);
        assert_eq!(id("case-7", "original").as_deref(), Some("snap-03"));
        assert_eq!(id("case-7", "shareable").as_deref(), Some("snap-07"));
        assert_eq!(id("case-8", "original").as_deref(), Some("snap-05"));
        assert_eq!(id("case-7", "forensic-copy"), None);
        assert_eq!(id("case-9", "original"), None);
        // The same one whatever order the listing came in.
        let mut reversed = all.to_vec();
        reversed.reverse();
        assert_eq!(
            case_snapshot(&reversed, "case-7", "original").map(|s| s.id),
            Some("snap-03".to_string())
        );
    }

    #[test]
    fn without_a_forensic_account_an_acquisition_is_a_completed_snapshot() {
        let state = json!({"snapshot": null, "snapshot_state": null});
        let p = acquisition_plan("vol-1", &volume(), state, None, false);
        assert_eq!(
            (p.action.as_str(), p.resource.as_str()),
            ("acquire-volume", "vol-1")
        );
        assert_eq!(p.after, json!({"snapshot_state": "completed"}));
        assert_eq!(p.before["volume"]["id"], "vol-1");
        assert_eq!(p.before.get("needs_reencryption"), None);
        assert!(!p.visible_to_attacker);
        assert!(!p.already_done);
        assert!(p.notes.is_empty());

        let state = json!({"snapshot": "snap-01", "snapshot_state": "completed"});
        assert!(acquisition_plan("vol-1", &volume(), state, None, false).already_done);
    }

    #[test]
    fn a_volume_under_the_aws_managed_key_is_shared_through_a_copy() {
        let forensic = Forensic {
            account: "444455556666".into(),
            clients: None,
        };
        let state = json!({
            "snapshot": "snap-01",
            "snapshot_state": "completed",
            "shareable_snapshot": null,
            "shared_with_forensic_account": false,
        });
        let p = acquisition_plan("vol-1", &volume(), state, Some(&forensic), true);
        assert_eq!(
            p.after,
            json!({"snapshot_state": "completed", "shared_with_forensic_account": true})
        );
        assert_eq!(p.before["needs_reencryption"], true);
        // A snapshot taken but not shared yet is not an acquisition done.
        assert!(!p.already_done);
        assert_eq!(
            p.notes,
            [
                "vol-1 uses the AWS-managed key, which cannot be shared: the snapshot is copied under alias/squall-forensic-share first",
                "shared with account 444455556666; copy it there (help: --forensic-role to let Squall do it)",
            ]
        );
    }

    #[test]
    fn with_clients_in_the_forensic_account_the_acquisition_ends_with_a_copy_there() {
        let forensic = Forensic {
            account: "444455556666".into(),
            clients: Some(offline_clients()),
        };
        let shared = json!({
            "snapshot": "snap-01",
            "snapshot_state": "completed",
            "shareable_snapshot": null,
            "shared_with_forensic_account": true,
            "forensic_copy": null,
            "forensic_copy_state": null,
        });
        let p = acquisition_plan("vol-1", &volume(), shared.clone(), Some(&forensic), false);
        assert_eq!(
            p.after,
            json!({
                "snapshot_state": "completed",
                "shared_with_forensic_account": true,
                "forensic_copy_state": "completed",
            })
        );
        assert_eq!(p.before["needs_reencryption"], false);
        assert!(!p.already_done);
        assert_eq!(
            p.notes,
            ["the shared snapshot is copied into account 444455556666"]
        );

        let mut copied = shared;
        copied["forensic_copy"] = json!("snap-0f");
        copied["forensic_copy_state"] = json!("completed");
        assert!(acquisition_plan("vol-1", &volume(), copied, Some(&forensic), false).already_done);
    }
}

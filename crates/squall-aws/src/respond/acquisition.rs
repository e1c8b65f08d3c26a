//! Evidence from disks: a case's snapshots of an instance's volumes.
//!
//! A snapshot is taken without stopping the instance or touching anything the attacker can see,
//! tagged with the case and the volume so an interrupted run continues with it instead of
//! taking another, and shared with the forensic account (copied there too when Squall may act
//! in it), through a copy under a shareable key when the volume's key cannot be shared.

use std::time::Duration;

use serde_json::{Value, json};
use squall_core::respond::{Action, ActionError, Plan};

use std::path::{Path, PathBuf};

use super::{CASE_TAG, Clients, INSTANCE_TAG, VOLUME_TAG, err};
use crate::image::{self, Image};
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
    instance: &str,
    v: &ec2::Volume,
    state: Value,
    forensic: Option<&Forensic>,
    managed: bool,
) -> Plan {
    let mut before = state;
    before["instance"] = json!(instance);
    before["volume"] = json!(v);
    let mut after = json!({"snapshot_state": "completed"});
    if let Some(f) = forensic {
        after["shared_with_forensic_account"] = json!(true);
        if f.clients.is_some() {
            after["forensic_copy_state"] = json!("completed");
        }
    }
    let mut p = Plan::new("acquire-volume", volume, before, after, false);
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

    fn action(&self) -> &'static str {
        "acquire-volume"
    }

    fn part_of(&self) -> Option<String> {
        Some(self.instance.clone())
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
            &self.instance,
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
                (INSTANCE_TAG, self.instance.as_str()),
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
            let own = crate::identity(&c.sts).await.map_err(err)?.account;
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

/// Image an existing snapshot through the EBS direct APIs into `dir/<snapshot>.raw` with its
/// SHA-256 (no volume made, no instance attached). The reads are recorded in the account's
/// CloudTrail, so the plan counts as visible to the attacker. A partial image left by an
/// interrupted run is resumed; a complete one is not read again.
pub struct ImageSnapshot<'p> {
    pub c: Clients,
    /// The configuration the EBS client is made from.
    pub config: aws_config::SdkConfig,
    pub snapshot: String,
    pub dir: PathBuf,
    /// Blocks fetched at once.
    pub concurrency: usize,
    /// Told (snapshot, bytes done, bytes in all) as the image grows.
    pub progress: &'p (dyn Fn(&str, u64, u64) + Sync),
    /// The image this run made, for the evidence record.
    pub imaged: std::sync::Mutex<Option<Image>>,
}

impl Action for ImageSnapshot<'_> {
    fn resource(&self) -> String {
        self.snapshot.clone()
    }

    fn action(&self) -> &'static str {
        "image-snapshot"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let snap = ec2::snapshot(&self.c.ec2, &self.snapshot)
            .await
            .map_err(err)?;
        // The instance, from Squall's tag, else from where its volume is attached now; a
        // label only, so a volume that cannot be read leaves it unknown.
        let instance = match snap.tags.get(INSTANCE_TAG) {
            Some(i) => Some(i.clone()),
            None => match &snap.volume {
                Some(v) => ec2::volume(&self.c.ec2, v)
                    .await
                    .ok()
                    .and_then(|v| v.instance),
                None => None,
            },
        };
        let here = image::on_disk_sized(&self.dir, &self.snapshot, volume_bytes(&snap));
        image_plan(&snap, instance.as_deref(), &self.dir, &here)
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let snap = self.snapshot.as_str();
        let img = image::image_snapshot(
            &self.config,
            snap,
            &self.dir,
            self.concurrency,
            |done, total| (self.progress)(snap, done, total),
        )
        .await
        .map_err(err)?;
        let facts = json!(img);
        *self.imaged.lock().unwrap_or_else(|p| p.into_inner()) = Some(img);
        Ok(facts)
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let snap = ec2::snapshot(&self.c.ec2, &self.snapshot)
            .await
            .map_err(err)?;
        let here = image::on_disk_sized(&self.dir, &self.snapshot, volume_bytes(&snap));
        Ok(json!({"image": here}))
    }
}

/// How long a complete image of `snap` is: its volume's size.
fn volume_bytes(snap: &ec2::Snapshot) -> Option<u64> {
    snap.size_gib
        .and_then(|g| u64::try_from(g).ok())
        .map(|g| g << 30)
}

/// The plan to image `snap` (of `instance`, when known) into `dir`, where `here` is what is
/// there already. Only a completed snapshot can be read: anything else is refused with the
/// way on.
fn image_plan(
    snap: &ec2::Snapshot,
    instance: Option<&str>,
    dir: &Path,
    here: &image::OnDisk,
) -> Result<Plan, ActionError> {
    if snap.state != "completed" {
        return Err(format!(
            "snapshot {} is {}: only a completed snapshot can be read (help: wait until it is completed, then run again)",
            snap.id, snap.state
        )
        .into());
    }
    let before = json!({
        "instance": instance,
        "volume": snap.volume,
        "started": snap.started,
        "size_gib": snap.size_gib,
        "encrypted": snap.encrypted,
        "owner": snap.owner,
        "image": here,
    });
    let after = json!({"image": {"state": "complete"}});
    let mut p = Plan::new("image-snapshot", &snap.id, before, after, true);
    let raw = dir.join(format!("{}.raw", snap.id));
    p.notes.push(match here {
        image::OnDisk::Partial { committed } => format!(
            "resumes the image in {} after the {committed} bytes already synced",
            raw.display()
        ),
        _ => format!(
            "read through the EBS direct APIs into {} with its SHA-256; no volume is made",
            raw.display()
        ),
    });
    Ok(p)
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
            started: Some("2024-05-01T10:00:00Z".into()),
            size_gib: Some(8),
            owner: Some("111122223333".into()),
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
            instance: Some("i-1".into()),
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
        let p = acquisition_plan("vol-1", "i-1", &volume(), state, None, false);
        assert_eq!(
            (p.action.as_str(), p.resource.as_str()),
            ("acquire-volume", "vol-1")
        );
        assert_eq!(p.after, json!({"snapshot_state": "completed"}));
        assert_eq!(p.before["volume"]["id"], "vol-1");
        // Every volume's plan names the instance it belongs to.
        assert_eq!(p.before["instance"], "i-1");
        assert_eq!(p.before.get("needs_reencryption"), None);
        assert!(!p.visible_to_attacker);
        assert!(!p.already_done);
        assert!(p.notes.is_empty());

        let state = json!({"snapshot": "snap-01", "snapshot_state": "completed"});
        assert!(acquisition_plan("vol-1", "i-1", &volume(), state, None, false).already_done);
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
        let p = acquisition_plan("vol-1", "i-1", &volume(), state, Some(&forensic), true);
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
        let p = acquisition_plan(
            "vol-1",
            "i-1",
            &volume(),
            shared.clone(),
            Some(&forensic),
            false,
        );
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
        assert!(
            acquisition_plan("vol-1", "i-1", &volume(), copied, Some(&forensic), false)
                .already_done
        );
    }

    #[test]
    fn imaging_a_snapshot_names_its_instance_and_is_done_once_complete() {
        let dir = Path::new("/evidence");
        let snap = snapshot("snap-01", "completed", &[(INSTANCE_TAG, "i-1")]);
        let p = image_plan(&snap, Some("i-1"), dir, &image::OnDisk::Absent).unwrap();
        assert_eq!(
            (p.action.as_str(), p.resource.as_str()),
            ("image-snapshot", "snap-01")
        );
        assert_eq!(
            p.before,
            json!({
                "instance": "i-1",
                "volume": "vol-1",
                "started": "2024-05-01T10:00:00Z",
                "size_gib": 8,
                "encrypted": true,
                "owner": "111122223333",
                "image": {"state": "absent"},
            })
        );
        assert!(p.visible_to_attacker);
        assert!(!p.already_done);
        assert_eq!(
            p.notes,
            [
                "read through the EBS direct APIs into /evidence/snap-01.raw with its SHA-256; no volume is made"
            ]
        );

        let partial = image::OnDisk::Partial { committed: 4096 };
        let p = image_plan(&snap, None, dir, &partial).unwrap();
        assert_eq!(p.before["instance"], Value::Null);
        assert!(!p.already_done);
        assert!(p.notes[0].contains("after the 4096 bytes already synced"));

        let complete = image::OnDisk::Complete {
            path: dir.join("snap-01.raw"),
            sha256: "ab".repeat(32),
            bytes: 1 << 30,
        };
        assert!(
            image_plan(&snap, Some("i-1"), dir, &complete)
                .unwrap()
                .already_done
        );
    }

    #[test]
    fn a_snapshot_still_being_taken_is_not_imaged() {
        let snap = snapshot("snap-01", "pending", &[]);
        let e = image_plan(&snap, None, Path::new("/e"), &image::OnDisk::Absent).unwrap_err();
        assert_eq!(
            e.to_string(),
            "snapshot snap-01 is pending: only a completed snapshot can be read (help: wait until it is completed, then run again)"
        );
    }
}

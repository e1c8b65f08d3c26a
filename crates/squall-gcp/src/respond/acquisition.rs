//! Evidence from a compromised instance's disks: each attached disk (zonal or regional)
//! snapshotted while the instance runs — nothing the attacker sees from inside — directly
//! into the security team's project when one is given, so the snapshot is out of reach of the
//! source project's people (and of whoever holds their credentials).

use std::time::Duration;

use serde_json::{Value, json};
use squall_core::respond::{Action, ActionError, Plan};

use super::{err, short_hash};
use crate::request::InstanceRef;
use crate::services::compute::{self, Compute, Snapshot};

/// How long one snapshot is waited for (a large disk's first snapshot takes a while).
pub const SNAPSHOT_WAIT: Duration = Duration::from_secs(6 * 3600);

/// The snapshot's name for a case and disk: the same on every run, so a re-run finds it
/// instead of taking another.
pub fn snapshot_name(case: &str, disk: &str) -> String {
    format!("squall-{}", short_hash(&[case, disk], 20))
}

/// Snapshot one disk of an instance into `project`.
pub struct AcquireDisk {
    pub c: Compute,
    pub instance: InstanceRef,
    /// `projects/P/zones/Z/disks/D` (or `regions/R`).
    pub disk: String,
    pub case: String,
    /// Where the snapshot is made: the forensic project, or the disk's own.
    pub project: String,
    pub wait: Duration,
}

impl AcquireDisk {
    fn name(&self) -> String {
        snapshot_name(&self.case, &self.disk)
    }

    fn labels(&self) -> Vec<(String, String)> {
        let disk = self.disk.rsplit('/').next().unwrap_or_default();
        vec![
            ("squall-case".to_string(), crate::label_value(&self.case)),
            (
                "squall-instance".to_string(),
                crate::label_value(&self.instance.name),
            ),
            ("squall-disk".to_string(), crate::label_value(disk)),
        ]
    }

    /// `projects/P/global/snapshots/NAME`: where the case's copy of the disk is.
    fn path(&self) -> String {
        format!("projects/{}/global/snapshots/{}", self.project, self.name())
    }

    async fn state(&self) -> Result<(compute::Disk, Value), ActionError> {
        let disk = compute::disk(&self.c, &self.disk).await.map_err(err)?;
        let snap = compute::snapshot(&self.c, &self.project, &self.name())
            .await
            .map_err(err)?;
        let mut state = state(&disk, &self.path(), snap.as_ref());
        // Whose disk it is: what a proposed acquisition of the instance counts as done.
        state["instance"] = json!(self.instance.to_string());
        Ok((disk.clone(), state))
    }
}

/// The acquisition state: the snapshot of the case for the disk, and whether it is of this
/// disk (its id, as Compute recorded it) and done.
fn state(disk: &compute::Disk, path: &str, snap: Option<&Snapshot>) -> Value {
    match snap {
        None => json!({"snapshot": null, "disk_id": disk.id}),
        Some(s) => json!({
            "snapshot": path,
            "snapshot_id": s.id,
            "status": s.status,
            "disk_id": disk.id,
            "of_this_disk": s.source_disk_id == disk.id,
            "created": s.created,
            "storage_bytes": s.storage_bytes,
        }),
    }
}

impl Action for AcquireDisk {
    fn resource(&self) -> String {
        self.disk.clone()
    }

    fn action(&self) -> &'static str {
        "acquire-disk"
    }

    fn part_of(&self) -> Option<String> {
        Some(self.instance.to_string())
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let (disk, before) = self.state().await?;
        if before["of_this_disk"] == json!(false) {
            return Err(format!(
                "projects/{}/global/snapshots/{} exists but is not of {} (its source disk id differs): it is not this case's acquisition; nothing was taken",
                self.project,
                self.name(),
                self.disk
            )
            .into());
        }
        let mut p = Plan::new(
            self.action(),
            &self.disk,
            before,
            json!({"snapshot": self.path(), "status": "READY", "of_this_disk": true}),
            false,
        );
        p.notes.push(format!(
            "snapshot projects/{}/global/snapshots/{} of the {} GB{} disk of {}, while it runs (crash-consistent; nothing shows inside the instance)",
            self.project,
            self.name(),
            disk.size_gb,
            if disk.regional { " regional" } else { "" },
            self.instance
        ));
        if self.project != self.instance.project {
            p.notes.push(format!(
                "made directly in project {}: the source project's people cannot touch it",
                self.project
            ));
        }
        Ok(p)
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let existing = compute::snapshot(&self.c, &self.project, &self.name())
            .await
            .map_err(err)?;
        if existing.is_none() {
            let description = format!(
                "squall: case {}, disk {} of instance {}",
                self.case, self.disk, self.instance
            );
            compute::insert_snapshot(
                &self.c,
                &self.project,
                &self.name(),
                &self.disk,
                &self.labels(),
                &description,
                self.wait,
            )
            .await
            .map_err(err)?;
        }
        Ok(
            json!({"snapshot": format!("projects/{}/global/snapshots/{}", self.project, self.name())}),
        )
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        Ok(self.state().await?.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names_are_valid_stable_and_per_case_and_disk() {
        let d = "projects/acme-prod/zones/europe-west1-b/disks/web-1";
        let n = snapshot_name("C-0001", d);
        assert!(crate::request::valid_name(&n), "{n}");
        assert_eq!(n, snapshot_name("C-0001", d));
        assert_ne!(n, snapshot_name("C-0002", d));
        assert_ne!(
            n,
            snapshot_name(
                "C-0001",
                "projects/acme-prod/zones/europe-west1-b/disks/web-2"
            )
        );
    }

    #[test]
    fn a_snapshot_of_another_disk_under_the_name_is_not_taken_for_this_one() {
        let disk = compute::Disk {
            path: "p".into(),
            id: "111".into(),
            size_gb: 10,
            regional: false,
            labels: Default::default(),
            label_fingerprint: None,
            source_snapshot: None,
            source_snapshot_id: None,
            disk_type: None,
            kms_key: None,
        };
        let snap = Snapshot {
            name: "squall-x".into(),
            id: "9".into(),
            status: "READY".into(),
            source_disk: "other".into(),
            source_disk_id: "222".into(),
            disk_size_gb: 10,
            storage_bytes: 1,
            created: String::new(),
            labels: Default::default(),
        };
        assert_eq!(state(&disk, "p", Some(&snap))["of_this_disk"], false);
        let ours = Snapshot {
            source_disk_id: "111".into(),
            ..snap
        };
        assert_eq!(state(&disk, "p", Some(&ours))["of_this_disk"], true);
    }
}

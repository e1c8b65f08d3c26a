//! Back to a good state: a VPC firewall rule that lets the world in on an admin port (SSH,
//! RDP) or on every port, narrowed to the range that should keep access, or removed once its
//! whole description is in the plan; an instance's boot disk replaced from a snapshot.

use serde_json::{Value, json};
use squall_core::respond::{Action, ActionError, Plan};

use super::{CASE_LABEL, err};
use crate::services::compute::{self, Compute, Rule};

const WORLD: [&str; 2] = ["0.0.0.0/0", "::/0"];

/// Whether an allowed protocol (`tcp:22`, `tcp:20-30`, `tcp`, `all`, `6:22`) reaches SSH or
/// RDP, or every port.
fn reaches_admin(protocol: &str) -> bool {
    let (ip, ports) = match protocol.split_once(':') {
        Some((ip, ports)) => (ip, Some(ports)),
        None => (protocol, None),
    };
    let ip = ip.to_ascii_lowercase();
    let (tcp, udp) = (ip == "tcp" || ip == "6", ip == "udp" || ip == "17");
    if ip == "all" {
        return true;
    }
    if !(tcp || udp) {
        return false;
    }
    let Some(ports) = ports else {
        return true;
    };
    let admin: &[u32] = if tcp { &[22, 3389] } else { &[3389] };
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (a.parse().unwrap_or(u32::MAX), b.parse().unwrap_or(0)),
        None => {
            let p = ports.parse().unwrap_or(u32::MAX);
            (p, p)
        }
    };
    admin.iter().any(|p| (lo..=hi).contains(p))
}

/// Why a rule is open to the world on an admin port, or none: an enabled ingress allow rule
/// with a world range and a protocol that reaches SSH, RDP or every port.
pub fn world_open(r: &Rule) -> Option<String> {
    if r.direction != "INGRESS" || r.action != "allow" || r.disabled {
        return None;
    }
    let world: Vec<&String> = r
        .ranges
        .iter()
        .filter(|x| WORLD.contains(&x.as_str()))
        .collect();
    let admin: Vec<&String> = r.protocols.iter().filter(|p| reaches_admin(p)).collect();
    if world.is_empty() || admin.is_empty() {
        return None;
    }
    Some(format!(
        "allows {} from {}",
        admin
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        world
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The rule's source ranges with the world ones replaced by `with` (none: removed). `Err` when
/// the result would mix IPv4 and IPv6, which a rule cannot hold.
fn narrowed(ranges: &[String], with: Option<&str>) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = ranges
        .iter()
        .filter(|r| !WORLD.contains(&r.as_str()))
        .cloned()
        .collect();
    if let Some(w) = with
        && !out.iter().any(|r| r == w)
    {
        out.push(w.to_string());
    }
    let v6 = out.iter().filter(|r| r.contains(':')).count();
    if v6 != 0 && v6 != out.len() {
        return Err(format!(
            "the rule would hold IPv4 and IPv6 ranges together ({}), which Google refuses: give a --replace-with of the rule's family",
            out.join(", ")
        ));
    }
    Ok(out)
}

/// Narrow or remove one world-open rule.
pub struct FixWorldRule {
    pub c: Compute,
    pub project: String,
    pub name: String,
    /// The range that keeps access; the rule is deleted when none (or when nothing else is
    /// left in it).
    pub replace_with: Option<String>,
}

impl FixWorldRule {
    fn resource(&self) -> String {
        format!("projects/{}/global/firewalls/{}", self.project, self.name)
    }
}

fn rule_state(r: Option<&Rule>) -> Value {
    match r {
        None => json!({"exists": false}),
        Some(r) => json!({"exists": true, "rule": r, "world_open": world_open(r)}),
    }
}

/// A rule's state read afresh: whether it exists, its whole description, whether it is open
/// to the world.
pub(super) async fn read_rule(
    c: &Compute,
    project: &str,
    name: &str,
) -> Result<Value, ActionError> {
    let found = compute::firewall(c, project, name).await.map_err(err)?;
    Ok(rule_state(found.as_ref()))
}

impl Action for FixWorldRule {
    fn resource(&self) -> String {
        FixWorldRule::resource(self)
    }

    fn action(&self) -> &'static str {
        "replace-world-rule"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let found = compute::firewall(&self.c, &self.project, &self.name)
            .await
            .map_err(err)?;
        let before = rule_state(found.as_ref());
        let Some(rule) = found.as_ref().filter(|r| world_open(r).is_some()) else {
            // Nothing world-open here (any more): nothing to do.
            let after = before.clone();
            return Ok(Plan::new(
                self.action(),
                &self.resource(),
                before,
                after,
                false,
            ));
        };
        let ranges = narrowed(&rule.ranges, self.replace_with.as_deref())?;
        if ranges.is_empty() && !rule.other_filters.is_empty() {
            return Err(format!(
                "{} also admits sources by {}: removing its world range would leave a rule Squall cannot write back whole; give --replace-with, or narrow it by hand",
                self.resource(),
                rule.other_filters.join("; ")
            )
            .into());
        }
        let after = if ranges.is_empty() {
            json!({"exists": false})
        } else {
            json!({"exists": true, "world_open": null, "rule": {"ranges": ranges}})
        };
        let mut p = Plan::new(self.action(), &self.resource(), before, after, true);
        p.notes.push(match (&self.replace_with, ranges.is_empty()) {
            (_, true) => format!(
                "the rule is deleted (its whole description is in this plan); it {}",
                world_open(rule).unwrap_or_default()
            ),
            (Some(w), false) => format!(
                "the world's ranges replaced with {w}: {}",
                ranges.join(", ")
            ),
            (None, false) => format!("the world's ranges removed; it keeps {}", ranges.join(", ")),
        });
        Ok(p)
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        // Read again: the rule may have changed since the plan.
        if read_rule(&self.c, &self.project, &self.name).await? != plan.before {
            return Err(format!("{} changed since the plan: plan again", self.resource()).into());
        }
        match plan.after["rule"]["ranges"].as_array() {
            Some(ranges) => {
                let ranges: Vec<String> = ranges
                    .iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect();
                compute::set_source_ranges(&self.c, &self.project, &self.name, &ranges)
                    .await
                    .map_err(err)?;
            }
            None => compute::delete_firewall(&self.c, &self.project, &self.name)
                .await
                .map_err(err)?,
        }
        Ok(Value::Null)
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        read_rule(&self.c, &self.project, &self.name).await
    }
}

/// Put an instance back on a known-good disk: a boot disk made from `snapshot` attached in
/// place of the current one, which is kept, detached and labelled with the case, as evidence
/// (labelled first, so a run cut short never leaves an unmarked disk). The instance must be
/// stopped (acquire it, then `contain gcp instance --stop`) and is left stopped, for the team
/// to start once they have checked it.
pub struct RestoreFromSnapshot {
    pub c: Compute,
    pub at: crate::request::InstanceRef,
    /// `projects/P/global/snapshots/S`.
    pub snapshot: String,
    pub case: String,
    /// When the case's first detection happened: a snapshot taken after it may hold what the
    /// attacker left.
    pub compromise: Option<String>,
}

impl RestoreFromSnapshot {
    fn new_disk(&self) -> (String, String) {
        let name = format!(
            "squall-restore-{}",
            super::short_hash(&[&self.case, &self.at.to_string(), &self.snapshot], 12)
        );
        let path = format!(
            "projects/{}/zones/{}/disks/{name}",
            self.at.project, self.at.zone
        );
        (name, path)
    }

    /// The instance's status and boot disk, and (once it was replaced) whether the disk it
    /// replaced is still there with the case's label.
    async fn state(
        &self,
        replaced: Option<&str>,
    ) -> Result<(compute::InstanceDetail, Value), ActionError> {
        let i = compute::instance(&self.c, &self.at).await.map_err(err)?;
        let boot = i
            .boot
            .as_ref()
            .and_then(|(_, source)| compute::disk_path(source));
        let mut state = json!({"status": i.status, "boot": boot});
        if let Some(old) = replaced {
            let kept = compute::disk_if_any(&self.c, old).await.map_err(err)?;
            state["kept"] = json!({"path": old, "exists": kept.is_some()});
            state["kept"][CASE_LABEL] = json!(kept.and_then(|d| d.labels.get(CASE_LABEL).cloned()));
        }
        Ok((i, state))
    }
}

impl Action for RestoreFromSnapshot {
    fn resource(&self) -> String {
        self.at.to_string()
    }

    fn action(&self) -> &'static str {
        "restore-instance"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let (snap_project, snap_name) =
            match self.snapshot.split('/').collect::<Vec<_>>().as_slice() {
                ["projects", p, "global", "snapshots", n] => (p.to_string(), n.to_string()),
                _ => return Err(format!("{:?} is not a snapshot's name", self.snapshot).into()),
            };
        let snap = compute::snapshot(&self.c, &snap_project, &snap_name)
            .await
            .map_err(err)?
            .ok_or_else(|| format!("no snapshot {}", self.snapshot))?;
        if snap.status != "READY" {
            return Err(format!("snapshot {} is {}, not READY", self.snapshot, snap.status).into());
        }
        let (_, new_path) = self.new_disk();
        let (i, before) = self.state(None).await?;
        let old = before["boot"].as_str().map(str::to_string);
        let done = old.as_deref() == Some(new_path.as_str());
        if !done && i.status != "TERMINATED" {
            return Err(format!(
                "{} is {}: its boot disk is swapped only while it is stopped (acquire it, then `squall contain gcp instance --stop`)",
                self.at, i.status
            )
            .into());
        }
        // What the restored disk is modelled on, checked before anything changes.
        let old_disk = match old.as_deref().filter(|_| !done) {
            Some(o) if o.contains("/regions/") => {
                return Err(format!(
                    "{}'s boot disk {o} is regional: restore it by hand (a regional disk from the snapshot, with its replicas' zones)",
                    self.at
                )
                .into());
            }
            Some(o) => compute::disk_if_any(&self.c, o).await.map_err(err)?,
            None => None,
        };
        if let Some(made) = compute::disk_if_any(&self.c, &new_path)
            .await
            .map_err(err)?
            && !made
                .source_snapshot
                .as_deref()
                .is_some_and(|s| s.ends_with(&self.snapshot))
        {
            return Err(format!(
                "{new_path} exists but was not made from {}: look at it before restoring",
                self.snapshot
            )
            .into());
        }
        let label = crate::label_value(&self.case);
        let mut after = json!({"boot": new_path});
        if let Some(old) = old.as_deref().filter(|_| !done) {
            after["kept"] = json!({"path": old, "exists": true});
            after["kept"][CASE_LABEL] = json!(label);
        }
        let mut p = Plan::new(self.action(), &self.at.to_string(), before, after, true);
        p.notes.push(format!(
            "a new boot disk {new_path} is made from snapshot {} (taken {}) and attached in place of {}; the instance is left stopped",
            self.snapshot,
            snap.created,
            old.as_deref().unwrap_or("nothing")
        ));
        if let Some(old) = old.as_deref().filter(|_| !done) {
            p.notes.push(format!(
                "{old} is kept, detached, labelled {CASE_LABEL}={label}: it is evidence"
            ));
        }
        if old.is_none() {
            p.notes.push(format!(
                "{} has no boot disk (a restore cut short?): the disk it had carries the label squall-replaced-by={}",
                self.at,
                self.new_disk().0
            ));
        }
        if let Some(o) = old_disk.as_ref().map(|d| d.path.as_str())
            && !snap.source_disk.ends_with(o)
        {
            p.notes.push(format!(
                "WARNING: the snapshot is of {}, not of this instance's boot disk {o}",
                snap.source_disk
            ));
        }
        let taken = chrono::DateTime::parse_from_rfc3339(&snap.created).ok();
        let began = self
            .compromise
            .as_deref()
            .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok());
        match (taken, began) {
            (None, Some(_)) => p.notes.push(format!(
                "WARNING: the snapshot's creation time ({:?}) cannot be read: check it predates the case's first detection",
                snap.created
            )),
            (Some(t), Some(b)) if t >= b => p.notes.push(format!(
                "WARNING: the snapshot was taken at {}, after the case's first detection at {}: it may hold what the attacker left; restore from one taken before",
                snap.created,
                self.compromise.as_deref().unwrap_or_default()
            )),
            (_, None) => p.notes.push(
                "the case has no detection time to compare the snapshot's with: check it predates the compromise".to_string(),
            ),
            _ => {}
        }
        Ok(p)
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        let (new_name, new_path) = self.new_disk();
        let (i, _) = self.state(None).await?;
        let label = crate::label_value(&self.case);
        let boot = i.boot.clone();
        let old = boot.as_ref().and_then(|(_, s)| compute::disk_path(s));
        if old.as_deref() == Some(new_path.as_str()) {
            return Ok(Value::Null);
        }
        if old.as_deref() != plan.before["boot"].as_str() {
            return Err(
                format!("{}'s boot disk changed since the plan: plan again", self.at).into(),
            );
        }
        // The disk being replaced is marked first: whatever happens next, it is found again.
        let old_disk = match &old {
            Some(o) => compute::disk_if_any(&self.c, o).await.map_err(err)?,
            None => None,
        };
        if let Some(d) = &old_disk
            && !d.regional
        {
            let marks = [
                (CASE_LABEL.to_string(), label.clone()),
                ("squall-replaced-by".to_string(), new_name.clone()),
            ];
            compute::add_disk_labels(&self.c, d, &marks)
                .await
                .map_err(err)?;
        }
        if compute::disk_if_any(&self.c, &new_path)
            .await
            .map_err(err)?
            .is_none()
        {
            let snapshot = self.snapshot.rsplit('/').next().unwrap_or_default();
            let labels = [
                (CASE_LABEL.to_string(), label),
                (
                    "squall-restored-from".to_string(),
                    crate::label_value(snapshot),
                ),
            ];
            compute::insert_disk_from_snapshot(
                &self.c,
                &self.at.project,
                &self.at.zone,
                &new_name,
                &self.snapshot,
                &labels,
                old_disk.as_ref(),
            )
            .await
            .map_err(err)?;
        }
        let device = boot
            .as_ref()
            .map(|(d, _)| d.clone())
            .unwrap_or_else(|| self.at.name.clone());
        if boot.is_some() {
            compute::detach_disk(&self.c, &self.at, &device)
                .await
                .map_err(err)?;
        }
        compute::attach_boot_disk(&self.c, &self.at, &new_path, &device)
            .await
            .map_err(err)?;
        Ok(json!({"disk": new_path}))
    }

    async fn observe(&self, plan: &Plan) -> Result<Value, ActionError> {
        let replaced = plan.after["kept"]["path"].as_str();
        Ok(self.state(replaced).await?.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(protocols: &[&str], ranges: &[&str]) -> Rule {
        Rule {
            name: "r".into(),
            network: "n".into(),
            direction: "INGRESS".into(),
            priority: 1000,
            action: "allow".into(),
            protocols: protocols.iter().map(|s| s.to_string()).collect(),
            ranges: ranges.iter().map(|s| s.to_string()).collect(),
            target_tags: vec![],
            disabled: false,
            description: String::new(),
            other_filters: Vec::new(),
            logging: false,
        }
    }

    #[test]
    fn admin_ports_all_ports_and_protocol_numbers_count_as_world_open() {
        for p in [
            "tcp:22",
            "tcp:3389",
            "udp:3389",
            "tcp:20-30",
            "tcp",
            "all",
            "6:22",
            "TCP:22",
        ] {
            assert!(world_open(&rule(&[p], &["0.0.0.0/0"])).is_some(), "{p}");
            assert!(world_open(&rule(&[p], &["::/0"])).is_some(), "{p}");
        }
        for p in ["tcp:80", "tcp:443", "udp:22", "icmp", "tcp:23-3388"] {
            assert!(world_open(&rule(&[p], &["0.0.0.0/0"])).is_none(), "{p}");
        }
        assert!(world_open(&rule(&["tcp:22"], &["10.0.0.0/8"])).is_none());
        let mut egress = rule(&["all"], &["0.0.0.0/0"]);
        egress.direction = "EGRESS".into();
        assert!(world_open(&egress).is_none());
        let mut deny = rule(&["all"], &["0.0.0.0/0"]);
        deny.action = "deny".into();
        assert!(world_open(&deny).is_none());
    }

    #[test]
    fn narrowing_keeps_other_ranges_and_never_mixes_families() {
        let r = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            narrowed(&r(&["0.0.0.0/0"]), Some("10.20.0.0/16")).unwrap(),
            ["10.20.0.0/16"]
        );
        assert_eq!(
            narrowed(&r(&["0.0.0.0/0", "192.0.2.0/24"]), None).unwrap(),
            ["192.0.2.0/24"]
        );
        assert!(narrowed(&r(&["0.0.0.0/0"]), None).unwrap().is_empty());
        assert_eq!(
            narrowed(&r(&["::/0"]), Some("10.20.0.0/16")).unwrap(),
            ["10.20.0.0/16"]
        );
        assert!(narrowed(&r(&["::/0", "2001:db8::/32"]), Some("10.20.0.0/16")).is_err());
    }
}

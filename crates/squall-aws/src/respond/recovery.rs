//! Back to a good state once the attacker is contained: a leaked key rotated, a world-open
//! admin rule replaced, an instance's root volume rebuilt from a known-good snapshot.
//!
//! Each verb keeps what it replaces (the old key, disabled; the old root volume, detached and
//! tagged with the case), and orders its steps so that the legitimate service never loses
//! access and a half-done run leaves nothing secret behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use squall_core::respond::{Action, ActionError, Plan};

use super::{CASE_TAG, Clients, err};
use crate::AwsError;
use crate::services::{ec2, iam};

/// Rotate a leaked key: a new key for the user (its secret written to a file only the analyst
/// can read, never printed or recorded), then the old key deactivated.
pub struct RotateKey {
    pub c: Clients,
    pub key: String,
    pub secret_file: PathBuf,
}

impl RotateKey {
    async fn state(&self, user: &str) -> Result<Value, ActionError> {
        let keys = iam::user_keys(&self.c.iam, user).await.map_err(err)?;
        Ok(rotation_state(user, &self.key, &keys))
    }
}

/// Where the rotation of `key` stands, from its user's keys (id, status, created): the old
/// key's status, and whether another key at least as new is active (its replacement).
fn rotation_state(user: &str, key: &str, keys: &[(String, String, i64)]) -> Value {
    let old = keys.iter().find(|k| k.0 == key);
    let created = old.map_or(0, |k| k.2);
    let replaced = keys
        .iter()
        .any(|k| k.0 != key && k.1 == "Active" && k.2 >= created);
    json!({
        "user": user,
        "old_key": old.map(|k| k.1.clone()),
        "replacement_active": replaced,
        "keys": keys.len(),
    })
}

/// The plan to rotate `key` of `user`, in `before` (as [`rotation_state`] reads it). A
/// rotation still to do is refused when IAM has no room for a new key, or when the secret
/// would have nowhere safe to go.
fn rotation_plan(
    key: &str,
    secret_file: &Path,
    user: &str,
    before: Value,
) -> Result<Plan, ActionError> {
    let after = json!({"user": user, "old_key": "Inactive", "replacement_active": true});
    let mut p = Plan::new("rotate-access-key", key, before, after, true);
    if !p.already_done {
        if p.before["keys"].as_u64() >= Some(2) {
            return Err(format!(
                "{user} already has two access keys (IAM's limit): delete the one not in use first, then rotate {key}"
            )
            .into());
        }
        squall_core::files::ready_for_new(secret_file)?;
        p.notes.push(format!(
            "the new key's secret goes to {} (mode 0600); it is never printed or recorded",
            secret_file.display()
        ));
    }
    Ok(p)
}

impl Action for RotateKey {
    fn resource(&self) -> String {
        self.key.clone()
    }

    fn action(&self) -> &'static str {
        "rotate-access-key"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let user = iam::key_user(&self.c.iam, &self.key).await.map_err(err)?;
        let before = self.state(&user).await?;
        rotation_plan(&self.key, &self.secret_file, &user, before)
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        let user = plan.before["user"].as_str().unwrap_or_default();
        // The file is made before the key: a secret with nowhere to go must never exist.
        let shown = self.secret_file.display();
        let file = squall_core::files::new_private_file(&self.secret_file)
            .map_err(|e| format!("creating {shown}: {e}; no key was made"))?;
        let (id, secret) = iam::create_key(&self.c.iam, user).await.map_err(err)?;
        if let Err(e) = write_secret(file, &id, &secret) {
            // The secret is lost: take the new key back, so the user keeps one key slot free
            // and the leaked key stays as it was until a rotation that works.
            let undone = iam::delete_key(&self.c.iam, user, &id).await;
            let _ = std::fs::remove_file(&self.secret_file);
            return Err(match undone {
                Ok(()) => format!(
                    "writing {shown}: {e}; the new key {id} was deleted again and {} left as it was",
                    self.key
                ),
                Err(d) => format!(
                    "writing {shown}: {e}; deleting the new key {id} failed too ({d}): delete it by hand"
                ),
            }
            .into());
        }
        iam::set_key_status(&self.c.iam, user, &self.key, false)
            .await
            .map_err(err)?;
        Ok(json!({"new_key": id, "secret_file": self.secret_file}))
    }

    async fn observe(&self, plan: &Plan) -> Result<Value, ActionError> {
        self.state(plan.before["user"].as_str().unwrap_or_default())
            .await
    }
}

/// Writes a credentials-file profile into the file made for it.
fn write_secret(mut f: std::fs::File, id: &str, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    writeln!(
        f,
        "[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}"
    )?;
    f.sync_all()
}

/// One ingress permission of a security group: a protocol (`-1` for all), its ports and the
/// range it admits. `recover aws firewall` replaces the ones open to the world on admin or all
/// ports; `recover aws revoke-rule` removes the one the analyst names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressPermission {
    pub group: String,
    pub protocol: String,
    pub from: Option<i32>,
    pub to: Option<i32>,
    pub cidr: String,
}

impl IngressPermission {
    /// `sg-1:tcp/22:0.0.0.0/0`: the group, protocol, ports and range.
    pub fn name(&self) -> String {
        let ports = match (self.from, self.to) {
            _ if self.protocol == "-1" => "all".to_string(),
            (Some(a), Some(b)) if a == b => a.to_string(),
            (Some(a), Some(b)) => format!("{a}-{b}"),
            _ => "all".to_string(),
        };
        format!("{}:{}/{}:{}", self.group, self.protocol, ports, self.cidr)
    }

    /// Removes this permission from its group.
    pub async fn revoke(&self, client: &aws_sdk_ec2::Client) -> Result<(), AwsError> {
        ec2::revoke_ingress(
            client,
            &self.group,
            &self.protocol,
            self.from,
            self.to,
            &self.cidr,
        )
        .await
    }

    /// Whether `rules` hold this permission's protocol and exact ports for `cidr`: a wider or
    /// narrower rule is another rule.
    pub fn in_rules(&self, rules: &[ec2::IngressRule], cidr: &str) -> bool {
        rules.iter().any(|r| {
            r.protocol == self.protocol
                && r.from_port == self.from
                && r.to_port == self.to
                && r.cidr == cidr
        })
    }
}

/// Replace an "any any" rule: the world-open permission removed and, with `--replace-with`,
/// the same ports opened to the given range instead.
pub struct FixWorldRule {
    pub c: Clients,
    pub rule: IngressPermission,
    pub replace_with: Option<String>,
}

impl FixWorldRule {
    async fn state(&self) -> Result<Value, ActionError> {
        let rules = ec2::ingress_rules_of(&self.c.ec2, &self.rule.group)
            .await
            .map_err(err)?;
        Ok(world_rule_state(
            &self.rule,
            self.replace_with.as_deref(),
            &rules,
        ))
    }
}

/// Whether the group's `rules` still open `rule`'s ports to the world, and to the replacement
/// range if there is one. Only the same protocol and the exact same ports count: a wider or
/// narrower rule is another rule.
fn world_rule_state(
    rule: &IngressPermission,
    replace_with: Option<&str>,
    rules: &[ec2::IngressRule],
) -> Value {
    let mut state = json!({"open_to_world": rule.in_rules(rules, &rule.cidr)});
    if let Some(cidr) = replace_with {
        state["open_to_replacement"] = json!(rule.in_rules(rules, cidr));
    }
    state
}

/// The plan to close `rule` to the world, opening it to `replace_with` instead if given.
fn world_rule_plan(rule: &IngressPermission, replace_with: Option<&str>, before: Value) -> Plan {
    let mut after = json!({"open_to_world": false});
    if replace_with.is_some() {
        after["open_to_replacement"] = json!(true);
    }
    Plan::new("replace-world-rule", &rule.name(), before, after, false)
}

impl Action for FixWorldRule {
    fn resource(&self) -> String {
        self.rule.name()
    }

    fn action(&self) -> &'static str {
        "replace-world-rule"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let before = self.state().await?;
        Ok(world_rule_plan(
            &self.rule,
            self.replace_with.as_deref(),
            before,
        ))
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let r = &self.rule;
        // The replacement first: the service never loses its legitimate access.
        if let Some(cidr) = &self.replace_with {
            ec2::authorize_ingress(&self.c.ec2, &r.group, &r.protocol, r.from, r.to, cidr)
                .await
                .map_err(err)?;
        }
        r.revoke(&self.c.ec2).await.map_err(err)?;
        Ok(json!({}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.state().await
    }
}

/// Rebuild an instance's root volume from a known-good snapshot. The compromised root volume
/// is detached and kept (tagged) as evidence, never deleted. A snapshot started after the
/// compromise may hold the attacker's changes: it is refused unless the analyst says so.
pub struct RestoreInstance {
    pub c: Clients,
    pub id: String,
    pub snapshot: String,
    pub case: String,
    pub wait: Duration,
    /// When the compromise began, as the case knows it (its earliest detection).
    pub compromised_at: Option<String>,
    /// The analyst knows the snapshot is clean though it was started after the compromise.
    pub allow_after_compromise: bool,
}

impl RestoreInstance {
    async fn state(&self) -> Result<Value, ActionError> {
        let d = ec2::instance(&self.c.ec2, &self.id).await.map_err(err)?;
        let from = match root_volume(&d) {
            Some(r) => {
                ec2::volume(&self.c.ec2, &r.volume)
                    .await
                    .map_err(err)?
                    .snapshot
            }
            None => None,
        };
        Ok(restore_state(&d, from))
    }
}

/// The volume attached at the instance's root device, if any.
fn root_volume(d: &ec2::InstanceDetail) -> Option<&ec2::Attachment> {
    d.volumes
        .iter()
        .find(|v| Some(&v.device) == d.root_device.as_ref())
}

/// Where the instance's root volume comes from: `from` is the snapshot it was made of.
fn restore_state(d: &ec2::InstanceDetail, from: Option<String>) -> Value {
    json!({
        "state": d.state,
        "root_device": d.root_device,
        "root_volume": root_volume(d).map(|r| &r.volume),
        "root_volume_from_snapshot": from,
    })
}

/// The plan to rebuild the root volume from `snapshot`, leaving the instance running or
/// stopped as `before` found it.
fn restore_plan(id: &str, snapshot: &str, case: &str, before: Value) -> Plan {
    let after = json!({"root_volume_from_snapshot": snapshot, "state": before["state"]});
    let mut p = Plan::new("restore-instance", id, before, after, true);
    p.notes.push(format!(
        "the instance is stopped while its root volume is swapped; the old root volume is kept, tagged {CASE_TAG}={case}"
    ));
    p
}

/// Puts the snapshot's start time against the compromise's into the restore plan `p`, and
/// refuses a restore still to do from a snapshot not known to predate the compromise (started
/// at or after it, or at a time AWS does not say) unless `allow` (`--allow-after-compromise`).
fn against_compromise(
    p: &mut Plan,
    snapshot: &str,
    started: Option<&str>,
    compromised: Option<&str>,
    allow: bool,
) -> Result<(), ActionError> {
    p.before["snapshot_started"] = json!(started);
    p.before["compromised_at"] = json!(compromised);
    let time = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    let Some(compromised) = compromised else {
        p.notes.push(format!(
            "snapshot {snapshot} was started {}; the case has no detection with a time, so whether it predates the compromise is not known: make sure it is clean",
            started.unwrap_or("at a time AWS does not give")
        ));
        return Ok(());
    };
    let predates = match (started.and_then(time), time(compromised)) {
        (Some(s), Some(c)) => s < c,
        _ => false,
    };
    let started = started.unwrap_or("at a time AWS does not give");
    if predates {
        p.notes.push(format!(
            "snapshot {snapshot} was started {started}, before the compromise at {compromised} (the case's earliest detection)"
        ));
        return Ok(());
    }
    if !allow && !p.already_done {
        return Err(format!(
            "refusing to restore {} from {snapshot}: it was started {started}, not before the compromise at {compromised} (the case's earliest detection), so it may hold what the attacker changed (help: choose a snapshot started before {compromised}, or add --allow-after-compromise if you know this one is clean)",
            p.resource
        )
        .into());
    }
    p.notes.push(format!(
        "snapshot {snapshot} was started {started}, not before the compromise at {compromised} (the case's earliest detection): restored because --allow-after-compromise says it is clean"
    ));
    Ok(())
}

impl Action for RestoreInstance {
    fn resource(&self) -> String {
        self.id.clone()
    }

    fn action(&self) -> &'static str {
        "restore-instance"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let snap = ec2::snapshot(&self.c.ec2, &self.snapshot)
            .await
            .map_err(err)?;
        let before = self.state().await?;
        let mut p = restore_plan(&self.id, &self.snapshot, &self.case, before);
        against_compromise(
            &mut p,
            &self.snapshot,
            snap.started.as_deref(),
            self.compromised_at.as_deref(),
            self.allow_after_compromise,
        )?;
        Ok(p)
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        let c = &self.c.ec2;
        let d = ec2::instance(c, &self.id).await.map_err(err)?;
        let az = d
            .availability_zone
            .clone()
            .ok_or("the instance has no availability zone")?;
        let device = d
            .root_device
            .clone()
            .ok_or("the instance has no root device")?;
        let was_running = plan.before["state"] == "running";
        let tags = [
            (CASE_TAG, self.case.as_str()),
            ("squall:restored-from", self.snapshot.as_str()),
        ];
        // A run interrupted after making the clean volume left it unattached: use it.
        let left = ec2::volumes_tagged(c, &tags, "available")
            .await
            .map_err(err)?;
        let new = match left.into_iter().next() {
            Some(v) => v,
            None => ec2::create_volume(c, &self.snapshot, &az, &tags)
                .await
                .map_err(err)?,
        };
        ec2::wait_volume(c, &new, "available", self.wait)
            .await
            .map_err(err)?;
        if d.state != "stopped" {
            ec2::stop(c, &self.id, false).await.map_err(err)?;
            ec2::wait_state(c, &self.id, "stopped", self.wait)
                .await
                .map_err(err)?;
        }
        let old = plan.before["root_volume"].as_str().map(str::to_string);
        if let Some(old) = &old {
            ec2::detach_volume(c, old, &self.id).await.map_err(err)?;
            ec2::wait_volume(c, old, "available", self.wait)
                .await
                .map_err(err)?;
            c.create_tags()
                .resources(old)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key(CASE_TAG)
                        .value(&self.case)
                        .build(),
                )
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("squall:replaced-by")
                        .value(&new)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| err(AwsError::call("ec2:CreateTags", old, e)))?;
        }
        ec2::attach_volume(c, &new, &self.id, &device)
            .await
            .map_err(err)?;
        ec2::wait_volume(c, &new, "in-use", self.wait)
            .await
            .map_err(err)?;
        if was_running {
            ec2::start(c, &self.id).await.map_err(err)?;
            ec2::wait_state(c, &self.id, "running", self.wait)
                .await
                .map_err(err)?;
        }
        Ok(json!({"new_root_volume": new, "kept_old_root_volume": old}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.state().await
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn key(id: &str, status: &str, created: i64) -> (String, String, i64) {
        (id.to_string(), status.to_string(), created)
    }

    #[test]
    fn rotating_is_refused_when_the_user_already_has_two_keys() {
        let dir = tempfile::tempdir().unwrap();
        let keys = [
            key("AKIAOLD", "Active", 100),
            key("AKIASPARE", "Inactive", 50),
        ];
        let before = rotation_state("alice", "AKIAOLD", &keys);
        assert_eq!(
            before,
            json!({"user": "alice", "old_key": "Active", "replacement_active": false, "keys": 2})
        );
        let e = rotation_plan("AKIAOLD", &dir.path().join("creds"), "alice", before).unwrap_err();
        assert_eq!(
            e.to_string(),
            "alice already has two access keys (IAM's limit): delete the one not in use first, then rotate AKIAOLD"
        );
    }

    #[test]
    fn a_rotation_already_done_is_not_refused_for_its_second_key_or_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let written = dir.path().join("creds");
        std::fs::write(&written, "[default]\n").unwrap();
        let keys = [
            key("AKIAOLD", "Inactive", 100),
            key("AKIANEW", "Active", 200),
        ];
        let before = rotation_state("alice", "AKIAOLD", &keys);
        assert_eq!(before["replacement_active"], true);
        let p = rotation_plan("AKIAOLD", &written, "alice", before).unwrap();
        assert!(p.already_done);
        assert!(p.notes.is_empty());
    }

    #[test]
    fn an_older_active_key_is_not_the_replacement() {
        let keys = [
            key("AKIAOLD", "Active", 200),
            key("AKIAOLDER", "Active", 100),
        ];
        assert_eq!(
            rotation_state("alice", "AKIAOLD", &keys)["replacement_active"],
            false
        );
        let keys = [
            key("AKIAOLD", "Active", 200),
            key("AKIASAME", "Active", 200),
        ];
        assert_eq!(
            rotation_state("alice", "AKIAOLD", &keys)["replacement_active"],
            true
        );
    }

    #[test]
    fn rotating_a_single_key_plans_its_secret_into_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("creds");
        let before = rotation_state("alice", "AKIAOLD", &[key("AKIAOLD", "Active", 100)]);
        let p = rotation_plan("AKIAOLD", &target, "alice", before).unwrap();
        assert_eq!(
            (p.action.as_str(), p.resource.as_str()),
            ("rotate-access-key", "AKIAOLD")
        );
        assert_eq!(
            p.after,
            json!({"user": "alice", "old_key": "Inactive", "replacement_active": true})
        );
        assert!(!p.already_done);
        assert_eq!(
            p.notes,
            [format!(
                "the new key's secret goes to {} (mode 0600); it is never printed or recorded",
                target.display()
            )]
        );
    }

    #[test]
    fn rotating_is_refused_when_the_secret_file_exists() {
        let dir = tempfile::tempdir().unwrap();
        let taken = dir.path().join("creds");
        std::fs::write(&taken, "someone else's").unwrap();
        let before = rotation_state("alice", "AKIAOLD", &[key("AKIAOLD", "Active", 100)]);
        let e = rotation_plan("AKIAOLD", &taken, "alice", before).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{} exists: the new secret is written only to a new file (help: choose another --secret-file)",
                taken.display()
            )
        );
        assert_eq!(std::fs::read_to_string(&taken).unwrap(), "someone else's");
    }

    #[test]
    fn the_secret_file_is_new_and_readable_by_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds");
        let f = squall_core::files::new_private_file(&path).unwrap();
        write_secret(f, "AKIANEW", "s3cret").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[default]\naws_access_key_id = AKIANEW\naws_secret_access_key = s3cret\n"
        );
        let e = squall_core::files::new_private_file(&path).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    }

    fn world(protocol: &str, from: Option<i32>, to: Option<i32>) -> IngressPermission {
        IngressPermission {
            group: "sg-1".into(),
            protocol: protocol.into(),
            from,
            to,
            cidr: "0.0.0.0/0".into(),
        }
    }

    #[test]
    fn a_world_rule_is_named_by_group_protocol_ports_and_range() {
        assert_eq!(
            world("tcp", Some(22), Some(22)).name(),
            "sg-1:tcp/22:0.0.0.0/0"
        );
        assert_eq!(
            world("tcp", Some(3389), Some(3390)).name(),
            "sg-1:tcp/3389-3390:0.0.0.0/0"
        );
        // Protocol -1 is every port, whatever ports the rule carries.
        assert_eq!(
            world("-1", Some(22), Some(22)).name(),
            "sg-1:-1/all:0.0.0.0/0"
        );
        assert_eq!(world("tcp", None, None).name(), "sg-1:tcp/all:0.0.0.0/0");
    }

    fn ingress(protocol: &str, from: i32, to: i32, cidr: &str) -> ec2::IngressRule {
        ec2::IngressRule {
            group_id: "sg-1".into(),
            group_name: "web".into(),
            region: "eu-west-1".into(),
            protocol: protocol.into(),
            from_port: Some(from),
            to_port: Some(to),
            cidr: cidr.into(),
            purpose: None,
        }
    }

    #[test]
    fn only_the_same_ports_and_range_count_as_the_world_rule() {
        let ssh = world("tcp", Some(22), Some(22));
        let others = [
            ingress("tcp", 22, 22, "10.0.0.0/8"),
            ingress("tcp", 0, 65535, "0.0.0.0/0"),
            ingress("udp", 22, 22, "0.0.0.0/0"),
        ];
        assert_eq!(
            world_rule_state(&ssh, Some("10.0.0.0/8"), &others),
            json!({"open_to_world": false, "open_to_replacement": true})
        );
        let open = [ingress("tcp", 22, 22, "0.0.0.0/0")];
        assert_eq!(
            world_rule_state(&ssh, Some("10.0.0.0/8"), &open),
            json!({"open_to_world": true, "open_to_replacement": false})
        );
        assert_eq!(
            world_rule_state(&ssh, None, &open),
            json!({"open_to_world": true})
        );
    }

    #[test]
    fn replacing_a_world_rule_is_done_once_the_world_is_out_and_the_range_in() {
        let ssh = world("tcp", Some(22), Some(22));
        let open = [ingress("tcp", 22, 22, "0.0.0.0/0")];
        let p = world_rule_plan(
            &ssh,
            Some("10.0.0.0/8"),
            world_rule_state(&ssh, Some("10.0.0.0/8"), &open),
        );
        assert_eq!(
            (p.action.as_str(), p.resource.as_str()),
            ("replace-world-rule", "sg-1:tcp/22:0.0.0.0/0")
        );
        assert_eq!(
            p.after,
            json!({"open_to_world": false, "open_to_replacement": true})
        );
        assert!(!p.already_done);

        let replaced = [ingress("tcp", 22, 22, "10.0.0.0/8")];
        let state = world_rule_state(&ssh, Some("10.0.0.0/8"), &replaced);
        assert!(world_rule_plan(&ssh, Some("10.0.0.0/8"), state).already_done);
        // Closed without a replacement asked for: done, nothing else expected.
        let p = world_rule_plan(&ssh, None, world_rule_state(&ssh, None, &[]));
        assert_eq!(p.after, json!({"open_to_world": false}));
        assert!(p.already_done);
    }

    fn instance(state: &str) -> ec2::InstanceDetail {
        ec2::InstanceDetail {
            id: "i-1".into(),
            state: state.into(),
            vpc_id: Some("vpc-1".into()),
            availability_zone: Some("eu-west-1a".into()),
            root_device: Some("/dev/xvda".into()),
            enis: Vec::new(),
            volumes: vec![
                ec2::Attachment {
                    device: "/dev/xvdf".into(),
                    volume: "vol-data".into(),
                },
                ec2::Attachment {
                    device: "/dev/xvda".into(),
                    volume: "vol-root".into(),
                },
            ],
            profile: None,
        }
    }

    #[test]
    fn restoring_swaps_the_root_volume_and_leaves_the_instance_as_it_was() {
        let d = instance("running");
        assert_eq!(root_volume(&d).map(|r| r.volume.as_str()), Some("vol-root"));
        let before = restore_state(&d, Some("snap-compromised".into()));
        assert_eq!(
            before,
            json!({
                "state": "running",
                "root_device": "/dev/xvda",
                "root_volume": "vol-root",
                "root_volume_from_snapshot": "snap-compromised",
            })
        );
        let p = restore_plan("i-1", "snap-good", "case-7", before);
        assert_eq!(
            p.after,
            json!({"root_volume_from_snapshot": "snap-good", "state": "running"})
        );
        assert!(!p.already_done);
        assert_eq!(
            p.notes,
            [
                "the instance is stopped while its root volume is swapped; the old root volume is kept, tagged squall:case=case-7"
            ]
        );

        let stopped = restore_plan(
            "i-1",
            "snap-good",
            "case-7",
            restore_state(&instance("stopped"), Some("snap-good".into())),
        );
        assert_eq!(stopped.after["state"], "stopped");
        assert!(stopped.already_done);
    }

    fn restore() -> Plan {
        let before = restore_state(&instance("running"), Some("snap-old".into()));
        restore_plan("i-1", "snap-good", "case-7", before)
    }

    #[test]
    fn a_snapshot_started_before_the_compromise_is_restored_with_both_times_in_the_plan() {
        let mut p = restore();
        against_compromise(
            &mut p,
            "snap-good",
            Some("2024-05-01T09:00:00Z"),
            Some("2024-05-01T10:00:00.000Z"),
            false,
        )
        .unwrap();
        assert_eq!(p.before["snapshot_started"], "2024-05-01T09:00:00Z");
        assert_eq!(p.before["compromised_at"], "2024-05-01T10:00:00.000Z");
        assert_eq!(
            p.notes[1],
            "snapshot snap-good was started 2024-05-01T09:00:00Z, before the compromise at 2024-05-01T10:00:00.000Z (the case's earliest detection)"
        );
    }

    #[test]
    fn a_snapshot_started_after_the_compromise_is_refused_unless_the_analyst_allows_it() {
        for started in [
            Some("2024-05-01T11:00:00Z"),
            Some("2024-05-01T10:00:00Z"),
            None,
        ] {
            let e = against_compromise(
                &mut restore(),
                "snap-late",
                started,
                Some("2024-05-01T10:00:00.000Z"),
                false,
            )
            .unwrap_err()
            .to_string();
            assert!(
                e.starts_with("refusing to restore i-1 from snap-late: it was started "),
                "{e}"
            );
            assert!(
                e.contains("not before the compromise at 2024-05-01T10:00:00.000Z"),
                "{e}"
            );
            assert!(e.contains("--allow-after-compromise"), "{e}");
        }
        let mut p = restore();
        against_compromise(
            &mut p,
            "snap-late",
            Some("2024-05-01T11:00:00Z"),
            Some("2024-05-01T10:00:00.000Z"),
            true,
        )
        .unwrap();
        assert!(
            p.notes[1].contains("restored because --allow-after-compromise"),
            "{:?}",
            p.notes
        );
        // Already restored from it: nothing left to refuse.
        let done = restore_plan(
            "i-1",
            "snap-late",
            "case-7",
            restore_state(&instance("running"), Some("snap-late".into())),
        );
        let mut done = done;
        against_compromise(
            &mut done,
            "snap-late",
            Some("2024-05-01T11:00:00Z"),
            Some("2024-05-01T10:00:00.000Z"),
            false,
        )
        .unwrap();
    }

    #[test]
    fn without_a_detection_time_the_plan_says_the_snapshot_cannot_be_checked() {
        let mut p = restore();
        against_compromise(
            &mut p,
            "snap-good",
            Some("2024-05-01T09:00:00Z"),
            None,
            false,
        )
        .unwrap();
        assert_eq!(p.before["compromised_at"], Value::Null);
        assert!(
            p.notes[1].contains("the case has no detection with a time"),
            "{:?}",
            p.notes
        );
    }

    #[test]
    fn an_instance_without_its_root_device_attached_has_no_root_volume() {
        let mut d = instance("stopped");
        d.volumes.retain(|v| v.device != "/dev/xvda");
        assert!(root_volume(&d).is_none());
        assert_eq!(restore_state(&d, None)["root_volume"], Value::Null);
    }
}

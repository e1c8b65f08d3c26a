//! Back to a good state once the attacker is contained: a leaked key rotated, a world-open
//! admin rule replaced, an instance's root volume rebuilt from a known-good snapshot.
//!
//! Each verb keeps what it replaces (the old key, disabled; the old root volume, detached and
//! tagged with the case), and orders its steps so that the legitimate service never loses
//! access and a half-done run leaves nothing secret behind.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use squall_core::respond::{Action, ActionError, Plan};

use super::{CASE_TAG, Clients, err, plan};
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
        let old = keys.iter().find(|k| k.0 == self.key);
        let created = old.map_or(0, |k| k.2);
        let replaced = keys
            .iter()
            .any(|k| k.0 != self.key && k.1 == "Active" && k.2 >= created);
        Ok(json!({
            "user": user,
            "old_key": old.map(|k| k.1.clone()),
            "replacement_active": replaced,
            "keys": keys.len(),
        }))
    }
}

impl Action for RotateKey {
    fn resource(&self) -> String {
        self.key.clone()
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let user = iam::key_user(&self.c.iam, &self.key).await.map_err(err)?;
        let before = self.state(&user).await?;
        let after = json!({"user": user, "old_key": "Inactive", "replacement_active": true});
        let mut p = plan("rotate-access-key", &self.key, before, after, true);
        if !p.already_done {
            if p.before["keys"].as_u64() >= Some(2) {
                return Err(format!(
                    "{user} already has two access keys (IAM's limit): delete the one not in use first, then rotate {}",
                    self.key
                )
                .into());
            }
            secret_target_ok(&self.secret_file)?;
            p.notes.push(format!(
                "the new key's secret goes to {} (mode 0600); it is never printed or recorded",
                self.secret_file.display()
            ));
        }
        Ok(p)
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        let user = plan.before["user"].as_str().unwrap_or_default();
        // The file is made before the key: a secret with nowhere to go must never exist.
        let shown = self.secret_file.display();
        let file = create_secret_file(&self.secret_file)
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

/// Whether a new secret can be written at `path`: nothing there (not even a dangling link,
/// which `exists()` would not see but creating the file would trip over), in a folder that is.
fn secret_target_ok(path: &std::path::Path) -> Result<(), ActionError> {
    let shown = path.display();
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(format!(
            "{shown} exists: the new secret is written only to a new file (help: choose another --secret-file)"
        )
        .into());
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    if !parent.is_dir() {
        return Err(format!(
            "{} is not a folder, so {shown} cannot be written (help: create it, or choose another --secret-file)",
            parent.display()
        )
        .into());
    }
    Ok(())
}

/// Creates the secret's file, readable by its owner only; never overwrites or follows a link.
fn create_secret_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
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

/// One ingress permission open to the world on an admin port or all ports.
#[derive(Debug, Clone)]
pub struct WorldRule {
    pub group: String,
    pub protocol: String,
    pub from: Option<i32>,
    pub to: Option<i32>,
    pub cidr: String,
}

impl WorldRule {
    pub fn name(&self) -> String {
        let ports = match (self.from, self.to) {
            _ if self.protocol == "-1" => "all".to_string(),
            (Some(a), Some(b)) if a == b => a.to_string(),
            (Some(a), Some(b)) => format!("{a}-{b}"),
            _ => "all".to_string(),
        };
        format!("{}:{}/{}:{}", self.group, self.protocol, ports, self.cidr)
    }
}

/// Replace an "any any" rule: the world-open permission removed and, with `--replace-with`,
/// the same ports opened to the given range instead.
pub struct FixWorldRule {
    pub c: Clients,
    pub rule: WorldRule,
    pub replace_with: Option<String>,
}

impl FixWorldRule {
    async fn state(&self) -> Result<Value, ActionError> {
        let rules = ec2::ingress_rules_of(&self.c.ec2, &self.rule.group)
            .await
            .map_err(err)?;
        let has = |cidr: &str| {
            rules.iter().any(|r| {
                r.protocol == self.rule.protocol
                    && r.from_port == self.rule.from
                    && r.to_port == self.rule.to
                    && r.cidr == cidr
            })
        };
        let mut state = json!({"open_to_world": has(&self.rule.cidr)});
        if let Some(cidr) = &self.replace_with {
            state["open_to_replacement"] = json!(has(cidr));
        }
        Ok(state)
    }
}

impl Action for FixWorldRule {
    fn resource(&self) -> String {
        self.rule.name()
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let before = self.state().await?;
        let mut after = json!({"open_to_world": false});
        if self.replace_with.is_some() {
            after["open_to_replacement"] = json!(true);
        }
        Ok(plan(
            "replace-world-rule",
            &self.rule.name(),
            before,
            after,
            false,
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
        ec2::revoke_ingress(&self.c.ec2, &r.group, &r.protocol, r.from, r.to, &r.cidr)
            .await
            .map_err(err)?;
        Ok(json!({}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.state().await
    }
}

/// Rebuild an instance's root volume from a known-good snapshot. The compromised root volume
/// is detached and kept (tagged) as evidence, never deleted.
pub struct RestoreInstance {
    pub c: Clients,
    pub id: String,
    pub snapshot: String,
    pub case: String,
    pub wait: Duration,
}

impl RestoreInstance {
    async fn state(&self) -> Result<Value, ActionError> {
        let d = ec2::instance(&self.c.ec2, &self.id).await.map_err(err)?;
        let root = d
            .volumes
            .iter()
            .find(|v| Some(&v.device) == d.root_device.as_ref());
        let from = match root {
            Some(r) => {
                ec2::volume(&self.c.ec2, &r.volume)
                    .await
                    .map_err(err)?
                    .snapshot
            }
            None => None,
        };
        Ok(json!({
            "state": d.state,
            "root_device": d.root_device,
            "root_volume": root.map(|r| &r.volume),
            "root_volume_from_snapshot": from,
        }))
    }
}

impl Action for RestoreInstance {
    fn resource(&self) -> String {
        self.id.clone()
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        ec2::snapshot(&self.c.ec2, &self.snapshot)
            .await
            .map_err(err)?;
        let before = self.state().await?;
        let after = json!({"root_volume_from_snapshot": self.snapshot, "state": before["state"]});
        let mut p = plan("restore-instance", &self.id, before, after, true);
        p.notes.push(format!(
            "the instance is stopped while its root volume is swapped; the old root volume is kept, tagged {CASE_TAG}={}",
            self.case
        ));
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
    use super::*;

    #[test]
    fn a_secret_is_never_sent_where_it_cannot_be_written() {
        let dir = tempfile::tempdir().unwrap();
        let dangling = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path().join("nowhere/x"), &dangling).unwrap();
        let err = secret_target_ok(&dangling).unwrap_err().to_string();
        assert!(err.contains("exists"), "{err}");
        let missing = dir.path().join("no-such-folder/creds");
        let err = secret_target_ok(&missing).unwrap_err().to_string();
        assert!(err.contains("not a folder"), "{err}");
        assert!(create_secret_file(&dangling).is_err());
        assert!(secret_target_ok(&dir.path().join("creds")).is_ok());
    }
}

//! The responder's verbs on AWS — contain, release, stop, terminate, acquire, recover — each an
//! [`Action`] on one resource: a plan from a fresh read, the change, and a read-back that the
//! provider-neutral driver (`squall_case::respond::Run`) compares with the plan and records.
//!
//! The calls themselves live in the thin service modules; this file says what a responder
//! does and in which order, and why.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use serde_json::{Value, json};
use squall_core::respond::{Action, ActionError, Plan};

use crate::AwsError;
use crate::services::ec2::{self, ElasticIp, Eni};
use crate::services::iam::{self, Principal};
use crate::services::kms;

/// The isolation group: no rules at all, so nothing gets in or out.
pub const ISOLATION_GROUP: &str = "squall-isolation";
/// Applied for a moment before the isolation group. Security groups track connections: moving
/// an instance to a group without rules leaves already-established flows (the attacker's
/// shell) running. Traffic allowed by an allow-all rule in both directions is not tracked, so
/// passing through this group first turns the live flows untracked, and the empty group then
/// cuts them at once.
pub const ALLOW_ALL_GROUP: &str = "squall-isolation-allow-all";

/// Tag keys put on everything Squall creates, so the case's resources can be found again.
pub const CASE_TAG: &str = "squall:case";
/// Names the volume a snapshot was taken of, so a re-run finds it instead of taking another.
pub const VOLUME_TAG: &str = "squall:volume";

/// Long operations (a snapshot of a large volume) are waited for up to this long.
pub const SNAPSHOT_WAIT: Duration = Duration::from_secs(6 * 3600);

/// The clients a verb needs, made once from one configuration.
#[derive(Clone, Debug)]
pub struct Clients {
    pub ec2: aws_sdk_ec2::Client,
    pub iam: aws_sdk_iam::Client,
    pub kms: aws_sdk_kms::Client,
    pub sts: aws_sdk_sts::Client,
    pub region: String,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Clients {
        Clients {
            ec2: aws_sdk_ec2::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
            kms: aws_sdk_kms::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            region: config
                .region()
                .map_or("us-east-1".to_string(), |r| r.to_string()),
        }
    }
}

fn err(e: AwsError) -> ActionError {
    Box::new(e)
}

fn plan(action: &str, resource: &str, before: Value, after: Value, visible: bool) -> Plan {
    let already_done = squall_core::respond::satisfies(&before, &after);
    Plan {
        action: action.to_string(),
        resource: resource.to_string(),
        before,
        after,
        visible_to_attacker: visible,
        already_done,
        notes: Vec::new(),
    }
}

/// Now, as IAM's `aws:TokenIssueTime` compares it.
pub fn now_utc() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

// ---------------------------------------------------------------------------------------------
// Access keys, users, roles.

/// Deactivate an access key; its user keeps the key, disabled, as evidence.
pub struct DeactivateKey {
    pub c: Clients,
    pub key: String,
}

impl DeactivateKey {
    async fn state(&self, user: &str) -> Result<Value, ActionError> {
        let keys = iam::user_keys(&self.c.iam, user).await.map_err(err)?;
        let status = keys
            .iter()
            .find(|k| k.0 == self.key)
            .map(|k| k.1.clone())
            .ok_or_else(|| format!("iam:ListAccessKeys on {user}: key {} not found", self.key))?;
        Ok(json!({"user": user, "status": status}))
    }
}

impl Action for DeactivateKey {
    fn resource(&self) -> String {
        self.key.clone()
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let user = iam::key_user(&self.c.iam, &self.key).await.map_err(err)?;
        let before = self.state(&user).await?;
        let after = json!({"user": user, "status": "Inactive"});
        Ok(plan(
            "deactivate-access-key",
            &self.key,
            before,
            after,
            true,
        ))
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        let user = plan.before["user"].as_str().unwrap_or_default();
        iam::set_key_status(&self.c.iam, user, &self.key, false)
            .await
            .map_err(err)?;
        Ok(json!({}))
    }

    async fn observe(&self, plan: &Plan) -> Result<Value, ActionError> {
        self.state(plan.before["user"].as_str().unwrap_or_default())
            .await
    }
}

/// Contain an IAM user: every key deactivated, console login removed, SSH public keys
/// deleted (their bodies recorded first), and sessions issued before now denied.
pub struct ContainUser {
    pub c: Clients,
    pub user: String,
    /// The revocation cut-off, fixed when the plan is made so plan and check agree.
    pub now: String,
}

impl ContainUser {
    async fn state(&self) -> Result<(Value, Vec<(String, String)>, Option<String>), ActionError> {
        let c = &self.c.iam;
        let keys = iam::user_keys(c, &self.user).await.map_err(err)?;
        let login = iam::has_login_profile(c, &self.user).await.map_err(err)?;
        let ssh = iam::ssh_keys(c, &self.user).await.map_err(err)?;
        let revoked = iam::revoked_before(c, Principal::User(&self.user))
            .await
            .map_err(err)?;
        let keys: BTreeMap<String, String> = keys.into_iter().map(|k| (k.0, k.1)).collect();
        let state = json!({
            "access_keys": keys,
            "console_login": login,
            "ssh_keys": ssh.iter().map(|k| &k.0).collect::<Vec<_>>(),
            "sessions_revoked": revoked.is_some(),
        });
        Ok((state, ssh, revoked))
    }
}

impl Action for ContainUser {
    fn resource(&self) -> String {
        self.user.clone()
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let (state, ssh, revoked) = self.state().await?;
        let inactive: BTreeMap<&String, &str> = state["access_keys"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| (k, "Inactive"))
            .collect();
        let after = json!({
            "access_keys": inactive,
            "console_login": false,
            "ssh_keys": [],
            "sessions_revoked": true,
        });
        let mut before = state;
        before["ssh_key_bodies"] = json!(ssh);
        before["sessions_revoked_before"] = json!(revoked);
        let mut p = plan("contain-user", &self.user, before, after, true);
        p.notes.push(format!(
            "sessions issued before {} are denied; the console password cannot be restored, only reset",
            self.now
        ));
        Ok(p)
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        let c = &self.c.iam;
        // Sessions first: from this point on, whatever the attacker already holds is dead,
        // even if a later step fails.
        if plan.before["sessions_revoked"] != true {
            iam::revoke_sessions(c, Principal::User(&self.user), &self.now)
                .await
                .map_err(err)?;
        }
        for (key, status) in plan.before["access_keys"].as_object().into_iter().flatten() {
            if status != "Inactive" {
                iam::set_key_status(c, &self.user, key, false)
                    .await
                    .map_err(err)?;
            }
        }
        if plan.before["console_login"] == true {
            iam::delete_login_profile(c, &self.user)
                .await
                .map_err(err)?;
        }
        for id in plan.before["ssh_keys"].as_array().into_iter().flatten() {
            iam::delete_ssh_key(c, &self.user, id.as_str().unwrap_or_default())
                .await
                .map_err(err)?;
        }
        Ok(json!({"sessions_revoked_before": self.now}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        Ok(self.state().await?.0)
    }
}

/// Contain an IAM role: sessions issued before now are denied (stolen temporary credentials
/// die); the role keeps working for new, legitimate sessions.
pub struct ContainRole {
    pub c: Clients,
    pub role: String,
    pub now: String,
}

impl Action for ContainRole {
    fn resource(&self) -> String {
        self.role.clone()
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let revoked = iam::revoked_before(&self.c.iam, Principal::Role(&self.role))
            .await
            .map_err(err)?;
        let before =
            json!({"sessions_revoked": revoked.is_some(), "sessions_revoked_before": revoked});
        let mut p = plan(
            "contain-role",
            &self.role,
            before,
            json!({"sessions_revoked": true}),
            true,
        );
        p.notes.push(format!(
            "every session of this role issued before {} stops working, including legitimate workloads' (they re-authenticate)",
            self.now
        ));
        Ok(p)
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        iam::revoke_sessions(&self.c.iam, Principal::Role(&self.role), &self.now)
            .await
            .map_err(err)?;
        Ok(json!({"sessions_revoked_before": self.now}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let revoked = iam::revoked_before(&self.c.iam, Principal::Role(&self.role))
            .await
            .map_err(err)?;
        Ok(json!({"sessions_revoked": revoked.is_some(), "sessions_revoked_before": revoked}))
    }
}

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

#[cfg(test)]
mod secret_file_tests {
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

// ---------------------------------------------------------------------------------------------
// Instances.

/// Isolate an instance without stopping it (memory and processes stay for the forensics):
/// termination protection on; every network interface through the allow-all group into the
/// isolation group; the instance profile detached and its role's older sessions denied (the
/// credentials the attacker may have taken from IMDS); Elastic IPs disassociated. The prior
/// state goes into the plan, so `release` can restore it from the ledger.
pub struct IsolateInstance {
    pub c: Clients,
    pub id: String,
    pub now: String,
    /// The isolation groups found or made per VPC, shared by the instances isolated together
    /// so each VPC's groups are looked up and created once.
    pub groups: Arc<IsolationGroups>,
    /// The batch read the run's plans share.
    pub survey: Arc<Survey>,
}

/// VPC id → (allow-all group, isolation group).
pub type IsolationGroups = tokio::sync::Mutex<HashMap<String, (String, String)>>;

/// What planning many isolations reads once for all of them: the instances, their profiles
/// and Elastic IPs (two or three calls per 200 instances instead of three per instance), and
/// each VPC's isolation group. Plans only: verification always reads afresh.
#[derive(Default)]
pub struct Survey {
    ids: Vec<String>,
    read: tokio::sync::OnceCell<Option<SurveyRead>>,
    /// VPC → its isolation group, if it exists yet.
    groups: tokio::sync::Mutex<HashMap<String, Option<String>>>,
}

type SurveyRead = (
    HashMap<String, ec2::InstanceDetail>,
    HashMap<String, Vec<ElasticIp>>,
);

impl Survey {
    /// A survey of these instances, read on first use.
    pub fn new(ids: Vec<String>) -> Survey {
        Survey {
            ids,
            ..Survey::default()
        }
    }

    /// The instance and its Elastic IPs, if the batch read worked (an unknown id fails it;
    /// each plan then reads its own instance and reports its own error).
    async fn instance(
        &self,
        c: &Clients,
        id: &str,
    ) -> Option<(ec2::InstanceDetail, Vec<ElasticIp>)> {
        let read = self
            .read
            .get_or_init(|| async {
                let details = ec2::instances_by_id(&c.ec2, &self.ids).await.ok()?;
                let ips = ec2::elastic_ips_by_instance(&c.ec2, &self.ids).await.ok()?;
                Some((details, ips))
            })
            .await
            .as_ref()?;
        Some((
            read.0.get(id)?.clone(),
            read.1.get(id).cloned().unwrap_or_default(),
        ))
    }
}

impl IsolateInstance {
    /// The isolation state; `group` is the VPC's isolation group as known (never created
    /// here: plans change nothing).
    async fn state(
        &self,
        detail: &ec2::InstanceDetail,
        eips: &[ElasticIp],
        group: Option<String>,
        role: Option<&str>,
    ) -> Result<Value, ActionError> {
        let c = &self.c;
        let protected = ec2::termination_protection(&c.ec2, &self.id)
            .await
            .map_err(err)?;
        let mut isolated = group.is_some()
            && detail
                .enis
                .iter()
                .all(|e| e.groups.len() == 1 && Some(&e.groups[0]) == group.as_ref());
        if let Some(g) = &group
            && isolated
        {
            isolated = ec2::group_rule_counts(&c.ec2, g).await.map_err(err)? == (0, 0);
        }
        let revoked = match role {
            Some(r) => iam::revoked_before(&c.iam, Principal::Role(r))
                .await
                .map_err(err)?
                .is_some(),
            None => false,
        };
        Ok(json!({
            "termination_protection": protected,
            "network_isolated": isolated,
            "instance_profile": detail.profile.as_ref().map(|p| &p.1),
            "elastic_ips": eips.len(),
            "role_sessions_revoked": revoked,
        }))
    }

    /// The VPC's isolation group as known: made by this run's executions, else looked up once
    /// per run (never created here: plans change nothing).
    async fn isolation_group(&self, vpc: &str) -> Result<Option<String>, ActionError> {
        if let Some((_, isolation)) = self.groups.lock().await.get(vpc) {
            return Ok(Some(isolation.clone()));
        }
        let mut looked_up = self.survey.groups.lock().await;
        if let Some(g) = looked_up.get(vpc) {
            return Ok(g.clone());
        }
        let g = ec2::find_group(&self.c.ec2, vpc, ISOLATION_GROUP)
            .await
            .map_err(err)?;
        looked_up.insert(vpc.to_string(), g.clone());
        Ok(g)
    }

    fn vpc(&self, detail: &ec2::InstanceDetail) -> Result<String, ActionError> {
        detail.vpc_id.clone().ok_or_else(|| {
            format!(
                "{} is not in a VPC: security groups cannot isolate it (help: --stop)",
                self.id
            )
            .into()
        })
    }

    /// The VPC's (allow-all, isolation) groups, made on first use.
    async fn ensure_groups(&self, vpc: &str) -> Result<(String, String), ActionError> {
        let mut known = self.groups.lock().await;
        if let Some(g) = known.get(vpc) {
            return Ok(g.clone());
        }
        let ec2 = &self.c.ec2;
        let allow = ec2::ensure_group(
            ec2,
            vpc,
            ALLOW_ALL_GROUP,
            "Squall: passes live connections to untracked before isolation",
            true,
        )
        .await
        .map_err(err)?;
        let isolation = ec2::ensure_group(
            ec2,
            vpc,
            ISOLATION_GROUP,
            "Squall: isolation, no traffic in or out",
            false,
        )
        .await
        .map_err(err)?;
        known.insert(vpc.to_string(), (allow.clone(), isolation.clone()));
        Ok((allow, isolation))
    }
}

impl Action for IsolateInstance {
    fn resource(&self) -> String {
        self.id.clone()
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let c = &self.c;
        let (detail, eips) = match self.survey.instance(c, &self.id).await {
            Some(found) => found,
            None => (
                ec2::instance(&c.ec2, &self.id).await.map_err(err)?,
                ec2::elastic_ips(&c.ec2, &self.id).await.map_err(err)?,
            ),
        };
        let vpc = self.vpc(&detail)?;
        let group = self.isolation_group(&vpc).await?;
        let role = match &detail.profile {
            Some((_, arn)) => iam::profile_role(&c.iam, arn).await.map_err(err)?,
            None => None,
        };
        let mut before = self.state(&detail, &eips, group, role.as_deref()).await?;
        let protected = before["termination_protection"].clone();
        before["prior"] = json!({
            "termination_protection": protected,
            "vpc": detail.vpc_id,
            "enis": detail.enis,
            "instance_profile": detail.profile.as_ref().map(|p| &p.1),
            "profile_association": detail.profile.as_ref().map(|p| &p.0),
            "role": role,
            "elastic_ips": eips,
        });
        let after = json!({
            "termination_protection": true,
            "network_isolated": true,
            "instance_profile": null,
            "elastic_ips": 0,
            "role_sessions_revoked": role.is_some(),
        });
        let mut p = plan("isolate-instance", &self.id, before, after, true);
        if let Some(r) = &role {
            p.notes.push(format!(
                "role {r}: sessions issued before {} are denied — for every instance using it",
                self.now
            ));
        }
        Ok(p)
    }

    /// Carries out the plan as read: the interfaces, profile and addresses it recorded.
    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        let c = &self.c;
        let prior = &plan.before["prior"];
        let enis: Vec<Eni> = serde_json::from_value(prior["enis"].clone())?;
        let single = enis.len() == 1;
        let vpc = prior["vpc"].as_str().unwrap_or_default();
        ec2::set_termination_protection(&c.ec2, &self.id, true)
            .await
            .map_err(err)?;
        let (allow, isolation) = self.ensure_groups(vpc).await?;
        for eni in &enis {
            set_groups(c, &self.id, single, &eni.id, std::slice::from_ref(&allow)).await?;
        }
        for eni in &enis {
            set_groups(
                c,
                &self.id,
                single,
                &eni.id,
                std::slice::from_ref(&isolation),
            )
            .await?;
        }
        let role = prior["role"].as_str();
        if let Some(role) = role {
            iam::revoke_sessions(&c.iam, Principal::Role(role), &self.now)
                .await
                .map_err(err)?;
        }
        if let Some(association) = prior["profile_association"].as_str() {
            ec2::disassociate_profile(&c.ec2, association)
                .await
                .map_err(err)?;
        }
        let eips: Vec<ElasticIp> = serde_json::from_value(prior["elastic_ips"].clone())?;
        for ip in &eips {
            ec2::disassociate_address(&c.ec2, ip).await.map_err(err)?;
        }
        Ok(
            json!({"isolation_group": isolation, "allow_all_group": allow, "sessions_revoked_before": role.map(|_| &self.now)}),
        )
    }

    async fn observe(&self, plan: &Plan) -> Result<Value, ActionError> {
        let c = &self.c;
        let detail = ec2::instance(&c.ec2, &self.id).await.map_err(err)?;
        let eips = ec2::elastic_ips(&c.ec2, &self.id).await.map_err(err)?;
        let vpc = self.vpc(&detail)?;
        let group = self.isolation_group(&vpc).await?;
        self.state(&detail, &eips, group, plan.before["prior"]["role"].as_str())
            .await
    }
}

/// Sets one interface's groups; for a single-interface instance the instance-level groups
/// too, so both views agree (moto, for one, reports the union of the two).
async fn set_groups(
    c: &Clients,
    instance: &str,
    single_interface: bool,
    eni: &str,
    groups: &[String],
) -> Result<(), ActionError> {
    ec2::set_eni_groups(&c.ec2, eni, groups)
        .await
        .map_err(err)?;
    if single_interface {
        ec2::set_instance_groups(&c.ec2, instance, groups)
            .await
            .map_err(err)?;
    }
    Ok(())
}

/// Undo an isolation: the security groups, instance profile, Elastic IPs and termination
/// protection the instance had before, as the isolation's plan recorded them. The role's
/// revocation of older sessions stays: those sessions may be the attacker's.
pub struct ReleaseInstance {
    pub c: Clients,
    pub id: String,
    /// `prior` of the isolation plan, from the ledger.
    pub prior: Value,
}

impl ReleaseInstance {
    async fn state(&self) -> Result<Value, ActionError> {
        let c = &self.c;
        let detail = ec2::instance(&c.ec2, &self.id).await.map_err(err)?;
        let protected = ec2::termination_protection(&c.ec2, &self.id)
            .await
            .map_err(err)?;
        let eips = ec2::elastic_ips(&c.ec2, &self.id).await.map_err(err)?;
        Ok(json!({
            "termination_protection": protected,
            "enis": detail.enis,
            "instance_profile": detail.profile.as_ref().map(|p| &p.1),
            "elastic_ips": eips.iter().map(|e| &e.allocation_id).collect::<Vec<_>>(),
        }))
    }
}

impl Action for ReleaseInstance {
    fn resource(&self) -> String {
        self.id.clone()
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let before = self.state().await?;
        let prior = &self.prior;
        let eips: Vec<ElasticIp> =
            serde_json::from_value(prior["elastic_ips"].clone()).unwrap_or_default();
        let after = json!({
            "termination_protection": prior["termination_protection"],
            "enis": prior["enis"],
            "instance_profile": prior["instance_profile"],
            "elastic_ips": eips.iter().map(|e| &e.allocation_id).collect::<Vec<_>>(),
        });
        let mut p = plan("release-instance", &self.id, before, after, false);
        if let Some(role) = prior["role"].as_str() {
            p.notes.push(format!(
                "role {role} keeps denying sessions issued before the isolation"
            ));
        }
        Ok(p)
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        let c = &self.c;
        let prior = &self.prior;
        let enis: Vec<Eni> = serde_json::from_value(prior["enis"].clone())?;
        for eni in &enis {
            set_groups(c, &self.id, enis.len() == 1, &eni.id, &eni.groups).await?;
        }
        if let Some(arn) = prior["instance_profile"].as_str()
            && plan.before["instance_profile"].as_str() != Some(arn)
        {
            ec2::associate_profile(&c.ec2, &self.id, arn)
                .await
                .map_err(err)?;
        }
        let eips: Vec<ElasticIp> = serde_json::from_value(prior["elastic_ips"].clone())?;
        let attached = plan.before["elastic_ips"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for ip in eips
            .iter()
            .filter(|ip| !attached.contains(&json!(ip.allocation_id)))
        {
            ec2::associate_address(&c.ec2, &self.id, enis.len() == 1, ip)
                .await
                .map_err(err)?;
        }
        let protected = prior["termination_protection"].as_bool().unwrap_or(false);
        ec2::set_termination_protection(&c.ec2, &self.id, protected)
            .await
            .map_err(err)?;
        Ok(json!({}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.state().await
    }
}

/// Stop (or hibernate, keeping memory on the root volume) an instance.
pub struct StopInstance {
    pub c: Clients,
    pub id: String,
    pub hibernate: bool,
    pub wait: Duration,
}

impl Action for StopInstance {
    fn resource(&self) -> String {
        self.id.clone()
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let d = ec2::instance(&self.c.ec2, &self.id).await.map_err(err)?;
        let mut p = plan(
            if self.hibernate {
                "hibernate-instance"
            } else {
                "stop-instance"
            },
            &self.id,
            json!({"state": d.state}),
            json!({"state": "stopped"}),
            true,
        );
        if !self.hibernate {
            p.notes
                .push("memory is lost: acquire it first if it matters (--hibernate keeps it on the root volume)".into());
        }
        Ok(p)
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        ec2::stop(&self.c.ec2, &self.id, self.hibernate)
            .await
            .map_err(err)?;
        Ok(json!({}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let state = ec2::wait_state(&self.c.ec2, &self.id, "stopped", self.wait)
            .await
            .map_err(err)?;
        Ok(json!({"state": state}))
    }
}

/// Terminate an instance — only once every one of its volumes has a verified acquisition in
/// the case; the caller passes the volumes the ledger shows acquired.
pub struct TerminateInstance {
    pub c: Clients,
    pub id: String,
    pub case: String,
    pub acquired: Vec<String>,
    pub wait: Duration,
}

impl Action for TerminateInstance {
    fn resource(&self) -> String {
        self.id.clone()
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let d = ec2::instance(&self.c.ec2, &self.id).await.map_err(err)?;
        let missing: Vec<&str> = d
            .volumes
            .iter()
            .map(|v| v.volume.as_str())
            .filter(|v| !self.acquired.iter().any(|a| a == v))
            .collect();
        if d.state != "terminated" && !missing.is_empty() {
            return Err(format!(
                "refusing to terminate {}: no verified acquisition of {} in case {} (help: `squall acquire aws instance {} --case {} --yes` first)",
                self.id,
                missing.join(", "),
                self.case,
                self.id,
                self.case
            )
            .into());
        }
        let mut p = plan(
            "terminate-instance",
            &self.id,
            json!({"state": d.state, "volumes": d.volumes}),
            json!({"state": "terminated"}),
            true,
        );
        p.notes
            .push("termination protection is turned off first; the acquired snapshots stay".into());
        Ok(p)
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        ec2::set_termination_protection(&self.c.ec2, &self.id, false)
            .await
            .map_err(err)?;
        ec2::terminate(&self.c.ec2, &self.id).await.map_err(err)?;
        Ok(json!({}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let state = ec2::wait_state(&self.c.ec2, &self.id, "terminated", self.wait)
            .await
            .map_err(err)?;
        Ok(json!({"state": state}))
    }
}

// ---------------------------------------------------------------------------------------------
// Acquisition.

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

impl Action for AcquireVolume {
    fn resource(&self) -> String {
        self.volume.clone()
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let v = ec2::volume(&self.c.ec2, &self.volume).await.map_err(err)?;
        let mut before = self.state().await?;
        before["volume"] = json!(v);
        let mut after = json!({"snapshot_state": "completed"});
        if let Some(f) = &self.forensic {
            after["shared_with_forensic_account"] = json!(true);
            if f.clients.is_some() {
                after["forensic_copy_state"] = json!("completed");
            }
        }
        let mut p = plan("acquire-volume", &self.volume, before, after, false);
        if let Some(f) = &self.forensic {
            let managed = match &v.kms_key {
                Some(k) if v.encrypted => kms::aws_managed(&self.c.kms, k).await.map_err(err)?,
                _ => false,
            };
            if managed {
                p.notes.push(format!(
                    "{} uses the AWS-managed key, which cannot be shared: the snapshot is copied under {} first",
                    self.volume,
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
        Ok(p)
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

// ---------------------------------------------------------------------------------------------
// Recovery.

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

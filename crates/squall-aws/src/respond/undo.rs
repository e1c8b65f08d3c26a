//! Undoing what the attacker changed in the account: a policy attached or put on an identity,
//! a managed policy's default version switched, a role's trust opened, a trail stopped, a key
//! pair created, a snapshot or AMI shared out, an ingress rule opened, a console login made.
//!
//! Deactivating and detaching come first: what is detached stays in the account as it was.
//! What the attacker created is deleted only once its full description (an inline policy's
//! document, a key pair's public key, a login profile's creation date) is in the plan's
//! `before`: the driver records the approved plan in the ledger before anything runs, so that
//! entry is the forensic copy of what went. A deletion re-checks, just before it happens, that
//! what it deletes is still what the plan recorded.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use squall_core::respond::{Action, ActionError, Plan};

use super::{Clients, IngressPermission, err, is_squall_group};
use crate::services::iam::{self, Holder, LoginProfile};
use crate::services::{cloudtrail, ec2};

/// Detach a managed policy from a user, role or group; the policy itself is kept.
pub struct DetachPolicy {
    pub c: Clients,
    pub holder: Holder,
    pub policy_arn: String,
}

impl DetachPolicy {
    async fn state(&self) -> Result<Value, ActionError> {
        let attached = iam::attached_policies(&self.c.iam, &self.holder)
            .await
            .map_err(err)?;
        Ok(attachment_state(&self.holder, &self.policy_arn, &attached))
    }
}

/// Whether `arn` is among the policies attached to `holder` (all of them listed, for the
/// record).
fn attachment_state(holder: &Holder, arn: &str, attached: &[String]) -> Value {
    json!({
        "holder": holder.to_string(),
        "policy_arn": arn,
        "attached": attached.iter().any(|a| a == arn),
        "attached_policies": attached,
    })
}

/// The plan to detach `arn` from `holder`, whose attachments `before` shows; a policy not
/// attached is already done.
fn detach_plan(holder: &Holder, arn: &str, before: Value) -> Plan {
    let mut p = Plan::new(
        "detach-policy",
        &format!("{holder}:{arn}"),
        before,
        json!({"attached": false}),
        true,
    );
    if !p.already_done {
        p.notes.push(format!(
            "only the attachment to {holder} goes: the policy {arn} is kept as it is"
        ));
    }
    p
}

impl Action for DetachPolicy {
    fn resource(&self) -> String {
        format!("{}:{}", self.holder, self.policy_arn)
    }

    fn action(&self) -> &'static str {
        "detach-policy"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        Ok(detach_plan(
            &self.holder,
            &self.policy_arn,
            self.state().await?,
        ))
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        iam::detach_policy(&self.c.iam, &self.holder, &self.policy_arn)
            .await
            .map_err(err)?;
        Ok(json!({}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.state().await
    }
}

/// Delete an inline policy the attacker put on a user, role or group, once its document is
/// read and in the plan.
pub struct DeleteInlinePolicy {
    pub c: Clients,
    pub holder: Holder,
    pub policy: String,
    /// The case's ledger holds this policy's verified deletion (its document with it): found
    /// absent, it is done, not a name to question.
    pub deleted_in_case: bool,
}

impl DeleteInlinePolicy {
    async fn read(&self) -> Result<(Vec<String>, Option<Value>), ActionError> {
        let names = iam::inline_policies(&self.c.iam, &self.holder)
            .await
            .map_err(err)?;
        let document = if names.contains(&self.policy) {
            Some(
                iam::inline_policy(&self.c.iam, &self.holder, &self.policy)
                    .await
                    .map_err(err)?,
            )
        } else {
            None
        };
        Ok((names, document))
    }
}

/// The inline policy `name` on `holder`: whether it exists and its full document, with the
/// names of every inline policy the holder has.
fn inline_state(holder: &Holder, name: &str, names: &[String], document: Option<Value>) -> Value {
    json!({
        "holder": holder.to_string(),
        "policy": name,
        "exists": document.is_some(),
        "document": document,
        "inline_policies": names,
    })
}

/// The plan to delete the inline policy `name` from `holder`, in `before` (as
/// [`inline_state`] reads it). Refused for Squall's own revocation policy, for a policy that
/// is not there unless this case deleted it, and for one whose document was not read.
fn inline_delete_plan(
    holder: &Holder,
    name: &str,
    before: Value,
    deleted_in_case: bool,
) -> Result<Plan, ActionError> {
    if name == iam::REVOKE_POLICY {
        return Err(format!(
            "{name} on {holder} is Squall's own session revocation, not the attacker's: deleting it would revive the sessions it denies"
        )
        .into());
    }
    let exists = before["exists"] == true;
    if !exists && !deleted_in_case {
        let names: Vec<&str> = before["inline_policies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let has = if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        };
        return Err(format!(
            "{holder} has no inline policy {name} (its inline policies: {has}); nothing to delete"
        )
        .into());
    }
    if exists && !recorded(&before["document"]) {
        return Err(format!(
            "the document of {name} on {holder} could not be read: it is not deleted before it is recorded"
        )
        .into());
    }
    let mut p = Plan::new(
        "delete-inline-policy",
        &format!("{holder}:{name}"),
        before,
        json!({"exists": false}),
        true,
    );
    p.notes.push(if p.already_done {
        "deleted earlier in this case; its document is in that plan, in the ledger".to_string()
    } else {
        format!(
            "its full document is in this plan's before, recorded in the ledger before {name} is deleted"
        )
    });
    Ok(p)
}

/// A description read from AWS that may stand as the record of what is deleted: not missing,
/// not empty.
pub(super) fn recorded(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

impl Action for DeleteInlinePolicy {
    fn resource(&self) -> String {
        format!("{}:{}", self.holder, self.policy)
    }

    fn action(&self) -> &'static str {
        "delete-inline-policy"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let (names, document) = self.read().await?;
        let before = inline_state(&self.holder, &self.policy, &names, document);
        inline_delete_plan(&self.holder, &self.policy, before, self.deleted_in_case)
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        // What is deleted must be what the ledger holds: a document changed since the plan
        // was read is not deleted unrecorded.
        let (_, now) = self.read().await?;
        if now.as_ref() != Some(&plan.before["document"]) {
            return Err(format!(
                "{} on {} changed since it was planned: it was not deleted (help: run again to record the document it has now)",
                self.policy, self.holder
            )
            .into());
        }
        iam::delete_inline_policy(&self.c.iam, &self.holder, &self.policy)
            .await
            .map_err(err)?;
        Ok(json!({}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let (names, document) = self.read().await?;
        Ok(inline_state(&self.holder, &self.policy, &names, document))
    }
}

/// Make an earlier version of a managed policy its default again (the attacker's version is
/// kept, no longer in force).
pub struct RestorePolicyVersion {
    pub c: Clients,
    pub policy_arn: String,
    pub version: String,
}

impl RestorePolicyVersion {
    /// The versions, and the documents of the default and of the version to restore.
    async fn read(&self) -> Result<(Vec<(String, bool)>, BTreeMap<String, Value>), ActionError> {
        let c = &self.c.iam;
        let versions = iam::policy_versions(c, &self.policy_arn)
            .await
            .map_err(err)?;
        let mut documents = BTreeMap::new();
        for (id, default) in &versions {
            if *default || *id == self.version {
                let doc = iam::policy_version_document(c, &self.policy_arn, id)
                    .await
                    .map_err(err)?;
                documents.insert(id.clone(), doc);
            }
        }
        Ok((versions, documents))
    }
}

/// The default version among `versions` (id, is the default).
fn default_version(versions: &[(String, bool)]) -> Option<&str> {
    versions.iter().find(|v| v.1).map(|v| v.0.as_str())
}

/// The plan to make `version` the default of `arn`: both documents in `before`. A version
/// the policy does not have is refused, naming the ones it has.
fn policy_version_plan(
    arn: &str,
    version: &str,
    versions: &[(String, bool)],
    documents: &BTreeMap<String, Value>,
) -> Result<Plan, ActionError> {
    if !versions.iter().any(|v| v.0 == version) {
        let has: Vec<String> = versions
            .iter()
            .map(|(id, default)| {
                if *default {
                    format!("{id} (default)")
                } else {
                    id.clone()
                }
            })
            .collect();
        return Err(format!(
            "{arn} has no version {version} (its versions: {}); nothing was changed",
            has.join(", ")
        )
        .into());
    }
    let default = default_version(versions);
    let before = json!({
        "default_version": default,
        "default_document": default.and_then(|d| documents.get(d)),
        "restore_version": version,
        "restore_document": documents.get(version),
        "versions": versions.iter().map(|v| &v.0).collect::<Vec<_>>(),
    });
    let mut p = Plan::new(
        "restore-policy-version",
        arn,
        before,
        json!({"default_version": version}),
        true,
    );
    if let Some(d) = default.filter(|_| !p.already_done) {
        p.notes.push(format!(
            "version {d} is kept, no longer the default: its document is in this plan's before"
        ));
    }
    Ok(p)
}

impl Action for RestorePolicyVersion {
    fn resource(&self) -> String {
        self.policy_arn.clone()
    }

    fn action(&self) -> &'static str {
        "restore-policy-version"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let (versions, documents) = self.read().await?;
        policy_version_plan(&self.policy_arn, &self.version, &versions, &documents)
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        iam::set_default_policy_version(&self.c.iam, &self.policy_arn, &self.version)
            .await
            .map_err(err)?;
        Ok(json!({}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let versions = iam::policy_versions(&self.c.iam, &self.policy_arn)
            .await
            .map_err(err)?;
        Ok(json!({"default_version": default_version(&versions)}))
    }
}

/// Replace a role's trust policy with a document the analyst gives (the one in force is
/// recorded first).
pub struct RestoreTrustPolicy {
    pub c: Clients,
    pub role: String,
    /// The trust policy to restore.
    pub document: Value,
    /// Where it was read from, to say so in the plan.
    pub file: String,
}

/// The plan to give `role` the trust policy `wanted` (read from `file`), its current one in
/// `before`. Done only when the document in force is exactly the one wanted; a document
/// without statements is refused.
fn trust_plan(role: &str, file: &str, current: Value, wanted: &Value) -> Result<Plan, ActionError> {
    let statements = match &wanted["Statement"] {
        Value::Array(a) => !a.is_empty(),
        Value::Object(_) => true,
        _ => false,
    };
    if !statements {
        return Err(format!(
            "{file} is not a trust policy: it has no Statement (help: give the role's known-good trust policy document, as `aws iam get-role` shows it under AssumeRolePolicyDocument)"
        )
        .into());
    }
    let same = current == *wanted;
    let mut p = Plan::new(
        "restore-trust-policy",
        role,
        json!({"trust_policy": current}),
        json!({"trust_policy": wanted}),
        true,
    );
    p.already_done = same;
    if !same {
        p.notes.push(format!(
            "the trust policy in force is recorded in this plan's before; the new one is {file}"
        ));
    }
    Ok(p)
}

impl Action for RestoreTrustPolicy {
    fn resource(&self) -> String {
        self.role.clone()
    }

    fn action(&self) -> &'static str {
        "restore-trust-policy"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let current = iam::trust_policy(&self.c.iam, &self.role)
            .await
            .map_err(err)?;
        trust_plan(&self.role, &self.file, current, &self.document)
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        iam::set_trust_policy(&self.c.iam, &self.role, &self.document.to_string())
            .await
            .map_err(err)?;
        Ok(json!({}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let current = iam::trust_policy(&self.c.iam, &self.role)
            .await
            .map_err(err)?;
        Ok(json!({"trust_policy": current}))
    }
}

/// Start a stopped CloudTrail trail logging again, verified by its status.
pub struct StartLogging {
    pub c: Clients,
    pub trail: String,
}

impl StartLogging {
    async fn state(&self) -> Result<Value, ActionError> {
        let s = cloudtrail::trail_status(&self.c.cloudtrail, &self.trail)
            .await
            .map_err(err)?;
        Ok(json!({"logging": s.logging, "stopped_at": s.stopped_at}))
    }
}

/// The plan to start `trail`, whose status `before` shows; one logging already is done.
fn start_logging_plan(trail: &str, before: Value) -> Plan {
    let mut p = Plan::new(
        "start-logging",
        trail,
        before,
        json!({"logging": true}),
        true,
    );
    if !p.already_done {
        let since = p.before["stopped_at"]
            .as_str()
            .map_or(String::new(), |t| format!(" since {t}"));
        p.notes.push(format!(
            "{trail} recorded nothing{since}: what happened until it starts again is not in its logs"
        ));
    }
    p
}

impl Action for StartLogging {
    fn resource(&self) -> String {
        self.trail.clone()
    }

    fn action(&self) -> &'static str {
        "start-logging"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        Ok(start_logging_plan(&self.trail, self.state().await?))
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        cloudtrail::start_logging(&self.c.cloudtrail, &self.trail)
            .await
            .map_err(err)?;
        Ok(json!({}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.state().await
    }
}

/// Delete an EC2 key pair the attacker created, once its public key is read and in the plan.
pub struct DeleteKeyPair {
    pub c: Clients,
    pub name: String,
    /// The case's ledger holds this key pair's verified deletion in this region: found absent,
    /// it is done, not an unknown name.
    pub deleted_in_case: bool,
}

/// A key pair of `region` as found (or not): its whole description when it exists.
fn key_pair_state(region: &str, found: Option<&ec2::KeyPair>) -> Value {
    json!({"region": region, "exists": found.is_some(), "key_pair": found})
}

/// The plan to delete key pair `name`, in `before` (as [`key_pair_state`] reads it). A key
/// pair not there is an error naming it, unless this case deleted it; one whose public key
/// AWS did not give is not deleted.
fn key_pair_plan(name: &str, before: Value, deleted_in_case: bool) -> Result<Plan, ActionError> {
    let region = before["region"].as_str().unwrap_or_default().to_string();
    let exists = before["exists"] == true;
    if !exists && !deleted_in_case {
        return Err(format!(
            "key pair {name} not found in {region} (ec2:DescribeKeyPairs); nothing to delete (help: --region for another region)"
        )
        .into());
    }
    if exists && !recorded(&before["key_pair"]["public_key"]) {
        return Err(format!(
            "ec2:DescribeKeyPairs gave no public key for key pair {name} in {region}: it is not deleted before its key material is recorded"
        )
        .into());
    }
    let mut p = Plan::new(
        "delete-key-pair",
        name,
        before,
        json!({"exists": false}),
        true,
    );
    p.notes.push(if p.already_done {
        "deleted earlier in this case; its public key is in that plan, in the ledger".to_string()
    } else {
        format!(
            "its public key is in this plan's before, recorded before {name} is deleted; instances launched with it keep the key in their authorized_keys"
        )
    });
    Ok(p)
}

impl Action for DeleteKeyPair {
    fn resource(&self) -> String {
        self.name.clone()
    }

    fn action(&self) -> &'static str {
        "delete-key-pair"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let found = ec2::key_pair(&self.c.ec2, &self.name).await.map_err(err)?;
        let before = key_pair_state(&self.c.region, found.as_ref());
        key_pair_plan(&self.name, before, self.deleted_in_case)
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        // The key pair deleted is the one recorded: the same id and key material.
        let now = ec2::key_pair(&self.c.ec2, &self.name).await.map_err(err)?;
        if key_pair_state(&self.c.region, now.as_ref()) != plan.before {
            return Err(format!(
                "key pair {} changed since it was planned: it was not deleted (help: run again to record it as it is now)",
                self.name
            )
            .into());
        }
        ec2::delete_key_pair(&self.c.ec2, &self.name)
            .await
            .map_err(err)?;
        Ok(json!({}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let found = ec2::key_pair(&self.c.ec2, &self.name).await.map_err(err)?;
        Ok(key_pair_state(&self.c.region, found.as_ref()))
    }
}

/// What is shared out: an EBS snapshot (`createVolumePermission`) or an AMI
/// (`launchPermission`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shared {
    Snapshot(String),
    Image(String),
}

impl Shared {
    fn id(&self) -> &str {
        match self {
            Shared::Snapshot(id) | Shared::Image(id) => id,
        }
    }
}

/// Stop sharing a snapshot or an AMI with the named accounts (or `all`, the public).
pub struct Unshare {
    pub c: Clients,
    pub what: Shared,
    /// Account ids, or `all`.
    pub from: Vec<String>,
}

impl Unshare {
    async fn state(&self) -> Result<Value, ActionError> {
        let shared = match &self.what {
            Shared::Snapshot(id) => ec2::snapshot_permissions(&self.c.ec2, id).await,
            Shared::Image(id) => ec2::image_permissions(&self.c.ec2, id).await,
        }
        .map_err(err)?;
        Ok(share_state(&self.from, &shared))
    }
}

/// Who the resource is shared with, and which of `from` still are.
fn share_state(from: &[String], shared: &[String]) -> Value {
    let still: Vec<&String> = shared.iter().filter(|s| from.contains(s)).collect();
    json!({"shared_with": shared, "still_shared_with": still})
}

/// The plan to stop sharing `what` with `from`, in `before` (as [`share_state`] reads it).
/// Each of `from` must be an account id (12 digits) or `all`.
fn unshare_plan(what: &Shared, from: &[String], before: Value) -> Result<Plan, ActionError> {
    let id = what.id();
    if from.is_empty() {
        return Err(format!("no account named to unshare {id} from").into());
    }
    if let Some(bad) = from
        .iter()
        .find(|a| *a != "all" && !(a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())))
    {
        return Err(format!(
            "{bad} is neither an account id (12 digits) nor all: {id} is not changed"
        )
        .into());
    }
    let action = match what {
        Shared::Snapshot(_) => "unshare-snapshot",
        Shared::Image(_) => "unshare-image",
    };
    let mut p = Plan::new(action, id, before, json!({"still_shared_with": []}), true);
    if !p.already_done {
        p.notes.push(format!(
            "copies already made from {id} belong to the accounts that made them: unsharing does not reach them"
        ));
    }
    Ok(p)
}

impl Action for Unshare {
    fn resource(&self) -> String {
        self.what.id().to_string()
    }

    fn action(&self) -> &'static str {
        match self.what {
            Shared::Snapshot(_) => "unshare-snapshot",
            Shared::Image(_) => "unshare-image",
        }
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        unshare_plan(&self.what, &self.from, self.state().await?)
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        let who: Vec<String> = plan.before["still_shared_with"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect();
        match &self.what {
            Shared::Snapshot(id) => ec2::unshare_snapshot(&self.c.ec2, id, &who).await,
            Shared::Image(id) => ec2::unshare_image(&self.c.ec2, id, &who).await,
        }
        .map_err(err)?;
        Ok(json!({"unshared_from": who}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.state().await
    }
}

/// The ingress permission the analyst names: `protocol` is tcp, udp, icmp or all (`-1`);
/// `ports` is `22` or `8000-8080` (required but for all); `cidr` an IPv4 or IPv6 range.
pub fn ingress_permission(
    group: &str,
    protocol: &str,
    ports: Option<&str>,
    cidr: &str,
) -> Result<IngressPermission, String> {
    let protocol = match protocol.to_ascii_lowercase().as_str() {
        "all" | "-1" => "-1".to_string(),
        p @ ("tcp" | "udp" | "icmp" | "icmpv6") => p.to_string(),
        other => {
            return Err(format!(
                "protocol {other} is not one of tcp, udp, icmp, icmpv6, all"
            ));
        }
    };
    let (from, to) = match (protocol.as_str(), ports) {
        ("-1", None) => (None, None),
        ("-1", Some(p)) => {
            return Err(format!(
                "--port {p} with protocol all: a rule for all protocols has no ports"
            ));
        }
        (p, None) => return Err(format!("protocol {p} needs --port (22 or 8000-8080)")),
        (_, Some(p)) => {
            let bad = || format!("--port {p} is not a port (22) or a range (8000-8080)");
            let port = |s: &str| s.trim().parse::<i32>().map_err(|_| bad());
            // `-1` is ICMP's "every type".
            let (a, b) = match p.trim() {
                "-1" => (-1, -1),
                t => match t.split_once('-') {
                    Some((a, b)) => (port(a)?, port(b)?),
                    None => (port(t)?, port(t)?),
                },
            };
            if a > b || b > 65535 || a < -1 {
                return Err(bad());
            }
            (Some(a), Some(b))
        }
    };
    let valid_cidr = cidr.split_once('/').is_some_and(|(ip, bits)| {
        let max = match ip.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(_)) => 32,
            Ok(std::net::IpAddr::V6(_)) => 128,
            Err(_) => return false,
        };
        bits.parse::<u8>().is_ok_and(|b| b <= max)
    });
    if !valid_cidr {
        return Err(format!(
            "--cidr {cidr} is not a range (203.0.113.7/32, 2001:db8::/64)"
        ));
    }
    Ok(IngressPermission {
        group: group.to_string(),
        protocol,
        from,
        to,
        cidr: cidr.to_string(),
    })
}

/// Revoke one ingress rule the attacker opened, verified by reading the group's rules.
pub struct RevokeRule {
    pub c: Clients,
    pub rule: IngressPermission,
}

/// Whether `group` still holds `rule`; refused for Squall's own isolation groups, whose rules
/// only isolation and release change.
fn revoke_state(
    rule: &IngressPermission,
    group: &ec2::SecurityGroup,
) -> Result<Value, ActionError> {
    if is_squall_group(&group.name, group.purpose.as_deref()) {
        return Err(format!(
            "{} ({}) is Squall's own isolation group: its rules are not the attacker's (help: `squall release aws instance` undoes an isolation)",
            group.id, group.name
        )
        .into());
    }
    Ok(json!({
        "group_name": group.name,
        "present": rule.in_rules(&group.ingress, &rule.cidr),
    }))
}

/// The plan to revoke `rule`, whose presence `before` shows; a rule not there is done.
fn revoke_plan(rule: &IngressPermission, before: Value) -> Plan {
    Plan::new(
        "revoke-rule",
        &rule.name(),
        before,
        json!({"present": false}),
        true,
    )
}

impl RevokeRule {
    async fn state(&self) -> Result<Value, ActionError> {
        let group = ec2::security_group(&self.c.ec2, &self.rule.group)
            .await
            .map_err(err)?;
        revoke_state(&self.rule, &group)
    }
}

impl Action for RevokeRule {
    fn resource(&self) -> String {
        self.rule.name()
    }

    fn action(&self) -> &'static str {
        "revoke-rule"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        Ok(revoke_plan(&self.rule, self.state().await?))
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.rule.revoke(&self.c.ec2).await.map_err(err)?;
        Ok(json!({}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.state().await
    }
}

/// Disable a user's console login: its login profile deleted, its existence and creation date
/// recorded (the password cannot be read).
pub struct DisableLogin {
    pub c: Clients,
    pub user: String,
}

impl DisableLogin {
    async fn state(&self) -> Result<Value, ActionError> {
        let profile = iam::login_profile(&self.c.iam, &self.user)
            .await
            .map_err(err)?;
        Ok(login_state(&self.user, profile.as_ref()))
    }
}

/// Whether `user` has a console login, and when it was made.
fn login_state(user: &str, profile: Option<&LoginProfile>) -> Value {
    json!({
        "user": user,
        "console_login": profile.is_some(),
        "login_profile_created": profile.and_then(|p| p.created.clone()),
        "password_reset_required": profile.map(|p| p.password_reset_required),
    })
}

/// The plan to remove `user`'s console login, in `before`; none is done.
fn disable_login_plan(user: &str, before: Value) -> Plan {
    let mut p = Plan::new(
        "disable-login",
        user,
        before,
        json!({"console_login": false}),
        true,
    );
    if !p.already_done {
        p.notes.push(format!(
            "the password cannot be read or restored: {user} signs in to the console again only with a new one (iam:CreateLoginProfile)"
        ));
    }
    p
}

impl Action for DisableLogin {
    fn resource(&self) -> String {
        self.user.clone()
    }

    fn action(&self) -> &'static str {
        "disable-login"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        Ok(disable_login_plan(&self.user, self.state().await?))
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        iam::delete_login_profile(&self.c.iam, &self.user)
            .await
            .map_err(err)?;
        Ok(json!({}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.state().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Holder {
        Holder::User("alice".into())
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

    #[test]
    fn detaching_an_attached_policy_keeps_the_policy_and_one_not_attached_is_done() {
        let attached = names(&[ADMIN, "arn:aws:iam::aws:policy/ReadOnlyAccess"]);
        let p = detach_plan(
            &alice(),
            ADMIN,
            attachment_state(&alice(), ADMIN, &attached),
        );
        assert_eq!(
            (p.action.as_str(), p.resource.as_str()),
            (
                "detach-policy",
                "user/alice:arn:aws:iam::aws:policy/AdministratorAccess"
            )
        );
        assert_eq!(p.before["attached"], true);
        assert_eq!(p.before["attached_policies"], json!(attached));
        assert_eq!(p.after, json!({"attached": false}));
        assert!(!p.already_done);
        assert!(p.notes[0].contains("is kept"), "{:?}", p.notes);

        let rest = names(&["arn:aws:iam::aws:policy/ReadOnlyAccess"]);
        let group = Holder::Group("admins".into());
        let done = detach_plan(&group, ADMIN, attachment_state(&group, ADMIN, &rest));
        assert_eq!(done.resource, format!("group/admins:{ADMIN}"));
        assert!(done.already_done);
        assert!(done.notes.is_empty());
    }

    fn backdoor() -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    }

    #[test]
    fn an_inline_policy_is_deleted_only_with_its_document_in_the_plan() {
        let role = Holder::Role("app".into());
        let before = inline_state(&role, "backdoor", &names(&["backdoor"]), Some(backdoor()));
        let p = inline_delete_plan(&role, "backdoor", before, false).unwrap();
        assert_eq!(
            (p.action.as_str(), p.resource.as_str()),
            ("delete-inline-policy", "role/app:backdoor")
        );
        assert_eq!(p.before["document"], backdoor());
        assert_eq!(p.before["exists"], true);
        assert_eq!(p.after, json!({"exists": false}));
        assert!(!p.already_done);

        // A document that could not be read (empty) is no record: nothing is deleted.
        let empty = inline_state(&role, "backdoor", &names(&["backdoor"]), Some(json!("")));
        let e = inline_delete_plan(&role, "backdoor", empty, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the document of backdoor on role/app could not be read: it is not deleted before it is recorded"
        );
    }

    #[test]
    fn an_inline_policy_not_there_is_an_error_unless_this_case_deleted_it() {
        let before = inline_state(&alice(), "backdor", &names(&["backdoor", "ops"]), None);
        let e = inline_delete_plan(&alice(), "backdor", before.clone(), false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "user/alice has no inline policy backdor (its inline policies: backdoor, ops); nothing to delete"
        );
        let p = inline_delete_plan(&alice(), "backdor", before, true).unwrap();
        assert!(p.already_done);
        assert!(
            p.notes[0].contains("deleted earlier in this case"),
            "{:?}",
            p.notes
        );
        let none = inline_state(&alice(), "x", &[], None);
        let e = inline_delete_plan(&alice(), "x", none, false).unwrap_err();
        assert!(e.to_string().contains("(its inline policies: none)"), "{e}");
    }

    #[test]
    fn squalls_own_revocation_policy_is_never_deleted_as_the_attackers() {
        let before = inline_state(
            &alice(),
            iam::REVOKE_POLICY,
            &names(&[iam::REVOKE_POLICY]),
            Some(backdoor()),
        );
        let e = inline_delete_plan(&alice(), iam::REVOKE_POLICY, before, false).unwrap_err();
        assert!(
            e.to_string().contains("Squall's own session revocation"),
            "{e}"
        );
    }

    fn versions() -> Vec<(String, bool)> {
        vec![("v1".into(), false), ("v2".into(), true)]
    }

    #[test]
    fn restoring_a_policy_version_shows_both_documents_and_keeps_the_attackers() {
        let mut docs = BTreeMap::new();
        docs.insert(
            "v1".to_string(),
            json!({"Statement": [{"Action": "s3:GetObject"}]}),
        );
        docs.insert("v2".to_string(), backdoor());
        let arn = "arn:aws:iam::111122223333:policy/app";
        let p = policy_version_plan(arn, "v1", &versions(), &docs).unwrap();
        assert_eq!(
            (p.action.as_str(), p.resource.as_str()),
            ("restore-policy-version", arn)
        );
        assert_eq!(p.before["default_version"], "v2");
        assert_eq!(p.before["default_document"], backdoor());
        assert_eq!(
            p.before["restore_document"]["Statement"][0]["Action"],
            "s3:GetObject"
        );
        assert_eq!(p.after, json!({"default_version": "v1"}));
        assert!(!p.already_done);
        assert_eq!(
            p.notes,
            ["version v2 is kept, no longer the default: its document is in this plan's before"]
        );

        let done = policy_version_plan(arn, "v2", &versions(), &docs).unwrap();
        assert!(done.already_done);
        assert!(done.notes.is_empty());
    }

    #[test]
    fn a_policy_version_that_does_not_exist_is_refused_naming_the_ones_that_do() {
        let e = policy_version_plan("arn:p", "v9", &versions(), &BTreeMap::new()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "arn:p has no version v9 (its versions: v1, v2 (default)); nothing was changed"
        );
    }

    fn trust(principal: &str) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]})
    }

    #[test]
    fn restoring_a_trust_policy_records_the_current_one_and_is_done_only_when_identical() {
        let attacker = trust("arn:aws:iam::999999999999:root");
        let good = trust("arn:aws:iam::111122223333:root");
        let p = trust_plan("app", "good.json", attacker.clone(), &good).unwrap();
        assert_eq!(
            (p.action.as_str(), p.resource.as_str()),
            ("restore-trust-policy", "app")
        );
        assert_eq!(p.before, json!({"trust_policy": attacker}));
        assert_eq!(p.after, json!({"trust_policy": good}));
        assert!(!p.already_done);
        assert!(p.notes[0].contains("good.json"), "{:?}", p.notes);
        assert!(
            trust_plan("app", "good.json", good.clone(), &good)
                .unwrap()
                .already_done
        );
        // More in force than wanted (an extra key) is not the document wanted.
        let mut more = good.clone();
        more["Id"] = json!("extra");
        assert!(
            !trust_plan("app", "good.json", more, &good)
                .unwrap()
                .already_done
        );
    }

    #[test]
    fn a_trust_policy_without_statements_is_refused() {
        for bad in [json!({}), json!({"Statement": []}), json!("text")] {
            let e = trust_plan("app", "x.json", trust("a"), &bad).unwrap_err();
            assert!(
                e.to_string().starts_with("x.json is not a trust policy"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_stopped_trail_is_started_and_says_since_when_it_was_blind() {
        let p = start_logging_plan(
            "main",
            json!({"logging": false, "stopped_at": "2024-05-01T10:00:00Z"}),
        );
        assert_eq!(
            (p.action.as_str(), p.resource.as_str()),
            ("start-logging", "main")
        );
        assert_eq!(p.after, json!({"logging": true}));
        assert!(!p.already_done);
        assert_eq!(
            p.notes,
            [
                "main recorded nothing since 2024-05-01T10:00:00Z: what happened until it starts again is not in its logs"
            ]
        );
        let on = start_logging_plan("main", json!({"logging": true, "stopped_at": null}));
        assert!(on.already_done);
        assert!(on.notes.is_empty());
    }

    fn key(public: Option<&str>) -> ec2::KeyPair {
        ec2::KeyPair {
            id: Some("key-0abc".into()),
            name: "backdoor".into(),
            key_type: Some("rsa".into()),
            fingerprint: Some("aa:bb".into()),
            public_key: public.map(str::to_string),
            created: Some("2024-05-01T10:00:00Z".into()),
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn a_key_pair_is_deleted_only_with_its_public_key_in_the_plan() {
        let k = key(Some("ssh-rsa AAAA attacker@kali"));
        let p = key_pair_plan("backdoor", key_pair_state("eu-west-1", Some(&k)), false).unwrap();
        assert_eq!(
            (p.action.as_str(), p.resource.as_str()),
            ("delete-key-pair", "backdoor")
        );
        assert_eq!(
            p.before["key_pair"]["public_key"],
            "ssh-rsa AAAA attacker@kali"
        );
        assert_eq!(p.before["key_pair"]["fingerprint"], "aa:bb");
        assert_eq!(p.before["region"], "eu-west-1");
        assert_eq!(p.after, json!({"exists": false}));
        assert!(!p.already_done);

        let e = key_pair_plan(
            "backdoor",
            key_pair_state("eu-west-1", Some(&key(None))),
            false,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "ec2:DescribeKeyPairs gave no public key for key pair backdoor in eu-west-1: it is not deleted before its key material is recorded"
        );
    }

    #[test]
    fn a_key_pair_that_does_not_exist_is_an_error_naming_it_unless_this_case_deleted_it() {
        let gone = key_pair_state("eu-west-1", None);
        let e = key_pair_plan("backdoor", gone.clone(), false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "key pair backdoor not found in eu-west-1 (ec2:DescribeKeyPairs); nothing to delete (help: --region for another region)"
        );
        let p = key_pair_plan("backdoor", gone, true).unwrap();
        assert!(p.already_done);
    }

    #[test]
    fn unsharing_removes_only_the_named_accounts_that_still_have_it() {
        let snap = Shared::Snapshot("snap-1".into());
        let from = names(&["999999999999", "all"]);
        let shared = names(&["111122223333", "999999999999", "all"]);
        let p = unshare_plan(&snap, &from, share_state(&from, &shared)).unwrap();
        assert_eq!(
            (p.action.as_str(), p.resource.as_str()),
            ("unshare-snapshot", "snap-1")
        );
        assert_eq!(
            p.before["still_shared_with"],
            json!(["999999999999", "all"])
        );
        assert_eq!(p.before["shared_with"], json!(shared));
        assert_eq!(p.after, json!({"still_shared_with": []}));
        assert!(!p.already_done);

        let ami = Shared::Image("ami-1".into());
        let left = names(&["111122223333"]);
        let done = unshare_plan(&ami, &from, share_state(&from, &left)).unwrap();
        assert_eq!(done.action, "unshare-image");
        assert!(done.already_done);
    }

    #[test]
    fn unsharing_from_something_that_is_not_an_account_is_refused() {
        let snap = Shared::Snapshot("snap-1".into());
        for bad in ["12345", "everyone", "99999999999a"] {
            let from = names(&[bad]);
            let e = unshare_plan(&snap, &from, share_state(&from, &[])).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "{bad} is neither an account id (12 digits) nor all: snap-1 is not changed"
                )
            );
        }
        assert!(unshare_plan(&snap, &[], share_state(&[], &[])).is_err());
    }

    #[test]
    fn an_ingress_rule_is_named_by_protocol_ports_and_a_real_range() {
        let r = ingress_permission("sg-1", "TCP", Some("22"), "203.0.113.7/32").unwrap();
        assert_eq!(
            (r.protocol.as_str(), r.from, r.to),
            ("tcp", Some(22), Some(22))
        );
        assert_eq!(r.name(), "sg-1:tcp/22:203.0.113.7/32");
        let r = ingress_permission("sg-1", "udp", Some("8000-8080"), "2001:db8::/64").unwrap();
        assert_eq!((r.from, r.to), (Some(8000), Some(8080)));
        let r = ingress_permission("sg-1", "all", None, "0.0.0.0/0").unwrap();
        assert_eq!((r.protocol.as_str(), r.from, r.to), ("-1", None, None));
        let r = ingress_permission("sg-1", "icmp", Some("-1"), "0.0.0.0/0").unwrap();
        assert_eq!((r.from, r.to), (Some(-1), Some(-1)));

        let refused = [
            ("gre", Some("22"), "0.0.0.0/0", "protocol gre is not one of"),
            ("tcp", None, "0.0.0.0/0", "protocol tcp needs --port"),
            (
                "all",
                Some("22"),
                "0.0.0.0/0",
                "a rule for all protocols has no ports",
            ),
            ("tcp", Some("ssh"), "0.0.0.0/0", "--port ssh is not a port"),
            (
                "tcp",
                Some("90-80"),
                "0.0.0.0/0",
                "--port 90-80 is not a port",
            ),
            (
                "tcp",
                Some("70000"),
                "0.0.0.0/0",
                "--port 70000 is not a port",
            ),
            (
                "tcp",
                Some("22"),
                "203.0.113.7",
                "--cidr 203.0.113.7 is not a range",
            ),
            (
                "tcp",
                Some("22"),
                "10.0.0.0/33",
                "--cidr 10.0.0.0/33 is not a range",
            ),
            ("tcp", Some("22"), "evil/8", "--cidr evil/8 is not a range"),
        ];
        for (protocol, port, cidr, want) in refused {
            let e = ingress_permission("sg-1", protocol, port, cidr).unwrap_err();
            assert!(e.contains(want), "{protocol} {port:?} {cidr}: {e}");
        }
    }

    fn group(
        name: &str,
        purpose: Option<&str>,
        rules: &[(&str, i32, i32, &str)],
    ) -> ec2::SecurityGroup {
        ec2::SecurityGroup {
            id: "sg-1".into(),
            name: name.into(),
            purpose: purpose.map(str::to_string),
            ingress: rules
                .iter()
                .map(|(p, a, b, cidr)| ec2::IngressRule {
                    group_id: "sg-1".into(),
                    group_name: name.into(),
                    region: String::new(),
                    protocol: p.to_string(),
                    from_port: Some(*a),
                    to_port: Some(*b),
                    cidr: cidr.to_string(),
                    purpose: purpose.map(str::to_string),
                })
                .collect(),
        }
    }

    #[test]
    fn revoking_a_rule_that_is_there_plans_it_gone_and_one_that_is_not_is_done() {
        let rule = ingress_permission("sg-1", "tcp", Some("4444"), "198.51.100.9/32").unwrap();
        let web = group(
            "web",
            None,
            &[
                ("tcp", 4444, 4444, "198.51.100.9/32"),
                ("tcp", 443, 443, "0.0.0.0/0"),
            ],
        );
        let p = revoke_plan(&rule, revoke_state(&rule, &web).unwrap());
        assert_eq!(
            (p.action.as_str(), p.resource.as_str()),
            ("revoke-rule", "sg-1:tcp/4444:198.51.100.9/32")
        );
        assert_eq!(p.before, json!({"group_name": "web", "present": true}));
        assert_eq!(p.after, json!({"present": false}));
        assert!(!p.already_done);
        // The same ports to another range, or a wider range of ports, is another rule.
        let others = group(
            "web",
            None,
            &[
                ("tcp", 4444, 4444, "198.51.100.0/24"),
                ("tcp", 4000, 5000, "198.51.100.9/32"),
            ],
        );
        assert!(revoke_plan(&rule, revoke_state(&rule, &others).unwrap()).already_done);
    }

    #[test]
    fn squalls_isolation_groups_are_never_revoke_targets_but_look_alikes_are() {
        let rule = ingress_permission("sg-1", "all", None, "0.0.0.0/0").unwrap();
        let own = group(
            super::super::ALLOW_ALL_GROUP,
            Some(super::super::ALLOW_ALL_GROUP),
            &[],
        );
        let e = revoke_state(&rule, &own).unwrap_err();
        assert!(
            e.to_string().contains("Squall's own isolation group"),
            "{e}"
        );
        let fake = group(super::super::ALLOW_ALL_GROUP, None, &[]);
        assert!(revoke_state(&rule, &fake).is_ok());
    }

    #[test]
    fn disabling_a_login_records_that_it_existed_and_when_it_was_made() {
        let profile = LoginProfile {
            created: Some("2024-05-01T10:00:00Z".into()),
            password_reset_required: false,
        };
        let p = disable_login_plan("mallory", login_state("mallory", Some(&profile)));
        assert_eq!(
            (p.action.as_str(), p.resource.as_str()),
            ("disable-login", "mallory")
        );
        assert_eq!(
            p.before,
            json!({"user": "mallory", "console_login": true, "login_profile_created": "2024-05-01T10:00:00Z", "password_reset_required": false})
        );
        assert_eq!(p.after, json!({"console_login": false}));
        assert!(
            p.notes[0].contains("cannot be read or restored"),
            "{:?}",
            p.notes
        );
        let none = disable_login_plan("mallory", login_state("mallory", None));
        assert!(none.already_done);
        assert!(none.notes.is_empty());
    }
}

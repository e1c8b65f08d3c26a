//! Removing what the attacker created in the account, once it is described: a user or a role
//! it made for itself, with everything that hangs on it, and a managed policy it wrote.
//!
//! Containment (`contain aws user|role`) comes first and is the default; deleting is a later,
//! separate step, because a deleted identity takes its keys, policies and memberships with it.
//! The plan's `before` is the whole description — for a user its access keys, console login,
//! SSH keys, signing certificates, service credentials, MFA devices and groups; for a role its
//! trust policy and instance profiles; for both their managed and inline policies (each inline
//! document in full) and tags; for a policy every version's document and everyone it is
//! attached to — and the driver runs nothing until that plan reads back from
//! the ledger. Just before deleting, the identity is read again: if anything changed, nothing
//! goes.

use serde_json::{Map, Value, json};
use squall_core::respond::{Action, ActionError, Plan};

use super::{Clients, err};
use crate::services::iam::{self, Holder};

/// Delete an IAM user the attacker created, with its credentials, memberships and policies.
pub struct DeleteUser {
    pub c: Clients,
    pub user: String,
    /// The id IAM gave the user the attacker made (from its record): a namesake is refused.
    pub expected_id: Option<String>,
    /// The case's ledger holds this user's verified deletion (its description with it): found
    /// absent, it is done, not a name to question.
    pub deleted_in_case: bool,
}

impl DeleteUser {
    /// Everything IAM keeps on the user, as the plan records it.
    async fn describe(&self) -> Result<Value, ActionError> {
        let name = &self.user;
        let iam = &self.c.iam;
        let Some(user) = iam::user(iam, name).await.map_err(err)? else {
            return Ok(json!({"user": name, "exists": false}));
        };
        let holder = Holder::User(name.clone());
        let keys = iam::user_keys(iam, name).await.map_err(err)?;
        let login = iam::login_profile(iam, name).await.map_err(err)?;
        let ssh = iam::ssh_keys(iam, name).await.map_err(err)?;
        let certs = iam::signing_certificates(iam, name).await.map_err(err)?;
        let mfa = iam::mfa_devices(iam, name).await.map_err(err)?;
        let groups = iam::user_groups(iam, name).await.map_err(err)?;
        let attached = iam::attached_policies(iam, &holder).await.map_err(err)?;
        let inline = inline_documents(&self.c, &holder).await?;
        // Not every endpoint implements this one (moto does not): then it is said so, and IAM
        // itself refuses to delete a user that still has any. Refused, it stops the plan.
        let service = match iam::service_credentials(iam, name).await.map_err(err)? {
            Some(creds) => json!(
                creds
                    .iter()
                    .map(|(id, service, status)| json!({"id": id, "service": service, "status": status}))
                    .collect::<Vec<_>>()
            ),
            None => json!({"unread": "the endpoint does not implement iam:ListServiceSpecificCredentials"}),
        };
        // When each key and the password were last used: evidence that goes with the user,
        // kept apart so that a use between plan and deletion does not count as a change.
        let mut keys_used = Map::new();
        for (key, _, _) in &keys {
            let (date, service, region) = iam::key_last_used(iam, key).await.map_err(err)?;
            keys_used.insert(
                key.clone(),
                json!({"last_used": date, "service": service, "region": region}),
            );
        }
        Ok(json!({
            "user": name,
            "exists": true,
            "arn": user.arn,
            "user_id": user.id,
            "path": user.path,
            "created": user.created,
            "permissions_boundary": user.permissions_boundary,
            "tags": user.tags.into_iter().map(|(k, v)| (k, Value::String(v))).collect::<Map<_, _>>(),
            "access_keys": keys.iter().map(|(id, status, created)| json!({
                "id": id, "status": status, "created": created,
            })).collect::<Vec<_>>(),
            "login_profile": login.map(|p| json!({
                "created": p.created, "password_reset_required": p.password_reset_required,
            })),
            "ssh_public_keys": ssh.iter().map(|(id, body)| json!({"id": id, "body": body})).collect::<Vec<_>>(),
            "signing_certificates": certs.iter().map(|(id, status, body)| json!({
                "id": id, "status": status, "body": body,
            })).collect::<Vec<_>>(),
            "service_specific_credentials": service,
            "mfa_devices": mfa.iter().map(|(serial, enabled)| json!({
                "serial": serial, "enabled": enabled,
            })).collect::<Vec<_>>(),
            "groups": groups,
            "attached_policies": attached,
            "inline_policies": inline,
            USAGE: {"password_last_used": user.password_last_used, "access_keys": keys_used},
        }))
    }
}

/// Where a description keeps when the identity was last used: recorded with the rest, but not
/// what decides whether it changed since the plan.
const USAGE: &str = "usage";

/// Every inline policy on `holder`, by name, each with its full document.
async fn inline_documents(c: &Clients, holder: &Holder) -> Result<Map<String, Value>, ActionError> {
    let mut inline = Map::new();
    for policy in iam::inline_policies(&c.iam, holder).await.map_err(err)? {
        let document = iam::inline_policy(&c.iam, holder, &policy)
            .await
            .map_err(err)?;
        inline.insert(policy, document);
    }
    Ok(inline)
}

/// Who Squall runs as (see [`crate::Identity`]), asked only when what `before` describes
/// exists: its ARN names it, its unique id recognises it.
#[derive(Debug, Clone, Default)]
struct Caller {
    arn: String,
    id: String,
}

impl Caller {
    async fn of(c: &Clients, before: &Value) -> Result<Caller, ActionError> {
        if before["exists"] != true {
            return Ok(Caller::default());
        }
        let who = crate::identity(&c.sts).await.map_err(err)?;
        Ok(Caller {
            arn: who.arn,
            id: who.unique_id,
        })
    }

    /// Whether the identity with IAM id `id` is the one Squall runs as.
    fn is(&self, id: Option<&str>) -> bool {
        !self.id.is_empty() && id == Some(self.id.as_str())
    }
}

/// Refuses a namesake: the identity found has another id than the one the attacker's record
/// gave what it made.
fn same_id(
    before: &Value,
    field: &str,
    expected: Option<&str>,
    what: &str,
) -> Result<(), ActionError> {
    let Some(expected) = expected else {
        return Ok(());
    };
    match before[field].as_str() {
        Some(found) if before["exists"] == true && found != expected => Err(format!(
            "{what} has id {found}, not {expected} which the attacker's record gave it: it is another of the same name, made since; nothing is deleted"
        )
        .into()),
        _ => Ok(()),
    }
}

/// What is deleted must be what the ledger holds: read again just before, it must be as the
/// plan recorded it.
fn as_planned(now: &Value, plan: &Plan) -> Result<(), ActionError> {
    let without_usage = |v: &Value| {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove(USAGE);
        }
        v
    };
    if without_usage(now) == without_usage(&plan.before) {
        return Ok(());
    }
    Err(format!(
        "{} changed since it was planned: nothing was removed (help: run again to record it as it is now)",
        plan.resource
    )
    .into())
}

/// Refuses a description with an inline policy whose document could not be read: it would
/// go unrecorded.
fn inline_read(before: &Value, who: &str) -> Result<(), ActionError> {
    let unread = before["inline_policies"]
        .as_object()
        .into_iter()
        .flatten()
        .find(|(_, doc)| !super::undo::recorded(doc));
    match unread {
        Some((name, _)) => Err(format!(
            "the document of inline policy {name} on {who} could not be read: {who} is not deleted before it is recorded"
        )
        .into()),
        None => Ok(()),
    }
}

/// What a deletion removed so far, so a failure part-way says what is already gone (its
/// description stays in the plan).
struct Removing<'a> {
    who: &'a str,
    removed: Vec<String>,
}

impl Removing<'_> {
    fn did(&mut self, what: String) {
        self.removed.push(what);
    }

    fn failed(&self, e: crate::AwsError) -> ActionError {
        let done = if self.removed.is_empty() {
            "nothing".to_string()
        } else {
            self.removed.join(", ")
        };
        format!("{e} (already removed from {}: {done})", self.who).into()
    }

    /// Detaches every managed policy and deletes every inline one `before` lists.
    async fn policies(
        &mut self,
        c: &Clients,
        holder: &Holder,
        before: &Value,
    ) -> Result<(), ActionError> {
        for arn in listed(before, "attached_policies", "") {
            iam::detach_policy(&c.iam, holder, arn)
                .await
                .map_err(|e| self.failed(e))?;
            self.did(format!("policy {arn}"));
        }
        let inline = before["inline_policies"].as_object().into_iter().flatten();
        for (name, _) in inline {
            iam::delete_inline_policy(&c.iam, holder, name)
                .await
                .map_err(|e| self.failed(e))?;
            self.did(format!("inline policy {name}"));
        }
        Ok(())
    }
}

/// The ids (or names) under `field` of a description: what execution removes, one by one.
fn listed<'a>(before: &'a Value, field: &str, id: &str) -> Vec<&'a str> {
    before[field]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            if id.is_empty() {
                v.as_str()
            } else {
                v[id].as_str()
            }
        })
        .collect()
}

/// The plan to delete `user`, described in `before` (as [`DeleteUser::describe`] reads it).
/// Refused for the identity Squall runs as (`caller`), for a user not there unless this case
/// deleted it, and for one whose description is missing a part that must be recorded.
fn delete_user_plan(
    user: &str,
    before: Value,
    caller: &Caller,
    expected_id: Option<&str>,
    deleted_in_case: bool,
) -> Result<Plan, ActionError> {
    let exists = before["exists"] == true;
    if !exists && !deleted_in_case {
        return Err(
            format!("no IAM user {user} in this account (iam:GetUser); nothing to delete").into(),
        );
    }
    if exists
        && (caller.is(before["user_id"].as_str()) || before["arn"].as_str() == Some(&caller.arn))
    {
        return Err(format!(
            "{user} is the identity Squall runs as ({}): deleting it would cut this response off (help: run as another identity)",
            caller.arn
        )
        .into());
    }
    same_id(&before, "user_id", expected_id, &format!("user {user}"))?;
    if exists {
        inline_read(&before, user)?;
        if listed(&before, "ssh_public_keys", "body")
            .iter()
            .any(|b| b.trim().is_empty())
            || listed(&before, "ssh_public_keys", "id").len()
                != before["ssh_public_keys"].as_array().map_or(0, Vec::len)
        {
            return Err(format!(
                "an SSH public key of {user} could not be read: {user} is not deleted before it is recorded"
            )
            .into());
        }
    }
    let mut p = Plan::new("delete-user", user, before, json!({"exists": false}), true);
    if p.already_done {
        p.notes.push(
            "deleted earlier in this case; its description is in that plan, in the ledger"
                .to_string(),
        );
        return Ok(p);
    }
    let b = &p.before;
    let count = |field: &str| b[field].as_array().map_or(0, Vec::len);
    let mut goes = vec![format!("{} access key(s)", count("access_keys"))];
    if !b["login_profile"].is_null() {
        goes.push("its console login".to_string());
    }
    for (field, what) in [
        ("ssh_public_keys", "SSH key(s)"),
        ("signing_certificates", "signing certificate(s)"),
        ("service_specific_credentials", "service credential(s)"),
        (
            "mfa_devices",
            "MFA device(s) (unassigned, kept in the account)",
        ),
        ("groups", "group membership(s)"),
        ("attached_policies", "attached policy(ies) (detached, kept)"),
    ] {
        if count(field) > 0 {
            goes.push(format!("{} {what}", count(field)));
        }
    }
    let inline = b["inline_policies"].as_object().map_or(0, Map::len);
    if inline > 0 {
        goes.push(format!("{inline} inline policy(ies)"));
    }
    p.notes.push(format!(
        "goes with {user}: {}; all of it, each inline document in full, is in this plan's before, recorded in the ledger before anything is removed",
        goes.join(", ")
    ));
    if let Some(e) = b["service_specific_credentials"]["unread"].as_str() {
        p.notes.push(format!(
            "its service-specific credentials could not be listed ({e}); IAM refuses to delete a user that still has any"
        ));
    }
    Ok(p)
}

impl Action for DeleteUser {
    fn resource(&self) -> String {
        self.user.clone()
    }

    fn action(&self) -> &'static str {
        "delete-user"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let before = self.describe().await?;
        let caller = Caller::of(&self.c, &before).await?;
        delete_user_plan(
            &self.user,
            before,
            &caller,
            self.expected_id.as_deref(),
            self.deleted_in_case,
        )
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        as_planned(&self.describe().await?, plan)?;
        let (iam, user, b) = (&self.c.iam, self.user.as_str(), &plan.before);
        let holder = Holder::User(user.to_string());
        // Removed in the order IAM requires, each named as it goes.
        let mut r = Removing {
            who: user,
            removed: Vec::new(),
        };
        for key in listed(b, "access_keys", "id") {
            iam::delete_key(iam, user, key)
                .await
                .map_err(|e| r.failed(e))?;
            r.did(format!("access key {key}"));
        }
        if !b["login_profile"].is_null() {
            iam::delete_login_profile(iam, user)
                .await
                .map_err(|e| r.failed(e))?;
            r.did("console login".to_string());
        }
        for id in listed(b, "ssh_public_keys", "id") {
            iam::delete_ssh_key(iam, user, id)
                .await
                .map_err(|e| r.failed(e))?;
            r.did(format!("SSH key {id}"));
        }
        for id in listed(b, "signing_certificates", "id") {
            iam::delete_signing_certificate(iam, user, id)
                .await
                .map_err(|e| r.failed(e))?;
            r.did(format!("signing certificate {id}"));
        }
        for id in listed(b, "service_specific_credentials", "id") {
            iam::delete_service_credential(iam, user, id)
                .await
                .map_err(|e| r.failed(e))?;
            r.did(format!("service credential {id}"));
        }
        for serial in listed(b, "mfa_devices", "serial") {
            iam::deactivate_mfa(iam, user, serial)
                .await
                .map_err(|e| r.failed(e))?;
            r.did(format!("MFA device {serial}"));
        }
        for group in listed(b, "groups", "") {
            iam::remove_from_group(iam, user, group)
                .await
                .map_err(|e| r.failed(e))?;
            r.did(format!("group {group}"));
        }
        r.policies(&self.c, &holder, b).await?;
        iam::delete_user(iam, user).await.map_err(|e| r.failed(e))?;
        Ok(json!({"removed": r.removed}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.describe().await
    }
}

/// Delete an IAM role the attacker created (a backdoor trusting its own account, a role for
/// its instances), with its policies, once its trust policy and documents are recorded.
pub struct DeleteRole {
    pub c: Clients,
    pub role: String,
    /// The id IAM gave the role the attacker made (from its record): a namesake is refused.
    pub expected_id: Option<String>,
    /// The case's ledger holds this role's verified deletion: found absent, it is done.
    pub deleted_in_case: bool,
}

impl DeleteRole {
    /// Everything IAM keeps on the role, as the plan records it.
    async fn describe(&self) -> Result<Value, ActionError> {
        let name = &self.role;
        let iam = &self.c.iam;
        let Some(role) = iam::role(iam, name).await.map_err(err)? else {
            return Ok(json!({"role": name, "exists": false}));
        };
        let holder = Holder::Role(name.clone());
        let attached = iam::attached_policies(iam, &holder).await.map_err(err)?;
        let inline = inline_documents(&self.c, &holder).await?;
        let profiles = iam::role_instance_profiles(iam, name).await.map_err(err)?;
        Ok(json!({
            "role": name,
            "exists": true,
            "arn": role.arn,
            "role_id": role.id,
            "path": role.path,
            "created": role.created,
            "max_session_seconds": role.max_session_seconds,
            "description": role.description,
            "trust_policy": role.trust_policy,
            "permissions_boundary": role.permissions_boundary,
            "tags": role.tags.into_iter().map(|(k, v)| (k, Value::String(v))).collect::<Map<_, _>>(),
            "attached_policies": attached,
            "inline_policies": inline,
            "instance_profiles": profiles,
            USAGE: {"last_used": role.last_used, "last_used_region": role.last_used_region},
        }))
    }
}

/// The plan to delete `role`, described in `before`. Refused for the role Squall's session
/// belongs to (`caller`), for AWS's service-linked roles, for a role not there unless this
/// case deleted it, and for one whose trust policy or inline documents could not be read.
fn delete_role_plan(
    role: &str,
    before: Value,
    caller: &Caller,
    expected_id: Option<&str>,
    deleted_in_case: bool,
) -> Result<Plan, ActionError> {
    let exists = before["exists"] == true;
    if !exists && !deleted_in_case {
        return Err(
            format!("no IAM role {role} in this account (iam:GetRole); nothing to delete").into(),
        );
    }
    if exists {
        let own = caller
            .arn
            .split_once(":assumed-role/")
            .and_then(|(_, rest)| rest.split('/').next());
        // By IAM's id (names differ in case only for the same role), and by name.
        if caller.is(before["role_id"].as_str())
            || own.is_some_and(|o| o.eq_ignore_ascii_case(role))
        {
            return Err(format!(
                "Squall runs as a session of role {role} ({}): deleting it would cut this response off (help: run as another identity)",
                caller.arn
            )
            .into());
        }
        same_id(&before, "role_id", expected_id, &format!("role {role}"))?;
        if before["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("/aws-service-role/"))
        {
            return Err(format!(
                "{role} is a service-linked role, which AWS's service manages: it is not deleted here (iam:DeleteServiceLinkedRole, by hand)"
            )
            .into());
        }
        if !super::undo::recorded(&before["trust_policy"]) {
            return Err(format!(
                "the trust policy of {role} could not be read: {role} is not deleted before it is recorded"
            )
            .into());
        }
        inline_read(&before, role)?;
    }
    let mut p = Plan::new("delete-role", role, before, json!({"exists": false}), true);
    if p.already_done {
        p.notes.push(
            "deleted earlier in this case; its description is in that plan, in the ledger"
                .to_string(),
        );
        return Ok(p);
    }
    let b = &p.before;
    let count = |field: &str| b[field].as_array().map_or(0, Vec::len);
    let inline = b["inline_policies"].as_object().map_or(0, Map::len);
    let mut goes = vec![
        "its trust policy".to_string(),
        format!(
            "{} attached policy(ies) (detached, kept)",
            count("attached_policies")
        ),
        format!("{inline} inline policy(ies)"),
    ];
    let profiles = listed(b, "instance_profiles", "");
    if !profiles.is_empty() {
        goes.push(format!(
            "its place in instance profile(s) {} (kept, empty: instances launched with them lose the role's credentials)",
            profiles.join(", ")
        ));
    }
    p.notes.push(format!(
        "goes with {role}: {}; all of it, each document in full, is in this plan's before, recorded in the ledger before anything is removed; sessions already issued last until they expire",
        goes.join(", ")
    ));
    Ok(p)
}

impl Action for DeleteRole {
    fn resource(&self) -> String {
        self.role.clone()
    }

    fn action(&self) -> &'static str {
        "delete-role"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let before = self.describe().await?;
        let caller = Caller::of(&self.c, &before).await?;
        delete_role_plan(
            &self.role,
            before,
            &caller,
            self.expected_id.as_deref(),
            self.deleted_in_case,
        )
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        as_planned(&self.describe().await?, plan)?;
        let (iam, role, b) = (&self.c.iam, self.role.as_str(), &plan.before);
        let mut r = Removing {
            who: role,
            removed: Vec::new(),
        };
        for profile in listed(b, "instance_profiles", "") {
            iam::remove_from_instance_profile(iam, role, profile)
                .await
                .map_err(|e| r.failed(e))?;
            r.did(format!("instance profile {profile}"));
        }
        r.policies(&self.c, &Holder::Role(role.to_string()), b)
            .await?;
        iam::delete_role(iam, role).await.map_err(|e| r.failed(e))?;
        Ok(json!({"removed": r.removed}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.describe().await
    }
}

/// Delete a customer-managed policy the attacker created, once every version's document and
/// everyone it is attached to are recorded.
pub struct DeletePolicy {
    pub c: Clients,
    pub policy_arn: String,
    /// The id IAM gave the policy the attacker wrote (from its record): a namesake is refused.
    pub expected_id: Option<String>,
    /// The case's ledger holds this policy's verified deletion: found absent, it is done.
    pub deleted_in_case: bool,
}

impl DeletePolicy {
    /// Everything IAM keeps on the policy, as the plan records it.
    async fn describe(&self) -> Result<Value, ActionError> {
        let (iam, arn) = (&self.c.iam, self.policy_arn.as_str());
        let Some(policy) = iam::policy(iam, arn).await.map_err(err)? else {
            return Ok(json!({"policy_arn": arn, "exists": false}));
        };
        let mut versions = Map::new();
        for (version, _) in iam::policy_versions(iam, arn).await.map_err(err)? {
            let document = iam::policy_version_document(iam, arn, &version)
                .await
                .map_err(err)?;
            versions.insert(version, document);
        }
        let attached: Vec<String> = iam::policy_entities(iam, arn)
            .await
            .map_err(err)?
            .iter()
            .map(Holder::to_string)
            .collect();
        Ok(json!({
            "policy_arn": arn,
            "exists": true,
            "name": policy.name,
            "policy_id": policy.id,
            "path": policy.path,
            "description": policy.description,
            "created": policy.created,
            "updated": policy.updated,
            "default_version": policy.default_version,
            "tags": policy.tags.into_iter().map(|(k, v)| (k, Value::String(v))).collect::<Map<_, _>>(),
            "versions": versions,
            "attached_to": attached,
        }))
    }
}

/// `user/x`, `role/y`, `group/z` (as a description lists them) back to a holder.
fn holder_of(s: &str) -> Option<Holder> {
    let (kind, name) = s.split_once('/')?;
    let name = name.to_string();
    match kind {
        "user" => Some(Holder::User(name)),
        "role" => Some(Holder::Role(name)),
        "group" => Some(Holder::Group(name)),
        _ => None,
    }
}

/// The plan to delete the managed policy `arn`, described in `before`. Refused for AWS's own
/// policies, for a policy not there unless this case deleted it, and for one with a version
/// whose document could not be read.
fn delete_policy_plan(
    arn: &str,
    before: Value,
    expected_id: Option<&str>,
    deleted_in_case: bool,
) -> Result<Plan, ActionError> {
    if arn.split(':').nth(4) == Some("aws") {
        return Err(format!(
            "{arn} is a policy AWS manages, not one the attacker made: detach it instead (recover aws detach-policy)"
        )
        .into());
    }
    let exists = before["exists"] == true;
    if !exists && !deleted_in_case {
        return Err(format!(
            "no managed policy {arn} in this account (iam:GetPolicy); nothing to delete"
        )
        .into());
    }
    same_id(&before, "policy_id", expected_id, &format!("policy {arn}"))?;
    if exists {
        let versions = before["versions"].as_object();
        let unread = versions
            .into_iter()
            .flatten()
            .find(|(_, doc)| !super::undo::recorded(doc));
        if let Some((version, _)) = unread {
            return Err(format!(
                "the document of version {version} of {arn} could not be read: the policy is not deleted before it is recorded"
            )
            .into());
        }
        if versions.is_none_or(Map::is_empty) {
            return Err(format!(
                "iam:ListPolicyVersions gave no version of {arn}: the policy is not deleted before its document is recorded"
            )
            .into());
        }
    }
    let mut p = Plan::new("delete-policy", arn, before, json!({"exists": false}), true);
    if p.already_done {
        p.notes.push(
            "deleted earlier in this case; its documents are in that plan, in the ledger"
                .to_string(),
        );
        return Ok(p);
    }
    let b = &p.before;
    let versions = b["versions"].as_object().map_or(0, Map::len);
    let attached = listed(b, "attached_to", "");
    let from = if attached.is_empty() {
        "attached to no one".to_string()
    } else {
        format!("detached first from {}", attached.join(", "))
    };
    p.notes.push(format!(
        "{versions} version(s), each document in full, are in this plan's before, recorded in the ledger before anything is removed; {from}"
    ));
    Ok(p)
}

impl Action for DeletePolicy {
    fn resource(&self) -> String {
        self.policy_arn.clone()
    }

    fn action(&self) -> &'static str {
        "delete-policy"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        delete_policy_plan(
            &self.policy_arn,
            self.describe().await?,
            self.expected_id.as_deref(),
            self.deleted_in_case,
        )
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        as_planned(&self.describe().await?, plan)?;
        let (iam, arn, b) = (&self.c.iam, self.policy_arn.as_str(), &plan.before);
        let mut r = Removing {
            who: arn,
            removed: Vec::new(),
        };
        for holder in listed(b, "attached_to", "")
            .into_iter()
            .filter_map(holder_of)
        {
            iam::detach_policy(iam, &holder, arn)
                .await
                .map_err(|e| r.failed(e))?;
            r.did(format!("attachment to {holder}"));
        }
        let default = b["default_version"].as_str();
        let versions = b["versions"].as_object().into_iter().flatten();
        for (version, _) in versions.filter(|(v, _)| Some(v.as_str()) != default) {
            iam::delete_policy_version(iam, arn, version)
                .await
                .map_err(|e| r.failed(e))?;
            r.did(format!("version {version}"));
        }
        iam::delete_policy(iam, arn)
            .await
            .map_err(|e| r.failed(e))?;
        Ok(json!({"removed": r.removed}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.describe().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mallory() -> Value {
        json!({
            "user": "mallory",
            "exists": true,
            "arn": "arn:aws:iam::111122223333:user/mallory",
            "access_keys": [{"id": "AKIAEXAMPLE", "status": "Active", "created": 0}],
            "login_profile": {"created": "2026-11-30T10:00:00Z", "password_reset_required": false},
            "ssh_public_keys": [{"id": "APKAEXAMPLE", "body": "ssh-rsa AAAA mallory"}],
            "signing_certificates": [],
            "service_specific_credentials": {"unread": "not implemented"},
            "usage": {"password_last_used": "2026-11-30T10:05:00Z"},
            "mfa_devices": [],
            "groups": ["admins"],
            "attached_policies": ["arn:aws:iam::aws:policy/AdministratorAccess"],
            "inline_policies": {"backdoor": {"Statement": [{"Effect": "Allow", "Action": "*"}]}},
        })
    }

    const SQUALL: &str = "arn:aws:iam::111122223333:user/responder";

    /// Squall running as the responder user.
    fn squall() -> Caller {
        Caller {
            arn: SQUALL.into(),
            id: "AIDARESPONDER0000001".into(),
        }
    }

    #[test]
    fn a_user_is_deleted_only_with_its_whole_description_in_the_plan() {
        let p = delete_user_plan("mallory", mallory(), &squall(), None, false).unwrap();
        assert!(!p.already_done);
        assert!(p.visible_to_attacker);
        assert_eq!(p.after, json!({"exists": false}));
        assert_eq!(
            p.before["inline_policies"]["backdoor"]["Statement"][0]["Action"],
            "*"
        );
        let notes = p.notes.join("\n");
        for part in [
            "1 access key(s)",
            "console login",
            "1 SSH key(s)",
            "1 group membership(s)",
            "1 attached policy(ies)",
            "1 inline policy(ies)",
            "could not be listed (not implemented)",
        ] {
            assert!(notes.contains(part), "{part} in {notes}");
        }
    }

    #[test]
    fn a_user_whose_policy_or_key_could_not_be_read_is_not_deleted() {
        let mut unread = mallory();
        unread["inline_policies"]["backdoor"] = Value::Null;
        let e = delete_user_plan("mallory", unread, &squall(), None, false).unwrap_err();
        assert!(e.to_string().contains("backdoor"), "{e}");
        let mut blank = mallory();
        blank["ssh_public_keys"][0]["body"] = json!(" ");
        let e = delete_user_plan("mallory", blank, &squall(), None, false).unwrap_err();
        assert!(e.to_string().contains("SSH public key"), "{e}");
    }

    #[test]
    fn squall_never_deletes_the_user_it_runs_as() {
        let me = Caller {
            arn: "arn:aws:iam::111122223333:user/mallory".into(),
            id: "AIDAMALLORY000000001".into(),
        };
        let e = delete_user_plan("mallory", mallory(), &me, None, false).unwrap_err();
        assert!(e.to_string().contains("identity Squall runs as"), "{e}");
        // Known by IAM's id even when the ARN differs (another path or case).
        let by_id = Caller {
            arn: "arn:aws:iam::111122223333:user/ops/MALLORY".into(),
            id: "AIDAMALLORY000000001".into(),
        };
        let mut found = mallory();
        found["user_id"] = json!("AIDAMALLORY000000001");
        let e = delete_user_plan("mallory", found, &by_id, None, false).unwrap_err();
        assert!(e.to_string().contains("identity Squall runs as"), "{e}");
    }

    #[test]
    fn a_user_not_there_is_an_error_unless_this_case_deleted_it() {
        let gone = json!({"user": "mallory", "exists": false});
        let e = delete_user_plan("mallory", gone.clone(), &squall(), None, false).unwrap_err();
        assert!(e.to_string().contains("no IAM user mallory"), "{e}");
        let p = delete_user_plan("mallory", gone, &squall(), None, true).unwrap();
        assert!(p.already_done);
        assert!(p.notes[0].contains("deleted earlier in this case"));
    }

    #[test]
    fn a_use_since_the_plan_is_not_a_change_but_anything_else_is() {
        let p = delete_user_plan("mallory", mallory(), &squall(), None, false).unwrap();
        let mut used = mallory();
        used["usage"]["password_last_used"] = json!("2026-11-30T11:00:00Z");
        assert!(as_planned(&used, &p).is_ok());
        let mut grew = mallory();
        grew["groups"] = json!(["admins", "finance"]);
        let e = as_planned(&grew, &p).unwrap_err();
        assert!(
            e.to_string().contains("changed since it was planned"),
            "{e}"
        );
    }

    #[test]
    fn what_execution_removes_is_read_from_the_recorded_description() {
        let b = mallory();
        assert_eq!(listed(&b, "access_keys", "id"), vec!["AKIAEXAMPLE"]);
        assert_eq!(listed(&b, "groups", ""), vec!["admins"]);
        // An unread list removes nothing by itself.
        assert!(listed(&b, "service_specific_credentials", "id").is_empty());
    }

    fn backdoor() -> Value {
        json!({
            "role": "ops-support",
            "exists": true,
            "arn": "arn:aws:iam::111122223333:role/ops-support",
            "role_id": "AROAOPSSUPPORT000001",
            "path": "/",
            "trust_policy": {"Statement": [{"Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::999988887777:root"}, "Action": "sts:AssumeRole"}]},
            "attached_policies": ["arn:aws:iam::aws:policy/AdministratorAccess"],
            "inline_policies": {},
            "instance_profiles": ["ops-support"],
        })
    }

    #[test]
    fn a_role_is_deleted_only_with_its_trust_policy_recorded_and_never_squalls_own() {
        let p = delete_role_plan("ops-support", backdoor(), &squall(), None, false).unwrap();
        assert!(!p.already_done);
        assert_eq!(
            p.before["trust_policy"]["Statement"][0]["Principal"]["AWS"],
            "arn:aws:iam::999988887777:root"
        );
        let notes = p.notes.join("\n");
        assert!(notes.contains("instance profile(s) ops-support"), "{notes}");
        assert!(notes.contains("1 attached policy(ies)"), "{notes}");
        // Squall's own session: by name in any case, and by IAM's id.
        for (arn, id) in [
            (
                "arn:aws:sts::111122223333:assumed-role/OPS-SUPPORT/squall",
                "AROAOTHER00000000001",
            ),
            (
                "arn:aws:sts::111122223333:assumed-role/renamed/squall",
                "AROAOPSSUPPORT000001",
            ),
        ] {
            let me = Caller {
                arn: arn.into(),
                id: id.into(),
            };
            let e = delete_role_plan("ops-support", backdoor(), &me, None, false).unwrap_err();
            assert!(e.to_string().contains("Squall runs as a session"), "{e}");
        }
        // A namesake made since the attacker's role: another id, refused.
        let e = delete_role_plan(
            "ops-support",
            backdoor(),
            &squall(),
            Some("AROAATTACKERS0000001"),
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("another of the same name"), "{e}");
        assert!(
            delete_role_plan(
                "ops-support",
                backdoor(),
                &squall(),
                Some("AROAOPSSUPPORT000001"),
                false
            )
            .is_ok()
        );
        let mut unread = backdoor();
        unread["trust_policy"] = Value::Null;
        let e = delete_role_plan("ops-support", unread, &squall(), None, false).unwrap_err();
        assert!(e.to_string().contains("trust policy"), "{e}");
        let mut linked = backdoor();
        linked["path"] = json!("/aws-service-role/elasticbeanstalk.amazonaws.com/");
        let e = delete_role_plan("ops-support", linked, &squall(), None, false).unwrap_err();
        assert!(e.to_string().contains("service-linked"), "{e}");
        let gone = json!({"role": "ops-support", "exists": false});
        assert!(delete_role_plan("ops-support", gone.clone(), &squall(), None, false).is_err());
        assert!(
            delete_role_plan("ops-support", gone, &squall(), None, true)
                .unwrap()
                .already_done
        );
    }

    fn god_mode() -> Value {
        json!({
            "policy_arn": "arn:aws:iam::111122223333:policy/god-mode",
            "exists": true,
            "default_version": "v2",
            "versions": {
                "v1": {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]},
                "v2": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
            },
            "attached_to": ["user/backup", "role/app"],
        })
    }

    #[test]
    fn a_policy_is_deleted_only_with_every_version_recorded_and_never_one_of_awss() {
        let arn = "arn:aws:iam::111122223333:policy/god-mode";
        let p = delete_policy_plan(arn, god_mode(), None, false).unwrap();
        assert_eq!(p.before["versions"]["v2"]["Statement"][0]["Action"], "*");
        let notes = p.notes.join("\n");
        assert!(notes.contains("2 version(s)"), "{notes}");
        assert!(
            notes.contains("detached first from user/backup, role/app"),
            "{notes}"
        );
        assert_eq!(holder_of("role/app"), Some(Holder::Role("app".into())));
        assert_eq!(holder_of("bucket/x"), None);
        let mut unread = god_mode();
        unread["versions"]["v1"] = Value::Null;
        let e = delete_policy_plan(arn, unread, None, false).unwrap_err();
        assert!(e.to_string().contains("version v1"), "{e}");
        let e = delete_policy_plan(
            "arn:aws:iam::aws:policy/AdministratorAccess",
            god_mode(),
            None,
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("AWS manages"), "{e}");
        let gone = json!({"policy_arn": arn, "exists": false});
        assert!(delete_policy_plan(arn, gone.clone(), None, false).is_err());
        assert!(
            delete_policy_plan(arn, gone, None, true)
                .unwrap()
                .already_done
        );
    }
}

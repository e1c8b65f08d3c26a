//! IAM: users with their access keys, and roles whose trust lets other accounts in.

use aws_sdk_iam::Client;
use aws_sdk_iam::error::ProvideErrorMetadata;

use crate::AwsError;

/// An access key and how old and how used it is.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccessKey {
    pub user: String,
    pub key_id: String,
    pub status: String,
    pub created: Option<String>,
    pub age_days: Option<i64>,
    pub last_used: Option<String>,
}

/// A role and the outside principals its trust policy names.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Role {
    pub name: String,
    /// Account ids (other than this one) that may assume the role.
    pub trusted_accounts: Vec<String>,
}

fn iso(t: &aws_sdk_iam::primitives::DateTime) -> Option<String> {
    chrono::DateTime::from_timestamp(t.secs(), 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// Every user's access keys with age and last use: old and unused keys are findings.
pub async fn access_keys(client: &Client) -> Result<Vec<AccessKey>, AwsError> {
    let now = chrono::Utc::now().timestamp();
    let mut out = Vec::new();
    let mut users = client.list_users().into_paginator().items().send();
    while let Some(user) = users.next().await {
        let user = user.map_err(|e| AwsError::call("iam:ListUsers", "", e))?;
        let name = user.user_name().to_string();
        let keys = client
            .list_access_keys()
            .user_name(&name)
            .send()
            .await
            .map_err(|e| AwsError::call("iam:ListAccessKeys", &name, e))?;
        for k in keys.access_key_metadata() {
            let key_id = k.access_key_id().unwrap_or_default().to_string();
            let used = client
                .get_access_key_last_used()
                .access_key_id(&key_id)
                .send()
                .await
                .map_err(|e| AwsError::call("iam:GetAccessKeyLastUsed", &key_id, e))?;
            out.push(AccessKey {
                user: name.clone(),
                status: k
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                created: k.create_date().and_then(iso),
                age_days: k.create_date().map(|d| (now - d.secs()) / 86_400),
                last_used: used
                    .access_key_last_used()
                    .and_then(|u| u.last_used_date())
                    .and_then(iso),
                key_id,
            });
        }
    }
    Ok(out)
}

/// Account ids named in a trust policy's principals (`arn:aws:iam::ACCOUNT:...` or bare ids).
pub fn trusted_accounts(policy: &serde_json::Value, own: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut visit = |s: &str| {
        let id = s
            .strip_prefix("arn:aws:iam::")
            .and_then(|r| r.split(':').next())
            .unwrap_or(s);
        if id.len() == 12
            && id.bytes().all(|b| b.is_ascii_digit())
            && id != own
            && !found.contains(&id.to_string())
        {
            found.push(id.to_string());
        }
    };
    for stmt in policy["Statement"].as_array().into_iter().flatten() {
        if stmt["Effect"] != "Allow" {
            continue;
        }
        match &stmt["Principal"]["AWS"] {
            serde_json::Value::String(s) => visit(s),
            serde_json::Value::Array(items) => {
                items.iter().filter_map(|i| i.as_str()).for_each(&mut visit)
            }
            _ => {}
        }
    }
    found
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every role with the outside accounts its trust policy admits.
pub async fn roles(client: &Client, own_account: &str) -> Result<Vec<Role>, AwsError> {
    let mut out = Vec::new();
    let mut roles = client.list_roles().into_paginator().items().send();
    while let Some(role) = roles.next().await {
        let role = role.map_err(|e| AwsError::call("iam:ListRoles", "", e))?;
        // IAM returns trust policies URL-encoded.
        let doc = role
            .assume_role_policy_document()
            .map(percent_decode)
            .unwrap_or_default();
        let policy: serde_json::Value = serde_json::from_str(&doc).unwrap_or_default();
        out.push(Role {
            name: role.role_name().to_string(),
            trusted_accounts: trusted_accounts(&policy, own_account),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_policies_name_the_outside_accounts() {
        let policy = serde_json::json!({"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::444455556666:root", "111122223333"]}},
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}},
            {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}}
        ]});
        assert_eq!(
            trusted_accounts(&policy, "111122223333"),
            vec!["444455556666"]
        );
        assert_eq!(percent_decode("%7B%22a%22%3A1%7D"), r#"{"a":1}"#);
    }
}

// ---- What containment and recovery read and change. ----

/// The inline policy that denies everything to sessions issued before a time: the same idea
/// as the console's "Revoke active sessions", so stolen temporary credentials stop working
/// while the role (or user) keeps serving new, legitimate sessions.
pub const REVOKE_POLICY: &str = "SquallRevokeOlderSessions";

/// Who a revocation policy is attached to.
#[derive(Debug, Clone, Copy)]
pub enum Principal<'a> {
    Role(&'a str),
    User(&'a str),
}

fn revoke_document(before: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "SquallRevokeOlderSessions",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": before}}
        }]
    })
    .to_string()
}

/// The cut-off time of the revocation policy, if the principal has one.
pub async fn revoked_before(
    client: &Client,
    who: Principal<'_>,
) -> Result<Option<String>, AwsError> {
    let doc = match who {
        Principal::Role(name) => match client
            .get_role_policy()
            .role_name(name)
            .policy_name(REVOKE_POLICY)
            .send()
            .await
        {
            Ok(out) => out.policy_document().to_string(),
            Err(e) if e.code() == Some("NoSuchEntity") => return Ok(None),
            Err(e) => return Err(AwsError::call("iam:GetRolePolicy", name, e)),
        },
        Principal::User(name) => match client
            .get_user_policy()
            .user_name(name)
            .policy_name(REVOKE_POLICY)
            .send()
            .await
        {
            Ok(out) => out.policy_document().to_string(),
            Err(e) if e.code() == Some("NoSuchEntity") => return Ok(None),
            Err(e) => return Err(AwsError::call("iam:GetUserPolicy", name, e)),
        },
    };
    let doc: serde_json::Value = serde_json::from_str(&percent_decode(&doc)).unwrap_or_default();
    Ok(
        doc["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
            .as_str()
            .map(str::to_string),
    )
}

/// Attaches the revocation policy with this cut-off (replacing an earlier one).
pub async fn revoke_sessions(
    client: &Client,
    who: Principal<'_>,
    before: &str,
) -> Result<(), AwsError> {
    let doc = revoke_document(before);
    match who {
        Principal::Role(name) => {
            client
                .put_role_policy()
                .role_name(name)
                .policy_name(REVOKE_POLICY)
                .policy_document(doc)
                .send()
                .await
                .map_err(|e| AwsError::call("iam:PutRolePolicy", name, e))?;
        }
        Principal::User(name) => {
            client
                .put_user_policy()
                .user_name(name)
                .policy_name(REVOKE_POLICY)
                .policy_document(doc)
                .send()
                .await
                .map_err(|e| AwsError::call("iam:PutUserPolicy", name, e))?;
        }
    }
    Ok(())
}

/// The role behind an instance profile (the instance's credentials are that role's sessions).
pub async fn profile_role(client: &Client, profile_arn: &str) -> Result<Option<String>, AwsError> {
    let name = profile_arn.rsplit('/').next().unwrap_or(profile_arn);
    let out = client
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:GetInstanceProfile", name, e))?;
    Ok(out
        .instance_profile()
        .and_then(|p| p.roles().first())
        .map(|r| r.role_name().to_string()))
}

/// A user's access keys: (key id, status, created).
pub async fn user_keys(
    client: &Client,
    user: &str,
) -> Result<Vec<(String, String, i64)>, AwsError> {
    let out = client
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:ListAccessKeys", user, e))?;
    let mut keys: Vec<(String, String, i64)> = out
        .access_key_metadata()
        .iter()
        .map(|k| {
            (
                k.access_key_id().unwrap_or_default().to_string(),
                k.status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                k.create_date().map_or(0, |d| d.secs()),
            )
        })
        .collect();
    keys.sort();
    Ok(keys)
}

/// Activates or deactivates an access key (deactivated keys are kept as evidence).
pub async fn set_key_status(
    client: &Client,
    user: &str,
    key: &str,
    active: bool,
) -> Result<(), AwsError> {
    client
        .update_access_key()
        .user_name(user)
        .access_key_id(key)
        .status(if active {
            aws_sdk_iam::types::StatusType::Active
        } else {
            aws_sdk_iam::types::StatusType::Inactive
        })
        .send()
        .await
        .map_err(|e| AwsError::call("iam:UpdateAccessKey", key, e))?;
    Ok(())
}

/// The user owning a key (IAM answers this for any key of the account).
pub async fn key_user(client: &Client, key: &str) -> Result<String, AwsError> {
    let used = client
        .get_access_key_last_used()
        .access_key_id(key)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:GetAccessKeyLastUsed", key, e))?;
    used.user_name()
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .ok_or_else(|| AwsError::Call {
            call: "iam:GetAccessKeyLastUsed",
            on: format!(" on {key}"),
            message: "no user owns this key in this account (help: --account/--role-name for another account)".into(),
        })
}

/// A new access key: the id, and the secret, which the caller must hand over without
/// printing or recording it.
pub async fn create_key(client: &Client, user: &str) -> Result<(String, String), AwsError> {
    let out = client
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:CreateAccessKey", user, e))?;
    let key = out.access_key().ok_or_else(|| AwsError::Call {
        call: "iam:CreateAccessKey",
        on: format!(" on {user}"),
        message: "no key in the answer".into(),
    })?;
    Ok((
        key.access_key_id().to_string(),
        key.secret_access_key().to_string(),
    ))
}

/// Deletes an access key: used only to take back a new key whose secret could not be handed
/// over, so that a failed rotation leaves the user as it was.
pub async fn delete_key(client: &Client, user: &str, key: &str) -> Result<(), AwsError> {
    client
        .delete_access_key()
        .user_name(user)
        .access_key_id(key)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:DeleteAccessKey", key, e))?;
    Ok(())
}

/// Whether the user can sign in to the console.
pub async fn has_login_profile(client: &Client, user: &str) -> Result<bool, AwsError> {
    match client.get_login_profile().user_name(user).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("NoSuchEntity") => Ok(false),
        Err(e) => Err(AwsError::call("iam:GetLoginProfile", user, e)),
    }
}

/// Removes console sign-in; already absent is the state wanted.
pub async fn delete_login_profile(client: &Client, user: &str) -> Result<(), AwsError> {
    match client.delete_login_profile().user_name(user).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("NoSuchEntity") => Ok(()),
        Err(e) => Err(AwsError::call("iam:DeleteLoginProfile", user, e)),
    }
}

/// A user's SSH public keys (for CodeCommit): id and body, recorded before deletion so the
/// prior state is known.
pub async fn ssh_keys(client: &Client, user: &str) -> Result<Vec<(String, String)>, AwsError> {
    let out = client
        .list_ssh_public_keys()
        .user_name(user)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:ListSSHPublicKeys", user, e))?;
    let mut keys = Vec::new();
    for k in out.ssh_public_keys() {
        let id = k.ssh_public_key_id().to_string();
        let body = client
            .get_ssh_public_key()
            .user_name(user)
            .ssh_public_key_id(&id)
            .encoding(aws_sdk_iam::types::EncodingType::Ssh)
            .send()
            .await
            .map_err(|e| AwsError::call("iam:GetSSHPublicKey", &id, e))?;
        keys.push((
            id,
            body.ssh_public_key()
                .map(|k| k.ssh_public_key_body().to_string())
                .unwrap_or_default(),
        ));
    }
    keys.sort();
    Ok(keys)
}

/// Deletes one SSH public key (its body was recorded in the plan).
pub async fn delete_ssh_key(client: &Client, user: &str, id: &str) -> Result<(), AwsError> {
    client
        .delete_ssh_public_key()
        .user_name(user)
        .ssh_public_key_id(id)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:DeleteSSHPublicKey", id, e))?;
    Ok(())
}

// ---- What undoing the attacker's changes reads and changes. ----

/// An IAM identity that policies are attached to or put on: a user, a role or a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    User(String),
    Role(String),
    Group(String),
}

impl Holder {
    /// The holder's own name.
    pub fn name(&self) -> &str {
        match self {
            Holder::User(n) | Holder::Role(n) | Holder::Group(n) => n,
        }
    }
}

/// `user/alice`, `role/app`, `group/admins`: how plans and resources name it.
impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Holder::User(_) => "user",
            Holder::Role(_) => "role",
            Holder::Group(_) => "group",
        };
        write!(f, "{kind}/{}", self.name())
    }
}

/// A policy document as IAM returns it (URL-encoded JSON), as JSON; a document that is not
/// JSON is kept as its text, so nothing read is lost from the record.
pub fn policy_document(raw: &str) -> serde_json::Value {
    let text = percent_decode(raw);
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

/// The ARNs of the managed policies attached to `holder`, sorted.
pub async fn attached_policies(client: &Client, holder: &Holder) -> Result<Vec<String>, AwsError> {
    let on = holder.to_string();
    let mut arns = Vec::new();
    match holder {
        Holder::User(n) => {
            let mut items = client
                .list_attached_user_policies()
                .user_name(n)
                .into_paginator()
                .items()
                .send();
            while let Some(p) = items.next().await {
                let p = p.map_err(|e| AwsError::call("iam:ListAttachedUserPolicies", &on, e))?;
                arns.extend(p.policy_arn().map(str::to_string));
            }
        }
        Holder::Role(n) => {
            let mut items = client
                .list_attached_role_policies()
                .role_name(n)
                .into_paginator()
                .items()
                .send();
            while let Some(p) = items.next().await {
                let p = p.map_err(|e| AwsError::call("iam:ListAttachedRolePolicies", &on, e))?;
                arns.extend(p.policy_arn().map(str::to_string));
            }
        }
        Holder::Group(n) => {
            let mut items = client
                .list_attached_group_policies()
                .group_name(n)
                .into_paginator()
                .items()
                .send();
            while let Some(p) = items.next().await {
                let p = p.map_err(|e| AwsError::call("iam:ListAttachedGroupPolicies", &on, e))?;
                arns.extend(p.policy_arn().map(str::to_string));
            }
        }
    }
    arns.sort();
    Ok(arns)
}

/// Detaches a managed policy from `holder` (the policy itself stays, as it was).
pub async fn detach_policy(client: &Client, holder: &Holder, arn: &str) -> Result<(), AwsError> {
    let on = format!("{holder} ({arn})");
    match holder {
        Holder::User(n) => client
            .detach_user_policy()
            .user_name(n)
            .policy_arn(arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::call("iam:DetachUserPolicy", &on, e)),
        Holder::Role(n) => client
            .detach_role_policy()
            .role_name(n)
            .policy_arn(arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::call("iam:DetachRolePolicy", &on, e)),
        Holder::Group(n) => client
            .detach_group_policy()
            .group_name(n)
            .policy_arn(arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::call("iam:DetachGroupPolicy", &on, e)),
    }
}

/// The names of the inline policies put on `holder`, sorted.
pub async fn inline_policies(client: &Client, holder: &Holder) -> Result<Vec<String>, AwsError> {
    let on = holder.to_string();
    let mut names = Vec::new();
    match holder {
        Holder::User(n) => {
            let mut items = client
                .list_user_policies()
                .user_name(n)
                .into_paginator()
                .items()
                .send();
            while let Some(p) = items.next().await {
                names.push(p.map_err(|e| AwsError::call("iam:ListUserPolicies", &on, e))?);
            }
        }
        Holder::Role(n) => {
            let mut items = client
                .list_role_policies()
                .role_name(n)
                .into_paginator()
                .items()
                .send();
            while let Some(p) = items.next().await {
                names.push(p.map_err(|e| AwsError::call("iam:ListRolePolicies", &on, e))?);
            }
        }
        Holder::Group(n) => {
            let mut items = client
                .list_group_policies()
                .group_name(n)
                .into_paginator()
                .items()
                .send();
            while let Some(p) = items.next().await {
                names.push(p.map_err(|e| AwsError::call("iam:ListGroupPolicies", &on, e))?);
            }
        }
    }
    names.sort();
    Ok(names)
}

/// The document of the inline policy `name` on `holder`, as JSON (see [`policy_document`]).
pub async fn inline_policy(
    client: &Client,
    holder: &Holder,
    name: &str,
) -> Result<serde_json::Value, AwsError> {
    let on = format!("{holder} ({name})");
    let raw = match holder {
        Holder::User(n) => client
            .get_user_policy()
            .user_name(n)
            .policy_name(name)
            .send()
            .await
            .map(|o| o.policy_document().to_string())
            .map_err(|e| AwsError::call("iam:GetUserPolicy", &on, e))?,
        Holder::Role(n) => client
            .get_role_policy()
            .role_name(n)
            .policy_name(name)
            .send()
            .await
            .map(|o| o.policy_document().to_string())
            .map_err(|e| AwsError::call("iam:GetRolePolicy", &on, e))?,
        Holder::Group(n) => client
            .get_group_policy()
            .group_name(n)
            .policy_name(name)
            .send()
            .await
            .map(|o| o.policy_document().to_string())
            .map_err(|e| AwsError::call("iam:GetGroupPolicy", &on, e))?,
    };
    Ok(policy_document(&raw))
}

/// Deletes the inline policy `name` from `holder` (its document was recorded first).
pub async fn delete_inline_policy(
    client: &Client,
    holder: &Holder,
    name: &str,
) -> Result<(), AwsError> {
    let on = format!("{holder} ({name})");
    match holder {
        Holder::User(n) => client
            .delete_user_policy()
            .user_name(n)
            .policy_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::call("iam:DeleteUserPolicy", &on, e)),
        Holder::Role(n) => client
            .delete_role_policy()
            .role_name(n)
            .policy_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::call("iam:DeleteRolePolicy", &on, e)),
        Holder::Group(n) => client
            .delete_group_policy()
            .group_name(n)
            .policy_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::call("iam:DeleteGroupPolicy", &on, e)),
    }
}

/// A managed policy's versions: (version id, is the default), in IAM's order.
pub async fn policy_versions(client: &Client, arn: &str) -> Result<Vec<(String, bool)>, AwsError> {
    let mut out = Vec::new();
    let mut items = client
        .list_policy_versions()
        .policy_arn(arn)
        .into_paginator()
        .items()
        .send();
    while let Some(v) = items.next().await {
        let v = v.map_err(|e| AwsError::call("iam:ListPolicyVersions", arn, e))?;
        out.push((
            v.version_id().unwrap_or_default().to_string(),
            v.is_default_version(),
        ));
    }
    Ok(out)
}

/// One version's document, as JSON (see [`policy_document`]).
pub async fn policy_version_document(
    client: &Client,
    arn: &str,
    version: &str,
) -> Result<serde_json::Value, AwsError> {
    let out = client
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:GetPolicyVersion", &format!("{arn} {version}"), e))?;
    Ok(policy_document(
        out.policy_version()
            .and_then(|v| v.document())
            .unwrap_or_default(),
    ))
}

/// Makes `version` the policy's default (the others are kept).
pub async fn set_default_policy_version(
    client: &Client,
    arn: &str,
    version: &str,
) -> Result<(), AwsError> {
    client
        .set_default_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .map_err(|e| {
            AwsError::call(
                "iam:SetDefaultPolicyVersion",
                &format!("{arn} {version}"),
                e,
            )
        })?;
    Ok(())
}

/// A role's trust policy, as JSON (see [`policy_document`]).
pub async fn trust_policy(client: &Client, role: &str) -> Result<serde_json::Value, AwsError> {
    let out = client
        .get_role()
        .role_name(role)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:GetRole", role, e))?;
    Ok(policy_document(
        out.role()
            .and_then(|r| r.assume_role_policy_document())
            .unwrap_or_default(),
    ))
}

/// Replaces a role's trust policy with `document`.
pub async fn set_trust_policy(client: &Client, role: &str, document: &str) -> Result<(), AwsError> {
    client
        .update_assume_role_policy()
        .role_name(role)
        .policy_document(document)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:UpdateAssumeRolePolicy", role, e))?;
    Ok(())
}

/// A console login profile: when it was made, and whether a new password is due at sign-in.
/// The password itself cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginProfile {
    pub created: Option<String>,
    pub password_reset_required: bool,
}

/// The user's login profile, if it has one; a user that does not exist is an error.
pub async fn login_profile(client: &Client, user: &str) -> Result<Option<LoginProfile>, AwsError> {
    // GetLoginProfile answers NoSuchEntity for a missing user as for a missing profile: ask
    // for the user first, so a typo is not taken for a user without console access.
    client
        .get_user()
        .user_name(user)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:GetUser", user, e))?;
    match client.get_login_profile().user_name(user).send().await {
        Ok(out) => Ok(out.login_profile().map(|p| LoginProfile {
            created: iso(p.create_date()),
            password_reset_required: p.password_reset_required(),
        })),
        Err(e) if e.code() == Some("NoSuchEntity") => Ok(None),
        Err(e) => Err(AwsError::call("iam:GetLoginProfile", user, e)),
    }
}

// ---- What deleting a user the attacker made reads first, and removes. ----

/// An IAM user as `GetUser` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub arn: String,
    pub id: String,
    pub path: String,
    pub created: Option<String>,
    pub permissions_boundary: Option<String>,
    pub tags: Vec<(String, String)>,
    /// When its console password was last used: evidence that goes with the user.
    pub password_last_used: Option<String>,
}

/// The user, or `None` when the account has no user by that name.
pub async fn user(client: &Client, name: &str) -> Result<Option<User>, AwsError> {
    let out = match client.get_user().user_name(name).send().await {
        Ok(out) => out,
        Err(e) if e.code() == Some("NoSuchEntity") => return Ok(None),
        Err(e) => return Err(AwsError::call("iam:GetUser", name, e)),
    };
    Ok(out.user().map(|u| User {
        arn: u.arn().to_string(),
        id: u.user_id().to_string(),
        path: u.path().to_string(),
        created: iso(u.create_date()),
        permissions_boundary: u
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_string),
        tags: u
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        password_last_used: u.password_last_used().and_then(iso),
    }))
}

/// When an access key was last used, with which service and in which region (`None`s for a
/// key never used): evidence that goes with the key.
pub async fn key_last_used(
    client: &Client,
    key: &str,
) -> Result<(Option<String>, Option<String>, Option<String>), AwsError> {
    let out = client
        .get_access_key_last_used()
        .access_key_id(key)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:GetAccessKeyLastUsed", key, e))?;
    let used = out.access_key_last_used();
    let named = |s: Option<&str>| {
        s.filter(|s| !s.is_empty() && *s != "N/A")
            .map(str::to_string)
    };
    Ok((
        used.and_then(|u| u.last_used_date()).and_then(iso),
        named(used.map(|u| u.service_name())),
        named(used.map(|u| u.region())),
    ))
}

/// The groups the user is in, sorted.
pub async fn user_groups(client: &Client, user: &str) -> Result<Vec<String>, AwsError> {
    let mut names = Vec::new();
    let mut pages = client
        .list_groups_for_user()
        .user_name(user)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::call("iam:ListGroupsForUser", user, e))?;
        names.extend(page.groups().iter().map(|g| g.group_name().to_string()));
    }
    names.sort();
    Ok(names)
}

/// The user's MFA devices: serial number and when it was enabled.
pub async fn mfa_devices(
    client: &Client,
    user: &str,
) -> Result<Vec<(String, Option<String>)>, AwsError> {
    let mut devices = Vec::new();
    let mut pages = client
        .list_mfa_devices()
        .user_name(user)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::call("iam:ListMFADevices", user, e))?;
        devices.extend(
            page.mfa_devices()
                .iter()
                .map(|d| (d.serial_number().to_string(), iso(d.enable_date()))),
        );
    }
    devices.sort();
    Ok(devices)
}

/// The user's X.509 signing certificates: id, status and the certificate itself.
pub async fn signing_certificates(
    client: &Client,
    user: &str,
) -> Result<Vec<(String, String, String)>, AwsError> {
    let mut certs = Vec::new();
    let mut pages = client
        .list_signing_certificates()
        .user_name(user)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::call("iam:ListSigningCertificates", user, e))?;
        certs.extend(page.certificates().iter().map(|c| {
            (
                c.certificate_id().to_string(),
                c.status().as_str().to_string(),
                c.certificate_body().to_string(),
            )
        }));
    }
    certs.sort();
    Ok(certs)
}

/// The user's service-specific credentials (CodeCommit Git, Keyspaces, Bedrock): id, service
/// and status. The password is never returned by AWS.
///
/// `None` when the endpoint answers with no AWS error at all (it does not implement the call,
/// as moto does not); a refusal such as AccessDenied is an error.
pub async fn service_credentials(
    client: &Client,
    user: &str,
) -> Result<Option<Vec<(String, String, String)>>, AwsError> {
    let out = match client
        .list_service_specific_credentials()
        .user_name(user)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if e.code().is_none() && e.raw_response().is_some() => return Ok(None),
        Err(e) => {
            return Err(AwsError::call(
                "iam:ListServiceSpecificCredentials",
                user,
                e,
            ));
        }
    };
    let mut creds: Vec<_> = out
        .service_specific_credentials()
        .iter()
        .map(|c| {
            (
                c.service_specific_credential_id().to_string(),
                c.service_name().to_string(),
                c.status().as_str().to_string(),
            )
        })
        .collect();
    creds.sort();
    Ok(Some(creds))
}

/// Takes the user out of a group (the group stays).
pub async fn remove_from_group(client: &Client, user: &str, group: &str) -> Result<(), AwsError> {
    client
        .remove_user_from_group()
        .user_name(user)
        .group_name(group)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:RemoveUserFromGroup", &format!("{user} ({group})"), e))?;
    Ok(())
}

/// Unbinds an MFA device from the user (a virtual device stays in the account, unassigned).
pub async fn deactivate_mfa(client: &Client, user: &str, serial: &str) -> Result<(), AwsError> {
    client
        .deactivate_mfa_device()
        .user_name(user)
        .serial_number(serial)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:DeactivateMFADevice", serial, e))?;
    Ok(())
}

/// Deletes a signing certificate (its body was recorded in the plan).
pub async fn delete_signing_certificate(
    client: &Client,
    user: &str,
    id: &str,
) -> Result<(), AwsError> {
    client
        .delete_signing_certificate()
        .user_name(user)
        .certificate_id(id)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:DeleteSigningCertificate", id, e))?;
    Ok(())
}

/// Deletes a service-specific credential.
pub async fn delete_service_credential(
    client: &Client,
    user: &str,
    id: &str,
) -> Result<(), AwsError> {
    client
        .delete_service_specific_credential()
        .user_name(user)
        .service_specific_credential_id(id)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:DeleteServiceSpecificCredential", id, e))?;
    Ok(())
}

/// Deletes the user itself: IAM refuses while anything is still attached to it.
pub async fn delete_user(client: &Client, user: &str) -> Result<(), AwsError> {
    client
        .delete_user()
        .user_name(user)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:DeleteUser", user, e))?;
    Ok(())
}

/// An IAM role as `GetRole` describes it, trust policy included.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleInfo {
    pub arn: String,
    pub id: String,
    pub path: String,
    pub created: Option<String>,
    pub max_session_seconds: Option<i32>,
    pub trust_policy: serde_json::Value,
    pub permissions_boundary: Option<String>,
    pub tags: Vec<(String, String)>,
    pub description: Option<String>,
    /// When and where a session of it was last used: evidence that goes with the role.
    pub last_used: Option<String>,
    pub last_used_region: Option<String>,
}

/// The role, or `None` when the account has no role by that name.
pub async fn role(client: &Client, name: &str) -> Result<Option<RoleInfo>, AwsError> {
    let out = match client.get_role().role_name(name).send().await {
        Ok(out) => out,
        Err(e) if e.code() == Some("NoSuchEntity") => return Ok(None),
        Err(e) => return Err(AwsError::call("iam:GetRole", name, e)),
    };
    Ok(out.role().map(|r| RoleInfo {
        arn: r.arn().to_string(),
        id: r.role_id().to_string(),
        path: r.path().to_string(),
        created: iso(r.create_date()),
        max_session_seconds: r.max_session_duration(),
        trust_policy: policy_document(r.assume_role_policy_document().unwrap_or_default()),
        permissions_boundary: r
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_string),
        tags: r
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        description: r.description().map(str::to_string),
        last_used: r
            .role_last_used()
            .and_then(|u| u.last_used_date())
            .and_then(iso),
        last_used_region: r
            .role_last_used()
            .and_then(|u| u.region())
            .map(str::to_string),
    }))
}

/// The instance profiles that hold the role (what instances get its credentials through).
pub async fn role_instance_profiles(client: &Client, role: &str) -> Result<Vec<String>, AwsError> {
    let mut names = Vec::new();
    let mut pages = client
        .list_instance_profiles_for_role()
        .role_name(role)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::call("iam:ListInstanceProfilesForRole", role, e))?;
        names.extend(
            page.instance_profiles()
                .iter()
                .map(|p| p.instance_profile_name().to_string()),
        );
    }
    names.sort();
    Ok(names)
}

/// Takes the role out of an instance profile (the profile stays, empty).
pub async fn remove_from_instance_profile(
    client: &Client,
    role: &str,
    profile: &str,
) -> Result<(), AwsError> {
    client
        .remove_role_from_instance_profile()
        .role_name(role)
        .instance_profile_name(profile)
        .send()
        .await
        .map_err(|e| {
            AwsError::call(
                "iam:RemoveRoleFromInstanceProfile",
                &format!("{role} ({profile})"),
                e,
            )
        })?;
    Ok(())
}

/// Deletes the role itself: IAM refuses while policies or profiles still hold it.
pub async fn delete_role(client: &Client, role: &str) -> Result<(), AwsError> {
    client
        .delete_role()
        .role_name(role)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:DeleteRole", role, e))?;
    Ok(())
}

/// A customer-managed policy as `GetPolicy` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub name: String,
    pub id: String,
    pub path: String,
    pub description: Option<String>,
    pub created: Option<String>,
    pub updated: Option<String>,
    pub default_version: Option<String>,
    pub tags: Vec<(String, String)>,
}

/// The policy, or `None` when there is no policy with that ARN.
pub async fn policy(client: &Client, arn: &str) -> Result<Option<Policy>, AwsError> {
    let out = match client.get_policy().policy_arn(arn).send().await {
        Ok(out) => out,
        Err(e) if e.code() == Some("NoSuchEntity") => return Ok(None),
        Err(e) => return Err(AwsError::call("iam:GetPolicy", arn, e)),
    };
    Ok(out.policy().map(|p| Policy {
        name: p.policy_name().unwrap_or_default().to_string(),
        id: p.policy_id().unwrap_or_default().to_string(),
        path: p.path().unwrap_or_default().to_string(),
        description: p.description().map(str::to_string),
        created: p.create_date().and_then(iso),
        updated: p.update_date().and_then(iso),
        default_version: p.default_version_id().map(str::to_string),
        tags: p
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
    }))
}

/// Everyone the policy is attached to, as holders, sorted by kind then name.
pub async fn policy_entities(client: &Client, arn: &str) -> Result<Vec<Holder>, AwsError> {
    let mut out = Vec::new();
    let mut pages = client
        .list_entities_for_policy()
        .policy_arn(arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::call("iam:ListEntitiesForPolicy", arn, e))?;
        out.extend(
            page.policy_users()
                .iter()
                .filter_map(|u| u.user_name())
                .map(|n| Holder::User(n.to_string())),
        );
        out.extend(
            page.policy_roles()
                .iter()
                .filter_map(|r| r.role_name())
                .map(|n| Holder::Role(n.to_string())),
        );
        out.extend(
            page.policy_groups()
                .iter()
                .filter_map(|g| g.group_name())
                .map(|n| Holder::Group(n.to_string())),
        );
    }
    Ok(out)
}

/// Deletes one non-default version of a policy.
pub async fn delete_policy_version(
    client: &Client,
    arn: &str,
    version: &str,
) -> Result<(), AwsError> {
    client
        .delete_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:DeletePolicyVersion", &format!("{arn} {version}"), e))?;
    Ok(())
}

/// Deletes a managed policy: IAM refuses while it is attached or has other versions.
pub async fn delete_policy(client: &Client, arn: &str) -> Result<(), AwsError> {
    client
        .delete_policy()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:DeletePolicy", arn, e))?;
    Ok(())
}

//! IAM: users with their access keys, and roles whose trust lets other accounts in.

use aws_sdk_iam::Client;

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

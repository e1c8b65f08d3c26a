//! Containment verbs. Each is a plan first (what, on which resource, the state before, the
//! state expected after), then — only when the analyst approves — the change, then a fresh read
//! to verify it. The caller records all three in the case's ledger.

use serde::Serialize;

use aws_config::SdkConfig;

use crate::AwsError;

/// A response action before it runs: printable, recordable, approvable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// `deactivate-access-key`, ...
    pub action: &'static str,
    pub resource: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    /// The attacker will notice (their next call fails): scope first if the case is young.
    pub visible_to_attacker: bool,
    /// Already in the expected state: running it changes nothing.
    pub already_done: bool,
}

/// Plans deactivating an access key: finds its user and current status.
/// Takes the configuration from [`crate::connect`], made once for plan and execution.
pub async fn plan_key_deactivation(config: &SdkConfig, key_id: &str) -> Result<Plan, AwsError> {
    let iam = aws_sdk_iam::Client::new(config);
    let used = iam
        .get_access_key_last_used()
        .access_key_id(key_id)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:GetAccessKeyLastUsed", key_id, e))?;
    let user = used.user_name().unwrap_or_default().to_string();
    let status = key_status(&iam, &user, key_id).await?;
    Ok(Plan {
        action: "deactivate-access-key",
        resource: key_id.to_string(),
        before: serde_json::json!({"user": user, "status": status}),
        after: serde_json::json!({"user": user, "status": "Inactive"}),
        visible_to_attacker: true,
        already_done: status == "Inactive",
    })
}

async fn key_status(
    iam: &aws_sdk_iam::Client,
    user: &str,
    key_id: &str,
) -> Result<String, AwsError> {
    let keys = iam
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .map_err(|e| AwsError::call("iam:ListAccessKeys", user, e))?;
    keys.access_key_metadata()
        .iter()
        .find(|k| k.access_key_id() == Some(key_id))
        .and_then(|k| k.status().map(|s| s.as_str().to_string()))
        .ok_or_else(|| AwsError::Call {
            call: "iam:ListAccessKeys",
            on: format!(" on {user}"),
            message: format!("key {key_id} not found"),
        })
}

/// Runs the plan; returns the state read back afterwards.
pub async fn deactivate_key(
    config: &SdkConfig,
    plan: &Plan,
) -> Result<serde_json::Value, AwsError> {
    let iam = aws_sdk_iam::Client::new(config);
    let user = plan.before["user"].as_str().unwrap_or_default();
    if !plan.already_done {
        iam.update_access_key()
            .user_name(user)
            .access_key_id(&plan.resource)
            .status(aws_sdk_iam::types::StatusType::Inactive)
            .send()
            .await
            .map_err(|e| AwsError::call("iam:UpdateAccessKey", &plan.resource, e))?;
    }
    let status = key_status(&iam, user, &plan.resource).await?;
    Ok(serde_json::json!({"user": user, "status": status}))
}

//! KMS: snapshots encrypted with the AWS-managed EBS key cannot be shared; they are copied
//! under a customer-managed key whose policy lets the forensic account in.

use aws_sdk_kms::Client;

use crate::AwsError;

/// The alias of the key Squall creates for sharing evidence with the forensic account.
pub const SHARE_ALIAS: &str = "alias/squall-forensic-share";

/// True when the key is AWS-managed (`aws/ebs`): its policy cannot be changed, so what it
/// encrypts cannot be shared.
pub async fn aws_managed(client: &Client, key: &str) -> Result<bool, AwsError> {
    let out = client
        .describe_key()
        .key_id(key)
        .send()
        .await
        .map_err(|e| AwsError::call("kms:DescribeKey", key, e))?;
    let meta = out.key_metadata();
    if meta
        .and_then(|m| m.key_manager())
        .is_some_and(|m| m.as_str() == "AWS")
    {
        return Ok(true);
    }
    // `alias/aws/*` names are reserved for AWS-managed keys; checking them too catches the
    // default EBS key where KeyManager is not reported (moto, for one, says CUSTOMER).
    let Some(id) = meta.map(|m| m.key_id()) else {
        return Ok(false);
    };
    let aliases = client
        .list_aliases()
        .key_id(id)
        .send()
        .await
        .map_err(|e| AwsError::call("kms:ListAliases", key, e))?;
    Ok(aliases
        .aliases()
        .iter()
        .any(|a| a.alias_name().is_some_and(|n| n.starts_with("alias/aws/"))))
}

/// The share key's ARN, created (with its alias) on first use.
pub async fn share_key(client: &Client, own: &str, forensic: &str) -> Result<String, AwsError> {
    if let Ok(out) = client.describe_key().key_id(SHARE_ALIAS).send().await
        && let Some(arn) = out.key_metadata().and_then(|m| m.arn())
    {
        return Ok(arn.to_string());
    }
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Owner", "Effect": "Allow",
             "Principal": {"AWS": format!("arn:aws:iam::{own}:root")},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "ForensicAccountUse", "Effect": "Allow",
             "Principal": {"AWS": format!("arn:aws:iam::{forensic}:root")},
             "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant",
                        "kms:ReEncrypt*", "kms:GenerateDataKey*"],
             "Resource": "*"}
        ]
    });
    let created = client
        .create_key()
        .description("Squall: re-encrypts forensic snapshots so they can be shared")
        .policy(policy.to_string())
        .send()
        .await
        .map_err(|e| AwsError::call("kms:CreateKey", SHARE_ALIAS, e))?;
    let meta = created.key_metadata().ok_or_else(|| AwsError::Call {
        call: "kms:CreateKey",
        on: String::new(),
        message: "no key in the answer".into(),
    })?;
    client
        .create_alias()
        .alias_name(SHARE_ALIAS)
        .target_key_id(meta.key_id())
        .send()
        .await
        .map_err(|e| AwsError::call("kms:CreateAlias", SHARE_ALIAS, e))?;
    Ok(meta.arn().unwrap_or(meta.key_id()).to_string())
}

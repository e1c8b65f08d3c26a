//! Organizations: which accounts exist, so the inventory can reach each one.

use aws_sdk_organizations::Client;

use crate::AwsError;

/// A member account of the organization.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub status: String,
}

/// Every account of the organization (from the management account), sorted by id.
pub async fn accounts(client: &Client) -> Result<Vec<Account>, AwsError> {
    let mut out = Vec::new();
    let mut pages = client.list_accounts().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::call("organizations:ListAccounts", "", e))?;
        for a in page.accounts() {
            out.push(Account {
                id: a.id().unwrap_or_default().to_string(),
                name: a.name().unwrap_or_default().to_string(),
                status: a
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            });
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

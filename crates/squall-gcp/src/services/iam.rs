//! IAM: service accounts and their keys, read, disabled.

use google_cloud_gax::options::RequestOptionsBuilder;
pub use google_cloud_iam_admin_v1::client::Iam;
use google_cloud_iam_admin_v1::model::list_service_account_keys_request::KeyType;
use serde::{Deserialize, Serialize};

use crate::{Connection, GcpError};

/// The IAM client of a run.
pub async fn client(conn: &Connection) -> Result<Iam, GcpError> {
    conn.client(Iam::builder()).await
}

/// A service account, as far as the verbs care.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub email: String,
    pub unique_id: String,
    pub disabled: bool,
}

/// A key of a service account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// `projects/P/serviceAccounts/EMAIL/keys/ID`.
    pub name: String,
    pub id: String,
    pub disabled: bool,
    /// When it became valid: when it was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    pub user_managed: bool,
}

fn timestamp(t: Option<google_cloud_wkt::Timestamp>) -> Option<String> {
    let t = t?;
    let d = chrono::DateTime::from_timestamp(t.seconds(), 0)?;
    Some(d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

fn key(k: google_cloud_iam_admin_v1::model::ServiceAccountKey) -> Key {
    Key {
        id: k.name.rsplit('/').next().unwrap_or_default().to_string(),
        disabled: k.disabled,
        created: timestamp(k.valid_after_time),
        user_managed: k.key_type == KeyType::UserManaged,
        name: k.name,
    }
}

/// `iam.serviceAccounts.get`.
pub async fn account(c: &Iam, name: &str) -> Result<Account, GcpError> {
    let a = c
        .get_service_account()
        .set_name(name)
        .send()
        .await
        .map_err(|e| GcpError::call("iam.serviceAccounts.get", name, e))?;
    Ok(Account {
        email: a.email,
        unique_id: a.unique_id,
        disabled: a.disabled,
    })
}

/// `iam.serviceAccountKeys.list` of the user-managed keys: the ones someone can hold a file of.
pub async fn user_keys(c: &Iam, account: &str) -> Result<Vec<Key>, GcpError> {
    let r = c
        .list_service_account_keys()
        .set_name(account)
        .set_key_types([KeyType::UserManaged])
        .send()
        .await
        .map_err(|e| GcpError::call("iam.serviceAccountKeys.list", account, e))?;
    Ok(r.keys.into_iter().map(key).collect())
}

/// `iam.serviceAccountKeys.get`.
pub async fn get_key(c: &Iam, name: &str) -> Result<Key, GcpError> {
    let k = c
        .get_service_account_key()
        .set_name(name)
        .send()
        .await
        .map_err(|e| GcpError::call("iam.serviceAccountKeys.get", name, e))?;
    Ok(key(k))
}

/// `iam.serviceAccountKeys.get`; none when the key does not exist.
pub async fn key_if_any(c: &Iam, name: &str) -> Result<Option<Key>, GcpError> {
    match c.get_service_account_key().set_name(name).send().await {
        Ok(k) => Ok(Some(key(k))),
        Err(e) if crate::services::compute::is_not_found(&e) => Ok(None),
        Err(e) => Err(GcpError::call("iam.serviceAccountKeys.get", name, e)),
    }
}

/// `iam.serviceAccounts.disable`: the account can no longer authenticate.
pub async fn disable_account(c: &Iam, name: &str) -> Result<(), GcpError> {
    c.disable_service_account()
        .set_name(name)
        .with_idempotency(true)
        .send()
        .await
        .map_err(|e| GcpError::call("iam.serviceAccounts.disable", name, e))
}

/// `iam.serviceAccountKeys.disable`: the key stays (as evidence) but signs nothing Google
/// accepts.
pub async fn disable_key(c: &Iam, name: &str) -> Result<(), GcpError> {
    c.disable_service_account_key()
        .set_name(name)
        .with_idempotency(true)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| GcpError::call("iam.serviceAccountKeys.disable", name, e))
}

/// `iam.serviceAccountKeys.create`: a new key and its key file, which Google hands over once
/// and keeps no copy of. Returns the key's name and the file's bytes.
pub async fn create_key(c: &Iam, account: &str) -> Result<(String, Vec<u8>), GcpError> {
    use google_cloud_iam_admin_v1::model::{
        ServiceAccountKeyAlgorithm, ServiceAccountPrivateKeyType,
    };
    let k = c
        .create_service_account_key()
        .set_name(account)
        .set_private_key_type(ServiceAccountPrivateKeyType::TypeGoogleCredentialsFile)
        .set_key_algorithm(ServiceAccountKeyAlgorithm::KeyAlgRsa2048)
        .send()
        .await
        .map_err(|e| GcpError::call("iam.serviceAccountKeys.create", account, e))?;
    Ok((k.name, k.private_key_data.to_vec()))
}

/// `iam.serviceAccountKeys.delete`.
pub async fn delete_key(c: &Iam, name: &str) -> Result<(), GcpError> {
    c.delete_service_account_key()
        .set_name(name)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| GcpError::call("iam.serviceAccountKeys.delete", name, e))
}

/// `iam.serviceAccounts.list`: every service account of a project.
pub async fn accounts(c: &Iam, project: &str) -> Result<Vec<Account>, GcpError> {
    use google_cloud_gax::paginator::ItemPaginator;
    let parent = format!("projects/{project}");
    let mut items = c.list_service_accounts().set_name(&parent).by_item();
    let mut out = Vec::new();
    while let Some(a) = items.next().await {
        let a = a.map_err(|e| GcpError::call("iam.serviceAccounts.list", &parent, e))?;
        out.push(Account {
            email: a.email,
            unique_id: a.unique_id,
            disabled: a.disabled,
        });
    }
    Ok(out)
}

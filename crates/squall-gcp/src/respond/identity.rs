//! Stolen Google Cloud credentials: a service account disabled with its user-managed keys, or
//! one key disabled. Keys are disabled, never deleted: the key (its id, when it was made)
//! stays as evidence, and a disabled key signs nothing Google accepts.

use std::collections::BTreeMap;

use google_cloud_iam_admin_v1::client::Iam;
use serde_json::{Value, json};
use squall_core::respond::{Action, ActionError, Plan};

use super::err;
use crate::GcpError;
use crate::services::iam::{self, Key};

/// A service account's name as the IAM API takes it: `projects/P/serviceAccounts/EMAIL`, with
/// `-` for the project when the email does not name it (Google finds the account by email).
pub fn account_name(arg: &str) -> Result<String, GcpError> {
    let bad = |why: &str| {
        GcpError::Invalid(format!(
            "service account {arg:?}: {why} (help: NAME@PROJECT.iam.gserviceaccount.com or projects/P/serviceAccounts/EMAIL)"
        ))
    };
    let email = match arg.split('/').collect::<Vec<_>>().as_slice() {
        ["projects", _, "serviceAccounts", email] => *email,
        [email] => *email,
        _ => return Err(bad("not a service account")),
    };
    let (local, domain) = email.split_once('@').ok_or_else(|| bad("not an email"))?;
    let fine = |s: &str, extra: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(c))
    };
    if !fine(local, "-_") || !fine(domain, "-.") {
        return Err(bad("not a service account's email"));
    }
    let project = domain
        .strip_suffix(".iam.gserviceaccount.com")
        .filter(|p| crate::request::valid_project(p))
        .unwrap_or("-");
    Ok(format!("projects/{project}/serviceAccounts/{email}"))
}

/// A key's name: `projects/P/serviceAccounts/EMAIL/keys/ID`.
pub fn key_name(arg: &str) -> Result<String, GcpError> {
    let bad = |why: &str| {
        GcpError::Invalid(format!(
            "service account key {arg:?}: {why} (help: projects/P/serviceAccounts/EMAIL/keys/KEY_ID)"
        ))
    };
    let (account, id) = arg
        .rsplit_once("/keys/")
        .ok_or_else(|| bad("not a key's name"))?;
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad("the key id is not hex"));
    }
    Ok(format!("{}/keys/{id}", account_name(account)?))
}

fn key_states(keys: &[Key]) -> BTreeMap<String, Value> {
    keys.iter()
        .map(|k| {
            (
                k.id.clone(),
                json!({"disabled": k.disabled, "created": k.created}),
            )
        })
        .collect()
}

/// Disable a service account and every user-managed key of it: whatever holds its
/// credentials (a key file, a token minted from one, a workload running as it) stops working
/// with Google Cloud.
pub struct ContainServiceAccount {
    pub iam: Iam,
    /// `projects/P/serviceAccounts/EMAIL`.
    pub name: String,
}

impl ContainServiceAccount {
    async fn state(&self) -> Result<Value, ActionError> {
        let a = iam::account(&self.iam, &self.name).await.map_err(err)?;
        let keys = iam::user_keys(&self.iam, &self.name).await.map_err(err)?;
        Ok(json!({
            "email": a.email,
            "unique_id": a.unique_id,
            "disabled": a.disabled,
            "user_keys": key_states(&keys),
        }))
    }
}

fn account_plan(name: &str, before: Value) -> Plan {
    let keys: BTreeMap<String, Value> = before["user_keys"]
        .as_object()
        .map(|k| {
            k.keys()
                .map(|id| (id.clone(), json!({"disabled": true})))
                .collect()
        })
        .unwrap_or_default();
    let mut p = Plan::new(
        "disable-service-account",
        name,
        before,
        json!({"disabled": true, "user_keys": keys}),
        true,
    );
    p.notes.push(
        "everything running as this account (instances, functions, pipelines) loses access to Google Cloud: see `squall scope` for what uses it".to_string(),
    );
    p
}

impl Action for ContainServiceAccount {
    fn resource(&self) -> String {
        self.name.clone()
    }

    fn action(&self) -> &'static str {
        "disable-service-account"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        Ok(account_plan(&self.name, self.state().await?))
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        // The keys first: should the account's own step fail, the key files are dead already.
        let keys = iam::user_keys(&self.iam, &self.name).await.map_err(err)?;
        let mut disabled = Vec::new();
        for k in keys.iter().filter(|k| !k.disabled) {
            iam::disable_key(&self.iam, &k.name).await.map_err(err)?;
            disabled.push(k.id.clone());
        }
        let a = iam::account(&self.iam, &self.name).await.map_err(err)?;
        if !a.disabled {
            iam::disable_account(&self.iam, &self.name)
                .await
                .map_err(err)?;
        }
        Ok(json!({"keys_disabled": disabled}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.state().await
    }
}

/// Disable one service-account key (a leaked key file).
pub struct DisableKey {
    pub iam: Iam,
    /// `projects/P/serviceAccounts/EMAIL/keys/ID`.
    pub name: String,
}

impl Action for DisableKey {
    fn resource(&self) -> String {
        self.name.clone()
    }

    fn action(&self) -> &'static str {
        "disable-sa-key"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let k = iam::get_key(&self.iam, &self.name).await.map_err(err)?;
        let mut p = Plan::new(
            self.action(),
            &self.name,
            json!({"disabled": k.disabled, "created": k.created, "user_managed": k.user_managed}),
            json!({"disabled": true}),
            true,
        );
        if !k.user_managed {
            p.notes.push(
                "a system-managed key: Google holds it; the leak is more likely a token or another key".to_string(),
            );
        }
        Ok(p)
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        iam::disable_key(&self.iam, &self.name).await.map_err(err)?;
        Ok(Value::Null)
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let k = iam::get_key(&self.iam, &self.name).await.map_err(err)?;
        Ok(json!({"disabled": k.disabled, "created": k.created, "user_managed": k.user_managed}))
    }
}

/// Delete a user-managed key the attacker made, once what identifies it (its id, when it was
/// made, whether it was disabled) is in the plan: disabling stops it signing; deleting removes
/// it from the account for good.
pub struct DeleteKey {
    pub iam: Iam,
    /// `projects/P/serviceAccounts/EMAIL/keys/ID`.
    pub name: String,
}

impl DeleteKey {
    async fn state(&self) -> Result<Value, ActionError> {
        let k = iam::key_if_any(&self.iam, &self.name).await.map_err(err)?;
        Ok(match k {
            None => json!({"exists": false}),
            Some(k) => json!({"exists": true, "disabled": k.disabled, "created": k.created,
                "user_managed": k.user_managed}),
        })
    }
}

impl Action for DeleteKey {
    fn resource(&self) -> String {
        self.name.clone()
    }

    fn action(&self) -> &'static str {
        "delete-sa-key"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let before = self.state().await?;
        if before["exists"] == true && before["user_managed"] != true {
            return Err(
                format!("{} is system-managed: Google deletes it itself", self.name).into(),
            );
        }
        // An enabled key the attacker made is deleted all the same: that cuts it off too.
        let signs = before["exists"] == true && before["disabled"] != true;
        let mut p = Plan::new(
            self.action(),
            &self.name,
            before,
            json!({"exists": false}),
            signs,
        );
        p.notes.push(
            "Google keeps no copy of a key's private part: what identifies it (id, creation time) is what the plan records".to_string(),
        );
        Ok(p)
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        if self.state().await? != plan.before {
            return Err(format!("{} changed since the plan: plan again", self.name).into());
        }
        iam::delete_key(&self.iam, &self.name).await.map_err(err)?;
        Ok(Value::Null)
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.state().await
    }
}

/// Rotate a leaked key: a new key for its service account — its key file written to a file
/// only the analyst can read, never printed or recorded — then the old key disabled.
pub struct RotateKey {
    pub iam: Iam,
    /// `projects/P/serviceAccounts/EMAIL/keys/ID`.
    pub name: String,
    pub secret_file: std::path::PathBuf,
}

impl RotateKey {
    fn account(&self) -> &str {
        self.name.rsplit_once("/keys/").map_or("", |(a, _)| a)
    }

    async fn state(&self) -> Result<Value, ActionError> {
        let keys = iam::user_keys(&self.iam, self.account())
            .await
            .map_err(err)?;
        Ok(rotation_state(&self.name, &keys))
    }
}

/// Where the rotation of `key` stands: the old key disabled or not, and whether another
/// enabled user-managed key made no earlier than it exists (its replacement).
fn rotation_state(key: &str, keys: &[Key]) -> Value {
    let old = keys.iter().find(|k| k.name == key);
    let created = old.and_then(|k| k.created.clone()).unwrap_or_default();
    let replaced = keys
        .iter()
        .any(|k| k.name != key && !k.disabled && k.created.clone().unwrap_or_default() >= created);
    json!({
        "old_key_disabled": old.map(|k| k.disabled),
        "replacement_enabled": replaced,
        "user_keys": keys.len(),
    })
}

/// Google's limit of user-managed keys per service account.
const KEY_LIMIT: u64 = 10;

impl Action for RotateKey {
    fn resource(&self) -> String {
        self.name.clone()
    }

    fn action(&self) -> &'static str {
        "rotate-sa-key"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let before = self.state().await?;
        if before["old_key_disabled"].is_null() {
            return Err(format!("{} is not a user-managed key of its account", self.name).into());
        }
        let mut p = Plan::new(
            self.action(),
            &self.name,
            before,
            json!({"old_key_disabled": true, "replacement_enabled": true}),
            true,
        );
        if !p.already_done {
            if p.before["user_keys"].as_u64() >= Some(KEY_LIMIT) {
                return Err(format!(
                    "{} already has {KEY_LIMIT} user-managed keys (Google's limit): delete one not in use first",
                    self.account()
                )
                .into());
            }
            squall_core::files::ready_for_new(&self.secret_file)?;
            p.notes.push(format!(
                "the new key file goes to {} (mode 0600); it is never printed or recorded",
                self.secret_file.display()
            ));
        }
        Ok(p)
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        use std::io::Write;
        // The file is made before the key: a key file with nowhere to go must never exist.
        let shown = self.secret_file.display();
        let mut file = squall_core::files::new_private_file(&self.secret_file)
            .map_err(|e| format!("creating {shown}: {e}; no key was made"))?;
        let (new, data) = iam::create_key(&self.iam, self.account())
            .await
            .map_err(err)?;
        let written = file.write_all(&data).and_then(|()| file.sync_all());
        if let Err(e) = written {
            // The key file is lost: take the new key back, and leave the old one as it was.
            let undone = iam::delete_key(&self.iam, &new).await;
            let _ = std::fs::remove_file(&self.secret_file);
            return Err(match undone {
                Ok(()) => format!("writing {shown}: {e}; the new key was deleted again and {} left as it was", self.name),
                Err(d) => format!("writing {shown}: {e}; deleting the new key {new} failed too ({d}): delete it by hand"),
            }
            .into());
        }
        iam::disable_key(&self.iam, &self.name).await.map_err(err)?;
        Ok(json!({"new_key": new, "secret_file": shown.to_string()}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.state().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_named_with_their_project_when_the_email_says_it() {
        assert_eq!(
            account_name("app@acme-prod.iam.gserviceaccount.com").unwrap(),
            "projects/acme-prod/serviceAccounts/app@acme-prod.iam.gserviceaccount.com"
        );
        assert_eq!(
            account_name("123-compute@developer.gserviceaccount.com").unwrap(),
            "projects/-/serviceAccounts/123-compute@developer.gserviceaccount.com"
        );
        assert_eq!(
            account_name("projects/x/serviceAccounts/app@acme-prod.iam.gserviceaccount.com")
                .unwrap(),
            "projects/acme-prod/serviceAccounts/app@acme-prod.iam.gserviceaccount.com"
        );
        for bad in [
            "app",
            "a/b@c",
            "App@x.iam.gserviceaccount.com",
            "a@b/../c",
            "a@b\u{1b}",
        ] {
            assert!(account_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_need_a_hex_id_under_a_valid_account() {
        let k = "projects/-/serviceAccounts/app@acme-prod.iam.gserviceaccount.com/keys/0a1b2c";
        assert_eq!(
            key_name(k).unwrap(),
            "projects/acme-prod/serviceAccounts/app@acme-prod.iam.gserviceaccount.com/keys/0a1b2c"
        );
        assert!(
            key_name("projects/-/serviceAccounts/app@x.iam.gserviceaccount.com/keys/../x").is_err()
        );
        assert!(key_name("0a1b2c").is_err());
    }

    #[test]
    fn disabling_an_account_expects_every_user_key_disabled_too() {
        let before = json!({"disabled": false, "user_keys": {"k1": {"disabled": false}, "k2": {"disabled": true}}});
        let p = account_plan("projects/-/serviceAccounts/a@b.c", before);
        assert_eq!(
            p.after,
            json!({"disabled": true, "user_keys": {"k1": {"disabled": true}, "k2": {"disabled": true}}})
        );
        assert!(!p.already_done && p.visible_to_attacker);
        let done = json!({"disabled": true, "user_keys": {"k1": {"disabled": true}}});
        assert!(account_plan("n", done).already_done);
    }
}

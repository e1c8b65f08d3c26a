//! Stolen credentials: access keys, IAM users, IAM roles.
//!
//! What an attacker takes most often, and carries furthest, is an identity's credentials. These
//! verbs make what the attacker holds stop working while the evidence stays: keys are disabled,
//! never deleted; SSH public keys are recorded before they go; and sessions issued before the
//! cut-off are denied by the revocation policy, the only way IAM has to end temporary
//! credentials already handed out.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use squall_core::respond::{Action, ActionError, Plan};

use super::{Clients, err, plan};
use crate::services::iam::{self, Principal};

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

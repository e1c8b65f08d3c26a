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

use super::{Clients, err};
use crate::services::iam::{self, Principal};

/// Deactivate an access key; its user keeps the key, disabled, as evidence.
pub struct DeactivateKey {
    pub c: Clients,
    pub key: String,
}

impl DeactivateKey {
    async fn state(&self, user: &str) -> Result<Value, ActionError> {
        let keys = iam::user_keys(&self.c.iam, user).await.map_err(err)?;
        key_state(user, &self.key, &keys)
    }
}

/// The key's status among its user's keys (id, status, created) as IAM listed them; a key that
/// is not there is an error, not a key to skip.
fn key_state(user: &str, key: &str, keys: &[(String, String, i64)]) -> Result<Value, ActionError> {
    let status = keys
        .iter()
        .find(|k| k.0 == key)
        .map(|k| k.1.clone())
        .ok_or_else(|| format!("iam:ListAccessKeys on {user}: key {key} not found"))?;
    Ok(json!({"user": user, "status": status}))
}

impl Action for DeactivateKey {
    fn resource(&self) -> String {
        self.key.clone()
    }

    fn action(&self) -> &'static str {
        "deactivate-access-key"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let user = iam::key_user(&self.c.iam, &self.key).await.map_err(err)?;
        let before = self.state(&user).await?;
        Ok(deactivation_plan(&self.key, &user, before))
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

/// The plan to deactivate `key` of `user`, whose status `before` shows.
fn deactivation_plan(key: &str, user: &str, before: Value) -> Plan {
    let after = json!({"user": user, "status": "Inactive"});
    Plan::new("deactivate-access-key", key, before, after, true)
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
        let state = user_state(keys, login, &ssh, revoked.clone());
        Ok((state, ssh, revoked))
    }
}

/// What containing a user looks at, from its keys (id, status, created), whether it has a
/// console password, its SSH keys (id, body) and the cut-off before which its sessions are
/// denied, if any.
fn user_state(
    keys: Vec<(String, String, i64)>,
    login: bool,
    ssh: &[(String, String)],
    revoked_before: Option<String>,
) -> Value {
    let keys: BTreeMap<String, String> = keys.into_iter().map(|k| (k.0, k.1)).collect();
    json!({
        "access_keys": keys,
        "console_login": login,
        "ssh_keys": ssh.iter().map(|k| &k.0).collect::<Vec<_>>(),
        "sessions_revoked": revoked_before.is_some(),
        "sessions_revoked_before": revoked_before,
    })
}

impl Action for ContainUser {
    fn resource(&self) -> String {
        self.user.clone()
    }

    fn action(&self) -> &'static str {
        "contain-user"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let (state, ssh, revoked) = self.state().await?;
        Ok(user_containment_plan(
            &self.user, &self.now, state, &ssh, revoked,
        ))
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        let c = &self.c.iam;
        // Sessions first: from this point on, whatever the attacker already holds is dead,
        // even if a later step fails. A cut-off already in force moves forward to the plan's.
        let cut_off = plan.after["sessions_revoked_before"]
            .as_str()
            .unwrap_or(&self.now);
        if plan.before["sessions_revoked_before"] != plan.after["sessions_revoked_before"] {
            iam::revoke_sessions(c, Principal::User(&self.user), cut_off)
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
        Ok(json!({"sessions_revoked_before": cut_off}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        Ok(self.state().await?.0)
    }
}

/// The plan to contain a user in `state` (as [`user_state`] reads it): every key it has
/// inactive, no console login, no SSH keys, sessions issued before `now` denied (a cut-off
/// already in force moves forward, as a role's does). The SSH keys' bodies go into `before`,
/// so the record keeps what was removed.
fn user_containment_plan(
    user: &str,
    now: &str,
    state: Value,
    ssh: &[(String, String)],
    revoked: Option<String>,
) -> Plan {
    let inactive: BTreeMap<&String, &str> = state["access_keys"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| (k, "Inactive"))
        .collect();
    let cut_off = cut_off_at(now, revoked.as_deref());
    let after = json!({
        "access_keys": inactive,
        "console_login": false,
        "ssh_keys": [],
        "sessions_revoked": true,
        "sessions_revoked_before": cut_off,
    });
    let mut before = state;
    before["ssh_key_bodies"] = json!(ssh);
    let mut p = Plan::new("contain-user", user, before, after, true);
    let moved = revoked
        .filter(|t| *t != cut_off)
        .map(|t| format!(" (the cut-off moves from {t})"))
        .unwrap_or_default();
    p.notes.push(format!(
        "sessions issued before {cut_off} are denied{moved}; the console password cannot be restored, only reset"
    ));
    p
}

/// Contain an IAM role: sessions issued before now are denied (stolen temporary credentials
/// die); the role keeps working for new, legitimate sessions. A re-run moves the cut-off
/// forward to its own now: sessions minted since the last run (the attacker's too) die as well.
pub struct ContainRole {
    pub c: Clients,
    pub role: String,
    pub now: String,
}

impl Action for ContainRole {
    fn resource(&self) -> String {
        self.role.clone()
    }

    fn action(&self) -> &'static str {
        "contain-role"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let revoked = iam::revoked_before(&self.c.iam, Principal::Role(&self.role))
            .await
            .map_err(err)?;
        Ok(role_containment_plan(&self.role, &self.now, revoked))
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        let cut_off = plan.after["sessions_revoked_before"]
            .as_str()
            .unwrap_or(&self.now);
        iam::revoke_sessions(&self.c.iam, Principal::Role(&self.role), cut_off)
            .await
            .map_err(err)?;
        Ok(json!({"sessions_revoked_before": cut_off}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let revoked = iam::revoked_before(&self.c.iam, Principal::Role(&self.role))
            .await
            .map_err(err)?;
        Ok(role_sessions(revoked))
    }
}

/// A role's sessions as its revocation policy leaves them: the cut-off, if there is one.
fn role_sessions(revoked_before: Option<String>) -> Value {
    json!({"sessions_revoked": revoked_before.is_some(), "sessions_revoked_before": revoked_before})
}

/// The cut-off a containment at `now` leaves in force: `now`, unless the one in force already
/// is later (a cut-off never moves back, which would revive sessions already denied).
fn cut_off_at(now: &str, in_force: Option<&str>) -> String {
    let time = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    match in_force {
        Some(t) if time(t).is_some_and(|t| time(now).is_some_and(|n| t >= n)) => t.to_string(),
        _ => now.to_string(),
    }
}

/// The plan to contain a role whose sessions before `revoked_before` are denied already (or
/// none are): the cut-off moved forward to `now`, so every session issued until this run is
/// denied, those minted since an earlier containment included. Done only when the cut-off in
/// force is `now` or later.
fn role_containment_plan(role: &str, now: &str, revoked_before: Option<String>) -> Plan {
    let cut_off = cut_off_at(now, revoked_before.as_deref());
    let earlier = revoked_before.clone().filter(|t| *t != cut_off);
    let mut p = Plan::new(
        "contain-role",
        role,
        role_sessions(revoked_before),
        json!({"sessions_revoked": true, "sessions_revoked_before": cut_off}),
        true,
    );
    p.notes.push(match earlier {
        Some(t) => format!(
            "the cut-off moves from {t} to {cut_off}: every session of this role issued before {cut_off} stops working, including those minted since {t} and legitimate workloads' (they re-authenticate)"
        ),
        None => format!(
            "every session of this role issued before {cut_off} stops working, including legitimate workloads' (they re-authenticate)"
        ),
    });
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, status: &str, created: i64) -> (String, String, i64) {
        (id.to_string(), status.to_string(), created)
    }

    #[test]
    fn deactivating_a_key_its_user_no_longer_lists_is_refused() {
        let keys = [key("AKIAOTHER", "Active", 1)];
        let e = key_state("alice", "AKIAGONE", &keys).unwrap_err();
        assert_eq!(
            e.to_string(),
            "iam:ListAccessKeys on alice: key AKIAGONE not found"
        );
    }

    #[test]
    fn deactivating_a_key_is_done_once_it_is_inactive() {
        let active = [key("AKIA1", "Active", 1), key("AKIA2", "Inactive", 2)];
        let before = key_state("alice", "AKIA1", &active).unwrap();
        assert_eq!(before, json!({"user": "alice", "status": "Active"}));
        let p = deactivation_plan("AKIA1", "alice", before);
        assert_eq!(
            (p.action.as_str(), p.resource.as_str()),
            ("deactivate-access-key", "AKIA1")
        );
        assert_eq!(p.after, json!({"user": "alice", "status": "Inactive"}));
        assert!(!p.already_done);

        let inactive = [key("AKIA1", "Inactive", 1)];
        let p = deactivation_plan(
            "AKIA1",
            "alice",
            key_state("alice", "AKIA1", &inactive).unwrap(),
        );
        assert!(p.already_done);
    }

    #[test]
    fn containing_a_user_turns_off_every_key_login_and_ssh_key_and_records_the_bodies() {
        let ssh = [("APKA1".to_string(), "ssh-ed25519 AAAA attacker".to_string())];
        let keys = vec![key("AKIA1", "Active", 1), key("AKIA2", "Inactive", 2)];
        let state = user_state(keys, true, &ssh, None);
        let p = user_containment_plan("alice", "2024-05-01T10:00:00Z", state, &ssh, None);
        assert_eq!(p.action, "contain-user");
        assert_eq!(
            p.before,
            json!({
                "access_keys": {"AKIA1": "Active", "AKIA2": "Inactive"},
                "console_login": true,
                "ssh_keys": ["APKA1"],
                "sessions_revoked": false,
                "sessions_revoked_before": null,
                "ssh_key_bodies": [["APKA1", "ssh-ed25519 AAAA attacker"]],
            })
        );
        assert_eq!(
            p.after,
            json!({
                "access_keys": {"AKIA1": "Inactive", "AKIA2": "Inactive"},
                "console_login": false,
                "ssh_keys": [],
                "sessions_revoked": true,
                "sessions_revoked_before": "2024-05-01T10:00:00Z",
            })
        );
        assert!(!p.already_done);
        assert_eq!(
            p.notes,
            [
                "sessions issued before 2024-05-01T10:00:00Z are denied; the console password cannot be restored, only reset"
            ]
        );
    }

    #[test]
    fn a_user_is_contained_only_when_nothing_is_left_open() {
        // A cut-off at or past now is in force; an earlier one moves forward (below).
        let earlier = Some("2024-05-01T10:00:00Z".to_string());
        let no_ssh: [(String, String); 0] = [];
        let contained = |keys, login, ssh: &[(String, String)], revoked: &Option<String>| {
            let state = user_state(keys, login, ssh, revoked.clone());
            user_containment_plan("alice", "2024-05-01T10:00:00Z", state, ssh, revoked.clone())
                .already_done
        };
        let inactive = || vec![key("AKIA1", "Inactive", 1)];
        assert!(contained(inactive(), false, &no_ssh, &earlier));
        // A user with no keys at all is contained too: there is nothing to turn off.
        assert!(contained(Vec::new(), false, &no_ssh, &earlier));

        let one_ssh = [("APKA1".to_string(), "ssh-rsa AAAA".to_string())];
        assert!(!contained(
            vec![key("AKIA1", "Active", 1)],
            false,
            &no_ssh,
            &earlier
        ));
        assert!(!contained(inactive(), true, &no_ssh, &earlier));
        assert!(!contained(inactive(), false, &one_ssh, &earlier));
        assert!(!contained(inactive(), false, &no_ssh, &None));
    }

    #[test]
    fn containing_a_user_again_moves_the_cut_off_forward() {
        // Sessions minted after the first containment (from a key turned back on, a console
        // login) must die too; everything else already done stays as it is.
        let no_ssh: [(String, String); 0] = [];
        let earlier = Some("2024-05-01T10:00:00Z".to_string());
        let state = user_state(
            vec![key("AKIA1", "Inactive", 1)],
            false,
            &no_ssh,
            earlier.clone(),
        );
        let p = user_containment_plan("alice", "2024-05-01T12:00:00Z", state, &no_ssh, earlier);
        assert!(!p.already_done);
        assert_eq!(p.before["sessions_revoked_before"], "2024-05-01T10:00:00Z");
        assert_eq!(p.after["sessions_revoked_before"], "2024-05-01T12:00:00Z");
        assert_eq!(
            p.notes,
            [
                "sessions issued before 2024-05-01T12:00:00Z are denied (the cut-off moves from 2024-05-01T10:00:00Z); the console password cannot be restored, only reset"
            ]
        );
    }

    #[test]
    fn containing_a_role_denies_every_session_before_now() {
        let p = role_containment_plan("web", "2024-05-01T10:00:00Z", None);
        assert_eq!(
            p.before,
            json!({"sessions_revoked": false, "sessions_revoked_before": null})
        );
        assert_eq!(
            p.after,
            json!({"sessions_revoked": true, "sessions_revoked_before": "2024-05-01T10:00:00Z"})
        );
        assert!(!p.already_done);
        assert_eq!(
            p.notes,
            [
                "every session of this role issued before 2024-05-01T10:00:00Z stops working, including legitimate workloads' (they re-authenticate)"
            ]
        );
    }

    #[test]
    fn containing_a_role_again_moves_the_cut_off_forward_to_now() {
        // Sessions minted after the first containment (the attacker re-assumed the role) must
        // die too: an earlier cut-off is not the containment asked for now.
        let p = role_containment_plan(
            "web",
            "2024-05-01T12:00:00Z",
            Some("2024-05-01T10:00:00Z".into()),
        );
        assert_eq!(p.before["sessions_revoked_before"], "2024-05-01T10:00:00Z");
        assert_eq!(p.after["sessions_revoked_before"], "2024-05-01T12:00:00Z");
        assert!(!p.already_done);
        assert_eq!(
            p.notes,
            [
                "the cut-off moves from 2024-05-01T10:00:00Z to 2024-05-01T12:00:00Z: every session of this role issued before 2024-05-01T12:00:00Z stops working, including those minted since 2024-05-01T10:00:00Z and legitimate workloads' (they re-authenticate)"
            ]
        );
    }

    #[test]
    fn a_role_cut_off_never_moves_back() {
        // Already at or past now (a run in the same second, a clock ahead): nothing to change.
        for in_force in ["2024-05-01T12:00:00Z", "2024-05-01T13:00:00Z"] {
            let p = role_containment_plan("web", "2024-05-01T12:00:00Z", Some(in_force.into()));
            assert_eq!(p.after["sessions_revoked_before"], in_force);
            assert!(p.already_done, "{in_force}");
        }
        // A cut-off that cannot be read is replaced, not trusted.
        assert_eq!(
            cut_off_at("2024-05-01T12:00:00Z", Some("soon")),
            "2024-05-01T12:00:00Z"
        );
    }
}

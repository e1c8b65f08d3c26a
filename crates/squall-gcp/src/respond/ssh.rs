//! SSH keys in metadata: the way into a Linux instance that IAM does not see. An attacker
//! with `compute.instances.setMetadata` (or the project's) adds a line and logs in; the guest
//! agent writes it into `authorized_keys`. Containment removes the lines (each one's body kept
//! in the plan, as evidence) and blocks the project's keys on the instance.

use serde_json::{Value, json};
use squall_core::respond::{Action, ActionError, Plan};

use super::err;
use crate::request::InstanceRef;
use crate::services::compute::{self, Compute, Metadata};

/// The metadata keys that hold SSH keys: today's and the legacy one the guest agent still
/// reads.
const SSH_KEYS: [&str; 2] = ["ssh-keys", "sshKeys"];
const BLOCK: &str = "block-project-ssh-keys";

/// Every key line (`user:ssh-ed25519 AAAA... comment`) in the metadata.
fn lines(m: &Metadata) -> Vec<String> {
    m.items
        .iter()
        .filter(|(k, _)| SSH_KEYS.contains(&k.as_str()))
        .flat_map(|(_, v)| v.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether a line goes: every line, or those of the users named.
fn goes(line: &str, users: &[String]) -> bool {
    users.is_empty()
        || line
            .split_once(':')
            .is_some_and(|(u, _)| users.iter().any(|x| x == u))
}

/// The items without the lines that go (an SSH item left empty is dropped), and with
/// `block-project-ssh-keys` on when `block`.
fn stripped(m: &Metadata, users: &[String], block: bool) -> Vec<(String, String)> {
    let mut items: Vec<(String, String)> = Vec::new();
    for (k, v) in &m.items {
        if SSH_KEYS.contains(&k.as_str()) {
            let kept: Vec<&str> = v
                .lines()
                .filter(|l| !l.trim().is_empty() && !goes(l.trim(), users))
                .collect();
            if !kept.is_empty() {
                items.push((k.clone(), kept.join("\n")));
            }
        } else if !(block && k == BLOCK) {
            items.push((k.clone(), v.clone()));
        }
    }
    if block {
        items.push((BLOCK.to_string(), "TRUE".to_string()));
    }
    items
}

fn blocked(m: &Metadata) -> bool {
    m.get(BLOCK).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn os_login_note(m: &Metadata, p: &mut Plan) {
    if m.get("enable-oslogin")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        p.notes.push(
            "OS Login is on here: metadata keys are ignored; OS Login keys belong to the user's account (contain the account)".to_string(),
        );
    }
}

fn kept(m: &Metadata, users: &[String]) -> Vec<String> {
    lines(m).into_iter().filter(|l| !goes(l, users)).collect()
}

/// Remove an instance's metadata SSH keys (all, or the named users') and block the project's
/// keys on it.
pub struct RemoveSshKeys {
    pub c: Compute,
    pub at: InstanceRef,
    /// Only these users' lines; every line when empty.
    pub users: Vec<String>,
}

fn instance_state(m: &Metadata) -> Value {
    json!({"ssh_keys": lines(m), "block_project_ssh_keys": blocked(m)})
}

impl Action for RemoveSshKeys {
    fn resource(&self) -> String {
        self.at.to_string()
    }

    fn action(&self) -> &'static str {
        "remove-ssh-keys"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let d = compute::instance(&self.c, &self.at).await.map_err(err)?;
        let m = &d.metadata;
        let mut p = Plan::new(
            self.action(),
            &self.at.to_string(),
            instance_state(m),
            json!({"ssh_keys": kept(m, &self.users), "block_project_ssh_keys": true}),
            true,
        );
        os_login_note(m, &mut p);
        p.notes.push(
            "keys already written into a user's authorized_keys on the disk stay there until the guest agent removes them (it does for keys it added): acquire the disk to see them".to_string(),
        );
        Ok(p)
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let d = compute::instance(&self.c, &self.at).await.map_err(err)?;
        let m = d.metadata;
        let items = stripped(&m, &self.users, true);
        compute::set_instance_metadata(&self.c, &self.at, &items, m.fingerprint.clone())
            .await
            .map_err(err)?;
        Ok(Value::Null)
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let d = compute::instance(&self.c, &self.at).await.map_err(err)?;
        Ok(instance_state(&d.metadata))
    }
}

/// Remove a project's metadata SSH keys (all, or the named users'): every instance that does
/// not block them stops accepting them.
pub struct RemoveProjectSshKeys {
    pub c: Compute,
    pub project: String,
    pub users: Vec<String>,
}

impl Action for RemoveProjectSshKeys {
    fn resource(&self) -> String {
        format!("projects/{}", self.project)
    }

    fn action(&self) -> &'static str {
        "remove-project-ssh-keys"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let m = compute::project_metadata(&self.c, &self.project)
            .await
            .map_err(err)?;
        let mut p = Plan::new(
            self.action(),
            &self.resource(),
            json!({"ssh_keys": lines(&m)}),
            json!({"ssh_keys": kept(&m, &self.users)}),
            true,
        );
        os_login_note(&m, &mut p);
        p.notes.push(
            "every instance of the project that does not block project keys stops accepting these, the team's own included".to_string(),
        );
        Ok(p)
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let m = compute::project_metadata(&self.c, &self.project)
            .await
            .map_err(err)?;
        let items = stripped(&m, &self.users, false);
        compute::set_project_metadata(&self.c, &self.project, &items, m.fingerprint.clone())
            .await
            .map_err(err)?;
        Ok(Value::Null)
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let m = compute::project_metadata(&self.c, &self.project)
            .await
            .map_err(err)?;
        Ok(json!({"ssh_keys": lines(&m)}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(items: &[(&str, &str)]) -> Metadata {
        Metadata {
            items: items
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            fingerprint: None,
        }
    }

    #[test]
    fn only_the_named_users_lines_go_and_other_items_stay() {
        let m = meta(&[
            ("startup-script", "echo hi"),
            (
                "ssh-keys",
                "alice:ssh-ed25519 AAA alice\nevil:ssh-rsa BBB x\n\n",
            ),
            ("sshKeys", "evil:ssh-rsa CCC legacy"),
        ]);
        assert_eq!(lines(&m).len(), 3);
        let items = stripped(&m, &["evil".to_string()], true);
        assert_eq!(
            items,
            [
                ("startup-script".to_string(), "echo hi".to_string()),
                (
                    "ssh-keys".to_string(),
                    "alice:ssh-ed25519 AAA alice".to_string()
                ),
                (BLOCK.to_string(), "TRUE".to_string()),
            ]
        );
        assert_eq!(
            kept(&m, &["evil".to_string()]),
            ["alice:ssh-ed25519 AAA alice"]
        );
        // No users named: every line goes.
        assert_eq!(
            stripped(&m, &[], false),
            [("startup-script".to_string(), "echo hi".to_string())]
        );
    }

    #[test]
    fn a_user_name_is_matched_whole_not_as_a_prefix() {
        assert!(goes("evil:ssh-rsa X", &["evil".to_string()]));
        assert!(!goes("evil2:ssh-rsa X", &["evil".to_string()]));
        assert!(!goes("no-colon-line", &["evil".to_string()]));
    }

    #[test]
    fn blocking_is_read_case_blind_and_set_once() {
        let m = meta(&[(BLOCK, "true")]);
        assert!(blocked(&m));
        let items = stripped(&m, &[], true);
        assert_eq!(items, [(BLOCK.to_string(), "TRUE".to_string())]);
    }
}

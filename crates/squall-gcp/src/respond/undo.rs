//! What the attacker changed, undone: a snapshot, image or disk shared out of the project (to their
//! own account, or to everyone) no longer shared with them; a firewall rule they created
//! deleted, once its whole description is in the plan; a role they granted taken back; a log
//! exclusion they made deleted, a sink they disabled turned back on.

use serde_json::{Value, json};
use squall_core::respond::{Action, ActionError, Plan};

use super::err;
use super::recovery::read_rule;
use crate::services::compute::{self, Compute, Shareable};
use crate::services::logging;
use crate::services::resourcemanager::{self as rm, ResourceManager};

/// Delete a VPC firewall rule the attacker created, its whole description (ranges, protocols,
/// targets, every other filter, logging) recorded in the plan first; a rule changed since the
/// plan is left alone. Squall's own isolation rules are refused (`release` removes them).
pub struct DeleteRule {
    pub c: Compute,
    pub project: String,
    pub name: String,
}

impl DeleteRule {
    fn path(&self) -> String {
        format!("projects/{}/global/firewalls/{}", self.project, self.name)
    }
}

impl Action for DeleteRule {
    fn resource(&self) -> String {
        self.path()
    }

    fn action(&self) -> &'static str {
        "delete-firewall-rule"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let before = read_rule(&self.c, &self.project, &self.name).await?;
        // Isolation writes only deny rules under this prefix: an allow rule named like one is
        // someone else's (perhaps the attacker's, named to be left alone), and is deleted.
        if self.name.starts_with("squall-iso-") && before["rule"]["action"] != "allow" {
            return Err(format!(
                "{} is an isolation rule of Squall's: `squall release gcp instance` removes it with the rest of the isolation",
                self.path()
            )
            .into());
        }
        let visible = before["exists"] == true;
        Ok(Plan::new(
            self.action(),
            &self.path(),
            before,
            json!({"exists": false}),
            visible,
        ))
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        if read_rule(&self.c, &self.project, &self.name).await? != plan.before {
            return Err(format!("{} changed since the plan: plan again", self.path()).into());
        }
        compute::delete_firewall(&self.c, &self.project, &self.name)
            .await
            .map_err(err)?;
        Ok(Value::Null)
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        read_rule(&self.c, &self.project, &self.name).await
    }
}

/// The members `--from public` stands for: anyone, signed in or not.
pub const PUBLIC: [&str; 2] = ["allUsers", "allAuthenticatedUsers"];

/// Take members out of a snapshot's, image's or disk's IAM policy.
pub struct Unshare {
    pub c: Compute,
    pub what: Shareable,
    /// IAM members (`user:...`, `serviceAccount:...`, `domain:...`, `allUsers`, ...).
    pub from: Vec<String>,
}

impl Unshare {
    async fn state(&self) -> Result<Value, ActionError> {
        let shared = compute::shared_with(&self.c, &self.what)
            .await
            .map_err(err)?;
        Ok(json!({"shared_with": shared}))
    }
}

/// `role member` pairs without the members taken out.
fn without(shared: &Value, from: &[String]) -> Value {
    let kept: Vec<&str> = shared["shared_with"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|pair| {
            let member = pair.split_once(' ').map_or(*pair, |(_, m)| m);
            !from.iter().any(|f| f == member)
        })
        .collect();
    json!({"shared_with": kept})
}

impl Action for Unshare {
    fn resource(&self) -> String {
        self.what.to_string()
    }

    fn action(&self) -> &'static str {
        "unshare"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let before = self.state().await?;
        let after = without(&before, &self.from);
        let mut p = Plan::new(self.action(), &self.what.to_string(), before, after, true);
        p.notes.push(
            "copies already made from it (a disk, an image, a snapshot in their project) are out of reach".to_string(),
        );
        Ok(p)
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        // Who it is shared with must be who the ledger says, read in the same call that
        // writes the policy back.
        let as_planned: Vec<String> =
            serde_json::from_value(plan.before["shared_with"].clone()).unwrap_or_default();
        compute::unshare(&self.c, &self.what, &self.from, &as_planned)
            .await
            .map_err(err)?;
        Ok(Value::Null)
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.state().await
    }
}

/// Delete a log exclusion the attacker created (entries matching it are dropped before any
/// sink or bucket sees them: their activity vanishes from the logs), its filter recorded in the
/// plan first; one changed since the plan is left alone. What it dropped is not brought back.
pub struct DeleteExclusion {
    pub logging: google_cloud_logging_v2::client::ConfigServiceV2,
    /// `projects/P/exclusions/NAME`.
    pub name: String,
}

impl DeleteExclusion {
    async fn state(&self) -> Result<Value, ActionError> {
        let e = logging::exclusion(&self.logging, &self.name)
            .await
            .map_err(err)?;
        Ok(match e {
            None => json!({"exists": false}),
            Some(e) => json!({"exists": true, "filter": e.filter,
                "description": e.description, "disabled": e.disabled}),
        })
    }
}

impl Action for DeleteExclusion {
    fn resource(&self) -> String {
        self.name.clone()
    }

    fn action(&self) -> &'static str {
        "delete-log-exclusion"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let before = self.state().await?;
        let mut p = Plan::new(
            self.action(),
            &self.name,
            before,
            json!({"exists": false}),
            true,
        );
        p.notes.push(
            "entries it dropped while it stood are gone: only what is logged from now on is kept"
                .to_string(),
        );
        Ok(p)
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        if self.state().await? != plan.before {
            return Err(format!("{} changed since the plan: plan again", self.name).into());
        }
        logging::delete_exclusion(&self.logging, &self.name)
            .await
            .map_err(err)?;
        Ok(Value::Null)
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.state().await
    }
}

/// Turn a log sink the attacker disabled back on, with the destination and filter it has now
/// (both recorded in the plan; a sink whose destination they changed is a step by hand).
pub struct EnableSink {
    pub logging: google_cloud_logging_v2::client::ConfigServiceV2,
    /// `projects/P/sinks/NAME`.
    pub name: String,
}

impl EnableSink {
    async fn read(
        &self,
    ) -> Result<(Option<google_cloud_logging_v2::model::LogSink>, Value), ActionError> {
        let s = logging::sink(&self.logging, &self.name)
            .await
            .map_err(err)?;
        let state = match &s {
            None => json!({"exists": false}),
            Some(s) => json!({"exists": true, "disabled": s.disabled,
                "destination": s.destination, "filter": s.filter}),
        };
        Ok((s, state))
    }
}

impl Action for EnableSink {
    fn resource(&self) -> String {
        self.name.clone()
    }

    fn action(&self) -> &'static str {
        "enable-log-sink"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let (sink, before) = self.read().await?;
        if sink.is_none() {
            return Err(format!(
                "no sink {}: a deleted sink is recreated by hand, from its settings in the audit log of its creation",
                self.name
            )
            .into());
        }
        let mut after = before.clone();
        after["disabled"] = json!(false);
        Ok(Plan::new(self.action(), &self.name, before, after, true))
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        let (sink, now) = self.read().await?;
        if now != plan.before {
            return Err(format!("{} changed since the plan: plan again", self.name).into());
        }
        let sink = sink.ok_or_else(|| format!("no sink {}", self.name))?;
        logging::enable_sink(&self.logging, &self.name, sink)
            .await
            .map_err(err)?;
        Ok(Value::Null)
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        Ok(self.read().await?.1)
    }
}

/// Take a member out of a role on a project, folder or organization: a grant the attacker
/// made (themselves as owner, their service account as editor). The member leaves every
/// binding of the role, a conditional one too, each recorded in the plan; the policy is
/// written back with the etag it was read with, so a change made in between is never
/// overwritten. A project's last owner is never removed.
pub struct RemoveBinding {
    pub rm: ResourceManager,
    /// `projects/P`, `folders/N` or `organizations/N`.
    pub resource: String,
    pub role: String,
    pub member: String,
}

impl RemoveBinding {
    /// `RESOURCE:ROLE:MEMBER`, as a proposed step names it.
    pub fn name(&self) -> String {
        format!("{}:{}:{}", self.resource, self.role, self.member)
    }

    async fn state(&self) -> Result<(google_cloud_iam_v1::model::Policy, Value), ActionError> {
        let p = rm::raw_policy(&self.rm, &self.resource)
            .await
            .map_err(err)?;
        let grants: Vec<Value> = p
            .bindings
            .iter()
            .filter(|b| b.role == self.role && b.members.contains(&self.member))
            .map(|b| {
                json!({"condition": b.condition.as_ref().map(|c| {
                    json!({"title": c.title, "expression": c.expression})
                })})
            })
            .collect();
        let state = json!({"bound": !grants.is_empty(), "grants": grants});
        Ok((p, state))
    }
}

impl RemoveBinding {
    /// Refuses to leave a project without an owner who can always act: an unconditional
    /// owner binding of a member that still exists (a condition may have expired, a
    /// `deleted:` member cannot sign in).
    fn keeps_an_owner(
        &self,
        policy: google_cloud_iam_v1::model::Policy,
    ) -> Result<(), ActionError> {
        let owners = |p: &google_cloud_iam_v1::model::Policy| {
            p.bindings
                .iter()
                .filter(|b| b.role == "roles/owner" && b.condition.is_none())
                .flat_map(|b| b.members.iter())
                .filter(|m| !m.starts_with("deleted:"))
                .count()
        };
        let bound = policy
            .bindings
            .iter()
            .any(|b| b.role == self.role && b.members.contains(&self.member));
        if self.resource.starts_with("projects/")
            && bound
            && owners(&policy) > 0
            && owners(&unbound(policy, &self.role, &self.member)) == 0
        {
            return Err(format!(
                "{} is the last owner of {}: a project without an owner cannot be administered; grant the team's owner first",
                self.member, self.resource
            )
            .into());
        }
        Ok(())
    }
}

/// The policy without `member` in `role`; bindings left empty dropped.
fn unbound(
    mut p: google_cloud_iam_v1::model::Policy,
    role: &str,
    member: &str,
) -> google_cloud_iam_v1::model::Policy {
    for b in p.bindings.iter_mut().filter(|b| b.role == role) {
        b.members.retain(|m| m != member);
    }
    p.bindings.retain(|b| !b.members.is_empty());
    p
}

impl Action for RemoveBinding {
    fn resource(&self) -> String {
        self.name()
    }

    fn action(&self) -> &'static str {
        "remove-iam-binding"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let (policy, before) = self.state().await?;
        self.keeps_an_owner(policy)?;
        let visible = before["bound"] == true;
        let mut p = Plan::new(
            self.action(),
            &self.name(),
            before,
            json!({"bound": false}),
            visible,
        );
        p.notes.push(format!(
            "{} loses {} on {} (and whatever it could do through it); what it did with it stays done",
            self.member, self.role, self.resource
        ));
        Ok(p)
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        let (policy, now) = self.state().await?;
        if now != plan.before {
            return Err(format!("{} changed since the plan: plan again", self.name()).into());
        }
        // Someone else may have removed the other owners since the plan.
        self.keeps_an_owner(policy.clone())?;
        rm::set_policy(
            &self.rm,
            &self.resource,
            unbound(policy, &self.role, &self.member),
        )
        .await
        .map_err(err)?;
        Ok(Value::Null)
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        Ok(self.state().await?.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_members_named_are_taken_out_whatever_their_role() {
        let shared = json!({"shared_with": [
            "roles/compute.storageAdmin user:ops@acme.example",
            "roles/compute.viewer allUsers",
            "roles/compute.imageUser user:mallory@evil.example",
        ]});
        let from = vec![
            "allUsers".to_string(),
            "user:mallory@evil.example".to_string(),
        ];
        assert_eq!(
            without(&shared, &from),
            json!({"shared_with": ["roles/compute.storageAdmin user:ops@acme.example"]})
        );
        // A member whose name only starts like one taken out stays.
        let from = vec!["user:ops@acme".to_string()];
        assert_eq!(without(&shared, &from), shared);
    }
}

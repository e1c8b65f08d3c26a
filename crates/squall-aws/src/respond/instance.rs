//! A compromised instance: isolate it, release it, stop it, terminate it.
//!
//! Isolation cuts the instance off the network and from its role's credentials while it keeps
//! running, so memory and processes stay for the forensics; what it had before is recorded in
//! the plan, so a release puts it back from the ledger. Stopping loses memory unless the
//! instance hibernates; terminating is refused until every volume has been acquired.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use squall_core::respond::{Action, ActionError, Plan};

use super::{ALLOW_ALL_GROUP, Clients, ISOLATION_GROUP, err};
use crate::services::ec2::{self, ElasticIp, Eni};
use crate::services::iam::{self, Principal};

/// Isolate an instance without stopping it (memory and processes stay for the forensics):
/// termination protection on; every network interface through the allow-all group into the
/// isolation group; the instance profile detached and its role's older sessions denied (the
/// credentials the attacker may have taken from IMDS); Elastic IPs disassociated. The prior
/// state goes into the plan, so `release` can restore it from the ledger.
pub struct IsolateInstance {
    pub c: Clients,
    pub id: String,
    pub now: String,
    /// The isolation groups found or made per VPC, shared by the instances isolated together
    /// so each VPC's groups are looked up and created once.
    pub groups: Arc<IsolationGroups>,
    /// The batch read the run's plans share.
    pub survey: Arc<Survey>,
}

/// Each VPC's isolation groups as found or made by this run, and how many isolations are
/// passing through its allow-all group right now.
#[derive(Default)]
pub struct IsolationGroups {
    vpcs: tokio::sync::Mutex<HashMap<String, VpcGroups>>,
}

/// One VPC's groups. The allow-all group holds its allow-all rules only while an interface is
/// on its way through it: left open, it would be a group admitting the world on every port
/// (an inventory finding, and an open door for whatever is put in it).
struct VpcGroups {
    allow: String,
    isolation: String,
    /// Isolations between entering the allow-all group and leaving it.
    passing: usize,
}

impl VpcGroups {
    fn new(allow: String, isolation: String) -> VpcGroups {
        VpcGroups {
            allow,
            isolation,
            passing: 0,
        }
    }

    /// One more isolation passes through; true when it is the only one, so the allow-all
    /// rules must be (put back) in place first.
    fn enter(&mut self) -> bool {
        self.passing += 1;
        self.passing == 1
    }

    /// One isolation has passed through (or given up); true when none is left passing, so the
    /// allow-all rules must go.
    fn leave(&mut self) -> bool {
        self.passing = self.passing.saturating_sub(1);
        self.passing == 0
    }
}

/// What planning many isolations reads once for all of them: the instances, their profiles
/// and Elastic IPs (two or three calls per 200 instances instead of three per instance), and
/// each VPC's isolation group. Plans only: verification always reads afresh.
#[derive(Default)]
pub struct Survey {
    ids: Vec<String>,
    read: tokio::sync::OnceCell<Option<SurveyRead>>,
    /// VPC → its isolation group, if it exists yet.
    groups: tokio::sync::Mutex<HashMap<String, Option<String>>>,
}

type SurveyRead = (
    HashMap<String, ec2::InstanceDetail>,
    HashMap<String, Vec<ElasticIp>>,
);

impl Survey {
    /// A survey of these instances, read on first use.
    pub fn new(ids: Vec<String>) -> Survey {
        Survey {
            ids,
            ..Survey::default()
        }
    }

    /// The instance and its Elastic IPs, if the batch read worked (an unknown id fails it;
    /// each plan then reads its own instance and reports its own error).
    async fn instance(
        &self,
        c: &Clients,
        id: &str,
    ) -> Option<(ec2::InstanceDetail, Vec<ElasticIp>)> {
        let read = self
            .read
            .get_or_init(|| async {
                let details = ec2::instances_by_id(&c.ec2, &self.ids).await.ok()?;
                let ips = ec2::elastic_ips_by_instance(&c.ec2, &self.ids).await.ok()?;
                Some((details, ips))
            })
            .await
            .as_ref()?;
        Some((
            read.0.get(id)?.clone(),
            read.1.get(id).cloned().unwrap_or_default(),
        ))
    }
}

impl IsolateInstance {
    /// The isolation state; `group` is the VPC's isolation group as known (never created
    /// here: plans change nothing).
    async fn state(
        &self,
        detail: &ec2::InstanceDetail,
        eips: &[ElasticIp],
        group: Option<String>,
        role: Option<&str>,
    ) -> Result<Value, ActionError> {
        let c = &self.c;
        let protected = ec2::termination_protection(&c.ec2, &self.id)
            .await
            .map_err(err)?;
        let mut isolated = only_in(&detail.enis, group.as_deref());
        if let Some(g) = &group
            && isolated
        {
            isolated = ec2::group_rule_counts(&c.ec2, g).await.map_err(err)? == (0, 0);
        }
        let revoked = match role {
            Some(r) => iam::revoked_before(&c.iam, Principal::Role(r))
                .await
                .map_err(err)?
                .is_some(),
            None => false,
        };
        Ok(isolation_state(protected, isolated, detail, eips, revoked))
    }

    /// The VPC's isolation group as known: made by this run's executions, else looked up once
    /// per run (never created here: plans change nothing).
    async fn isolation_group(&self, vpc: &str) -> Result<Option<String>, ActionError> {
        if let Some(g) = self.groups.vpcs.lock().await.get(vpc) {
            return Ok(Some(g.isolation.clone()));
        }
        let mut looked_up = self.survey.groups.lock().await;
        if let Some(g) = looked_up.get(vpc) {
            return Ok(g.clone());
        }
        let g = ec2::find_group(&self.c.ec2, vpc, ISOLATION_GROUP)
            .await
            .map_err(err)?;
        looked_up.insert(vpc.to_string(), g.clone());
        Ok(g)
    }

    /// The VPC's (allow-all, isolation) groups, made on first use, with the allow-all rules
    /// in place: this isolation is passing through until [`IsolateInstance::passed`].
    async fn enter_groups(&self, vpc: &str) -> Result<(String, String), ActionError> {
        let mut known = self.groups.vpcs.lock().await;
        let ec2 = &self.c.ec2;
        if !known.contains_key(vpc) {
            let allow = ec2::ensure_group(
                ec2,
                vpc,
                ALLOW_ALL_GROUP,
                "Squall: passes live connections to untracked before isolation",
                true,
            )
            .await
            .map_err(err)?;
            let isolation = ec2::ensure_group(
                ec2,
                vpc,
                ISOLATION_GROUP,
                "Squall: isolation, no traffic in or out",
                false,
            )
            .await
            .map_err(err)?;
            known.insert(vpc.to_string(), VpcGroups::new(allow, isolation));
        }
        let g = known.get_mut(vpc).expect("inserted above");
        // The lock is held over the change, so no isolation enters while the rules go.
        if g.enter()
            && let Err(e) = ec2::set_allow_all(ec2, &g.allow, true).await
        {
            g.leave();
            return Err(err(e));
        }
        Ok((g.allow.clone(), g.isolation.clone()))
    }

    /// This isolation has moved its interfaces on (or failed to): the last one through empties
    /// the allow-all group, so nothing Squall leaves behind admits the world.
    async fn passed(&self, vpc: &str) -> Result<(), ActionError> {
        let mut known = self.groups.vpcs.lock().await;
        if let Some(g) = known.get_mut(vpc)
            && g.leave()
        {
            ec2::set_allow_all(&self.c.ec2, &g.allow, false)
                .await
                .map_err(err)?;
        }
        Ok(())
    }
}

impl Action for IsolateInstance {
    fn resource(&self) -> String {
        self.id.clone()
    }

    fn action(&self) -> &'static str {
        "isolate-instance"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let c = &self.c;
        let (detail, eips) = match self.survey.instance(c, &self.id).await {
            Some(found) => found,
            None => (
                ec2::instance(&c.ec2, &self.id).await.map_err(err)?,
                ec2::elastic_ips(&c.ec2, &self.id).await.map_err(err)?,
            ),
        };
        let vpc = vpc_of(&self.id, &detail)?;
        let group = self.isolation_group(&vpc).await?;
        let role = match &detail.profile {
            Some((_, arn)) => iam::profile_role(&c.iam, arn).await.map_err(err)?,
            None => None,
        };
        let state = self.state(&detail, &eips, group, role.as_deref()).await?;
        Ok(isolation_plan(
            &self.id, &self.now, &detail, &eips, role, state,
        ))
    }

    /// Carries out the plan as read: the interfaces, profile and addresses it recorded.
    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        let c = &self.c;
        let prior = &plan.before["prior"];
        let enis: Vec<Eni> = serde_json::from_value(prior["enis"].clone())?;
        let single = enis.len() == 1;
        let vpc = prior["vpc"].as_str().unwrap_or_default();
        ec2::set_termination_protection(&c.ec2, &self.id, true)
            .await
            .map_err(err)?;
        let (allow, isolation) = self.enter_groups(vpc).await?;
        let moved = async {
            for eni in &enis {
                set_groups(c, &self.id, single, &eni.id, std::slice::from_ref(&allow)).await?;
            }
            for eni in &enis {
                set_groups(
                    c,
                    &self.id,
                    single,
                    &eni.id,
                    std::slice::from_ref(&isolation),
                )
                .await?;
            }
            Ok::<(), ActionError>(())
        }
        .await;
        // Emptied even when a move failed: an interface stuck in the allow-all group is then
        // cut off instead of open to the world.
        let emptied = self.passed(vpc).await;
        moved?;
        emptied?;
        let role = prior["role"].as_str();
        if let Some(role) = role {
            iam::revoke_sessions(&c.iam, Principal::Role(role), &self.now)
                .await
                .map_err(err)?;
        }
        if let Some(association) = prior["profile_association"].as_str() {
            ec2::disassociate_profile(&c.ec2, association)
                .await
                .map_err(err)?;
        }
        let eips: Vec<ElasticIp> = serde_json::from_value(prior["elastic_ips"].clone())?;
        for ip in &eips {
            ec2::disassociate_address(&c.ec2, ip).await.map_err(err)?;
        }
        Ok(
            json!({"isolation_group": isolation, "allow_all_group": allow, "sessions_revoked_before": role.map(|_| &self.now)}),
        )
    }

    async fn observe(&self, plan: &Plan) -> Result<Value, ActionError> {
        let c = &self.c;
        let detail = ec2::instance(&c.ec2, &self.id).await.map_err(err)?;
        let eips = ec2::elastic_ips(&c.ec2, &self.id).await.map_err(err)?;
        let vpc = vpc_of(&self.id, &detail)?;
        let group = self.isolation_group(&vpc).await?;
        self.state(&detail, &eips, group, plan.before["prior"]["role"].as_str())
            .await
    }
}

/// The instance's VPC: outside one, security groups cannot isolate it.
fn vpc_of(id: &str, detail: &ec2::InstanceDetail) -> Result<String, ActionError> {
    detail.vpc_id.clone().ok_or_else(|| {
        format!("{id} is not in a VPC: security groups cannot isolate it (help: --stop)").into()
    })
}

/// Whether every interface is in `group` and in nothing else: an interface with one more group
/// still lets that group's traffic through. (The group's own rules are checked apart.)
fn only_in(enis: &[Eni], group: Option<&str>) -> bool {
    group.is_some_and(|g| enis.iter().all(|e| e.groups.len() == 1 && e.groups[0] == g))
}

/// What isolation looks at, from what was read: termination protection, whether the network
/// is cut, the profile and Elastic IPs still attached, whether the role's older sessions are
/// denied.
fn isolation_state(
    protected: bool,
    network_isolated: bool,
    detail: &ec2::InstanceDetail,
    eips: &[ElasticIp],
    role_sessions_revoked: bool,
) -> Value {
    json!({
        "termination_protection": protected,
        "network_isolated": network_isolated,
        "instance_profile": detail.profile.as_ref().map(|p| &p.1),
        "elastic_ips": eips.len(),
        "role_sessions_revoked": role_sessions_revoked,
    })
}

/// The plan to isolate an instance in `state` (as [`isolation_state`] reads it). `before`
/// also keeps, under `prior`, everything isolation takes away (interfaces and their groups,
/// profile, role, Elastic IPs, termination protection): execution works from it, and a
/// release puts it back from the ledger.
fn isolation_plan(
    id: &str,
    now: &str,
    detail: &ec2::InstanceDetail,
    eips: &[ElasticIp],
    role: Option<String>,
    state: Value,
) -> Plan {
    let mut before = state;
    let protected = before["termination_protection"].clone();
    before["prior"] = json!({
        "termination_protection": protected,
        "vpc": detail.vpc_id,
        "enis": detail.enis,
        "instance_profile": detail.profile.as_ref().map(|p| &p.1),
        "profile_association": detail.profile.as_ref().map(|p| &p.0),
        "role": role,
        "elastic_ips": eips,
    });
    let after = json!({
        "termination_protection": true,
        "network_isolated": true,
        "instance_profile": null,
        "elastic_ips": 0,
        "role_sessions_revoked": role.is_some(),
    });
    let mut p = Plan::new("isolate-instance", id, before, after, true);
    if let Some(r) = &role {
        p.notes.push(format!(
            "role {r}: sessions issued before {now} are denied — for every instance using it"
        ));
    }
    p
}

/// Sets one interface's groups; for a single-interface instance the instance-level groups
/// too, so both views agree (moto, for one, reports the union of the two).
async fn set_groups(
    c: &Clients,
    instance: &str,
    single_interface: bool,
    eni: &str,
    groups: &[String],
) -> Result<(), ActionError> {
    ec2::set_eni_groups(&c.ec2, eni, groups)
        .await
        .map_err(err)?;
    if single_interface {
        ec2::set_instance_groups(&c.ec2, instance, groups)
            .await
            .map_err(err)?;
    }
    Ok(())
}

/// Undo an isolation: the security groups, instance profile, Elastic IPs and termination
/// protection the instance had before, as the isolation's plan recorded them. The role's
/// revocation of older sessions stays: those sessions may be the attacker's.
pub struct ReleaseInstance {
    pub c: Clients,
    pub id: String,
    /// `prior` of the isolation plan, from the ledger.
    pub prior: Value,
}

impl ReleaseInstance {
    async fn state(&self) -> Result<Value, ActionError> {
        let c = &self.c;
        let detail = ec2::instance(&c.ec2, &self.id).await.map_err(err)?;
        let protected = ec2::termination_protection(&c.ec2, &self.id)
            .await
            .map_err(err)?;
        let eips = ec2::elastic_ips(&c.ec2, &self.id).await.map_err(err)?;
        Ok(release_state(protected, &detail, &eips))
    }
}

/// What a release puts back, as read now: termination protection, the interfaces and their
/// groups, the profile, the Elastic IPs' allocations.
fn release_state(protected: bool, detail: &ec2::InstanceDetail, eips: &[ElasticIp]) -> Value {
    json!({
        "termination_protection": protected,
        "enis": detail.enis,
        "instance_profile": detail.profile.as_ref().map(|p| &p.1),
        "elastic_ips": eips.iter().map(|e| &e.allocation_id).collect::<Vec<_>>(),
    })
}

/// The plan to release an instance now in `before` (as [`release_state`] reads it) back to
/// `prior`, the state its isolation recorded.
fn release_plan(id: &str, prior: &Value, before: Value) -> Plan {
    let eips: Vec<ElasticIp> =
        serde_json::from_value(prior["elastic_ips"].clone()).unwrap_or_default();
    let after = json!({
        "termination_protection": prior["termination_protection"],
        "enis": prior["enis"],
        "instance_profile": prior["instance_profile"],
        "elastic_ips": eips.iter().map(|e| &e.allocation_id).collect::<Vec<_>>(),
    });
    let mut p = Plan::new("release-instance", id, before, after, false);
    if let Some(role) = prior["role"].as_str() {
        p.notes.push(format!(
            "role {role} keeps denying sessions issued before the isolation"
        ));
    }
    p
}

impl Action for ReleaseInstance {
    fn resource(&self) -> String {
        self.id.clone()
    }

    fn action(&self) -> &'static str {
        "release-instance"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let before = self.state().await?;
        Ok(release_plan(&self.id, &self.prior, before))
    }

    async fn execute(&self, plan: &Plan) -> Result<Value, ActionError> {
        let c = &self.c;
        let prior = &self.prior;
        let enis: Vec<Eni> = serde_json::from_value(prior["enis"].clone())?;
        for eni in &enis {
            set_groups(c, &self.id, enis.len() == 1, &eni.id, &eni.groups).await?;
        }
        if let Some(arn) = prior["instance_profile"].as_str()
            && plan.before["instance_profile"].as_str() != Some(arn)
        {
            ec2::associate_profile(&c.ec2, &self.id, arn)
                .await
                .map_err(err)?;
        }
        let eips: Vec<ElasticIp> = serde_json::from_value(prior["elastic_ips"].clone())?;
        let attached = plan.before["elastic_ips"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for ip in eips
            .iter()
            .filter(|ip| !attached.contains(&json!(ip.allocation_id)))
        {
            ec2::associate_address(&c.ec2, &self.id, enis.len() == 1, ip)
                .await
                .map_err(err)?;
        }
        let protected = prior["termination_protection"].as_bool().unwrap_or(false);
        ec2::set_termination_protection(&c.ec2, &self.id, protected)
            .await
            .map_err(err)?;
        Ok(json!({}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        self.state().await
    }
}

/// Stop (or hibernate, keeping memory on the root volume) an instance.
pub struct StopInstance {
    pub c: Clients,
    pub id: String,
    pub hibernate: bool,
    pub wait: Duration,
}

impl Action for StopInstance {
    fn resource(&self) -> String {
        self.id.clone()
    }

    fn action(&self) -> &'static str {
        if self.hibernate {
            "hibernate-instance"
        } else {
            "stop-instance"
        }
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let d = ec2::instance(&self.c.ec2, &self.id).await.map_err(err)?;
        Ok(stop_plan(&self.id, self.hibernate, &d.state))
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        ec2::stop(&self.c.ec2, &self.id, self.hibernate)
            .await
            .map_err(err)?;
        Ok(json!({}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let state = ec2::wait_state(&self.c.ec2, &self.id, "stopped", self.wait)
            .await
            .map_err(err)?;
        Ok(json!({"state": state}))
    }
}

/// The plan to stop (or hibernate) an instance now in `state`.
fn stop_plan(id: &str, hibernate: bool, state: &str) -> Plan {
    let mut p = Plan::new(
        if hibernate {
            "hibernate-instance"
        } else {
            "stop-instance"
        },
        id,
        json!({"state": state}),
        json!({"state": "stopped"}),
        true,
    );
    if !hibernate {
        p.notes
            .push("memory is lost: acquire it first if it matters (--hibernate keeps it on the root volume)".into());
    }
    p
}

/// Terminate an instance — only once every one of its volumes has a verified acquisition in
/// the case; the caller passes the volumes the ledger shows acquired.
pub struct TerminateInstance {
    pub c: Clients,
    pub id: String,
    pub case: String,
    pub acquired: Vec<String>,
    pub wait: Duration,
}

impl Action for TerminateInstance {
    fn resource(&self) -> String {
        self.id.clone()
    }

    fn action(&self) -> &'static str {
        "terminate-instance"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let d = ec2::instance(&self.c.ec2, &self.id).await.map_err(err)?;
        termination_plan(&self.id, &self.case, &self.acquired, &d)
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        ec2::set_termination_protection(&self.c.ec2, &self.id, false)
            .await
            .map_err(err)?;
        ec2::terminate(&self.c.ec2, &self.id).await.map_err(err)?;
        Ok(json!({}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let state = ec2::wait_state(&self.c.ec2, &self.id, "terminated", self.wait)
            .await
            .map_err(err)?;
        Ok(json!({"state": state}))
    }
}

/// The plan to terminate an instance, refused while any of its volumes is not among those the
/// case has `acquired` (a terminated instance has nothing left to lose, so it is not refused).
fn termination_plan(
    id: &str,
    case: &str,
    acquired: &[String],
    d: &ec2::InstanceDetail,
) -> Result<Plan, ActionError> {
    let missing: Vec<&str> = d
        .volumes
        .iter()
        .map(|v| v.volume.as_str())
        .filter(|v| !acquired.iter().any(|a| a == v))
        .collect();
    if d.state != "terminated" && !missing.is_empty() {
        return Err(format!(
            "refusing to terminate {id}: no verified acquisition of {} in case {case} (help: `squall acquire aws instance {id} --case {case} --yes` first)",
            missing.join(", "),
        )
        .into());
    }
    let mut p = Plan::new(
        "terminate-instance",
        id,
        json!({"state": d.state, "volumes": d.volumes}),
        json!({"state": "terminated"}),
        true,
    );
    p.notes
        .push("termination protection is turned off first; the acquired snapshots stay".into());
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::ec2::Attachment;

    const PROFILE: &str = "arn:aws:iam::111122223333:instance-profile/web";

    fn eni(id: &str, groups: &[&str]) -> Eni {
        Eni {
            id: id.to_string(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn instance(enis: Vec<Eni>, profile: bool) -> ec2::InstanceDetail {
        ec2::InstanceDetail {
            id: "i-1".into(),
            state: "running".into(),
            vpc_id: Some("vpc-1".into()),
            availability_zone: Some("eu-west-1a".into()),
            root_device: Some("/dev/xvda".into()),
            enis,
            volumes: vec![
                Attachment {
                    device: "/dev/xvda".into(),
                    volume: "vol-root".into(),
                },
                Attachment {
                    device: "/dev/xvdf".into(),
                    volume: "vol-data".into(),
                },
            ],
            profile: profile.then(|| ("iip-assoc-1".to_string(), PROFILE.to_string())),
        }
    }

    fn eip() -> ElasticIp {
        ElasticIp {
            allocation_id: "eipalloc-1".into(),
            public_ip: "203.0.113.7".into(),
            association_id: Some("eipassoc-1".into()),
            eni: Some("eni-a".into()),
            private_ip: Some("10.0.0.5".into()),
        }
    }

    #[test]
    fn an_isolation_plan_records_everything_it_takes_away() {
        let d = instance(
            vec![
                eni("eni-a", &["sg-web", "sg-ssh"]),
                eni("eni-b", &["sg-db"]),
            ],
            true,
        );
        let eips = [eip()];
        let state = isolation_state(false, only_in(&d.enis, Some("sg-iso")), &d, &eips, false);
        let role = Some("web-role".to_string());
        let p = isolation_plan("i-1", "2024-05-01T10:00:00Z", &d, &eips, role, state);
        assert_eq!(
            (p.action.as_str(), p.resource.as_str()),
            ("isolate-instance", "i-1")
        );
        assert_eq!(
            p.before,
            json!({
                "termination_protection": false,
                "network_isolated": false,
                "instance_profile": PROFILE,
                "elastic_ips": 1,
                "role_sessions_revoked": false,
                "prior": {
                    "termination_protection": false,
                    "vpc": "vpc-1",
                    "enis": [
                        {"id": "eni-a", "groups": ["sg-web", "sg-ssh"]},
                        {"id": "eni-b", "groups": ["sg-db"]},
                    ],
                    "instance_profile": PROFILE,
                    "profile_association": "iip-assoc-1",
                    "role": "web-role",
                    "elastic_ips": [{
                        "allocation_id": "eipalloc-1",
                        "public_ip": "203.0.113.7",
                        "association_id": "eipassoc-1",
                        "eni": "eni-a",
                        "private_ip": "10.0.0.5",
                    }],
                },
            })
        );
        assert_eq!(
            p.after,
            json!({
                "termination_protection": true,
                "network_isolated": true,
                "instance_profile": null,
                "elastic_ips": 0,
                "role_sessions_revoked": true,
            })
        );
        assert!(p.visible_to_attacker);
        assert!(!p.already_done);
        assert_eq!(
            p.notes,
            [
                "role web-role: sessions issued before 2024-05-01T10:00:00Z are denied — for every instance using it"
            ]
        );
    }

    #[test]
    fn an_instance_already_isolated_without_a_profile_needs_nothing() {
        let d = instance(vec![eni("eni-a", &["sg-iso"])], false);
        let state = isolation_state(true, only_in(&d.enis, Some("sg-iso")), &d, &[], false);
        let p = isolation_plan("i-1", "now", &d, &[], None, state);
        // No role to revoke: the plan does not ask for a revocation that cannot happen.
        assert_eq!(p.after["role_sessions_revoked"], false);
        assert_eq!(p.before["prior"]["role"], Value::Null);
        assert!(p.already_done);
        assert!(p.notes.is_empty());
    }

    #[test]
    fn an_interface_is_isolated_only_in_the_isolation_group_alone() {
        assert!(only_in(
            &[eni("eni-a", &["sg-iso"]), eni("eni-b", &["sg-iso"])],
            Some("sg-iso")
        ));
        assert!(!only_in(
            &[eni("eni-a", &["sg-iso", "sg-web"])],
            Some("sg-iso")
        ));
        assert!(!only_in(
            &[eni("eni-a", &["sg-iso"]), eni("eni-b", &["sg-web"])],
            Some("sg-iso")
        ));
        assert!(!only_in(&[eni("eni-a", &[])], Some("sg-iso")));
        // The VPC has no isolation group yet: nothing can be in it.
        assert!(!only_in(&[eni("eni-a", &["sg-iso"])], None));
    }

    #[test]
    fn the_allow_all_group_is_open_only_while_an_isolation_passes_through() {
        let mut g = VpcGroups::new("sg-allow".into(), "sg-iso".into());
        // The first isolation through opens it; a second one at the same time finds it open.
        assert!(g.enter());
        assert!(!g.enter());
        // The first one leaving must not empty it under the second one's interfaces.
        assert!(!g.leave());
        // The last one leaving empties it.
        assert!(g.leave());
        // The next use opens it again.
        assert!(g.enter());
        assert!(g.leave());
        // A leave without an enter (a failed entry) never underflows into "still passing".
        assert!(g.leave());
        assert!(g.enter());
    }

    #[test]
    fn an_instance_outside_a_vpc_cannot_be_isolated() {
        let mut d = instance(vec![eni("eni-a", &["sg-web"])], false);
        assert_eq!(vpc_of("i-1", &d).unwrap(), "vpc-1");
        d.vpc_id = None;
        assert_eq!(
            vpc_of("i-1", &d).unwrap_err().to_string(),
            "i-1 is not in a VPC: security groups cannot isolate it (help: --stop)"
        );
    }

    #[test]
    fn a_release_puts_back_what_the_isolation_recorded() {
        let was = instance(vec![eni("eni-a", &["sg-web", "sg-ssh"])], true);
        let state = isolation_state(false, false, &was, &[eip()], false);
        let isolation =
            isolation_plan("i-1", "now", &was, &[eip()], Some("web-role".into()), state);
        let prior = &isolation.before["prior"];

        let isolated = instance(vec![eni("eni-a", &["sg-iso"])], false);
        let p = release_plan("i-1", prior, release_state(true, &isolated, &[]));
        assert_eq!(
            (p.action.as_str(), p.visible_to_attacker),
            ("release-instance", false)
        );
        assert_eq!(
            p.before,
            json!({
                "termination_protection": true,
                "enis": [{"id": "eni-a", "groups": ["sg-iso"]}],
                "instance_profile": null,
                "elastic_ips": [],
            })
        );
        assert_eq!(
            p.after,
            json!({
                "termination_protection": false,
                "enis": [{"id": "eni-a", "groups": ["sg-web", "sg-ssh"]}],
                "instance_profile": PROFILE,
                "elastic_ips": ["eipalloc-1"],
            })
        );
        assert!(!p.already_done);
        assert_eq!(
            p.notes,
            ["role web-role keeps denying sessions issued before the isolation"]
        );

        let released = release_plan("i-1", prior, release_state(false, &was, &[eip()]));
        assert!(released.already_done);
    }

    #[test]
    fn stopping_warns_that_memory_is_lost_and_hibernating_does_not() {
        let p = stop_plan("i-1", false, "running");
        assert_eq!(p.action, "stop-instance");
        assert_eq!(
            (p.before.clone(), p.after.clone()),
            (json!({"state": "running"}), json!({"state": "stopped"}))
        );
        assert_eq!(
            p.notes,
            [
                "memory is lost: acquire it first if it matters (--hibernate keeps it on the root volume)"
            ]
        );
        assert!(!p.already_done);

        let p = stop_plan("i-1", true, "running");
        assert_eq!(p.action, "hibernate-instance");
        assert!(p.notes.is_empty());

        assert!(stop_plan("i-1", false, "stopped").already_done);
    }

    #[test]
    fn terminating_is_refused_while_a_volume_is_not_acquired() {
        let d = instance(vec![eni("eni-a", &["sg-iso"])], false);
        let e = termination_plan("i-1", "case-7", &["vol-root".to_string()], &d).unwrap_err();
        assert_eq!(
            e.to_string(),
            "refusing to terminate i-1: no verified acquisition of vol-data in case case-7 (help: `squall acquire aws instance i-1 --case case-7 --yes` first)"
        );
        let e = termination_plan("i-1", "case-7", &[], &d).unwrap_err();
        assert!(
            e.to_string().contains("of vol-root, vol-data in case"),
            "{e}"
        );
        // An acquisition in the case of another volume does not count.
        let e = termination_plan(
            "i-1",
            "case-7",
            &["vol-other".into(), "vol-root".into()],
            &d,
        );
        assert!(e.is_err());
    }

    #[test]
    fn terminating_goes_ahead_once_every_volume_is_acquired() {
        let d = instance(vec![eni("eni-a", &["sg-iso"])], false);
        let acquired = ["vol-data".to_string(), "vol-root".to_string()];
        let p = termination_plan("i-1", "case-7", &acquired, &d).unwrap();
        assert_eq!(
            p.before,
            json!({"state": "running", "volumes": [
                {"device": "/dev/xvda", "volume": "vol-root"},
                {"device": "/dev/xvdf", "volume": "vol-data"},
            ]})
        );
        assert_eq!(p.after, json!({"state": "terminated"}));
        assert!(!p.already_done);
        assert_eq!(
            p.notes,
            ["termination protection is turned off first; the acquired snapshots stay"]
        );

        // Already terminated: nothing is left to lose, so a re-run is not refused.
        let mut gone = d;
        gone.state = "terminated".into();
        assert!(
            termination_plan("i-1", "case-7", &[], &gone)
                .unwrap()
                .already_done
        );
    }
}

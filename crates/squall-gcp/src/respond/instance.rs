//! A compromised instance: isolate it, release it, suspend it, stop it.
//!
//! Isolation keeps the instance running (memory and processes stay for the forensics) and cuts
//! it off in both directions with VPC firewall rules of the highest priority that target a
//! network tag only it carries — never its service account, which other instances may share —
//! and removes its external addresses. Organization and folder firewall policies are evaluated
//! before any VPC rule, so the isolation is verified through the instance's effective
//! firewalls, not assumed. What it had before goes into the plan, so a release puts it back
//! from the ledger.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use squall_core::respond::{Action, ActionError, Plan};

use super::{err, short_hash};
use crate::request::InstanceRef;
use crate::services::compute::{self, Compute, Effective, External, InstanceDetail, Rule};

/// The network tag isolation puts on one instance for one case (`squall-iso-` and 12 hex
/// digits of the case and the instance): no other instance carries it, so the deny-all rules
/// that target it touch nothing else, and a release removes exactly what this case added.
pub fn isolation_tag(case: &str, at: &InstanceRef) -> String {
    format!("squall-iso-{}", short_hash(&[case, &at.to_string()], 12))
}

/// The project a network lives in (a Shared VPC's host project, maybe not the instance's).
fn network_project(network: &str) -> Option<&str> {
    let rest = &network[network.find("projects/")? + "projects/".len()..];
    let (project, tail) = rest.split_once('/')?;
    tail.starts_with("global/networks/").then_some(project)
}

/// The deny-all rules that isolate `tag` in `network`: ingress and egress, IPv4 and IPv6 (a
/// rule holds ranges of one family only), at priority 0, where a deny beats any allow.
fn isolation_rules(tag: &str, case: &str, network: &str) -> Vec<Rule> {
    let net = short_hash(&[network], 6);
    let mut rules = Vec::new();
    for (direction, dir) in [("INGRESS", "in"), ("EGRESS", "out")] {
        for (range, fam) in [("0.0.0.0/0", "4"), ("::/0", "6")] {
            rules.push(Rule {
                name: format!("{tag}-{net}-{dir}{fam}"),
                network: network.to_string(),
                direction: direction.to_string(),
                priority: 0,
                action: "deny".to_string(),
                protocols: vec!["all".to_string()],
                ranges: vec![range.to_string()],
                target_tags: vec![tag.to_string()],
                disabled: false,
                description: format!("squall: isolation for case {case}"),
                other_filters: Vec::new(),
                logging: false,
            });
        }
    }
    rules
}

/// Whether a rule read back is the isolation rule as meant (its description aside).
fn holds(found: &Rule, meant: &Rule) -> bool {
    found.network == meant.network
        && found.direction == meant.direction
        && found.priority == meant.priority
        && found.action == "deny"
        && found.protocols == ["all"]
        && found.ranges == meant.ranges
        && found.target_tags == meant.target_tags
        && found.other_filters.is_empty()
        && !found.disabled
}

/// Every network the instance's interfaces are on, with the isolation rules for it.
fn rules_for(detail: &InstanceDetail, tag: &str, case: &str) -> Vec<(String, Vec<Rule>)> {
    let mut networks: Vec<&str> = detail.nics.iter().map(|(_, n)| n.as_str()).collect();
    networks.sort();
    networks.dedup();
    networks
        .into_iter()
        .map(|n| (n.to_string(), isolation_rules(tag, case, n)))
        .collect()
}

/// Refuses an instance a managed instance group owns: the group treats a stopped, suspended or
/// unreachable member as unhealthy and recreates it from its template — deleting its boot disk
/// and memory before anything is acquired — and deletion protection cannot be set on one.
fn unmanaged(d: &InstanceDetail, at: &InstanceRef) -> Result<(), ActionError> {
    match d.metadata.get("created-by") {
        Some(group) if group.contains("/instanceGroupManagers/") => Err(format!(
            "{at} belongs to the managed instance group {}, which would recreate it (its boot disk and memory lost): take it out of the group first, keeping it (`gcloud compute instance-groups managed abandon-instances`), then run this again",
            // Metadata, up to 256 KiB of whatever was written: cited, not copied.
            squall_core::text::shortened(group, 160)
        )
        .into()),
        _ => Ok(()),
    }
}

/// What isolation takes away, kept in the plan for a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prior {
    /// The isolation's own tag (to remove) and rules (to delete).
    pub tag: String,
    pub rules: Vec<RuleAt>,
    /// The instance's tags before (without the isolation's).
    pub tags: Vec<String>,
    pub deletion_protection: bool,
    pub external: Vec<External>,
}

/// A rule and the project it lives in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleAt {
    pub project: String,
    pub name: String,
}

/// Policy rules that allow traffic before the VPC's rules are looked at, and so let through
/// what the isolation denies: an organization's or folder's (hierarchical) always; a network
/// firewall policy's when the network evaluates its policies first (`policies_first`).
fn bypasses(e: &Effective, policies_first: bool) -> Vec<String> {
    e.policy_rules
        .iter()
        .filter(|r| {
            r.action == "allow"
                && (r.kind == "HIERARCHY" || (policies_first && r.kind.starts_with("NETWORK")))
        })
        .map(|r| {
            format!(
                "firewall policy {:?} ({}) rule {} allows {} {} {} before the VPC's rules",
                r.policy,
                r.kind,
                r.priority,
                r.direction,
                if r.direction == "EGRESS" {
                    "to"
                } else {
                    "from"
                },
                if r.ranges.is_empty() {
                    "anywhere".to_string()
                } else {
                    r.ranges.join(", ")
                }
            )
        })
        .collect()
}

/// Isolate an instance without stopping it: deletion protection on; deny-all rules (in and
/// out, IPv4 and IPv6, priority 0) on a tag of its own in every network it is on; the tag put
/// on; external IPv4 addresses removed. Verified through its effective firewalls.
pub struct IsolateInstance {
    pub c: Compute,
    pub at: InstanceRef,
    pub case: String,
    /// The prior state an earlier isolation of this case recorded and no release has put
    /// back yet: a re-run after a partial failure must not take the half-isolated state for
    /// the original one.
    pub carried: Option<Prior>,
}

impl IsolateInstance {
    fn tag(&self) -> String {
        isolation_tag(&self.case, &self.at)
    }

    /// The instance's isolation state, read afresh.
    async fn state(&self) -> Result<(InstanceDetail, Value), ActionError> {
        let c = &self.c;
        let detail = compute::instance(c, &self.at).await.map_err(err)?;
        let tag = self.tag();
        let mut rules = BTreeMap::new();
        for (_, meant) in rules_for(&detail, &tag, &self.case) {
            for m in meant {
                let project = network_project(&m.network).unwrap_or(&self.at.project);
                let found = compute::firewall(c, project, &m.name).await.map_err(err)?;
                let state = match found {
                    None => "missing",
                    Some(f) if holds(&f, &m) => "in-place",
                    Some(_) => "differs",
                };
                rules.insert(m.name.clone(), json!(state));
            }
        }
        let effective = self.effective(&detail, &tag).await?;
        let state = json!({
            "status": detail.status,
            "deletion_protection": detail.deletion_protection,
            "tagged": detail.tags.contains(&tag),
            "external": detail.external,
            "rules": rules,
            "effective": effective,
        });
        Ok((detail, state))
    }

    /// Per interface: which isolation rules are in force on it, and what bypasses them.
    async fn effective(&self, detail: &InstanceDetail, tag: &str) -> Result<Value, ActionError> {
        let mut out = serde_json::Map::new();
        for (nic, network) in &detail.nics {
            let e = compute::effective_firewalls(&self.c, &self.at, nic)
                .await
                .map_err(err)?;
            // Network policies matter only where they come first: read the network only then.
            let network_policies = e.policy_rules.iter().any(|r| r.kind.starts_with("NETWORK"));
            let first = network_policies
                && compute::policies_first(&self.c, network)
                    .await
                    .map_err(err)?;
            let ours: Vec<String> = isolation_rules(tag, &self.case, network)
                .into_iter()
                .map(|r| r.name)
                .filter(|n| e.vpc_rules.contains(n))
                .collect();
            out.insert(
                nic.clone(),
                json!({"rules_in_force": ours, "bypassed_by": bypasses(&e, first)}),
            );
        }
        Ok(Value::Object(out))
    }
}

/// The plan to isolate an instance in `state`; `prior` is what it takes away.
fn isolation_plan(
    at: &InstanceRef,
    case: &str,
    tag: &str,
    detail: &InstanceDetail,
    mut before: Value,
    prior: &Prior,
) -> Plan {
    let mut rules = serde_json::Map::new();
    let mut effective = serde_json::Map::new();
    let per_network = rules_for(detail, tag, case);
    for (_, meant) in &per_network {
        for m in meant {
            rules.insert(m.name.clone(), json!("in-place"));
        }
    }
    for (nic, network) in &detail.nics {
        let names: Vec<String> = isolation_rules(tag, case, network)
            .into_iter()
            .map(|r| r.name)
            .collect();
        effective.insert(
            nic.clone(),
            json!({"rules_in_force": names, "bypassed_by": []}),
        );
    }
    before["prior"] = json!(prior);
    let after = json!({
        "deletion_protection": true,
        "tagged": true,
        "external": [],
        "rules": rules,
        "effective": effective,
    });
    let mut p = Plan::new("isolate-instance", &at.to_string(), before, after, true);
    for (network, _) in &per_network {
        p.notes.push(format!(
            "deny-all rules (in and out, IPv4 and IPv6, priority 0) on tag {tag} in network {network}"
        ));
    }
    for e in &detail.external {
        p.notes.push(format!(
            "external address {} on {} removed (an ephemeral address goes back to Google: a release asks for it and takes a new one if it is gone)",
            e.nat_ip.as_deref().unwrap_or("(none)"),
            e.nic
        ));
    }
    for nic in &detail.ipv6_external {
        p.notes.push(format!(
            "{nic} keeps its external IPv6 address; the ::/0 rules deny its traffic"
        ));
    }
    for sa in &detail.service_accounts {
        p.notes.push(format!(
            "service account {sa} stays attached: tokens already taken from the metadata server stay valid until they expire; contain the account if only this instance uses it"
        ));
    }
    p.notes.push(
        "connections already established may outlive the new rules (connection tracking); suspend or stop the instance to end them for certain".to_string(),
    );
    p
}

impl Action for IsolateInstance {
    fn resource(&self) -> String {
        self.at.to_string()
    }

    fn action(&self) -> &'static str {
        "isolate-instance"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let (detail, before) = self.state().await?;
        unmanaged(&detail, &self.at)?;
        let tag = self.tag();
        let prior = self.carried.clone().unwrap_or_else(|| Prior {
            tag: tag.clone(),
            rules: rules_for(&detail, &tag, &self.case)
                .into_iter()
                .flat_map(|(_, rules)| rules)
                .map(|r| RuleAt {
                    project: network_project(&r.network)
                        .unwrap_or(&self.at.project)
                        .to_string(),
                    name: r.name,
                })
                .collect(),
            tags: detail.tags.iter().filter(|t| **t != tag).cloned().collect(),
            deletion_protection: detail.deletion_protection,
            external: detail.external.clone(),
        });
        Ok(isolation_plan(
            &self.at, &self.case, &tag, &detail, before, &prior,
        ))
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let c = &self.c;
        let at = &self.at;
        let tag = self.tag();
        let detail = compute::instance(c, at).await.map_err(err)?;
        // Invisible first, all at once: nothing the attacker can see until the tag goes on.
        let protect = async {
            if !detail.deletion_protection {
                compute::set_deletion_protection(c, at, true).await?;
            }
            Ok::<_, crate::GcpError>(())
        };
        let rules = rules_for(&detail, &tag, &self.case)
            .into_iter()
            .flat_map(|(_, meant)| meant)
            .map(|m| async move {
                let project = network_project(&m.network).unwrap_or(&at.project);
                match compute::firewall(c, project, &m.name).await? {
                    Some(f) if holds(&f, &m) => return Ok(None),
                    Some(_) => compute::delete_firewall(c, project, &m.name).await?,
                    None => {}
                }
                compute::insert_deny_all(c, project, &m).await?;
                Ok::<_, crate::GcpError>(Some(m.name))
            });
        let (protected, made) =
            futures_util::future::join(protect, futures_util::future::try_join_all(rules)).await;
        protected.map_err(err)?;
        let made: Vec<String> = made.map_err(err)?.into_iter().flatten().collect();
        // The tag puts the rules in force: from here the attacker is cut off.
        if !detail.tags.contains(&tag) {
            let mut tags = detail.tags.clone();
            tags.push(tag.clone());
            compute::set_tags(c, at, tags, detail.tags_fingerprint.clone())
                .await
                .map_err(err)?;
        }
        for e in &detail.external {
            compute::delete_access_config(c, at, e).await.map_err(err)?;
        }
        Ok(json!({"tag": tag, "rules_created": made, "external_removed": detail.external}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        Ok(self.state().await?.1)
    }
}

/// Undo an isolation: the external addresses, tags and deletion protection the instance had
/// before, as the isolation's plan recorded them; the isolation's rules deleted.
pub struct ReleaseInstance {
    pub c: Compute,
    pub at: InstanceRef,
    /// `prior` of the isolation plan, from the ledger.
    pub prior: Prior,
}

impl ReleaseInstance {
    async fn state(&self) -> Result<(InstanceDetail, Value), ActionError> {
        let detail = compute::instance(&self.c, &self.at).await.map_err(err)?;
        let mut rules = BTreeMap::new();
        for r in &self.prior.rules {
            let found = compute::firewall(&self.c, &r.project, &r.name)
                .await
                .map_err(err)?;
            rules.insert(r.name.clone(), json!(found.is_some()));
        }
        Ok((detail.clone(), release_state(&detail, &self.prior, rules)))
    }
}

fn external_nics(ext: &[External]) -> Vec<String> {
    let mut nics: Vec<String> = ext.iter().map(|e| e.nic.clone()).collect();
    nics.sort();
    nics.dedup();
    nics
}

fn release_state(detail: &InstanceDetail, prior: &Prior, rules: BTreeMap<String, Value>) -> Value {
    json!({
        "tagged": detail.tags.contains(&prior.tag),
        "deletion_protection": detail.deletion_protection,
        "external_on": external_nics(&detail.external),
        "external": detail.external,
        "rules": rules,
    })
}

fn release_plan(at: &InstanceRef, prior: &Prior, before: Value) -> Plan {
    let rules: BTreeMap<String, Value> = prior
        .rules
        .iter()
        .map(|r| (r.name.clone(), json!(false)))
        .collect();
    let after = json!({
        "tagged": false,
        "deletion_protection": prior.deletion_protection,
        "external_on": external_nics(&prior.external),
        "rules": rules,
    });
    let mut p = Plan::new("release-instance", &at.to_string(), before, after, false);
    for e in &prior.external {
        p.notes.push(format!(
            "external address on {} asked back as {} (a new ephemeral one if that is gone)",
            e.nic,
            e.nat_ip.as_deref().unwrap_or("any")
        ));
    }
    p
}

impl Action for ReleaseInstance {
    fn resource(&self) -> String {
        self.at.to_string()
    }

    fn action(&self) -> &'static str {
        "release-instance"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let (_, before) = self.state().await?;
        Ok(release_plan(&self.at, &self.prior, before))
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let c = &self.c;
        let at = &self.at;
        let detail = compute::instance(c, at).await.map_err(err)?;
        let mut addresses = Vec::new();
        let has = external_nics(&detail.external);
        for e in &self.prior.external {
            if has.contains(&e.nic) {
                continue;
            }
            // The same address when it is still there to take (a static one is); a new
            // ephemeral one otherwise.
            let same = compute::add_access_config(c, at, e, e.nat_ip.as_deref()).await;
            // Only an address Google will not give back (400, invalid) is replaced by a new
            // one: a refused permission, a quota or a timeout is the step's failure.
            let fresh = match same {
                Ok(()) => false,
                Err(crate::GcpError::Call { message, .. })
                    if e.nat_ip.is_some() && message.contains("HTTP 400") =>
                {
                    compute::add_access_config(c, at, e, None)
                        .await
                        .map_err(err)?;
                    true
                }
                Err(x) => return Err(err(x)),
            };
            addresses.push(json!({"nic": e.nic, "asked": e.nat_ip, "new_address": fresh}));
        }
        if detail.tags.contains(&self.prior.tag) {
            let tags: Vec<String> = detail
                .tags
                .iter()
                .filter(|t| **t != self.prior.tag)
                .cloned()
                .collect();
            compute::set_tags(c, at, tags, detail.tags_fingerprint.clone())
                .await
                .map_err(err)?;
        }
        for r in &self.prior.rules {
            compute::delete_firewall(c, &r.project, &r.name)
                .await
                .map_err(err)?;
        }
        if detail.deletion_protection != self.prior.deletion_protection {
            compute::set_deletion_protection(c, at, self.prior.deletion_protection)
                .await
                .map_err(err)?;
        }
        Ok(json!({"addresses": addresses}))
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        Ok(self.state().await?.1)
    }
}

/// Suspend (memory kept) or stop (memory lost) an instance.
pub struct StopInstance {
    pub c: Compute,
    pub at: InstanceRef,
    pub suspend: bool,
}

/// The plan to suspend or stop an instance found in `status`; an instance already stopped
/// cannot be suspended (its memory is gone).
fn stop_plan(at: &InstanceRef, suspend: bool, status: &str) -> Result<Plan, String> {
    let (action, want) = if suspend {
        ("suspend-instance", "SUSPENDED")
    } else {
        ("stop-instance", "TERMINATED")
    };
    if suspend && status != "RUNNING" && status != "SUSPENDED" {
        return Err(format!(
            "{at} is {status}, not RUNNING: only a running instance can be suspended (its memory kept)"
        ));
    }
    let mut p = Plan::new(
        action,
        &at.to_string(),
        json!({"status": status}),
        json!({"status": want}),
        true,
    );
    p.notes.push(if suspend {
        "memory and device state are kept by Google (and charged for) until the instance is resumed or stopped".to_string()
    } else {
        "memory is lost: suspend instead to keep it, and acquire the disks first".to_string()
    });
    Ok(p)
}

impl Action for StopInstance {
    fn resource(&self) -> String {
        self.at.to_string()
    }

    fn action(&self) -> &'static str {
        if self.suspend {
            "suspend-instance"
        } else {
            "stop-instance"
        }
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let d = compute::instance(&self.c, &self.at).await.map_err(err)?;
        unmanaged(&d, &self.at)?;
        stop_plan(&self.at, self.suspend, &d.status).map_err(ActionError::from)
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        compute::stop(&self.c, &self.at, self.suspend)
            .await
            .map_err(err)?;
        Ok(Value::Null)
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let d = compute::instance(&self.c, &self.at).await.map_err(err)?;
        Ok(json!({"status": d.status}))
    }
}

/// Delete an instance, only once the case's ledger holds a verified acquisition of every
/// disk attached to it; deletion protection is turned off first.
pub struct DeleteInstance {
    pub c: Compute,
    pub at: InstanceRef,
    /// Disks (`projects/P/zones/Z/disks/D`) the case acquired and verified, each with its
    /// snapshot (`projects/P/global/snapshots/S`).
    pub acquired: Vec<(String, String)>,
}

/// The disks of an instance without a copy that holds now: an acquisition verified in the
/// case, whose snapshot still exists, is whole (`READY`) and was taken of this very disk (its
/// id: a disk deleted and made again under the name is another disk). An unreadable source
/// counts as not acquired.
async fn unacquired(
    c: &Compute,
    detail: &InstanceDetail,
    acquired: &[(String, String)],
) -> Result<Vec<String>, ActionError> {
    let mut missing = Vec::new();
    for src in &detail.disks {
        let Some(path) = compute::disk_path(src) else {
            missing.push(src.clone());
            continue;
        };
        let Some((_, snap)) = acquired.iter().find(|(d, _)| *d == path) else {
            missing.push(path);
            continue;
        };
        let parts: Vec<&str> = snap.split('/').collect();
        let held = match parts.as_slice() {
            ["projects", p, "global", "snapshots", n] => {
                let disk = compute::disk(c, &path).await.map_err(err)?;
                compute::snapshot(c, p, n)
                    .await
                    .map_err(err)?
                    .is_some_and(|s| s.status == "READY" && s.source_disk_id == disk.id)
            }
            _ => false,
        };
        if !held {
            missing.push(format!(
                "{path} (its snapshot {snap} is gone, not whole, or of another disk)"
            ));
        }
    }
    Ok(missing)
}

impl Action for DeleteInstance {
    fn resource(&self) -> String {
        self.at.to_string()
    }

    fn action(&self) -> &'static str {
        "delete-instance"
    }

    async fn plan(&self) -> Result<Plan, ActionError> {
        let Some(d) = compute::instance_if_any(&self.c, &self.at)
            .await
            .map_err(err)?
        else {
            return Ok(Plan::new(
                self.action(),
                &self.at.to_string(),
                json!({"exists": false}),
                json!({"exists": false}),
                true,
            ));
        };
        unmanaged(&d, &self.at)?;
        let missing = unacquired(&self.c, &d, &self.acquired).await?;
        if !missing.is_empty() {
            return Err(format!(
                "{} is not deleted: the case holds no verified acquisition of {} (help: `squall acquire gcp instance {} --case CASE --yes` first)",
                self.at,
                missing.join(", "),
                self.at
            )
            .into());
        }
        let mut p = Plan::new(
            self.action(),
            &self.at.to_string(),
            json!({"exists": true, "status": d.status, "deletion_protection": d.deletion_protection, "disks": d.disks}),
            json!({"exists": false}),
            true,
        );
        p.notes.push(
            "memory is lost, and disks set to auto-delete go with the instance: the case's snapshots of them stay".to_string(),
        );
        Ok(p)
    }

    async fn execute(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let d = compute::instance(&self.c, &self.at).await.map_err(err)?;
        // Read again: a disk attached, or a snapshot deleted, since the plan.
        let missing = unacquired(&self.c, &d, &self.acquired).await?;
        if !missing.is_empty() {
            return Err(format!(
                "{} has disks without a verified copy now: {}",
                self.at,
                missing.join(", ")
            )
            .into());
        }
        if d.deletion_protection {
            compute::set_deletion_protection(&self.c, &self.at, false)
                .await
                .map_err(err)?;
        }
        compute::delete_instance(&self.c, &self.at)
            .await
            .map_err(err)?;
        Ok(Value::Null)
    }

    async fn observe(&self, _plan: &Plan) -> Result<Value, ActionError> {
        let gone = compute::instance_if_any(&self.c, &self.at)
            .await
            .map_err(err)?
            .is_none();
        Ok(json!({"exists": !gone}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::compute::PolicyRule;

    fn at() -> InstanceRef {
        InstanceRef::parse(
            "projects/acme-prod/zones/europe-west1-b/instances/web-1",
            None,
            None,
        )
        .unwrap()
    }

    #[test]
    fn the_tag_is_a_valid_network_tag_unique_to_case_and_instance() {
        let t = isolation_tag("C-0001", &at());
        assert!(crate::request::valid_name(&t), "{t}");
        assert_ne!(t, isolation_tag("C-0002", &at()));
        let other = InstanceRef {
            name: "web-2".into(),
            ..at()
        };
        assert_ne!(t, isolation_tag("C-0001", &other));
        assert_eq!(t, isolation_tag("C-0001", &at()));
    }

    #[test]
    fn rules_deny_everything_both_ways_in_both_families_with_valid_names() {
        let net = "https://www.googleapis.com/compute/v1/projects/host-proj/global/networks/shared";
        let rules = isolation_rules("squall-iso-0123456789ab", "C-1", net);
        assert_eq!(rules.len(), 4);
        for r in &rules {
            assert!(crate::request::valid_name(&r.name), "{}", r.name);
            assert_eq!(r.priority, 0);
            assert_eq!(r.action, "deny");
            assert_eq!(r.target_tags, ["squall-iso-0123456789ab"]);
            assert_eq!(r.ranges.len(), 1);
        }
        let dirs: Vec<(&str, &str)> = rules
            .iter()
            .map(|r| (r.direction.as_str(), r.ranges[0].as_str()))
            .collect();
        assert_eq!(
            dirs,
            [
                ("INGRESS", "0.0.0.0/0"),
                ("INGRESS", "::/0"),
                ("EGRESS", "0.0.0.0/0"),
                ("EGRESS", "::/0")
            ]
        );
        // A Shared VPC's rules go to its host project.
        assert_eq!(network_project(net), Some("host-proj"));
        assert_eq!(network_project("global/networks/x"), None);
    }

    #[test]
    fn a_look_alike_rule_does_not_count_as_the_isolation() {
        let meant = &isolation_rules("squall-iso-0123456789ab", "C-1", "n")[0];
        assert!(holds(meant, meant));
        for edit in [
            |r: &mut Rule| r.action = "allow".into(),
            |r: &mut Rule| r.priority = 1,
            |r: &mut Rule| r.disabled = true,
            |r: &mut Rule| r.protocols = vec!["tcp:22".into()],
            |r: &mut Rule| r.target_tags = vec![],
            |r: &mut Rule| r.ranges = vec!["10.0.0.0/8".into()],
            |r: &mut Rule| r.other_filters = vec!["destinationRanges=192.0.2.1/32".into()],
        ] {
            let mut r = meant.clone();
            edit(&mut r);
            assert!(!holds(&r, meant), "{r:?}");
        }
    }

    #[test]
    fn allow_rules_evaluated_before_the_vpc_rules_bypass_the_isolation() {
        let rule = |kind: &str, action: &str| PolicyRule {
            policy: "org-baseline".into(),
            kind: kind.into(),
            priority: 100,
            action: action.into(),
            direction: "INGRESS".into(),
            ranges: vec!["35.235.240.0/20".into()],
        };
        let e = Effective {
            vpc_rules: vec![],
            policy_rules: vec![
                rule("HIERARCHY", "allow"),
                rule("HIERARCHY", "goto_next"),
                rule("HIERARCHY", "deny"),
                rule("NETWORK", "allow"),
            ],
        };
        let b = bypasses(&e, false);
        assert_eq!(b.len(), 1, "{b:?}");
        assert!(
            b[0].contains("35.235.240.0/20") && b[0].contains("INGRESS"),
            "{b:?}"
        );
        // A network policy evaluated before the VPC's rules bypasses too.
        assert_eq!(bypasses(&e, true).len(), 2);
    }

    #[test]
    fn suspending_needs_a_running_instance_and_stopping_twice_changes_nothing() {
        assert!(stop_plan(&at(), true, "TERMINATED").is_err());
        let p = stop_plan(&at(), true, "RUNNING").unwrap();
        assert_eq!(p.action, "suspend-instance");
        assert!(!p.already_done && p.visible_to_attacker);
        assert!(stop_plan(&at(), true, "SUSPENDED").unwrap().already_done);
        assert!(stop_plan(&at(), false, "TERMINATED").unwrap().already_done);
        assert!(!stop_plan(&at(), false, "SUSPENDED").unwrap().already_done);
    }
}

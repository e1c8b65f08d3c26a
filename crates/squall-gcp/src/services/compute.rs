//! Compute Engine: instances, VPC firewall rules, effective firewalls. Each function is one
//! call (a mutation waited for until its operation is done, within a bound), returning plain
//! values; every mutation carries a fresh request id, so retrying it cannot do it twice.

use std::time::Duration;

use google_cloud_compute_v1::client::{
    Disks, Firewalls, Images, Instances, InterconnectAttachments, Networks, Projects, RegionDisks,
    Snapshots, Subnetworks, VpnTunnels,
};
use google_cloud_compute_v1::model;
use google_cloud_gax::options::RequestOptionsBuilder;
use google_cloud_lro::Poller;
use serde::{Deserialize, Serialize};

use crate::request::InstanceRef;
use crate::{Connection, GcpError, on_text};

/// How long one operation (a tag change, a rule insert, a stop) is waited for.
pub const OPERATION_WAIT: Duration = Duration::from_secs(600);

/// The Compute clients of a run.
#[derive(Clone, Debug)]
pub struct Compute {
    pub instances: Instances,
    pub firewalls: Firewalls,
    pub projects: Projects,
    pub disks: Disks,
    pub region_disks: RegionDisks,
    pub snapshots: Snapshots,
    pub networks: Networks,
    pub images: Images,
    pub subnetworks: Subnetworks,
    pub interconnect_attachments: InterconnectAttachments,
    pub vpn_tunnels: VpnTunnels,
}

impl Compute {
    pub async fn new(conn: &Connection) -> Result<Compute, GcpError> {
        Ok(Compute {
            instances: conn.client(Instances::builder()).await?,
            firewalls: conn.client(Firewalls::builder()).await?,
            projects: conn.client(Projects::builder()).await?,
            disks: conn.client(Disks::builder()).await?,
            region_disks: conn.client(RegionDisks::builder()).await?,
            snapshots: conn.client(Snapshots::builder()).await?,
            networks: conn.client(Networks::builder()).await?,
            images: conn.client(Images::builder()).await?,
            subnetworks: conn.client(Subnetworks::builder()).await?,
            interconnect_attachments: conn.client(InterconnectAttachments::builder()).await?,
            vpn_tunnels: conn.client(VpnTunnels::builder()).await?,
        })
    }
}

/// An external IPv4 address on an interface (an access config), as isolation records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct External {
    pub nic: String,
    /// The access config's name (`External NAT`, or whatever it was created with).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_tier: Option<String>,
}

/// What an instance is, as far as the verbs care.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstanceDetail {
    pub status: String,
    pub tags: Vec<String>,
    /// The tags' fingerprint, as the API gave it (setTags must send it back).
    pub tags_fingerprint: Option<Vec<u8>>,
    pub deletion_protection: bool,
    /// Interface name → its network's URL.
    pub nics: Vec<(String, String)>,
    pub external: Vec<External>,
    /// Interfaces with an external IPv6 address.
    pub ipv6_external: Vec<String>,
    pub service_accounts: Vec<String>,
    /// Attached disks' source URLs.
    pub disks: Vec<String>,
    /// The boot disk: its device name and source URL.
    pub boot: Option<(String, String)>,
    pub metadata: Metadata,
}

/// Instance or project metadata: its items in order, and the fingerprint a change must send
/// back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    pub items: Vec<(String, String)>,
    pub fingerprint: Option<Vec<u8>>,
}

impl Metadata {
    fn read(m: Option<model::Metadata>) -> Metadata {
        let Some(m) = m else {
            return Metadata::default();
        };
        Metadata {
            items: m
                .items
                .into_iter()
                .map(|i| (i.key.unwrap_or_default(), i.value.unwrap_or_default()))
                .collect(),
            fingerprint: m.fingerprint.map(|f| f.to_vec()),
        }
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn body(items: &[(String, String)], fingerprint: Option<Vec<u8>>) -> model::Metadata {
        let mut m = model::Metadata::new().set_items(items.iter().map(|(k, v)| {
            model::metadata::Items::new()
                .set_key(k.clone())
                .set_value(v.clone())
        }));
        if let Some(f) = fingerprint {
            m = m.set_fingerprint(::bytes::Bytes::from(f));
        }
        m
    }
}

fn request_id() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the system's random source");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Why an operation did not come back: the call failed, or the wait gave up.
enum Unsettled {
    Call(google_cloud_gax::error::Error),
    Timeout,
}

/// Starts a call and waits for its operation, within [`OPERATION_WAIT`].
async fn settle<P>(poller: P) -> Result<model::Operation, Unsettled>
where
    P: Poller<model::Operation, model::Operation>,
{
    tokio::time::timeout(OPERATION_WAIT, poller.until_done())
        .await
        .map_err(|_| Unsettled::Timeout)?
        .map_err(Unsettled::Call)
}

/// Waits for an operation and turns an error it ended with into the call's error.
async fn wait<P>(call: &'static str, on: &str, poller: P) -> Result<(), GcpError>
where
    P: Poller<model::Operation, model::Operation>,
{
    let op = settle(poller).await.map_err(|u| unsettled(call, on, u))?;
    operation_error(call, on, &op)
}

fn unsettled(call: &'static str, on: &str, u: Unsettled) -> GcpError {
    match u {
        Unsettled::Call(e) => GcpError::call(call, on, e),
        Unsettled::Timeout => GcpError::operation(
            call,
            on,
            format!(
                "its operation was not done after {} s (it may still finish: read the resource again)",
                OPERATION_WAIT.as_secs()
            ),
        ),
    }
}

fn operation_error(call: &'static str, on: &str, op: &model::Operation) -> Result<(), GcpError> {
    let errors: Vec<String> = op
        .error
        .as_ref()
        .map(|e| {
            e.errors
                .iter()
                .map(|x| {
                    format!(
                        "{}{}",
                        x.code
                            .as_deref()
                            .map_or(String::new(), |c| format!("{c}: ")),
                        x.message.as_deref().unwrap_or("no message")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if errors.is_empty() && op.http_error_status_code.is_none_or(|c| c < 300) {
        return Ok(());
    }
    let mut message = errors.join("; ");
    if let Some(c) = op.http_error_status_code {
        message = format!("HTTP {c} {message}");
    }
    Err(GcpError::operation(
        call,
        on,
        format!("the operation failed: {}", message.trim()),
    ))
}

pub(crate) fn is_not_found(e: &google_cloud_gax::error::Error) -> bool {
    e.http_status_code() == Some(404)
        || e.status()
            .is_some_and(|s| s.code == google_cloud_gax::error::rpc::Code::NotFound)
}

/// `compute.instances.get`.
pub async fn instance(c: &Compute, at: &InstanceRef) -> Result<InstanceDetail, GcpError> {
    instance_if_any(c, at).await?.ok_or_else(|| GcpError::Call {
        call: "compute.instances.get",
        on: on_text(&at.to_string()),
        message: "HTTP 404 NotFound: no such instance".to_string(),
    })
}

fn detail(i: model::Instance) -> InstanceDetail {
    let mut d = InstanceDetail {
        status: i
            .status
            .as_ref()
            .and_then(|s| s.name())
            .unwrap_or("UNKNOWN")
            .to_string(),
        deletion_protection: i.deletion_protection.unwrap_or(false),
        ..InstanceDetail::default()
    };
    if let Some(t) = i.tags {
        d.tags = t.items;
        d.tags_fingerprint = t.fingerprint.map(|f| f.to_vec());
    }
    for nic in i.network_interfaces {
        let name = nic.name.unwrap_or_default();
        d.nics
            .push((name.clone(), nic.network.clone().unwrap_or_default()));
        for a in nic.access_configs {
            d.external.push(External {
                nic: name.clone(),
                name: a.name.unwrap_or_default(),
                nat_ip: a.nat_ip,
                network_tier: a
                    .network_tier
                    .as_ref()
                    .and_then(|t| t.name())
                    .map(str::to_string),
            });
        }
        if !nic.ipv_6_access_configs.is_empty() {
            d.ipv6_external.push(name);
        }
    }
    d.service_accounts = i
        .service_accounts
        .into_iter()
        .filter_map(|s| s.email)
        .collect();
    d.boot = i
        .disks
        .iter()
        .find(|d| d.boot == Some(true))
        .and_then(|d| Some((d.device_name.clone()?, d.source.clone()?)));
    d.disks = i.disks.into_iter().filter_map(|d| d.source).collect();
    d.metadata = Metadata::read(i.metadata);
    d
}

/// `compute.instances.setMetadata`: every item, sent with the fingerprint it was read with.
pub async fn set_instance_metadata(
    c: &Compute,
    at: &InstanceRef,
    items: &[(String, String)],
    fingerprint: Option<Vec<u8>>,
) -> Result<(), GcpError> {
    let p = c
        .instances
        .set_metadata()
        .set_project(&at.project)
        .set_zone(&at.zone)
        .set_instance(&at.name)
        .set_body(Metadata::body(items, fingerprint))
        .set_request_id(request_id())
        .with_idempotency(true)
        .poller();
    wait("compute.instances.setMetadata", &at.to_string(), p).await
}

/// `compute.projects.get`'s common instance metadata (project-wide SSH keys, OS Login).
pub async fn project_metadata(c: &Compute, project: &str) -> Result<Metadata, GcpError> {
    let p = c
        .projects
        .get()
        .set_project(project)
        .send()
        .await
        .map_err(|e| GcpError::call("compute.projects.get", &format!("projects/{project}"), e))?;
    Ok(Metadata::read(p.common_instance_metadata))
}

/// `compute.projects.setCommonInstanceMetadata`.
pub async fn set_project_metadata(
    c: &Compute,
    project: &str,
    items: &[(String, String)],
    fingerprint: Option<Vec<u8>>,
) -> Result<(), GcpError> {
    let p = c
        .projects
        .set_common_instance_metadata()
        .set_project(project)
        .set_body(Metadata::body(items, fingerprint))
        .set_request_id(request_id())
        .with_idempotency(true)
        .poller();
    wait(
        "compute.projects.setCommonInstanceMetadata",
        &format!("projects/{project}"),
        p,
    )
    .await
}

/// `compute.instances.setTags`: the whole list, sent with the fingerprint it was read with
/// (a concurrent change makes it fail rather than be overwritten).
pub async fn set_tags(
    c: &Compute,
    at: &InstanceRef,
    tags: Vec<String>,
    fingerprint: Option<Vec<u8>>,
) -> Result<(), GcpError> {
    let mut body = model::Tags::new().set_items(tags);
    if let Some(f) = fingerprint {
        body = body.set_fingerprint(::bytes::Bytes::from(f));
    }
    let p = c
        .instances
        .set_tags()
        .set_project(&at.project)
        .set_zone(&at.zone)
        .set_instance(&at.name)
        .set_body(body)
        .set_request_id(request_id())
        .with_idempotency(true)
        .poller();
    wait("compute.instances.setTags", &at.to_string(), p).await
}

/// `compute.instances.deleteAccessConfig`.
pub async fn delete_access_config(
    c: &Compute,
    at: &InstanceRef,
    ext: &External,
) -> Result<(), GcpError> {
    let p = c
        .instances
        .delete_access_config()
        .set_project(&at.project)
        .set_zone(&at.zone)
        .set_instance(&at.name)
        .set_network_interface(&ext.nic)
        .set_access_config(&ext.name)
        .set_request_id(request_id())
        .with_idempotency(true)
        .poller();
    wait("compute.instances.deleteAccessConfig", &at.to_string(), p).await
}

/// `compute.instances.addAccessConfig`: the address given (a static one comes back), or a
/// new ephemeral one when `nat_ip` is none.
pub async fn add_access_config(
    c: &Compute,
    at: &InstanceRef,
    ext: &External,
    nat_ip: Option<&str>,
) -> Result<(), GcpError> {
    let mut body = model::AccessConfig::new()
        .set_name(ext.name.clone())
        .set_type(model::access_config::Type::OneToOneNat);
    if let Some(ip) = nat_ip {
        body = body.set_nat_ip(ip.to_string());
    }
    if let Some(t) = &ext.network_tier {
        body = body.set_network_tier(model::access_config::NetworkTier::from(t.as_str()));
    }
    let p = c
        .instances
        .add_access_config()
        .set_project(&at.project)
        .set_zone(&at.zone)
        .set_instance(&at.name)
        .set_network_interface(&ext.nic)
        .set_body(body)
        .set_request_id(request_id())
        .with_idempotency(true)
        .poller();
    wait("compute.instances.addAccessConfig", &at.to_string(), p).await
}

/// `compute.instances.setDeletionProtection`.
pub async fn set_deletion_protection(
    c: &Compute,
    at: &InstanceRef,
    on: bool,
) -> Result<(), GcpError> {
    let p = c
        .instances
        .set_deletion_protection()
        .set_project(&at.project)
        .set_zone(&at.zone)
        .set_resource(&at.name)
        .set_deletion_protection(on)
        .set_request_id(request_id())
        .with_idempotency(true)
        .poller();
    wait(
        "compute.instances.setDeletionProtection",
        &at.to_string(),
        p,
    )
    .await
}

/// `compute.instances.stop` (memory lost) or `compute.instances.suspend` (memory kept).
pub async fn stop(c: &Compute, at: &InstanceRef, suspend: bool) -> Result<(), GcpError> {
    let on = at.to_string();
    if suspend {
        let p = c
            .instances
            .suspend()
            .set_project(&at.project)
            .set_zone(&at.zone)
            .set_instance(&at.name)
            .set_request_id(request_id())
            .with_idempotency(true)
            .poller();
        wait("compute.instances.suspend", &on, p).await
    } else {
        let p = c
            .instances
            .stop()
            .set_project(&at.project)
            .set_zone(&at.zone)
            .set_instance(&at.name)
            .set_request_id(request_id())
            .with_idempotency(true)
            .poller();
        wait("compute.instances.stop", &on, p).await
    }
}

/// A firewall policy rule in front of an interface, as far as isolation cares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRule {
    /// The policy's display name (or its id).
    pub policy: String,
    /// `HIERARCHY`, `NETWORK`, `NETWORK_REGIONAL`, `SYSTEM_GLOBAL`, ...
    pub kind: String,
    pub priority: i32,
    pub action: String,
    pub direction: String,
    pub ranges: Vec<String>,
}

/// What applies to one interface: the VPC rules' names, and the policy rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effective {
    pub vpc_rules: Vec<String>,
    pub policy_rules: Vec<PolicyRule>,
}

/// `compute.instances.getEffectiveFirewalls` for one interface.
pub async fn effective_firewalls(
    c: &Compute,
    at: &InstanceRef,
    nic: &str,
) -> Result<Effective, GcpError> {
    let r = c
        .instances
        .get_effective_firewalls()
        .set_project(&at.project)
        .set_zone(&at.zone)
        .set_instance(&at.name)
        .set_network_interface(nic)
        .send()
        .await
        .map_err(|e| {
            GcpError::call(
                "compute.instances.getEffectiveFirewalls",
                &format!("{at} {nic}"),
                e,
            )
        })?;
    let mut out = Effective {
        vpc_rules: r.firewalls.into_iter().filter_map(|f| f.name).collect(),
        ..Effective::default()
    };
    for p in r.firewall_policys {
        let policy = p.short_name.clone().or(p.name.clone()).unwrap_or_default();
        let kind = p
            .r#type
            .as_ref()
            .and_then(|t| t.name())
            .unwrap_or("UNKNOWN")
            .to_string();
        for rule in p.rules {
            if rule.disabled == Some(true) {
                continue;
            }
            let m = rule.r#match.unwrap_or_default();
            let mut ranges = m.src_ip_ranges;
            ranges.extend(m.dest_ip_ranges);
            out.policy_rules.push(PolicyRule {
                policy: policy.clone(),
                kind: kind.clone(),
                priority: rule.priority.unwrap_or_default(),
                action: rule.action.unwrap_or_default(),
                direction: rule
                    .direction
                    .as_ref()
                    .and_then(|d| d.name())
                    .unwrap_or_default()
                    .to_string(),
                ranges,
            });
        }
    }
    Ok(out)
}

/// A VPC firewall rule, as far as the verbs care.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    /// The network's URL.
    pub network: String,
    pub direction: String,
    pub priority: i32,
    /// `deny` or `allow`, with its protocols and ports as `tcp:22`, `all`.
    pub action: String,
    pub protocols: Vec<String>,
    pub ranges: Vec<String>,
    pub target_tags: Vec<String>,
    pub disabled: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Every other filter the rule has, as `field=value,value` (destination ranges of an
    /// ingress rule, source tags, source and target service accounts): a rule with any of
    /// them applies to less than its ranges and tags say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_filters: Vec<String>,
    /// Whether it logs the connections it matches.
    #[serde(default)]
    pub logging: bool,
}

fn protocols(ip: Option<String>, ports: Vec<String>) -> Vec<String> {
    let ip = ip.unwrap_or_default();
    if ports.is_empty() {
        vec![ip]
    } else {
        ports.into_iter().map(|p| format!("{ip}:{p}")).collect()
    }
}

fn rule(f: model::Firewall) -> Rule {
    let (action, protocols) = if f.denied.is_empty() {
        (
            "allow",
            f.allowed
                .into_iter()
                .flat_map(|a| protocols(a.ip_protocol, a.ports))
                .collect(),
        )
    } else {
        (
            "deny",
            f.denied
                .into_iter()
                .flat_map(|a| protocols(a.ip_protocol, a.ports))
                .collect(),
        )
    };
    let direction = f
        .direction
        .as_ref()
        .and_then(|d| d.name())
        .unwrap_or("INGRESS")
        .to_string();
    // The ranges the rule is about: where traffic comes from (ingress) or goes to (egress);
    // every other filter kept beside them, by name.
    let (ranges, other_ranges, other_name) = if direction == "EGRESS" {
        (f.destination_ranges, f.source_ranges, "sourceRanges")
    } else {
        (f.source_ranges, f.destination_ranges, "destinationRanges")
    };
    let mut other_filters = Vec::new();
    for (field, values) in [
        (other_name, &other_ranges),
        ("sourceTags", &f.source_tags),
        ("sourceServiceAccounts", &f.source_service_accounts),
        ("targetServiceAccounts", &f.target_service_accounts),
    ] {
        if !values.is_empty() {
            other_filters.push(format!("{field}={}", values.join(",")));
        }
    }
    Rule {
        name: f.name.unwrap_or_default(),
        network: f.network.unwrap_or_default(),
        direction,
        priority: f.priority.unwrap_or(1000),
        action: action.to_string(),
        protocols,
        ranges,
        target_tags: f.target_tags,
        disabled: f.disabled.unwrap_or(false),
        description: f.description.unwrap_or_default(),
        other_filters,
        logging: f.log_config.and_then(|l| l.enable).unwrap_or(false),
    }
}

/// `compute.firewalls.get`; none when it does not exist.
pub async fn firewall(c: &Compute, project: &str, name: &str) -> Result<Option<Rule>, GcpError> {
    match c
        .firewalls
        .get()
        .set_project(project)
        .set_firewall(name)
        .send()
        .await
    {
        Ok(f) => Ok(Some(rule(f))),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(GcpError::call(
            "compute.firewalls.get",
            &format!("projects/{project}/global/firewalls/{name}"),
            e,
        )),
    }
}

/// `compute.firewalls.insert` of a deny rule for every protocol.
pub async fn insert_deny_all(c: &Compute, project: &str, r: &Rule) -> Result<(), GcpError> {
    let mut body = model::Firewall::new()
        .set_name(r.name.clone())
        .set_network(r.network.clone())
        .set_priority(r.priority)
        .set_direction(model::firewall::Direction::from(r.direction.as_str()))
        .set_denied([model::firewall::Denied::new().set_ip_protocol("all")])
        .set_target_tags(r.target_tags.clone())
        .set_description(r.description.clone())
        .set_disabled(false);
    body = if r.direction == "EGRESS" {
        body.set_destination_ranges(r.ranges.clone())
    } else {
        body.set_source_ranges(r.ranges.clone())
    };
    let p = c
        .firewalls
        .insert()
        .set_project(project)
        .set_body(body)
        .set_request_id(request_id())
        .with_idempotency(true)
        .poller();
    wait(
        "compute.firewalls.insert",
        &format!("projects/{project}/global/firewalls/{}", r.name),
        p,
    )
    .await
}

/// `compute.firewalls.delete`; a rule already gone is fine.
pub async fn delete_firewall(c: &Compute, project: &str, name: &str) -> Result<(), GcpError> {
    let on = format!("projects/{project}/global/firewalls/{name}");
    let p = c
        .firewalls
        .delete()
        .set_project(project)
        .set_firewall(name)
        .set_request_id(request_id())
        .with_idempotency(true)
        .poller();
    match settle(p).await {
        Err(Unsettled::Call(e)) if is_not_found(&e) => Ok(()),
        Err(u) => Err(unsettled("compute.firewalls.delete", &on, u)),
        Ok(op) => operation_error("compute.firewalls.delete", &on, &op),
    }
}

/// A disk, as acquisition cares: what identifies it, and its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disk {
    /// `projects/P/zones/Z/disks/D` or `projects/P/regions/R/disks/D`.
    pub path: String,
    pub id: String,
    pub size_gb: i64,
    pub regional: bool,
    pub labels: std::collections::BTreeMap<String, String>,
    /// What a label change must send back.
    pub label_fingerprint: Option<Vec<u8>>,
    /// The snapshot it was made from, if any (its URL), and that snapshot's id (a snapshot
    /// taken again under the same name has another).
    pub source_snapshot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_snapshot_id: Option<String>,
    /// Its type's URL (`.../diskTypes/pd-balanced`): a restored boot disk must be one the
    /// machine type can boot from.
    pub disk_type: Option<String>,
    /// The customer-managed key it is encrypted with, if any.
    pub kms_key: Option<String>,
}

/// A disk's path from an attached disk's `source` URL, checked part by part.
pub fn disk_path(source: &str) -> Option<String> {
    let path = &source[source.find("projects/")?..];
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["projects", p, "zones" | "regions", l, "disks", d]
            if crate::request::valid_project(p)
                && crate::request::valid_name(l)
                && crate::request::valid_name(d) =>
        {
            Some(path.to_string())
        }
        _ => None,
    }
}

/// `compute.disks.get` or `compute.regionDisks.get`, by the disk's path.
async fn disk_read(c: &Compute, path: &str) -> Result<Option<Disk>, GcpError> {
    let parts: Vec<&str> = path.split('/').collect();
    let (call, read) = match parts.as_slice() {
        ["projects", p, "zones", z, "disks", d] => (
            "compute.disks.get",
            c.disks
                .get()
                .set_project(*p)
                .set_zone(*z)
                .set_disk(*d)
                .send()
                .await,
        ),
        ["projects", p, "regions", r, "disks", d] => (
            "compute.regionDisks.get",
            c.region_disks
                .get()
                .set_project(*p)
                .set_region(*r)
                .set_disk(*d)
                .send()
                .await,
        ),
        _ => return Err(GcpError::Invalid(format!("{path:?} is not a disk"))),
    };
    let d = match read {
        Ok(d) => d,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(GcpError::call(call, path, e)),
    };
    Ok(Some(Disk {
        path: path.to_string(),
        id: d.id.map(|i| i.to_string()).unwrap_or_default(),
        size_gb: d.size_gb.unwrap_or_default(),
        regional: parts[2] == "regions",
        labels: d.labels.into_iter().collect(),
        label_fingerprint: d.label_fingerprint.map(|f| f.to_vec()),
        source_snapshot: d.source_snapshot,
        source_snapshot_id: d.source_snapshot_id,
        disk_type: d.r#type,
        kms_key: d.disk_encryption_key.and_then(|k| k.kms_key_name),
    }))
}

/// A disk, none when it does not exist.
pub async fn disk_if_any(c: &Compute, path: &str) -> Result<Option<Disk>, GcpError> {
    disk_read(c, path).await
}

/// A disk, an error naming it when it does not exist.
pub async fn disk(c: &Compute, path: &str) -> Result<Disk, GcpError> {
    disk_read(c, path).await?.ok_or_else(|| GcpError::Call {
        call: "compute.disks.get",
        on: on_text(path),
        message: "HTTP 404 NotFound: no such disk".to_string(),
    })
}

/// `compute.disks.insert` of a zonal disk made from a snapshot, labelled, of the type (and
/// with the customer-managed key) of the disk it replaces.
pub async fn insert_disk_from_snapshot(
    c: &Compute,
    project: &str,
    zone: &str,
    name: &str,
    snapshot: &str,
    labels: &[(String, String)],
    like: Option<&Disk>,
) -> Result<(), GcpError> {
    let mut body = model::Disk::new()
        .set_name(name.to_string())
        .set_source_snapshot(snapshot.to_string())
        .set_labels(labels.iter().cloned());
    if let Some(t) = like.and_then(|d| d.disk_type.as_deref()) {
        // The same type, in this zone (a type's URL names its zone).
        let kind = t.rsplit('/').next().unwrap_or(t);
        body = body.set_type(format!("projects/{project}/zones/{zone}/diskTypes/{kind}"));
    }
    if let Some(k) = like.and_then(|d| d.kms_key.as_deref()) {
        body =
            body.set_disk_encryption_key(model::CustomerEncryptionKey::new().set_kms_key_name(k));
    }
    let p = c
        .disks
        .insert()
        .set_project(project)
        .set_zone(zone)
        .set_body(body)
        .set_request_id(request_id())
        .with_idempotency(true)
        .poller();
    let on = format!("projects/{project}/zones/{zone}/disks/{name}");
    wait("compute.disks.insert", &on, p).await
}

/// `compute.instances.detachDisk` of the disk attached as `device`.
pub async fn detach_disk(c: &Compute, at: &InstanceRef, device: &str) -> Result<(), GcpError> {
    let p = c
        .instances
        .detach_disk()
        .set_project(&at.project)
        .set_zone(&at.zone)
        .set_instance(&at.name)
        .set_device_name(device)
        .set_request_id(request_id())
        .with_idempotency(true)
        .poller();
    wait("compute.instances.detachDisk", &at.to_string(), p).await
}

/// `compute.instances.attachDisk` of `source` as the boot disk, attached as `device`.
pub async fn attach_boot_disk(
    c: &Compute,
    at: &InstanceRef,
    source: &str,
    device: &str,
) -> Result<(), GcpError> {
    let body = model::AttachedDisk::new()
        .set_source(source.to_string())
        .set_device_name(device.to_string())
        .set_boot(true)
        .set_auto_delete(false);
    let p = c
        .instances
        .attach_disk()
        .set_project(&at.project)
        .set_zone(&at.zone)
        .set_instance(&at.name)
        .set_body(body)
        .set_request_id(request_id())
        .with_idempotency(true)
        .poller();
    wait("compute.instances.attachDisk", &at.to_string(), p).await
}

/// `compute.disks.setLabels` of a zonal disk: its labels with `add` put in, sent with the
/// fingerprint it was read with.
pub async fn add_disk_labels(
    c: &Compute,
    d: &Disk,
    add: &[(String, String)],
) -> Result<(), GcpError> {
    let parts: Vec<&str> = d.path.split('/').collect();
    let ["projects", p, "zones", z, "disks", name] = parts.as_slice() else {
        return Err(GcpError::Invalid(format!("{} is not a zonal disk", d.path)));
    };
    let mut labels = d.labels.clone();
    labels.extend(add.iter().cloned());
    let mut body = model::ZoneSetLabelsRequest::new().set_labels(labels);
    if let Some(f) = &d.label_fingerprint {
        body = body.set_label_fingerprint(::bytes::Bytes::from(f.clone()));
    }
    let p = c
        .disks
        .set_labels()
        .set_project(*p)
        .set_zone(*z)
        .set_resource(*name)
        .set_body(body)
        .set_request_id(request_id())
        .with_idempotency(true)
        .poller();
    wait("compute.disks.setLabels", &d.path, p).await
}

/// A snapshot, as acquisition records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub name: String,
    pub id: String,
    pub status: String,
    /// The source disk's URL and id, as Compute recorded them.
    pub source_disk: String,
    pub source_disk_id: String,
    pub disk_size_gb: i64,
    pub storage_bytes: i64,
    pub created: String,
    pub labels: std::collections::BTreeMap<String, String>,
}

/// `compute.snapshots.get`; none when there is no such snapshot.
pub async fn snapshot(
    c: &Compute,
    project: &str,
    name: &str,
) -> Result<Option<Snapshot>, GcpError> {
    match c
        .snapshots
        .get()
        .set_project(project)
        .set_snapshot(name)
        .send()
        .await
    {
        Ok(s) => Ok(Some(Snapshot {
            name: s.name.unwrap_or_default(),
            id: s.id.map(|i| i.to_string()).unwrap_or_default(),
            status: s
                .status
                .as_ref()
                .and_then(|x| x.name())
                .unwrap_or("UNKNOWN")
                .to_string(),
            source_disk: s.source_disk.unwrap_or_default(),
            source_disk_id: s.source_disk_id.unwrap_or_default(),
            disk_size_gb: s.disk_size_gb.unwrap_or_default(),
            storage_bytes: s.storage_bytes.unwrap_or_default(),
            created: s.creation_timestamp.unwrap_or_default(),
            labels: s.labels.into_iter().collect(),
        })),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(GcpError::call(
            "compute.snapshots.get",
            &format!("projects/{project}/global/snapshots/{name}"),
            e,
        )),
    }
}

/// `compute.snapshots.insert` in `project` of the disk at `source` (which may be in another
/// project: the snapshot is made where it is asked for).
pub async fn insert_snapshot(
    c: &Compute,
    project: &str,
    name: &str,
    source: &str,
    labels: &[(String, String)],
    description: &str,
    bound: Duration,
) -> Result<(), GcpError> {
    let body = model::Snapshot::new()
        .set_name(name.to_string())
        .set_source_disk(source.to_string())
        .set_description(description.to_string())
        .set_labels(labels.iter().cloned());
    let p = c
        .snapshots
        .insert()
        .set_project(project)
        .set_body(body)
        .set_request_id(request_id())
        .with_idempotency(true)
        .poller();
    let on = format!("projects/{project}/global/snapshots/{name}");
    let op = tokio::time::timeout(bound, p.until_done())
        .await
        .map_err(|_| {
            GcpError::operation(
                "compute.snapshots.insert",
                &on,
                format!(
                    "not done after {} s (it may still finish: run the acquisition again)",
                    bound.as_secs()
                ),
            )
        })?
        .map_err(|e| GcpError::call("compute.snapshots.insert", &on, e))?;
    operation_error("compute.snapshots.insert", &on, &op)
}

/// `compute.instances.get`, none when the instance is gone.
pub async fn instance_if_any(
    c: &Compute,
    at: &InstanceRef,
) -> Result<Option<InstanceDetail>, GcpError> {
    match c
        .instances
        .get()
        .set_project(&at.project)
        .set_zone(&at.zone)
        .set_instance(&at.name)
        .send()
        .await
    {
        Ok(i) => Ok(Some(detail(i))),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(GcpError::call("compute.instances.get", &at.to_string(), e)),
    }
}

/// `compute.instances.delete` (its disks go with it when they are set to auto-delete); one
/// already gone is not an error.
pub async fn delete_instance(c: &Compute, at: &InstanceRef) -> Result<(), GcpError> {
    let p = c
        .instances
        .delete()
        .set_project(&at.project)
        .set_zone(&at.zone)
        .set_instance(&at.name)
        .set_request_id(request_id())
        .with_idempotency(true)
        .poller();
    let on = at.to_string();
    match settle(p).await {
        Err(Unsettled::Call(e)) if is_not_found(&e) => Ok(()),
        Err(u) => Err(unsettled("compute.instances.delete", &on, u)),
        Ok(op) => operation_error("compute.instances.delete", &on, &op),
    }
}

/// A short-lived instance that reads one disk: what `instances.insert` is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worker {
    pub at: InstanceRef,
    pub machine_type: String,
    /// The boot image (`projects/debian-cloud/global/images/family/debian-12`).
    pub boot_image: String,
    /// The disk read, attached read-only: `projects/P/zones/Z/disks/D`.
    pub evidence: String,
    /// The device name it is attached as (`/dev/disk/by-id/google-NAME` inside).
    pub device: String,
    /// `projects/P/regions/R/subnetworks/S`, or none for the project's `default` network.
    pub subnet: Option<String>,
    pub service_account: String,
    pub scopes: Vec<String>,
    pub metadata: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
}

/// `compute.instances.insert` of a worker: no external address (it reaches Google's APIs
/// through Private Google Access), the evidence disk attached read-only and kept when the
/// worker is deleted, its boot disk deleted with it.
pub async fn insert_worker(c: &Compute, w: &Worker) -> Result<(), GcpError> {
    use model::attached_disk::Mode;
    let zone = &w.at.zone;
    let boot = model::AttachedDisk::new()
        .set_boot(true)
        .set_auto_delete(true)
        .set_initialize_params(
            model::AttachedDiskInitializeParams::new().set_source_image(w.boot_image.clone()),
        );
    let evidence = model::AttachedDisk::new()
        .set_source(w.evidence.clone())
        .set_device_name(w.device.clone())
        .set_mode(Mode::ReadOnly)
        .set_auto_delete(false);
    let nic = match &w.subnet {
        Some(s) => model::NetworkInterface::new().set_subnetwork(s.clone()),
        None => model::NetworkInterface::new().set_network("global/networks/default"),
    };
    let body = model::Instance::new()
        .set_name(w.at.name.clone())
        .set_machine_type(format!("zones/{zone}/machineTypes/{}", w.machine_type))
        .set_disks([boot, evidence])
        .set_network_interfaces([nic])
        .set_service_accounts([model::ServiceAccount::new()
            .set_email(w.service_account.clone())
            .set_scopes(w.scopes.clone())])
        .set_metadata(Metadata::body(&w.metadata, None))
        .set_labels(w.labels.iter().cloned());
    let p = c
        .instances
        .insert()
        .set_project(&w.at.project)
        .set_zone(zone)
        .set_body(body)
        .set_request_id(request_id())
        .with_idempotency(true)
        .poller();
    wait("compute.instances.insert", &w.at.to_string(), p).await
}

/// `compute.disks.delete` of a zonal disk; one already gone is not an error.
pub async fn delete_disk(c: &Compute, path: &str) -> Result<(), GcpError> {
    let parts: Vec<&str> = path.split('/').collect();
    let ["projects", p, "zones", z, "disks", d] = parts.as_slice() else {
        return Err(GcpError::Invalid(format!("{path:?} is not a zonal disk")));
    };
    let poller = c
        .disks
        .delete()
        .set_project(*p)
        .set_zone(*z)
        .set_disk(*d)
        .set_request_id(request_id())
        .with_idempotency(true)
        .poller();
    match settle(poller).await {
        Err(Unsettled::Call(e)) if is_not_found(&e) => Ok(()),
        Err(u) => Err(unsettled("compute.disks.delete", path, u)),
        Ok(op) => operation_error("compute.disks.delete", path, &op),
    }
}

/// `compute.firewalls.list`: every VPC firewall rule of a project.
pub async fn firewalls(c: &Compute, project: &str) -> Result<Vec<Rule>, GcpError> {
    use google_cloud_gax::paginator::ItemPaginator;
    let mut items = c.firewalls.list().set_project(project).by_item();
    let mut out = Vec::new();
    while let Some(f) = items.next().await {
        let f = f.map_err(|e| {
            GcpError::call("compute.firewalls.list", &format!("projects/{project}"), e)
        })?;
        out.push(rule(f));
    }
    Ok(out)
}

/// `compute.firewalls.patch` of an ingress rule's source ranges only.
pub async fn set_source_ranges(
    c: &Compute,
    project: &str,
    name: &str,
    ranges: &[String],
) -> Result<(), GcpError> {
    let p = c
        .firewalls
        .patch()
        .set_project(project)
        .set_firewall(name)
        .set_body(model::Firewall::new().set_source_ranges(ranges.iter().cloned()))
        .set_request_id(request_id())
        .with_idempotency(true)
        .poller();
    wait(
        "compute.firewalls.patch",
        &format!("projects/{project}/global/firewalls/{name}"),
        p,
    )
    .await
}

/// Whether a network evaluates its network firewall policies before its VPC rules
/// (`networkFirewallPolicyEnforcementOrder` = `BEFORE_CLASSIC_FIREWALL`), from `compute.networks.get`.
pub async fn policies_first(c: &Compute, network: &str) -> Result<bool, GcpError> {
    let path = &network[network.find("projects/").unwrap_or(0)..];
    let parts: Vec<&str> = path.split('/').collect();
    let ["projects", p, "global", "networks", n] = parts.as_slice() else {
        return Err(GcpError::Invalid(format!("{network:?} is not a network")));
    };
    let net = c
        .networks
        .get()
        .set_project(*p)
        .set_network(*n)
        .send()
        .await
        .map_err(|e| GcpError::call("compute.networks.get", path, e))?;
    Ok(net
        .network_firewall_policy_enforcement_order
        .as_ref()
        .and_then(|o| o.name())
        == Some("BEFORE_CLASSIC_FIREWALL"))
}

/// What Compute lets an IAM policy share out of a project (to an attacker's account, or to
/// everyone): a snapshot or image (global), a disk (in a zone or a region). Each names itself
/// the way Google does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shareable {
    Snapshot {
        project: String,
        name: String,
    },
    Image {
        project: String,
        name: String,
    },
    Disk {
        project: String,
        zone: String,
        name: String,
    },
    RegionDisk {
        project: String,
        region: String,
        name: String,
    },
}

impl Shareable {
    /// Reads `projects/P/global/snapshots/N`, `projects/P/global/images/N`,
    /// `projects/P/zones/Z/disks/N` or `projects/P/regions/R/disks/N`, every part checked: the
    /// path may come from a log the attacker wrote.
    pub fn parse(path: &str) -> Option<Shareable> {
        use crate::request::{valid_name, valid_project};
        let own = |s: &str| s.to_string();
        let parts: Vec<&str> = path.split('/').collect();
        let it = match parts.as_slice() {
            ["projects", pr, "global", "snapshots", nm] => Shareable::Snapshot {
                project: own(pr),
                name: own(nm),
            },
            ["projects", pr, "global", "images", nm] => Shareable::Image {
                project: own(pr),
                name: own(nm),
            },
            ["projects", pr, "zones", z, "disks", nm] if valid_name(z) => Shareable::Disk {
                project: own(pr),
                zone: own(z),
                name: own(nm),
            },
            ["projects", pr, "regions", r, "disks", nm] if valid_name(r) => Shareable::RegionDisk {
                project: own(pr),
                region: own(r),
                name: own(nm),
            },
            _ => return None,
        };
        (valid_project(it.project()) && valid_name(it.name())).then_some(it)
    }

    pub fn project(&self) -> &str {
        match self {
            Shareable::Snapshot { project, .. }
            | Shareable::Image { project, .. }
            | Shareable::Disk { project, .. }
            | Shareable::RegionDisk { project, .. } => project,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Shareable::Snapshot { name, .. }
            | Shareable::Image { name, .. }
            | Shareable::Disk { name, .. }
            | Shareable::RegionDisk { name, .. } => name,
        }
    }

    /// What it is, in a message (`snapshot`, `disk`).
    pub fn noun(&self) -> &'static str {
        match self {
            Shareable::Snapshot { .. } => "snapshot",
            Shareable::Image { .. } => "image",
            Shareable::Disk { .. } | Shareable::RegionDisk { .. } => "disk",
        }
    }
}

impl std::fmt::Display for Shareable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shareable::Snapshot { project, name } => {
                write!(f, "projects/{project}/global/snapshots/{name}")
            }
            Shareable::Image { project, name } => {
                write!(f, "projects/{project}/global/images/{name}")
            }
            Shareable::Disk {
                project,
                zone,
                name,
            } => write!(f, "projects/{project}/zones/{zone}/disks/{name}"),
            Shareable::RegionDisk {
                project,
                region,
                name,
            } => write!(f, "projects/{project}/regions/{region}/disks/{name}"),
        }
    }
}

async fn get_policy(c: &Compute, what: &Shareable) -> Result<model::Policy, GcpError> {
    let on = what.to_string();
    let (call, read) = match what {
        Shareable::Snapshot { project, name } => (
            "compute.snapshots.getIamPolicy",
            c.snapshots
                .get_iam_policy()
                .set_project(project)
                .set_resource(name)
                .send()
                .await,
        ),
        Shareable::Image { project, name } => (
            "compute.images.getIamPolicy",
            c.images
                .get_iam_policy()
                .set_project(project)
                .set_resource(name)
                .send()
                .await,
        ),
        Shareable::Disk {
            project,
            zone,
            name,
        } => (
            "compute.disks.getIamPolicy",
            c.disks
                .get_iam_policy()
                .set_project(project)
                .set_zone(zone)
                .set_resource(name)
                .send()
                .await,
        ),
        Shareable::RegionDisk {
            project,
            region,
            name,
        } => (
            "compute.regionDisks.getIamPolicy",
            c.region_disks
                .get_iam_policy()
                .set_project(project)
                .set_region(region)
                .set_resource(name)
                .send()
                .await,
        ),
    };
    read.map_err(|e| GcpError::call(call, &on, e))
}

/// Who a snapshot's, image's or disk's IAM policy lets in: `role member` pairs, sorted.
pub async fn shared_with(c: &Compute, what: &Shareable) -> Result<Vec<String>, GcpError> {
    Ok(pairs(&get_policy(c, what).await?))
}

/// A policy's `role member` pairs, sorted.
fn pairs(p: &model::Policy) -> Vec<String> {
    let mut out: Vec<String> = p
        .bindings
        .iter()
        .flat_map(|b| {
            let role = b.role.clone().unwrap_or_default();
            b.members.iter().map(move |m| format!("{role} {m}"))
        })
        .collect();
    out.sort();
    out
}

/// Removes `members` from every binding of a snapshot's, image's or disk's IAM policy (a
/// binding left empty goes), sent with the etag it was read with, so a concurrent change fails
/// rather than being overwritten. The policy read must still be `as_planned` (its `role
/// member` pairs): a grant made since the plan is the analyst's to see first.
pub async fn unshare(
    c: &Compute,
    what: &Shareable,
    members: &[String],
    as_planned: &[String],
) -> Result<(), GcpError> {
    let mut policy = get_policy(c, what).await?;
    if pairs(&policy) != as_planned {
        return Err(GcpError::Invalid(format!(
            "{what} changed since the plan: plan again"
        )));
    }
    for b in &mut policy.bindings {
        b.members.retain(|m| !members.contains(m));
    }
    policy.bindings.retain(|b| !b.members.is_empty());
    let on = what.to_string();
    let (call, written) = match what {
        Shareable::Snapshot { project, name } => (
            "compute.snapshots.setIamPolicy",
            c.snapshots
                .set_iam_policy()
                .set_project(project)
                .set_resource(name)
                .set_body(model::GlobalSetPolicyRequest::new().set_policy(policy))
                .send()
                .await
                .map(|_| ()),
        ),
        Shareable::Image { project, name } => (
            "compute.images.setIamPolicy",
            c.images
                .set_iam_policy()
                .set_project(project)
                .set_resource(name)
                .set_body(model::GlobalSetPolicyRequest::new().set_policy(policy))
                .send()
                .await
                .map(|_| ()),
        ),
        Shareable::Disk {
            project,
            zone,
            name,
        } => (
            "compute.disks.setIamPolicy",
            c.disks
                .set_iam_policy()
                .set_project(project)
                .set_zone(zone)
                .set_resource(name)
                .set_body(model::ZoneSetPolicyRequest::new().set_policy(policy))
                .send()
                .await
                .map(|_| ()),
        ),
        Shareable::RegionDisk {
            project,
            region,
            name,
        } => (
            "compute.regionDisks.setIamPolicy",
            c.region_disks
                .set_iam_policy()
                .set_project(project)
                .set_region(region)
                .set_resource(name)
                .set_body(model::RegionSetPolicyRequest::new().set_policy(policy))
                .send()
                .await
                .map(|_| ()),
        ),
    };
    written.map_err(|e| GcpError::call(call, &on, e))
}

/// The last segment of a resource URL (`.../zones/us-central1-a` → `us-central1-a`).
pub fn last_segment(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// An instance as the inventory lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub name: String,
    pub zone: String,
    pub status: String,
    pub labels: std::collections::BTreeMap<String, String>,
    /// Its networks' URLs (a Shared VPC's name the host project).
    pub networks: Vec<String>,
    /// External IPv4 and IPv6 addresses: where its own calls to Google's APIs come from.
    pub external: Vec<String>,
    pub service_accounts: Vec<String>,
    /// Attached disks' source URLs.
    pub disks: Vec<String>,
}

/// `compute.instances.aggregatedList`: every instance of the project in every zone.
pub async fn all_instances(c: &Compute, project: &str) -> Result<Vec<Listed>, GcpError> {
    use google_cloud_gax::paginator::Paginator;
    let on = format!("projects/{project}");
    let mut pages = c.instances.aggregated_list().set_project(project).by_page();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| GcpError::call("compute.instances.aggregatedList", &on, e))?;
        for (_, scoped) in page.items {
            for i in scoped.instances {
                let mut networks = Vec::new();
                let mut external = Vec::new();
                for nic in &i.network_interfaces {
                    networks.extend(nic.network.clone());
                    external.extend(nic.access_configs.iter().filter_map(|a| a.nat_ip.clone()));
                    external.extend(
                        nic.ipv_6_access_configs
                            .iter()
                            .filter_map(|a| a.external_ipv_6.clone()),
                    );
                }
                out.push(Listed {
                    name: i.name.clone().unwrap_or_default(),
                    zone: last_segment(i.zone.as_deref().unwrap_or_default()).to_string(),
                    status: i
                        .status
                        .as_ref()
                        .and_then(|s| s.name())
                        .unwrap_or("UNKNOWN")
                        .to_string(),
                    labels: i.labels.clone().into_iter().collect(),
                    networks,
                    external,
                    service_accounts: i
                        .service_accounts
                        .iter()
                        .filter_map(|s| s.email.clone())
                        .collect(),
                    disks: i.disks.iter().filter_map(|d| d.source.clone()).collect(),
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.zone, &a.name).cmp(&(&b.zone, &b.name)));
    Ok(out)
}

/// A subnet and whether it keeps VPC Flow Logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subnet {
    pub name: String,
    pub region: String,
    pub network: String,
    pub flow_logs: bool,
}

/// `compute.subnetworks.aggregatedList`: the project's subnets that carry instances' traffic
/// (proxy-only and Private Service Connect subnets cannot keep flow logs and are left out).
pub async fn subnets(c: &Compute, project: &str) -> Result<Vec<Subnet>, GcpError> {
    use google_cloud_compute_v1::model::subnetwork::Purpose;
    use google_cloud_gax::paginator::Paginator;
    let on = format!("projects/{project}");
    let mut pages = c
        .subnetworks
        .aggregated_list()
        .set_project(project)
        .by_page();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| GcpError::call("compute.subnetworks.aggregatedList", &on, e))?;
        for (_, scoped) in page.items {
            for s in scoped.subnetworks {
                let carries_vms = match &s.purpose {
                    None => true,
                    Some(p) => matches!(p, Purpose::Private | Purpose::PrivateRfc1918),
                };
                if !carries_vms {
                    continue;
                }
                out.push(Subnet {
                    name: s.name.unwrap_or_default(),
                    region: last_segment(s.region.as_deref().unwrap_or_default()).to_string(),
                    network: s.network.unwrap_or_default(),
                    flow_logs: s
                        .log_config
                        .and_then(|l| l.enable)
                        .or(s.enable_flow_logs)
                        .unwrap_or(false),
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.region, &a.name).cmp(&(&b.region, &b.name)));
    Ok(out)
}

/// A VPC network's peering: another network (often another project's) it exchanges routes
/// with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Peering {
    /// The local network's name.
    pub network: String,
    pub name: String,
    /// The peer network's URL.
    pub peer: String,
    pub state: String,
}

/// `compute.networks.list`: the peerings of every VPC network of the project.
pub async fn peerings(c: &Compute, project: &str) -> Result<Vec<Peering>, GcpError> {
    use google_cloud_gax::paginator::ItemPaginator;
    let on = format!("projects/{project}");
    let mut items = c.networks.list().set_project(project).by_item();
    let mut out = Vec::new();
    while let Some(n) = items.next().await {
        let n = n.map_err(|e| GcpError::call("compute.networks.list", &on, e))?;
        let network = n.name.unwrap_or_default();
        for p in n.peerings {
            out.push(Peering {
                network: network.clone(),
                name: p.name.unwrap_or_default(),
                peer: p.network.unwrap_or_default(),
                state: p
                    .state
                    .as_ref()
                    .and_then(|s| s.name())
                    .unwrap_or("UNKNOWN")
                    .to_string(),
            });
        }
    }
    Ok(out)
}

/// A link out of Google's network: an Interconnect attachment or a Cloud VPN tunnel, named
/// `REGION/NAME` with what it reaches (never a tunnel's shared secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// `interconnect` or `vpn`.
    pub kind: &'static str,
    pub region: String,
    pub name: String,
    /// The VPN peer's address, or the attachment's type (`DEDICATED`, `PARTNER`).
    pub to: String,
}

/// `compute.interconnectAttachments.aggregatedList` and `compute.vpnTunnels.aggregatedList`:
/// the project's links back to a corporate network.
pub async fn corp_links(c: &Compute, project: &str) -> Result<Vec<Link>, GcpError> {
    use google_cloud_gax::paginator::Paginator;
    let on = format!("projects/{project}");
    let mut out = Vec::new();
    let mut pages = c
        .interconnect_attachments
        .aggregated_list()
        .set_project(project)
        .by_page();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            GcpError::call("compute.interconnectAttachments.aggregatedList", &on, e)
        })?;
        for (_, scoped) in page.items {
            for a in scoped.interconnect_attachments {
                out.push(Link {
                    kind: "interconnect",
                    region: last_segment(a.region.as_deref().unwrap_or_default()).to_string(),
                    name: a.name.unwrap_or_default(),
                    to: a
                        .r#type
                        .as_ref()
                        .and_then(|t| t.name())
                        .unwrap_or("UNKNOWN")
                        .to_string(),
                });
            }
        }
    }
    let mut pages = c
        .vpn_tunnels
        .aggregated_list()
        .set_project(project)
        .by_page();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| GcpError::call("compute.vpnTunnels.aggregatedList", &on, e))?;
        for (_, scoped) in page.items {
            for t in scoped.vpn_tunnels {
                out.push(Link {
                    kind: "vpn",
                    region: last_segment(t.region.as_deref().unwrap_or_default()).to_string(),
                    name: t.name.unwrap_or_default(),
                    to: t.peer_ip.unwrap_or_default(),
                });
            }
        }
    }
    out.sort_by(|a, b| (a.kind, &a.region, &a.name).cmp(&(b.kind, &b.region, &b.name)));
    Ok(out)
}

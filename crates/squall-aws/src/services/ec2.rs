//! EC2: instances, security groups, VPCs, flow logs and the links back to the corporate network.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::ProvideErrorMetadata;

use crate::AwsError;

/// An instance and the tags that say who owns it and what it is.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Instance {
    pub id: String,
    pub region: String,
    pub state: String,
    pub vpc_id: Option<String>,
    pub instance_type: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Its public addresses (the public or Elastic IPv4, each interface's IPv6): where its
    /// own calls to AWS come from when it has no NAT gateway.
    pub public_addresses: Vec<String>,
}

/// One ingress permission of a security group, flattened.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IngressRule {
    pub group_id: String,
    pub group_name: String,
    pub region: String,
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub cidr: String,
    /// The group's `squall:purpose` tag: Squall's own groups carry their name there.
    #[serde(skip)]
    pub purpose: Option<String>,
}

/// The tag Squall puts on the security groups it makes, valued with the group's name.
pub const PURPOSE_TAG: &str = "squall:purpose";

/// The regions enabled for the account.
pub async fn regions(client: &Client) -> Result<Vec<String>, AwsError> {
    let out = client
        .describe_regions()
        .send()
        .await
        .map_err(|e| AwsError::call("ec2:DescribeRegions", "", e))?;
    let mut regions: Vec<String> = out
        .regions()
        .iter()
        .filter_map(|r| r.region_name().map(str::to_string))
        .collect();
    regions.sort();
    Ok(regions)
}

/// Every instance of the region, with its tags (owner, purpose, environment).
pub async fn instances(client: &Client, region: &str) -> Result<Vec<Instance>, AwsError> {
    let mut out = Vec::new();
    let mut pages = client.describe_instances().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::call("ec2:DescribeInstances", region, e))?;
        for r in page.reservations() {
            for i in r.instances() {
                out.push(Instance {
                    id: i.instance_id().unwrap_or_default().to_string(),
                    region: region.to_string(),
                    state: i
                        .state()
                        .and_then(|s| s.name())
                        .map(|n| n.as_str().to_string())
                        .unwrap_or_default(),
                    vpc_id: i.vpc_id().map(str::to_string),
                    instance_type: i.instance_type().map(|t| t.as_str().to_string()),
                    tags: i
                        .tags()
                        .iter()
                        .filter_map(|t| {
                            Some((
                                t.key()?.to_string(),
                                t.value().unwrap_or_default().to_string(),
                            ))
                        })
                        .collect(),
                    public_addresses: i
                        .public_ip_address()
                        .map(str::to_string)
                        .into_iter()
                        .chain(i.network_interfaces().iter().flat_map(|n| {
                            n.ipv6_addresses()
                                .iter()
                                .filter_map(|a| a.ipv6_address().map(str::to_string))
                        }))
                        .collect(),
                });
            }
        }
    }
    Ok(out)
}

/// Every ingress permission of every security group of the region, one row per range.
pub async fn ingress_rules(client: &Client, region: &str) -> Result<Vec<IngressRule>, AwsError> {
    let mut out = Vec::new();
    let mut pages = client.describe_security_groups().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::call("ec2:DescribeSecurityGroups", region, e))?;
        for g in page.security_groups() {
            out.extend(flatten(g, region));
        }
    }
    Ok(out)
}

/// VPC ids, and which of them have flow logs.
pub async fn vpcs_and_flow_logs(
    client: &Client,
    region: &str,
) -> Result<(Vec<String>, Vec<String>), AwsError> {
    let vpcs = client
        .describe_vpcs()
        .send()
        .await
        .map_err(|e| AwsError::call("ec2:DescribeVpcs", region, e))?;
    let vpcs: Vec<String> = vpcs
        .vpcs()
        .iter()
        .filter_map(|v| v.vpc_id().map(str::to_string))
        .collect();
    let logs = client
        .describe_flow_logs()
        .send()
        .await
        .map_err(|e| AwsError::call("ec2:DescribeFlowLogs", region, e))?;
    let logged = logs
        .flow_logs()
        .iter()
        .filter_map(|f| f.resource_id().map(str::to_string))
        .collect();
    Ok((vpcs, logged))
}

/// Ways out of the account: VPN connections, peerings and transit gateway attachments.
pub async fn corp_links(client: &Client, region: &str) -> Result<Vec<String>, AwsError> {
    let mut links = Vec::new();
    let vpn = client
        .describe_vpn_connections()
        .send()
        .await
        .map_err(|e| AwsError::call("ec2:DescribeVpnConnections", region, e))?;
    links.extend(
        vpn.vpn_connections()
            .iter()
            .filter_map(|v| v.vpn_connection_id())
            .map(|id| format!("vpn:{id}")),
    );
    let peer = client
        .describe_vpc_peering_connections()
        .send()
        .await
        .map_err(|e| AwsError::call("ec2:DescribeVpcPeeringConnections", region, e))?;
    links.extend(
        peer.vpc_peering_connections()
            .iter()
            .filter_map(|p| p.vpc_peering_connection_id())
            .map(|id| format!("peering:{id}")),
    );
    let tgw = client
        .describe_transit_gateway_attachments()
        .send()
        .await
        .map_err(|e| AwsError::call("ec2:DescribeTransitGatewayAttachments", region, e))?;
    links.extend(
        tgw.transit_gateway_attachments()
            .iter()
            .filter_map(|a| a.transit_gateway_attachment_id())
            .map(|id| format!("tgw-attachment:{id}")),
    );
    Ok(links)
}

/// A volume in the inventory: what could be acquired, and how it is protected.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VolumeSummary {
    pub id: String,
    pub region: String,
    pub size_gib: i32,
    pub encrypted: bool,
    pub attached_to: Vec<String>,
}

/// A snapshot the account owns.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SnapshotSummary {
    pub id: String,
    pub region: String,
    pub volume: Option<String>,
    pub encrypted: bool,
    pub started: Option<String>,
}

/// The account's volumes and own snapshots in a region.
pub async fn storage(
    client: &Client,
    region: &str,
) -> Result<(Vec<VolumeSummary>, Vec<SnapshotSummary>), AwsError> {
    let mut volumes = Vec::new();
    let mut pages = client.describe_volumes().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(call("ec2:DescribeVolumes", region))?;
        volumes.extend(page.volumes().iter().map(|v| {
            VolumeSummary {
                id: v.volume_id().unwrap_or_default().to_string(),
                region: region.to_string(),
                size_gib: v.size().unwrap_or(0),
                encrypted: v.encrypted().unwrap_or(false),
                attached_to: v
                    .attachments()
                    .iter()
                    .filter_map(|a| a.instance_id().map(str::to_string))
                    .collect(),
            }
        }));
    }
    let mut snapshots = Vec::new();
    let mut pages = client
        .describe_snapshots()
        .owner_ids("self")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(call("ec2:DescribeSnapshots", region))?;
        snapshots.extend(page.snapshots().iter().map(|s| SnapshotSummary {
            id: s.snapshot_id().unwrap_or_default().to_string(),
            region: region.to_string(),
            volume: s.volume_id().map(str::to_string),
            encrypted: s.encrypted().unwrap_or(false),
            started: s.start_time().and_then(utc),
        }));
    }
    Ok((volumes, snapshots))
}

// ---- What the response verbs read and change on one instance. ----

/// A network interface and the security groups on it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Eni {
    pub id: String,
    pub groups: Vec<String>,
}

/// An Elastic IP attached to the instance, with where it was attached (to put it back).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ElasticIp {
    pub allocation_id: String,
    pub public_ip: String,
    pub association_id: Option<String>,
    pub eni: Option<String>,
    pub private_ip: Option<String>,
}

/// An attached EBS volume.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    pub device: String,
    pub volume: String,
}

/// The parts of an instance that containment, acquisition and recovery touch.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstanceDetail {
    pub id: String,
    pub state: String,
    pub vpc_id: Option<String>,
    pub availability_zone: Option<String>,
    pub root_device: Option<String>,
    pub enis: Vec<Eni>,
    pub volumes: Vec<Attachment>,
    /// (association id, instance profile ARN).
    pub profile: Option<(String, String)>,
}

fn call<
    'a,
    E: std::error::Error
        + aws_smithy_types::error::metadata::ProvideErrorMetadata
        + Send
        + Sync
        + 'static,
>(
    name: &'static str,
    on: &'a str,
) -> impl FnOnce(aws_sdk_ec2::error::SdkError<E>) -> AwsError + 'a {
    move |e| AwsError::call(name, on, e)
}

/// One instance as the response verbs need it; an unknown id is an error that says where to look.
pub async fn instance(client: &Client, id: &str) -> Result<InstanceDetail, AwsError> {
    instances_by_id(client, &[id.to_string()])
        .await?
        .remove(id)
        .ok_or_else(|| AwsError::Call {
            call: "ec2:DescribeInstances",
            on: format!(" on {id}"),
            message: "no such instance (help: check the id and --region)".into(),
        })
}

/// Filter values per request (EC2 accepts up to 200).
const BATCH: usize = 200;

fn filter(name: &str, values: &[String]) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

/// Many instances in two calls per 200 (instances, profile associations): what planning a
/// response on hundreds of instances reads, instead of two calls each. An unknown id fails the
/// whole batch (EC2 answers InvalidInstanceID.NotFound); callers then read one by one.
pub async fn instances_by_id(
    client: &Client,
    ids: &[String],
) -> Result<HashMap<String, InstanceDetail>, AwsError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(BATCH) {
        let on = chunk.join(",");
        let mut profiles: HashMap<String, (String, String)> = HashMap::new();
        let mut pages = client
            .describe_iam_instance_profile_associations()
            .filters(filter("instance-id", chunk))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(call("ec2:DescribeIamInstanceProfileAssociations", &on))?;
            for a in page.iam_instance_profile_associations() {
                let state = a.state().map(|s| s.as_str());
                if state == Some("disassociated") || state == Some("disassociating") {
                    continue;
                }
                if let (Some(instance), Some(association), Some(arn)) = (
                    a.instance_id(),
                    a.association_id(),
                    a.iam_instance_profile().and_then(|p| p.arn()),
                ) {
                    profiles.insert(
                        instance.to_string(),
                        (association.to_string(), arn.to_string()),
                    );
                }
            }
        }
        let mut pages = client
            .describe_instances()
            .set_instance_ids(Some(chunk.to_vec()))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(call("ec2:DescribeInstances", &on))?;
            for i in page.reservations().iter().flat_map(|r| r.instances()) {
                let id = i.instance_id().unwrap_or_default().to_string();
                let profile = profiles.remove(&id);
                out.insert(id.clone(), detail_of(i, id, profile));
            }
        }
    }
    Ok(out)
}

fn detail_of(
    i: &aws_sdk_ec2::types::Instance,
    id: String,
    profile: Option<(String, String)>,
) -> InstanceDetail {
    let mut enis: Vec<Eni> = i
        .network_interfaces()
        .iter()
        .map(|n| Eni {
            id: n.network_interface_id().unwrap_or_default().to_string(),
            groups: n
                .groups()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_string))
                .collect(),
        })
        .collect();
    // Groups are a set: the order an API lists them in means nothing, and comparing a
    // recorded state with a fresh one must not depend on it.
    enis.iter_mut().for_each(|e| e.groups.sort());
    enis.sort_by(|a, b| a.id.cmp(&b.id));
    InstanceDetail {
        id,
        state: i
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str().to_string())
            .unwrap_or_default(),
        vpc_id: i.vpc_id().map(str::to_string),
        availability_zone: i
            .placement()
            .and_then(|p| p.availability_zone())
            .map(str::to_string),
        root_device: i.root_device_name().map(str::to_string),
        enis,
        volumes: i
            .block_device_mappings()
            .iter()
            .filter_map(|b| {
                Some(Attachment {
                    device: b.device_name()?.to_string(),
                    volume: b.ebs()?.volume_id()?.to_string(),
                })
            })
            .collect(),
        profile,
    }
}

/// Whether the instance refuses TerminateInstances (isolation turns it on).
pub async fn termination_protection(client: &Client, id: &str) -> Result<bool, AwsError> {
    let out = client
        .describe_instance_attribute()
        .instance_id(id)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::DisableApiTermination)
        .send()
        .await
        .map_err(call("ec2:DescribeInstanceAttribute", id))?;
    Ok(out
        .disable_api_termination()
        .and_then(|v| v.value())
        .unwrap_or(false))
}

/// Turns termination protection on (isolation) or off (terminate, release).
pub async fn set_termination_protection(
    client: &Client,
    id: &str,
    on: bool,
) -> Result<(), AwsError> {
    client
        .modify_instance_attribute()
        .instance_id(id)
        .disable_api_termination(
            aws_sdk_ec2::types::AttributeBooleanValue::builder()
                .value(on)
                .build(),
        )
        .send()
        .await
        .map_err(call("ec2:ModifyInstanceAttribute", id))?;
    Ok(())
}

/// The Elastic IPs attached to the instance, with where, so release can put them back.
pub async fn elastic_ips(client: &Client, instance: &str) -> Result<Vec<ElasticIp>, AwsError> {
    Ok(elastic_ips_by_instance(client, &[instance.to_string()])
        .await?
        .remove(instance)
        .unwrap_or_default())
}

/// The Elastic IPs of many instances, one call per 200.
pub async fn elastic_ips_by_instance(
    client: &Client,
    instances: &[String],
) -> Result<HashMap<String, Vec<ElasticIp>>, AwsError> {
    let mut out: HashMap<String, Vec<ElasticIp>> = HashMap::new();
    for chunk in instances.chunks(BATCH) {
        let found = client
            .describe_addresses()
            .filters(filter("instance-id", chunk))
            .send()
            .await
            .map_err(call("ec2:DescribeAddresses", &chunk.join(",")))?;
        for a in found.addresses() {
            let Some(instance) = a.instance_id().filter(|i| !i.is_empty()) else {
                continue;
            };
            out.entry(instance.to_string())
                .or_default()
                .push(ElasticIp {
                    allocation_id: a.allocation_id().unwrap_or_default().to_string(),
                    public_ip: a.public_ip().unwrap_or_default().to_string(),
                    association_id: a.association_id().map(str::to_string),
                    eni: a.network_interface_id().map(str::to_string),
                    private_ip: a.private_ip_address().map(str::to_string),
                });
        }
    }
    out.values_mut()
        .for_each(|ips| ips.sort_by(|a, b| a.allocation_id.cmp(&b.allocation_id)));
    Ok(out)
}

/// Takes an Elastic IP off the instance (the allocation stays in the account).
pub async fn disassociate_address(client: &Client, ip: &ElasticIp) -> Result<(), AwsError> {
    let Some(assoc) = &ip.association_id else {
        return Ok(());
    };
    client
        .disassociate_address()
        .association_id(assoc)
        .send()
        .await
        .map_err(call("ec2:DisassociateAddress", &ip.public_ip))?;
    Ok(())
}

/// Puts an Elastic IP back where it was: on its interface and private address, named through
/// the instance when that interface is the instance's only one.
pub async fn associate_address(
    client: &Client,
    instance: &str,
    single_interface: bool,
    ip: &ElasticIp,
) -> Result<(), AwsError> {
    let mut req = client
        .associate_address()
        .allocation_id(&ip.allocation_id)
        .allow_reassociation(false)
        .set_private_ip_address(ip.private_ip.clone());
    req = match &ip.eni {
        Some(eni) if !single_interface => req.network_interface_id(eni),
        _ => req.instance_id(instance),
    };
    req.send()
        .await
        .map_err(call("ec2:AssociateAddress", &ip.public_ip))?;
    Ok(())
}

/// Replaces an interface's security groups.
pub async fn set_eni_groups(client: &Client, eni: &str, groups: &[String]) -> Result<(), AwsError> {
    client
        .modify_network_interface_attribute()
        .network_interface_id(eni)
        .set_groups(Some(groups.to_vec()))
        .send()
        .await
        .map_err(call("ec2:ModifyNetworkInterfaceAttribute", eni))?;
    Ok(())
}

/// Detaches the instance profile: new IMDS credentials stop being issued to the instance.
pub async fn disassociate_profile(client: &Client, association: &str) -> Result<(), AwsError> {
    client
        .disassociate_iam_instance_profile()
        .association_id(association)
        .send()
        .await
        .map_err(call("ec2:DisassociateIamInstanceProfile", association))?;
    Ok(())
}

/// Attaches an instance profile again (release).
pub async fn associate_profile(
    client: &Client,
    instance: &str,
    profile_arn: &str,
) -> Result<(), AwsError> {
    client
        .associate_iam_instance_profile()
        .instance_id(instance)
        .iam_instance_profile(
            aws_sdk_ec2::types::IamInstanceProfileSpecification::builder()
                .arn(profile_arn)
                .build(),
        )
        .send()
        .await
        .map_err(call("ec2:AssociateIamInstanceProfile", instance))?;
    Ok(())
}

/// The id of the VPC's security group with this name, if there is one.
pub async fn find_group(
    client: &Client,
    vpc: &str,
    name: &str,
) -> Result<Option<String>, AwsError> {
    let out = client
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(vpc)
                .build(),
        )
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values(name)
                .build(),
        )
        .send()
        .await
        .map_err(call("ec2:DescribeSecurityGroups", vpc))?;
    Ok(out
        .security_groups()
        .iter()
        .find(|g| g.group_name() == Some(name))
        .and_then(|g| g.group_id().map(str::to_string)))
}

/// The id of the VPC's security group with this name, creating it when missing. Two
/// isolations in the same VPC may race to create it: the loser finds the winner's group.
pub async fn ensure_group(
    client: &Client,
    vpc: &str,
    name: &str,
    description: &str,
    allow_all: bool,
) -> Result<String, AwsError> {
    if let Some(id) = find_group(client, vpc, name).await? {
        return Ok(id);
    }
    let created = client
        .create_security_group()
        .group_name(name)
        .description(description)
        .vpc_id(vpc)
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::SecurityGroup)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key(PURPOSE_TAG)
                        .value(name)
                        .build(),
                )
                .build(),
        )
        .send()
        .await;
    let id = match created {
        Ok(out) => out.group_id().unwrap_or_default().to_string(),
        Err(e) if e.code() == Some("InvalidGroup.Duplicate") => {
            return find_group(client, vpc, name)
                .await?
                .ok_or_else(|| AwsError::Call {
                    call: "ec2:CreateSecurityGroup",
                    on: format!(" on {vpc}"),
                    message: format!("{name} exists but cannot be read"),
                });
        }
        Err(e) => return Err(AwsError::call("ec2:CreateSecurityGroup", vpc, e)),
    };
    let everything = aws_sdk_ec2::types::IpPermission::builder()
        .ip_protocol("-1")
        .ip_ranges(
            aws_sdk_ec2::types::IpRange::builder()
                .cidr_ip("0.0.0.0/0")
                .build(),
        )
        .build();
    if allow_all {
        client
            .authorize_security_group_ingress()
            .group_id(&id)
            .ip_permissions(everything)
            .send()
            .await
            .map_err(call("ec2:AuthorizeSecurityGroupIngress", &id))?;
    } else {
        // A new group allows all egress; an isolation group allows nothing.
        client
            .revoke_security_group_egress()
            .group_id(&id)
            .ip_permissions(everything)
            .send()
            .await
            .map_err(call("ec2:RevokeSecurityGroupEgress", &id))?;
    }
    Ok(id)
}

/// Puts the allow-all rules (every protocol, 0.0.0.0/0, in and out) on a group, or takes them
/// off; what is already so is left alone.
pub async fn set_allow_all(client: &Client, group: &str, open: bool) -> Result<(), AwsError> {
    let out = client
        .describe_security_groups()
        .group_ids(group)
        .send()
        .await
        .map_err(call("ec2:DescribeSecurityGroups", group))?;
    let everything = |p: &aws_sdk_ec2::types::IpPermission| {
        p.ip_protocol() == Some("-1")
            && p.ip_ranges()
                .iter()
                .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))
    };
    let g = out.security_groups().first();
    let ingress = g.is_some_and(|g| g.ip_permissions().iter().any(everything));
    let egress = g.is_some_and(|g| g.ip_permissions_egress().iter().any(everything));
    let rule = || {
        aws_sdk_ec2::types::IpPermission::builder()
            .ip_protocol("-1")
            .ip_ranges(
                aws_sdk_ec2::types::IpRange::builder()
                    .cidr_ip("0.0.0.0/0")
                    .build(),
            )
            .build()
    };
    // (is egress, present now): each direction changed only when it is not as wanted.
    for (out_bound, present) in [(false, ingress), (true, egress)] {
        if present == open {
            continue;
        }
        match (open, out_bound) {
            (true, false) => client
                .authorize_security_group_ingress()
                .group_id(group)
                .ip_permissions(rule())
                .send()
                .await
                .map(drop)
                .map_err(call("ec2:AuthorizeSecurityGroupIngress", group)),
            (false, false) => client
                .revoke_security_group_ingress()
                .group_id(group)
                .ip_permissions(rule())
                .send()
                .await
                .map(drop)
                .map_err(call("ec2:RevokeSecurityGroupIngress", group)),
            (true, true) => client
                .authorize_security_group_egress()
                .group_id(group)
                .ip_permissions(rule())
                .send()
                .await
                .map(drop)
                .map_err(call("ec2:AuthorizeSecurityGroupEgress", group)),
            (false, true) => client
                .revoke_security_group_egress()
                .group_id(group)
                .ip_permissions(rule())
                .send()
                .await
                .map(drop)
                .map_err(call("ec2:RevokeSecurityGroupEgress", group)),
        }?;
    }
    Ok(())
}

/// The rules of a group (ingress, egress), to check an isolation group is still empty.
pub async fn group_rule_counts(client: &Client, group: &str) -> Result<(usize, usize), AwsError> {
    let out = client
        .describe_security_groups()
        .group_ids(group)
        .send()
        .await
        .map_err(call("ec2:DescribeSecurityGroups", group))?;
    let g = out.security_groups().first();
    Ok((
        g.map_or(0, |g| g.ip_permissions().len()),
        g.map_or(0, |g| g.ip_permissions_egress().len()),
    ))
}

/// Stops, or hibernates, an instance.
pub async fn stop(client: &Client, id: &str, hibernate: bool) -> Result<(), AwsError> {
    client
        .stop_instances()
        .instance_ids(id)
        .hibernate(hibernate)
        .send()
        .await
        .map_err(call("ec2:StopInstances", id))?;
    Ok(())
}

/// Starts a stopped instance (after a root-volume restore).
pub async fn start(client: &Client, id: &str) -> Result<(), AwsError> {
    client
        .start_instances()
        .instance_ids(id)
        .send()
        .await
        .map_err(call("ec2:StartInstances", id))?;
    Ok(())
}

/// Terminates an instance; callers check the acquisitions first.
pub async fn terminate(client: &Client, id: &str) -> Result<(), AwsError> {
    client
        .terminate_instances()
        .instance_ids(id)
        .send()
        .await
        .map_err(call("ec2:TerminateInstances", id))?;
    Ok(())
}

/// Reads `read` until `done` says so or `timeout` passes, `every` apart; returns the last read.
async fn poll<T, F: Future<Output = Result<T, AwsError>>>(
    timeout: Duration,
    every: Duration,
    mut read: impl FnMut() -> F,
    done: impl Fn(&T) -> bool,
) -> Result<T, AwsError> {
    let started = std::time::Instant::now();
    loop {
        let value = read().await?;
        if done(&value) || started.elapsed() > timeout {
            return Ok(value);
        }
        tokio::time::sleep(every).await;
    }
}

/// Polls until the instance reaches `want` (or `timeout` passes); returns the last state.
pub async fn wait_state(
    client: &Client,
    id: &str,
    want: &str,
    timeout: Duration,
) -> Result<String, AwsError> {
    poll(
        timeout,
        Duration::from_secs(2),
        || async { Ok(instance(client, id).await?.state) },
        |s| s == want,
    )
    .await
}

// ---- Volumes and snapshots. ----

/// A volume's encryption and size: what sharing and imaging need to know.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Volume {
    pub id: String,
    pub size_gib: i32,
    pub encrypted: bool,
    pub kms_key: Option<String>,
    pub availability_zone: Option<String>,
    pub snapshot: Option<String>,
    /// The instance it is attached to, if any.
    pub instance: Option<String>,
}

/// One volume's size, encryption key and zone.
pub async fn volume(client: &Client, id: &str) -> Result<Volume, AwsError> {
    let out = client
        .describe_volumes()
        .volume_ids(id)
        .send()
        .await
        .map_err(call("ec2:DescribeVolumes", id))?;
    let v = out.volumes().first().ok_or_else(|| AwsError::Call {
        call: "ec2:DescribeVolumes",
        on: format!(" on {id}"),
        message: "no such volume".into(),
    })?;
    Ok(Volume {
        id: id.to_string(),
        size_gib: v.size().unwrap_or(0),
        encrypted: v.encrypted().unwrap_or(false),
        kms_key: v.kms_key_id().map(str::to_string),
        availability_zone: v.availability_zone().map(str::to_string),
        snapshot: v
            .snapshot_id()
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        instance: v
            .attachments()
            .iter()
            .find_map(|a| a.instance_id())
            .map(str::to_string),
    })
}

/// A time from the API as UTC to the second (`2024-05-01T10:00:00Z`).
fn utc(t: &aws_sdk_ec2::primitives::DateTime) -> Option<String> {
    chrono::DateTime::from_timestamp(t.secs(), 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// A snapshot as the acquisition sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Snapshot {
    pub id: String,
    pub state: String,
    pub volume: Option<String>,
    pub encrypted: bool,
    pub kms_key: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// When the snapshot was started: the moment its data is of.
    pub started: Option<String>,
    pub size_gib: Option<i32>,
    /// The account that owns it.
    pub owner: Option<String>,
}

fn snapshot_of(s: &aws_sdk_ec2::types::Snapshot) -> Snapshot {
    Snapshot {
        id: s.snapshot_id().unwrap_or_default().to_string(),
        state: s
            .state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        volume: s.volume_id().map(str::to_string),
        encrypted: s.encrypted().unwrap_or(false),
        kms_key: s.kms_key_id().map(str::to_string),
        tags: s
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect(),
        started: s.start_time().and_then(utc),
        size_gib: s.volume_size(),
        owner: s.owner_id().map(str::to_string),
    }
}

/// Snapshots we own carrying tag `key` = `value` (the case's acquisitions).
pub async fn snapshots_tagged(
    client: &Client,
    key: &str,
    value: &str,
) -> Result<Vec<Snapshot>, AwsError> {
    let out = client
        .describe_snapshots()
        .owner_ids("self")
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name(format!("tag:{key}"))
                .values(value)
                .build(),
        )
        .send()
        .await
        .map_err(call("ec2:DescribeSnapshots", value))?;
    Ok(out.snapshots().iter().map(snapshot_of).collect())
}

/// One snapshot's state and tags.
pub async fn snapshot(client: &Client, id: &str) -> Result<Snapshot, AwsError> {
    let out = client
        .describe_snapshots()
        .snapshot_ids(id)
        .send()
        .await
        .map_err(call("ec2:DescribeSnapshots", id))?;
    out.snapshots()
        .first()
        .map(snapshot_of)
        .ok_or_else(|| AwsError::Call {
            call: "ec2:DescribeSnapshots",
            on: format!(" on {id}"),
            message: "no such snapshot".into(),
        })
}

fn tags(
    kind: aws_sdk_ec2::types::ResourceType,
    tags: &[(&str, &str)],
) -> aws_sdk_ec2::types::TagSpecification {
    let mut spec = aws_sdk_ec2::types::TagSpecification::builder().resource_type(kind);
    for (k, v) in tags {
        spec = spec.tags(aws_sdk_ec2::types::Tag::builder().key(*k).value(*v).build());
    }
    spec.build()
}

/// Snapshots a volume while it stays attached and the instance keeps running: crash-
/// consistent, and invisible from inside the instance.
pub async fn create_snapshot(
    client: &Client,
    volume: &str,
    description: &str,
    tag_pairs: &[(&str, &str)],
) -> Result<String, AwsError> {
    let out = client
        .create_snapshot()
        .volume_id(volume)
        .description(description)
        .tag_specifications(tags(aws_sdk_ec2::types::ResourceType::Snapshot, tag_pairs))
        .send()
        .await
        .map_err(call("ec2:CreateSnapshot", volume))?;
    Ok(out.snapshot_id().unwrap_or_default().to_string())
}

/// Copies a snapshot (in its region), re-encrypting it with `kms_key` when given.
pub async fn copy_snapshot(
    client: &Client,
    source: &str,
    source_region: &str,
    kms_key: Option<&str>,
    description: &str,
    tag_pairs: &[(&str, &str)],
) -> Result<String, AwsError> {
    let out = client
        .copy_snapshot()
        .source_snapshot_id(source)
        .source_region(source_region)
        .description(description)
        .set_encrypted(kms_key.map(|_| true))
        .set_kms_key_id(kms_key.map(str::to_string))
        .tag_specifications(tags(aws_sdk_ec2::types::ResourceType::Snapshot, tag_pairs))
        .send()
        .await
        .map_err(call("ec2:CopySnapshot", source))?;
    Ok(out.snapshot_id().unwrap_or_default().to_string())
}

/// Lets `account` create volumes from the snapshot (the forensic account's copy starts here).
pub async fn share_snapshot(
    client: &Client,
    snapshot: &str,
    account: &str,
) -> Result<(), AwsError> {
    client
        .modify_snapshot_attribute()
        .snapshot_id(snapshot)
        .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
        .operation_type(aws_sdk_ec2::types::OperationType::Add)
        .user_ids(account)
        .send()
        .await
        .map_err(call("ec2:ModifySnapshotAttribute", snapshot))?;
    Ok(())
}

/// The accounts a snapshot is shared with.
pub async fn snapshot_shared_with(
    client: &Client,
    snapshot: &str,
) -> Result<Vec<String>, AwsError> {
    let out = client
        .describe_snapshot_attribute()
        .snapshot_id(snapshot)
        .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
        .send()
        .await
        .map_err(call("ec2:DescribeSnapshotAttribute", snapshot))?;
    Ok(out
        .create_volume_permissions()
        .iter()
        .filter_map(|p| p.user_id().map(str::to_string))
        .collect())
}

/// Waits for a snapshot to complete; snapshots of big volumes take minutes to hours.
pub async fn wait_snapshot(
    client: &Client,
    id: &str,
    timeout: Duration,
) -> Result<Snapshot, AwsError> {
    poll(
        timeout,
        Duration::from_secs(5),
        || snapshot(client, id),
        |s| s.state != "pending",
    )
    .await
}

/// A volume made from a snapshot, tagged (the clean root volume of a restore).
pub async fn create_volume(
    client: &Client,
    snapshot: &str,
    availability_zone: &str,
    tag_pairs: &[(&str, &str)],
) -> Result<String, AwsError> {
    let out = client
        .create_volume()
        .snapshot_id(snapshot)
        .availability_zone(availability_zone)
        .tag_specifications(tags(aws_sdk_ec2::types::ResourceType::Volume, tag_pairs))
        .send()
        .await
        .map_err(call("ec2:CreateVolume", snapshot))?;
    Ok(out.volume_id().unwrap_or_default().to_string())
}

/// Volumes carrying all these tags, in this state.
pub async fn volumes_tagged(
    client: &Client,
    tag_pairs: &[(&str, &str)],
    state: &str,
) -> Result<Vec<String>, AwsError> {
    let mut req = client.describe_volumes().filters(
        aws_sdk_ec2::types::Filter::builder()
            .name("status")
            .values(state)
            .build(),
    );
    for (k, v) in tag_pairs {
        req = req.filters(
            aws_sdk_ec2::types::Filter::builder()
                .name(format!("tag:{k}"))
                .values(*v)
                .build(),
        );
    }
    let out = req
        .send()
        .await
        .map_err(call("ec2:DescribeVolumes", state))?;
    let mut ids: Vec<String> = out
        .volumes()
        .iter()
        .filter_map(|v| v.volume_id().map(str::to_string))
        .collect();
    ids.sort();
    Ok(ids)
}

/// Detaches a volume from an instance (it is kept).
pub async fn detach_volume(client: &Client, volume: &str, instance: &str) -> Result<(), AwsError> {
    client
        .detach_volume()
        .volume_id(volume)
        .instance_id(instance)
        .send()
        .await
        .map_err(call("ec2:DetachVolume", volume))?;
    Ok(())
}

/// Attaches a volume at a device name.
pub async fn attach_volume(
    client: &Client,
    volume: &str,
    instance: &str,
    device: &str,
) -> Result<(), AwsError> {
    client
        .attach_volume()
        .volume_id(volume)
        .instance_id(instance)
        .device(device)
        .send()
        .await
        .map_err(call("ec2:AttachVolume", volume))?;
    Ok(())
}

/// Polls a volume until its state is `want` (`available`, `in-use`).
pub async fn wait_volume(
    client: &Client,
    id: &str,
    want: &str,
    timeout: Duration,
) -> Result<String, AwsError> {
    let read = || async {
        let out = client
            .describe_volumes()
            .volume_ids(id)
            .send()
            .await
            .map_err(call("ec2:DescribeVolumes", id))?;
        Ok(out
            .volumes()
            .first()
            .and_then(|v| v.state())
            .map(|s| s.as_str().to_string())
            .unwrap_or_default())
    };
    poll(timeout, Duration::from_secs(2), read, |s| s == want).await
}

/// Removes one ingress permission (the world-open rule a recovery replaces).
pub async fn revoke_ingress(
    client: &Client,
    group: &str,
    protocol: &str,
    from: Option<i32>,
    to: Option<i32>,
    cidr: &str,
) -> Result<(), AwsError> {
    client
        .revoke_security_group_ingress()
        .group_id(group)
        .ip_permissions(permission(protocol, from, to, cidr))
        .send()
        .await
        .map_err(call("ec2:RevokeSecurityGroupIngress", group))?;
    Ok(())
}

/// Adds one ingress permission; one that exists already is the state wanted.
pub async fn authorize_ingress(
    client: &Client,
    group: &str,
    protocol: &str,
    from: Option<i32>,
    to: Option<i32>,
    cidr: &str,
) -> Result<(), AwsError> {
    let r = client
        .authorize_security_group_ingress()
        .group_id(group)
        .ip_permissions(permission(protocol, from, to, cidr))
        .send()
        .await;
    match r {
        Ok(_) => Ok(()),
        // Already there: the state we want.
        Err(e) if e.code() == Some("InvalidPermission.Duplicate") => Ok(()),
        Err(e) => Err(AwsError::call(
            "ec2:AuthorizeSecurityGroupIngress",
            group,
            e,
        )),
    }
}

fn permission(
    protocol: &str,
    from: Option<i32>,
    to: Option<i32>,
    cidr: &str,
) -> aws_sdk_ec2::types::IpPermission {
    let p = aws_sdk_ec2::types::IpPermission::builder()
        .ip_protocol(protocol)
        .set_from_port(from)
        .set_to_port(to);
    if cidr.contains(':') {
        p.ipv6_ranges(
            aws_sdk_ec2::types::Ipv6Range::builder()
                .cidr_ipv6(cidr)
                .build(),
        )
        .build()
    } else {
        p.ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip(cidr).build())
            .build()
    }
}

/// The ingress permissions of one group, flattened.
pub async fn ingress_rules_of(client: &Client, group: &str) -> Result<Vec<IngressRule>, AwsError> {
    Ok(security_group(client, group).await?.ingress)
}

/// The group's `squall:purpose` tag.
fn purpose(g: &aws_sdk_ec2::types::SecurityGroup) -> Option<String> {
    g.tags()
        .iter()
        .find(|t| t.key() == Some(PURPOSE_TAG))
        .and_then(|t| t.value())
        .map(str::to_string)
}

fn flatten(g: &aws_sdk_ec2::types::SecurityGroup, region: &str) -> Vec<IngressRule> {
    let mut out = Vec::new();
    for p in g.ip_permissions() {
        let cidrs = p
            .ip_ranges()
            .iter()
            .filter_map(|r| r.cidr_ip())
            .chain(p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()));
        for cidr in cidrs {
            out.push(IngressRule {
                group_id: g.group_id().unwrap_or_default().to_string(),
                group_name: g.group_name().unwrap_or_default().to_string(),
                region: region.to_string(),
                protocol: p.ip_protocol().unwrap_or_default().to_string(),
                from_port: p.from_port(),
                to_port: p.to_port(),
                cidr: cidr.to_string(),
                purpose: purpose(g),
            });
        }
    }
    out
}

/// The security groups of a single-interface instance, at the instance level (what
/// DescribeInstances reports as its groups). Instances with several interfaces refuse this;
/// their interfaces are changed one by one with [`set_eni_groups`].
pub async fn set_instance_groups(
    client: &Client,
    instance: &str,
    groups: &[String],
) -> Result<(), AwsError> {
    client
        .modify_instance_attribute()
        .instance_id(instance)
        .set_groups(Some(groups.to_vec()))
        .send()
        .await
        .map_err(call("ec2:ModifyInstanceAttribute", instance))?;
    Ok(())
}

/// An EC2 key pair as DescribeKeyPairs gives it, with its public key material.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyPair {
    pub id: Option<String>,
    pub name: String,
    pub key_type: Option<String>,
    pub fingerprint: Option<String>,
    /// The public key (`IncludePublicKey=true`); `None` when AWS did not give it.
    pub public_key: Option<String>,
    pub created: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// The key pair named `name` in the client's region, with its public key; `None` when there
/// is none by that name.
pub async fn key_pair(client: &Client, name: &str) -> Result<Option<KeyPair>, AwsError> {
    let out = match client
        .describe_key_pairs()
        .key_names(name)
        .include_public_key(true)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if e.code() == Some("InvalidKeyPair.NotFound") => return Ok(None),
        Err(e) => return Err(AwsError::call("ec2:DescribeKeyPairs", name, e)),
    };
    Ok(out
        .key_pairs()
        .iter()
        .find(|k| k.key_name() == Some(name))
        .map(|k| KeyPair {
            id: k.key_pair_id().map(str::to_string),
            name: name.to_string(),
            key_type: k.key_type().map(|t| t.as_str().to_string()),
            fingerprint: k.key_fingerprint().map(str::to_string),
            public_key: k
                .public_key()
                .filter(|p| !p.trim().is_empty())
                .map(str::to_string),
            created: k.create_time().and_then(utc),
            tags: k
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect(),
        }))
}

/// Deletes a key pair by name (its description was recorded first). Instances launched with
/// it keep the key in their `authorized_keys`: deleting the pair does not remove that.
pub async fn delete_key_pair(client: &Client, name: &str) -> Result<(), AwsError> {
    client
        .delete_key_pair()
        .key_name(name)
        .send()
        .await
        .map_err(call("ec2:DeleteKeyPair", name))?;
    Ok(())
}

/// Whom a permission names: an account id, or `all` for the public group. Organization and
/// OU grants (AMIs only) are named by their ARNs.
fn permission_name(
    user: Option<&str>,
    group: Option<&aws_sdk_ec2::types::PermissionGroup>,
) -> Option<String> {
    user.map(str::to_string)
        .or_else(|| group.map(|g| g.as_str().to_string()))
}

/// Who may create volumes from a snapshot: account ids, and `all` when it is public; sorted.
pub async fn snapshot_permissions(
    client: &Client,
    snapshot: &str,
) -> Result<Vec<String>, AwsError> {
    let out = client
        .describe_snapshot_attribute()
        .snapshot_id(snapshot)
        .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
        .send()
        .await
        .map_err(call("ec2:DescribeSnapshotAttribute", snapshot))?;
    let mut who: Vec<String> = out
        .create_volume_permissions()
        .iter()
        .filter_map(|p| permission_name(p.user_id(), p.group()))
        .collect();
    who.sort();
    Ok(who)
}

/// Who may launch an AMI: account ids, `all` when it is public, organization and OU ARNs;
/// sorted.
pub async fn image_permissions(client: &Client, image: &str) -> Result<Vec<String>, AwsError> {
    let out = client
        .describe_image_attribute()
        .image_id(image)
        .attribute(aws_sdk_ec2::types::ImageAttributeName::LaunchPermission)
        .send()
        .await
        .map_err(call("ec2:DescribeImageAttribute", image))?;
    let mut who: Vec<String> = out
        .launch_permissions()
        .iter()
        .filter_map(|p| {
            permission_name(p.user_id(), p.group())
                .or_else(|| p.organization_arn().map(str::to_string))
                .or_else(|| p.organizational_unit_arn().map(str::to_string))
        })
        .collect();
    who.sort();
    Ok(who)
}

/// Splits whom to unshare from into account ids and whether the public group goes too.
fn accounts_and_all(who: &[String]) -> (Vec<String>, bool) {
    let all = who.iter().any(|w| w == "all");
    (who.iter().filter(|w| *w != "all").cloned().collect(), all)
}

/// Removes `createVolumePermission` for these accounts (and `all`, the public group).
pub async fn unshare_snapshot(
    client: &Client,
    snapshot: &str,
    who: &[String],
) -> Result<(), AwsError> {
    let (accounts, all) = accounts_and_all(who);
    let mut req = client
        .modify_snapshot_attribute()
        .snapshot_id(snapshot)
        .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
        .operation_type(aws_sdk_ec2::types::OperationType::Remove)
        .set_user_ids((!accounts.is_empty()).then_some(accounts));
    if all {
        req = req.group_names("all");
    }
    req.send()
        .await
        .map_err(call("ec2:ModifySnapshotAttribute", snapshot))?;
    Ok(())
}

/// Removes `launchPermission` for these accounts (and `all`, the public group).
pub async fn unshare_image(client: &Client, image: &str, who: &[String]) -> Result<(), AwsError> {
    use aws_sdk_ec2::types::{LaunchPermission, LaunchPermissionModifications, PermissionGroup};
    let (accounts, all) = accounts_and_all(who);
    let mut remove: Vec<LaunchPermission> = accounts
        .iter()
        .map(|a| LaunchPermission::builder().user_id(a).build())
        .collect();
    if all {
        remove.push(
            LaunchPermission::builder()
                .group(PermissionGroup::All)
                .build(),
        );
    }
    client
        .modify_image_attribute()
        .image_id(image)
        .launch_permission(
            LaunchPermissionModifications::builder()
                .set_remove(Some(remove))
                .build(),
        )
        .send()
        .await
        .map_err(call("ec2:ModifyImageAttribute", image))?;
    Ok(())
}

/// A security group: its name, its `squall:purpose` tag, and its ingress rules flattened.
#[derive(Debug, Clone)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub purpose: Option<String>,
    pub ingress: Vec<IngressRule>,
}

/// One security group; an unknown id is an error naming it.
pub async fn security_group(client: &Client, id: &str) -> Result<SecurityGroup, AwsError> {
    let out = client
        .describe_security_groups()
        .group_ids(id)
        .send()
        .await
        .map_err(call("ec2:DescribeSecurityGroups", id))?;
    let g = out
        .security_groups()
        .first()
        .ok_or_else(|| AwsError::Call {
            call: "ec2:DescribeSecurityGroups",
            on: format!(" on {id}"),
            message: "no such security group".into(),
        })?;
    Ok(SecurityGroup {
        id: id.to_string(),
        name: g.group_name().unwrap_or_default().to_string(),
        purpose: purpose(g),
        ingress: flatten(g, ""),
    })
}

//! EC2: instances, security groups, VPCs, flow logs and the links back to the corporate network.

use std::collections::BTreeMap;

use aws_sdk_ec2::Client;

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
}

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
                });
            }
        }
    }
    Ok(out)
}

pub async fn ingress_rules(client: &Client, region: &str) -> Result<Vec<IngressRule>, AwsError> {
    let mut out = Vec::new();
    let mut pages = client.describe_security_groups().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::call("ec2:DescribeSecurityGroups", region, e))?;
        for g in page.security_groups() {
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
                    });
                }
            }
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
    Ok(links)
}

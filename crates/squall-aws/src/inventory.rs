//! `squall inventory aws`: what an account holds and what is wrong with it, for the Prepare
//! phase, stored so triage can answer from it.

use std::collections::BTreeMap;

use serde::Serialize;

use futures_util::StreamExt;

use crate::services::{cloudtrail, ec2, iam, organizations};
use crate::{AwsError, Target, connect};

/// Admin ports whose exposure to the world is a finding (and what `recover aws firewall`
/// closes).
pub(crate) const ADMIN_PORTS: &[(i32, &str)] = &[(22, "SSH"), (3389, "RDP")];

/// Tag names that carry owner, purpose, environment and data classes (`--tag-map` changes them;
/// a field left out of the file keeps its default names).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TagMap {
    pub owner: Vec<String>,
    pub purpose: Vec<String>,
    pub env: Vec<String>,
    pub data: Vec<String>,
}

impl Default for TagMap {
    fn default() -> Self {
        let v = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
        TagMap {
            owner: v(&["Owner", "owner", "Team", "team"]),
            purpose: v(&["Purpose", "purpose", "Application", "app"]),
            env: v(&["Environment", "environment", "Env", "env"]),
            data: v(&["DataClassification", "data-classification", "Data"]),
        }
    }
}

impl TagMap {
    /// Reads a tag map from YAML (or TOML when the file ends in `.toml`).
    pub fn load(path: &std::path::Path) -> Result<TagMap, String> {
        squall_core::files::read_yaml_or_toml(path)
    }

    fn get<'a>(names: &[String], tags: &'a BTreeMap<String, String>) -> Option<&'a String> {
        names.iter().find_map(|n| tags.get(n))
    }
}

/// A problem found in the estate; its `kind` is one of `open-admin-port`, `old-access-key`,
/// `unused-access-key`, `cloudtrail-not-logging`, `cloudtrail-single-region`, `no-cloudtrail`,
/// `flow-logs-off`, `unowned-instance`, `instance-outside-approved-vpc`, `ir-role-missing`,
/// `account-unreachable`.
pub use squall_core::asset::{EstateFinding as Finding, most_severe_first};

/// An instance with what its tags say.
#[derive(Debug, Clone, Serialize)]
pub struct InventoriedInstance {
    #[serde(flatten)]
    pub instance: ec2::Instance,
    pub owner: Option<String>,
    pub purpose: Option<String>,
    pub env: Option<String>,
    pub data: Option<String>,
}

/// Everything `inventory aws` learned about one account.
#[derive(Debug, Clone, Serialize)]
pub struct AwsInventory {
    pub account: String,
    pub regions: Vec<String>,
    pub instances: Vec<InventoriedInstance>,
    /// Every ingress rule of every security group.
    pub security_group_rules: Vec<ec2::IngressRule>,
    /// The rules open to the world on admin or all ports (also findings).
    pub open_rules: Vec<ec2::IngressRule>,
    pub volumes: Vec<ec2::VolumeSummary>,
    pub snapshots: Vec<ec2::SnapshotSummary>,
    pub access_keys: Vec<iam::AccessKey>,
    pub roles_trusting_others: Vec<iam::Role>,
    pub corp_links: Vec<String>,
    pub trails: Vec<cloudtrail::Trail>,
    pub findings: Vec<Finding>,
    /// Regions that could not be read, with why (the others are still reported).
    pub errors: Vec<String>,
}

/// What to look at.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Regions to read; empty: every enabled region.
    pub regions: Vec<String>,
    pub tag_map: TagMap,
    /// The incident-response role that should exist (`--role-name`).
    pub ir_role: Option<String>,
    /// Key age, in days, past which a key is a finding.
    pub max_key_age_days: i64,
    /// VPCs instances may run in (empty: no such check).
    pub approved_vpcs: Vec<String>,
}

fn world(cidr: &str) -> bool {
    cidr.ends_with("/0")
}

/// What a world-open rule exposes: `["SSH"]`, `["all ports"]`, ... or `None` when the rule is
/// not open to the world or only opens other ports.
pub fn world_admin_exposure(rule: &ec2::IngressRule) -> Option<Vec<&'static str>> {
    // Squall's own groups are its isolation machinery, never a finding nor a rule to replace.
    if !world(&rule.cidr)
        || crate::respond::is_squall_group(&rule.group_name, rule.purpose.as_deref())
    {
        return None;
    }
    let exposed: Vec<&str> = if rule.protocol == "-1" {
        vec!["all ports"]
    } else {
        ADMIN_PORTS
            .iter()
            .filter(|(p, _)| covers(rule, *p))
            .map(|(_, n)| *n)
            .collect()
    };
    (!exposed.is_empty()).then_some(exposed)
}

fn covers(rule: &ec2::IngressRule, port: i32) -> bool {
    rule.protocol == "-1"
        || match (rule.from_port, rule.to_port) {
            (Some(from), Some(to)) => from <= port && port <= to,
            _ => false,
        }
}

/// Reads the account. A region that fails is reported in `errors` and the rest go on; regions
/// are read concurrently.
pub async fn inventory(target: &Target, options: &Options) -> Result<AwsInventory, AwsError> {
    let config = connect(target).await;
    let account = crate::account_id(&config).await?;
    let ec2_global = aws_sdk_ec2::Client::new(&config);
    let regions = if options.regions.is_empty() {
        ec2::regions(&ec2_global).await?
    } else {
        options.regions.clone()
    };

    let mut tasks = tokio::task::JoinSet::new();
    for region in regions.clone() {
        let config = config.clone();
        tasks.spawn(async move {
            let regional = config
                .into_builder()
                .region(aws_config::Region::new(region.clone()))
                .build();
            let client = aws_sdk_ec2::Client::new(&regional);
            let result = async {
                let instances = ec2::instances(&client, &region).await?;
                let rules = ec2::ingress_rules(&client, &region).await?;
                let (vpcs, logged) = ec2::vpcs_and_flow_logs(&client, &region).await?;
                let links = ec2::corp_links(&client, &region).await?;
                let storage = ec2::storage(&client, &region).await?;
                Ok::<_, AwsError>((instances, rules, vpcs, logged, links, storage))
            }
            .await;
            (region, result)
        });
    }
    let iam_client = aws_sdk_iam::Client::new(&config);
    let access_keys = iam::access_keys(&iam_client).await?;
    let roles = iam::roles(&iam_client, &account).await?;
    let trails = cloudtrail::trails(&aws_sdk_cloudtrail::Client::new(&config)).await?;

    let mut inv = AwsInventory {
        account: account.clone(),
        regions: regions.clone(),
        instances: Vec::new(),
        security_group_rules: Vec::new(),
        open_rules: Vec::new(),
        volumes: Vec::new(),
        snapshots: Vec::new(),
        access_keys,
        roles_trusting_others: roles
            .iter()
            .filter(|r| !r.trusted_accounts.is_empty())
            .cloned()
            .collect(),
        corp_links: Vec::new(),
        trails,
        findings: Vec::new(),
        errors: Vec::new(),
    };
    let mut per_region = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((region, Ok(found))) => per_region.push((region, found)),
            Ok((region, Err(e))) => inv.errors.push(format!("{region}: {e}")),
            Err(e) => inv.errors.push(format!("a region task failed: {e}")),
        }
    }
    per_region.sort_by(|a, b| a.0.cmp(&b.0));
    let tm = &options.tag_map;
    for (region, (instances, rules, vpcs, logged, links, (volumes, snapshots))) in per_region {
        inv.volumes.extend(volumes);
        inv.snapshots.extend(snapshots);
        inv.security_group_rules.extend(rules.iter().cloned());
        for i in instances {
            let owner = TagMap::get(&tm.owner, &i.tags).cloned();
            if owner.is_none() && i.state != "terminated" {
                inv.findings.push(Finding {
                    account: account.clone(),
                    severity: "low",
                    kind: "unowned-instance",
                    resource: i.id.clone(),
                    region: Some(region.clone()),
                    message: format!(
                        "instance {} has no owner tag ({})",
                        i.id,
                        tm.owner.join(", ")
                    ),
                });
            }
            if !options.approved_vpcs.is_empty()
                && i.state != "terminated"
                && !i
                    .vpc_id
                    .as_ref()
                    .is_some_and(|v| options.approved_vpcs.contains(v))
            {
                inv.findings.push(Finding {
                    account: account.clone(),
                    severity: "medium",
                    kind: "instance-outside-approved-vpc",
                    resource: i.id.clone(),
                    region: Some(region.clone()),
                    message: format!(
                        "instance {} runs in {}, not an approved VPC ({})",
                        i.id,
                        i.vpc_id.as_deref().unwrap_or("no VPC"),
                        options.approved_vpcs.join(", ")
                    ),
                });
            }
            inv.instances.push(InventoriedInstance {
                owner,
                purpose: TagMap::get(&tm.purpose, &i.tags).cloned(),
                env: TagMap::get(&tm.env, &i.tags).cloned(),
                data: TagMap::get(&tm.data, &i.tags).cloned(),
                instance: i,
            });
        }
        for r in rules {
            let Some(exposed) = world_admin_exposure(&r) else {
                continue;
            };
            {
                inv.findings.push(Finding {
                    account: account.clone(),
                    severity: "high",
                    kind: "open-admin-port",
                    resource: r.group_id.clone(),
                    region: Some(region.clone()),
                    message: format!(
                        "{} ({}) admits {} on {}",
                        r.group_id,
                        r.group_name,
                        r.cidr,
                        exposed.join(", ")
                    ),
                });
                inv.open_rules.push(r);
            }
        }
        for vpc in vpcs.iter().filter(|v| !logged.contains(v)) {
            inv.findings.push(Finding {
                account: account.clone(),
                severity: "medium",
                kind: "flow-logs-off",
                resource: vpc.clone(),
                region: Some(region.clone()),
                message: format!(
                    "VPC {vpc} has no flow logs: network activity cannot be reconstructed"
                ),
            });
        }
        inv.corp_links
            .extend(links.into_iter().map(|l| format!("{region}:{l}")));
    }
    for k in &inv.access_keys {
        if k.status == "Active" && k.age_days.is_some_and(|d| d > options.max_key_age_days) {
            inv.findings.push(Finding {
                account: account.clone(),
                severity: "medium",
                kind: "old-access-key",
                resource: k.key_id.clone(),
                region: None,
                message: format!(
                    "{}'s key {} is {} days old",
                    k.user,
                    k.key_id,
                    k.age_days.unwrap_or(0)
                ),
            });
        }
        if k.status == "Active" && k.last_used.is_none() {
            inv.findings.push(Finding {
                account: account.clone(),
                severity: "low",
                kind: "unused-access-key",
                resource: k.key_id.clone(),
                region: None,
                message: format!("{}'s key {} has never been used", k.user, k.key_id),
            });
        }
    }
    if inv.trails.is_empty() {
        inv.findings.push(Finding {
            account: account.clone(),
            severity: "high",
            kind: "no-cloudtrail",
            resource: account.clone(),
            region: None,
            message: "no CloudTrail trail: there will be no audit log to investigate".into(),
        });
    }
    for t in &inv.trails {
        if !t.logging {
            inv.findings.push(Finding {
                account: account.clone(),
                severity: "high",
                kind: "cloudtrail-not-logging",
                resource: t.name.clone(),
                region: t.home_region.clone(),
                message: format!("trail {} is not logging", t.name),
            });
        }
        if !t.multi_region {
            inv.findings.push(Finding {
                account: account.clone(),
                severity: "medium",
                kind: "cloudtrail-single-region",
                resource: t.name.clone(),
                region: t.home_region.clone(),
                message: format!("trail {} covers one region only", t.name),
            });
        }
    }
    if let Some(role) = &options.ir_role
        && !roles.iter().any(|r| &r.name == role)
    {
        inv.findings.push(Finding {
                    account: account.clone(),
            severity: "high",
            kind: "ir-role-missing",
            resource: role.clone(),
            region: None,
            message: format!("the incident-response role {role} does not exist: no emergency access to this account"),
        });
    }
    most_severe_first(&mut inv.findings);
    Ok(inv)
}

impl AwsInventory {
    /// The account's instances with their tags, so triage answers "production or test?" from
    /// an instance's own `Environment` tag when a case names the instance.
    pub fn resources(&self) -> Vec<squall_core::Resource> {
        let mut out: Vec<squall_core::Resource> = self
            .instances
            .iter()
            .map(|i| squall_core::Resource {
                provider: squall_core::Provider::Aws,
                account: self.account.clone(),
                id: i.instance.id.clone(),
                kind: Some("instance".to_string()),
                tags: i.instance.tags.clone(),
                region: Some(i.instance.region.clone()),
                open_to_world: Vec::new(),
                addresses: i.instance.public_addresses.clone(),
            })
            .collect();
        // The groups with a rule open to the world on SSH, RDP or every port: a response
        // closes them (`recover aws firewall`) whether or not the logs show who opened them.
        let mut groups: std::collections::BTreeMap<(String, String), Vec<String>> =
            Default::default();
        for r in &self.open_rules {
            let ports = match (r.from_port, r.to_port) {
                _ if r.protocol == "-1" => "all ports".to_string(),
                (Some(a), Some(b)) if a == b => format!("{} {a}", r.protocol),
                (Some(a), Some(b)) => format!("{} {a}-{b}", r.protocol),
                _ => r.protocol.clone(),
            };
            groups
                .entry((r.group_id.clone(), r.region.clone()))
                .or_default()
                .push(format!("{ports} from {}", r.cidr));
        }
        for ((group, region), open) in groups {
            out.push(squall_core::Resource {
                provider: squall_core::Provider::Aws,
                account: self.account.clone(),
                id: group,
                kind: Some("firewall".to_string()),
                tags: Default::default(),
                region: Some(region),
                open_to_world: open,
                addresses: Vec::new(),
            });
        }
        out
    }

    /// The account as a case-store inventory record; fields the API cannot know stay unset
    /// so an imported record's owner and purpose survive the merge.
    pub fn to_asset(&self) -> squall_core::Asset {
        use squall_core::{Asset, CorpReach, Provider};
        let mut regions: Vec<String> = self
            .instances
            .iter()
            .map(|i| i.instance.region.clone())
            .collect();
        regions.sort();
        regions.dedup();
        let mut trusts: Vec<String> = self
            .roles_trusting_others
            .iter()
            .flat_map(|r| r.trusted_accounts.clone())
            .collect();
        trusts.sort();
        trusts.dedup();
        let corp: Vec<CorpReach> = self
            .corp_links
            .iter()
            .map(|l| {
                if l.contains(":vpn:") {
                    CorpReach::Vpn
                } else {
                    CorpReach::Peering
                }
            })
            .collect();
        Asset {
            id: self.account.clone(),
            provider: Provider::Aws,
            name: None,
            owner: None,
            contact: None,
            purpose: None,
            env: None,
            data: None,
            regions: (!regions.is_empty()).then_some(regions),
            corp_reach: Some(if corp.is_empty() {
                vec![CorpReach::None]
            } else {
                corp
            }),
            trusts: Some(trusts),
        }
    }
}

/// One account of an organization-wide inventory.
#[derive(Debug, Clone, Serialize)]
pub struct OrgAccount {
    #[serde(flatten)]
    pub account: organizations::Account,
    /// The account's inventory, or why it could not be read.
    pub inventory: Option<AwsInventory>,
    pub error: Option<String>,
}

/// Every active account of the organization, each through the IR role (the caller's own
/// account directly), a few at a time. An account the role cannot reach is an
/// `account-unreachable` finding of the caller's inventory, not the end of the run.
pub async fn organization(target: &Target, options: &Options) -> Result<Vec<OrgAccount>, AwsError> {
    let config = connect(target).await;
    let own = crate::account_id(&config).await?;
    let accounts = organizations::accounts(&aws_sdk_organizations::Client::new(&config)).await?;
    let reads = accounts
        .into_iter()
        .filter(|a| a.status == "ACTIVE")
        .map(|a| {
            let t = if a.id == own {
                Target {
                    account: None,
                    ..target.clone()
                }
            } else {
                target.in_account(&a.id)
            };
            async move {
                let result = inventory(&t, options).await;
                (a, result)
            }
        });
    let mut out: Vec<OrgAccount> = futures_util::stream::iter(reads)
        .buffer_unordered(4)
        .map(|(account, result)| match result {
            Ok(inv) => OrgAccount {
                account,
                inventory: Some(inv),
                error: None,
            },
            Err(e) => OrgAccount {
                account,
                inventory: None,
                error: Some(e.to_string()),
            },
        })
        .collect()
        .await;
    out.sort_by(|a, b| a.account.id.cmp(&b.account.id));
    let role = target.role_name.clone().unwrap_or_default();
    let unreachable: Vec<Finding> = out
        .iter()
        .filter_map(|a| {
            let e = a.error.as_ref()?;
            Some(Finding {
                account: a.account.id.clone(),
                severity: "high",
                kind: "account-unreachable",
                resource: a.account.id.clone(),
                region: None,
                message: format!(
                    "account {} ({}): cannot be read through role {role}: {e}",
                    a.account.id, a.account.name
                ),
            })
        })
        .collect();
    if let Some(mine) = out
        .iter_mut()
        .find(|a| a.account.id == own)
        .and_then(|a| a.inventory.as_mut())
    {
        mine.findings.extend(unreachable);
        most_severe_first(&mut mine.findings);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(severity: &'static str, resource: &str) -> Finding {
        Finding {
            account: "111122223333".into(),
            severity,
            kind: "flow-logs-off",
            resource: resource.into(),
            region: None,
            message: String::new(),
        }
    }

    fn all_ports_to_the_world(group: &str, purpose: Option<&str>) -> ec2::IngressRule {
        ec2::IngressRule {
            group_id: "sg-1".into(),
            group_name: group.into(),
            region: "eu-west-1".into(),
            protocol: "-1".into(),
            from_port: None,
            to_port: None,
            cidr: "0.0.0.0/0".into(),
            purpose: purpose.map(str::to_string),
        }
    }

    #[test]
    fn squalls_own_groups_are_never_world_open_findings() {
        use crate::respond::{ALLOW_ALL_GROUP, ISOLATION_GROUP};
        for g in [ALLOW_ALL_GROUP, ISOLATION_GROUP] {
            assert_eq!(
                world_admin_exposure(&all_ports_to_the_world(g, Some(g))),
                None
            );
        }
        // A group only named like Squall's is a finding like any other.
        assert_eq!(
            world_admin_exposure(&all_ports_to_the_world(ALLOW_ALL_GROUP, None)),
            Some(vec!["all ports"])
        );
        assert_eq!(
            world_admin_exposure(&all_ports_to_the_world("web", Some(ALLOW_ALL_GROUP))),
            Some(vec!["all ports"])
        );
    }

    #[test]
    fn findings_read_most_severe_first_and_otherwise_as_found() {
        let mut f: Vec<Finding> = (0..32)
            .map(|i| finding("low", &format!("vpc-{i}")))
            .chain([finding("medium", "trail"), finding("high", "sg-open")])
            .chain([finding("low", "vpc-last")])
            .collect();
        most_severe_first(&mut f);
        assert_eq!(f[0].resource, "sg-open");
        assert_eq!(f[1].resource, "trail");
        assert_eq!(f[2].resource, "vpc-0");
        assert_eq!(f.last().unwrap().resource, "vpc-last");
    }
}

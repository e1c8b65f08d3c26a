//! Assets: the accounts, projects and subscriptions of an estate, as the inventory records
//! them and triage reads them. Shared because a provider crate fills them from its APIs and the
//! case store keeps them, and neither may depend on the other.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which cloud an asset lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Aws,
    Gcp,
    Azure,
}

impl Provider {
    /// The name used on the command line, in files and in the ledger.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Gcp => "gcp",
            Provider::Azure => "azure",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Production or not: the first thing a responder asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Env {
    Prod,
    Staging,
    Test,
    Dev,
}

/// Kinds of data whose exposure changes the response (and who must be told).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataClass {
    Pii,
    Pci,
    Phi,
    Secrets,
    Public,
}

/// How an asset reaches back into the corporate network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CorpReach {
    Vpn,
    Peering,
    Interconnect,
    None,
}

/// One account, project or subscription. Unset fields are questions triage will ask the owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    pub id: String,
    pub provider: Provider,
    pub name: Option<String>,
    pub owner: Option<String>,
    pub contact: Option<String>,
    pub purpose: Option<String>,
    pub env: Option<Env>,
    /// Data classes held; an empty list means "none of these", absent means unknown.
    pub data: Option<Vec<DataClass>>,
    pub regions: Option<Vec<String>>,
    pub corp_reach: Option<Vec<CorpReach>>,
    /// Other accounts/projects this one can act in (role trusts, peerings, shared VPCs).
    pub trusts: Option<Vec<String>>,
}

impl Asset {
    /// Takes what `other` knows and keeps the rest: API discovery fills regions and trusts
    /// without erasing the owner and purpose a team wrote down.
    pub fn merge_from(&mut self, other: Asset) {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(
            name, owner, contact, purpose, env, data, regions, corp_reach, trusts
        );
    }
}

/// A resource inside an account (an instance, a volume, a bucket) and its tags, as an
/// inventory lists it. Apart from [`Asset`] because the account is what triage asks its
/// questions of, and a resource's tags are answers about the resources a case touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    pub provider: Provider,
    /// The account, project or subscription it is in.
    pub account: String,
    /// As the provider names it (`i-0abc...`, `vol-...`); an ARN naming it also matches.
    pub id: String,
    /// `instance`, `volume`, `bucket`, ...: said when triage cites it.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Where it is, for the regional ones (a security group, an instance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// What it leaves open to the whole internet on an administration port, as the provider's
    /// inventory read it (`tcp 22 from 0.0.0.0/0`): what a response closes even when no log
    /// shows the attacker opening it (it was open before the incident).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_to_world: Vec<String>,
    /// Its public addresses as the inventory read them (an instance's public or Elastic IP):
    /// where its own calls come from, which the stolen-credential detector tells a thief's
    /// from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
}

impl Resource {
    /// Whether `named` (an id, or an ARN or path ending in `/id` or `:id`, as logs name
    /// resources) is this resource.
    pub fn is_named_by(&self, named: &str) -> bool {
        named == self.id
            || named
                .strip_suffix(self.id.as_str())
                .is_some_and(|head| head.ends_with('/') || head.ends_with(':'))
    }
}

/// A problem an inventory found in the estate (an admin port open to the world, audit logs
/// off, no emergency access): what Prepare fixes before an incident, and what a responder
/// knows about an account or project during one. One shape for every provider, so one table
/// prints them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EstateFinding {
    /// The account, project or subscription it was found in.
    pub account: String,
    /// `high`, `medium` or `low`.
    pub severity: &'static str,
    /// A stable name (`open-admin-port`, `flow-logs-off`, ...), listed by each provider's
    /// inventory.
    pub kind: &'static str,
    pub resource: String,
    pub region: Option<String>,
    pub message: String,
}

/// Orders findings high, medium, low (each level in the order found): the one open admin
/// port must not sit under thirty flow-log lines.
pub fn most_severe_first(findings: &mut [EstateFinding]) {
    let rank = |f: &EstateFinding| match f.severity {
        "high" => 0,
        "medium" => 1,
        "low" => 2,
        _ => 3,
    };
    findings.sort_by_key(rank);
}

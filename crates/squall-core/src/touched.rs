//! What a case touched, in words every provider shares: the resources its actors used and the
//! changes they made, one [`Touch`] per resource a log record names.
//!
//! A log reader turns a record into touches (CloudTrail's `RunInstances` launches instances, its
//! `CreateAccessKey` creates a key for a user); the case gathers them into affected resources;
//! a front end prints them with the command that acts on each. Keeping the vocabulary here lets
//! GCP's and Azure's readers say the same things without knowing how they are shown.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::asset::Provider;

/// What kind of resource was touched. The order is the order a responder reads them in: who
/// acted and with which credentials, what identity was changed, what runs, what leaks, what
/// stopped watching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An identity that made calls (an ARN, a service account, a user principal name).
    Principal,
    /// A long-term key (AWS `AKIA...`, a GCP service-account key).
    AccessKey,
    /// Temporary credentials (AWS `ASIA...`), traced to the role that issued them.
    SessionKey,
    User,
    Role,
    Group,
    /// A console password.
    LoginProfile,
    /// A policy embedded in a user, group or role.
    InlinePolicy,
    /// A standalone policy that can be attached to many principals.
    ManagedPolicy,
    PolicyVersion,
    Instance,
    /// A serverless function (Lambda, Cloud Functions, Azure Functions).
    Function,
    KeyPair,
    /// A firewall: a security group, a VPC firewall rule, a network security group.
    Firewall,
    /// Block storage: a persistent disk (its id the whole path, `projects/P/zones/Z/disks/D`,
    /// since a name is unique only in its zone or region).
    Disk,
    Snapshot,
    Image,
    /// Object storage: a bucket or container.
    Bucket,
    /// An audit trail: CloudTrail, a log sink, a diagnostic setting.
    Trail,
    /// Other watchers: flow logs, threat detectors, configuration recorders.
    Monitoring,
    /// A resource the record names that no reader typed: listed so nothing is lost.
    Resource,
}

impl Kind {
    /// The heading a list of these resources goes under.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Principal => "principals",
            Kind::AccessKey => "access keys",
            Kind::SessionKey => "session keys",
            Kind::User => "users",
            Kind::Role => "roles",
            Kind::Group => "groups",
            Kind::LoginProfile => "login profiles",
            Kind::InlinePolicy => "inline policies",
            Kind::ManagedPolicy => "managed policies",
            Kind::PolicyVersion => "policy versions",
            Kind::Instance => "instances",
            Kind::Function => "functions",
            Kind::KeyPair => "key pairs",
            Kind::Firewall => "firewalls",
            Kind::Disk => "disks",
            Kind::Snapshot => "snapshots",
            Kind::Image => "images",
            Kind::Bucket => "buckets",
            Kind::Trail => "trails",
            Kind::Monitoring => "monitoring",
            Kind::Resource => "other resources",
        }
    }

    /// The name in JSON and CSV (`access_key`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Principal => "principal",
            Kind::AccessKey => "access_key",
            Kind::SessionKey => "session_key",
            Kind::User => "user",
            Kind::Role => "role",
            Kind::Group => "group",
            Kind::LoginProfile => "login_profile",
            Kind::InlinePolicy => "inline_policy",
            Kind::ManagedPolicy => "managed_policy",
            Kind::PolicyVersion => "policy_version",
            Kind::Instance => "instance",
            Kind::Function => "function",
            Kind::KeyPair => "key_pair",
            Kind::Firewall => "firewall",
            Kind::Disk => "disk",
            Kind::Snapshot => "snapshot",
            Kind::Image => "image",
            Kind::Bucket => "bucket",
            Kind::Trail => "trail",
            Kind::Monitoring => "monitoring",
            Kind::Resource => "resource",
        }
    }
}

/// What happened to the resource. Everything but [`Change::Used`] is a change the actor made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Signed a call, made a call, or was read: the resource is affected, not changed.
    Used,
    /// A role taken on: new temporary credentials issued for it.
    Assumed,
    Created,
    /// Instances started from nothing (they run, and cost, until stopped).
    Launched,
    /// Its settings or its document replaced.
    Modified,
    /// A policy attached to, or a user added to, the principal named as the parent.
    Attached,
    Detached,
    /// Access widened: a firewall rule opened, a bucket made public.
    Opened,
    /// Given to another account or to everyone.
    Shared,
    /// Stopped recording or watching.
    Stopped,
    Deleted,
}

impl Change {
    /// The verb, in the past tense, for tables and reports.
    pub fn past(self) -> &'static str {
        match self {
            Change::Used => "used",
            Change::Assumed => "assumed",
            Change::Created => "created",
            Change::Launched => "launched",
            Change::Modified => "modified",
            Change::Attached => "attached",
            Change::Detached => "detached",
            Change::Opened => "opened",
            Change::Shared => "shared",
            Change::Stopped => "stopped",
            Change::Deleted => "deleted",
        }
    }

    /// Whether the actor changed something (as opposed to using it). Assuming a role uses it:
    /// the session key it mints is the change.
    pub fn is_change(self) -> bool {
        !matches!(self, Change::Used | Change::Assumed)
    }
}

/// One resource one record names, and what the record did to it. The record itself (time,
/// principal, file and index) is kept by whoever read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touch {
    pub kind: Kind,
    /// The resource's own id: `i-0abc...`, `AKIA...`, a user name, a policy ARN.
    pub id: String,
    pub change: Change,
    /// What the resource belongs to or was attached to, as `kind name` (`user ci-deployer`,
    /// `role bastion-role`, `instance i-0abc`): a key's user, a session key's role, a role
    /// session's instance, a policy's principal, a firewall rule's group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The particulars a responder asks next: `tcp 22 from 0.0.0.0/0`, `shared with
    /// 111122223333`, `g5.12xlarge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The firewall rules a call added or removed, as the record states them: what decides
    /// whether a rule is open to the world on an administration port.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// The provider's own id of what the call created (IAM's `AIDA...` for a user, `AROA...`
    /// for a role, `ANPA...` for a policy): a name can be given again to something else, the
    /// id never, so what is deleted later is checked to be what was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_id: Option<String>,
}

/// One firewall rule as a log record states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub ingress: bool,
    /// `tcp`, `udp`, `icmp`, or `all`.
    pub protocol: String,
    /// The port range; `None` for every port.
    pub ports: Option<(u32, u32)>,
    /// CIDR ranges, groups or prefix lists the rule lets in (ingress) or out to (egress).
    pub peers: Vec<String>,
}

impl Rule {
    /// Open to any address: a `/0` range (`0.0.0.0/0`, `::/0`, and `203.0.113.9/0`, which
    /// AWS accepts and which matches every address all the same).
    pub fn is_world(&self) -> bool {
        self.peers.iter().any(|p| p.ends_with("/0"))
    }

    /// Whether the rule covers `port` (every protocol covers every port).
    pub fn covers(&self, port: u32) -> bool {
        match (self.protocol.as_str(), self.ports) {
            ("all", _) | (_, None) => true,
            (_, Some((from, to))) => from <= port && port <= to,
        }
    }
}

impl Touch {
    /// A touch without a parent or detail.
    pub fn new(kind: Kind, id: impl Into<String>, change: Change) -> Touch {
        Touch {
            kind,
            id: id.into(),
            change,
            parent: None,
            detail: None,
            rules: Vec::new(),
            unique_id: None,
        }
    }

    /// The same touch, with the provider's id of what it created: kept only in the shape
    /// such ids have (letters and digits, at most 128), since the log that states it is the
    /// attacker's to write.
    pub fn unique_id(mut self, id: Option<String>) -> Touch {
        self.unique_id = id.filter(|i| {
            (1..=128).contains(&i.len()) && i.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        self
    }

    /// The same touch, belonging to `parent` (`user alice`).
    pub fn parent(mut self, parent: Option<String>) -> Touch {
        self.parent = parent;
        self
    }

    /// The same touch, with its particulars.
    pub fn detail(mut self, detail: Option<String>) -> Touch {
        self.detail = detail.filter(|d| !d.is_empty());
        self
    }
}

/// The record a change or a failed call comes from. Shared by every touch of the record, so a
/// record naming a thousand resources is held once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seen {
    pub time: String,
    pub principal: Option<String>,
    pub action: Option<String>,
    pub source_ip: Option<String>,
    pub file: String,
    pub record_index: u64,
    pub event_id: Option<String>,
}

/// One change made to a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub change: Change,
    /// What it was attached to or belongs to, for this change (`user backup-admin`).
    pub parent: Option<String>,
    pub detail: Option<String>,
    /// The firewall rules the change added, as the record states them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// The provider's id of what the change created (see [`Touch::unique_id`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unique_id: Option<String>,
    #[serde(flatten)]
    pub record: Arc<Seen>,
}

/// A resource the case's actors touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    pub provider: Option<Provider>,
    pub kind: Kind,
    pub id: String,
    /// What it belongs to, as first seen: a key's user, a session key's role.
    pub parent: Option<String>,
    /// What the records say of it when it was only used (an instance-role session's instance).
    pub detail: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    /// How many records name it.
    pub events: u64,
    /// Named only by events that share a source address with the case's actors, none of
    /// their principals or keys: a bystander behind the same NAT as likely as an accomplice,
    /// so listed but never acted on.
    pub address_only: bool,
    /// The changes made to it, in time order; empty when it was only used.
    pub changes: Vec<Changed>,
    /// The first record that names it.
    pub first_record: Arc<Seen>,
}

impl Resource {
    /// Whether the actors changed it (as opposed to only using it).
    pub fn changed(&self) -> bool {
        !self.changes.is_empty()
    }

    /// Whether its last change deleted it: nothing is left to act on.
    pub fn deleted(&self) -> bool {
        self.changes
            .last()
            .is_some_and(|c| c.change == Change::Deleted)
    }
}

/// A call that failed: what it tried, why it failed, and where it is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedCall {
    pub error: String,
    /// What the call would have changed (`user evil created`), when the record names it.
    pub attempted: Vec<String>,
    #[serde(flatten)]
    pub record: Arc<Seen>,
}

/// Everything the case touched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Affected {
    /// By kind (in [`Kind`]'s order), then by first seen.
    pub resources: Vec<Resource>,
    pub failed: Vec<FailedCall>,
}

impl Affected {
    /// How many changes the actors made, over all resources.
    pub fn change_count(&self) -> usize {
        self.resources.iter().map(|r| r.changes.len()).sum()
    }
}

/// What a change to a trail did, in the fixed words a touch's detail says it (joined by `, `):
/// the log reader writes them, and a provider's response reads them back to tell what it
/// restores by itself from what it leaves to the analyst. Never the log's own text.
pub mod trail_change {
    pub const MULTI_REGION_OFF: &str = "multi-region off";
    pub const GLOBAL_EVENTS_OFF: &str = "global service events off";
    pub const VALIDATION_OFF: &str = "log file validation off";
    pub const BUCKET: &str = "delivery bucket changed";
    pub const PREFIX: &str = "key prefix changed";
    pub const ENCRYPTION: &str = "encryption key changed";
    pub const CLOUDWATCH: &str = "CloudWatch Logs delivery changed";
    pub const SNS: &str = "SNS notification changed";
    pub const ORGANIZATION_OFF: &str = "organization trail off";
    pub const SELECTORS: &str = "event selectors replaced";
    pub const INSIGHTS: &str = "insight selectors replaced";

    /// The changes a restore of what the trail records puts back by itself.
    pub const RESTORED: [&str; 4] = [
        MULTI_REGION_OFF,
        GLOBAL_EVENTS_OFF,
        VALIDATION_OFF,
        SELECTORS,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_changes_name_themselves_as_they_serialize() {
        for kind in [Kind::AccessKey, Kind::LoginProfile, Kind::Resource] {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.name())
            );
        }
        assert_eq!(
            serde_json::to_value(Change::Launched).unwrap(),
            serde_json::json!("launched")
        );
        assert!(!Change::Used.is_change());
        assert!(!Change::Assumed.is_change());
        assert!(Change::Stopped.is_change());
    }

    #[test]
    fn a_rule_is_world_open_on_a_port_it_covers() {
        let rule = |protocol: &str, ports, peer: &str| Rule {
            ingress: true,
            protocol: protocol.into(),
            ports,
            peers: vec![peer.into()],
        };
        assert!(rule("tcp", Some((22, 22)), "0.0.0.0/0").covers(22));
        assert!(!rule("tcp", Some((5432, 5432)), "0.0.0.0/0").covers(22));
        assert!(rule("all", None, "::/0").covers(3389));
        assert!(rule("tcp", Some((0, 65535)), "::/0").is_world());
        assert!(rule("tcp", Some((22, 22)), "208.236.235.254/0").is_world());
        assert!(!rule("tcp", Some((22, 22)), "10.0.0.0/8").is_world());
    }

    #[test]
    fn an_empty_detail_is_no_detail() {
        let t = Touch::new(Kind::User, "u", Change::Created).detail(Some(String::new()));
        assert_eq!(t.detail, None);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"kind":"user","id":"u","change":"created"}"#);
    }
}

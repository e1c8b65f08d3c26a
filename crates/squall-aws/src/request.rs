//! AWS's verbs as plain requests: what a front end asks for (contain these keys, isolate
//! these instances, image into this folder), before any case or store is involved. Command-line
//! arguments (`cli`) turn into these; so would a web form.

use std::path::PathBuf;

pub use crate::respond::{Holder, Shared};

/// What `contain aws` cuts off.
#[derive(Debug, Clone)]
pub enum Contain {
    /// Access keys, deactivated (kept, disabled, as evidence).
    Keys(Vec<String>),
    /// IAM users: keys, console login and SSH keys, and their older sessions.
    Users(Vec<String>),
    /// IAM roles: every session issued before now.
    Roles(Vec<String>),
    Instances {
        ids: Vec<String>,
        how: InstanceContainment,
    },
}

/// What to do to an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceContainment {
    /// Network, credentials and public addresses cut; kept running (memory intact).
    Isolate,
    Stop,
    /// Stop with memory kept on the root volume.
    Hibernate,
    /// Only after every volume was acquired and verified in the case.
    Terminate,
}

/// What `recover aws` fixes.
#[derive(Debug, Clone)]
pub enum Recover {
    /// Rules open to the world on admin or all ports, optionally narrowed to `replace_with`;
    /// only `groups` when given.
    Firewall {
        replace_with: Option<String>,
        groups: Vec<String>,
    },
    /// A leaked key rotated; the new secret written to `secret_file` (owner-only).
    Key { key: String, secret_file: PathBuf },
    /// An instance's root volume replaced from a snapshot taken before the attacker; one
    /// started after the case's compromise time only with `allow_after_compromise`.
    Instance {
        instance: String,
        snapshot: String,
        allow_after_compromise: bool,
    },
    /// Managed policies detached from a user, role or group (the policies themselves kept).
    DetachPolicy {
        holder: Holder,
        policy_arns: Vec<String>,
    },
    /// Inline policies deleted from a user, role or group, each once its document is read
    /// into the plan.
    DeleteInlinePolicy {
        holder: Holder,
        policies: Vec<String>,
    },
    /// A managed policy's default version set back to `version`.
    PolicyVersion { policy_arn: String, version: String },
    /// A role's trust policy replaced with the document in `file`.
    TrustPolicy { role: String, file: PathBuf },
    /// Stopped CloudTrail trails logging again.
    StartLogging(Vec<String>),
    /// EC2 key pairs deleted, each once its public key is read into the plan.
    DeleteKeyPair(Vec<String>),
    /// A snapshot or AMI no longer shared with these accounts (or `all`).
    Unshare { what: Shared, accounts: Vec<String> },
    /// One ingress rule revoked: `ports` as `22` or `8000-8080`, none for protocol all.
    RevokeRule {
        group: String,
        protocol: String,
        ports: Option<String>,
        cidr: String,
    },
    /// Users' console logins removed (that they existed, and since when, recorded).
    DisableLogin(Vec<String>),
    /// Users the attacker made deleted, each once its whole description is in the plan.
    DeleteUser(Removal),
    /// Roles the attacker made deleted, each once its whole description is in the plan.
    DeleteRole(Removal),
    /// Customer-managed policies (by ARN) the attacker wrote deleted, each once every
    /// version's document is in the plan.
    DeletePolicy(Removal),
    /// Trails recording every management event again, with log file validation and global
    /// service events on (and every region, when `multi_region`).
    RestoreTrail {
        trails: Vec<String>,
        multi_region: bool,
    },
}

/// What to delete: names (or ARNs), and — for one — the id IAM gave it when the attacker made
/// it, so a later namesake is never taken for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub names: Vec<String>,
    pub id: Option<String>,
}

/// Where and how disk images are written.
#[derive(Debug, Clone)]
pub struct Imaging {
    pub dir: PathBuf,
    /// Blocks fetched at once.
    pub concurrency: usize,
}

/// `acquire aws instance`.
#[derive(Debug, Clone)]
pub struct Acquisition {
    pub instances: Vec<String>,
    /// The security team's account that receives the snapshots, and the role to copy them
    /// there with.
    pub forensic_account: Option<String>,
    pub forensic_role: Option<String>,
    /// Image the snapshots too (only when approved).
    pub image: Option<Imaging>,
}

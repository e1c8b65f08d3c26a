//! The responder's verbs on AWS — contain, release, stop, terminate, acquire, recover — each an
//! [`Action`](squall_core::respond::Action) on one resource: a plan from a fresh read, the
//! change, and a read-back that the provider-neutral driver (`squall_case::respond::Run`)
//! compares with the plan and records.
//!
//! The calls themselves live in the thin service modules; the verbs say what a responder does
//! and in which order, and why, one family per file:
//!
//! - `identity.rs`: stolen credentials (deactivate a key, contain a user or a role);
//! - `instance.rs`: a compromised instance (isolate, release, stop, terminate);
//! - `acquisition.rs`: evidence from its disks (snapshot, share, copy to the forensic account);
//! - `recovery.rs`: back to a good state (rotate a key, replace a world-open rule, restore a
//!   root volume);
//! - `undo.rs`: what the attacker changed, undone (a policy attached, a trail stopped, a key
//!   pair created, a snapshot shared, a rule opened, a console login made);
//! - `removal.rs`: what the attacker created, deleted once wholly described (a user, a role, a managed policy);
//! - `trail.rs`: a trail the attacker narrowed, recording every management event again.
//!
//! This module holds what they share: the clients, the names and tags Squall puts on what it
//! creates, and how a plan is made. Every verb is re-exported here, so callers name
//! `squall_aws::respond::IsolateInstance` whatever file it lives in.

mod acquisition;
mod identity;
mod instance;
mod recovery;
mod removal;
mod trail;
mod undo;

use std::time::Duration;

use aws_config::SdkConfig;
use squall_core::respond::ActionError;

use crate::AwsError;

pub use crate::services::iam::Holder;
pub use acquisition::{AcquireVolume, Forensic, ImageSnapshot};
pub use identity::{ContainRole, ContainUser, DeactivateKey};
pub use instance::{
    IsolateInstance, IsolationGroups, ReleaseInstance, StopInstance, Survey, TerminateInstance,
};
pub use recovery::{FixWorldRule, IngressPermission, RestoreInstance, RotateKey};
pub use removal::{DeletePolicy, DeleteRole, DeleteUser};
pub use trail::RestoreTrail;
pub use undo::{
    DeleteInlinePolicy, DeleteKeyPair, DetachPolicy, DisableLogin, RestorePolicyVersion,
    RestoreTrustPolicy, RevokeRule, Shared, StartLogging, Unshare, ingress_permission,
};

/// The isolation group: no rules at all, so nothing gets in or out.
pub const ISOLATION_GROUP: &str = "squall-isolation";
/// Applied for a moment before the isolation group. Security groups track connections: moving
/// an instance to a group without rules leaves already-established flows (the attacker's
/// shell) running. Traffic allowed by an allow-all rule in both directions is not tracked, so
/// passing through this group first turns the live flows untracked, and the empty group then
/// cuts them at once.
pub const ALLOW_ALL_GROUP: &str = "squall-isolation-allow-all";

/// Whether a security group is one of Squall's own (the isolation group, the allow-all group
/// it passes through): its name, and the tag Squall put on it when it made it. The name alone
/// is not enough (anyone can name a group so, to hide a world-open rule in it).
pub fn is_squall_group(name: &str, purpose_tag: Option<&str>) -> bool {
    [ISOLATION_GROUP, ALLOW_ALL_GROUP].contains(&name) && purpose_tag == Some(name)
}

/// Tag keys put on everything Squall creates, so the case's resources can be found again.
pub const CASE_TAG: &str = "squall:case";
/// Names the volume a snapshot was taken of, so a re-run finds it instead of taking another.
pub const VOLUME_TAG: &str = "squall:volume";
/// Names the instance the volume of a snapshot belonged to.
pub const INSTANCE_TAG: &str = "squall:instance";

/// Long operations (a snapshot of a large volume) are waited for up to this long.
pub const SNAPSHOT_WAIT: Duration = Duration::from_secs(6 * 3600);

/// The clients a verb needs, made once from one configuration.
#[derive(Clone, Debug)]
pub struct Clients {
    pub ec2: aws_sdk_ec2::Client,
    pub iam: aws_sdk_iam::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    pub kms: aws_sdk_kms::Client,
    pub sts: aws_sdk_sts::Client,
    pub region: String,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Clients {
        Clients {
            ec2: aws_sdk_ec2::Client::new(config),
            iam: aws_sdk_iam::Client::new(config),
            cloudtrail: aws_sdk_cloudtrail::Client::new(config),
            kms: aws_sdk_kms::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            region: config
                .region()
                .map_or("us-east-1".to_string(), |r| r.to_string()),
        }
    }
}

fn err(e: AwsError) -> ActionError {
    Box::new(e)
}

/// Now, as IAM's `aws:TokenIssueTime` compares it.
pub fn now_utc() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use squall_core::respond::Plan;

    use super::*;

    #[test]
    fn the_revocation_cut_off_is_utc_to_the_second_as_iam_compares_it() {
        let now = now_utc();
        // 2024-05-01T10:00:00Z: no fraction, no offset but Z.
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.ends_with('Z'), "{now}");
        let parsed = chrono::DateTime::parse_from_rfc3339(&now).unwrap();
        assert_eq!(parsed.offset().local_minus_utc(), 0);
        let age = chrono::Utc::now().signed_duration_since(parsed);
        assert!((0..5).contains(&age.num_seconds()), "{now}");
    }

    #[test]
    fn squall_groups_are_known_by_name_and_tag_together() {
        assert!(is_squall_group(ALLOW_ALL_GROUP, Some(ALLOW_ALL_GROUP)));
        assert!(is_squall_group(ISOLATION_GROUP, Some(ISOLATION_GROUP)));
        // A look-alike without the tag, a tag on another group, a tag naming the other group.
        assert!(!is_squall_group(ALLOW_ALL_GROUP, None));
        assert!(!is_squall_group("web", Some("web")));
        assert!(!is_squall_group(ALLOW_ALL_GROUP, Some(ISOLATION_GROUP)));
    }

    #[test]
    fn a_plan_is_already_done_when_before_shows_everything_after_asks_for() {
        let p = Plan::new(
            "stop-instance",
            "i-1",
            json!({"state": "stopped", "other": 1}),
            json!({"state": "stopped"}),
            true,
        );
        assert!(p.already_done);
        assert!(p.visible_to_attacker);
        assert!(p.notes.is_empty());
        let p = Plan::new(
            "stop-instance",
            "i-1",
            json!({"state": "running"}),
            json!({"state": "stopped"}),
            false,
        );
        assert!(!p.already_done);
    }
}

//! The responder's verbs on Google Cloud, each an
//! [`Action`](squall_core::respond::Action) on one resource: a plan from a fresh read, the
//! change, and a read-back that the provider-neutral driver (`squall_case::respond::Run`)
//! compares with the plan and records. The calls live in `services`; the verbs say what a
//! responder does and in which order, and why:
//!
//! - `instance.rs`: a compromised instance (isolate, release, suspend, stop, delete);
//! - `acquisition.rs`: evidence from its disks (snapshots into the forensic project);
//! - `imaging.rs`: a snapshot read into a raw image through a worker in the forensic project;
//! - `identity.rs`: stolen credentials (a service account and its keys, one key; a key
//!   rotated);
//! - `ssh.rs`: SSH keys in instance and project metadata;
//! - `recovery.rs`: back to a good state (a world-open firewall rule narrowed or removed, a
//!   boot disk replaced from a snapshot);
//! - `undo.rs`: what the attacker changed, undone (a snapshot, image or disk shared out, a
//!   firewall rule they created, a role they granted, a log exclusion they made, a sink they
//!   disabled);
//! - `logconfig.rs`: a sink or exclusion they changed or deleted, put back as the audit log
//!   says it was before.

mod acquisition;
mod identity;
mod imaging;
mod instance;
mod logconfig;
mod recovery;
mod ssh;
mod undo;

use sha2::{Digest, Sha256};
use squall_core::respond::ActionError;

use crate::GcpError;

pub use acquisition::{AcquireDisk, SNAPSHOT_WAIT, snapshot_name};
pub use identity::{
    ContainServiceAccount, DeleteKey, DisableKey, RotateKey, account_name, key_name,
};
pub use imaging::{DEVICE, Image, ImageSnapshot, Report, WORKER_POLL, WORKER_SCRIPT, worker_name};
pub use instance::{
    DeleteInstance, IsolateInstance, Prior, ReleaseInstance, RuleAt, StopInstance, isolation_tag,
};
pub use logconfig::{LogConfig, RestoreLogConfig};
pub use recovery::{FixWorldRule, RestoreFromSnapshot, world_open};
pub use ssh::{RemoveProjectSshKeys, RemoveSshKeys};
pub use undo::{DeleteExclusion, DeleteRule, EnableSink, PUBLIC, RemoveBinding, Unshare};

/// Labels and descriptions Squall puts on what it creates, so the case's resources can be
/// found again.
pub const CASE_LABEL: &str = "squall-case";

fn err(e: GcpError) -> ActionError {
    Box::new(e)
}

/// The first `n` hex digits of SHA-256 over `parts`, each ended by a newline: a short name
/// that cannot collide across cases or resources the way a truncated name could.
fn short_hash(parts: &[&str], n: usize) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(b"\n");
    }
    let mut hex = squall_core::digest::hex(&h.finalize());
    hex.truncate(n);
    hex
}

//! Cases: the store that turns detections into an incident a team can run, and the
//! tamper-evident ledger that makes the response defensible.
//!
//! [`Store`] is what the verbs use; [`SqliteStore`] is the embedded implementation. Every change
//! to a case is a [`ledger::Entry`] written in the same transaction as the change itself.

pub mod affected;
pub mod casefile;
pub mod hash;
pub mod home;
pub mod inventory;
pub mod ledger;
pub mod proposal;
pub mod report;
pub mod respond;
pub mod signing;
pub mod sqlite;
pub mod store;
pub mod timeline;
pub mod triage;

/// Attacker text as data (shared with every crate; see `squall_core::text`).
pub use squall_core::text;

pub use casefile::{CaseFile, Integrity};
pub use ledger::{Break, Entry, GENESIS, Head, SignaturePolicy, verify, verify_signed};
pub use sqlite::SqliteStore;
pub use store::{
    Attached, AttachedDetection, Case, CheckedInventory, Evidence, HuntCase, HuntRun, NewCase,
    NewDetection, NewEvidence, STATUSES, SourceDigest, Store, StoreError, Task,
};

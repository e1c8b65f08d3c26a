//! Squall's shared vocabulary: the words every other crate speaks, so a provider crate, the
//! case store, the detection engine and any front end agree without depending on each other.
//!
//! Nothing here talks to a cloud or depends on another Squall crate: a provider crate (AWS today, GCP
//! and Azure next) depends on this and on its SDK, never on the store or the Sigma engine.

pub mod asset;
#[cfg(feature = "cli")]
pub mod cli;
pub mod digest;
pub mod entry;
pub mod files;
pub mod finding;
pub mod image;
pub mod level;
pub mod proposal;
pub mod respond;
pub mod text;
pub mod touched;
pub mod verb;

pub use asset::{Asset, CorpReach, DataClass, Env, Provider, Resource};
pub use entry::Kind;
pub use finding::{Finding, Location, Origin};
pub use level::Level;
pub use respond::{Action, ActionError, Outcome, Plan, Status};
pub use touched::{Change, Touch};

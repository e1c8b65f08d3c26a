//! Detection: Sigma rules (SigmaHQ's, unmodified, and Squall's own pack) run over the records
//! that `squall-logs` reads.
//!
//! [`rules::load`] routes every rule to its provider log and compiles it with rsigma;
//! [`hunt::hunt`] streams the inputs through both cores, matches each record only against its
//! log's rules, and runs correlations afterwards in event-time order across all files;
//! [`credentials`] learns every key's addresses on the way and reports stolen credentials.

pub mod aws_ranges;
pub mod correlate;
pub mod credentials;
pub mod detection;
pub mod hunt;
pub mod rules;
pub mod spill;

pub use detection::{CSV_HEADER, CorrelationFacts, Detection, Evidence, Level, RuleMeta};
pub use hunt::{Collector, HuntOptions, Progress, Sink, Stats, hunt, sort_detections};
pub use rules::{RuleProblem, RuleSet, load};

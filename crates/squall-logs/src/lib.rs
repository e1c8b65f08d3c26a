//! Reads cloud audit logs as the providers deliver them (CloudTrail S3 files, `lookup-events`
//! output, GCP Logging exports, Azure storage exports; plain, gzip or zstd; JSON, arrays or JSON
//! Lines) and yields records that Sigma rules can read.
//!
//! The flow is [`discover`] → [`read_input`] (a [`Splitter`] cuts bytes into records without
//! parsing them) → [`Record::parse`] on a worker, which parses the top level once and nested
//! members only on demand.

mod audit;
mod batch;
mod credential;
mod input;
mod node;
mod record;
mod source;
mod split;
mod time;
mod touches;
mod warning;

pub use batch::{Batch, RawRef};
pub use credential::{CredentialUse, KeyKind};
pub use input::{
    Discovery, FileDigest, FileTotals, Input, ReadOptions, discover, open, read_input,
    read_input_hashed,
};
pub use node::MAX_DEPTH;
pub use node::Node;
pub use record::{Record, RecordError, Summary, unwrap_lookup_event};
pub use source::{LogSource, SummaryPaths};
pub use split::{Piece, ProblemKind, SplitProblem, Splitter, Wrapper};
pub use time::EventTime;
pub use warning::{SkipReason, Warning};

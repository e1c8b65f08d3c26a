//! The arguments every front end on a command line shares, for the providers' crates to flatten
//! into their verbs (behind the `cli` feature, so no other user of the vocabulary compiles an
//! argument parser): the output format and the response verbs' common flags.

use clap::{Args, ValueEnum};

/// Output formats shared by every verb that lists things.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

/// What every response verb's `--help` ends with.
pub const RESPONSE_HELP: &str = "Every verb first prints its plan (resource, state before, state \
    expected after) and changes nothing without --yes. With --yes it executes, reads the state \
    back to verify, and records plan, execution and verification in the case's ledger. \
    Re-running converges: what is already done is recorded as unchanged, never done twice. \
    Resources run concurrently (--concurrency); one failing does not stop the others.\n\n\
    Exit codes: 0 every resource planned, verified or already done; 3 at least one failed \
    (see the summary); 2 usage or store error.";

/// The flags every response verb shares.
#[derive(Args, Debug, Clone)]
pub struct Response {
    /// The case the actions are recorded in.
    #[arg(long)]
    pub case: String,
    /// Carry out the plan (without it, only the plan is shown).
    #[arg(long)]
    pub yes: bool,
    /// Resources read or changed at once.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub concurrency: usize,
    /// The per-resource summary's format [default: table on a terminal, jsonl when piped].
    #[arg(short, long, value_enum)]
    pub format: Option<Format>,
}

//! Exit codes, documented in `squall --help` and the README.

/// The run completed (with or without detections).
pub const OK: u8 = 0;
/// `--fail-on-detection` and something was detected.
pub const DETECTED: u8 = 1;
/// A ledger or integrity check failed: `ledger verify` says TAMPERED, and every view of a
/// case (show, timeline, scope, triage, report) still prints, under a warning at its top.
pub const TAMPERED: u8 = 1;
/// Bad usage, nothing could be read, or a warning under `--strict`.
pub const ERROR: u8 = 2;
/// A response action failed on at least one resource (the others ran; see the summary).
pub const FAILED: u8 = 3;

//! Problems with input, each named by file and position so the analyst can find the bytes.

use std::fmt;

use crate::batch::RawRef;

/// What was wrong with a record or a file; the run summary counts each.
///
/// Most reasons mean the record or file was skipped. A few mean it was read with a caveat the
/// analyst must know about (a duplicate key, a value nested too deep to keep, a time that does
/// not parse); [`SkipReason::skips`] tells them apart, so the summary can count those records
/// as read *and* warned about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// The file could not be opened or read (permissions, corrupt compression).
    Unreadable,
    /// The file is not JSON at all.
    NotJson,
    /// A record is not valid JSON.
    Malformed,
    /// The input ends inside a record.
    Truncated,
    /// A record is not valid UTF-8.
    InvalidUtf8,
    /// A record is JSON, but not an object.
    WrongShape,
    /// A JSON object of no known provider log.
    Unrecognized,
    /// A record is larger than the configured limit.
    TooLarge,
    /// A path names a FIFO, socket or device: reading one can block forever or never end, so
    /// it is refused by its type without being opened.
    SpecialFile,
    /// The record was read, but an object in it holds the same key twice; the last value is
    /// the one used (see [`crate::Record`]).
    DuplicateKey,
    /// The record was read, but a value nested deeper than Squall keeps as a tree is kept as
    /// its JSON text: rules can search it as text but not reach fields inside it.
    TooDeep,
    /// The record was read, but its event time is absent or does not parse, so time windows,
    /// correlations and timelines cannot place it.
    BadTime,
}

impl SkipReason {
    pub fn name(self) -> &'static str {
        match self {
            SkipReason::Unreadable => "unreadable",
            SkipReason::NotJson => "not-json",
            SkipReason::Malformed => "malformed",
            SkipReason::Truncated => "truncated",
            SkipReason::InvalidUtf8 => "invalid-utf8",
            SkipReason::WrongShape => "wrong-shape",
            SkipReason::Unrecognized => "unrecognized",
            SkipReason::TooLarge => "too-large",
            SkipReason::SpecialFile => "special-file",
            SkipReason::DuplicateKey => "duplicate-key",
            SkipReason::TooDeep => "too-deep",
            SkipReason::BadTime => "bad-time",
        }
    }

    /// Whether the record or file was left unread; false for the caveats a read record carries.
    pub fn skips(self) -> bool {
        !matches!(
            self,
            SkipReason::DuplicateKey | SkipReason::TooDeep | SkipReason::BadTime
        )
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One problem with the input.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    pub file: String,
    /// 0-based record position in the file, when the problem is one record.
    pub record: Option<u64>,
    /// 1-based line, for JSON Lines.
    pub line: Option<u64>,
    /// Byte offset in the decompressed file.
    pub offset: Option<u64>,
    pub reason: SkipReason,
    pub message: String,
}

impl Warning {
    /// A problem with a whole file.
    pub fn file(file: impl Into<String>, reason: SkipReason, message: impl Into<String>) -> Self {
        Warning {
            file: file.into(),
            record: None,
            line: None,
            offset: None,
            reason,
            message: message.into(),
        }
    }
}

impl Warning {
    /// A problem with one record, placed by the [`RawRef`] the reader gave it.
    pub fn record(
        file: impl Into<String>,
        raw: &RawRef,
        reason: SkipReason,
        message: impl Into<String>,
    ) -> Self {
        Warning {
            file: file.into(),
            record: Some(raw.index),
            line: raw.line,
            offset: Some(raw.offset),
            reason,
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        match (self.record, self.offset) {
            (Some(r), Some(o)) => write!(f, " (record {r}, byte {o})")?,
            (Some(r), None) => write!(f, " (record {r})")?,
            (None, Some(o)) => write!(f, " (byte {o})")?,
            (None, None) => {}
        }
        write!(f, ": {}", self.message)
    }
}

//! Splits a byte stream of JSON into record-sized pieces without parsing it.
//!
//! Providers deliver the same records in several containers: CloudTrail's S3 files wrap them in
//! `{"Records":[...]}` (often one multi-megabyte line), Azure's storage export in
//! `{"records":[...]}`, `aws cloudtrail lookup-events` in `{"Events":[...]}`, gcloud prints one JSON
//! array, and sinks or CloudWatch exports write JSON Lines. The splitter finds the record
//! boundaries in all of them with a structural scan (strings, escapes and bracket depth only), so
//! memory is bounded by the largest record and not by the file, and each record is later parsed
//! exactly once.
//!
//! The scan is resumable: when a record spans a buffer refill, it continues where it stopped
//! instead of rescanning, so a 100 MB record costs one pass.

use std::io::{self, Read};

use memchr::{memchr, memchr3};

/// How many bytes are asked of the reader per refill.
const READ_CHUNK: usize = 1 << 20;

/// Containers whose first key names the array of records inside.
const WRAPPER_KEYS: &[(&[u8], Wrapper)] = &[
    (b"Records", Wrapper::Records),
    (b"records", Wrapper::Records),
    (b"Events", Wrapper::LookupEvents),
    (b"value", Wrapper::Records),
];

/// The container a record was found in; `lookup-events` records carry the real event as a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapper {
    /// A record at the top level, in a top-level array, or in a `Records`/`records` wrapper.
    Records,
    /// An element of `aws cloudtrail lookup-events` output, whose `CloudTrailEvent` holds the record.
    LookupEvents,
}

/// One thing the splitter found.
#[derive(Debug)]
pub enum Piece<'b> {
    /// The bytes of one JSON value that should be a record.
    Record {
        bytes: &'b [u8],
        /// Byte offset of the record in the (decompressed) stream.
        offset: u64,
        /// 1-based line number when the input is JSON Lines.
        line: Option<u64>,
        wrapper: Wrapper,
    },
    /// Something that is not a record; the splitter has already resynchronised past it.
    Problem(SplitProblem),
}

/// Why part of a stream could not be split into records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitProblem {
    pub offset: u64,
    pub line: Option<u64>,
    pub kind: ProblemKind,
    /// Whether the problem took the place of one record, which then has a position like any
    /// other: a record skipped for its size or form still counts, so the records after it keep
    /// the positions other tools give them.
    pub record: bool,
}

/// The kinds of damage the splitter recognises. Each is reported once, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// The stream does not start like JSON at all (a binary file, say); the rest is skipped.
    NotJson,
    /// Bytes that are not a JSON value; skipped up to the next line.
    Malformed(String),
    /// The stream ended inside a record (a truncated download or gzip member).
    Truncated,
    /// The underlying reader failed (corrupt or truncated compression, I/O error).
    Read(String),
    /// A single record exceeds the configured limit; it is skipped, and no more of it is held
    /// than the limit and one read.
    TooLarge(usize),
}

impl std::fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProblemKind::NotJson => write!(f, "not JSON (binary or unknown format); file skipped"),
            ProblemKind::Malformed(why) => write!(f, "malformed JSON: {why}"),
            ProblemKind::Truncated => write!(f, "input ends inside a record (truncated file?)"),
            ProblemKind::Read(why) => write!(f, "read failed: {why}"),
            ProblemKind::TooLarge(limit) => {
                write!(
                    f,
                    "record larger than the limit of {limit} bytes; skipped \
                     (help: --max-record-mib raises the limit)"
                )
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between top-level values.
    Top,
    /// Inside an array whose elements are records.
    Array { wrapper: Option<Wrapper> },
    /// After a wrapper's array: the rest of the wrapper object is skipped.
    WrapperTail,
    /// Nothing more will be produced.
    Done,
}

/// Resumable structural scan of one value.
#[derive(Debug, Clone, Copy, Default)]
struct Scan {
    /// Bytes of the value already scanned.
    pos: usize,
    depth: u32,
    in_string: bool,
    escaped: bool,
    saw_newline: bool,
}

enum ScanResult {
    /// The value ends before this many bytes from its start.
    Complete(usize),
    NeedMore,
    Invalid(&'static str),
}

/// Streams records out of any `Read`; see the module documentation.
pub struct Splitter<R: Read> {
    reader: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Absolute stream offset of `buf[0]`.
    base: u64,
    eof: bool,
    state: State,
    /// Once the first top-level record turns out to be a single line, the input is JSON Lines
    /// and each line is a record: faster, and a broken line cannot swallow the next one.
    line_mode: Option<bool>,
    /// Lines consumed before `start`, counted only in line mode.
    line: u64,
    max_record: usize,
    scan: Scan,
    started: bool,
}

impl<R: Read> Splitter<R> {
    /// `max_record` bounds the memory one record may take; larger records end the stream.
    pub fn new(reader: R, max_record: usize) -> Self {
        Splitter {
            reader,
            buf: vec![0; READ_CHUNK * 2],
            start: 0,
            end: 0,
            base: 0,
            eof: false,
            state: State::Top,
            line_mode: None,
            line: 0,
            max_record,
            scan: Scan::default(),
            started: false,
        }
    }

    /// Total bytes read from the underlying reader so far.
    pub fn bytes_read(&self) -> u64 {
        self.base + self.end as u64
    }

    fn offset(&self, at: usize) -> u64 {
        self.base + at as u64
    }

    /// Reads more input, keeping `[start..end)`. Returns false at end of input.
    fn fill(&mut self) -> Result<bool, ProblemKind> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 && (self.start == self.end || self.buf.len() - self.end < READ_CHUNK) {
            self.buf.copy_within(self.start..self.end, 0);
            self.base += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < READ_CHUNK {
            let pending = self.end - self.start;
            if pending > self.max_record {
                return Err(ProblemKind::TooLarge(self.max_record));
            }
            // Doubling alone let a record of almost twice the limit in: the limit was checked
            // only when the buffer was full, and a doubled buffer has room for that much. The
            // buffer never exceeds the limit plus one read, so a longer record is refused (here
            // or by its length, see `complete_value`) before more of it is held.
            let most = self
                .max_record
                .saturating_add(READ_CHUNK)
                .max(READ_CHUNK * 2);
            let grow = (self.buf.len() * 2).min(most).max(self.end + READ_CHUNK);
            // `resize` alone may double the capacity on its own account; ask for exactly this.
            self.buf.reserve_exact(grow - self.buf.len());
            self.buf.resize(grow, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.eof = true;
                    return Err(ProblemKind::Read(e.to_string()));
                }
            }
        }
    }

    /// A problem at absolute stream offset `offset` (taken before any refill moved the buffer).
    fn problem(&mut self, offset: u64, kind: ProblemKind) -> Piece<'_> {
        let line = self.line_mode.unwrap_or(false).then_some(self.line + 1);
        let record = matches!(
            kind,
            ProblemKind::Malformed(_) | ProblemKind::Truncated | ProblemKind::TooLarge(_)
        );
        Piece::Problem(SplitProblem {
            offset,
            line,
            kind,
            record,
        })
    }

    fn fail(&mut self, kind: ProblemKind) -> Piece<'_> {
        self.state = State::Done;
        let at = self.offset(self.start);
        self.problem(at, kind)
    }

    /// Skips whitespace (and, inside arrays, commas). Returns the next significant byte, or
    /// `None` at end of input.
    fn skip_ws(&mut self, commas: bool) -> Result<Option<u8>, ProblemKind> {
        loop {
            while self.start < self.end {
                let b = self.buf[self.start];
                match b {
                    b' ' | b'\t' | b'\r' => self.start += 1,
                    b'\n' => {
                        self.start += 1;
                        self.line += 1;
                    }
                    b',' if commas => self.start += 1,
                    _ => return Ok(Some(b)),
                }
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Drops input up to and including the next newline, without buffering it.
    fn skip_line(&mut self) -> Result<(), ProblemKind> {
        loop {
            if let Some(i) = memchr(b'\n', &self.buf[self.start..self.end]) {
                self.start += i + 1;
                self.line += 1;
                return Ok(());
            }
            self.start = self.end;
            if !self.fill()? {
                return Ok(());
            }
        }
    }

    /// Scans the value at `start`, resuming any earlier partial scan.
    fn scan_value(&mut self) -> ScanResult {
        let data = &self.buf[self.start..self.end];
        let s = &mut self.scan;
        let mut i = s.pos;
        while i < data.len() {
            if s.in_string {
                if s.escaped {
                    s.escaped = false;
                    i += 1;
                    continue;
                }
                match memchr3(b'"', b'\\', b'\n', &data[i..]) {
                    None => i = data.len(),
                    Some(j) => {
                        i += j;
                        match data[i] {
                            b'\n' => return ScanResult::Invalid("line break inside a string"),
                            b'\\' => s.escaped = true,
                            _ => s.in_string = false,
                        }
                        i += 1;
                    }
                }
                continue;
            }
            match data[i] {
                b'"' => s.in_string = true,
                b'{' | b'[' => s.depth += 1,
                b'}' | b']' => {
                    if s.depth == 0 {
                        return ScanResult::Invalid("unbalanced closing bracket");
                    }
                    s.depth -= 1;
                    if s.depth == 0 {
                        return ScanResult::Complete(i + 1);
                    }
                }
                b'\n' => s.saw_newline = true,
                _ => {}
            }
            i += 1;
        }
        s.pos = i;
        ScanResult::NeedMore
    }

    /// Scans a whole value starting at `start` (which holds `{` or `[`), refilling as needed.
    /// On success returns its length. A value beyond `max_record` is scanned to its end without
    /// being kept, so the stream goes on after it.
    fn complete_value(&mut self) -> Result<usize, ScanOutcome> {
        self.scan = Scan::default();
        let mut discarding = false;
        loop {
            match self.scan_value() {
                ScanResult::Complete(len) if discarding || len > self.max_record => {
                    self.start += len;
                    return Err(ScanOutcome::Skipped);
                }
                ScanResult::Complete(len) => return Ok(len),
                ScanResult::Invalid(why) => return Err(ScanOutcome::Invalid(why)),
                ScanResult::NeedMore => {
                    if discarding {
                        self.start = self.end;
                        self.scan.pos = 0;
                    }
                    match self.fill() {
                        Ok(true) => {}
                        Ok(false) => return Err(ScanOutcome::Truncated),
                        Err(ProblemKind::TooLarge(_)) if !discarding => {
                            // Everything buffered is scanned already; drop it and go on counting.
                            discarding = true;
                            self.start = self.end;
                            self.scan.pos = 0;
                        }
                        Err(kind) => return Err(ScanOutcome::Fatal(kind)),
                    }
                }
            }
        }
    }

    /// Looks at the first key of the object at `start`: a wrapper key followed by `[` means the
    /// object is a container. Returns the wrapper and the index just past the `[`.
    fn wrapper_at_start(&mut self) -> Result<Option<(Wrapper, usize)>, ProblemKind> {
        // A wrapper announces itself in its first few bytes.
        while self.end - self.start < 64 && self.fill()? {}
        let data = &self.buf[self.start..self.end];
        let mut i = 1;
        let ws = |d: &[u8], mut i: usize| {
            while i < d.len() && d[i].is_ascii_whitespace() {
                i += 1;
            }
            i
        };
        i = ws(data, i);
        if data.get(i) != Some(&b'"') {
            return Ok(None);
        }
        for (key, wrapper) in WRAPPER_KEYS {
            let k_end = i + 1 + key.len();
            if data.len() > k_end && &data[i + 1..k_end] == *key && data[k_end] == b'"' {
                let mut j = ws(data, k_end + 1);
                if data.get(j) != Some(&b':') {
                    return Ok(None);
                }
                j = ws(data, j + 1);
                if data.get(j) == Some(&b'[') {
                    return Ok(Some((*wrapper, j + 1)));
                }
                return Ok(None);
            }
        }
        Ok(None)
    }

    /// The next record or problem, or `None` at the end of the stream.
    pub fn next_piece(&mut self) -> Option<Piece<'_>> {
        loop {
            match self.state {
                State::Done => return None,
                State::Top => {
                    let b = match self.skip_ws(false) {
                        Ok(Some(b)) => b,
                        Ok(None) => {
                            self.state = State::Done;
                            return None;
                        }
                        Err(kind) => return Some(self.fail(kind)),
                    };
                    let first = !self.started;
                    self.started = true;
                    if first && self.buf[self.start..self.end].starts_with(b"\xEF\xBB\xBF") {
                        self.start += 3;
                        continue;
                    }
                    if self.line_mode == Some(true) {
                        return Some(self.next_line());
                    }
                    match b {
                        b'[' => {
                            self.start += 1;
                            self.state = State::Array { wrapper: None };
                        }
                        b'{' => {
                            match self.wrapper_at_start() {
                                Ok(Some((wrapper, skip))) => {
                                    self.start += skip;
                                    self.state = State::Array {
                                        wrapper: Some(wrapper),
                                    };
                                    continue;
                                }
                                Ok(None) => {}
                                Err(kind) => return Some(self.fail(kind)),
                            }
                            return Some(self.top_record());
                        }
                        _ if first && looks_binary(&self.buf[self.start..self.end]) => {
                            return Some(self.fail(ProblemKind::NotJson));
                        }
                        _ => {
                            let at = self.offset(self.start);
                            if let Err(kind) = self.skip_line() {
                                return Some(self.fail(kind));
                            }
                            let why =
                                format!("unexpected byte 0x{b:02x} where a record should start");
                            return Some(self.problem(at, ProblemKind::Malformed(why)));
                        }
                    }
                }
                State::Array { wrapper } => {
                    let b = match self.skip_ws(true) {
                        Ok(Some(b)) => b,
                        Ok(None) => return Some(self.fail(ProblemKind::Truncated)),
                        Err(kind) => return Some(self.fail(kind)),
                    };
                    if b == b']' {
                        self.start += 1;
                        self.state = if wrapper.is_some() {
                            State::WrapperTail
                        } else {
                            State::Top
                        };
                        continue;
                    }
                    if b != b'{' && b != b'[' {
                        // A scalar element: not a record. Skip to the next separator.
                        let at = self.offset(self.start);
                        self.start += 1;
                        loop {
                            let rest = &self.buf[self.start..self.end];
                            if let Some(stop) =
                                rest.iter().position(|c| matches!(c, b',' | b']' | b'\n'))
                            {
                                self.start += stop;
                                break;
                            }
                            self.start = self.end;
                            match self.fill() {
                                Ok(true) => {}
                                Ok(false) => break,
                                Err(kind) => return Some(self.fail(kind)),
                            }
                        }
                        let why = "array element is not an object".to_string();
                        return Some(self.problem(at, ProblemKind::Malformed(why)));
                    }
                    let wrapper = wrapper.unwrap_or(Wrapper::Records);
                    return Some(self.value_record(wrapper, None));
                }
                State::WrapperTail => {
                    // Skip the wrapper's remaining keys: scan as if one level deep.
                    self.scan = Scan {
                        depth: 1,
                        ..Scan::default()
                    };
                    loop {
                        match self.scan_value() {
                            ScanResult::Complete(len) => {
                                self.start += len;
                                break;
                            }
                            ScanResult::Invalid(why) => {
                                let at = self.offset(self.start);
                                self.state = State::Top;
                                if let Err(kind) = self.skip_line() {
                                    return Some(self.fail(kind));
                                }
                                return Some(
                                    self.problem(at, ProblemKind::Malformed(why.to_string())),
                                );
                            }
                            ScanResult::NeedMore => match self.fill() {
                                Ok(true) => {}
                                Ok(false) => return Some(self.fail(ProblemKind::Truncated)),
                                Err(kind) => {
                                    // The wrapper's own members (a `NextToken`), not a record.
                                    self.state = State::Done;
                                    return Some(Piece::Problem(SplitProblem {
                                        offset: self.offset(self.start),
                                        line: None,
                                        kind,
                                        record: false,
                                    }));
                                }
                            },
                        }
                    }
                    self.state = State::Top;
                }
            }
        }
    }

    /// A top-level object that is a record itself (JSON Lines or a single-record file).
    fn top_record(&mut self) -> Piece<'_> {
        let value_at = self.offset(self.start);
        let line = self.line + 1;
        let piece_line = if self.line_mode.is_none() || self.line_mode == Some(true) {
            Some(line)
        } else {
            None
        };
        match self.complete_value() {
            Ok(len) => {
                if self.line_mode.is_none() {
                    // One line, then a line break: JSON Lines from here on.
                    while self.buf[self.start + len..self.end]
                        .iter()
                        .all(|b| matches!(b, b' ' | b'\t' | b'\r'))
                    {
                        match self.fill() {
                            Ok(true) => {}
                            Ok(false) => break,
                            Err(kind) => return self.fail(kind),
                        }
                    }
                    let after = &self.buf[self.start + len..self.end];
                    let next_nl = after
                        .iter()
                        .position(|b| !matches!(b, b' ' | b'\t' | b'\r'))
                        .map(|i| after[i] == b'\n');
                    self.line_mode = Some(!self.scan.saw_newline && next_nl.unwrap_or(false));
                }
                let at = self.start;
                self.start += len;
                let line = if self.line_mode == Some(true) {
                    piece_line
                } else {
                    None
                };
                Piece::Record {
                    bytes: &self.buf[at..at + len],
                    offset: self.base + at as u64,
                    line,
                    wrapper: Wrapper::Records,
                }
            }
            Err(outcome) => self.scan_failure(value_at, outcome),
        }
    }

    /// An element of a records array.
    fn value_record(&mut self, wrapper: Wrapper, line: Option<u64>) -> Piece<'_> {
        let value_at = self.offset(self.start);
        match self.complete_value() {
            Ok(len) => {
                let at = self.start;
                self.start += len;
                Piece::Record {
                    bytes: &self.buf[at..at + len],
                    offset: self.base + at as u64,
                    line,
                    wrapper,
                }
            }
            Err(outcome) => self.scan_failure(value_at, outcome),
        }
    }

    fn scan_failure(&mut self, at: u64, outcome: ScanOutcome) -> Piece<'_> {
        match outcome {
            ScanOutcome::Skipped => {
                let limit = self.max_record;
                self.problem(at, ProblemKind::TooLarge(limit))
            }
            ScanOutcome::Truncated => self.fail(ProblemKind::Truncated),
            ScanOutcome::Fatal(kind) => self.fail(kind),
            ScanOutcome::Invalid(why) => {
                let line = self.line_mode.unwrap_or(false).then_some(self.line + 1);
                self.state = State::Top;
                if let Err(kind) = self.skip_line() {
                    return self.fail(kind);
                }
                Piece::Problem(SplitProblem {
                    offset: at,
                    line,
                    kind: ProblemKind::Malformed(why.to_string()),
                    record: true,
                })
            }
        }
    }

    /// In JSON Lines mode each non-empty line is one record, whatever it holds.
    fn next_line(&mut self) -> Piece<'_> {
        loop {
            if let Some(i) = memchr(b'\n', &self.buf[self.start..self.end]) {
                return self.emit_line(i);
            }
            let pending = self.end - self.start;
            match self.fill() {
                Ok(true) => {}
                Ok(false) => return self.emit_line(pending),
                Err(ProblemKind::TooLarge(limit)) => {
                    let at = self.offset(self.start);
                    if let Err(kind) = self.skip_line() {
                        return self.fail(kind);
                    }
                    return self.problem(at, ProblemKind::TooLarge(limit));
                }
                Err(kind) => return self.fail(kind),
            }
        }
    }

    fn emit_line(&mut self, len: usize) -> Piece<'_> {
        let at = self.start;
        if len > self.max_record {
            // The line fit in the last read but not in the limit.
            self.start = (at + len + 1).min(self.end);
            let line = self.line + 1;
            self.line += 1;
            return Piece::Problem(SplitProblem {
                offset: self.base + at as u64,
                line: Some(line),
                kind: ProblemKind::TooLarge(self.max_record),
                record: true,
            });
        }
        let mut bytes_end = at + len;
        while bytes_end > at && matches!(self.buf[bytes_end - 1], b'\r' | b' ' | b'\t') {
            bytes_end -= 1;
        }
        self.line += 1;
        self.start = (at + len + 1).min(self.end);
        Piece::Record {
            bytes: &self.buf[at..bytes_end],
            offset: self.base + at as u64,
            line: Some(self.line),
            wrapper: Wrapper::Records,
        }
    }
}

enum ScanOutcome {
    Invalid(&'static str),
    /// A value larger than the limit was passed over.
    Skipped,
    Truncated,
    Fatal(ProblemKind),
}

/// A stream is binary when its first bytes hold NULs or mostly control characters.
fn looks_binary(head: &[u8]) -> bool {
    let head = &head[..head.len().min(512)];
    if head.is_empty() {
        return false;
    }
    let control = head
        .iter()
        .filter(|&&b| b == 0 || (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t')))
        .count();
    head.contains(&0) || control * 10 > head.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects records as strings and problems as their kinds, reading one byte at a time when
    /// `trickle` so that every refill boundary is exercised.
    fn split(input: &[u8], trickle: bool) -> (Vec<String>, Vec<ProblemKind>) {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let reader: Box<dyn Read> = if trickle {
            Box::new(Trickle(input))
        } else {
            Box::new(input)
        };
        let mut s = Splitter::new(reader, 1 << 30);
        let mut records = Vec::new();
        let mut problems = Vec::new();
        while let Some(piece) = s.next_piece() {
            match piece {
                Piece::Record { bytes, .. } => {
                    records.push(String::from_utf8_lossy(bytes).into_owned())
                }
                Piece::Problem(p) => problems.push(p.kind),
            }
        }
        (records, problems)
    }

    fn both(input: &str) -> (Vec<String>, Vec<ProblemKind>) {
        let fast = split(input.as_bytes(), false);
        let slow = split(input.as_bytes(), true);
        assert_eq!(fast, slow, "splitting must not depend on read sizes");
        fast
    }

    #[test]
    fn cloudtrail_wrapper_yields_each_record() {
        let (r, p) = both(r#"{"Records":[{"a":"x}"},{"b":[1,{"c":"\"]"}]}]}"#);
        assert_eq!(r, vec![r#"{"a":"x}"}"#, r#"{"b":[1,{"c":"\"]"}]}"#]);
        assert!(p.is_empty());
    }

    #[test]
    fn wrapper_with_trailing_keys_and_whitespace() {
        let (r, p) = both("{ \"Events\" : [ {\"a\":1} ,\n {\"b\":2} ], \"NextToken\": \"x]}\" }\n");
        assert_eq!(r, vec![r#"{"a":1}"#, r#"{"b":2}"#]);
        assert!(p.is_empty());
    }

    #[test]
    fn json_array_and_json_lines() {
        let (r, _) = both("[{\"a\":1},\n{\"a\":2}]");
        assert_eq!(r.len(), 2);
        let (r, p) = both("{\"a\":1}\n{\"a\":2}\r\n\n{\"a\":3}");
        assert_eq!(r, vec!["{\"a\":1}", "{\"a\":2}", "{\"a\":3}"]);
        assert!(p.is_empty());
    }

    #[test]
    fn pretty_printed_single_object_is_one_record() {
        let (r, _) = both("{\n  \"a\": 1,\n  \"b\": {\"c\": 2}\n}\n");
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn json_lines_keep_going_after_a_broken_line() {
        let (r, p) = both("{\"a\":1}\n{\"a\":\n{\"a\":3}\nnot json\n");
        // In line mode every line is handed over; the parser judges them.
        assert_eq!(r, vec!["{\"a\":1}", "{\"a\":", "{\"a\":3}", "not json"]);
        assert!(p.is_empty());
    }

    #[test]
    fn truncated_wrapper_keeps_complete_records() {
        let (r, p) = both(r#"{"Records":[{"a":1},{"b":2},{"c":"#);
        assert_eq!(r.len(), 2);
        assert_eq!(p, vec![ProblemKind::Truncated]);
    }

    #[test]
    fn binary_input_is_refused_once() {
        let (r, p) = both("\u{0}\u{1}\u{2}garbage\u{0}");
        assert!(r.is_empty());
        assert_eq!(p, vec![ProblemKind::NotJson]);
    }

    #[test]
    fn garbage_between_records_is_reported_and_skipped() {
        let (r, p) = both("[{\"a\":1}, 17, {\"a\":2}]");
        assert_eq!(r.len(), 2);
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn records_larger_than_the_limit_are_skipped_and_the_stream_goes_on() {
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(5 << 20));
        for input in [
            format!("[{big},{{\"b\":1}}]"),
            format!("{{\"Records\":[{big},{{\"b\":1}}]}}"),
            format!("{{\"b\":0}}\n{big}\n{{\"b\":1}}\n"),
        ] {
            let mut s = Splitter::new(input.as_bytes(), 1 << 20);
            let mut seen = Vec::new();
            while let Some(piece) = s.next_piece() {
                match piece {
                    Piece::Record { bytes, .. } => {
                        seen.push(String::from_utf8_lossy(bytes).into_owned())
                    }
                    Piece::Problem(p) => {
                        assert!(matches!(p.kind, ProblemKind::TooLarge(_)), "{p:?}");
                        seen.push("too-large".into());
                    }
                }
            }
            assert_eq!(
                seen.last().map(String::as_str),
                Some("{\"b\":1}"),
                "{input:.40}"
            );
            assert!(seen.contains(&"too-large".to_string()));
            assert!(s.buf.len() <= 4 << 20, "buffer grew to {}", s.buf.len());
        }
    }

    /// Issue 8 #12: a limit of N admitted records of almost 2N, because the buffer doubled past
    /// the limit before the limit was checked. Now a record one and a half times the limit is
    /// refused in every container, the buffer stays within the limit and one read, and a
    /// record just under the limit still passes.
    #[test]
    fn the_record_limit_holds_and_bounds_the_buffer() {
        let limit = 5 << 20;
        let record = |size: usize| format!("{{\"a\":\"{}\"}}", "x".repeat(size - 8));
        for (size, admitted) in [(limit * 3 / 2, false), (limit + 1, false), (limit, true)] {
            let big = record(size);
            assert_eq!(big.len(), size);
            for input in [
                format!("[{big},{{\"b\":1}}]"),
                format!("{{\"Records\":[{big},{{\"b\":1}}]}}"),
                format!("{{\"b\":0}}\n{big}\n{{\"b\":1}}\n"),
                format!("{{\"b\":0}}\n{big}"),
            ] {
                let mut s = Splitter::new(input.as_bytes(), limit);
                let (mut largest, mut too_large) = (0, 0);
                while let Some(piece) = s.next_piece() {
                    match piece {
                        Piece::Record { bytes, .. } => largest = largest.max(bytes.len()),
                        Piece::Problem(p) => {
                            assert!(matches!(p.kind, ProblemKind::TooLarge(_)), "{p:?}");
                            assert!(p.record, "a skipped record keeps its position");
                            too_large += 1;
                        }
                    }
                }
                let what = format!("{size}-byte record in {:.12}", input);
                assert_eq!(too_large, usize::from(!admitted), "{what}");
                assert_eq!(largest == size, admitted, "{what}");
                assert!(
                    s.buf.capacity() <= limit + READ_CHUNK,
                    "{what}: buffer grew to {}",
                    s.buf.capacity()
                );
            }
        }
    }

    #[test]
    fn a_long_line_of_garbage_is_skipped_without_buffering_it() {
        let mut input = "z".repeat(8 << 20);
        input.push_str("\n{\"a\":1}\n");
        let mut s = Splitter::new(input.as_bytes(), 1 << 20);
        let mut records = 0;
        let mut problems = 0;
        while let Some(piece) = s.next_piece() {
            match piece {
                Piece::Record { .. } => records += 1,
                Piece::Problem(_) => problems += 1,
            }
        }
        assert_eq!((records, problems), (1, 1));
        assert!(s.buf.len() <= 4 << 20, "buffer grew to {}", s.buf.len());
    }
}

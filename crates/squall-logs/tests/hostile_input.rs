//! Damaged and hostile input never panics the reader, never hides a record, and never reaches a
//! report as anything but data: mutations of real-shaped logs go through the splitter, the
//! record parser, rule-style field lookups and the summary; the attacks of issue 8 each have a
//! test named for what they tried.
//!
//! The property tests run 64 cases each by default, a few seconds in CI. For a longer pass:
//! `PROPTEST_CASES=20000 cargo test --release -p squall-logs --test hostile_input`.

use rsigma_eval::Event;
use squall_logs::{Piece, Record, Splitter};

const SEED_INPUTS: &[&str] = &[
    r#"{"Records":[{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a","accessKeyId":"AKIA1"},"eventTime":"2026-01-01T00:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","requestParameters":{"userName":"b","ipPermissions":{"items":[{"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}},"sourceIPAddress":"1.2.3.4","eventID":"e\"1"},{"eventSource":"s3.amazonaws.com","eventName":"ListBuckets"}]}"#,
    "{\"protoPayload\":{\"methodName\":\"v1.compute.firewalls.insert\",\"authenticationInfo\":{\"principalEmail\":\"x@y\"}},\"timestamp\":\"2026-01-01T00:00:00Z\"}\n{\"time\":\"2026-01-01T00:00:00Z\",\"category\":\"SignInLogs\",\"properties\":{\"status\":{\"errorCode\":50126}}}\n",
    r#"{"Events":[{"EventId":"1","CloudTrailEvent":"{\"eventSource\":\"a\",\"eventName\":\"b\"}"}],"NextToken":"x"}"#,
];

const PATHS: &[&str] = &[
    "eventName",
    "userIdentity.type",
    "requestParameters.ipPermissions.items.ipRanges.items.cidrIp",
    "gcp.audit.method_name",
    "data.protoPayload.authenticationInfo.principalEmail",
    "ResultType",
    "properties.status.errorCode",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(5) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                const NASTY: &[u8] = b"{}[]\",:\\\n\x00\xff";
                out[i] = NASTY[rng.below(NASTY.len())];
            }
            1 => out.truncate(at),
            2 => out.insert(at.min(out.len()), b"{\"[\\"[rng.below(4)]),
            3 if !out.is_empty() => {
                out.remove(at.min(out.len() - 1));
            }
            _ => {
                let dup = out[..at.min(out.len())].to_vec();
                out.extend_from_slice(&dup);
            }
        }
    }
    out
}

#[test]
fn mutated_logs_never_panic_and_records_stay_within_the_input() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut records = 0;
    for round in 0..3000 {
        let seed = SEED_INPUTS[round % SEED_INPUTS.len()].as_bytes();
        let input = mutate(&mut rng, seed);
        let mut splitter = Splitter::new(&input[..], 1 << 16);
        let mut total = 0;
        while let Some(piece) = splitter.next_piece() {
            if let Piece::Record { bytes, .. } = piece {
                total += bytes.len();
                if let Ok(record) = Record::parse(bytes, None) {
                    records += 1;
                    for path in PATHS {
                        let _ = record.get_field(path);
                    }
                    let _ = record.summary();
                    let _ = record.time_millis();
                    let _ = record.warnings(
                        "fuzz",
                        &squall_logs::RawRef {
                            start: 0,
                            end: bytes.len(),
                            index: 0,
                            offset: 0,
                            line: None,
                        },
                    );
                    record.visit_string_values(&mut |_| {});
                }
            }
        }
        assert!(
            total <= input.len(),
            "records larger than their input in round {round}"
        );
    }
    assert!(
        records > 1000,
        "the mutations should leave many records parseable ({records})"
    );
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the attack tests and the properties below.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use proptest::prelude::*;
use rsigma_eval::EventValue;
use squall_logs::{
    EventTime, FileTotals, Input, RawRef, ReadOptions, SkipReason, Warning, discover, read_input,
};

/// Where a record sits, as the reader would place it: the seventh record of its file.
const AT: RawRef = RawRef {
    start: 0,
    end: 0,
    index: 7,
    offset: 4242,
    line: None,
};

fn text_of(v: Option<EventValue<'_>>) -> Option<String> {
    v.and_then(|v| v.as_str().map(|s| s.into_owned()))
}

fn nest(levels: usize) -> String {
    format!("{}{}", "[".repeat(levels), "]".repeat(levels))
}

/// Everything reading one file produced.
#[derive(Default)]
struct Read {
    records: Vec<(RawRef, Vec<u8>)>,
    warnings: Vec<Warning>,
    totals: FileTotals,
}

fn read_path(path: &Path, max_record: usize) -> Read {
    let input = Input {
        path: Some(path.to_path_buf()),
        name: path.display().to_string(),
        size: None,
    };
    let mut out = Read::default();
    let mut records = Vec::new();
    let mut warnings = Vec::new();
    out.totals = read_input(
        &input,
        0,
        ReadOptions { max_record },
        Arc::new(AtomicU64::new(0)),
        &mut |batch| {
            for r in &batch.records {
                records.push((*r, batch.record(r).to_vec()));
            }
        },
        &mut |w| warnings.push(w),
    );
    out.records = records;
    out.warnings = warnings;
    out
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 1).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Issue 8 #9: a deep sibling hid the member it sat in.

/// serde_json gives up 128 levels down and fails the whole parse; the lazily parsed member
/// (`requestParameters`, `userIdentity`) then looked absent: the rule on
/// `requestParameters.name` missed, principal and key came out null, and nothing said so.
#[test]
fn a_deep_sibling_hides_neither_the_rule_field_nor_the_principal() {
    let deep = format!("{}\"hidden-needle\"{}", "[".repeat(127), "]".repeat(127));
    let rec = format!(
        r#"{{"eventVersion":"1.09","eventTime":"2024-01-02T03:04:05Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/mallory","accessKeyId":"AKIAEXAMPLE","x":{deep}}},"requestParameters":{{"name":"trail-1","x":{deep}}}}}"#
    );
    let r = Record::parse(rec.as_bytes(), None).unwrap();
    assert_eq!(
        text_of(r.get_field("requestParameters.name")).as_deref(),
        Some("trail-1")
    );
    let s = r.summary();
    assert_eq!(s.principal.as_deref(), Some("arn:aws:iam::1:user/mallory"));
    assert_eq!(s.key.as_deref(), Some("AKIAEXAMPLE"));
    // What is cut is kept as text, so a keyword search still finds what it says.
    assert!(r.any_string_value(&|s| s.starts_with("[[") && s.contains("hidden-needle")));

    let warnings = r.warnings("trail.json", &AT);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = &warnings[0];
    assert_eq!(w.reason, SkipReason::TooDeep);
    assert!(!w.reason.skips(), "the record is read");
    assert_eq!((w.file.as_str(), w.record), ("trail.json", Some(7)));
    assert!(w.message.contains("userIdentity.x"), "{}", w.message);
}

#[test]
fn nesting_a_hundred_thousand_deep_overflows_nothing() {
    // A small stack proves nothing recurses per level: 100 000 frames would not fit.
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            let mut deep = String::new();
            for _ in 0..50_000 {
                deep.push_str("{\"a\":[");
            }
            deep.push_str("\"needle\"");
            for _ in 0..50_000 {
                deep.push_str("]}");
            }
            let rec = format!(
                r#"{{"eventTime":"2024-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","requestParameters":{{"bucketName":"b","x":{deep}}}}}"#
            );
            let r = Record::parse(rec.as_bytes(), None).unwrap();
            assert_eq!(
                text_of(r.get_field("requestParameters.bucketName")).as_deref(),
                Some("b")
            );
            assert!(r.any_string_value(&|s| s.contains("needle")));
            let _ = r.to_json();
            let w = r.warnings("deep.json", &AT);
            assert_eq!(w.len(), 1);
            assert_eq!(w[0].reason, SkipReason::TooDeep);

            // The whole reader: every container, plain and compressed.
            let dir = tempfile::tempdir().unwrap();
            let lookup = serde_json::json!({"Events":[{"CloudTrailEvent": rec}]}).to_string();
            for (name, bytes) in [
                ("a.json", format!("{{\"Records\":[{rec}]}}").into_bytes()),
                ("b.jsonl", format!("{rec}\n{rec}\n").into_bytes()),
                ("c.json.gz", gzip(lookup.as_bytes())),
            ] {
                let read = read_path(&write_file(dir.path(), name, &bytes), 16 << 20);
                assert!(read.warnings.is_empty(), "{name}: {:?}", read.warnings);
                assert!(!read.records.is_empty(), "{name}");
                for (_, bytes) in &read.records {
                    assert!(Record::parse(bytes, None).is_ok(), "{name}");
                }
            }
        })
        .unwrap()
        .join()
        .expect("no stack overflow");
}

// ---------------------------------------------------------------------------------------------
// Issue 8 #15: duplicate keys.

/// Squall took the first `eventName`, jq and Python the last, so a `StopLogging` could pass as
/// `DescribeTrails`. The last wins now, at every level, for rules and summary alike.
#[test]
fn the_last_of_a_repeated_key_is_what_rules_and_the_summary_see() {
    let rec = r#"{"eventTime":"2024-01-02T03:04:05Z","eventSource":"cloudtrail.amazonaws.com","eventName":"DescribeTrails","eventName":"StopLogging","userIdentity":{"arn":"arn:first","arn":"arn:last"},"requestParameters":{"name":"decoy","name":"trail-1"}}"#;
    let r = Record::parse(rec.as_bytes(), None).unwrap();
    assert_eq!(
        text_of(r.get_field("eventName")).as_deref(),
        Some("StopLogging")
    );
    assert_eq!(
        text_of(r.get_field("requestParameters.name")).as_deref(),
        Some("trail-1")
    );
    let s = r.summary();
    assert_eq!(s.action.as_deref(), Some("cloudtrail:StopLogging"));
    assert_eq!(s.principal.as_deref(), Some("arn:last"));
    assert_eq!(s.resource.as_deref(), Some("trail-1"));
    assert_eq!(r.to_json()["eventName"], "StopLogging");

    let warnings = r.warnings("trail.json", &AT);
    assert_eq!(warnings.len(), 1, "one warning per record: {warnings:?}");
    let w = &warnings[0];
    assert_eq!(w.reason, SkipReason::DuplicateKey);
    assert_eq!((w.file.as_str(), w.record), ("trail.json", Some(7)));
    assert!(w.message.contains("\"eventName\""), "{}", w.message);
    assert!(w.message.contains("2 more"), "{}", w.message);
}

#[test]
fn an_escaped_spelling_of_a_key_is_the_same_key() {
    let rec = r#"{"eventSource":"cloudtrail.amazonaws.com","eventName":"DescribeTrails","event\u004eame":"StopLogging","eventTime":"2024-01-02T03:04:05Z"}"#;
    let r = Record::parse(rec.as_bytes(), None).unwrap();
    assert_eq!(
        text_of(r.get_field("eventName")).as_deref(),
        Some("StopLogging")
    );
    let w = r.warnings("t.json", &AT);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].reason, SkipReason::DuplicateKey);
}

#[test]
fn a_lookup_events_element_keeps_its_last_cloudtrail_event() {
    let el = r#"{"CloudTrailEvent":"{\"eventName\":\"DescribeTrails\"}","CloudTrailEvent":"{\"eventName\":\"StopLogging\"}"}"#;
    let inner = squall_logs::unwrap_lookup_event(el.as_bytes()).unwrap();
    assert!(inner.contains("StopLogging"));
}

// ---------------------------------------------------------------------------------------------
// Issue 8 #7: times leave the reader parsed.

#[test]
fn times_leave_the_reader_as_one_utc_form_whatever_the_provider_wrote() {
    let cases = [
        (
            r#"{"eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2024-01-02T03:04:05Z"}"#,
            "2024-01-02T03:04:05.000Z",
        ),
        (
            r#"{"protoPayload":{"methodName":"m"},"timestamp":"2024-01-02T03:04:05.123456789Z"}"#,
            "2024-01-02T03:04:05.123Z",
        ),
        (
            r#"{"time":"2024-01-02T03:04:05.1234567Z","category":"Administrative","operationName":"x","resourceId":"/subscriptions/s"}"#,
            "2024-01-02T03:04:05.123Z",
        ),
        (
            r#"{"time":"2024-01-02T04:04:05.5+01:00","category":"SignInLogs","operationName":"Sign-in activity"}"#,
            "2024-01-02T03:04:05.500Z",
        ),
    ];
    for (rec, want) in cases {
        let r = Record::parse(rec.as_bytes(), None).unwrap();
        assert_eq!(r.summary().time.as_deref(), Some(want), "{rec}");
        let millis = EventTime::parse(want).unwrap().millis();
        assert_eq!(r.time_millis(), Some(millis), "{rec}");
        assert!(r.warnings("f", &AT).is_empty(), "{rec}");
    }
}

/// A string such as `"!! x\n## Summary\n\nAll clear"` became a case's identified time and a
/// heading in its report. Now it is no time at all, and a warning says so with the text escaped.
#[test]
fn a_time_that_is_not_a_time_never_leaves_the_reader() {
    let rec = r###"{"eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"!! x\n## Summary\n\nAll clear"}"###;
    let r = Record::parse(rec.as_bytes(), None).unwrap();
    assert_eq!(r.summary().time, None);
    assert_eq!(r.time_millis(), None);
    let w = r.warnings("trail.json", &AT);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].reason, SkipReason::BadTime);
    assert_eq!((w[0].file.as_str(), w[0].record), ("trail.json", Some(7)));
    assert!(!w[0].message.contains('\n'), "{}", w[0].message);
    assert!(w[0].message.contains(r"\n## Summary"), "{}", w[0].message);

    let untimed = r#"{"eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#;
    let r = Record::parse(untimed.as_bytes(), None).unwrap();
    let w = r.warnings("trail.json", &AT);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].reason, SkipReason::BadTime);
    assert!(w[0].message.contains("eventTime"), "{}", w[0].message);
}

// ---------------------------------------------------------------------------------------------
// Issue 8 #12: the record limit holds.

#[test]
fn a_record_over_the_limit_is_refused_by_position_and_the_file_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let limit = 1 << 20;
    let big = format!(r#"{{"eventName":"{}"}}"#, "x".repeat(limit * 3 / 2));
    let text = format!(r#"{{"Records":[{{"a":0}},{big},{{"a":2}}]}}"#);
    for (name, bytes) in [
        ("plain.json", text.clone().into_bytes()),
        ("packed.json.gz", gzip(text.as_bytes())),
    ] {
        let path = write_file(dir.path(), name, &bytes);
        let read = read_path(&path, limit);
        let indices: Vec<u64> = read.records.iter().map(|(r, _)| r.index).collect();
        assert_eq!(indices, vec![0, 2], "{name}");
        assert_eq!(read.totals.records, 3, "{name}");
        assert_eq!(read.warnings.len(), 1, "{name}");
        let w = &read.warnings[0];
        assert_eq!(w.reason, SkipReason::TooLarge);
        assert_eq!(
            (w.file.as_str(), w.record),
            (&*path.display().to_string(), Some(1))
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 8 #17: special files are refused by type.

fn mkfifo(path: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo")
        .success();
    assert!(ok);
}

/// `squall hunt` of a FIFO blocked forever in `open`; in a directory walk it was passed over
/// without a word. Both are now refused by type, with a warning, without opening anything.
#[test]
fn fifos_and_devices_are_refused_by_type_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("events.json");
    mkfifo(&fifo);
    let regular = write_file(dir.path(), "trail.json", b"{\"Records\":[]}");

    let found = discover(&[fifo.clone(), PathBuf::from("/dev/null"), PathBuf::from("-")]);
    let names: Vec<&str> = found.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, vec!["-"], "standard input stays allowed");
    let refused: Vec<(&str, SkipReason)> = found
        .warnings
        .iter()
        .map(|w| (w.file.as_str(), w.reason))
        .collect();
    let fifo_name = fifo.display().to_string();
    assert_eq!(
        refused,
        vec![
            (fifo_name.as_str(), SkipReason::SpecialFile),
            ("/dev/null", SkipReason::SpecialFile)
        ]
    );

    let walked = discover(&[dir.path().to_path_buf()]);
    assert_eq!(walked.inputs.len(), 1);
    assert_eq!(walked.inputs[0].path.as_deref(), Some(regular.as_path()));
    assert_eq!(walked.warnings.len(), 1);
    assert_eq!(walked.warnings[0].reason, SkipReason::SpecialFile);
    assert_eq!(walked.warnings[0].file, fifo_name);

    // Handed to the reader directly, it is refused too, and at once.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(read_path(&fifo, 1 << 20).warnings).unwrap());
    let warnings = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("reading a FIFO must not block");
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].reason, SkipReason::SpecialFile);
    assert!(warnings[0].reason.skips());
}

// ---------------------------------------------------------------------------------------------
// Properties: whatever the bytes, every record is read or warned about, and the counts agree.

/// How the mutated logs are wrapped on disk.
#[derive(Debug, Clone, Copy)]
enum Packing {
    Plain,
    Gzip,
    Zstd,
    /// Compressed, then cut short: a truncated download.
    GzipCut,
}

fn pack(bytes: &[u8], packing: Packing) -> Vec<u8> {
    match packing {
        Packing::Plain => bytes.to_vec(),
        Packing::Gzip => gzip(bytes),
        Packing::Zstd => zstd(bytes),
        Packing::GzipCut => {
            let mut g = gzip(bytes);
            g.truncate(g.len() * 2 / 3);
            g
        }
    }
}

/// Damage of the kinds attackers and broken pipelines produce.
#[derive(Debug, Clone)]
enum Damage {
    Truncate(usize),
    Byte(usize, u8),
    Nest(usize, usize),
    DuplicateKey(usize),
    HugeString(usize, usize),
    InvalidUtf8(usize),
    Repeat(usize),
}

fn damage() -> impl Strategy<Value = Damage> {
    let at = any::<usize>();
    prop_oneof![
        at.prop_map(Damage::Truncate),
        (at, any::<u8>()).prop_map(|(a, b)| Damage::Byte(a, b)),
        (at, prop_oneof![1usize..140, 140usize..5000]).prop_map(|(a, n)| Damage::Nest(a, n)),
        at.prop_map(Damage::DuplicateKey),
        (at, 1usize..200_000).prop_map(|(a, n)| Damage::HugeString(a, n)),
        at.prop_map(Damage::InvalidUtf8),
        at.prop_map(Damage::Repeat),
    ]
}

/// Applies damage at a position scaled into the input; positions land after an opening brace
/// when the damage needs an object to make sense.
fn apply(input: &mut Vec<u8>, d: &Damage) {
    let at = |a: usize, len: usize| a % (len + 1);
    let after_brace = |input: &Vec<u8>, a: usize| {
        let braces: Vec<usize> = (0..input.len()).filter(|&i| input[i] == b'{').collect();
        (!braces.is_empty()).then(|| braces[a % braces.len()] + 1)
    };
    match *d {
        Damage::Truncate(a) => input.truncate(at(a, input.len())),
        Damage::Byte(a, b) if !input.is_empty() => {
            let i = a % input.len();
            input[i] = b;
        }
        Damage::Byte(..) => {}
        Damage::Nest(a, n) => {
            if let Some(i) = after_brace(input, a) {
                let member = format!("\"deep\":{},", nest(n));
                input.splice(i..i, member.into_bytes());
            }
        }
        Damage::DuplicateKey(a) => {
            if let Some(i) = after_brace(input, a) {
                input.splice(i..i, b"\"eventName\":\"StopLogging\",".to_vec());
                let end = input.len();
                let j = after_brace(input, a.wrapping_add(1)).unwrap_or(end);
                input.splice(j..j, b"\"eventName\":\"DescribeTrails\",".to_vec());
            }
        }
        Damage::HugeString(a, n) => {
            if let Some(i) = after_brace(input, a) {
                let member = format!("\"pad\":\"{}\",", "A".repeat(n));
                input.splice(i..i, member.into_bytes());
            }
        }
        Damage::InvalidUtf8(a) => {
            let i = at(a, input.len());
            input.splice(i..i, [0xff, 0xc3, 0x28]);
        }
        Damage::Repeat(a) => {
            let i = at(a, input.len());
            let head = input[..i].to_vec();
            input.extend_from_slice(&head);
        }
    }
}

const PROVIDER_LOGS: &[&str] = &[
    SEED_INPUTS[0],
    SEED_INPUTS[1],
    SEED_INPUTS[2],
    r#"{"records":[{"time":"2024-03-01T08:00:00.1234567Z","category":"Administrative","operationName":"MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE","resourceId":"/subscriptions/s1/rg/x","caller":"bob@contoso.com","callerIpAddress":"198.51.100.7"}]}"#,
    "[{\"insertId\":\"x1\",\"logName\":\"projects/p1/logs/cloudaudit.googleapis.com%2Factivity\",\"protoPayload\":{\"methodName\":\"SetIamPolicy\",\"authenticationInfo\":{\"principalEmail\":\"eve@example.com\"}},\"resource\":{\"labels\":{\"project_id\":\"p1\"}},\"timestamp\":\"2024-05-01T10:00:00.123456789Z\"}]",
];

/// The record limit the properties read with: small, so huge strings cross it.
const FUZZ_LIMIT: usize = 64 << 10;

/// Reads `bytes` as a file, parses every record as a worker would, and checks the accounting:
/// each record position is delivered or warned about exactly once, below the file's count.
fn read_and_account(dir: &Path, bytes: &[u8]) -> Result<(), TestCaseError> {
    let path = write_file(dir, "log.json", bytes);
    let read = read_path(&path, FUZZ_LIMIT);
    let name = path.display().to_string();
    let mut positions: Vec<u64> = Vec::new();
    for w in &read.warnings {
        prop_assert_eq!(&w.file, &name, "every warning names the file");
        if let Some(r) = w.record {
            positions.push(r);
        }
    }
    for (raw, bytes) in &read.records {
        positions.push(raw.index);
        prop_assert!(
            bytes.len() <= FUZZ_LIMIT,
            "a record over the limit was admitted"
        );
        if let Ok(record) = Record::parse(bytes, None) {
            for path in PATHS {
                let _ = record.get_field(path);
            }
            let summary = record.summary();
            let millis = record.time_millis();
            prop_assert_eq!(summary.time.is_some(), millis.is_some());
            if let Some(t) = &summary.time {
                prop_assert_eq!(EventTime::parse(t).map(EventTime::millis), millis);
            }
            for w in record.warnings(&name, raw) {
                prop_assert_eq!(w.record, Some(raw.index));
                prop_assert!(!w.reason.skips());
            }
        }
    }
    positions.sort_unstable();
    let total = positions.len();
    positions.dedup();
    prop_assert_eq!(positions.len(), total, "a record delivered or warned twice");
    prop_assert_eq!(total as u64, read.totals.records, "counts disagree");
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_read_or_warned_about(
        bytes in prop::collection::vec(any::<u8>(), 0..4096),
        packing in prop_oneof![
            Just(Packing::Plain), Just(Packing::Gzip), Just(Packing::Zstd), Just(Packing::GzipCut)
        ],
    ) {
        let dir = tempfile::tempdir().unwrap();
        read_and_account(dir.path(), &pack(&bytes, packing))?;
    }

    #[test]
    fn damaged_provider_logs_are_read_or_warned_about(
        seed in 0..PROVIDER_LOGS.len(),
        damages in prop::collection::vec(damage(), 1..5),
        packing in prop_oneof![
            Just(Packing::Plain), Just(Packing::Gzip), Just(Packing::Zstd), Just(Packing::GzipCut)
        ],
    ) {
        let mut input = PROVIDER_LOGS[seed].as_bytes().to_vec();
        for d in &damages {
            apply(&mut input, d);
        }
        let dir = tempfile::tempdir().unwrap();
        read_and_account(dir.path(), &pack(&input, packing))?;
    }

    /// Whatever the keys and values, the last value of a repeated key is the one every reader
    /// of the record sees, at the top level and nested.
    #[test]
    fn the_last_value_of_a_repeated_key_wins_everywhere(
        key in "[a-zA-Z]{1,12}",
        values in prop::collection::vec("[ -~]{0,20}", 2..5),
        nested in any::<bool>(),
    ) {
        let members: Vec<String> = values
            .iter()
            .map(|v| format!("{}:{}", serde_json::json!(key), serde_json::json!(v)))
            .collect();
        let object = format!("{{{}}}", members.join(","));
        let (rec, path) = if nested {
            (format!(r#"{{"eventSource":"s","eventName":"n","requestParameters":{object}}}"#),
             format!("requestParameters.{key}"))
        } else {
            (format!(r#"{{"eventSource":"s","eventName":"n","zz":1,{}}}"#, &object[1..object.len() - 1]),
             key.clone())
        };
        let r = Record::parse(rec.as_bytes(), None).unwrap();
        let last = values.last().unwrap();
        prop_assert_eq!(text_of(r.get_field(&path)), Some(last.clone()));
        let warned = r.warnings("f", &AT).iter().filter(|w| w.reason == SkipReason::DuplicateKey).count();
        prop_assert_eq!(warned, 1);
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 8 #3: what is hashed must be what was parsed.

/// The digest of a hashed read is that of the file's stored bytes (compressed or not), also
/// when the parse stops early, and the records are the same as a plain read's.
#[test]
fn a_hashed_read_digests_exactly_the_bytes_it_parsed() {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let plain = SEED_INPUTS[0].as_bytes().to_vec();
    let mut broken = plain.clone();
    broken.truncate(plain.len() / 2);
    let mut trailing = gzip(&plain);
    trailing.extend_from_slice(b"garbage after the gzip member");
    for (name, bytes) in [
        ("plain.json", plain.clone()),
        ("z.json.gz", gzip(&plain)),
        ("z.json.zst", zstd(&plain)),
        ("cut.json", broken),
        ("trailing.gz", trailing),
    ] {
        let path = write_file(dir.path(), name, &bytes);
        let input = Input {
            path: Some(path.clone()),
            name: name.into(),
            size: None,
        };
        let mut hashed = 0;
        let (totals, digest) = squall_logs::read_input_hashed(
            &input,
            0,
            ReadOptions::default(),
            Arc::new(AtomicU64::new(0)),
            &mut |b| hashed += b.records.len(),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(digest.size, bytes.len() as u64, "{name}");
        assert_eq!(
            digest.sha256,
            format!("{:x}", sha2::Sha256::digest(&bytes)),
            "{name}"
        );
        let plain_read = read_path(&path, 256 << 20);
        assert_eq!(hashed, plain_read.records.len(), "{name}");
        assert_eq!(totals.records, plain_read.totals.records, "{name}");
    }
}

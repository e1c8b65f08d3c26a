//! Damaged input never panics the reader: thousands of mutations of real-shaped logs go through
//! the splitter, the record parser, rule-style field lookups and the summary.

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

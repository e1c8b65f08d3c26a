//! What a hunt says about the record behind each detection: where it is and what its bytes are.

use std::io::Write;

use sha2::{Digest, Sha256};
use squall_detect::{Collector, HuntOptions, Progress, hunt, rules};
use squall_logs::discover;

/// A CloudTrail record of a long-term key from `ip` at `time` (`HH:MM:SS` on 2026-10-02).
fn key_use(key: &str, ip: &str, time: &str, n: usize) -> String {
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/dana","accountId":"111122223333","accessKeyId":"{key}","userName":"dana"}},"eventTime":"2026-10-02T{time}Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"eu-central-1","sourceIPAddress":"{ip}","eventID":"ev-{n}","recipientAccountId":"111122223333"}}"#
    )
}

fn stop_logging(time: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/erin","accountId":"111122223333","userName":"erin"}},"eventTime":"2026-10-02T{time}Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"eu-central-1","sourceIPAddress":"203.0.113.5","requestParameters":{{"name":"main"}},"eventID":"stop-1","recipientAccountId":"111122223333"}}"#
    )
}

#[test]
fn every_detection_carries_the_sha256_of_its_record_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        key_use("AKIAEXAMPLEKEY00001", "198.51.100.1", "09:00:00", 0),
        stop_logging("09:10:00"),
        key_use("AKIAEXAMPLEKEY00001", "198.51.100.2", "09:20:00", 2),
    ];
    let path = dir.path().join("trail.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    for l in &lines {
        writeln!(f, "{l}").unwrap();
    }
    drop(f);
    let mut set = rules::load(&[], true, None);
    let inputs = discover(&[path]).inputs;
    let sink = Collector::default();
    hunt(
        &inputs,
        &mut set,
        &HuntOptions::default(),
        &Progress::default(),
        &sink,
    );
    let (found, _) = sink.into_sorted();
    let titles: Vec<_> = found.iter().map(|d| d.rule.title.as_str()).collect();
    assert!(
        titles.contains(&"Access Key Used from More Than One Source Address"),
        "{titles:?}"
    );
    assert!(found.iter().any(|d| d.correlation.is_none()), "{titles:?}");
    for d in &found {
        let raw = &lines[d.evidence.record_index as usize];
        let expected = format!("{:x}", Sha256::digest(raw.as_bytes()));
        assert_eq!(d.evidence.record_sha256, expected, "{}", d.rule.title);
    }
}

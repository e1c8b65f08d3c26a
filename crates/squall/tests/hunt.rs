//! `squall hunt` driven as a responder drives it: the real binary, files on disk, exit codes.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{Value, json};

fn squall() -> Command {
    let mut cmd = Command::cargo_bin("squall").unwrap();
    // Tests must not pick up a developer's own defaults.
    cmd.env("XDG_CONFIG_HOME", "/nonexistent/squall-test-config");
    for var in [
        "SQUALL_CONFIG",
        "SQUALL_RULES",
        "SQUALL_FORMAT",
        "SQUALL_MIN_LEVEL",
        "SQUALL_STRICT",
        "SQUALL_NO_BUILTIN",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn ct(time: &str, source: &str, name: &str, ip: &str, key: &str, params: Value) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::123456789012:user/erin",
                         "accountId": "123456789012", "accessKeyId": key, "userName": "erin"},
        "eventTime": time, "eventSource": source, "eventName": name, "awsRegion": "us-east-2",
        "sourceIPAddress": ip, "userAgent": "aws-cli/2.15.0", "requestParameters": params,
        "responseElements": null, "requestID": "r-1", "eventID": format!("ev-{time}-{name}"),
        "eventType": "AwsApiCall", "recipientAccountId": "123456789012"
    })
}

fn stop_logging(time: &str) -> Value {
    ct(
        time,
        "cloudtrail.amazonaws.com",
        "StopLogging",
        "203.0.113.5",
        "ASIAEXAMPLE",
        json!({"name": "main"}),
    )
}

fn benign(time: &str) -> Value {
    ct(
        time,
        "s3.amazonaws.com",
        "ListBuckets",
        "10.1.2.3",
        "ASIAEXAMPLE",
        json!({}),
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn jsonl(records: &[Value]) -> Vec<u8> {
    records
        .iter()
        .map(|r| format!("{r}\n"))
        .collect::<String>()
        .into_bytes()
}

fn detections(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON Lines: {l}: {e}")))
        .collect()
}

fn titles(stdout: &[u8]) -> Vec<String> {
    detections(stdout)
        .iter()
        .map(|d| d["rule_title"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn hunting_without_paths_shows_the_bundled_incident() {
    let out = squall()
        .args(["hunt", "--format", "jsonl"])
        .assert()
        .success();
    let found = titles(&out.get_output().stdout);
    for title in [
        "Security Group Opened to the World on an Admin Port",
        "CloudTrail Logging Stopped, Deleted or Narrowed",
        "Access Key Used from More Than One Source Address",
        "GCP Firewall Rule Opened to the World on an Admin Port",
    ] {
        assert!(
            found.iter().any(|t| t == title),
            "missing {title} in {found:?}"
        );
    }
    // The CloudTrail digest next to the logs is passed over without a warning.
    out.stderr(
        predicate::str::contains("digest files passed over: 1")
            .and(predicate::str::contains("warning").not()),
    );
}

#[test]
fn detections_name_their_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let body =
        json!({"Records": [benign("2026-01-01T00:00:00Z"), stop_logging("2026-01-01T00:01:00Z")]});
    let file = write(
        dir.path(),
        "AWSLogs/123456789012/CloudTrail/us-east-2/2026/01/01/123456789012_CloudTrail_us-east-2_20260101T0000Z_x.json.gz",
        &gzip(body.to_string().as_bytes()),
    );
    let out = squall()
        .args(["hunt", "--format", "jsonl"])
        .arg(dir.path())
        .assert()
        .success();
    let d = &detections(&out.get_output().stdout)[0];
    assert_eq!(
        d["rule_title"],
        "CloudTrail Logging Stopped, Deleted or Narrowed"
    );
    assert_eq!(d["level"], "high");
    assert_eq!(d["log_source"], "cloudtrail");
    assert_eq!(d["event_time"], "2026-01-01T00:01:00.000Z");
    assert_eq!(d["principal"], "arn:aws:iam::123456789012:user/erin");
    assert_eq!(d["source_ip"], "203.0.113.5");
    assert_eq!(d["action"], "cloudtrail:StopLogging");
    assert_eq!(d["account"], "123456789012");
    assert_eq!(d["region"], "us-east-2");
    assert_eq!(d["evidence"]["file"], file.display().to_string());
    assert_eq!(d["evidence"]["record_index"], 1);
    assert_eq!(
        d["evidence"]["event_id"],
        "ev-2026-01-01T00:01:00Z-StopLogging"
    );
    assert!(d["rule_id"].as_str().unwrap().len() == 36);
}

#[test]
fn every_delivery_format_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rec = |t: &str| stop_logging(t);
    write(
        d,
        "s3.json",
        json!({"Records": [rec("2026-01-01T00:00:01Z")]})
            .to_string()
            .as_bytes(),
    );
    write(
        d,
        "lake.json",
        json!([rec("2026-01-01T00:00:02Z")]).to_string().as_bytes(),
    );
    write(d, "cw.jsonl", &jsonl(&[rec("2026-01-01T00:00:03Z")]));
    let lookup = json!({"Events": [{"EventId": "x", "EventName": "StopLogging",
        "CloudTrailEvent": rec("2026-01-01T00:00:04Z").to_string()}], "NextToken": "abc"});
    write(d, "lookup-events.json", lookup.to_string().as_bytes());
    let zst = zstd_compress(&jsonl(&[rec("2026-01-01T00:00:05Z")]));
    write(d, "archive.jsonl.zst", &zst);
    // gzip recognised by content even without .gz
    write(
        d,
        "no-extension-gzip.json",
        &gzip(
            json!({"Records": [rec("2026-01-01T00:00:06Z")]})
                .to_string()
                .as_bytes(),
        ),
    );
    let gcp = json!([{
        "protoPayload": {"@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "methodName": "google.logging.v2.ConfigServiceV2.DeleteSink", "serviceName": "logging.googleapis.com",
            "authenticationInfo": {"principalEmail": "eve@example.com"}, "resourceName": "projects/p/sinks/s"},
        "insertId": "abc", "timestamp": "2026-01-01T00:00:07Z", "resource": {"type": "logging_sink", "labels": {"project_id": "p"}},
        "logName": "projects/p/logs/cloudaudit.googleapis.com%2Factivity"}]);
    write(
        d,
        "gcloud-read.json",
        serde_json::to_string_pretty(&gcp).unwrap().as_bytes(),
    );
    let out = squall()
        .args(["hunt", "--format", "jsonl"])
        .arg(d)
        .assert()
        .success();
    let mut found = detections(&out.get_output().stdout);
    // JSON Lines arrive as found; order them by time to compare.
    found.sort_by_key(|d| d["event_time"].as_str().unwrap().to_string());
    let times: Vec<_> = found
        .iter()
        .map(|d| d["event_time"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(times.len(), 7, "{times:?}");
    assert_eq!(found[6]["log_source"], "gcp-audit");
    assert_eq!(found[6]["principal"], "eve@example.com");
}

fn zstd_compress(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).unwrap()
}

#[test]
fn stdin_is_read_with_a_dash() {
    squall()
        .args(["hunt", "-", "--format", "jsonl"])
        .write_stdin(jsonl(&[
            benign("2026-01-01T00:00:00Z"),
            stop_logging("2026-01-01T00:00:01Z"),
        ]))
        .assert()
        .success()
        .stdout(predicate::str::contains("\"file\":\"-\""));
}

#[test]
fn hunt_reports_malformed_records_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut lines = jsonl(&[stop_logging("2026-01-01T00:00:01Z")]);
    lines.extend_from_slice(b"{\"eventName\": \"Broken\", \n");
    lines.extend_from_slice(b"{\"eventName\": \"\xff\xfe\"}\n");
    lines.extend_from_slice(b"[1,2,3]\n");
    lines.extend_from_slice(b"{\"hello\": \"world\"}\n");
    lines.extend(jsonl(&[stop_logging("2026-01-01T00:00:05Z")]));
    write(d, "mixed.jsonl", &lines);
    // A download cut short: the records before the cut still count.
    let full = gzip(
        json!({"Records": [stop_logging("2026-01-01T00:00:06Z"), benign("2026-01-01T00:00:07Z")]})
            .to_string()
            .as_bytes(),
    );
    write(d, "cut.json.gz", &full[..full.len() - 30]);
    write(d, "binary.json", &[0u8, 159, 146, 150, 0, 1, 2, 3, 4, 5]);
    let out = squall()
        .args(["hunt", "--format", "jsonl"])
        .arg(d)
        .assert()
        .success();
    let o = out.get_output();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(titles(&o.stdout).len(), 3, "{stderr}");
    assert!(
        stderr.contains("mixed.jsonl:2"),
        "names file and line: {stderr}"
    );
    assert!(
        stderr.contains("mixed.jsonl:3") && stderr.contains("invalid UTF-8"),
        "{stderr}"
    );
    assert!(
        stderr.contains("mixed.jsonl:4") && stderr.contains("not a JSON object"),
        "{stderr}"
    );
    assert!(
        stderr.contains("mixed.jsonl:5") && stderr.contains("no known log"),
        "{stderr}"
    );
    assert!(stderr.contains("cut.json.gz"), "{stderr}");
    assert!(
        stderr.contains("binary.json") && stderr.contains("not JSON"),
        "{stderr}"
    );
    assert!(stderr.contains("skipped:"), "{stderr}");

    // --strict turns the same warnings into failure, after printing the results.
    squall()
        .args(["hunt", "--strict", "--format", "jsonl"])
        .arg(d)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--strict"));
}

#[test]
fn a_hundred_megabyte_line_is_read_without_trouble() {
    let dir = tempfile::tempdir().unwrap();
    let mut rec = stop_logging("2026-01-01T00:00:01Z");
    rec["requestParameters"]["padding"] = json!("x".repeat(100 << 20));
    let mut bytes = jsonl(&[rec]);
    bytes.extend(jsonl(&[stop_logging("2026-01-01T00:00:02Z")]));
    write(dir.path(), "huge.jsonl", &bytes);
    let out = squall()
        .args(["hunt", "--format", "jsonl"])
        .arg(dir.path())
        .assert()
        .success();
    assert_eq!(titles(&out.get_output().stdout).len(), 2);
    // And one beyond --max-record-mib is refused with a message, not a crash.
    squall()
        .args(["hunt", "--format", "jsonl", "--max-record-mib", "10"])
        .arg(dir.path())
        .assert()
        .success()
        .stderr(predicate::str::contains("larger than"));
}

#[test]
fn exit_codes_follow_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.jsonl",
        &jsonl(&[stop_logging("2026-01-01T00:00:01Z")]),
    );
    squall()
        .args(["hunt", "-q"])
        .arg(dir.path())
        .assert()
        .code(0);
    squall()
        .args(["hunt", "-q", "--fail-on-detection"])
        .arg(dir.path())
        .assert()
        .code(1);
    write(
        dir.path(),
        "b.jsonl",
        &jsonl(&[benign("2026-01-01T00:00:01Z")]),
    );
    squall()
        .args(["hunt", "-q", "--fail-on-detection"])
        .arg(dir.path().join("b.jsonl"))
        .assert()
        .code(0);
    // Input that holds nothing readable is a failed run, not an empty one.
    write(
        dir.path(),
        "garbage.txt",
        b"this is not a log\n{\"nor\": \"this\"}\n",
    );
    squall()
        .args(["hunt", "-q"])
        .arg(dir.path().join("garbage.txt"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no record could be read"));
    squall()
        .args(["hunt", "/no/such/path"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/no/such/path"));
    squall()
        .args(["hunt", "--since", "yesterday-ish"])
        .arg(dir.path())
        .assert()
        .code(2);
}

#[test]
fn time_window_and_level_filters() {
    let dir = tempfile::tempdir().unwrap();
    let mut recs = vec![
        stop_logging("2026-01-01T00:00:00Z"),
        stop_logging("2026-01-02T00:00:00Z"),
    ];
    recs.push(ct(
        "2026-01-02T01:00:00Z",
        "ec2-instance-connect.amazonaws.com",
        "SendSSHPublicKey",
        "1.2.3.4",
        "ASIA",
        json!({"instanceId": "i-1"}),
    ));
    write(dir.path(), "a.jsonl", &jsonl(&recs));
    let run = |args: &[&str]| {
        let out = squall()
            .arg("hunt")
            .args(args)
            .args(["--format", "jsonl"])
            .arg(dir.path())
            .assert()
            .success();
        titles(&out.get_output().stdout)
    };
    assert_eq!(run(&[]).len(), 3);
    assert_eq!(run(&["--since", "2026-01-02"]).len(), 2);
    assert_eq!(run(&["--until", "2026-01-02T00:30:00Z"]).len(), 2);
    assert_eq!(
        run(&["--since", "2026-01-02", "--min-level", "high"]).len(),
        1
    );
}

#[test]
fn correlations_run_in_event_time_order_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let key = "AKIAEXAMPLELEAKED999";
    let use_from = |t: &str, ip: &str| ct(t, "s3.amazonaws.com", "ListBuckets", ip, key, json!({}));
    // The later use sits in the file read first: only time order makes the second address
    // the one that raises the alert.
    write(
        dir.path(),
        "a.jsonl",
        &jsonl(&[use_from("2026-03-01T10:30:00Z", "198.51.100.66")]),
    );
    write(
        dir.path(),
        "b.jsonl",
        &jsonl(&[use_from("2026-03-01T10:00:00Z", "203.0.113.10")]),
    );
    // Two hours later a third address: a new window, a new alert.
    write(
        dir.path(),
        "c.jsonl",
        &jsonl(&[
            use_from("2026-03-01T12:40:00Z", "192.0.2.99"),
            use_from("2026-03-01T12:41:00Z", "192.0.2.100"),
        ]),
    );
    let out = squall()
        .args(["hunt", "--format", "jsonl"])
        .arg(dir.path())
        .assert()
        .success();
    let found: Vec<_> = detections(&out.get_output().stdout)
        .into_iter()
        .filter(|d| d["rule_title"] == "Access Key Used from More Than One Source Address")
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0]["event_time"], "2026-03-01T10:30:00.000Z");
    assert!(
        found[0]["evidence"]["file"]
            .as_str()
            .unwrap()
            .ends_with("a.jsonl")
    );
    assert_eq!(found[0]["correlation"]["type"], "value_count");
    assert_eq!(found[0]["correlation"]["group"][0][1], key);
    assert_eq!(found[0]["source_ip"], "198.51.100.66");
    assert_eq!(found[1]["event_time"], "2026-03-01T12:41:00.000Z");
    // The building-block rule (generate: false) is not reported by itself.
    assert!(
        !titles(&out.get_output().stdout)
            .iter()
            .any(|t| t == "Long-Term Access Key Used")
    );
}

#[test]
fn a_burst_of_launches_spread_over_files_is_one_alert() {
    let dir = tempfile::tempdir().unwrap();
    for f in 0..3 {
        let recs: Vec<_> = (0..4)
            .map(|i| {
                let t = format!("2026-04-01T08:0{}:{:02}Z", f, i * 10);
                ct(
                    &t,
                    "ec2.amazonaws.com",
                    "RunInstances",
                    "198.51.100.1",
                    "ASIAEXAMPLE",
                    json!({"instanceType": "t3.micro"}),
                )
            })
            .collect();
        write(dir.path(), &format!("part-{f}.jsonl"), &jsonl(&recs));
    }
    let out = squall()
        .args(["hunt", "--format", "jsonl"])
        .arg(dir.path())
        .assert()
        .success();
    let found = titles(&out.get_output().stdout);
    assert_eq!(
        found
            .iter()
            .filter(|t| *t == "Burst of EC2 Instance Launches by One Principal")
            .count(),
        1,
        "{found:?}"
    );
}

#[test]
fn invalid_rules_are_named_and_the_rest_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    write(&rules, "broken.yml", b"title: [unclosed\n");
    write(
        &rules,
        "no_detection.yml",
        b"title: Nothing\nlogsource:\n  product: aws\n  service: cloudtrail\n",
    );
    write(
        &rules,
        "ok.yml",
        b"title: Any ListBuckets\nid: 1a2b3c4d-0000-4000-8000-000000000001\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  sel:\n    eventName: ListBuckets\n  condition: sel\nlevel: low\n",
    );
    let logs = write(
        dir.path(),
        "a.jsonl",
        &jsonl(&[benign("2026-01-01T00:00:00Z")]),
    );
    let out = squall()
        .args(["hunt", "--no-builtin", "--format", "jsonl", "--rules"])
        .arg(&rules)
        .arg(&logs)
        .assert()
        .success()
        .stderr(
            predicate::str::contains("broken.yml")
                .and(predicate::str::contains("no_detection.yml")),
        );
    assert_eq!(titles(&out.get_output().stdout), vec!["Any ListBuckets"]);
    squall()
        .args(["hunt", "--no-builtin", "--strict", "--rules"])
        .arg(&rules)
        .arg(&logs)
        .assert()
        .code(2);
}

#[test]
fn output_formats() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.jsonl",
        &jsonl(&[stop_logging("2026-01-01T00:00:01Z")]),
    );
    let out = squall()
        .args(["hunt", "--format", "json"])
        .arg(dir.path())
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    let out = squall()
        .args(["hunt", "--format", "csv"])
        .arg(dir.path())
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("event_time,level,rule_id,rule_title")
    );
    assert!(lines.next().unwrap().contains("CloudTrail Logging Stopped"));
    squall()
        .args(["hunt", "--format", "table"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(
            predicate::str::starts_with("TIME")
                .and(predicate::str::contains("cloudtrail:StopLogging")),
        );
    // Piped output defaults to JSON Lines.
    let out = squall().arg("hunt").arg(dir.path()).assert().success();
    assert_eq!(detections(&out.get_output().stdout).len(), 1);
}

#[test]
fn help_teaches_the_verb() {
    squall()
        .args(["hunt", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:").and(predicate::str::contains("Exit codes")));
}

#[test]
fn a_config_file_sets_defaults_that_flags_override() {
    let dir = tempfile::tempdir().unwrap();
    let recs = [
        stop_logging("2026-01-01T00:00:00Z"),
        ct(
            "2026-01-01T00:01:00Z",
            "ec2-instance-connect.amazonaws.com",
            "SendSSHPublicKey",
            "1.2.3.4",
            "ASIA",
            json!({"instanceId": "i-1"}),
        ),
    ];
    write(dir.path(), "a.jsonl", &jsonl(&recs));
    let config = write(
        dir.path(),
        "squall.toml",
        b"[hunt]\nmin_level = \"high\"\nformat = \"csv\"\n",
    );
    let out = squall()
        .arg("--config")
        .arg(&config)
        .arg("hunt")
        .arg(dir.path().join("a.jsonl"))
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert_eq!(
        text.lines().count(),
        2,
        "csv header and the one high detection: {text}"
    );
    // A flag beats the file.
    let out = squall()
        .env("SQUALL_CONFIG", &config)
        .args(["hunt", "--format", "jsonl", "--min-level", "low"])
        .arg(dir.path().join("a.jsonl"))
        .assert()
        .success();
    assert_eq!(titles(&out.get_output().stdout).len(), 2);
    // A broken file is named.
    let bad = write(dir.path(), "bad.toml", b"[hunt]\nformat = \"yaml\"\n");
    squall()
        .arg("--config")
        .arg(&bad)
        .arg("hunt")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("yaml"));
}

#[test]
fn temporal_correlations_join_events_across_files_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    write(
        &rules,
        "user_then_admin.yml",
        br#"title: IAM User Created
id: 0d7e2a52-0000-4000-8000-000000000010
name: iam_user_created
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventSource: iam.amazonaws.com, eventName: CreateUser}
  condition: sel
level: low
---
title: Admin Policy Attached
id: 0d7e2a52-0000-4000-8000-000000000011
name: admin_attached
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventSource: iam.amazonaws.com, eventName: AttachUserPolicy}
  condition: sel
level: low
---
title: New User Made Admin
id: 0d7e2a52-0000-4000-8000-000000000012
correlation:
  type: temporal_ordered
  rules: [iam_user_created, admin_attached]
  group-by: [requestParameters.userName]
  timespan: 15m
level: high
"#,
    );
    let create = ct(
        "2026-06-01T10:00:00Z",
        "iam.amazonaws.com",
        "CreateUser",
        "1.2.3.4",
        "ASIA",
        json!({"userName": "mallory"}),
    );
    let attach = ct(
        "2026-06-01T10:05:00Z",
        "iam.amazonaws.com",
        "AttachUserPolicy",
        "1.2.3.4",
        "ASIA",
        json!({"userName": "mallory", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    );
    // Delivered out of order: the attach is in the file read first.
    write(dir.path(), "logs/1.jsonl", &jsonl(&[attach]));
    write(dir.path(), "logs/2.jsonl", &jsonl(&[create]));
    // And the same pair for another user, reversed in time: no alert.
    let late_create = ct(
        "2026-06-01T11:10:00Z",
        "iam.amazonaws.com",
        "CreateUser",
        "1.2.3.4",
        "ASIA",
        json!({"userName": "trent"}),
    );
    let early_attach = ct(
        "2026-06-01T11:00:00Z",
        "iam.amazonaws.com",
        "AttachUserPolicy",
        "1.2.3.4",
        "ASIA",
        json!({"userName": "trent"}),
    );
    write(
        dir.path(),
        "logs/3.jsonl",
        &jsonl(&[early_attach, late_create]),
    );
    let out = squall()
        .args(["hunt", "--no-builtin", "--format", "jsonl", "--rules"])
        .arg(&rules)
        .arg(dir.path().join("logs"))
        .assert()
        .success();
    let found = detections(&out.get_output().stdout);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["rule_title"], "New User Made Admin");
    assert_eq!(found[0]["correlation"]["group"][0][1], "mallory");
    assert_eq!(found[0]["event_time"], "2026-06-01T10:05:00.000Z");
}

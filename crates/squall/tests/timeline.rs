//! `squall timeline`: the actors' activity around a case's detections, re-read from the logs
//! the case was hunted on.

use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;

mod common;
use common::*;

/// A case made by hunting the bundled example incident.
fn example_case(home: &Path) {
    squall(home)
        .args(["hunt", "--new-case", "Example", "-q", "--format", "jsonl"])
        .assert()
        .success();
}

#[test]
fn the_timeline_shows_what_the_actors_did_between_the_detections() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    example_case(h);
    let raw = squall(h)
        .args(["timeline", "C-0001", "--format", "jsonl"])
        .output()
        .unwrap();
    // Each line is one JSON object with each key once: a repeated `time` is read differently
    // by different JSON readers.
    for line in String::from_utf8(raw.stdout).unwrap().lines() {
        assert_eq!(line.matches("\"time\":").count(), 1, "{line}");
    }
    let events = lines(squall(h).args(["timeline", "C-0001", "--format", "jsonl"]));
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Reconnaissance that no rule flags is there, between the detections, in time order.
    let list_users = actions
        .iter()
        .position(|a| *a == "iam:ListUsers")
        .expect("ListUsers in the timeline");
    let create_key = actions
        .iter()
        .position(|a| *a == "iam:CreateAccessKey")
        .unwrap();
    assert!(list_users < create_key);
    assert!(
        events[list_users]["detections"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        events[create_key]["detections"][0],
        "Access Key Created for Another IAM User"
    );
    let times: Vec<&str> = events.iter().map(|e| e["time"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    // The leaked key's earlier, legitimate use is found by the key pivot.
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "ecr:GetAuthorizationToken"
                && e["matched"].as_array().unwrap().contains(&"key".into()))
    );
    // Routine activity of unrelated roles is not.
    assert!(!events.iter().any(|e| e["action"] == "kms:Decrypt"));
}

#[test]
fn pivots_and_windows_narrow_the_timeline() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    example_case(h);
    let by_key =
        lines(squall(h).args(["timeline", "C-0001", "--pivot", "key", "--format", "jsonl"]));
    assert!(
        by_key
            .iter()
            .all(|e| e["access_key"] == "AKIA5EXAMPLELEAKED01"),
        "{by_key:?}"
    );
    assert!(!by_key.iter().any(|e| e["log_source"] == "gcp-audit"));
    // The attacker's address leads into GCP too.
    let by_ip = lines(squall(h).args(["timeline", "C-0001", "--pivot", "ip", "--format", "jsonl"]));
    assert!(by_ip.iter().any(|e| e["log_source"] == "gcp-audit"));
    // Around the fourth detection (the security group at 09:25:10): the snapshot share 53 s
    // later is outside 30 s, the admin grant 11 minutes earlier outside 1 m.
    let around = lines(squall(h).args([
        "timeline", "C-0001", "--around", "4", "--before", "1m", "--after", "30s", "--format",
        "jsonl",
    ]));
    assert_eq!(around.len(), 1, "{around:?}");
    assert_eq!(around[0]["action"], "ec2:AuthorizeSecurityGroupIngress");
    squall(h)
        .args(["timeline", "C-0001", "--around", "99"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--around takes 1 to 10"));
}

#[test]
fn a_case_without_hunted_logs_says_how_to_get_a_timeline() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    squall(h)
        .args(["case", "new", "--title", "Empty"])
        .assert()
        .success();
    squall(h)
        .args(["timeline", "C-0001"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("squall hunt LOGS --case C-0001"));
    squall(h).args(["scope", "C-0001"]).assert().code(2);
}

#[test]
fn the_html_timeline_is_one_self_contained_file() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    example_case(h);
    let file = h.join("t.html");
    squall(h)
        .args(["timeline", "C-0001", "--format", "html", "-o"])
        .arg(&file)
        .assert()
        .success();
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.to_ascii_lowercase().starts_with("<!doctype html>"));
    assert!(html.contains("iam:ListUsers") && html.contains(r#"class="detection""#));
    // Nothing is fetched: no external scripts, styles, images or fonts.
    for needle in ["src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(needle), "external resource: {needle}");
    }
}

#[test]
fn timesketch_output_passes_timesketchs_own_import_checks() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    example_case(h);
    let jsonl = h.join("timeline.jsonl");
    let csv = h.join("timeline.csv");
    squall(h)
        .args(["timeline", "C-0001", "--format", "timesketch", "-o"])
        .arg(&jsonl)
        .assert()
        .success();
    squall(h)
        .args(["timeline", "C-0001", "--format", "timesketch-csv", "-o"])
        .arg(&csv)
        .assert()
        .success();
    let rows = std::fs::read_to_string(&jsonl).unwrap().lines().count();
    assert!(rows > 10);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/timesketch_check.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(&jsonl)
        .arg(&csv)
        .arg(rows.to_string())
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    match out.status.code() {
        Some(0) => assert!(stdout.starts_with("ok:"), "{stdout}"),
        Some(3) => skip_or_fail(&format!(
            "{} (.ci/run installs it: pip install --no-deps timesketch)",
            stdout.trim()
        )),
        _ => panic!(
            "Timesketch rejected the output: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

#[test]
fn scope_lists_everything_the_actors_touched_with_first_and_last_seen_and_failed_calls_apart() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    example_case(h);
    let out = squall(h)
        .args(["scope", "C-0001", "--format", "json"])
        .assert()
        .success();
    let touched: Vec<Value> = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let find = |kind: &str, value: &str| {
        touched
            .iter()
            .find(|t| t["kind"] == kind && t["value"] == value)
            .unwrap_or_else(|| panic!("{kind} {value} missing from {touched:?}"))
            .clone()
    };
    // Both clouds the attacker's address reached.
    find("account", "111122223333");
    find("account", "acme-prod");
    let key = find("access_key", "AKIA5EXAMPLELEAKED01");
    assert_eq!(key["parent"], "user ci-deployer");
    // The key was first used by the pipeline, before the attacker.
    assert_eq!(key["first_seen"], "2026-10-02T09:11:02.000Z");
    assert_eq!(key["last_seen"], "2026-10-02T09:28:12.000Z");
    // The snapshot was shared out: a change, with its record and to whom.
    let snapshot = find("snapshot", "snap-0e1f2a3b4c5d6e7f8");
    assert_eq!(snapshot["changes"][0]["change"], "shared");
    assert_eq!(snapshot["changes"][0]["detail"], "shared with 999988887777");
    // The refused RunInstances is a failed call, not a launch.
    let failed = find("failed_call", "ec2:RunInstances");
    assert_eq!(failed["error"], "Client.InstanceLimitExceeded");
    assert!(!touched.iter().any(|t| t["kind"] == "instance"));
    find("principal", "contractor-7@acme.example");
    // GCP's writes are changes too: the rule opened to the world, the key made for a service
    // account (which is thereby changed), and no untyped duplicate of either.
    let rule = find("firewall", "allow-ssh-temp");
    assert_eq!(
        rule["changes"][0]["detail"],
        "ingress tcp 22 from 0.0.0.0/0"
    );
    let account = find("user", "deployer@acme-prod.iam.gserviceaccount.com");
    assert_eq!(account["changes"][0]["change"], "modified");
    assert!(
        !touched.iter().any(|t| t["kind"] == "resource"),
        "{touched:?}"
    );
    assert!(
        !touched.iter().any(|t| t["value"] == "kms:Decrypt"),
        "unrelated roles are out of scope"
    );
}

//! The attacks of issue 8, replayed through the binary: log fields written by an attacker, a
//! store edited behind Squall's back, a log changed after the hunt, special files, read-only
//! media. Each output must show attacker text as text and say plainly when a check failed.

use std::path::{Path, PathBuf};

use predicates::prelude::*;
use serde_json::{Value, json};

mod common;
use common::*;

/// Escape sequences a terminal would obey: retitle, clear screen, an OSC 8 link, a forged row.
const TERMINAL_ATTACK: &str = "\u{202e}\u{9b}31m\u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}]8;;http://e.vil\u{1b}\\link\u{1b}]8;;\u{1b}\\\r\nC-9999 forged row";
const MARKUP_ATTACK: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>";
const TIME_ATTACK: &str = "!! x\n## Summary\n\nAll clear: 0 detections. Ledger verified.";

fn stop_logging(time: &str, event_id: &str, arn: &str, agent: &str) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": arn,
                         "accountId": "123456789012", "accessKeyId": "AKIAHOSTILE", "userName": "erin"},
        "eventTime": time, "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging",
        "awsRegion": "us-east-2", "sourceIPAddress": "203.0.113.5", "userAgent": agent,
        "requestParameters": {"name": format!("=HYPERLINK(\"http://e.vil\",\"{MARKUP_ATTACK}\")")},
        "responseElements": null, "requestID": "r-1", "eventID": event_id,
        "eventType": "AwsApiCall", "recipientAccountId": "123456789012"
    })
}

/// A hunted case whose log carries every kind of hostile text, in a file whose name does too.
fn hostile_case(h: &Path) -> PathBuf {
    let dir = h.join("logs");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join(format!("trail{}.json", TERMINAL_ATTACK.replace('/', "_")));
    let records = json!({"Records": [
        stop_logging("2026-10-02T09:28:12Z", "ev-1", &format!("arn:aws:iam::123456789012:user/{TERMINAL_ATTACK}"), MARKUP_ATTACK),
        stop_logging(TIME_ATTACK, "ev-2", "arn:aws:iam::123456789012:user/erin", "aws-cli"),
    ]});
    std::fs::write(&log, records.to_string()).unwrap();
    squall(h)
        .args(["hunt", "--new-case", "Hostile", "-q", "--format", "jsonl"])
        .arg(&log)
        .assert()
        .success();
    log
}

fn stdout_of(cmd: &mut assert_cmd::Command) -> (String, Option<i32>) {
    let out = cmd.output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        out.status.code(),
    )
}

fn no_terminal_control(what: &str, text: &str) {
    assert!(
        !text.contains(['\u{1b}', '\u{7}', '\r', '\u{9b}', '\u{202e}']),
        "{what} writes terminal controls: {text:?}"
    );
    assert!(!text.contains("\nC-9999 forged row"), "{what}: forged row");
}

#[test]
fn attacker_text_never_drives_the_terminal() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let log = hostile_case(h);
    let (table, _) = stdout_of(
        squall(h)
            .args(["hunt", "--format", "table", "-q"])
            .arg(&log),
    );
    no_terminal_control("hunt table", &table);
    for args in [
        &["case", "show", "C-0001", "--format", "table"][..],
        &["timeline", "C-0001", "--format", "table"],
        &["scope", "C-0001", "--format", "table"],
        &["case", "list", "--format", "table"],
    ] {
        let (out, code) = stdout_of(squall(h).args(args));
        assert_eq!(code, Some(0), "{args:?}: {out}");
        no_terminal_control(&format!("{args:?}"), &out);
    }
    // Warnings quote file names: a broken file with a hostile name.
    let bad = h.join(format!("bad{}.json", TERMINAL_ATTACK.replace('/', "_")));
    std::fs::write(&bad, "{\"Records\": [ {\"eventName\": ").unwrap();
    let out = squall(h)
        .args(["hunt", "--format", "jsonl"])
        .arg(&bad)
        .output()
        .unwrap();
    no_terminal_control("warnings", &String::from_utf8_lossy(&out.stderr));
}

#[test]
fn csv_cells_never_start_a_formula() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let log = hostile_case(h);
    for args in [
        vec![
            "hunt".to_string(),
            "--format".into(),
            "csv".into(),
            "-q".into(),
            log.display().to_string(),
        ],
        vec![
            "timeline".into(),
            "C-0001".into(),
            "--format".into(),
            "csv".into(),
        ],
        vec![
            "scope".into(),
            "C-0001".into(),
            "--format".into(),
            "csv".into(),
        ],
    ] {
        let (out, _) = stdout_of(squall(h).args(&args));
        let mut reader = csv::ReaderBuilder::new().from_reader(out.as_bytes());
        for row in reader.records() {
            for cell in row.unwrap().iter() {
                assert!(
                    !(cell.starts_with(['=', '+', '@', '\t', '\r'])
                        || (cell.starts_with('-') && cell != "-")),
                    "{args:?}: formula cell {cell:?}"
                );
            }
        }
    }
}

#[test]
fn the_report_carries_no_markup_and_no_forged_times() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    hostile_case(h);
    let shown = json_of(squall(h).args(["case", "show", "C-0001", "--format", "json"]));
    // The unparseable time is no time: it neither becomes the identified time nor is stored.
    assert_eq!(shown["case"]["identified_at"], "2026-10-02T09:28:12.000Z");
    for d in shown["detections"].as_array().unwrap() {
        let t = &d["event_time"];
        assert!(t.is_null() || t.as_str().unwrap().ends_with(".000Z"), "{t}");
    }
    let md = String::from_utf8(
        squall(h)
            .args(["report", "C-0001"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    for bad in ["<script", "<img", "\n## Summary\n\nAll clear", "\u{1b}"] {
        assert!(!md.contains(bad), "{bad:?} in the report:\n{md}");
    }
    assert_eq!(md.matches("\n## Summary").count(), 1, "{md}");
    let html_out = squall(h)
        .args(["report", "C-0001", "--format", "html"])
        .output()
        .unwrap()
        .stdout;
    let html = String::from_utf8(html_out).unwrap();
    assert!(
        !html.contains("<script") && !html.contains("<img"),
        "{html}"
    );
    let page = squall(h)
        .args(["timeline", "C-0001", "--format", "html"])
        .output()
        .unwrap()
        .stdout;
    let page = String::from_utf8(page).unwrap();
    no_terminal_control("report html", &html);
    no_terminal_control("timeline html", &page);
    assert_eq!(
        page.matches("<script").count(),
        1,
        "only the page's own filter script"
    );
}

#[test]
fn an_edited_store_or_log_is_named_at_the_top_of_every_view() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let log = hostile_case(h);
    let evidence = h.join("disk.raw");
    std::fs::write(&evidence, b"disk").unwrap();
    squall(h)
        .args(["evidence", "add", "C-0001"])
        .arg(&evidence)
        .args(["--description", "root volume"])
        .assert()
        .success();
    squall(h)
        .args(["ledger", "verify", "C-0001"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1 hunted file(s) unchanged"));
    let db = rusqlite::Connection::open(h.join("squall.db")).unwrap();
    db.execute_batch(
        "UPDATE evidence SET sha256 = 'ff'; UPDATE cases SET title = 'All clear', severity = 'low';
         DELETE FROM detections;",
    )
    .unwrap();
    drop(db);
    squall(h)
        .args(["ledger", "verify", "C-0001"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("TAMPERED"));
    let (show, code) = stdout_of(squall(h).args(["case", "show", "C-0001", "--format", "table"]));
    assert_eq!(code, Some(1));
    assert!(show.starts_with("INTEGRITY CHECK FAILED"), "{show}");
    assert!(
        show.contains("\nC-0001  Hostile\n"),
        "the title from the ledger: {show}"
    );
    let (list, code) = stdout_of(squall(h).args(["case", "list", "--format", "csv"]));
    assert_eq!(code, Some(1));
    assert!(
        list.contains(",Hostile") && !list.contains(",All clear"),
        "{list}"
    );
    let (md, code) = stdout_of(squall(h).args(["report", "C-0001"]));
    assert_eq!(code, Some(1));
    assert!(md.starts_with("**INTEGRITY CHECK FAILED"), "{md}");
    assert!(!md.contains("verified, head"), "{md}");

    // A log changed after the hunt is named and left out of the attacker timeline.
    let home2 = tempfile::tempdir().unwrap();
    let h2 = home2.path();
    let log2 = hostile_case(h2);
    std::fs::write(&log2, std::fs::read(&log).unwrap().repeat(1)).unwrap();
    let mut text = std::fs::read_to_string(&log2).unwrap();
    text = text.replace("203.0.113.5", "198.51.100.7");
    std::fs::write(&log2, text).unwrap();
    let (md, code) = stdout_of(squall(h2).args(["report", "C-0001"]));
    assert_eq!(code, Some(1));
    assert!(md.contains("changed since it was hunted"), "{md}");
    assert!(
        !md.contains("198.51.100.7"),
        "the edited log's events are not shown as fact"
    );
    for args in [
        &["timeline", "C-0001", "--format", "jsonl"][..],
        &["scope", "C-0001", "--format", "json"],
    ] {
        let out = squall(h2).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("INTEGRITY CHECK FAILED"));
    }
}

#[test]
fn a_forged_export_with_stripped_signers_is_tampered() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let key = h.join("alice.key");
    let out = squall(h)
        .args(["key", "generate", "-o"])
        .arg(&key)
        .output()
        .unwrap();
    let public = String::from_utf8_lossy(&out.stdout).trim().to_string();
    squall(h)
        .env("SQUALL_SIGN_KEY", &key)
        .args(["case", "new", "--title", "Signed"])
        .assert()
        .success();
    let export = h.join("ledger.jsonl");
    squall(h)
        .args(["ledger", "export", "C-0001", "-o"])
        .arg(&export)
        .assert()
        .success();
    let entries: Vec<Value> = std::fs::read_to_string(&export)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let forge = |signer: Option<&str>, signature: &str| {
        let lines: Vec<String> = entries
            .iter()
            .map(|e| {
                let mut e = e.clone();
                let o = e.as_object_mut().unwrap();
                o.remove("signer");
                if let Some(s) = signer {
                    o.insert("signer".into(), s.into());
                }
                o.insert("signature".into(), signature.into());
                e.to_string()
            })
            .collect();
        std::fs::write(&export, lines.join("\n") + "\n").unwrap();
    };
    forge(None, "not-a-signature");
    squall(h)
        .args(["ledger", "verify", "--file"])
        .arg(&export)
        .args(["--require-signed", "--signer", &public])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("TAMPERED"));
    // Multi-byte text where hex belongs: a verdict, not a panic.
    forge(Some(&"é".repeat(32)), &"日".repeat(40));
    squall(h)
        .args(["ledger", "verify", "--file"])
        .arg(&export)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("bad signature"));
    std::fs::write(&export, "\n\n").unwrap();
    squall(h)
        .args(["ledger", "verify", "--file"])
        .arg(&export)
        .args(["--require-signed", "--signer", &public])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("no entries"));
    std::fs::write(&export, "{\"seq\": \"x\"}\n").unwrap();
    squall(h)
        .args(["ledger", "verify", "--file"])
        .arg(&export)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("not a ledger entry"));
    std::fs::write(&key, "é".repeat(32)).unwrap();
    squall(h)
        .args(["key", "show"])
        .arg(&key)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a 64-hex-digit"));
}

#[test]
fn special_files_and_odd_names_are_refused_or_shown_safely() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    squall(h)
        .args(["case", "new", "--title", "t"])
        .assert()
        .success();
    squall(h)
        .args([
            "evidence",
            "add",
            "C-0001",
            "/dev/zero",
            "--description",
            "x",
        ])
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("character device"));
    let fifo = h.join("pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    squall(h)
        .args(["evidence", "add", "C-0001"])
        .arg(&fifo)
        .args(["--description", "x"])
        .timeout(std::time::Duration::from_secs(30))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("FIFO"));
    let odd = h.join("disk\nevidence (9): forged.raw");
    std::fs::write(&odd, b"x").unwrap();
    squall(h)
        .args(["evidence", "add", "C-0001"])
        .arg(&odd)
        .args(["--description", "x"])
        .assert()
        .success();
    let (show, _) = stdout_of(squall(h).args(["case", "show", "C-0001", "--format", "table"]));
    assert!(!show.contains("\nevidence (9)"), "{show}");
    squall(h)
        .args(["hunt", "--since", "9999999999999d", "-q"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("out of range"));
}

#[test]
fn standard_input_is_saved_into_the_case_and_checked_later() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let records = json!({"Records": [stop_logging("2026-10-02T09:28:12Z", "ev-1", "arn:aws:iam::123456789012:user/erin", "aws-cli")]});
    squall(h)
        .args([
            "hunt",
            "-",
            "--new-case",
            "From a pipe",
            "--format",
            "jsonl",
        ])
        .write_stdin(records.to_string())
        .assert()
        .success()
        .stderr(predicate::str::contains("standard input saved to"));
    let folder = h.join("cases/C-0001");
    let saved: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(saved.len(), 1);
    assert_eq!(
        std::fs::read_to_string(&saved[0]).unwrap(),
        records.to_string()
    );
    squall(h)
        .args(["ledger", "verify", "C-0001"])
        .assert()
        .success()
        .stdout(predicate::str::contains("1 hunted file(s) unchanged"));
    let (timeline, code) = stdout_of(squall(h).args(["timeline", "C-0001", "--format", "jsonl"]));
    assert_eq!(code, Some(0));
    assert_eq!(timeline.lines().count(), 1, "{timeline}");
}

#[test]
fn a_store_on_read_only_media_can_be_shown_and_verified() {
    if std::process::Command::new("unshare")
        .args(["-rm", "true"])
        .status()
        .map_or(true, |s| !s.success())
    {
        skip_or_fail("`unshare -rm` (util-linux) is needed to mount a read-only store");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    hostile_case(h);
    let bin = assert_cmd::cargo::cargo_bin("squall");
    let dir = h.display().to_string();
    // A private mount namespace where the home is a read-only bind mount.
    let script = format!(
        "mount --bind '{dir}' '{dir}' && mount -o remount,ro,bind '{dir}' && \
         SQUALL_HOME='{dir}' '{bin}' ledger verify C-0001 && \
         SQUALL_HOME='{dir}' '{bin}' case show C-0001 --format json >/dev/null && \
         ! SQUALL_HOME='{dir}' '{bin}' case note C-0001 'x' 2>&1 | grep -q panicked",
        bin = bin.display()
    );
    let out = std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("intact"));
}

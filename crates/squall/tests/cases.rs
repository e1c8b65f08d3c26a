//! Cases, evidence and the ledger, driven through the binary as a responder would.

use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;

mod common;
use common::*;

#[test]
fn a_case_moves_through_its_phases_and_keeps_its_notes() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    squall(h)
        .args([
            "case",
            "new",
            "--title",
            "Leaked CI key",
            "--severity",
            "high",
            "--format",
            "table",
        ])
        .assert()
        .success()
        .stdout("C-0001\n");
    squall(h)
        .args(["case", "note", "C-0001", "Key belongs to the CI pipeline"])
        .assert()
        .success();
    squall(h)
        .args(["case", "assign", "C-0001", "bob"])
        .assert()
        .success();
    squall(h)
        .args([
            "case",
            "task",
            "C-0001",
            "Rotate the CI key",
            "--owner",
            "carol",
        ])
        .assert()
        .success();
    squall(h)
        .args(["case", "task", "C-0001", "Ask the owner about the snapshot"])
        .assert()
        .success();
    squall(h)
        .args([
            "case",
            "done",
            "C-0001",
            "1",
            "--result",
            "rotated at 10:40",
        ])
        .assert()
        .success();
    squall(h)
        .args(["case", "done", "C-0001", "1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already done"));
    squall(h)
        .args([
            "case",
            "status",
            "C-0001",
            "contained",
            "--reason",
            "key disabled",
        ])
        .assert()
        .success();
    // Phases only move forward.
    squall(h)
        .args(["case", "status", "C-0001", "triaged"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("only move forward"));
    squall(h)
        .args(["case", "close", "C-0001", "--reason", "done"])
        .assert()
        .success();
    squall(h)
        .args(["case", "note", "C-0001", "too late"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("closed"));

    let shown = json_of(squall(h).args(["case", "show", "C-0001", "--format", "json"]));
    assert_eq!(shown["case"]["status"], "closed");
    assert_eq!(shown["case"]["owner"], "bob");
    assert_eq!(shown["case"]["severity"], "high");
    assert!(shown["case"]["contained_at"].is_string() && shown["case"]["closed_at"].is_string());
    assert!(shown["case"]["triaged_at"].is_null());
    assert_eq!(shown["notes"][0]["text"], "Key belongs to the CI pipeline");
    assert_eq!(shown["tasks"][0]["done"], true);
    assert_eq!(shown["tasks"][0]["owner"], "carol");
    assert_eq!(shown["tasks"][1]["done"], false);
    assert_eq!(shown["notes"][0]["actor"], "alice@ws1");
    let listed = json_of(squall(h).args(["case", "list", "--format", "json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    squall(h)
        .args(["case", "show", "C-0099"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no case C-0099"));
}

#[test]
fn hunt_attaches_each_detection_to_a_case_once() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    squall(h)
        .args([
            "hunt",
            "--new-case",
            "Example incident",
            "-q",
            "--format",
            "jsonl",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("C-0001: 10 detection(s) attached"));
    squall(h)
        .args(["hunt", "--case", "C-0001", "-q", "--format", "jsonl"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "0 detection(s) attached, 10 already attached",
        ));
    let shown = json_of(squall(h).args(["case", "show", "C-0001", "--format", "json"]));
    assert_eq!(shown["detections"].as_array().unwrap().len(), 10);
    let affected: Vec<&str> = shown["affected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account"].as_str().unwrap())
        .collect();
    assert_eq!(affected, vec!["111122223333", "acme-prod"]);
    assert_eq!(shown["case"]["severity"], "high");
    // The incident was identified when its first detection happened, not when the case opened.
    assert_eq!(shown["case"]["identified_at"], "2026-10-02T09:12:40.000Z");
    // Opened, two hunt runs, ten detections.
    assert_eq!(shown["case"]["head_seq"], 13);
    squall(h)
        .args(["hunt", "--case", "C-0404", "-q"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no case C-0404"));
}

#[test]
fn evidence_is_recorded_with_its_sha256() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    squall(h)
        .args(["case", "new", "--title", "Disk"])
        .assert()
        .success();
    let file = h.join("disk.raw");
    std::fs::write(&file, vec![7u8; 3 << 20]).unwrap();
    let out = squall(h)
        .args(["evidence", "add", "C-0001"])
        .arg(&file)
        .args([
            "--description",
            "root volume of i-0abc",
            "--source",
            "i-0abc",
        ])
        .assert()
        .success();
    let expected = {
        use sha2_check::digest;
        digest(&std::fs::read(&file).unwrap())
    };
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.starts_with(&expected), "{stdout} vs {expected}");
    let shown = json_of(squall(h).args(["case", "show", "C-0001", "--format", "json"]));
    assert_eq!(shown["evidence"][0]["sha256"], expected);
    assert_eq!(shown["evidence"][0]["size"], 3 << 20);
    assert_eq!(shown["evidence"][0]["added_by"], "alice@ws1");
    squall(h)
        .args([
            "evidence",
            "add",
            "C-0001",
            "/no/such/file",
            "--description",
            "x",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/no/such/file"));
}

/// `sha256sum` as the reference implementation for evidence hashes.
mod sha2_check {
    pub fn digest(bytes: &[u8]) -> String {
        use std::io::Write;
        let mut child = std::process::Command::new("sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sha256sum");
        child.stdin.take().unwrap().write_all(bytes).unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout)[..64].to_string()
    }
}

#[test]
fn an_exported_ledger_is_reverified_by_jq_and_sha256sum() {
    if std::process::Command::new("jq")
        .arg("--version")
        .output()
        .is_err()
    {
        skip_or_fail("jq is not installed; the README's third-party check needs it");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    squall(h)
        .args(["hunt", "--new-case", "-q", "--format", "jsonl"])
        .assert()
        .success();
    squall(h)
        .args([
            "case",
            "note",
            "C-0001",
            "odd text: tab\t quote\" back\\ é 🦀 del\u{7f} ctl\u{1}",
        ])
        .assert()
        .success();
    let export = h.join("ledger.jsonl");
    squall(h)
        .args(["ledger", "export", "C-0001", "-o"])
        .arg(&export)
        .assert()
        .success();
    // The README's algorithm, verbatim.
    let script = r#"
        prev=0000000000000000000000000000000000000000000000000000000000000000
        n=0
        while IFS= read -r line; do
          n=$((n+1))
          [ "$(jq -r .prev_hash <<<"$line")" = "$prev" ] || { echo "entry $n: broken link"; exit 1; }
          got=$(jq -cj '{seq,time,actor,kind,payload,prev_hash}' <<<"$line" | sha256sum | cut -d' ' -f1)
          [ "$(jq -r .hash <<<"$line")" = "$got" ] || { echo "entry $n: hash mismatch"; exit 1; }
          prev=$got
        done < "$1"
        echo "ok $n $prev"
    "#;
    let out = std::process::Command::new("bash")
        .args(["-c", script, "verify"])
        .arg(&export)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.starts_with("ok 13 "),
        "{stdout}"
    );
    let head = stdout.trim().rsplit(' ').next().unwrap().to_string();
    squall(h)
        .args(["ledger", "verify", "C-0001"])
        .assert()
        .success()
        .stdout(predicate::str::contains(&head));
}

#[test]
fn a_tampered_export_is_caught_and_the_entry_named() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    squall(h)
        .args(["hunt", "--new-case", "-q", "--format", "jsonl"])
        .assert()
        .success();
    let export = h.join("ledger.jsonl");
    squall(h)
        .args(["ledger", "export", "C-0001", "-o"])
        .arg(&export)
        .assert()
        .success();
    let text = std::fs::read_to_string(&export).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let head: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    let head = head["hash"].as_str().unwrap().to_string();
    let check = |content: String, expect_head: bool| {
        let f = h.join("tampered.jsonl");
        std::fs::write(&f, content).unwrap();
        let mut cmd = squall(h);
        cmd.args(["ledger", "verify", "--file"]).arg(&f);
        if expect_head {
            cmd.args(["--expect-head", &head]);
        }
        let out = cmd.assert().code(1);
        String::from_utf8_lossy(&out.get_output().stdout).to_string()
    };
    // A changed principal in the fourth entry.
    let mut changed = lines.clone();
    let edited = changed[3].replace("ci-deployer", "ci-deployex");
    changed[3] = &edited;
    assert!(check(changed.join("\n"), false).contains("entry 4 (seq 4)"));
    // The third entry removed.
    let mut removed = lines.clone();
    removed.remove(2);
    assert!(check(removed.join("\n"), false).contains("entry 3"));
    // Two entries swapped.
    let mut swapped = lines.clone();
    swapped.swap(5, 6);
    assert!(check(swapped.join("\n"), false).contains("entry 6"));
    // The last two cut off: only the recorded head tells.
    let cut = lines[..lines.len() - 2].join("\n");
    let f = h.join("cut.jsonl");
    std::fs::write(&f, &cut).unwrap();
    squall(h)
        .args(["ledger", "verify", "--file"])
        .arg(&f)
        .assert()
        .success();
    assert!(check(cut, true).contains("removed from the end"));
}

#[test]
fn several_processes_append_to_one_ledger_without_losing_or_breaking_entries() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    squall(h)
        .args(["case", "new", "--title", "Busy"])
        .assert()
        .success();
    let bin = assert_cmd::cargo::cargo_bin("squall");
    let children: Vec<_> = (0..6)
        .map(|i| {
            std::process::Command::new(&bin)
                .env("SQUALL_HOME", h)
                .env("SQUALL_ACTOR", format!("analyst{i}"))
                .args(["case", "note", "C-0001", &format!("note from analyst {i}")])
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let shown = json_of(squall(h).args(["case", "show", "C-0001", "--format", "json"]));
    assert_eq!(shown["notes"].as_array().unwrap().len(), 6);
    squall(h)
        .args(["ledger", "verify", "C-0001"])
        .assert()
        .success()
        .stdout(predicate::str::contains("intact, 7 entries"));
}

#[test]
fn kill_dash_nine_mid_write_leaves_the_store_consistent_and_loses_nothing_reported_done() {
    use std::io::Write as _;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    squall(h)
        .args(["case", "new", "--title", "Crash"])
        .assert()
        .success();
    // 4,000 detections: attaching them is one long transaction to interrupt.
    let logs = h.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut f = std::fs::File::create(logs.join("a.jsonl")).unwrap();
    for i in 0..4000 {
        writeln!(
            f,
            r#"{{"eventVersion":"1.09","eventTime":"2026-01-01T00:00:{:02}Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","eventID":"ev-{i}","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/x"}},"sourceIPAddress":"1.2.3.4","requestParameters":{{"name":"t"}}}}"#,
            i % 60
        )
        .unwrap();
    }
    drop(f);
    let bin = assert_cmd::cargo::cargo_bin("squall");
    let mut reported_done = Vec::new();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for round in 0..8 {
        let mut hunt = std::process::Command::new(&bin)
            .env("SQUALL_HOME", h)
            .args(["hunt", "--case", "C-0001", "-q", "--format", "jsonl"])
            .arg(&logs)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        std::thread::sleep(std::time::Duration::from_millis(20 + state % 800));
        let _ = hunt.kill(); // SIGKILL
        let _ = hunt.wait();
        // Work that reports success must survive whatever the next kill interrupts.
        let text = format!("note {round}");
        let ok = std::process::Command::new(&bin)
            .env("SQUALL_HOME", h)
            .args(["case", "note", "C-0001", &text])
            .status()
            .unwrap()
            .success();
        if ok {
            reported_done.push(text);
        }
        // After every kill the ledger is intact and the attachment is all or nothing.
        let shown = json_of(squall(h).args(["case", "show", "C-0001", "--format", "json"]));
        let attached = shown["detections"].as_array().unwrap().len();
        assert!(
            attached == 0 || attached == 4000,
            "round {round}: {attached} detections"
        );
        // The hunt's record and its detections land together: no record claiming
        // detections that were never attached, no detections without their hunt.
        let hunts = lines(squall(h).args(["ledger", "export", "C-0001"]))
            .iter()
            .filter(|e| e["kind"] == "hunt.run")
            .count();
        assert_eq!(
            hunts > 0,
            attached == 4000,
            "round {round}: {hunts} hunt record(s)"
        );
        squall(h)
            .args(["ledger", "verify", "C-0001"])
            .assert()
            .success();
    }
    let shown = json_of(squall(h).args(["case", "show", "C-0001", "--format", "json"]));
    let notes: Vec<_> = shown["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(notes, reported_done);
}

#[test]
fn triage_answers_from_the_inventory_and_names_whom_to_ask() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    squall(h)
        .args(["hunt", "--new-case", "Example", "-q", "--format", "jsonl"])
        .assert()
        .success();
    let inventory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/inventory.yaml");
    squall(h)
        .args(["inventory", "import"])
        .arg(&inventory)
        .assert()
        .success()
        .stderr(predicate::str::contains("3 account(s) imported"));
    let t = json_of(squall(h).args(["triage", "C-0001", "--format", "json"]));
    // High detections on a production account with card data and a VPN back to corp.
    assert_eq!(t["severity"], "critical");
    let reasons: Vec<&str> = t["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"111122223333 is production"),
        "{reasons:?}"
    );
    assert!(reasons.contains(&"111122223333 can reach the corporate network"));
    let shop = t["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "111122223333")
        .unwrap();
    assert_eq!(shop["possible_shadow_it"], false);
    let answer = |q: &str| {
        shop["answers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["question"] == q)
            .map(|a| a["answer"].as_str().unwrap().to_string())
    };
    assert_eq!(answer("Production or test?").as_deref(), Some("prod"));
    assert_eq!(
        answer("Can it reach other accounts or projects?").as_deref(),
        Some("yes: 444455556666")
    );
    assert!(
        answer("Where is it, and which data-protection law applies?")
            .unwrap()
            .contains("Germany, EU/EEA (GDPR)")
    );
    // The GCP project is not in the inventory: shadow IT, every question open.
    let gcp = t["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "acme-prod")
        .unwrap();
    assert_eq!(gcp["possible_shadow_it"], true);
    assert_eq!(gcp["questions"].as_array().unwrap().len(), 5);
    // Recorded: the case is triaged with that severity, and the ledger says why.
    let shown = json_of(squall(h).args(["case", "show", "C-0001", "--format", "json"]));
    assert_eq!(shown["case"]["status"], "triaged");
    assert_eq!(shown["case"]["severity"], "critical");
    let out = squall(h)
        .args(["ledger", "export", "C-0001"])
        .assert()
        .success();
    let last = String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .last()
        .unwrap()
        .to_string();
    let last: Value = serde_json::from_str(&last).unwrap();
    assert_eq!(last["kind"], "case.triaged");
    assert_eq!(last["payload"]["severity"], "critical");
}

#[test]
fn a_bad_inventory_names_file_line_and_field_and_changes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let bad = h.join("inventory.yaml");
    std::fs::write(&bad, "accounts:\n  - id: '1'\n    provider: aws\n  - id: '2'\n    provider: aws\n    env: production\n").unwrap();
    squall(h)
        .args(["inventory", "import"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("inventory.yaml:6:")
                .and(predicate::str::contains("production")),
        );
    let toml = h.join("inventory.toml");
    std::fs::write(
        &toml,
        "[[accounts]]\nid = '1'\nprovider = 'aws'\ndata = ['pii', 'gold']\n",
    )
    .unwrap();
    squall(h)
        .args(["inventory", "import"])
        .arg(&toml)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("inventory.toml:4").and(predicate::str::contains("gold")));
    let listed = json_of(squall(h).args(["inventory", "list", "--format", "json"]));
    assert_eq!(listed.as_array().unwrap().len(), 0);
}

#[test]
fn the_postmortem_tells_the_case_from_detection_to_lessons() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    squall(h)
        .args([
            "hunt",
            "--new-case",
            "Leaked CI key",
            "-q",
            "--format",
            "jsonl",
        ])
        .assert()
        .success();
    squall(h)
        .args([
            "case",
            "status",
            "C-0001",
            "contained",
            "--reason",
            "CI key disabled",
        ])
        .assert()
        .success();
    squall(h)
        .args([
            "case",
            "note",
            "C-0001",
            "Replace CI keys with OIDC roles",
            "--lesson",
        ])
        .assert()
        .success();
    squall(h)
        .args([
            "case",
            "note",
            "C-0001",
            "Owner confirmed the key was only used by CI",
        ])
        .assert()
        .success();
    let file = h.join("disk.raw");
    std::fs::write(&file, b"evidence <bytes>").unwrap();
    squall(h)
        .args(["evidence", "add", "C-0001"])
        .arg(&file)
        .args(["--description", "a <disk> & more"])
        .assert()
        .success();
    squall(h)
        .args(["case", "status", "C-0001", "recovered"])
        .assert()
        .success();
    squall(h)
        .args(["case", "close", "C-0001"])
        .assert()
        .success();

    let out = squall(h).args(["report", "C-0001"]).assert().success();
    let md = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for section in [
        "## Summary",
        "## Durations",
        "## Attacker timeline",
        "## Response timeline",
        "## Detections",
        "## Evidence",
        "## Actions",
        "## Lessons learned",
    ] {
        assert!(md.contains(section), "missing {section}");
    }
    assert!(md.contains("Time to detect (first malicious event → case opened)"));
    assert!(
        md.contains("| Total (case opened → closed) |")
            && !md.contains("| Total (case opened → closed) | — |")
    );
    assert!(
        md.contains("iam:ListUsers"),
        "attacker activity that no rule flagged"
    );
    assert!(
        md.contains("contained (CI key disabled)"),
        "response timeline from the ledger"
    );
    assert!(
        md.contains("- Replace CI keys with OIDC roles"),
        "lessons from --lesson notes"
    );
    assert!(
        md.contains("note: Owner confirmed"),
        "ordinary notes stay in the response timeline"
    );
    assert!(md.contains("verified, head seq"));

    let html_file = h.join("report.html");
    squall(h)
        .args(["report", "C-0001", "--format", "html", "-o"])
        .arg(&html_file)
        .assert()
        .success();
    let html = std::fs::read_to_string(&html_file).unwrap();
    assert!(
        html.to_ascii_lowercase().starts_with("<!doctype html>")
            && html.contains("<h2>Lessons learned</h2>")
    );
    assert!(
        html.contains("a &lt;disk&gt; &amp; more"),
        "data is escaped"
    );
    for needle in ["src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(needle), "external resource: {needle}");
    }
}

#[test]
fn signed_entries_show_who_vouched_for_them() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let key = h.join("alice.key");
    let out = squall(h)
        .args(["key", "generate", "-o"])
        .arg(&key)
        .assert()
        .success();
    let public = String::from_utf8_lossy(&out.get_output().stdout)
        .trim()
        .to_string();
    assert_eq!(public.len(), 64);
    squall(h)
        .args(["key", "generate", "-o"])
        .arg(&key)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("never overwritten"));
    let signed = |args: &[&str]| {
        let mut cmd = squall(h);
        cmd.arg("--sign-key").arg(&key).args(args);
        cmd
    };
    signed(&["case", "new", "--title", "Signed"])
        .assert()
        .success();
    signed(&["case", "note", "C-0001", "seen by alice"])
        .assert()
        .success();
    signed(&[
        "ledger",
        "verify",
        "C-0001",
        "--require-signed",
        "--signer",
        &public,
    ])
    .assert()
    .success()
    .stdout(predicate::str::contains("2 entries (2 signed)"));
    // Someone else's key is not accepted when the signers are named.
    let other = h.join("bob.key");
    let out = squall(h)
        .args(["key", "generate", "-o"])
        .arg(&other)
        .assert()
        .success();
    let bob = String::from_utf8_lossy(&out.get_output().stdout)
        .trim()
        .to_string();
    squall(h)
        .args(["ledger", "verify", "C-0001", "--signer", &bob])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("not given with --signer"));
    // An unsigned entry fails --require-signed, and names the entry.
    squall(h)
        .args(["case", "note", "C-0001", "unsigned"])
        .assert()
        .success();
    squall(h)
        .args(["ledger", "verify", "C-0001", "--require-signed"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("entry 3 (seq 3): not signed"));
    // A forged signature in an export is caught at its entry.
    let export = h.join("ledger.jsonl");
    squall(h)
        .args(["ledger", "export", "C-0001", "-o"])
        .arg(&export)
        .assert()
        .success();
    let text = std::fs::read_to_string(&export).unwrap();
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sig = lines[1]["signature"].as_str().unwrap().to_string();
    let flipped = format!(
        "{}{}",
        if sig.starts_with('0') { "1" } else { "0" },
        &sig[1..]
    );
    lines[1]["signature"] = Value::String(flipped);
    let forged = lines
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&export, forged).unwrap();
    squall(h)
        .args(["ledger", "verify", "--file"])
        .arg(&export)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("entry 2 (seq 2): bad signature"));
}

#[test]
fn without_user_in_the_environment_the_ledger_names_the_os_account() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let out = std::process::Command::new("id").arg("-un").output();
    let Some(account) = out
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    else {
        return; // no `id` here to say what the account is called
    };
    squall(h)
        .env_remove("SQUALL_ACTOR")
        .env_remove("USER")
        .env_remove("USERNAME")
        .args(["case", "new", "--title", "t"])
        .assert()
        .success();
    let export = squall(h)
        .args(["ledger", "export", "C-0001"])
        .output()
        .unwrap();
    let entry: serde_json::Value =
        serde_json::from_slice(export.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    let actor = entry["actor"].as_str().unwrap();
    assert!(actor.starts_with(&format!("{account}@")), "{actor}");
}

#[test]
fn case_show_numbers_detections_as_timeline_around_counts_them() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    squall(h)
        .args(["hunt", "--new-case", "Example", "-q", "--format", "jsonl"])
        .assert()
        .success();
    let show = squall(h)
        .args(["case", "show", "C-0001", "--format", "table"])
        .output()
        .unwrap();
    let show = String::from_utf8(show.stdout).unwrap();
    let json = json_of(squall(h).args(["case", "show", "C-0001", "--format", "json"]));
    let detections = json["detections"].as_array().unwrap();
    // Detection N in the table is the one `timeline --around N` centres on.
    let n = detections.len();
    let last_time = detections[n - 1]["event_time"].as_str().unwrap();
    let numbered = show
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("#{n} ")))
        .unwrap_or_else(|| panic!("no #{n} in\n{show}"));
    assert!(numbered.contains(last_time), "{numbered}");
    assert!(show.contains("  #1 "), "{show}");
}

#[test]
fn recovering_with_open_tasks_warns_strict_refuses_and_the_report_lists_them() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    squall(h)
        .args(["case", "new", "--title", "Leaked key"])
        .assert()
        .success();
    for (text, owner) in [
        ("Rotate the CI key", Some("carol")),
        ("Ask <b>the</b> owner | about `snap`", None),
    ] {
        let mut cmd = squall(h);
        cmd.args(["case", "task", "C-0001", text]);
        if let Some(owner) = owner {
            cmd.args(["--owner", owner]);
        }
        cmd.assert().success();
    }
    squall(h)
        .args(["case", "done", "C-0001", "1", "--result", "rotated"])
        .assert()
        .success();
    squall(h)
        .args(["case", "status", "C-0001", "contained"])
        .assert()
        .success()
        .stderr(predicate::str::contains("warning").not());
    // --strict refuses, names the open task, and records nothing.
    squall(h)
        .args(["case", "status", "C-0001", "recovered", "--strict"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("not moved to recovered")
                .and(predicate::str::contains("#2 \"Ask <b>the</b> owner"))
                .and(predicate::str::contains("#1").not()),
        );
    let shown = json_of(squall(h).args(["case", "show", "C-0001", "--format", "json"]));
    assert_eq!(shown["case"]["status"], "contained");
    // Without it the case moves on, with a warning naming the task.
    squall(h)
        .args(["case", "status", "C-0001", "recovered"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("warning: C-0001: recovered with 1 task(s) still open: #2")
                .and(predicate::str::contains("Ask <b>the</b> owner")),
        );
    let out = squall(h).args(["report", "C-0001"]).assert().success();
    let md = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let section = md
        .split("## Open tasks")
        .nth(1)
        .expect("an open-tasks section")
        .split("\n## ")
        .next()
        .unwrap();
    assert!(section.contains("task 2: Ask"), "{section}");
    assert!(
        !section.contains("Rotate the CI key"),
        "a done task: {section}"
    );
    assert!(
        !section.contains("<b>") && !squall_core::text::unescaped(section, '|'),
        "task text is escaped: {section}"
    );
    let html = String::from_utf8_lossy(
        &squall(h)
            .args(["report", "C-0001", "--format", "html"])
            .assert()
            .success()
            .get_output()
            .stdout,
    )
    .to_string();
    assert!(html.contains("<h2>Open tasks</h2>"), "{html}");
    assert!(html.contains("Ask &lt;b&gt;the&lt;/b&gt; owner"), "{html}");
    // Once it is done, the section goes.
    squall(h)
        .args(["case", "done", "C-0001", "2", "--result", "asked"])
        .assert()
        .success();
    let out = squall(h).args(["report", "C-0001"]).assert().success();
    assert!(!String::from_utf8_lossy(&out.get_output().stdout).contains("## Open tasks"));
}

#[test]
fn evidence_and_inventory_given_by_relative_paths_are_recorded_absolute() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let work = h.join("work");
    std::fs::create_dir_all(work.join("acq")).unwrap();
    std::fs::write(work.join("acq/disk.raw"), b"evidence bytes").unwrap();
    std::fs::write(
        work.join("inventory.yaml"),
        "accounts:\n  - id: '111122223333'\n    provider: aws\n    env: prod\n",
    )
    .unwrap();
    squall(h)
        .args(["case", "new", "--title", "Disk"])
        .assert()
        .success();
    squall(h)
        .current_dir(&work)
        .args(["evidence", "add", "C-0001", "acq/../acq/disk.raw"])
        .args(["--description", "root volume"])
        .assert()
        .success();
    let canonical = std::fs::canonicalize(work.join("acq/disk.raw")).unwrap();
    // Read from another folder, the case names the same file.
    let shown = json_of(
        squall(h)
            .current_dir("/")
            .args(["case", "show", "C-0001", "--format", "json"]),
    );
    assert_eq!(
        shown["evidence"][0]["path"],
        canonical.display().to_string()
    );
    assert_eq!(
        shown["evidence"][0]["stored_at"],
        canonical.display().to_string()
    );
    // A file that is not there is said to be missing, and nothing is recorded.
    squall(h)
        .current_dir(&work)
        .args(["evidence", "add", "C-0001", "acq/memory.lime"])
        .args(["--description", "x"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("acq/memory.lime does not exist").and(
                predicate::str::contains(work.join("acq/memory.lime").display().to_string()),
            ),
        );
    let shown = json_of(squall(h).args(["case", "show", "C-0001", "--format", "json"]));
    assert_eq!(shown["evidence"].as_array().unwrap().len(), 1);

    // The inventory's log names the file it came from by its absolute path.
    squall(h)
        .current_dir(&work)
        .args(["inventory", "import", "inventory.yaml"])
        .assert()
        .success();
    let db = rusqlite::Connection::open(h.join("squall.db")).unwrap();
    let payload: String = db
        .query_row(
            "SELECT payload FROM inventory_log WHERE kind = 'inventory.imported'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let payload: Value = serde_json::from_str(&payload).unwrap();
    let inventory = std::fs::canonicalize(work.join("inventory.yaml")).unwrap();
    assert_eq!(payload["source"], inventory.display().to_string());
}

#[test]
fn triage_answers_production_from_the_tags_of_the_instance_the_case_touches() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let event = serde_json::json!({"eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/dana",
                         "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLEKEY00001",
                         "userName": "dana"},
        "eventTime": "2026-10-02T09:14:07Z", "eventSource": "ec2-instance-connect.amazonaws.com",
        "eventName": "SendSSHPublicKey", "awsRegion": "eu-central-1",
        "sourceIPAddress": "198.51.100.23", "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"instanceId": "i-0abc", "instanceOSUser": "ec2-user"},
        "responseElements": null, "eventID": "0b9f6d1e-6a52-4b7e-8d3c-2f1a9e8b7c6d",
        "eventType": "AwsApiCall", "recipientAccountId": "111122223333"});
    let log = h.join("trail.jsonl");
    std::fs::write(&log, format!("{event}\n")).unwrap();
    squall(h)
        .args([
            "hunt",
            "--new-case",
            "Instance Connect",
            "-q",
            "--format",
            "jsonl",
        ])
        .arg(&log)
        .assert()
        .success();
    // The account's record says nothing of its environment; the instance's tag does.
    let inventory = h.join("inventory.yaml");
    std::fs::write(
        &inventory,
        "accounts:\n  - id: '111122223333'\n    provider: aws\n    owner: shop team\n\
         resources:\n  - provider: aws\n    account: '111122223333'\n    id: i-0abc\n    \
         kind: instance\n    tags: {Environment: prod, Owner: shop}\n",
    )
    .unwrap();
    squall(h)
        .args(["inventory", "import"])
        .arg(&inventory)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "1 account(s) and 1 resource(s) imported",
        ));
    let t = json_of(squall(h).args(["triage", "C-0001", "--format", "json"]));
    let account = &t["assets"][0];
    assert_eq!(account["id"], "111122223333");
    let env = account["answers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["question"] == "Production or test?");
    assert_eq!(
        env.map(|a| &a["answer"]),
        Some(&Value::from(
            "production (tag Environment=prod on instance i-0abc)"
        )),
        "{t}"
    );
    assert!(
        account["questions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|q| q["question"] != "Production or test?"),
        "not asked when a tag answers it: {t}"
    );
    assert!(
        t["reasons"].as_array().unwrap().contains(&Value::from(
            "111122223333: tag Environment=prod on instance i-0abc says production"
        )),
        "{t}"
    );
}

//! Containment and release on Google Cloud, against the stateful fake of Google's REST
//! endpoints (`squall-gcp-fake`; Google has no emulator for Compute). Squall reaches it
//! through the official clients' endpoint setting with real Application Default Credentials
//! (a user login whose token endpoint is the fake) and real impersonation; each story checks
//! the fake's state afterwards, not Squall's own reading of it.

mod common;

use assert_cmd::Command;
use serde_json::Value;
use squall_gcp_fake::{Fake, Fault};

const PROJECT: &str = "acme-prod";
const ZONE: &str = "europe-west1-b";
const WEB: &str = "projects/acme-prod/zones/europe-west1-b/instances/web-1";

struct Setup {
    fake: Fake,
    home: tempfile::TempDir,
    adc: tempfile::TempDir,
}

impl Setup {
    /// A fake with two instances (web-1 and its neighbour web-2, sharing the tag `web` and the
    /// service account) and a world-open SSH rule on `web`; case C-0001 opened.
    fn new() -> Setup {
        let fake = Fake::start();
        fake.add_instance(PROJECT, ZONE, "web-1");
        fake.add_instance(PROJECT, ZONE, "web-2");
        let s = Setup {
            fake,
            home: tempfile::tempdir().unwrap(),
            adc: tempfile::tempdir().unwrap(),
        };
        s.squall()
            .args(["case", "new", "--title", "Compromised web server"])
            .assert()
            .success();
        s
    }

    fn squall(&self) -> Command {
        let adc = self.fake.write_adc(self.adc.path());
        let mut cmd = common::squall(self.home.path());
        cmd.env("GOOGLE_APPLICATION_CREDENTIALS", adc)
            .env("SQUALL_GCP_ENDPOINT", &self.fake.url)
            .env("CLOUDSDK_CONFIG", "/nonexistent/gcloud")
            .env("NO_PROXY", "127.0.0.1")
            .env_remove("CLOUDSDK_CORE_PROJECT")
            .env_remove("CLOUDSDK_COMPUTE_ZONE")
            .env_remove("SQUALL_GCP_IMPERSONATE")
            .env_remove("GCE_METADATA_HOST");
        cmd
    }

    fn run(&self, args: &[&str]) -> (Vec<Value>, String, i32) {
        let out = self
            .squall()
            .args(args)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let outcomes = serde_json::from_slice(&out.stdout).unwrap_or_default();
        (
            outcomes,
            String::from_utf8_lossy(&out.stderr).to_string(),
            out.status.code().unwrap_or(-1),
        )
    }

    /// Writes audit log entries to a file and hunts them into case C-0001.
    fn hunt(&self, entries: &[Value]) {
        let log = self.home.path().join("audit.jsonl");
        let lines: Vec<String> = entries.iter().map(Value::to_string).collect();
        std::fs::write(&log, lines.join("\n")).unwrap();
        self.squall()
            .args(["hunt", "--case", "C-0001", "-q", "--format", "jsonl"])
            .arg(&log)
            .assert()
            .success();
    }

    fn ledger(&self) -> Vec<Value> {
        common::lines(self.squall().args(["ledger", "export", "C-0001"]))
    }

    fn mutations(&self) -> usize {
        self.fake
            .calls()
            .iter()
            // getIamPolicy is a POST that reads.
            .filter(|c| c.method != "GET" && c.path != "/token" && !c.path.contains(":generate"))
            .filter(|c| !c.path.contains(":getIamPolicy"))
            .count()
    }
}

fn status(outcomes: &[Value]) -> Vec<&str> {
    outcomes
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect()
}

fn tags(i: &Value) -> Vec<String> {
    i["tags"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn isolation_cuts_one_instance_off_and_release_puts_it_back() {
    let s = Setup::new();
    let before = s.fake.instance(WEB).unwrap();
    // A static address: Google gives it back on release (an ephemeral one it does not).
    s.fake.reserve_static_address(
        before["networkInterfaces"][0]["accessConfigs"][0]["natIP"]
            .as_str()
            .unwrap(),
    );
    let neighbour = s
        .fake
        .instance("projects/acme-prod/zones/europe-west1-b/instances/web-2")
        .unwrap();

    // The plan alone changes nothing.
    let (planned, err, code) = s.run(&[
        "contain",
        "gcp",
        "instance",
        WEB,
        "--case",
        "C-0001",
        "--isolate",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&planned), ["planned"]);
    assert_eq!(s.mutations(), 0, "{:?}", s.fake.calls());
    assert!(err.contains("deny-all rules"), "{err}");

    let (done, err, code) = s.run(&[
        "contain",
        "gcp",
        "instance",
        "web-1",
        "--project",
        PROJECT,
        "--zone",
        ZONE,
        "--case",
        "C-0001",
        "--isolate",
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&done), ["verified"], "{done:?}");
    let after = s.fake.instance(WEB).unwrap();
    let tag = tags(&after)
        .into_iter()
        .find(|t| t.starts_with("squall-iso-"))
        .expect("the isolation tag");
    assert_eq!(tags(&after), ["web".to_string(), tag.clone()]);
    assert_eq!(
        after["networkInterfaces"][0]["accessConfigs"],
        serde_json::json!([])
    );
    assert_eq!(after["deletionProtection"], true);
    let rules: Vec<Value> = s
        .fake
        .firewalls(PROJECT)
        .into_iter()
        .filter(|r| r["targetTags"] == serde_json::json!([tag]))
        .collect();
    assert_eq!(rules.len(), 4, "{rules:?}");
    for r in &rules {
        assert_eq!(r["priority"], 0);
        assert_eq!(r["denied"], serde_json::json!([{"IPProtocol": "all"}]));
        assert!(r["allowed"].is_null());
    }
    let mut ways: Vec<(String, String)> = rules
        .iter()
        .map(|r| {
            let range = r["sourceRanges"]
                .as_array()
                .or(r["destinationRanges"].as_array())
                .unwrap()[0]
                .as_str()
                .unwrap()
                .to_string();
            (r["direction"].as_str().unwrap().to_string(), range)
        })
        .collect();
    ways.sort();
    assert_eq!(
        ways,
        [
            ("EGRESS".to_string(), "0.0.0.0/0".to_string()),
            ("EGRESS".to_string(), "::/0".to_string()),
            ("INGRESS".to_string(), "0.0.0.0/0".to_string()),
            ("INGRESS".to_string(), "::/0".to_string()),
        ]
    );
    // The neighbour shares the service account and the `web` tag: untouched.
    assert_eq!(
        s.fake
            .instance("projects/acme-prod/zones/europe-west1-b/instances/web-2")
            .unwrap(),
        neighbour
    );
    // Everything was asked as the ADC user, through a token from the fake's OAuth endpoint.
    assert!(!s.fake.calls_to("POST /token").is_empty());
    assert!(
        s.fake
            .calls_to("/compute/")
            .iter()
            .all(|c| c.principal == "user:responder@example.com")
    );

    // The same command again: nothing to do, nothing changed, recorded as such.
    let mutations = s.mutations();
    let (again, err, _) = s.run(&[
        "contain",
        "gcp",
        "instance",
        WEB,
        "--case",
        "C-0001",
        "--isolate",
        "--yes",
    ]);
    assert_eq!(status(&again), ["unchanged"], "{err}");
    assert_eq!(s.mutations(), mutations);

    let (released, err, code) = s.run(&[
        "release", "gcp", "instance", WEB, "--case", "C-0001", "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&released), ["verified"], "{released:?}");
    let back = s.fake.instance(WEB).unwrap();
    assert_eq!(tags(&back), ["web"]);
    assert_eq!(back["deletionProtection"], false);
    assert_eq!(
        back["networkInterfaces"][0]["accessConfigs"][0]["natIP"],
        before["networkInterfaces"][0]["accessConfigs"][0]["natIP"]
    );
    assert!(
        s.fake
            .firewalls(PROJECT)
            .iter()
            .all(|r| r["targetTags"] != serde_json::json!([tag]))
    );

    let kinds: Vec<String> = s
        .ledger()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    for k in ["action.planned", "action.executed", "action.verified"] {
        assert!(kinds.iter().any(|x| x == k), "{kinds:?}");
    }
    s.squall()
        .args(["ledger", "verify", "C-0001"])
        .assert()
        .success();
}

#[test]
fn an_organization_policy_that_lets_traffic_in_fails_the_isolation() {
    let s = Setup::new();
    s.fake
        .add_org_policy_rule(PROJECT, 1000, "allow", "INGRESS", &["35.235.240.0/20"]);
    let (out, err, code) = s.run(&[
        "contain",
        "gcp",
        "instance",
        WEB,
        "--case",
        "C-0001",
        "--isolate",
        "--yes",
    ]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(status(&out), ["failed"]);
    assert!(err.contains("35.235.240.0/20"), "{err}");
    let failed = s
        .ledger()
        .into_iter()
        .find(|e| e["kind"] == "action.failed")
        .expect("the failure recorded");
    let observed = failed["payload"]["observed"].to_string();
    assert!(observed.contains("org-baseline"), "{failed}");
}

#[test]
fn throttling_is_retried_and_a_failed_operation_is_recorded_then_converges() {
    let s = Setup::new();
    s.fake.inject(Fault::throttle("setTags", 3));
    s.fake.inject(Fault::failed_operation(
        "deleteAccessConfig",
        "Internal error: the access config could not be removed",
    ));
    let (out, err, code) = s.run(&[
        "contain",
        "gcp",
        "instance",
        WEB,
        "--case",
        "C-0001",
        "--isolate",
        "--yes",
    ]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(status(&out), ["failed"]);
    assert!(err.contains("could not be removed"), "{err}");
    let set_tags: Vec<u16> = s
        .fake
        .calls_to("setTags")
        .iter()
        .map(|c| c.status)
        .collect();
    assert_eq!(set_tags, [429, 429, 429, 200]);
    assert!(s.ledger().iter().any(|e| {
        e["kind"] == "action.failed"
            && e["payload"]["error"]
                .as_str()
                .unwrap_or_default()
                .contains("could not be removed")
    }));

    // The next run finishes the job and keeps what the instance had before the first one.
    let (out, err, code) = s.run(&[
        "contain",
        "gcp",
        "instance",
        WEB,
        "--case",
        "C-0001",
        "--isolate",
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified"]);
    let (out, err, code) = s.run(&[
        "release", "gcp", "instance", WEB, "--case", "C-0001", "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified"]);
    let back = s.fake.instance(WEB).unwrap();
    assert_eq!(tags(&back), ["web"]);
    assert_eq!(back["deletionProtection"], false);
    // The ephemeral address went back to Google with the isolation: a new one is taken, and
    // the ledger says so.
    assert!(back["networkInterfaces"][0]["accessConfigs"][0]["natIP"].is_string());
    let executed = s
        .ledger()
        .into_iter()
        .rev()
        .find(|e| e["kind"] == "action.executed")
        .unwrap();
    assert!(
        executed.to_string().contains("\"new_address\":true"),
        "{executed}"
    );
}

#[test]
fn a_change_whose_answer_was_lost_is_retried_without_being_made_twice() {
    let s = Setup::new();
    // setTags is carried out, but the answer is a 503: the retry carries the same request id.
    s.fake.inject(Fault::lost_answer("setTags", 1));
    let (out, err, code) = s.run(&[
        "contain",
        "gcp",
        "instance",
        WEB,
        "--case",
        "C-0001",
        "--isolate",
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified"]);
    let calls = s.fake.calls_to("setTags");
    let answers: Vec<u16> = calls.iter().map(|c| c.status).collect();
    // Without the request id, the second try would have met a new fingerprint (412).
    assert_eq!(answers, [503, 200]);
    let ids: Vec<&str> = calls
        .iter()
        .map(|c| {
            c.path
                .split("requestId=")
                .nth(1)
                .unwrap_or("")
                .split('&')
                .next()
                .unwrap()
        })
        .collect();
    assert!(!ids[0].is_empty() && ids[0] == ids[1], "{ids:?}");
}

#[test]
fn impersonation_acts_as_the_response_account_and_a_refusal_is_plain() {
    let s = Setup::new();
    let sa = "ir-responder@acme-security.iam.gserviceaccount.com";
    s.fake.allow_impersonation(sa);
    let (out, err, code) = s.run(&[
        "contain",
        "gcp",
        "instance",
        WEB,
        "--case",
        "C-0001",
        "--suspend",
        "--yes",
        "--impersonate",
        sa,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified"]);
    assert_eq!(s.fake.instance(WEB).unwrap()["status"], "SUSPENDED");
    let minted = s.fake.calls_to(":generateAccessToken");
    assert!(!minted.is_empty());
    assert!(
        minted
            .iter()
            .all(|c| c.principal == "user:responder@example.com")
    );
    assert!(
        s.fake
            .calls_to("/compute/")
            .iter()
            .all(|c| c.principal == format!("serviceAccount:{sa}"))
    );

    // An account the user may not impersonate: the permission named, nothing changed.
    let mutations = s.mutations();
    let other = "someone-else@acme-security.iam.gserviceaccount.com";
    let (out, err, code) = s.run(&[
        "contain",
        "gcp",
        "instance",
        WEB,
        "--case",
        "C-0001",
        "--stop",
        "--yes",
        "--impersonate",
        other,
    ]);
    // One error before anything is planned, not one per resource.
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out:?}");
    assert!(
        err.contains("getAccessToken") && err.contains("Token Creator"),
        "{err}"
    );
    assert_eq!(s.mutations(), mutations);
    assert_eq!(s.fake.instance(WEB).unwrap()["status"], "SUSPENDED");
}

#[test]
fn suspending_twice_converges_and_a_stopped_instance_cannot_be_suspended() {
    let s = Setup::new();
    let (out, err, _) = s.run(&[
        "contain",
        "gcp",
        "instance",
        WEB,
        "--case",
        "C-0001",
        "--suspend",
        "--yes",
    ]);
    assert_eq!(status(&out), ["verified"], "{err}");
    let (out, _, _) = s.run(&[
        "contain",
        "gcp",
        "instance",
        WEB,
        "--case",
        "C-0001",
        "--suspend",
        "--yes",
    ]);
    assert_eq!(status(&out), ["unchanged"]);
    let (out, err, _) = s.run(&[
        "contain", "gcp", "instance", WEB, "--case", "C-0001", "--stop", "--yes",
    ]);
    assert_eq!(status(&out), ["verified"], "{err}");
    assert_eq!(s.fake.instance(WEB).unwrap()["status"], "TERMINATED");
    let (out, err, code) = s.run(&[
        "contain",
        "gcp",
        "instance",
        WEB,
        "--case",
        "C-0001",
        "--suspend",
        "--yes",
    ]);
    assert_eq!(code, 3);
    assert_eq!(status(&out), ["failed"]);
    assert!(err.contains("TERMINATED"), "{err}");
}

#[test]
fn unknown_and_hostile_instance_names_are_named_and_refused() {
    let s = Setup::new();
    let missing = "projects/acme-prod/zones/europe-west1-b/instances/gone";
    let (out, err, code) = s.run(&[
        "contain", "gcp", "instance", missing, WEB, "--case", "C-0001", "--stop", "--yes",
    ]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(status(&out), ["failed", "verified"]);
    assert!(err.contains("gone") && err.contains("404"), "{err}");

    let hostile = "projects/acme-prod/zones/europe-west1-b/instances/x\u{1b}]0;pwned\u{7}";
    let out = s
        .squall()
        .args([
            "contain",
            "gcp",
            "instance",
            hostile,
            "--case",
            "C-0001",
            "--isolate",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err}");
    assert!(err.contains("not an instance name"), "{err}");
}

#[test]
fn release_without_an_isolation_in_the_case_is_refused() {
    let s = Setup::new();
    let out = s
        .squall()
        .args([
            "release", "gcp", "instance", WEB, "--case", "C-0001", "--yes",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no isolation"));
    assert_eq!(s.mutations(), 0);
}

#[test]
fn a_service_account_is_disabled_with_its_user_keys_and_one_key_alone_can_be() {
    let s = Setup::new();
    let app = s.fake.add_service_account(PROJECT, "app");
    let leaked = s.fake.add_key(&app, true);
    let other = s.fake.add_key(&app, true);
    let google = s.fake.add_key(&app, false);
    let ci = s.fake.add_service_account(PROJECT, "ci");
    let ci_key = s.fake.add_key(&ci, true);

    // One key first: only it.
    let (out, err, code) = s.run(&[
        "contain", "gcp", "sa-key", &leaked, "--case", "C-0001", "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified"]);
    assert_eq!(s.fake.key(&leaked).unwrap()["disabled"], true);
    assert!(s.fake.key(&other).unwrap()["disabled"].is_null());

    let (out, err, code) = s.run(&[
        "contain",
        "gcp",
        "service-account",
        &app,
        "--case",
        "C-0001",
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified"]);
    assert_eq!(s.fake.service_account(&app).unwrap()["disabled"], true);
    assert_eq!(
        s.fake.key(&other).unwrap()["disabled"],
        true,
        "{:?}",
        s.fake.calls_to("keys")
    );
    // Google's own key is not the user's to disable; another account is untouched.
    assert!(s.fake.key(&google).unwrap()["disabled"].is_null());
    assert!(s.fake.service_account(&ci).unwrap()["disabled"].is_null());
    assert!(s.fake.key(&ci_key).unwrap()["disabled"].is_null());

    let (out, _, _) = s.run(&[
        "contain",
        "gcp",
        "service-account",
        &app,
        "--case",
        "C-0001",
        "--yes",
    ]);
    assert_eq!(status(&out), ["unchanged"]);
}

#[test]
fn ssh_keys_are_removed_with_their_bodies_recorded_and_project_keys_blocked() {
    let s = Setup::new();
    let body = "backdoor:ssh-ed25519 AAAAC3Nza attacker@\u{1b}[31mbox";
    s.fake.edit_instance(WEB, |i| {
        i["metadata"]["items"] = serde_json::json!([
            {"key": "ssh-keys", "value": format!("alice:ssh-ed25519 AAAA alice\n{body}")},
            {"key": "startup-script", "value": "echo hi"},
        ]);
    });
    s.fake.set_project_metadata(
        PROJECT,
        &[("ssh-keys", "backdoor:ssh-rsa BBBB x\nops:ssh-rsa CCCC ops")],
    );
    let (out, err, code) = s.run(&[
        "contain",
        "gcp",
        "ssh-keys",
        WEB,
        "--user",
        "backdoor",
        "--project-wide",
        "--case",
        "C-0001",
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified", "verified"]);
    let items = s.fake.instance(WEB).unwrap()["metadata"]["items"].clone();
    assert_eq!(
        items,
        serde_json::json!([
            {"key": "ssh-keys", "value": "alice:ssh-ed25519 AAAA alice"},
            {"key": "startup-script", "value": "echo hi"},
            {"key": "block-project-ssh-keys", "value": "TRUE"},
        ])
    );
    assert_eq!(
        s.fake.project_metadata(PROJECT).unwrap()["items"],
        serde_json::json!([{"key": "ssh-keys", "value": "ops:ssh-rsa CCCC ops"}])
    );
    // The removed line's body is in the ledger, as it was; the terminal never saw its escape.
    let planned = s
        .ledger()
        .into_iter()
        .find(|e| {
            e["kind"] == "action.planned" && e["payload"]["plan"]["action"] == "remove-ssh-keys"
        })
        .unwrap();
    assert!(planned.to_string().contains("attacker@"), "{planned}");
    assert!(!err.contains('\u{1b}'), "{err}");
}

/// The bundled example's GCP audit entries (the project's own invented incident).
fn example_entries() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/logs/gcp/cloudaudit.googleapis.com/activity/2026/10/02/09:00:00_09:59:59_S0.json"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn audit_logs_are_collected_hour_by_hour_into_evidence_and_hunted_from_the_case() {
    let s = Setup::new();
    let entries = example_entries();
    let n = entries.len();
    s.fake.add_log_entries(PROJECT, entries);
    // Another project's entries are not this collection's.
    s.fake.add_log_entries("acme-other", example_entries());
    let window = [
        "--since",
        "2026-10-02T08:30:00Z",
        "--until",
        "2026-10-02T11:00:00Z",
    ];
    let out = common::json_of(
        s.squall()
            .args([
                "collect",
                "gcp",
                "logs",
                "--case",
                "C-0001",
                "--project",
                PROJECT,
                "-q",
            ])
            .args(window)
            .args(["--format", "json"]),
    );
    let c = &out["collected"];
    // 08:00, 09:00 and 10:00 of each of the four logs: one file a log and hour.
    assert_eq!(c["files"], 12, "{out}");
    assert_eq!(out["recorded"], 12);
    assert_eq!(c["provider"], "gcp");
    let case = common::json_of(
        s.squall()
            .args(["case", "show", "C-0001", "--format", "json"]),
    );
    let evidence = &case["evidence"];
    let files: Vec<&Value> = evidence
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"].as_str().unwrap().ends_with(".jsonl"))
        .collect();
    assert_eq!(files.len(), 12, "{evidence}");
    let text: String = files
        .iter()
        .filter(|e| e["path"].as_str().unwrap().ends_with("2026/10/02/09.jsonl"))
        .map(|e| std::fs::read_to_string(e["path"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(text.lines().count(), n);
    assert!(
        text.contains("\"severity\":\"NOTICE\"") || text.contains("\"severity\":\"INFO\""),
        "{text}"
    );
    assert!(text.contains("v1.compute.firewalls.insert"));
    // Every entry asked for came through the official client, in pages, as the ADC user.
    let asked = s.fake.calls_to("POST /v2/entries:list");
    assert!(!asked.is_empty() && asked.iter().all(|c| c.status == 200));

    // Again: nothing asked for, nothing recorded twice.
    let again = common::json_of(
        s.squall()
            .args([
                "collect",
                "gcp",
                "logs",
                "--case",
                "C-0001",
                "--project",
                PROJECT,
                "-q",
            ])
            .args(window)
            .args(["--format", "json"]),
    );
    assert_eq!(again["recorded"], 0, "{again}");
    assert_eq!(again["collected"]["already"], 12);
    assert_eq!(s.fake.calls_to("POST /v2/entries:list").len(), asked.len());

    // The hunt reads what was collected, as it is.
    let hunt = s
        .squall()
        .args(["hunt", "--case", "C-0001", "--format", "json"])
        .output()
        .unwrap();
    let found = String::from_utf8_lossy(&hunt.stdout);
    assert!(
        found.contains("GCP Firewall Rule Opened to the World"),
        "{found}"
    );
}

#[test]
fn a_project_that_cannot_be_read_is_named_and_the_others_are_collected() {
    let s = Setup::new();
    s.fake.add_log_entries(PROJECT, example_entries());
    s.fake.add_log_entries("acme-other", example_entries());
    // The first project asked (they go in order: acme-other) is refused.
    s.fake.inject(Fault {
        times: 1,
        ..Fault::forbid("entries:list", "logging.logEntries.list")
    });
    let out = s
        .squall()
        .args([
            "collect", "gcp", "logs", "--case", "C-0001", "-q", "--log", "activity",
        ])
        .args(["--project", PROJECT, "--project", "acme-other"])
        .args([
            "--since",
            "2026-10-02T09:00:00Z",
            "--until",
            "2026-10-02T10:00:00Z",
        ])
        .args(["--format", "table"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("NOT FETCHED: project acme-other") && table.contains("403"),
        "{table}"
    );
    let case = common::json_of(
        s.squall()
            .args(["case", "show", "C-0001", "--format", "json"]),
    );
    let paths: Vec<&str> = case["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .filter(|p| p.contains("/logs/gcp/"))
        .collect();
    assert_eq!(paths.len(), 1, "{paths:?}");
    assert!(paths[0].contains("/logs/gcp/acme-prod/"), "{paths:?}");
}

#[test]
fn every_disk_is_snapshotted_into_the_forensic_project_and_only_then_may_the_instance_go() {
    let s = Setup::new();
    let data = s.fake.attach_regional_disk(WEB, "europe-west1", "web-data");

    // Delete is refused before any acquisition, naming the disks.
    let (out, err, code) = s.run(&[
        "contain", "gcp", "instance", WEB, "--case", "C-0001", "--delete", "--yes",
    ]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(status(&out), ["failed"]);
    assert!(
        err.contains("no verified acquisition") && err.contains("web-data"),
        "{err}"
    );
    assert!(s.fake.instance(WEB).is_some());

    let (out, err, code) = s.run(&[
        "acquire",
        "gcp",
        "instance",
        WEB,
        "--case",
        "C-0001",
        "--forensic-project",
        "acme-forensics",
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified", "verified"], "{out:?}");
    let snaps = s.fake.snapshots("acme-forensics");
    assert_eq!(snaps.len(), 2, "{snaps:?}");
    assert!(
        s.fake.snapshots(PROJECT).is_empty(),
        "nothing left in the source project"
    );
    let mut sources: Vec<String> = snaps
        .iter()
        .map(|x| x["sourceDisk"].as_str().unwrap().to_string())
        .collect();
    sources.sort();
    assert!(
        sources[0].ends_with("/regions/europe-west1/disks/web-data"),
        "{sources:?}"
    );
    assert!(
        sources[1].ends_with("/zones/europe-west1-b/disks/web-1"),
        "{sources:?}"
    );
    for x in &snaps {
        assert_eq!(x["labels"]["squall-case"], "c-0001");
        assert_eq!(x["labels"]["squall-instance"], "web-1");
    }
    assert!(data.ends_with("web-data"));
    // The instance kept running; each snapshot is evidence with what identifies it.
    assert_eq!(s.fake.instance(WEB).unwrap()["status"], "RUNNING");
    let case = common::json_of(
        s.squall()
            .args(["case", "show", "C-0001", "--format", "json"]),
    );
    let recorded: Vec<&Value> = case["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"].as_str().unwrap().contains("/global/snapshots/"))
        .collect();
    assert_eq!(recorded.len(), 2, "{case}");
    for e in &recorded {
        assert!(
            e["path"]
                .as_str()
                .unwrap()
                .starts_with("//compute.googleapis.com/projects/acme-forensics/")
        );
        assert!(e["description"].as_str().unwrap().contains("(id "), "{e}");
    }

    // Again: nothing taken twice, nothing recorded twice.
    let (out, _, _) = s.run(&[
        "acquire",
        "gcp",
        "instance",
        WEB,
        "--case",
        "C-0001",
        "--forensic-project",
        "acme-forensics",
        "--yes",
    ]);
    assert_eq!(status(&out), ["unchanged", "unchanged"]);
    assert_eq!(s.fake.snapshots("acme-forensics").len(), 2);
    let case = common::json_of(
        s.squall()
            .args(["case", "show", "C-0001", "--format", "json"]),
    );
    let count = case["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"].as_str().unwrap().contains("/global/snapshots/"))
        .count();
    assert_eq!(count, 2);

    // Now the isolated, protected instance may be deleted.
    let (out, err, _) = s.run(&[
        "contain",
        "gcp",
        "instance",
        WEB,
        "--case",
        "C-0001",
        "--isolate",
        "--yes",
    ]);
    assert_eq!(status(&out), ["verified"], "{err}");
    let (out, err, code) = s.run(&[
        "contain", "gcp", "instance", WEB, "--case", "C-0001", "--delete", "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified"]);
    assert!(s.fake.instance(WEB).is_none());
    assert_eq!(s.fake.snapshots("acme-forensics").len(), 2);
}

#[test]
fn world_open_admin_rules_are_narrowed_or_removed_and_others_left_alone() {
    let s = Setup::new();
    let rule = |name: &str, proto: &str, port: Option<&str>, range: &str| {
        let mut allowed = serde_json::json!({"IPProtocol": proto});
        if let Some(p) = port {
            allowed["ports"] = serde_json::json!([p]);
        }
        serde_json::json!({"name": name, "network": "global/networks/default", "direction": "INGRESS",
            "allowed": [allowed], "sourceRanges": [range], "targetTags": ["web"]})
    };
    s.fake.add_firewall(
        PROJECT,
        rule("allow-ssh-temp", "tcp", Some("22"), "0.0.0.0/0"),
    );
    s.fake
        .add_firewall(PROJECT, rule("allow-rdp-v6", "tcp", Some("3389"), "::/0"));
    s.fake
        .add_firewall(PROJECT, rule("allow-web", "tcp", Some("443"), "0.0.0.0/0"));

    let (out, err, code) = s.run(&[
        "recover",
        "gcp",
        "firewall",
        "--project",
        PROJECT,
        "--rule",
        "allow-ssh-temp",
        "--replace-with",
        "10.20.0.0/16",
        "--case",
        "C-0001",
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified"]);
    assert_eq!(
        s.fake.firewall(PROJECT, "allow-ssh-temp").unwrap()["sourceRanges"],
        serde_json::json!(["10.20.0.0/16"])
    );

    // The rest of the project: the RDP rule goes (no replacement given), the web rule stays.
    let (out, err, code) = s.run(&[
        "recover",
        "gcp",
        "firewall",
        "--project",
        PROJECT,
        "--case",
        "C-0001",
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified"], "{out:?}");
    assert!(s.fake.firewall(PROJECT, "allow-rdp-v6").is_none());
    assert!(s.fake.firewall(PROJECT, "allow-web").is_some());
    assert_eq!(
        s.fake.firewall(PROJECT, "allow-ssh-temp").unwrap()["sourceRanges"],
        serde_json::json!(["10.20.0.0/16"])
    );
    // The deleted rule's whole description is in the ledger.
    let planned = s
        .ledger()
        .into_iter()
        .find(|e| {
            e["kind"] == "action.planned"
                && e["payload"]["plan"]["resource"]
                    == "projects/acme-prod/global/firewalls/allow-rdp-v6"
        })
        .unwrap();
    assert_eq!(
        planned["payload"]["plan"]["before"]["rule"]["ranges"],
        serde_json::json!(["::/0"])
    );

    // A world range replaced across families is fine alone, refused when it would mix.
    let out = s
        .squall()
        .args([
            "recover",
            "gcp",
            "firewall",
            "--project",
            PROJECT,
            "--replace-with",
            "0.0.0.0/0",
            "--case",
            "C-0001",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_instance_a_managed_group_owns_is_refused_before_anything_changes() {
    let s = Setup::new();
    s.fake.edit_instance(WEB, |i| {
        i["metadata"]["items"] = serde_json::json!([{"key": "created-by",
            "value": "projects/123456789/zones/europe-west1-b/instanceGroupManagers/web-mig"}]);
    });
    for how in ["--isolate", "--suspend", "--stop", "--delete"] {
        let (out, err, code) = s.run(&[
            "contain", "gcp", "instance", WEB, "--case", "C-0001", how, "--yes",
        ]);
        assert_eq!(code, 3, "{how}: {err}");
        assert_eq!(status(&out), ["failed"]);
        assert!(
            err.contains("web-mig") && err.contains("abandon-instances"),
            "{err}"
        );
    }
    assert_eq!(s.mutations(), 0, "{:?}", s.fake.calls());
}

#[test]
fn a_leaked_key_is_rotated_into_an_owner_only_file_and_the_old_one_disabled() {
    let s = Setup::new();
    let app = s.fake.add_service_account(PROJECT, "ci");
    let leaked = s.fake.add_key(&app, true);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ci-key.json");
    let file_arg = file.to_str().unwrap();

    // The plan alone makes no key and no file.
    let (out, err, code) = s.run(&[
        "recover",
        "gcp",
        "key",
        &leaked,
        "--rotate",
        "--secret-file",
        file_arg,
        "--case",
        "C-0001",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["planned"]);
    assert!(!file.exists());

    let (out, err, code) = s.run(&[
        "recover",
        "gcp",
        "key",
        &leaked,
        "--rotate",
        "--secret-file",
        file_arg,
        "--case",
        "C-0001",
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified"], "{out:?}");
    assert_eq!(s.fake.key(&leaked).unwrap()["disabled"], true);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written["client_email"], app.as_str());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // The key file's secret is nowhere in the case or the output.
    let ledger = s.ledger();
    let text = serde_json::to_string(&ledger).unwrap();
    assert!(!text.contains("PRIVATE KEY") && !err.contains("PRIVATE KEY"));

    // Again: done, no second key, and an existing file is never overwritten.
    let (out, _, _) = s.run(&[
        "recover",
        "gcp",
        "key",
        &leaked,
        "--rotate",
        "--secret-file",
        file_arg,
        "--case",
        "C-0001",
        "--yes",
    ]);
    assert_eq!(status(&out), ["unchanged"]);
    let other = s.fake.add_key(&app, true);
    let (out, err, code) = s.run(&[
        "recover",
        "gcp",
        "key",
        &other,
        "--rotate",
        "--secret-file",
        file_arg,
        "--case",
        "C-0001",
        "--yes",
    ]);
    assert_eq!(code, 3);
    assert_eq!(status(&out), ["failed"]);
    assert!(err.contains("exists"), "{err}");
    assert!(s.fake.key(&other).unwrap()["disabled"].is_null());
}

#[test]
fn a_network_policy_evaluated_first_fails_the_isolation_and_one_evaluated_after_does_not() {
    let s = Setup::new();
    s.fake
        .add_network_policy_rule(PROJECT, 1000, "allow", "INGRESS", &["203.0.113.0/24"]);
    // Evaluated after the VPC's rules (the default): the priority-0 denies win.
    let (out, err, code) = s.run(&[
        "contain",
        "gcp",
        "instance",
        WEB,
        "--case",
        "C-0001",
        "--isolate",
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified"]);
    // Evaluated before them: its allow comes first, and the isolation does not hold.
    s.fake
        .set_network_policy_order(PROJECT, "default", "BEFORE_CLASSIC_FIREWALL");
    let (out, err, code) = s.run(&[
        "contain",
        "gcp",
        "instance",
        WEB,
        "--case",
        "C-0001",
        "--isolate",
        "--yes",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("203.0.113.0/24") && err.contains("NETWORK"),
        "{err}"
    );
    assert_eq!(status(&out), ["failed"]);
}

#[test]
fn a_snapshot_image_or_disk_shared_out_is_unshared_from_the_named_members_only() {
    let s = Setup::new();
    let snap = s.fake.add_snapshot(PROJECT, "web-1-snap");
    s.fake
        .share(&snap, "roles/compute.storageAdmin", "user:ops@acme.example");
    s.fake.share(
        &snap,
        "roles/compute.storageAdmin",
        "user:mallory@evil.example",
    );
    let image = s.fake.add_image(PROJECT, "golden-7");
    s.fake
        .share(&image, "roles/compute.imageUser", "allAuthenticatedUsers");
    s.fake.share(
        &image,
        "roles/compute.imageUser",
        "serviceAccount:ci@acme-prod.iam.gserviceaccount.com",
    );

    let (out, err, code) = s.run(&[
        "recover",
        "gcp",
        "unshare",
        "--snapshot",
        "web-1-snap",
        "--from",
        "user:mallory@evil.example",
        "--project",
        PROJECT,
        "--case",
        "C-0001",
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified"]);
    assert_eq!(
        s.fake.iam_policy(&snap).unwrap()["bindings"],
        serde_json::json!([{"role": "roles/compute.storageAdmin", "members": ["user:ops@acme.example"]}])
    );

    let (out, err, code) = s.run(&[
        "recover",
        "gcp",
        "unshare",
        "--image",
        "golden-7",
        "--from",
        "public",
        "--project",
        PROJECT,
        "--case",
        "C-0001",
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified"]);
    assert_eq!(
        s.fake.iam_policy(&image).unwrap()["bindings"],
        serde_json::json!([{"role": "roles/compute.imageUser", "members": ["serviceAccount:ci@acme-prod.iam.gserviceaccount.com"]}])
    );
    // Again: nothing to take out.
    let (out, _, _) = s.run(&[
        "recover",
        "gcp",
        "unshare",
        "--image",
        "golden-7",
        "--from",
        "public",
        "--project",
        PROJECT,
        "--case",
        "C-0001",
        "--yes",
    ]);
    assert_eq!(status(&out), ["unchanged"]);

    // Disks: a zonal one by name with --zone, a regional one by its path.
    let zonal = format!("projects/{PROJECT}/zones/{ZONE}/disks/web-1");
    let regional = s.fake.attach_regional_disk(WEB, "europe-west1", "web-data");
    // Someone shares it again between the plan and its execution: nothing is written over
    // what the plan did not show.
    s.fake.share(
        &zonal,
        "roles/compute.storageAdmin",
        "user:mallory@evil.example",
    );
    s.fake.change_after(
        "disks/web-1/getIamPolicy",
        1,
        squall_gcp_fake::Change::Share {
            key: zonal.clone(),
            role: "roles/compute.viewer".into(),
            member: "user:eve@evil.example".into(),
        },
    );
    let (out, err, code) = s.run(&[
        "recover",
        "gcp",
        "unshare",
        "--disk",
        &zonal,
        "--from",
        "user:mallory@evil.example",
        "--case",
        "C-0001",
        "--yes",
    ]);
    assert_eq!((code, status(&out)), (3, vec!["failed"]), "{err}");
    assert!(
        out[0]["error"]
            .as_str()
            .unwrap()
            .contains("changed since the plan"),
        "{out:?}"
    );
    assert!(
        s.fake
            .iam_policy(&zonal)
            .unwrap()
            .to_string()
            .contains("mallory")
    );
    for disk in [&zonal, &regional] {
        s.fake.share(
            disk,
            "roles/compute.storageAdmin",
            "user:mallory@evil.example",
        );
        s.fake.share(disk, "roles/compute.viewer", "allUsers");
        s.fake
            .share(disk, "roles/compute.viewer", "group:sre@acme.example");
    }
    for named in [
        vec!["--disk", "web-1", "--project", PROJECT, "--zone", ZONE],
        vec!["--disk", &regional],
    ] {
        let mut args = vec!["recover", "gcp", "unshare"];
        args.extend(named);
        args.extend([
            "--from",
            "public",
            "--from",
            "user:mallory@evil.example",
            "--from",
            "user:eve@evil.example",
            "--case",
            "C-0001",
            "--yes",
        ]);
        let (out, err, code) = s.run(&args);
        assert_eq!(code, 0, "{err}");
        assert_eq!(status(&out), ["verified"], "{out:?}");
    }
    for disk in [&zonal, &regional] {
        assert_eq!(
            s.fake.iam_policy(disk).unwrap()["bindings"],
            serde_json::json!([{"role": "roles/compute.viewer", "members": ["group:sre@acme.example"]}]),
            "{disk}"
        );
    }
    // The plan recorded who it was shared with before.
    assert!(
        s.ledger().iter().any(|e| e["kind"] == "action.planned"
            && e["payload"]["plan"]["resource"] == serde_json::json!(regional)
            && e["payload"]["plan"]["before"]["shared_with"]
                .to_string()
                .contains("user:mallory@evil.example")),
        "no plan of {regional} with its members"
    );
    // A disk by name alone names no zone: refused, saying what is missing.
    let out = s
        .squall()
        .args([
            "recover",
            "gcp",
            "unshare",
            "--disk",
            "web-1",
            "--from",
            "public",
            "--project",
            PROJECT,
            "--case",
            "C-0001",
        ])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--zone"));
    // Not a member: refused before anything is read.
    let out = s
        .squall()
        .args([
            "recover",
            "gcp",
            "unshare",
            "--image",
            "golden-7",
            "--from",
            "mallory",
            "--project",
            PROJECT,
            "--case",
            "C-0001",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_rule_the_attacker_made_is_deleted_with_its_description_kept() {
    let s = Setup::new();
    s.fake.add_firewall(
        PROJECT,
        serde_json::json!({"name": "allow-c2", "network": "global/networks/default", "direction": "EGRESS",
            "allowed": [{"IPProtocol": "tcp", "ports": ["4444"]}], "destinationRanges": ["198.51.100.9/32"]}),
    );
    let (out, err, code) = s.run(&[
        "recover",
        "gcp",
        "delete-rule",
        "allow-c2",
        "--project",
        PROJECT,
        "--case",
        "C-0001",
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified"]);
    assert!(s.fake.firewall(PROJECT, "allow-c2").is_none());
    let planned = s
        .ledger()
        .into_iter()
        .find(|e| {
            e["kind"] == "action.planned"
                && e["payload"]["plan"]["action"] == "delete-firewall-rule"
        })
        .unwrap();
    let rule = &planned["payload"]["plan"]["before"]["rule"];
    assert_eq!(rule["ranges"], serde_json::json!(["198.51.100.9/32"]));
    assert_eq!(rule["protocols"], serde_json::json!(["tcp:4444"]));
    // Again: gone, nothing to do; Squall's own isolation rules are refused.
    let (out, _, _) = s.run(&[
        "recover",
        "gcp",
        "delete-rule",
        "allow-c2",
        "--project",
        PROJECT,
        "--case",
        "C-0001",
        "--yes",
    ]);
    assert_eq!(status(&out), ["unchanged"]);
    let (out, err, _) = s.run(&[
        "recover",
        "gcp",
        "delete-rule",
        "squall-iso-0123456789ab-abcdef-in4",
        "--project",
        PROJECT,
        "--case",
        "C-0001",
        "--yes",
    ]);
    assert_eq!(status(&out), ["failed"]);
    assert!(err.contains("release gcp instance"), "{err}");
}

#[test]
fn inventory_reads_an_organization_down_its_folders_and_triage_answers_from_it() {
    let s = Setup::new();
    // organizations/42 → folders/7 → acme-prod; organizations/42 → acme-sandbox.
    s.fake.add_folder("7", "organizations/42");
    s.fake.add_project(
        PROJECT,
        "folders/7",
        &[
            ("owner", "payments\u{1b}[2J"),
            ("env", "prod"),
            ("data-classification", "pii_pci"),
            ("purpose", "checkout"),
        ],
    );
    s.fake.add_project("acme-sandbox", "organizations/42", &[]);
    // Granted, logged and routed out at the folder: inherited by acme-prod, not the sandbox.
    s.fake
        .grant("folders/7", "roles/viewer", "group:ir@acme.example");
    s.fake
        .audit_logs("folders/7", "allServices", &["DATA_READ", "DATA_WRITE"]);
    s.fake.add_sink(
        "folders/7",
        "audit-to-sec",
        "logging.googleapis.com/projects/acme-sec/locations/global/buckets/audit",
        true,
    );
    // A sink inside the project, to its own bucket, is not a copy out of it.
    s.fake.add_sink(
        "projects/acme-sandbox",
        "_Default",
        "logging.googleapis.com/projects/acme-sandbox/locations/global/buckets/_Default",
        false,
    );
    s.fake.add_firewall(
        PROJECT,
        serde_json::json!({"name": "allow-ssh-anywhere", "network": "global/networks/default",
            "direction": "INGRESS", "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
            "sourceRanges": ["0.0.0.0/0"]}),
    );
    s.fake.add_firewall(
        PROJECT,
        serde_json::json!({"name": "allow-https", "network": "global/networks/default",
            "direction": "INGRESS", "allowed": [{"IPProtocol": "tcp", "ports": ["443"]}],
            "sourceRanges": ["0.0.0.0/0"]}),
    );
    s.fake.add_subnet(PROJECT, "europe-west1", "default", false);
    s.fake.add_subnet(PROJECT, "europe-west1", "logged", true);
    s.fake.set_project_metadata(
        PROJECT,
        &[
            (
                "ssh-keys",
                "alice:ssh-ed25519 AAAAC3Nz alice\nbob:ssh-rsa AAAAB3Nz bob",
            ),
            ("enable-oslogin", "TRUE"),
        ],
    );
    let sa = s.fake.add_service_account(PROJECT, "deployer");
    let old = s.fake.add_key(&sa, true);
    s.fake.set_key_created(&old, "2024-01-15T10:00:00Z");
    let fresh = s.fake.add_key(&sa, true);
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    s.fake.set_key_created(&fresh, &now);
    s.fake.add_key(&sa, false);
    s.fake
        .add_vpn_tunnel(PROJECT, "europe-west1", "to-hq", "203.0.113.9");
    s.fake.add_peering(
        PROJECT,
        "default",
        "to-data",
        "projects/acme-data/global/networks/warehouse",
    );

    let out = s
        .squall()
        .args(["inventory", "gcp", "--org", "42", "--project", "acme-gone"])
        .args(["--ir-member", "group:ir@acme.example", "--format", "json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    // A project that cannot be read is said, and the rest is still read and stored.
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("acme-gone") && err.contains("resourcemanager.projects.get"),
        "{err}"
    );
    assert!(err.contains("2 project(s) stored"), "{err}");
    let found: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let of = |p: &str| found.iter().find(|i| i["project"] == p).unwrap().clone();
    let kinds = |inv: &Value| -> Vec<String> {
        inv["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["kind"].as_str().unwrap().to_string())
            .collect()
    };
    let prod = of(PROJECT);
    let mut k = kinds(&prod);
    k.sort();
    assert_eq!(
        k,
        [
            "flow-logs-off",
            "old-sa-key",
            "open-admin-port",
            "project-ssh-keys"
        ],
        "{prod}"
    );
    let open = &prod["findings"][0];
    assert_eq!(open["kind"], "open-admin-port", "high first: {prod}");
    assert_eq!(open["resource"], "allow-ssh-anywhere");
    assert!(
        prod["findings"]
            .to_string()
            .contains(&old.rsplit('/').next().unwrap().to_string())
    );
    assert_eq!(
        prod["ancestors"],
        serde_json::json!(["folders/7", "organizations/42"])
    );
    assert_eq!(prod["instances"].as_array().unwrap().len(), 2);
    assert_eq!(prod["project_ssh_keys"], 2);
    // A tunnel's shared secret never reaches the output, not even its hash.
    assert!(!String::from_utf8_lossy(&out.stdout).contains("AOm8Zf"));
    let mut k = kinds(&of("acme-sandbox"));
    k.sort();
    assert_eq!(
        k,
        [
            "data-access-logs-off",
            "ir-access-missing",
            "no-log-sink-out",
            "os-login-off",
            "unowned-project"
        ]
    );
    assert_eq!(kinds(&of("acme-gone")), ["project-unreadable"]);
    // Read, never changed.
    assert!(s.fake.calls_to(":getIamPolicy").len() >= 4);
    assert_eq!(s.mutations(), 0);

    // Stored: what the labels and the network say, for triage.
    let listed = common::json_of(s.squall().args(["inventory", "list", "--format", "json"]));
    let assets = listed.as_array().unwrap_or_else(|| panic!("{listed}"));
    let asset = assets.iter().find(|a| a["id"] == PROJECT).unwrap();
    assert_eq!(asset["provider"], "gcp");
    assert_eq!(asset["env"], "prod");
    assert_eq!(asset["data"], serde_json::json!(["pii", "pci"]));
    assert_eq!(asset["purpose"], "checkout");
    assert_eq!(asset["corp_reach"], serde_json::json!(["vpn"]));
    assert_eq!(asset["trusts"], serde_json::json!(["acme-data"]));
    assert!(assets.iter().any(|a| a["id"] == "acme-sandbox"));
    assert!(!assets.iter().any(|a| a["id"] == "acme-gone"));
    // The owner label, written by whoever can label the project, is not a terminal escape.
    let table = s
        .squall()
        .args(["inventory", "list", "--format", "table"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("payments") && !table.contains('\u{1b}'),
        "{table}"
    );

    // A detection in acme-prod is triaged from the inventory.
    s.hunt(&example_entries());
    let triage = common::json_of(s.squall().args(["triage", "C-0001", "--format", "json"]));
    let prod = triage["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == PROJECT)
        .unwrap_or_else(|| panic!("{triage}"));
    let answer = |q: &str| {
        prod["answers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["question"] == q)
            .map(|a| a["answer"].as_str().unwrap().to_string())
    };
    assert_eq!(
        answer("Production or test?").as_deref(),
        Some("prod"),
        "{triage}"
    );
    assert_eq!(
        answer("Can it reach back into the corporate network?").as_deref(),
        Some("yes: vpn")
    );
    assert_eq!(
        answer("What is it for?").as_deref(),
        Some("checkout"),
        "{triage}"
    );
}

#[test]
fn an_inventory_read_refused_is_named_and_its_finding_not_guessed_and_throttling_is_retried() {
    let s = Setup::new();
    s.fake.add_project(PROJECT, "", &[("owner", "payments")]);
    s.fake.inject(Fault::forbid(
        "GET /v2/projects/acme-prod/sinks",
        "logging.sinks.list",
    ));
    // A project under a folder that cannot be read: what is inherited is unknown.
    s.fake.add_folder("9", "organizations/42");
    s.fake
        .add_project("acme-data", "folders/9", &[("owner", "data")]);
    s.fake.inject(Fault::forbid(
        "GET /v3/folders/9",
        "resourcemanager.folders.get",
    ));
    s.fake
        .inject(Fault::throttle("acme-prod/aggregated/instances", 2));
    let out = s
        .squall()
        .args([
            "inventory",
            "gcp",
            "--project",
            PROJECT,
            "--project",
            "acme-data",
        ])
        .args(["--ir-member", "group:ir@acme.example", "--format", "json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("logging.sinks.list failed"), "{err}");
    assert!(err.contains("resourcemanager.folders.get failed"), "{err}");
    let found: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = found[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    // No sink could be read: whether one routes out is not known, so it is not a finding.
    assert!(!kinds.contains(&"no-log-sink-out"), "{kinds:?}");
    assert!(kinds.contains(&"data-access-logs-off"), "{kinds:?}");
    assert!(kinds.contains(&"ir-access-missing"), "{kinds:?}");
    // Above the unread folder anything may be granted, logged or routed: nothing is guessed.
    let data: Vec<&str> = found[1]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(data, ["os-login-off"], "{}", found[1]);
    // Throttled twice, then answered: both instances are there.
    assert_eq!(found[0]["instances"].as_array().unwrap().len(), 2);
    let throttled = s.fake.calls_to("acme-prod/aggregated/instances");
    assert_eq!(
        throttled.iter().map(|c| c.status).collect::<Vec<_>>(),
        [429, 429, 200]
    );
}

/// One Cloud Audit Log entry by the contractor the story's case is about.
fn by_contractor(n: u32, method: &str, resource: &str, zone: &str, extra: Value) -> Value {
    let mut e = serde_json::json!({
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "status": {},
            "authenticationInfo": {"principalEmail": "contractor-7@acme.example"},
            "requestMetadata": {"callerIp": "185.220.101.34",
                "callerSuppliedUserAgent": "google-cloud-sdk gcloud/460.0.0 command/gcloud"},
            "serviceName": "compute.googleapis.com",
            "methodName": method,
            "resourceName": resource,
        },
        "insertId": format!("story-{n}"),
        "resource": {"type": "gce_instance", "labels": {"project_id": PROJECT, "zone": zone}},
        "timestamp": format!("2026-11-28T10:{n:02}:00.000Z"),
        "severity": "NOTICE",
        "logName": "projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity",
    });
    if let (Some(p), Value::Object(extra)) = (e["protoPayload"].as_object_mut(), extra) {
        p.extend(extra);
    }
    e
}

#[test]
fn respond_proposes_the_gcp_response_and_carries_it_out_step_by_step() {
    let s = Setup::new();
    let miner = s.fake.add_instance(PROJECT, ZONE, "miner-1");
    s.fake.edit_instance(WEB, |i| {
        i["metadata"]["items"] =
            serde_json::json!([{"key": "ssh-keys", "value": "evil:ssh-ed25519 AAAAC3Nz evil"}]);
    });
    s.fake.add_firewall(
        PROJECT,
        serde_json::json!({"name": "allow-ssh-temp", "network": "global/networks/default",
            "direction": "INGRESS", "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
            "sourceRanges": ["0.0.0.0/0"]}),
    );
    let deployer = s.fake.add_service_account(PROJECT, "deployer");
    let key = s.fake.add_key(&deployer, true);
    let backdoor = s.fake.add_service_account(PROJECT, "backdoor");
    let image = s.fake.add_image(PROJECT, "golden-7");
    s.fake.share(&image, "roles/compute.imageUser", "allUsers");
    let disk = format!("projects/{PROJECT}/zones/{ZONE}/disks/web-1");
    s.fake
        .share(&disk, "roles/compute.storageAdmin", "allAuthenticatedUsers");
    s.fake.add_project(PROJECT, "organizations/42", &[]);
    let policy = "projects/acme-prod";
    s.fake
        .grant(policy, "roles/owner", "group:platform@acme.example");
    s.fake.grant(policy, "roles/owner", "user:evil@example.net");
    s.fake
        .grant(policy, "roles/viewer", "user:evil@example.net");
    let exclusion = s
        .fake
        .add_exclusion(PROJECT, "drop-audit", "logName:cloudaudit");
    s.fake.add_sink(
        "projects/acme-prod",
        "to-sec",
        "logging.googleapis.com/projects/acme-sec/locations/global/buckets/audit",
        false,
    );
    s.fake.set_sink_disabled(PROJECT, "to-sec", true);
    let z = ZONE;
    let entries = [
        by_contractor(
            1,
            "v1.compute.firewalls.insert",
            "projects/acme-prod/global/firewalls/allow-ssh-temp",
            z,
            serde_json::json!({"request": {"name": "allow-ssh-temp", "direction": "INGRESS",
                "network": "projects/acme-prod/global/networks/default",
                "sourceRanges": ["0.0.0.0/0"],
                "alloweds": [{"IPProtocol": "tcp", "ports": ["22"]}]}}),
        ),
        by_contractor(
            2,
            "v1.compute.instances.insert",
            &miner,
            z,
            serde_json::json!({}),
        ),
        by_contractor(
            3,
            "v1.compute.instances.setMetadata",
            WEB,
            z,
            serde_json::json!({}),
        ),
        by_contractor(
            4,
            "google.iam.admin.v1.CreateServiceAccountKey",
            "projects/-/serviceAccounts/114208846293877812345",
            z,
            serde_json::json!({"request": {"name": format!("projects/-/serviceAccounts/{deployer}")},
                "response": {"name": key}}),
        ),
        by_contractor(
            5,
            "google.iam.admin.v1.CreateServiceAccount",
            "projects/acme-prod",
            z,
            serde_json::json!({"response": {"email": backdoor}}),
        ),
        by_contractor(
            6,
            "v1.compute.images.setIamPolicy",
            &image,
            z,
            serde_json::json!({"request": {"policy": {"bindings": [
                {"role": "roles/compute.imageUser", "members": ["allUsers"]}]}}}),
        ),
        by_contractor(
            7,
            "SetIamPolicy",
            "projects/acme-prod",
            z,
            serde_json::json!({"serviceData": {"policyDelta": {"bindingDeltas": [
                {"action": "ADD", "role": "roles/owner", "member": "user:evil@example.net"}]}}}),
        ),
        by_contractor(
            8,
            "google.logging.v2.ConfigServiceV2.CreateExclusion",
            &exclusion,
            z,
            serde_json::json!({"request": {"parent": "projects/acme-prod",
                "exclusion": {"name": "drop-audit", "filter": "logName:cloudaudit"}}}),
        ),
        by_contractor(
            9,
            "google.logging.v2.ConfigServiceV2.UpdateSink",
            "projects/acme-prod/sinks/to-sec",
            z,
            serde_json::json!({"request": {"sinkName": "projects/acme-prod/sinks/to-sec",
                "sink": {"name": "to-sec", "disabled": true}, "updateMask": "disabled"}}),
        ),
        by_contractor(
            10,
            "v1.compute.disks.setIamPolicy",
            &disk,
            z,
            serde_json::json!({"request": {"policy": {"bindings": [
                {"role": "roles/compute.storageAdmin", "members": ["allAuthenticatedUsers"]}]}}}),
        ),
    ];
    s.hunt(&entries);

    // Scope says what acts on each: the names Google gives them, with no AWS --account.
    let scope = s
        .squall()
        .args(["scope", "C-0001", "--format", "table"])
        .output()
        .unwrap();
    let scope = String::from_utf8_lossy(&scope.stdout);
    assert!(
        scope.contains(&format!(
            "act: squall contain gcp sa-key --case C-0001 -- {key}"
        )),
        "{scope}"
    );
    assert!(
        scope.contains("contain gcp instance --isolate --case C-0001 -- projects/acme-prod/zones/europe-west1-b/instances/miner-1 projects/acme-prod/zones/europe-west1-b/instances/web-1"),
        "{scope}"
    );
    assert!(!scope.contains("--account"), "{scope}");
    let proposed = common::json_of(s.squall().args(["respond", "C-0001", "--format", "json"]));
    let steps = proposed.as_array().unwrap_or_else(|| panic!("{proposed}"));
    let listed: Vec<(String, String)> = steps
        .iter()
        .map(|s| {
            (
                s["action"].as_str().unwrap().to_string(),
                s["resource"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let key_step = key.clone();
    let want: Vec<(&str, &str)> = vec![
        ("acquire-instance", &miner),
        ("acquire-instance", WEB),
        ("isolate-instance", WEB),
        ("disable-sa-key", &key_step),
        ("delete-sa-key", &key_step),
        ("disable-service-account", &backdoor),
        ("stop-instance", &miner),
        (
            "delete-firewall-rule",
            "projects/acme-prod/global/firewalls/allow-ssh-temp",
        ),
        ("remove-ssh-keys", WEB),
        ("unshare", &image),
        (
            "remove-iam-binding",
            "projects/acme-prod:roles/owner:user:evil@example.net",
        ),
        ("delete-log-exclusion", &exclusion),
        ("enable-log-sink", "projects/acme-prod/sinks/to-sec"),
        ("unshare", &disk),
    ];
    for (action, resource) in &want {
        assert!(
            listed
                .iter()
                .any(|(a, r)| a == action && r.ends_with(resource)),
            "no {action} on {resource} in {listed:#?}"
        );
    }
    assert_eq!(listed.len(), want.len(), "{listed:#?}");
    // Each shows the command that carries it out, built from the name Google gives it.
    let table = s
        .squall()
        .args(["respond", "C-0001", "--format", "csv"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    for command in [
        "squall recover gcp delete-rule '--project=acme-prod' --case C-0001 -- allow-ssh-temp",
        "squall contain gcp instance --stop --case C-0001 -- projects/acme-prod/zones/europe-west1-b/instances/miner-1",
        "squall recover gcp unshare '--image=golden-7' '--from=public' '--project=acme-prod' --case C-0001",
        "squall recover gcp unshare '--disk=projects/acme-prod/zones/europe-west1-b/disks/web-1' '--from=public' --case C-0001",
        "squall recover gcp remove-binding '--project=acme-prod' '--role=roles/owner' '--member=user:evil@example.net' --case C-0001",
    ] {
        assert!(table.contains(command), "{command} not in {table}");
    }
    // Every command shown is one Squall takes: run as shown (plans only, without --yes), each
    // plans and changes nothing.
    for line in table.lines().skip(1) {
        let Some(command) = line.split(',').nth(8).filter(|c| !c.is_empty()) else {
            continue;
        };
        let argv: Vec<String> = command
            .split(' ')
            .skip(1)
            .map(|w| w.trim_matches('\'').to_string())
            .collect();
        let out = s.squall().args(&argv).output().unwrap();
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(s.mutations(), 0);

    s.squall()
        .args(["respond", "C-0001", "--approve", "all"])
        .assert()
        .success();
    // Only AWS credentials that do not exist: a case with Google Cloud steps needs none.
    let out = s
        .squall()
        .args(["respond", "C-0001", "--yes", "--format", "json"])
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{err}");

    // What Google holds now, not what Squall says.
    assert_eq!(s.fake.instance(&miner).unwrap()["status"], "TERMINATED");
    let web = s.fake.instance(WEB).unwrap();
    assert!(
        tags(&web).iter().any(|t| t.starts_with("squall-iso-")),
        "{web}"
    );
    assert!(!web["metadata"].to_string().contains("evil:ssh"), "{web}");
    assert_eq!(s.fake.snapshots(PROJECT).len(), 2);
    assert!(s.fake.firewall(PROJECT, "allow-ssh-temp").is_none());
    // The key the attacker made: disabled, then, described in the ledger, deleted.
    assert!(s.fake.key(&key).is_none());
    let ledger = s.ledger();
    let planned = |action: &str| {
        ledger
            .iter()
            .any(|e| e["kind"] == "action.planned" && e["payload"]["plan"]["action"] == action)
    };
    assert!(planned("disable-sa-key") && planned("delete-sa-key"));
    assert_eq!(s.fake.service_account(&backdoor).unwrap()["disabled"], true);
    assert_eq!(
        s.fake.service_account(&deployer).unwrap()["disabled"],
        Value::Null
    );
    assert!(
        !s.fake
            .iam_policy(&image)
            .unwrap()
            .to_string()
            .contains("allUsers")
    );
    assert_eq!(
        s.fake.iam_policy(&disk).unwrap()["bindings"],
        serde_json::json!([])
    );
    let after = common::json_of(s.squall().args(["respond", "C-0001", "--format", "json"]));
    let undone: Vec<&Value> = after
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !s["status"].to_string().contains("done"))
        .collect();
    assert!(undone.is_empty(), "{undone:#?}");
    assert!(s.fake.exclusion(&exclusion).is_none());
    assert_eq!(s.fake.sink(PROJECT, "to-sec").unwrap()["disabled"], false);
    // The owner grant taken back; the team's owner, and the viewer grant no record shows
    // being made, left alone.
    let policy = s.fake.resource_policy(policy);
    let owners = policy["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["role"] == "roles/owner")
        .map(|b| b["members"].clone());
    assert_eq!(
        owners,
        Some(serde_json::json!(["group:platform@acme.example"]))
    );
    assert!(policy.to_string().contains("roles/viewer"), "{policy}");
    // Again: nothing left to do, nothing changed.
    let before = s.mutations();
    s.squall()
        .args(["respond", "C-0001", "--yes"])
        .assert()
        .success();
    assert_eq!(s.mutations(), before);
}

#[test]
fn a_granted_role_is_taken_back_once_and_never_from_the_last_owner() {
    let s = Setup::new();
    s.fake.add_project(PROJECT, "", &[]);
    let policy = "projects/acme-prod";
    s.fake.grant(policy, "roles/owner", "user:evil@example.net");
    let take_back = [
        "recover",
        "gcp",
        "remove-binding",
        "--project",
        PROJECT,
        "--role",
        "roles/owner",
        "--member",
        "user:evil@example.net",
        "--case",
        "C-0001",
        "--yes",
    ];
    // The only owner: a project nobody can administer is worse than the attacker's grant.
    let (outcomes, err, code) = s.run(&take_back);
    assert_eq!(code, 3, "{err}");
    assert!(
        outcomes[0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("last owner"),
        "{outcomes:?}"
    );
    assert_eq!(s.mutations(), 0);
    s.fake
        .grant(policy, "roles/owner", "group:platform@acme.example");
    let (outcomes, err, code) = s.run(&take_back);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&outcomes), ["verified"]);
    assert!(
        !s.fake.resource_policy(policy).to_string().contains("evil"),
        "{}",
        s.fake.resource_policy(policy)
    );
    // Again: nothing to take back, nothing written.
    let written = s.mutations();
    let (outcomes, _, code) = s.run(&take_back);
    assert_eq!((code, status(&outcomes)), (0, vec!["unchanged"]));
    assert_eq!(s.mutations(), written);
    // The plan and what it removed are in the ledger.
    let ledger = s.ledger();
    assert!(ledger.iter().any(|e| e["kind"] == "action.verified"
        && e["payload"]["resource"] == "projects/acme-prod:roles/owner:user:evil@example.net"));
    // A member or role that is not one is refused before anything is read.
    for (flag, bad) in [
        ("--member", "user:x; rm -rf ~"),
        ("--role", "roles/../owner"),
    ] {
        let mut args = take_back.to_vec();
        let at = args.iter().position(|a| *a == flag).unwrap() + 1;
        args[at] = bad;
        let (_, err, code) = s.run(&args);
        assert_eq!(code, 2, "{bad}: {err}");
    }
}

#[test]
fn a_stopped_instance_is_put_back_on_a_snapshot_and_its_old_disk_kept_as_evidence() {
    let s = Setup::new();
    let old_disk = "projects/acme-prod/zones/europe-west1-b/disks/web-1";
    // A nightly backup from after the case's first detection (the example log's 09:33 on
    // 2026-10-02): the plan warns.
    s.fake.add_disk_snapshot(
        PROJECT,
        "web-1-nightly",
        old_disk,
        "2026-10-03T02:00:00.000-07:00",
    );
    s.hunt(&example_entries());
    let restore = [
        "recover",
        "gcp",
        "instance",
        WEB,
        "--from-snapshot",
        "web-1-nightly",
        "--case",
        "C-0001",
    ];
    // Running: refused, nothing made.
    let (outcomes, err, code) = s.run(&[&restore[..], &["--yes"]].concat());
    assert_eq!(code, 3, "{err}");
    assert!(
        outcomes[0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("stopped"),
        "{outcomes:?}"
    );
    assert_eq!(s.mutations(), 0);
    s.squall()
        .args([
            "contain", "gcp", "instance", WEB, "--stop", "--case", "C-0001", "--yes",
        ])
        .assert()
        .success();
    // The plan says what goes where, and that the snapshot postdates the compromise.
    let plan = s.squall().args(restore).output().unwrap();
    let shown =
        String::from_utf8_lossy(&plan.stderr).to_string() + &String::from_utf8_lossy(&plan.stdout);
    assert!(shown.contains("WARNING: the snapshot was taken"), "{shown}");
    let (outcomes, err, code) = s.run(&[&restore[..], &["--yes"]].concat());
    assert_eq!((code, status(&outcomes)), (0, vec!["verified"]), "{err}");

    // Google's view: a new boot disk from the snapshot, the old one detached and labelled.
    let web = s.fake.instance(WEB).unwrap();
    let boot = web["disks"][0].clone();
    assert_eq!(boot["boot"], true, "{web}");
    let new_disk = boot["source"].as_str().unwrap();
    assert!(new_disk.contains("/disks/squall-restore-"), "{new_disk}");
    let made = s
        .fake
        .disk(&new_disk[new_disk.find("projects/").unwrap()..])
        .unwrap();
    assert!(
        made["sourceSnapshot"]
            .as_str()
            .unwrap()
            .ends_with("/snapshots/web-1-nightly")
    );
    // Of the type the old boot disk was (Google's default, pd-standard, some machines cannot
    // boot from).
    assert!(
        made["type"]
            .as_str()
            .unwrap()
            .ends_with("/diskTypes/pd-balanced"),
        "{made}"
    );
    let kept = s.fake.disk(old_disk).unwrap();
    assert_eq!(kept["labels"]["squall-case"], "c-0001", "{kept}");
    assert_eq!(kept["users"], serde_json::json!([]));
    assert!(!web.to_string().contains("/disks/web-1\""), "{web}");
    assert_eq!(web["status"], "TERMINATED");

    // Again: the instance already runs from the restored disk; nothing is made twice.
    let before = s.mutations();
    let (outcomes, _, code) = s.run(&[&restore[..], &["--yes"]].concat());
    assert_eq!((code, status(&outcomes)), (0, vec!["unchanged"]));
    assert_eq!(s.mutations(), before);
}

/// The worker the imaging of `snapshot` (a key) starts for case C-0001, by key.
fn worker_of(snapshot: &str) -> String {
    format!(
        "projects/acme-forensics/zones/{ZONE}/instances/{}",
        squall_gcp::respond::worker_name("C-0001", snapshot)
    )
}

#[test]
fn a_disk_is_imaged_through_a_read_only_worker_and_kept_only_when_both_digests_agree() {
    let s = Setup::new();
    s.fake
        .set_disk_size_gb(&format!("projects/{PROJECT}/zones/{ZONE}/disks/web-1"), 1);
    s.fake.add_bucket("acme-ir-images");
    let images = s.home.path().join("images");
    let acquire = |extra: &[&str]| {
        let mut args = vec![
            "acquire",
            "gcp",
            "instance",
            WEB,
            "--case",
            "C-0001",
            "--forensic-project",
            "acme-forensics",
            "--image",
            images.to_str().unwrap(),
            "--image-bucket",
            "acme-ir-images",
        ];
        args.extend(extra);
        s.run(&args)
    };

    // Without --yes: the snapshot's plan, and a word on what imaging will do; nothing made.
    let (_, err, code) = acquire(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("imaged through a worker"), "{err}");
    assert!(s.fake.snapshots("acme-forensics").is_empty());

    // A worker that never finishes: left running, said so; its shape is what was asked.
    s.fake.worker_fault(squall_gcp_fake::WorkerFault::Hangs);
    let (out, err, code) = acquire(&["--worker-wait", "1s", "--yes"]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(status(&out), ["verified", "failed"], "{err}");
    assert!(err.contains("still reading"), "{err}");
    let snap = s.fake.snapshots("acme-forensics")[0]["selfLink"]
        .as_str()
        .unwrap()
        .split("/compute/v1/")
        .nth(1)
        .unwrap()
        .to_string();
    let worker = s.fake.instance(&worker_of(&snap)).expect("left running");
    assert_eq!(worker["status"], "RUNNING");
    let evidence = &worker["disks"][1];
    assert_eq!(evidence["mode"], "READ_ONLY", "{worker}");
    assert_eq!(evidence["deviceName"], "evidence");
    assert_eq!(evidence["autoDelete"], false);
    assert!(
        worker["networkInterfaces"][0]["accessConfigs"]
            .as_array()
            .unwrap()
            .is_empty(),
        "no external address: {worker}"
    );
    assert_eq!(worker["labels"]["squall-case"], "c-0001");
    assert_eq!(
        worker["serviceAccounts"][0]["scopes"][0],
        "https://www.googleapis.com/auth/devstorage.read_write"
    );
    let script = worker["metadata"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == "startup-script")
        .unwrap()["value"]
        .as_str()
        .unwrap();
    assert!(script.contains("gcloud storage cp"), "{script}");

    // It finishes; a re-run finds it rather than starting another, downloads, compares, cleans
    // up, records the image.
    s.fake.power_off(&worker_of(&snap));
    let inserts = s
        .fake
        .calls_to("/instances")
        .iter()
        .filter(|c| c.method == "POST" && c.path.ends_with("/instances"))
        .count();
    let (out, err, code) = acquire(&["--worker-wait", "1s", "--yes"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["unchanged", "verified"], "{err}");
    let inserts_after = s
        .fake
        .calls_to("/instances")
        .iter()
        .filter(|c| c.method == "POST" && c.path.ends_with("/instances"))
        .count();
    assert_eq!(inserts, inserts_after, "no second worker");
    let name = snap.rsplit('/').next().unwrap();
    let raw = images.join(format!("{name}.raw"));
    let bytes = std::fs::read(&raw).unwrap();
    let (want, len) = s.fake.snapshot_digest(&snap).unwrap();
    assert_eq!(bytes.len() as u64, len);
    assert_eq!(len, 1 << 30);
    let got = {
        use sha2::Digest;
        squall_core::digest::hex(&sha2::Sha256::digest(&bytes))
    };
    drop(bytes);
    assert_eq!(got, want);
    assert_eq!(
        std::fs::read_to_string(images.join(format!("{name}.raw.sha256"))).unwrap(),
        format!("{want}  {name}.raw\n")
    );
    assert!(
        s.fake.instance(&worker_of(&snap)).is_none(),
        "worker deleted"
    );
    let worker_disk = worker_of(&snap).replace("/instances/", "/disks/") + "-evidence";
    assert!(s.fake.disk(&worker_disk).is_none(), "its disk deleted");
    assert!(s.fake.snapshot(&snap).is_some(), "the snapshot stays");
    let objects: Vec<String> = s
        .fake
        .objects("acme-ir-images")
        .into_iter()
        .map(|o| o.0)
        .collect();
    assert_eq!(
        objects,
        [
            format!("squall-images/{name}.raw"),
            format!("squall-images/{name}.raw.result")
        ]
    );
    let case = common::json_of(
        s.squall()
            .args(["case", "show", "C-0001", "--format", "json"]),
    );
    let images_recorded: Vec<&Value> = case["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"].as_str().unwrap().ends_with(".raw"))
        .collect();
    assert_eq!(images_recorded.len(), 1, "{case}");
    assert_eq!(images_recorded[0]["sha256"], want.as_str());
    assert!(
        images_recorded[0]["description"]
            .as_str()
            .unwrap()
            .contains("attached read-only"),
        "{case}"
    );

    // Again: nothing read twice, nothing recorded twice.
    let (out, err, code) = acquire(&["--yes"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["unchanged", "unchanged"], "{err}");

    // Interrupted after 64 MiB were synced: the next run re-hashes those, reads on from
    // there (a ranged read of the same generation), and ends with the same digest.
    let generation = s
        .fake
        .objects("acme-ir-images")
        .into_iter()
        .find(|o| o.0.ends_with(".raw"))
        .unwrap()
        .2;
    let f = std::fs::OpenOptions::new().write(true).open(&raw).unwrap();
    f.set_len(64 << 20).unwrap();
    drop(f);
    std::fs::remove_file(images.join(format!("{name}.raw.sha256"))).unwrap();
    std::fs::write(
        images.join(format!("{name}.raw.progress")),
        serde_json::json!({"snapshot": name, "committed": 64 << 20, "generation": generation})
            .to_string(),
    )
    .unwrap();
    let (out, err, code) = acquire(&["--yes"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["unchanged", "verified"], "{err}");
    assert!(err.contains("resumed after 67108864 bytes"), "{err}");
    assert!(
        s.fake.calls().iter().any(|c| c.status == 206),
        "a ranged read"
    );
    assert_eq!(
        std::fs::read_to_string(images.join(format!("{name}.raw.sha256"))).unwrap(),
        format!("{want}  {name}.raw\n")
    );
    assert!(!images.join(format!("{name}.raw.progress")).exists());

    // Interrupted after the last byte was synced, before the checksum was written: nothing is
    // read again (a range from the end would be refused), the digest comes from the file.
    std::fs::remove_file(images.join(format!("{name}.raw.sha256"))).unwrap();
    std::fs::write(
        images.join(format!("{name}.raw.progress")),
        serde_json::json!({"snapshot": name, "committed": 1u64 << 30, "generation": generation})
            .to_string(),
    )
    .unwrap();
    let reads = s.fake.calls_to("squall-images%2F").len();
    let (out, err, code) = acquire(&["--yes"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["unchanged", "verified"], "{err}");
    let raw_reads = s
        .fake
        .calls_to("squall-images%2F")
        .iter()
        .skip(reads)
        .filter(|c| c.path.contains(".raw?") || c.status == 206 || c.status == 416)
        .count();
    assert_eq!(raw_reads, 0, "the image object was not read again");
    assert_eq!(
        std::fs::read_to_string(images.join(format!("{name}.raw.sha256"))).unwrap(),
        format!("{want}  {name}.raw\n")
    );
    let case = common::json_of(
        s.squall()
            .args(["case", "show", "C-0001", "--format", "json"]),
    );
    let n = case["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"].as_str().unwrap().ends_with(".raw"))
        .count();
    assert_eq!(n, 1);
}

#[test]
fn an_image_that_disagrees_with_the_worker_or_a_worker_that_failed_is_never_evidence() {
    let s = Setup::new();
    for vm in ["web-1", "web-2"] {
        s.fake
            .set_disk_size_gb(&format!("projects/{PROJECT}/zones/{ZONE}/disks/{vm}"), 1);
    }
    s.fake.add_bucket("acme-ir-images");
    let images = s.home.path().join("images");
    let acquire = |vm: &str| {
        s.run(&[
            "acquire",
            "gcp",
            "instance",
            vm,
            "--project",
            PROJECT,
            "--zone",
            ZONE,
            "--case",
            "C-0001",
            "--forensic-project",
            "acme-forensics",
            "--image",
            images.to_str().unwrap(),
            "--image-bucket",
            "acme-ir-images",
            "--yes",
        ])
    };
    // The worker's digest is not of what it wrote.
    s.fake
        .worker_fault(squall_gcp_fake::WorkerFault::WrongDigest);
    let (out, err, code) = acquire("web-1");
    assert_eq!(code, 3, "{err}");
    assert_eq!(status(&out), ["verified", "failed"], "{err}");
    assert!(err.contains("does not match what the worker read"), "{err}");
    // The snapshot is taken again under its name: the old report is not of it.
    let snap = s.fake.snapshots("acme-forensics")[0]["selfLink"]
        .as_str()
        .unwrap()
        .split("/compute/v1/")
        .nth(1)
        .unwrap()
        .to_string();
    s.fake.retake_snapshot(&snap);
    let (out, err, code) = acquire("web-1");
    assert_eq!(code, 3, "{err}");
    assert_eq!(status(&out), ["unchanged", "failed"], "{err}");
    assert!(err.contains("taken again since"), "{err}");
    // A worker that reports an error; the error is data, shown plainly.
    s.fake.worker_fault(squall_gcp_fake::WorkerFault::Fails(
        "dd: \u{1b}[31mI/O error\u{1b}[0m".into(),
    ));
    let (out, err, code) = acquire("web-2");
    assert_eq!(code, 3, "{err}");
    assert_eq!(status(&out), ["verified", "failed"], "{err}");
    assert!(
        err.contains("I/O error") && !err.contains('\u{1b}'),
        "{err}"
    );
    // Neither left a checksum file or any image evidence.
    let checksums = std::fs::read_dir(&images)
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .to_string_lossy()
                    .ends_with(".sha256")
            })
            .count()
        })
        .unwrap_or(0);
    assert_eq!(checksums, 0);
    let case = common::json_of(
        s.squall()
            .args(["case", "show", "C-0001", "--format", "json"]),
    );
    assert!(
        !case["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"].as_str().unwrap().ends_with(".raw")),
        "{case}"
    );
    // The failures are in the ledger.
    let failed = s
        .ledger()
        .iter()
        .filter(|e| e["kind"] == "action.failed" && e["payload"]["action"] == "image-snapshot")
        .count();
    assert_eq!(failed, 3);
    // Failed workers are not left behind.
    let workers = s
        .fake
        .calls_to("/instances/squall-img-")
        .iter()
        .filter(|c| c.method == "DELETE")
        .count();
    assert!(workers >= 2, "{workers}");
}

/// An Admin Activity entry of Logging's own (a sink or exclusion made, changed, deleted).
fn logging_call(time: &str, who: &str, method: &str, resource: &str, request: Value) -> Value {
    serde_json::json!({
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "status": {},
            "authenticationInfo": {"principalEmail": who},
            "requestMetadata": {"callerIp": "185.220.101.34"},
            "serviceName": "logging.googleapis.com",
            "methodName": format!("google.logging.v2.ConfigServiceV2.{method}"),
            "resourceName": resource,
            "request": request,
        },
        "insertId": format!("{method}-{time}"),
        "resource": {"type": "logging_sink", "labels": {"project_id": PROJECT}},
        "timestamp": time,
        "severity": "NOTICE",
        "logName": "projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity",
    })
}

#[test]
fn a_sink_or_exclusion_the_attacker_changed_or_deleted_is_put_back_as_the_audit_log_says_it_was() {
    let s = Setup::new();
    let admin = "platform@acme.example";
    let evil = "contractor-7@acme.example";
    let sec = "logging.googleapis.com/projects/acme-sec/locations/global/buckets/audit";
    let archive = "storage.googleapis.com/acme-archive";
    s.fake.add_sink("projects/acme-prod", "to-sec", sec, false);
    s.fake.add_exclusion(
        PROJECT,
        "noisy",
        "severity<INFO AND resource.type=gce_instance",
    );
    // Their history, as the project's audit log holds it: the organization's calls, then the
    // attacker's.
    let sink = "projects/acme-prod/sinks/to-sec";
    let exclusion = "projects/acme-prod/exclusions/noisy";
    let history = [
        logging_call(
            "2026-01-05T09:00:00Z",
            admin,
            "CreateSink",
            sink,
            serde_json::json!({
            "parent": "projects/acme-prod", "sink": {"name": "to-sec", "destination": sec,
            "filter": "logName:\"cloudaudit.googleapis.com\""}}),
        ),
        logging_call(
            "2026-01-05T09:01:00Z",
            admin,
            "CreateSink",
            "projects/acme-prod/sinks/archive",
            serde_json::json!({"parent": "projects/acme-prod", "sink": {"name": "archive",
            "destination": archive, "filter": "severity>=WARNING"}}),
        ),
        logging_call(
            "2026-01-05T09:02:00Z",
            admin,
            "CreateExclusion",
            "projects/acme-prod",
            serde_json::json!({"parent": "projects/acme-prod", "exclusion": {"name": "noisy",
            "filter": "severity<INFO AND resource.type=gce_instance"}}),
        ),
        logging_call(
            "2026-06-01T12:00:00Z",
            admin,
            "UpdateSink",
            sink,
            serde_json::json!({
            "sinkName": sink, "updateMask": "description",
            "sink": {"description": "security copy"}}),
        ),
    ];
    let attack = vec![
        logging_call(
            "2026-11-28T10:01:00Z",
            evil,
            "UpdateSink",
            sink,
            serde_json::json!({
            "sinkName": sink, "updateMask": "destination,filter",
            "sink": {"destination": "storage.googleapis.com/evil-drop", "filter": "NOT logName:cloudaudit"}}),
        ),
        logging_call(
            "2026-11-28T10:02:00Z",
            evil,
            "UpdateExclusion",
            exclusion,
            serde_json::json!({
            "name": exclusion, "updateMask": "filter", "exclusion": {"filter": "logName:cloudaudit"}}),
        ),
        logging_call(
            "2026-11-28T10:03:00Z",
            evil,
            "DeleteSink",
            "projects/acme-prod/sinks/archive",
            serde_json::json!({"sinkName": "projects/acme-prod/sinks/archive"}),
        ),
        logging_call(
            "2026-11-28T10:04:00Z",
            evil,
            "UpdateSink",
            "projects/acme-prod/sinks/_Default",
            serde_json::json!({"sinkName": "projects/acme-prod/sinks/_Default", "updateMask": "filter",
            "sink": {"filter": "severity>=EMERGENCY"}}),
        ),
    ];
    s.fake
        .add_log_entries(PROJECT, history.iter().chain(&attack).cloned());
    // What Google holds now: the attacker's settings (and `_Default`, made by Google).
    s.fake.edit_sink(PROJECT, "to-sec", |x| {
        x["description"] = "security copy".into();
        x["destination"] = "storage.googleapis.com/evil-drop".into();
        x["filter"] = "NOT logName:cloudaudit".into();
        true
    });
    let kept_identity = s.fake.sink(PROJECT, "to-sec").unwrap()["writerIdentity"].clone();
    s.fake.add_sink(
        "projects/acme-prod",
        "_Default",
        "logging.googleapis.com/projects/acme-prod/locations/global/buckets/_Default",
        false,
    );
    s.fake.edit_sink(PROJECT, "_Default", |x| {
        x["filter"] = "severity>=EMERGENCY".into();
        true
    });
    s.fake
        .edit_exclusion(exclusion, |e| e["filter"] = "logName:cloudaudit".into());
    s.hunt(&attack);

    // The proposal: each put back as it was just before the attacker's change to it.
    let proposed = common::json_of(s.squall().args(["respond", "C-0001", "--format", "json"]));
    let steps: Vec<(String, String, String)> = proposed
        .as_array()
        .unwrap_or_else(|| panic!("{proposed}"))
        .iter()
        .map(|x| {
            (
                x["action"].as_str().unwrap_or_default().to_string(),
                x["resource"].as_str().unwrap_or_default().to_string(),
                x["with"]["before"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for (action, resource, at) in [
        ("restore-log-sink", sink, "2026-11-28T10:01:00.000Z"),
        (
            "restore-log-exclusion",
            exclusion,
            "2026-11-28T10:02:00.000Z",
        ),
        (
            "restore-log-sink",
            "projects/acme-prod/sinks/archive",
            "2026-11-28T10:03:00.000Z",
        ),
        (
            "restore-log-sink",
            "projects/acme-prod/sinks/_Default",
            "2026-11-28T10:04:00.000Z",
        ),
    ] {
        assert!(
            steps
                .iter()
                .any(|(a, r, before)| a == action && r == resource && before == at),
            "no {action} of {resource} before {at} in {steps:#?}"
        );
    }

    // Changed again between the plan and its execution: refused, nothing written.
    s.fake.change_after(
        "sinks/to-sec",
        1,
        squall_gcp_fake::Change::EditSink {
            project: PROJECT.into(),
            name: "to-sec".into(),
            field: "filter".into(),
            value: "severity>=ERROR".into(),
        },
    );
    let (out, _, code) = s.run(&[
        "recover",
        "gcp",
        "log-sink",
        "to-sec",
        "--project",
        PROJECT,
        "--as-before",
        "2026-11-28T10:01:00Z",
        "--case",
        "C-0001",
        "--yes",
    ]);
    assert_eq!((code, status(&out)), (3, vec!["failed"]));
    assert!(
        out[0]["error"]
            .as_str()
            .unwrap()
            .contains("changed since the plan"),
        "{out:?}"
    );
    assert_eq!(
        s.fake.sink(PROJECT, "to-sec").unwrap()["destination"],
        "storage.googleapis.com/evil-drop"
    );

    // Redirected and narrowed: back to the destination, filter and description it had.
    let restore = |verb: &str, name: &str, at: &str| {
        s.run(&[
            "recover",
            "gcp",
            verb,
            name,
            "--project",
            PROJECT,
            "--as-before",
            at,
            "--case",
            "C-0001",
            "--yes",
        ])
    };
    let (out, err, code) = restore("log-sink", "to-sec", "2026-11-28T10:01:00Z");
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified"], "{out:?}");
    let now = s.fake.sink(PROJECT, "to-sec").unwrap();
    assert_eq!(now["destination"], sec);
    assert_eq!(now["filter"], "logName:\"cloudaudit.googleapis.com\"");
    assert_eq!(now["description"], "security copy");
    assert_eq!(now["writerIdentity"], kept_identity);
    // The plan said where the settings came from, and what they replaced.
    let planned = s
        .ledger()
        .into_iter()
        .find(|e| e["kind"] == "action.planned" && e["payload"]["plan"]["resource"] == sink)
        .expect("the plan recorded");
    let plan = &planned["payload"]["plan"];
    assert_eq!(
        plan["before"]["destination"],
        "storage.googleapis.com/evil-drop"
    );
    assert!(
        plan["notes"]
            .to_string()
            .contains("CreateSink-2026-01-05T09:00:00Z"),
        "{plan}"
    );
    // Again: already so.
    let (out, _, code) = restore("log-sink", "to-sec", "2026-11-28T10:01:00Z");
    assert_eq!((code, status(&out)), (0, vec!["unchanged"]));

    // Widened: the exclusion's filter put back.
    let (out, err, code) = restore("log-exclusion", "noisy", "2026-11-28T10:02:00Z");
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified"]);
    assert_eq!(
        s.fake.exclusion(exclusion).unwrap()["filter"],
        "severity<INFO AND resource.type=gce_instance"
    );

    // Deleted: made again, writing as the identity Google gives it, which the outcome names.
    let (out, err, code) = restore("log-sink", "archive", "2026-11-28T10:03:00Z");
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(&out), ["verified"]);
    let made = s.fake.sink(PROJECT, "archive").expect("made again");
    assert_eq!(
        (made["destination"].as_str(), made["filter"].as_str()),
        (Some(archive), Some("severity>=WARNING"))
    );
    assert!(err.contains("identity Google gives it now"), "{err}");
    assert!(err.contains("by platform@acme.example"), "{err}");
    assert_eq!(out[0]["observed"]["writerIdentity"], made["writerIdentity"]);
    // What the creation answered is in the ledger too.
    assert!(
        s.ledger().iter().any(|e| e["kind"] == "action.executed"
            && e["payload"]["resource"] == "projects/acme-prod/sinks/archive"
            && e["payload"]["result"]["writerIdentity"] == made["writerIdentity"]),
        "no execution recorded with the sink's identity"
    );

    // Made by Google, never in the log: nothing guessed, the failure says to do it by hand.
    let (out, err, code) = restore("log-sink", "_Default", "2026-11-28T10:04:00Z");
    assert_eq!(code, 3, "{err}");
    assert_eq!(status(&out), ["failed"]);
    assert!(
        out[0]["error"].as_str().unwrap().contains("by hand"),
        "{out:?}"
    );
    assert_eq!(
        s.fake.sink(PROJECT, "_Default").unwrap()["filter"],
        "severity>=EMERGENCY"
    );
    // A time to come would replay the very change: refused before anything is read.
    let (out, _, code) = restore("log-sink", "to-sec", "2999-01-01T00:00:00Z");
    assert_eq!(code, 3);
    assert!(
        out[0]["error"].as_str().unwrap().contains("in the future"),
        "{out:?}"
    );
    // Just before its creation it did not exist: nothing to put back either.
    let (out, _, code) = restore("log-sink", "archive", "2026-01-05T09:00:30Z");
    assert_eq!(code, 3);
    assert!(
        out[0]["error"]
            .as_str()
            .unwrap()
            .contains("no complete record"),
        "{out:?}"
    );
}

//! `squall respond`: the drill's case proposes its response from what it touched, in a safe
//! order with a reason per step; approvals and skips are ledger entries; the ledger verifies.

use serde_json::Value;

mod common;
use common::drill::{CI_KEY, hunted};
use common::{json_of, squall};

fn respond(home: &std::path::Path, args: &[&str]) -> Vec<Value> {
    let out = json_of(
        squall(home)
            .args(["respond", "C-0001", "--format", "json"])
            .args(args),
    );
    out.as_array().unwrap().clone()
}

fn find<'a>(steps: &'a [Value], action: &str, resource: &str) -> &'a Value {
    steps
        .iter()
        .find(|s| s["action"] == action && s["resource"] == resource)
        .unwrap_or_else(|| panic!("no {action} {resource} in {steps:#?}"))
}

#[test]
fn the_case_proposes_its_response_in_a_safe_order_with_reasons() {
    let (_dir, home) = hunted();
    let steps = respond(&home, &[]);
    let phases: Vec<&str> = steps.iter().map(|s| s["phase"].as_str().unwrap()).collect();
    let mut sorted = phases.clone();
    let order = ["acquire", "contain", "stop", "undo", "rotate"];
    sorted.sort_by_key(|p| order.iter().position(|o| o == p));
    assert_eq!(phases, sorted, "steps run phase by phase");
    let numbers: Vec<u64> = steps.iter().map(|s| s["step"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (1..=steps.len() as u64).collect::<Vec<_>>());

    // Each launched instance is acquired, then stopped only after its acquisition.
    let acquire = find(&steps, "acquire-instance", "i-00000000000000001");
    let stop = find(&steps, "stop-instance", "i-00000000000000001");
    assert_eq!(stop["after"][0], acquire["step"]);
    assert_eq!(
        acquire["record"]["record_index"], 4,
        "the RunInstances record"
    );
    assert!(
        acquire["reason"]
            .as_str()
            .unwrap()
            .starts_with("launched by arn:aws:iam::111122223333:user/ci-deployer")
    );
    // The leaked key is deactivated and rotated; the attacker's key only deactivated; the
    // stolen instance role's sessions are cut; the attacker's changes are undone.
    find(&steps, "deactivate-access-key", CI_KEY);
    let rotate = find(&steps, "rotate-access-key", CI_KEY);
    assert!(rotate["by_hand"].as_str().unwrap().contains("--rotate"));
    find(&steps, "deactivate-access-key", "AKIANEWKEY0000000001");
    assert!(
        !steps
            .iter()
            .any(|s| s["action"] == "rotate-access-key" && s["resource"] == "AKIANEWKEY0000000001")
    );
    find(&steps, "contain-role", "web-role");
    let detach = find(
        &steps,
        "detach-policy",
        "arn:aws:iam::aws:policy/AdministratorAccess",
    );
    assert_eq!(detach["phase"], "undo");
    assert!(
        detach["with"]["principal"]
            .as_str()
            .unwrap()
            .starts_with("user evil")
    );
    find(&steps, "start-logging", "org-trail");
    find(&steps, "replace-world-rule", "sg-0b1a2c3d4e5f60789");
    // The bystander behind the same address is not acted on.
    assert!(
        !steps
            .iter()
            .any(|s| s["resource"] == "AKIABOBBOBBOBBOB0001")
    );
    assert!(steps.iter().all(|s| s["status"] == "proposed"));
}

#[test]
fn approvals_and_skips_are_the_analysts_recorded_word() {
    let (_dir, home) = hunted();
    let proposed = respond(&home, &[]);
    let n = proposed.len();
    let approved = respond(&home, &["--approve", "1-3"]);
    assert_eq!(approved.len(), n, "the same proposal");
    for s in &approved[..3] {
        assert_eq!(s["status"], "approved", "{s}");
        assert_eq!(s["by"], "alice@ws1");
    }
    assert_eq!(approved[3]["status"], "proposed");
    let skipped = respond(&home, &["--skip", "3", "--reason", "owner keeps it"]);
    assert_eq!(skipped[2]["status"], "skipped");
    assert_eq!(skipped[2]["reason"], "owner keeps it");
    // Showing again proposes nothing new; proposing again starts proposal 2, all proposed.
    let again = respond(&home, &[]);
    assert_eq!(again[0]["status"], "approved");
    let table = squall(&home)
        .args(["respond", "C-0001", "--propose", "--format", "table"])
        .assert()
        .success();
    let table = String::from_utf8(table.get_output().stdout.clone()).unwrap();
    assert!(
        table.starts_with("C-0001: proposal 2 by alice@ws1"),
        "{table}"
    );
    assert!(!table.contains('\u{1b}'), "{table}");
    assert!(table.contains("run: squall contain aws key --case C-0001 -- AKIACIDEPLOYER000001"));

    // Steps that are not in the proposal are refused, naming them; nothing is recorded.
    let ledger = |home: &std::path::Path| {
        let out = squall(home)
            .args(["ledger", "export", "C-0001"])
            .assert()
            .success();
        String::from_utf8(out.get_output().stdout.clone())
            .unwrap()
            .lines()
            .count()
    };
    let before = ledger(&home);
    assert!(
        before > 4,
        "the hunt, the proposals, the approval and the skip are entries"
    );
    for bad in ["0", "999", "2-1", "x"] {
        squall(&home)
            .args(["respond", "C-0001", "--approve", bad])
            .assert()
            .failure()
            .stderr(predicates::str::contains(format!("--approve {bad}")));
    }
    assert_eq!(ledger(&home), before);

    // Every word is in the ledger, which verifies, and the report says who approved what.
    squall(&home)
        .args(["ledger", "verify", "C-0001"])
        .assert()
        .success();
    let report = squall(&home).args(["report", "C-0001"]).assert().success();
    let report = String::from_utf8(report.get_output().stdout.clone()).unwrap();
    assert!(
        report.contains("steps 1, 2, 3 of proposal 1 approved"),
        "{report}"
    );
    assert!(report.contains("steps 3 of proposal 1 skipped: owner keeps it"));
    assert!(report.contains("response proposed"));
}

//! What a case touched, end to end: the three drills' root causes played as CloudTrail records
//! (a leaked CI key minting another user's key, granting admin, launching twenty GPU instances
//! and stopping the trail; an SSH rule opened to the world; an instance role's credentials used
//! from outside), hunted into a case, then read back through `scope`, `timeline` and `report`.

use serde_json::Value;

mod common;
use common::drill::{HOSTILE_USER, STOLEN, hunted};
use common::{json_of, lines, squall};

fn rows<'a>(scope: &'a [Value], kind: &str) -> Vec<&'a Value> {
    scope.iter().filter(|r| r["kind"] == kind).collect()
}

#[test]
fn scope_lists_what_was_touched_with_its_record_and_the_command_for_it() {
    let (_dir, home) = hunted();
    let scope = json_of(squall(&home).args(["scope", "C-0001", "--format", "json"]));
    let scope = scope.as_array().unwrap();

    // Twenty instances launched, each with the RunInstances record, one command for all.
    let instances = rows(scope, "instance");
    let launched: Vec<_> = instances
        .iter()
        .filter(|r| r["changes"][0]["change"] == "launched")
        .collect();
    assert_eq!(launched.len(), 20, "{instances:#?}");
    assert!(launched.iter().all(|r| r["changes"][0]["record_index"] == 4
        && r["changes"][0]["action"] == "ec2:RunInstances"
        && r["changes"][0]["detail"] == "p4d.24xlarge, key pair miner"));
    assert_eq!(
        launched[0]["command"],
        "squall contain aws instance --isolate --case C-0001 -- i-00000000000000001"
    );

    // The instance behind the role session, and the session key traced to its role.
    let behind = instances
        .iter()
        .find(|r| r["value"] == "i-0123456789abcdef0")
        .expect("the instance whose role credentials were used");
    assert_eq!(behind["parent"], "role web-role");
    let session = rows(scope, "session_key");
    assert_eq!(session[0]["value"], STOLEN);
    assert_eq!(
        session[0]["command"],
        "squall contain aws role --case C-0001 -- web-role"
    );

    // The key minted for another user, that user (quoted for the shell), the policy, the
    // trail stopped, the rule opened.
    let keys = rows(scope, "access_key");
    let minted = keys
        .iter()
        .find(|r| r["value"] == "AKIANEWKEY0000000001")
        .unwrap();
    assert_eq!(minted["changes"][0]["change"], "created");
    assert_eq!(minted["changes"][0]["record_index"], 2);
    assert_eq!(minted["parent"], format!("user {HOSTILE_USER}"));
    let user = rows(scope, "user")
        .into_iter()
        .find(|r| r["value"] == HOSTILE_USER)
        .unwrap();
    assert_eq!(user["changes"].as_array().unwrap().len(), 2);
    // No IAM user can have that name: it is listed, never proposed to a command.
    assert!(user.get("command").is_none(), "{user}");
    assert_eq!(
        rows(scope, "managed_policy")[0]["changes"][0]["change"],
        "attached"
    );
    let trail = &rows(scope, "trail")[0]["changes"][0];
    assert_eq!(trail["change"], "stopped");
    assert_eq!(
        trail["principal"],
        "arn:aws:sts::111122223333:assumed-role/web-role/i-0123456789abcdef0"
    );
    // The bystander's key and user are listed as such, with no command.
    let bob = rows(scope, "access_key")
        .into_iter()
        .find(|r| r["value"] == "AKIABOBBOBBOBBOB0001")
        .unwrap();
    assert_eq!(bob["address_only"], true, "{bob}");
    assert!(bob.get("command").is_none(), "{bob}");
    let firewall = rows(scope, "firewall");
    assert_eq!(
        firewall[0]["changes"][0]["detail"],
        "ingress tcp 22 from 0.0.0.0/0"
    );
    assert_eq!(
        firewall[0]["command"],
        "squall recover aws firewall --case C-0001 --group sg-0b1a2c3d4e5f60789"
    );

    // The denied CreateUser is a failed call, and the user it named is nowhere a resource.
    let failed = rows(scope, "failed_call");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["error"], "AccessDenied");
    assert_eq!(failed[0]["attempted"][0], "user denied-user created");
    assert!(
        scope.iter().all(|r| r["value"] != "denied-user"),
        "a failed call touched nothing"
    );
    // The context rows earlier releases printed are still there.
    assert_eq!(rows(scope, "account")[0]["value"], "111122223333");
}

#[test]
fn scope_table_groups_by_kind_and_keeps_attacker_text_inert() {
    let (_dir, home) = hunted();
    let out = squall(&home)
        .args(["scope", "C-0001", "--format", "table"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        !text.contains('\u{1b}'),
        "an escape reached the terminal:\n{text}"
    );
    assert!(text.contains("instances (21):"), "{text}");
    assert!(text.contains("failed calls, not changes (1):"), "{text}");
    // One command for every instance, the quoted user inside another.
    let act = text
        .lines()
        .find(|l| l.contains("act: squall contain aws instance"))
        .unwrap();
    assert_eq!(act.matches(" i-").count(), 21, "{act}");
    assert!(
        text.contains("act: squall contain aws user --case C-0001 -- ci-deployer\n"),
        "{text}"
    );
    assert!(!text.contains("rm -rf ~'"), "{text}");
    // CSV: a cell per field, the same rows.
    let csv = squall(&home)
        .args(["scope", "C-0001", "--format", "csv"])
        .assert()
        .success();
    let csv = String::from_utf8(csv.get_output().stdout.clone()).unwrap();
    assert!(
        csv.starts_with("kind,value,first_seen,last_seen,events,"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("failed_call,iam:CreateUser,"))
    );
}

#[test]
fn timeline_and_report_show_failed_calls_as_failed() {
    let (_dir, home) = hunted();
    let events = lines(squall(&home).args(["timeline", "C-0001", "--format", "jsonl"]));
    let denied = events
        .iter()
        .find(|e| e["action"] == "iam:CreateUser")
        .unwrap();
    assert_eq!(denied["error"], "AccessDenied");
    assert!(
        denied.get("changes").is_none(),
        "a failed call changes nothing"
    );
    let minted = events
        .iter()
        .find(|e| e["action"] == "iam:CreateAccessKey")
        .unwrap();
    assert_eq!(minted["changes"][0]["id"], "AKIANEWKEY0000000001");
    assert!(minted.get("error").is_none());

    let table = squall(&home)
        .args(["timeline", "C-0001", "--format", "table"])
        .assert()
        .success();
    let table = String::from_utf8(table.get_output().stdout.clone()).unwrap();
    assert!(
        table
            .lines()
            .any(|l| l.contains("iam:CreateUser") && l.contains("(failed: AccessDenied)")),
        "{table}"
    );

    let html = squall(&home)
        .args(["timeline", "C-0001", "--format", "html"])
        .assert()
        .success();
    let html = String::from_utf8(html.get_output().stdout.clone()).unwrap();
    assert!(
        html.contains(r#"<span class="failed">(failed: AccessDenied)</span>"#),
        "{html}"
    );

    let report = squall(&home)
        .args(["report", "C-0001", "--format", "md"])
        .assert()
        .success();
    let report = String::from_utf8(report.get_output().stdout.clone()).unwrap();
    let touched = report
        .split("## What the attacker touched")
        .nth(1)
        .expect("the report lists what was touched")
        .split("\n## ")
        .next()
        .unwrap();
    assert!(
        touched.contains("| AKIANEWKEY0000000001 | created"),
        "{touched}"
    );
    assert!(
        touched.contains("### Failed calls (no change)"),
        "{touched}"
    );
    assert!(!touched.contains('\u{1b}'));
    // The denied user appears only among the failed calls.
    let (changes, failed) = touched.split_once("### Failed calls").unwrap();
    assert!(!changes.contains("denied-user"), "{changes}");
    assert!(failed.contains("denied-user"));
}

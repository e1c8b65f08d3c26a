//! The stolen-credential detector through the whole hunt, on CloudTrail records written for
//! these tests: what must fire (an instance role's key used outside AWS, or from a foreign
//! instance; a role session from two networks; a long-term key from a new network hours
//! after its last use) and the look-alikes that must not (an instance behind NAT and a VPC
//! endpoint, a Lambda function, a service calling on a role's behalf, a CI runner pool).

use std::io::Write;

use serde_json::{Value, json};
use squall_detect::{Collector, Detection, HuntOptions, Progress, hunt, rules};
use squall_logs::discover;

const ACCOUNT: &str = "111122223333";
const INSTANCE: &str = "i-0123456789abcdef0";

/// 3.80.0.0/12 is EC2 in us-east-1 and 13.52.0.0/16 EC2 in us-west-1 in AWS's ranges.
const NAT: &str = "3.84.10.10";
const FOREIGN_EC2: &str = "13.52.7.7";
const ATTACKER: &str = "198.51.100.66";

fn instance_session(key: &str) -> Value {
    json!({"type": "AssumedRole", "accessKeyId": key, "accountId": ACCOUNT,
        "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/web-role/{INSTANCE}"),
        "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "web-role"},
            "ec2RoleDelivery": "2.0"}})
}

fn role_session(key: &str, session: &str) -> Value {
    json!({"type": "AssumedRole", "accessKeyId": key, "accountId": ACCOUNT,
        "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/ops/{session}"),
        "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "ops"}}})
}

fn user_key(key: &str) -> Value {
    json!({"type": "IAMUser", "accessKeyId": key, "accountId": ACCOUNT, "userName": "ci",
        "arn": format!("arn:aws:iam::{ACCOUNT}:user/ci")})
}

/// A record of `who` calling from `ip` at `time` (on 2026-11-02).
fn call(who: Value, ip: &str, time: &str, extra: Value) -> Value {
    let mut r = json!({"eventVersion": "1.09", "eventTime": format!("2026-11-02T{time}Z"),
        "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets", "awsRegion": "us-east-1",
        "sourceIPAddress": ip, "recipientAccountId": ACCOUNT, "userIdentity": who});
    for (k, v) in extra.as_object().unwrap() {
        r[k] = v.clone();
    }
    r
}

/// Hunts `records` (one file) with the built-in rules; the detector's detections, as
/// (title, address, where, record index).
fn hunted(records: &[Value]) -> Vec<(String, String, String, u64)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trail.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    for r in records {
        writeln!(f, "{r}").unwrap();
    }
    drop(f);
    let mut set = rules::load(&[], true, None);
    let sink = Collector::default();
    hunt(
        &discover(&[path]).inputs,
        &mut set,
        &HuntOptions::default(),
        &Progress::default(),
        &sink,
    );
    let (found, _) = sink.into_sorted();
    found
        .iter()
        .filter(|d| d.rule.source == "builtin:native/credentials")
        .map(|d: &Detection| {
            let facts = d
                .correlation
                .as_ref()
                .expect("a detector finding has facts");
            let fact = |k: &str| {
                facts
                    .group
                    .iter()
                    .find(|(name, _)| name == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            (
                d.rule.title.clone(),
                fact("sourceIPAddress"),
                fact("seen from"),
                d.evidence.record_index,
            )
        })
        .collect()
}

#[test]
fn an_instance_role_key_used_outside_aws_is_found_on_its_first_foreign_call() {
    let found = hunted(&[
        call(
            instance_session("ASIAWEB0000000000001"),
            NAT,
            "10:00:00",
            json!({}),
        ),
        call(
            instance_session("ASIAWEB0000000000001"),
            NAT,
            "10:05:00",
            json!({}),
        ),
        call(
            instance_session("ASIAWEB0000000000001"),
            ATTACKER,
            "11:10:00",
            json!({}),
        ),
        call(
            instance_session("ASIAWEB0000000000001"),
            ATTACKER,
            "11:11:00",
            json!({}),
        ),
    ]);
    assert_eq!(
        found,
        [(
            "Instance Role Credentials Used Outside AWS".to_string(),
            ATTACKER.to_string(),
            "outside AWS".to_string(),
            2
        )]
    );
}

#[test]
fn an_instance_role_key_used_from_a_foreign_instance_is_found() {
    let found = hunted(&[
        call(
            instance_session("ASIAWEB0000000000001"),
            NAT,
            "04:00:00",
            json!({}),
        ),
        call(
            instance_session("ASIAWEB0000000000002"),
            NAT,
            "10:00:00",
            json!({}),
        ),
        call(
            instance_session("ASIAWEB0000000000002"),
            FOREIGN_EC2,
            "10:30:00",
            json!({}),
        ),
    ]);
    assert_eq!(
        found,
        [(
            "Instance Role Credentials Used from Another AWS Address".to_string(),
            FOREIGN_EC2.to_string(),
            "AWS us-west-1 EC2".to_string(),
            2
        )]
    );
}

#[test]
fn a_role_session_key_used_from_two_networks_is_found() {
    let found = hunted(&[
        call(
            role_session("ASIAOPS0000000000001", "alice"),
            "203.0.113.10",
            "10:00:00",
            json!({}),
        ),
        call(
            role_session("ASIAOPS0000000000001", "alice"),
            ATTACKER,
            "10:20:00",
            json!({}),
        ),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].0,
        "Role Session Credentials Used from Two Networks"
    );
    assert_eq!(found[0].1, ATTACKER);
}

#[test]
fn a_long_term_key_used_from_a_new_network_hours_later_is_found() {
    let found = hunted(&[
        call(
            user_key("AKIACI00000000000001"),
            "203.0.113.10",
            "08:00:00",
            json!({}),
        ),
        call(
            user_key("AKIACI00000000000001"),
            "203.0.113.10",
            "09:00:00",
            json!({}),
        ),
        // 70 minutes after its last legitimate call, from elsewhere.
        call(
            user_key("AKIACI00000000000001"),
            ATTACKER,
            "10:10:00",
            json!({}),
        ),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "Long-Term Access Key Used from a New Network");
    assert_eq!((found[0].1.as_str(), found[0].3), (ATTACKER, 2));
}

#[test]
fn look_alikes_are_left_alone() {
    let endpoint = json!({"vpcEndpointId": "vpce-0abc1234"});
    let found = hunted(&[
        // An instance behind NAT, some calls through its VPC's endpoint, over two sessions.
        call(
            instance_session("ASIAWEB0000000000001"),
            NAT,
            "04:00:00",
            json!({}),
        ),
        call(
            instance_session("ASIAWEB0000000000001"),
            "10.0.1.5",
            "04:01:00",
            endpoint.clone(),
        ),
        call(
            instance_session("ASIAWEB0000000000002"),
            "10.0.1.5",
            "10:00:00",
            endpoint,
        ),
        call(
            instance_session("ASIAWEB0000000000002"),
            NAT,
            "10:01:00",
            json!({}),
        ),
        // A Lambda function's session: AWS addresses that change with every container.
        call(
            role_session("ASIAFN00000000000001", "reports"),
            "3.84.1.1",
            "10:00:00",
            json!({}),
        ),
        call(
            role_session("ASIAFN00000000000001", "reports"),
            "3.90.2.2",
            "10:05:00",
            json!({}),
        ),
        // A service calling on a role's behalf.
        call(
            json!({"type": "AssumedRole", "accessKeyId": "ASIAOPS0000000000009",
                "invokedBy": "cloudformation.amazonaws.com",
                "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/ops/cfn")}),
            "cloudformation.amazonaws.com",
            "10:00:00",
            json!({}),
        ),
        // A CI runner pool: one /24, hours apart.
        call(
            user_key("AKIACI00000000000002"),
            "203.0.113.10",
            "01:00:00",
            json!({}),
        ),
        call(
            user_key("AKIACI00000000000002"),
            "203.0.113.77",
            "06:00:00",
            json!({}),
        ),
        call(
            user_key("AKIACI00000000000002"),
            "203.0.113.200",
            "11:00:00",
            json!({}),
        ),
    ]);
    assert_eq!(found, []);
}

#[test]
fn the_stratus_detonation_of_stolen_instance_credentials_is_read_whole() {
    // Real records: the instance role's key used from the attacker's host, an EC2 address
    // that the instance itself never called from in the log. Without the instance's own
    // calls (or the inventory's address for it) nothing says that address is not the
    // instance's: the detector must not guess.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/stratus-red-team")
        .join("aws.credential-access.ec2-steal-instance-credentials.json");
    if !path.exists() {
        // A skip on a laptop without ../shared; in CI, which lays it beside the project, a
        // failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {} is absent",
            path.display()
        );
        eprintln!("SKIPPED: {} is absent", path.display());
        return;
    }
    let run = |options: &HuntOptions| {
        let mut set = rules::load(&[], true, None);
        let sink = Collector::default();
        let stats = hunt(
            &discover(std::slice::from_ref(&path)).inputs,
            &mut set,
            options,
            &Progress::default(),
            &sink,
        );
        // The IAM user's key and the instance's session, each from one address.
        assert_eq!(stats.credential_pairs, 2);
        let (found, _) = sink.into_sorted();
        found
            .into_iter()
            .filter(|d| d.rule.source == "builtin:native/credentials")
            .map(|d| (d.rule.title.clone(), d.summary.source_ip.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(&HuntOptions::default()), [], "a guess");
    // With the inventory's address for the instance (`inventory aws` in a case), the
    // attacker's EC2 address is not the instance's.
    let known = HuntOptions {
        instance_addresses: [(
            "i-786a3A8B5C0d92eF4".to_string(),
            vec!["34.210.17.3".to_string()],
        )]
        .into(),
        ..HuntOptions::default()
    };
    assert_eq!(
        run(&known),
        [(
            "Instance Role Credentials Used from Another AWS Address".to_string(),
            Some("18.236.253.47".to_string())
        )]
    );
}

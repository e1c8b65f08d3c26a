//! The drills' CloudTrail: a leaked CI key minting another user's key, granting admin,
//! launching twenty GPU instances and opening SSH to the world; an instance role's stolen
//! credentials stopping the trail from outside; a bystander behind the same address. Written
//! for these tests, hunted into a case by [`hunted`].

use std::path::Path;

use serde_json::{Value, json};

use super::squall;

pub const CI_KEY: &str = "AKIACIDEPLOYER000001";
pub const STOLEN: &str = "ASIASTOLEN0000000001";
pub const HOSTILE_USER: &str = "evil\u{1b}[31m; rm -rf ~";

pub fn record(minute: u32, name: &str, source: &str, req: Value, resp: Value) -> Value {
    json!({"eventVersion": "1.09", "eventTime": format!("2026-11-02T10:{minute:02}:00Z"),
           "eventSource": source, "eventName": name, "awsRegion": "eu-west-1",
           "sourceIPAddress": "203.0.113.7", "recipientAccountId": "111122223333",
           "eventID": format!("ev-{minute}"),
           "userIdentity": {"type": "IAMUser", "userName": "ci-deployer",
                            "arn": "arn:aws:iam::111122223333:user/ci-deployer",
                            "accountId": "111122223333", "accessKeyId": CI_KEY},
           "requestParameters": req, "responseElements": resp})
}

pub fn drill(dir: &Path) -> std::path::PathBuf {
    let mut denied = record(
        1,
        "CreateUser",
        "iam.amazonaws.com",
        json!({"userName": "denied-user"}),
        Value::Null,
    );
    denied["errorCode"] = json!("AccessDenied");
    let instances: Vec<Value> = (1..=20)
        .map(|i| {
            json!({"instanceId": format!("i-{i:017x}"), "instanceType": "p4d.24xlarge",
                        "keyName": "miner"})
        })
        .collect();
    // The instance's stolen role credentials, used from outside to blind the trail.
    let mut from_instance = record(
        9,
        "StopLogging",
        "cloudtrail.amazonaws.com",
        json!({"name": "org-trail"}),
        Value::Null,
    );
    // Someone else behind the attacker's address: listed, never acted on.
    let mut bystander = record(
        10,
        "ListBuckets",
        "s3.amazonaws.com",
        Value::Null,
        Value::Null,
    );
    bystander["userIdentity"] = json!({"type": "IAMUser", "userName": "bob",
        "arn": "arn:aws:iam::111122223333:user/bob", "accountId": "111122223333",
        "accessKeyId": "AKIABOBBOBBOBBOB0001"});
    from_instance["userIdentity"] = json!({"type": "AssumedRole", "accessKeyId": STOLEN,
        "arn": "arn:aws:sts::111122223333:assumed-role/web-role/i-0123456789abcdef0",
        "accountId": "111122223333",
        "sessionContext": {"ec2RoleDelivery": "2.0", "sessionIssuer": {"type": "Role",
            "userName": "web-role", "arn": "arn:aws:iam::111122223333:role/web-role"}}});
    let records = vec![
        record(
            0,
            "ListBuckets",
            "s3.amazonaws.com",
            Value::Null,
            Value::Null,
        ),
        denied,
        record(
            2,
            "CreateAccessKey",
            "iam.amazonaws.com",
            json!({"userName": HOSTILE_USER}),
            json!({"accessKey": {"accessKeyId": "AKIANEWKEY0000000001",
                                 "userName": HOSTILE_USER, "status": "Active"}}),
        ),
        record(
            3,
            "AttachUserPolicy",
            "iam.amazonaws.com",
            json!({"userName": HOSTILE_USER,
                   "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
            Value::Null,
        ),
        record(
            5,
            "RunInstances",
            "ec2.amazonaws.com",
            json!({"instanceType": "p4d.24xlarge"}),
            json!({"instancesSet": {"items": instances}}),
        ),
        record(
            7,
            "AuthorizeSecurityGroupIngress",
            "ec2.amazonaws.com",
            json!({"groupId": "sg-0b1a2c3d4e5f60789", "ipPermissions": {"items": [{"ipProtocol": "tcp",
                "fromPort": 22, "toPort": 22,
                "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}),
            json!({"_return": true}),
        ),
        from_instance,
        bystander,
    ];
    let path = dir.join("trail.json");
    std::fs::write(&path, json!({ "Records": records }).to_string()).unwrap();
    path
}

/// A case hunted on the drill's log; returns its home.
pub fn hunted() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let log = drill(dir.path());
    squall(&home)
        .args(["hunt", "--new-case", "drill", "-q", "--format", "jsonl"])
        .arg(&log)
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "(what they touched: `squall scope C-0001`)",
        ));
    (dir, home)
}

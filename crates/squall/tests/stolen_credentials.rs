//! Stolen instance credentials, found with the estate's inventory (issue 12): the instance's
//! own calls are not in the log, only the thief's from another EC2 address; `inventory aws`
//! read the instance's public address, so a hunt into a case tells the thief's from it.
//! Against a real moto server.

mod common;

use common::moto::{moto, setup};
use serde_json::{Value, json};

/// A case hunt of `records` in `home`; the detections as `squall case show` keeps them.
fn hunt_into_case(moto: &common::moto::Moto, home: &std::path::Path, records: &[Value]) -> Value {
    let log = home.with_extension("trail.json");
    std::fs::write(&log, json!({ "Records": records }).to_string()).unwrap();
    common::moto::squall(home, &moto.url)
        .args([
            "hunt",
            "--new-case",
            "stolen role",
            "-q",
            "--format",
            "jsonl",
        ])
        .arg(&log)
        .assert()
        .success();
    json!(common::moto::ledger(home, moto))
}

#[test]
fn with_the_inventory_a_thiefs_ec2_address_is_not_taken_for_the_instances() {
    let Some(moto) = moto() else { return };
    let ids: Value = serde_json::from_str(&setup(
        &moto,
        r#"
ec2 = boto3.client('ec2', **kw)
image = ec2.describe_images(Owners=['amazon'])['Images'][0]['ImageId']
i = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)['Instances'][0]['InstanceId']
d = ec2.describe_instances(InstanceIds=[i])['Reservations'][0]['Instances'][0]
print(json.dumps({'instance': i, 'public': d.get('PublicIpAddress')}))
"#,
    ))
    .unwrap();
    let instance = ids["instance"].as_str().unwrap();
    assert!(
        ids["public"].is_string(),
        "moto gave no public address: {ids}"
    );
    // The thief's calls from an EC2 address in another region; the instance's own are not in
    // the log.
    let who = json!({"type": "AssumedRole", "accessKeyId": "ASIASTOLEN0000000001",
        "accountId": "123456789012",
        "arn": format!("arn:aws:sts::123456789012:assumed-role/web-role/{instance}"),
        "sessionContext": {"ec2RoleDelivery": "2.0", "sessionIssuer": {"type": "Role",
            "userName": "web-role"}}});
    let records: Vec<Value> = (0..3)
        .map(|n| {
            json!({"eventVersion": "1.09", "eventTime": format!("2026-11-02T10:0{n}:00Z"),
                "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets",
                "awsRegion": "us-east-1", "sourceIPAddress": "13.52.7.7",
                "recipientAccountId": "123456789012", "eventID": format!("ev-{n}"),
                "userIdentity": who})
        })
        .collect();
    let titles = |entries: &Value| -> Vec<String> {
        entries
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "detection.attached")
            .filter_map(|e| e["payload"]["rule_title"].as_str().map(str::to_string))
            .collect()
    };
    const FOUND: &str = "Instance Role Credentials Used from Another AWS Address";

    // Without the inventory, nothing says 13.52.7.7 is not the instance's own.
    let bare = tempfile::tempdir().unwrap();
    let home = bare.path().join("home");
    let entries = hunt_into_case(&moto, &home, &records);
    assert!(!titles(&entries).iter().any(|t| t == FOUND), "{entries:#}");

    // With it, the address is another's: found on the thief's first call.
    let known = tempfile::tempdir().unwrap();
    let home = known.path().join("home");
    common::moto::squall(&home, &moto.url)
        .args([
            "inventory",
            "aws",
            "--region",
            "us-east-1",
            "--format",
            "json",
        ])
        .assert()
        .success();
    let entries = hunt_into_case(&moto, &home, &records);
    assert!(titles(&entries).iter().any(|t| t == FOUND), "{entries:#}");
    // The hunt records which of AWS's ranges placed the address.
    let hunt = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "hunt.run")
        .expect("the hunt's entry");
    let ranges = &hunt["payload"]["aws_ip_ranges"];
    assert!(
        ranges["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("builtin:aws-ip-ranges.json (published 20")),
        "{hunt:#}"
    );
    assert_eq!(
        ranges["sha256"].as_str().map(str::len),
        Some(64),
        "{hunt:#}"
    );
}

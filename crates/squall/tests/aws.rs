//! The AWS inventory and key containment against a real moto server (one per test).

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::moto::{Moto, moto, setup};
use predicates::prelude::*;
use serde_json::Value;

fn squall(home: &Path, moto: &Moto) -> Command {
    common::moto::squall(home, &moto.url)
}

const ESTATE: &str = r#"
ec2 = boto3.client('ec2', **kw)
vpc = ec2.create_vpc(CidrBlock='10.0.0.0/16')['Vpc']['VpcId']
logged = ec2.create_vpc(CidrBlock='10.1.0.0/16')['Vpc']['VpcId']
ec2.create_flow_logs(ResourceIds=[logged], ResourceType='VPC', TrafficType='ALL',
    LogDestinationType='s3', LogDestination='arn:aws:s3:::flow-bucket')
sg = ec2.create_security_group(GroupName='bastion', Description='b', VpcId=vpc)['GroupId']
ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
    {'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22, 'IpRanges': [{'CidrIp': '0.0.0.0/0'}]}])
web = ec2.create_security_group(GroupName='web', Description='w', VpcId=vpc)['GroupId']
ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
    {'IpProtocol': 'tcp', 'FromPort': 443, 'ToPort': 443, 'IpRanges': [{'CidrIp': '0.0.0.0/0'}]}])
image = ec2.describe_images(Owners=['amazon'])['Images'][0]['ImageId']
ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType='t3.micro',
    TagSpecifications=[{'ResourceType': 'instance', 'Tags': [{'Key': 'Owner', 'Value': 'shop-team'},
                                                             {'Key': 'Environment', 'Value': 'prod'}]}])
ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType='t3.micro')
iam = boto3.client('iam', **kw)
iam.create_user(UserName='ci-deployer')
iam.create_access_key(UserName='ci-deployer')
import json
iam.create_role(RoleName='partner-audit', AssumeRolePolicyDocument=json.dumps({'Version': '2012-10-17',
    'Statement': [{'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::444455556666:root'}, 'Action': 'sts:AssumeRole'}]}))
s3 = boto3.client('s3', **kw)
s3.create_bucket(Bucket='trail-bucket')
ct = boto3.client('cloudtrail', **kw)
ct.create_trail(Name='main', S3BucketName='trail-bucket', IsMultiRegionTrail=False)
"#;

#[test]
fn inventory_aws_reports_what_is_wrong_and_feeds_triage() {
    let Some(moto) = moto() else { return };
    setup(&moto, ESTATE);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let out = squall(h, &moto)
        .args([
            "inventory",
            "aws",
            "--region",
            "us-east-1",
            "--role-name",
            "incident-response",
            "--format",
            "json",
        ])
        .assert()
        .success();
    let inv: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(inv["account"], "123456789012");
    let kinds: Vec<(&str, &str)> = inv["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["resource"].as_str().unwrap()))
        .collect();
    let has = |kind: &str| kinds.iter().any(|(k, _)| *k == kind);
    // SSH to the world is a finding; HTTPS to the world is not.
    assert_eq!(
        kinds
            .iter()
            .filter(|(k, _)| *k == "open-admin-port")
            .count(),
        1,
        "{kinds:?}"
    );
    for kind in [
        "cloudtrail-not-logging",
        "cloudtrail-single-region",
        "flow-logs-off",
        "unused-access-key",
        "unowned-instance",
        "ir-role-missing",
    ] {
        assert!(has(kind), "missing {kind} in {kinds:?}");
    }
    // One of the two instances has an owner; only the other is a finding.
    assert_eq!(
        kinds
            .iter()
            .filter(|(k, _)| *k == "unowned-instance")
            .count(),
        1
    );
    assert_eq!(inv["instances"].as_array().unwrap().len(), 2);
    assert_eq!(
        inv["roles_trusting_others"][0]["trusted_accounts"][0],
        "444455556666"
    );

    // The account is in the inventory now, with what the API knows.
    let listed = squall(h, &moto)
        .args(["inventory", "list", "--format", "json"])
        .assert()
        .success();
    let listed: Value = serde_json::from_slice(&listed.get_output().stdout).unwrap();
    let account = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "123456789012")
        .unwrap();
    assert_eq!(account["trusts"][0], "444455556666");
    assert_eq!(account["regions"][0], "us-east-1");

    // A case that names the owned instance: triage answers "production or test?" from the
    // instance's own Environment tag, as `inventory aws` read it, and says where it read it.
    let instance = inv["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["owner"] == "shop-team")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let event = serde_json::json!({"eventVersion": "1.09", "eventTime": "2026-10-02T09:14:07Z",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/dana",
                         "accountId": "123456789012", "accessKeyId": "AKIAEXAMPLEKEY00001",
                         "userName": "dana"},
        "eventSource": "ec2-instance-connect.amazonaws.com", "eventName": "SendSSHPublicKey",
        "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.23",
        "requestParameters": {"instanceId": instance, "instanceOSUser": "ec2-user"},
        "responseElements": null, "eventID": "e-1", "recipientAccountId": "123456789012"});
    let log = h.join("trail.jsonl");
    std::fs::write(&log, format!("{event}\n")).unwrap();
    squall(h, &moto)
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
    let triage = squall(h, &moto)
        .args(["triage", "C-0001", "--format", "json"])
        .assert()
        .success();
    let triage: Value = serde_json::from_slice(&triage.get_output().stdout).unwrap();
    let answer = triage["assets"][0]["answers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["question"] == "Production or test?")
        .map(|a| a["answer"].clone());
    assert_eq!(
        answer,
        Some(Value::from(format!(
            "production (tag Environment=prod on instance {instance})"
        ))),
        "{triage}"
    );
}

#[test]
fn inventory_aws_keeps_what_the_team_wrote_down() {
    let Some(moto) = moto() else { return };
    setup(&moto, "boto3.client('iam', **kw).create_user(UserName='x')");
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let file = h.join("inventory.yaml");
    std::fs::write(
        &file,
        "accounts:\n  - id: '123456789012'\n    provider: aws\n    owner: Dana\n    env: prod\n",
    )
    .unwrap();
    squall(h, &moto)
        .args(["inventory", "import"])
        .arg(&file)
        .assert()
        .success();
    squall(h, &moto)
        .args([
            "inventory",
            "aws",
            "--region",
            "eu-west-1",
            "--format",
            "json",
        ])
        .assert()
        .success();
    let listed = squall(h, &moto)
        .args(["inventory", "list", "--format", "json"])
        .assert()
        .success();
    let listed: Value = serde_json::from_slice(&listed.get_output().stdout).unwrap();
    let account = &listed[0];
    assert_eq!(account["owner"], "Dana");
    assert_eq!(account["env"], "prod");
    assert_eq!(account["corp_reach"][0], "none");
}

#[test]
fn missing_credentials_say_what_was_tried() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::cargo_bin("squall").unwrap();
    cmd.env("SQUALL_HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .args(["inventory", "aws", "--region", "us-east-1"]);
    let out = cmd.assert().code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("credentials") && stderr.contains("help:"),
        "{stderr}"
    );
}

#[test]
fn containing_a_key_is_planned_approved_executed_verified_and_recorded() {
    let Some(moto) = moto() else { return };
    let key_file = tempfile::NamedTempFile::new().unwrap();
    setup(
        &moto,
        &format!(
            "iam = boto3.client('iam', **kw)\niam.create_user(UserName='ci-deployer')\nk = iam.create_access_key(UserName='ci-deployer')['AccessKey']['AccessKeyId']\nopen({:?}, 'w').write(k)",
            key_file.path().display().to_string()
        ),
    );
    let key = std::fs::read_to_string(key_file.path()).unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    squall(h, &moto)
        .args(["case", "new", "--title", "Leaked key"])
        .assert()
        .success();
    let status = |moto: &Moto| {
        let out = squall(h, moto)
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
        let inv: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        inv["access_keys"][0]["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // Without --yes: the plan, and nothing changes anywhere.
    squall(h, &moto)
        .args([
            "contain",
            "aws",
            "key",
            &key,
            "--case",
            "C-0001",
            "--region",
            "us-east-1",
        ])
        .assert()
        .success()
        .stderr(
            predicates::str::contains("before: {\"status\":\"Active\"")
                .and(predicates::str::contains("add --yes")),
        );
    assert_eq!(status(&moto), "Active");
    let ledger_kinds = |h: &Path| {
        let out = squall(h, &moto)
            .args(["ledger", "export", "C-0001"])
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(ledger_kinds(h), vec!["case.opened"]);
    // With --yes: executed and verified against a fresh read.
    squall(h, &moto)
        .args([
            "contain",
            "aws",
            "key",
            &key,
            "--case",
            "C-0001",
            "--region",
            "us-east-1",
            "--yes",
        ])
        .assert()
        .success()
        .stderr(predicates::str::contains("verified"));
    assert_eq!(status(&moto), "Inactive");
    assert_eq!(
        ledger_kinds(h),
        vec![
            "case.opened",
            "action.planned",
            "action.executed",
            "action.verified"
        ]
    );
    // Again: converges, changes nothing, says so.
    squall(h, &moto)
        .args([
            "contain",
            "aws",
            "key",
            &key,
            "--case",
            "C-0001",
            "--region",
            "us-east-1",
            "--yes",
        ])
        .assert()
        .success()
        .stderr(predicates::str::contains("nothing changed"));
    assert_eq!(
        ledger_kinds(h),
        vec![
            "case.opened",
            "action.planned",
            "action.executed",
            "action.verified",
            "action.planned",
            "action.verified"
        ]
    );
    // The postmortem lists the actions.
    let out = squall(h, &moto)
        .args(["report", "C-0001"])
        .assert()
        .success();
    let report = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        report.contains(&format!("executed deactivate-access-key on {key}")),
        "{report}"
    );
    assert!(
        report.contains(&format!("| deactivate-access-key | {key} | verified |")),
        "{report}"
    );
}

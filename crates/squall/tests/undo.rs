//! Undoing what the attacker changed (`squall recover aws detach-policy`, `delete-inline-policy`,
//! `policy-version`, `trust-policy`, `start-logging`, `restore-trail`, `delete-key-pair`,
//! `unshare`, `revoke-rule`, `disable-login`) and removing what it made (`delete-user`,
//! `delete-role`, `delete-policy`), against a real moto server (one per test). Each story plans first (nothing
//! changes), approves (the change is read back with boto3, not Squall), runs again
//! (unchanged), and for deletions finds the description in the ledger before the deletion's
//! entry.

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::moto::{Moto, ledger, moto, read, setup};
use serde_json::{Value, json};

fn squall(home: &Path, moto: &Moto) -> Command {
    common::moto::squall(home, &moto.url)
}

/// A private home with case C-0001 open in it.
fn case_home(moto: &Moto) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    common::moto::new_case(home.path(), moto, "Attacker persistence");
    home
}

/// `squall recover aws ARGS --case C-0001 --format json [--yes]`: its outcomes, one per
/// resource. Any exit code is accepted; the outcomes say how it went.
fn recover(home: &Path, moto: &Moto, args: &[&str], yes: bool) -> Value {
    let mut cmd = squall(home, moto);
    cmd.args(["recover", "aws"])
        .args(args)
        .args(["--case", "C-0001", "--format", "json"]);
    if yes {
        cmd.arg("--yes");
    }
    let out = cmd.output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no outcomes ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Plan-only, then approved, then again: planned, verified, unchanged. `state` reads the
/// cloud with boto3; the plan alone must not change it nor record anything.
fn plan_approve_again(h: &Path, moto: &Moto, args: &[&str], state: &dyn Fn() -> Value) -> Value {
    let original = state();
    let ledger_before = ledger(h, moto).len();
    let planned = recover(h, moto, args, false);
    assert_eq!(planned[0]["status"], "planned", "{planned}");
    assert_eq!(state(), original, "the plan alone changed the cloud");
    assert_eq!(
        ledger(h, moto).len(),
        ledger_before,
        "the plan alone was recorded"
    );
    let done = recover(h, moto, args, true);
    assert_eq!(done[0]["status"], "verified", "{done}");
    let changed = state();
    assert_ne!(changed, original, "verified, but boto3 sees no change");
    let again = recover(h, moto, args, true);
    assert_eq!(again[0]["status"], "unchanged", "{again}");
    assert_eq!(state(), changed);
    changed
}

/// Whether IAM answers `call` (`get_user(UserName='x')`) or says there is no such entity,
/// read with boto3.
fn iam_exists(moto: &Moto, call: &str) -> Value {
    read(
        moto,
        &format!(
            "iam = boto3.client('iam', **kw)\ntry:\n    iam.{call}; print('true')\nexcept iam.exceptions.NoSuchEntityException:\n    print('false')"
        ),
    )
}

/// Approved, the verb fails on its one resource with an error that says `says`.
fn refused(home: &Path, moto: &Moto, args: &[&str], says: &str) {
    let out = recover(home, moto, args, true);
    assert_eq!(out[0]["status"], "failed", "{out}");
    let error = out[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains(says), "{out}");
}

/// The approved plan of `action` on `resource`, and the seq of the entry that executed it:
/// the plan (with what it recorded in `before`) must come first.
fn recorded_before_execution(entries: &[Value], action: &str, resource: &str) -> Value {
    let plan = entries
        .iter()
        .find(|e| {
            e["kind"] == "action.planned"
                && e["payload"]["plan"]["action"] == action
                && e["payload"]["plan"]["resource"] == resource
                && e["payload"]["plan"]["already_done"] == false
        })
        .unwrap_or_else(|| panic!("no plan of {action} {resource} in {entries:?}"));
    let executed = entries
        .iter()
        .find(|e| {
            e["kind"] == "action.executed"
                && e["payload"]["action"] == action
                && e["payload"]["resource"] == resource
        })
        .unwrap_or_else(|| panic!("no execution of {action} {resource}"));
    assert!(
        plan["seq"].as_u64() < executed["seq"].as_u64(),
        "the plan must be recorded before the execution"
    );
    plan["payload"]["plan"]["before"].clone()
}

const ATTACKER_POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#;

#[test]
fn detaching_and_deleting_the_attackers_policies_keeps_each_document_in_the_ledger() {
    let Some(moto) = moto() else { return };
    let arn = setup(
        &moto,
        &format!(
            r#"
iam = boto3.client('iam', **kw)
iam.create_user(UserName='mallory')
iam.create_group(GroupName='ops')
iam.create_role(RoleName='app', AssumeRolePolicyDocument=json.dumps({{'Version': '2012-10-17',
    'Statement': [{{'Effect': 'Allow', 'Principal': {{'Service': 'ec2.amazonaws.com'}}, 'Action': 'sts:AssumeRole'}}]}}))
arn = iam.create_policy(PolicyName='god-mode', PolicyDocument='{ATTACKER_POLICY}')['Policy']['Arn']
iam.attach_user_policy(UserName='mallory', PolicyArn=arn)
iam.attach_group_policy(GroupName='ops', PolicyArn=arn)
iam.put_role_policy(RoleName='app', PolicyName='backdoor', PolicyDocument='{ATTACKER_POLICY}')
iam.put_role_policy(RoleName='app', PolicyName='app-s3', PolicyDocument=json.dumps({{'Version': '2012-10-17',
    'Statement': [{{'Effect': 'Allow', 'Action': 's3:GetObject', 'Resource': '*'}}]}}))
print(arn)
"#
        ),
    );
    let home = case_home(&moto);
    let h = home.path();
    let iam_state = || -> Value {
        read(
            &moto,
            r#"
iam = boto3.client('iam', **kw)
print(json.dumps({
    'user': [p['PolicyArn'] for p in iam.list_attached_user_policies(UserName='mallory')['AttachedPolicies']],
    'group': [p['PolicyArn'] for p in iam.list_attached_group_policies(GroupName='ops')['AttachedPolicies']],
    'policies': [p['PolicyName'] for p in iam.list_policies(Scope='Local')['Policies']],
    'inline': iam.list_role_policies(RoleName='app')['PolicyNames']}))
"#,
        )
    };

    // The managed policy comes off the user; the group keeps it, and the policy stays.
    let detached = plan_approve_again(
        h,
        &moto,
        &["detach-policy", "--user", "mallory", "--policy-arn", &arn],
        &iam_state,
    );
    assert_eq!(detached["user"], json!([]));
    assert_eq!(detached["group"], json!([arn]));
    assert_eq!(detached["policies"], json!(["god-mode"]));

    // The inline policy goes only once its document is in the ledger; the role's other stays.
    let deleted = plan_approve_again(
        h,
        &moto,
        &[
            "delete-inline-policy",
            "--role",
            "app",
            "--policy",
            "backdoor",
        ],
        &iam_state,
    );
    assert_eq!(deleted["inline"], json!(["app-s3"]));
    let before = recorded_before_execution(
        &ledger(h, &moto),
        "delete-inline-policy",
        "role/app:backdoor",
    );
    assert_eq!(
        before["document"],
        serde_json::from_str::<Value>(ATTACKER_POLICY).unwrap()
    );

    // A name the role does not have is an error naming it and the ones it has.
    let typo = recover(
        h,
        &moto,
        &[
            "delete-inline-policy",
            "--role",
            "app",
            "--policy",
            "backdor",
        ],
        true,
    );
    assert_eq!(typo[0]["status"], "failed", "{typo}");
    assert_eq!(
        typo[0]["error"],
        "role/app has no inline policy backdor (its inline policies: app-s3); nothing to delete"
    );
    assert_eq!(iam_state()["inline"], json!(["app-s3"]));
}

#[test]
fn restoring_a_policy_version_and_a_trust_policy_records_what_was_in_force() {
    let Some(moto) = moto() else { return };
    let arn = setup(
        &moto,
        &format!(
            r#"
iam = boto3.client('iam', **kw)
good = json.dumps({{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Action': 's3:GetObject', 'Resource': '*'}}]}})
arn = iam.create_policy(PolicyName='app', PolicyDocument=good)['Policy']['Arn']
iam.create_policy_version(PolicyArn=arn, PolicyDocument='{ATTACKER_POLICY}', SetAsDefault=True)
iam.create_role(RoleName='deployer', AssumeRolePolicyDocument=json.dumps({{'Version': '2012-10-17',
    'Statement': [{{'Effect': 'Allow', 'Principal': {{'AWS': 'arn:aws:iam::999999999999:root'}}, 'Action': 'sts:AssumeRole'}}]}}))
print(arn)
"#
        ),
    );
    let home = case_home(&moto);
    let h = home.path();
    let default = || -> Value {
        read(
            &moto,
            &format!(
                "iam = boto3.client('iam', **kw)\nprint(json.dumps([v['VersionId'] for v in iam.list_policy_versions(PolicyArn={arn:?})['Versions'] if v['IsDefaultVersion']]))"
            ),
        )
    };
    assert_eq!(default(), json!(["v2"]));
    let restored = plan_approve_again(
        h,
        &moto,
        &["policy-version", &arn, "--default-version", "v1"],
        &default,
    );
    assert_eq!(restored, json!(["v1"]));
    let entries = ledger(h, &moto);
    let before = recorded_before_execution(&entries, "restore-policy-version", &arn);
    assert_eq!(before["default_version"], "v2");
    assert_eq!(before["default_document"]["Statement"][0]["Action"], "*");
    assert_eq!(
        before["restore_document"]["Statement"][0]["Action"],
        "s3:GetObject"
    );
    // A version the policy does not have: refused, naming the ones it has.
    refused(
        h,
        &moto,
        &["policy-version", &arn, "--default-version", "v9"],
        "has no version v9 (its versions: v1 (default), v2)",
    );

    let good = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let file = h.join("deployer-trust.json");
    std::fs::write(&file, good.to_string()).unwrap();
    let trust = || -> Value {
        read(
            &moto,
            "iam = boto3.client('iam', **kw)\nprint(json.dumps(iam.get_role(RoleName='deployer')['Role']['AssumeRolePolicyDocument']))",
        )
    };
    let after = plan_approve_again(
        h,
        &moto,
        &[
            "trust-policy",
            "deployer",
            "--from-file",
            file.to_str().unwrap(),
        ],
        &trust,
    );
    assert_eq!(after, good);
    let before = recorded_before_execution(&ledger(h, &moto), "restore-trust-policy", "deployer");
    assert_eq!(
        before["trust_policy"]["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::999999999999:root"
    );
    // A file that is not JSON is named, and nothing changes.
    std::fs::write(&file, "not json").unwrap();
    let out = squall(h, &moto)
        .args(["recover", "aws", "trust-policy", "deployer", "--from-file"])
        .arg(&file)
        .args(["--case", "C-0001", "--yes"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("deployer-trust.json is not JSON"),
        "{stderr}"
    );
    assert_eq!(trust(), good);
}

#[test]
fn a_stopped_trail_logs_again_as_its_status_says() {
    let Some(moto) = moto() else { return };
    setup(
        &moto,
        r#"
s3 = boto3.client('s3', **kw)
s3.create_bucket(Bucket='org-trail-logs')
ct = boto3.client('cloudtrail', **kw)
ct.create_trail(Name='main', S3BucketName='org-trail-logs', IsMultiRegionTrail=True)
ct.start_logging(Name='main')
ct.stop_logging(Name='main')
"#,
    );
    let home = case_home(&moto);
    let h = home.path();
    let logging = || -> Value {
        read(
            &moto,
            "ct = boto3.client('cloudtrail', **kw)\nprint(json.dumps(ct.get_trail_status(Name='main')['IsLogging']))",
        )
    };
    assert_eq!(logging(), false);
    assert_eq!(
        plan_approve_again(h, &moto, &["start-logging", "main"], &logging),
        true
    );
    // A trail that does not exist is named in the error.
    refused(
        h,
        &moto,
        &["start-logging", "no-such-trail"],
        "cloudtrail:GetTrailStatus failed on no-such-trail",
    );
}

#[test]
fn a_key_pair_the_attacker_made_is_deleted_only_after_its_public_key_is_recorded() {
    let Some(moto) = moto() else { return };
    setup(
        &moto,
        "ec2 = boto3.client('ec2', **kw)\nec2.create_key_pair(KeyName='backdoor')\nec2.create_key_pair(KeyName='deploy')",
    );
    let home = case_home(&moto);
    let h = home.path();
    let keys = || -> Value {
        read(
            &moto,
            "ec2 = boto3.client('ec2', **kw)\nprint(json.dumps({k['KeyName']: k.get('PublicKey') for k in ec2.describe_key_pairs(IncludePublicKey=True)['KeyPairs']}))",
        )
    };
    let original = keys();
    let public = original["backdoor"].as_str().unwrap().to_string();
    assert!(public.starts_with("ssh-"), "{public}");
    let left = plan_approve_again(h, &moto, &["delete-key-pair", "backdoor"], &keys);
    assert_eq!(left, json!({"deploy": original["deploy"]}));
    let before = recorded_before_execution(&ledger(h, &moto), "delete-key-pair", "backdoor");
    assert_eq!(before["key_pair"]["public_key"], public.as_str());
    assert_eq!(before["key_pair"]["name"], "backdoor");
    assert!(before["key_pair"]["fingerprint"].is_string(), "{before}");

    // A key pair that never existed is an error naming it.
    let none = recover(h, &moto, &["delete-key-pair", "no-such-key"], true);
    assert_eq!(none[0]["status"], "failed", "{none}");
    assert_eq!(
        none[0]["error"],
        "key pair no-such-key not found in us-east-1 (ec2:DescribeKeyPairs); nothing to delete (help: --region for another region)"
    );
}

#[test]
fn unsharing_a_snapshot_and_an_ami_takes_the_named_accounts_and_the_public_out() {
    let Some(moto) = moto() else { return };
    let ids: Value = read(
        &moto,
        r#"
ec2 = boto3.client('ec2', **kw)
vol = ec2.create_volume(AvailabilityZone='us-east-1a', Size=8)['VolumeId']
snap = ec2.create_snapshot(VolumeId=vol)['SnapshotId']
ec2.modify_snapshot_attribute(SnapshotId=snap, Attribute='createVolumePermission', OperationType='add',
    UserIds=['999988887777', '111122223333'], GroupNames=['all'])
image = ec2.describe_images(Owners=['amazon'])['Images'][0]['ImageId']
i = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)['Instances'][0]['InstanceId']
ami = ec2.create_image(InstanceId=i, Name='web-golden')['ImageId']
ec2.modify_image_attribute(ImageId=ami, LaunchPermission={'Add': [{'UserId': '999988887777'}, {'Group': 'all'}]})
print(json.dumps({'snapshot': snap, 'ami': ami}))
"#,
    );
    let (snap, ami) = (
        ids["snapshot"].as_str().unwrap(),
        ids["ami"].as_str().unwrap(),
    );
    let home = case_home(&moto);
    let h = home.path();
    let shared = || -> Value {
        read(
            &moto,
            &format!(
                r#"
ec2 = boto3.client('ec2', **kw)
who = lambda ps: sorted(p.get('UserId') or p.get('Group') for p in ps)
print(json.dumps({{
    'snapshot': who(ec2.describe_snapshot_attribute(SnapshotId={snap:?}, Attribute='createVolumePermission')['CreateVolumePermissions']),
    'ami': who(ec2.describe_image_attribute(ImageId={ami:?}, Attribute='launchPermission')['LaunchPermissions'])}}))
"#
            ),
        )
    };
    assert_eq!(
        shared(),
        json!({"snapshot": ["111122223333", "999988887777", "all"], "ami": ["999988887777", "all"]})
    );
    // The snapshot stays shared with the account not named.
    let after = plan_approve_again(
        h,
        &moto,
        &[
            "unshare",
            "--snapshot",
            snap,
            "--from",
            "999988887777",
            "--from",
            "all",
        ],
        &shared,
    );
    assert_eq!(after["snapshot"], json!(["111122223333"]));
    assert_eq!(after["ami"], json!(["999988887777", "all"]));
    let after = plan_approve_again(
        h,
        &moto,
        &[
            "unshare",
            "--image",
            ami,
            "--from",
            "all",
            "--from",
            "999988887777",
        ],
        &shared,
    );
    assert_eq!(after["ami"], json!([]));
    let before = recorded_before_execution(&ledger(h, &moto), "unshare-image", ami);
    assert_eq!(before["shared_with"], json!(["999988887777", "all"]));
    // Not an account: refused before anything is read or changed.
    let bad = recover(
        h,
        &moto,
        &["unshare", "--snapshot", snap, "--from", "everyone"],
        true,
    );
    assert_eq!(bad[0]["status"], "failed", "{bad}");
    assert_eq!(
        bad[0]["error"],
        format!("everyone is neither an account id (12 digits) nor all: {snap} is not changed")
    );
}

#[test]
fn revoking_the_attackers_ingress_rule_leaves_the_others_and_never_touches_squalls_groups() {
    let Some(moto) = moto() else { return };
    let ids: Value = read(
        &moto,
        r#"
ec2 = boto3.client('ec2', **kw)
vpc = ec2.create_vpc(CidrBlock='10.0.0.0/16')['Vpc']['VpcId']
web = ec2.create_security_group(GroupName='web', Description='w', VpcId=vpc)['GroupId']
ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
    {'IpProtocol': 'tcp', 'FromPort': 4444, 'ToPort': 4444, 'IpRanges': [{'CidrIp': '198.51.100.9/32'}]},
    {'IpProtocol': 'tcp', 'FromPort': 443, 'ToPort': 443, 'IpRanges': [{'CidrIp': '0.0.0.0/0'}]}])
own = ec2.create_security_group(GroupName='squall-isolation-allow-all', Description='Squall', VpcId=vpc,
    TagSpecifications=[{'ResourceType': 'security-group', 'Tags': [{'Key': 'squall:purpose', 'Value': 'squall-isolation-allow-all'}]}])['GroupId']
ec2.authorize_security_group_ingress(GroupId=own, IpPermissions=[{'IpProtocol': '-1', 'IpRanges': [{'CidrIp': '0.0.0.0/0'}]}])
print(json.dumps({'web': web, 'own': own}))
"#,
    );
    let (web, own) = (ids["web"].as_str().unwrap(), ids["own"].as_str().unwrap());
    let home = case_home(&moto);
    let h = home.path();
    let rules = || -> Value {
        read(
            &moto,
            &format!(
                "ec2 = boto3.client('ec2', **kw)\nprint(json.dumps(sorted('%s:%s:%s' % (p['IpProtocol'], p.get('FromPort'), r['CidrIp']) for g in ec2.describe_security_groups(GroupIds=[{web:?}, {own:?}])['SecurityGroups'] for p in g['IpPermissions'] for r in p['IpRanges'])))"
            ),
        )
    };
    let after = plan_approve_again(
        h,
        &moto,
        &[
            "revoke-rule",
            "--group",
            web,
            "--protocol",
            "tcp",
            "--port",
            "4444",
            "--cidr",
            "198.51.100.9/32",
        ],
        &rules,
    );
    assert_eq!(after, json!(["-1:None:0.0.0.0/0", "tcp:443:0.0.0.0/0"]));
    refused(
        h,
        &moto,
        &[
            "revoke-rule",
            "--group",
            own,
            "--protocol",
            "all",
            "--cidr",
            "0.0.0.0/0",
        ],
        "is Squall's own isolation group",
    );
    assert_eq!(rules(), after);
}

#[test]
fn disabling_a_console_login_records_that_it_existed_and_when_it_was_made() {
    let Some(moto) = moto() else { return };
    setup(
        &moto,
        "iam = boto3.client('iam', **kw)\niam.create_user(UserName='mallory')\niam.create_login_profile(UserName='mallory', Password='Secret-Passw0rd!')",
    );
    let home = case_home(&moto);
    let h = home.path();
    let login = || iam_exists(&moto, "get_login_profile(UserName='mallory')");
    assert_eq!(
        plan_approve_again(h, &moto, &["disable-login", "mallory"], &login),
        false
    );
    let entries = ledger(h, &moto);
    let before = recorded_before_execution(&entries, "disable-login", "mallory");
    assert_eq!(before["console_login"], true);
    assert!(
        before["login_profile_created"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{before}"
    );
    // A user that does not exist is an error naming it, not a user without a login.
    refused(
        h,
        &moto,
        &["disable-login", "nobody"],
        "iam:GetUser failed on nobody",
    );
}

#[test]
fn deleting_the_attackers_user_records_everything_on_it_first_and_keeps_what_is_shared() {
    let Some(moto) = moto() else { return };
    setup(
        &moto,
        &format!(
            r#"
import datetime
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
iam = boto3.client('iam', **kw)
iam.create_user(UserName='backup-admin', Tags=[{{'Key': 'team', 'Value': 'ops'}}])
iam.create_group(GroupName='ops')
iam.add_user_to_group(GroupName='ops', UserName='backup-admin')
arn = iam.create_policy(PolicyName='god-mode', PolicyDocument='{ATTACKER_POLICY}')['Policy']['Arn']
iam.attach_user_policy(UserName='backup-admin', PolicyArn=arn)
iam.put_user_policy(UserName='backup-admin', PolicyName='backdoor', PolicyDocument='{ATTACKER_POLICY}')
iam.create_access_key(UserName='backup-admin')
iam.create_login_profile(UserName='backup-admin', Password='Secret-Passw0rd!')
iam.upload_ssh_public_key(UserName='backup-admin', SSHPublicKeyBody='ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 backup@attacker')
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'backup-admin')])
now = datetime.datetime(2026, 11, 1)
cert = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()) \
    .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=365)) \
    .sign(key, hashes.SHA256())
iam.upload_signing_certificate(UserName='backup-admin',
    CertificateBody=cert.public_bytes(serialization.Encoding.PEM).decode())
serial = iam.create_virtual_mfa_device(VirtualMFADeviceName='backup-admin')['VirtualMFADevice']['SerialNumber']
iam.enable_mfa_device(UserName='backup-admin', SerialNumber=serial, AuthenticationCode1='123456', AuthenticationCode2='654321')
"#
        ),
    );
    let home = case_home(&moto);
    let h = home.path();
    let user = || iam_exists(&moto, "get_user(UserName='backup-admin')");
    // A namesake of the user the attacker made (another IAM id) is never deleted.
    refused(
        h,
        &moto,
        &[
            "delete-user",
            "--id",
            "AIDANOTTHEONE0000001",
            "backup-admin",
        ],
        "another of the same name",
    );
    assert_eq!(
        plan_approve_again(h, &moto, &["delete-user", "backup-admin"], &user),
        false
    );
    let entries = ledger(h, &moto);
    let before = recorded_before_execution(&entries, "delete-user", "backup-admin");
    assert_eq!(before["exists"], true);
    assert_eq!(before["tags"]["team"], "ops");
    assert_eq!(before["groups"], json!(["ops"]));
    assert_eq!(
        before["inline_policies"]["backdoor"]["Statement"][0]["Action"],
        "*"
    );
    assert!(
        before["attached_policies"][0]
            .as_str()
            .unwrap()
            .ends_with("policy/god-mode")
    );
    assert_eq!(before["access_keys"].as_array().unwrap().len(), 1);
    assert!(before["login_profile"]["created"].is_string(), "{before}");
    assert!(
        before["ssh_public_keys"][0]["body"]
            .as_str()
            .unwrap()
            .contains("backup@attacker")
    );
    assert!(
        before["signing_certificates"][0]["body"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    assert_eq!(before["mfa_devices"].as_array().unwrap().len(), 1);
    // When its key was last used goes with it: recorded too.
    let key = before["access_keys"][0]["id"].as_str().unwrap();
    assert!(before["usage"]["access_keys"][key].is_object(), "{before}");
    // What the user shared with others stays: the group, the policy, the MFA device.
    let kept = read(
        &moto,
        "iam = boto3.client('iam', **kw)\nprint(json.dumps([iam.get_group(GroupName='ops')['Group']['GroupName'], [p['PolicyName'] for p in iam.list_policies(Scope='Local')['Policies']], len(iam.list_virtual_mfa_devices()['VirtualMFADevices'])]))",
    );
    assert_eq!(kept, json!(["ops", ["god-mode"], 1]));
    // A user that does not exist is an error naming it.
    refused(h, &moto, &["delete-user", "nobody"], "no IAM user nobody");
}

#[test]
fn a_narrowed_trail_records_every_management_event_again_and_keeps_its_data_selectors() {
    let Some(moto) = moto() else { return };
    setup(
        &moto,
        r#"
boto3.client('s3', **kw).create_bucket(Bucket='trail-bucket')
ct = boto3.client('cloudtrail', **kw)
ct.create_trail(Name='org-trail', S3BucketName='trail-bucket', EnableLogFileValidation=True,
    IncludeGlobalServiceEvents=True)
ct.start_logging(Name='org-trail')
# The attacker keeps the trail running, but blind to writes, unverifiable and without IAM.
ct.put_event_selectors(TrailName='org-trail', EventSelectors=[{'ReadWriteType': 'ReadOnly',
    'IncludeManagementEvents': True, 'DataResources': [{'Type': 'AWS::S3::Object',
    'Values': ['arn:aws:s3:::payroll/']}]}])
ct.update_trail(Name='org-trail', EnableLogFileValidation=False, IncludeGlobalServiceEvents=False)
"#,
    );
    let home = case_home(&moto);
    let h = home.path();
    let config = || -> Value {
        read(
            &moto,
            "ct = boto3.client('cloudtrail', **kw)\nt = ct.get_trail(Name='org-trail')['Trail']\nprint(json.dumps({'selectors': ct.get_event_selectors(TrailName='org-trail')['EventSelectors'], 'validation': t['LogFileValidationEnabled'], 'global': t['IncludeGlobalServiceEvents']}))",
        )
    };
    let restored = plan_approve_again(h, &moto, &["restore-trail", "org-trail"], &config);
    assert_eq!(restored["validation"], true, "{restored}");
    assert_eq!(restored["global"], true, "{restored}");
    // The data selector is kept as it was (reads only: widening it would log every S3
    // write too); a selector for every management event is added beside it.
    let data = &restored["selectors"][0];
    assert_eq!(data["ReadWriteType"], "ReadOnly", "{restored}");
    assert_eq!(
        data["DataResources"][0]["Values"],
        json!(["arn:aws:s3:::payroll/"]),
        "{restored}"
    );
    let management = &restored["selectors"][1];
    assert_eq!(management["ReadWriteType"], "All", "{restored}");
    assert_eq!(management["IncludeManagementEvents"], true, "{restored}");
    // What the attacker left is in the ledger, before the change.
    let entries = ledger(h, &moto);
    let before = recorded_before_execution(&entries, "restore-trail", "org-trail");
    assert_eq!(before["event_selectors"][0]["ReadWriteType"], "ReadOnly");
    assert_eq!(before["log_file_validation"], false);
    assert_eq!(before["global_service_events"], false);
    // A trail that is not there is an error naming it.
    refused(
        h,
        &moto,
        &["restore-trail", "no-such-trail"],
        "no-such-trail",
    );
}

#[test]
fn deleting_the_attackers_role_records_its_trust_and_policies_first_and_keeps_its_profile() {
    let Some(moto) = moto() else { return };
    setup(
        &moto,
        &format!(
            r#"
iam = boto3.client('iam', **kw)
iam.create_role(RoleName='ops-support', Tags=[{{'Key': 'owner', 'Value': 'it'}}],
    AssumeRolePolicyDocument=json.dumps({{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow',
    'Principal': {{'AWS': 'arn:aws:iam::999988887777:root'}}, 'Action': 'sts:AssumeRole'}}]}}))
arn = iam.create_policy(PolicyName='god-mode', PolicyDocument='{ATTACKER_POLICY}')['Policy']['Arn']
iam.attach_role_policy(RoleName='ops-support', PolicyArn=arn)
iam.put_role_policy(RoleName='ops-support', PolicyName='backdoor', PolicyDocument='{ATTACKER_POLICY}')
iam.create_instance_profile(InstanceProfileName='ops-support')
iam.add_role_to_instance_profile(InstanceProfileName='ops-support', RoleName='ops-support')
"#
        ),
    );
    let home = case_home(&moto);
    let h = home.path();
    let role = || iam_exists(&moto, "get_role(RoleName='ops-support')");
    assert_eq!(
        plan_approve_again(h, &moto, &["delete-role", "ops-support"], &role),
        false
    );
    let entries = ledger(h, &moto);
    let before = recorded_before_execution(&entries, "delete-role", "ops-support");
    assert_eq!(
        before["trust_policy"]["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::999988887777:root"
    );
    assert_eq!(
        before["inline_policies"]["backdoor"]["Statement"][0]["Action"],
        "*"
    );
    assert!(
        before["attached_policies"][0]
            .as_str()
            .unwrap()
            .ends_with("policy/god-mode")
    );
    assert_eq!(before["instance_profiles"], json!(["ops-support"]));
    assert_eq!(before["tags"]["owner"], "it");
    // The profile and the policy stay, the profile empty.
    let kept = read(
        &moto,
        "iam = boto3.client('iam', **kw)\nprint(json.dumps([iam.get_instance_profile(InstanceProfileName='ops-support')['InstanceProfile']['Roles'], [p['PolicyName'] for p in iam.list_policies(Scope='Local')['Policies']]]))",
    );
    assert_eq!(kept, json!([[], ["god-mode"]]));
    refused(h, &moto, &["delete-role", "nobody"], "no IAM role nobody");
}

#[test]
fn deleting_the_attackers_policy_records_every_version_and_detaches_it_from_everyone_first() {
    let Some(moto) = moto() else { return };
    let arn = setup(
        &moto,
        &format!(
            r#"
iam = boto3.client('iam', **kw)
iam.create_user(UserName='alice')
iam.create_role(RoleName='app', AssumeRolePolicyDocument=json.dumps({{'Version': '2012-10-17',
    'Statement': [{{'Effect': 'Allow', 'Principal': {{'Service': 'ec2.amazonaws.com'}}, 'Action': 'sts:AssumeRole'}}]}}))
arn = iam.create_policy(PolicyName='read-reports', PolicyDocument=json.dumps({{'Version': '2012-10-17',
    'Statement': [{{'Effect': 'Allow', 'Action': 's3:GetObject', 'Resource': '*'}}]}}))['Policy']['Arn']
iam.create_policy_version(PolicyArn=arn, PolicyDocument='{ATTACKER_POLICY}', SetAsDefault=True)
iam.attach_user_policy(UserName='alice', PolicyArn=arn)
iam.attach_role_policy(RoleName='app', PolicyArn=arn)
print(arn)
"#
        ),
    );
    let home = case_home(&moto);
    let h = home.path();
    let policies = || -> Value {
        read(
            &moto,
            "iam = boto3.client('iam', **kw)\nprint(json.dumps([p['PolicyName'] for p in iam.list_policies(Scope='Local')['Policies']]))",
        )
    };
    assert_eq!(
        plan_approve_again(h, &moto, &["delete-policy", &arn], &policies),
        json!([])
    );
    let before = recorded_before_execution(&ledger(h, &moto), "delete-policy", &arn);
    assert_eq!(before["default_version"], "v2");
    assert_eq!(
        before["versions"]["v1"]["Statement"][0]["Action"],
        "s3:GetObject"
    );
    assert_eq!(before["versions"]["v2"]["Statement"][0]["Action"], "*");
    assert_eq!(before["attached_to"], json!(["user/alice", "role/app"]));
    // The identities it was attached to stay, without it.
    let left = read(
        &moto,
        "iam = boto3.client('iam', **kw)\nprint(json.dumps([iam.list_attached_user_policies(UserName='alice')['AttachedPolicies'], iam.get_role(RoleName='app')['Role']['RoleName']]))",
    );
    assert_eq!(left, json!([[], "app"]));
    // AWS's own policies are never deleted.
    refused(
        h,
        &moto,
        &["delete-policy", "arn:aws:iam::aws:policy/ReadOnlyAccess"],
        "AWS manages",
    );
}

#[test]
fn a_trail_with_advanced_selectors_gets_one_for_every_management_event_beside_its_data_ones() {
    let Some(moto) = moto() else { return };
    setup(
        &moto,
        r#"
boto3.client('s3', **kw).create_bucket(Bucket='trail-bucket')
ct = boto3.client('cloudtrail', **kw)
ct.create_trail(Name='org-trail', S3BucketName='trail-bucket', EnableLogFileValidation=True)
ct.start_logging(Name='org-trail')
ct.put_event_selectors(TrailName='org-trail', AdvancedEventSelectors=[
    {'Name': 'reads only', 'FieldSelectors': [{'Field': 'eventCategory', 'Equals': ['Management']},
        {'Field': 'readOnly', 'Equals': ['true']}]},
    {'Name': 'payroll objects', 'FieldSelectors': [{'Field': 'eventCategory', 'Equals': ['Data']},
        {'Field': 'resources.type', 'Equals': ['AWS::S3::Object']}]}])
"#,
    );
    let home = case_home(&moto);
    let h = home.path();
    let names = || -> Value {
        read(
            &moto,
            "ct = boto3.client('cloudtrail', **kw)\nprint(json.dumps([s['Name'] for s in ct.get_event_selectors(TrailName='org-trail').get('AdvancedEventSelectors', [])]))",
        )
    };
    assert_eq!(
        plan_approve_again(h, &moto, &["restore-trail", "org-trail"], &names),
        json!(["payroll objects", "Management events (restored by Squall)"])
    );
}

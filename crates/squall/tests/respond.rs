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

/// A drill's CloudTrail written and hunted into a new case in a fresh home, against moto.
fn hunted_on_moto(
    moto: &common::moto::Moto,
    records: Vec<Value>,
    title: &str,
) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let log = dir.path().join("trail.json");
    std::fs::write(&log, serde_json::json!({ "Records": records }).to_string()).unwrap();
    common::moto::squall(&home, &moto.url)
        .args(["hunt", "--new-case", title, "-q", "--format", "jsonl"])
        .arg(&log)
        .assert()
        .success();
    (dir, home)
}

/// The identity EC2 gives an instance's role credentials.
fn instance_role(role: &str, instance: &str, key: &str) -> Value {
    serde_json::json!({"type": "AssumedRole", "accessKeyId": key, "accountId": "123456789012",
        "arn": format!("arn:aws:sts::123456789012:assumed-role/{role}/{instance}"),
        "sessionContext": {"ec2RoleDelivery": "2.0", "sessionIssuer": {"type": "Role",
            "userName": role, "arn": format!("arn:aws:iam::123456789012:role/{role}")}}})
}

/// Every step approved, then carried out in us-east-1.
fn approve_all_and_carry_out(moto: &common::moto::Moto, home: &std::path::Path) {
    for args in [
        vec!["respond", "C-0001", "--approve", "all"],
        vec!["respond", "C-0001", "--yes", "--region", "us-east-1"],
    ] {
        common::moto::squall(home, &moto.url)
            .args(args)
            .assert()
            .success();
    }
}

/// Every step of the proposal reads done from the ledger.
fn assert_all_done(moto: &common::moto::Moto, home: &std::path::Path) {
    let shown = json_of(
        common::moto::squall(home, &moto.url).args(["respond", "C-0001", "--format", "json"]),
    );
    assert!(
        shown
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "done"),
        "{shown:#}"
    );
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
    let detach = steps
        .iter()
        .find(|s| s["action"] == "detach-policy")
        .expect("the admin policy detached");
    assert!(
        detach["resource"]
            .as_str()
            .unwrap()
            .ends_with(":arn:aws:iam::aws:policy/AdministratorAccess")
    );
    // A holder no IAM could have gets no command; the step says so by having none.
    assert!(detach.get("command").is_none());
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
    // An approval meant for proposal 1 does not land on proposal 2's renumbered steps, and a
    // skip says why or is refused.
    squall(&home)
        .args(["respond", "C-0001", "--approve", "1", "--proposal", "1"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "proposal 1 is no longer case C-0001's",
        ));
    squall(&home)
        .args(["respond", "C-0001", "--skip", "1", "--reason", " "])
        .assert()
        .failure()
        .stderr(predicates::str::contains("--skip needs a --reason"));
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
    // The postmortem lists the plan itself, each step with where it stands.
    let plan = report
        .split("## Proposed response")
        .nth(1)
        .expect("the report lists the proposed response")
        .split("\n## ")
        .next()
        .unwrap();
    assert!(plan.contains("Proposal 2 by alice"), "{plan}");
    assert!(plan.contains("| deactivate-access-key |"), "{plan}");
    assert!(plan.contains("proposed, not decided"), "{plan}");
}

/// The leaked-key drill against moto: the estate as the attacker left it, its CloudTrail
/// written with the estate's real ids, hunted into a case; the proposal approved whole and
/// carried out with `--yes`; every effect read back through the API.
#[test]
fn an_approved_response_is_carried_out_in_order_and_confirmed_through_the_api() {
    use common::moto::{moto, setup};
    let Some(moto) = moto() else { return };
    let ids: Value = serde_json::from_str(&setup(
        &moto,
        r#"
iam = boto3.client('iam', **kw)
iam.create_user(UserName='ci-deployer')
leaked = iam.create_access_key(UserName='ci-deployer')['AccessKey']['AccessKeyId']
backup = iam.create_user(UserName='backup-admin')['User']['UserId']
made = iam.create_access_key(UserName='backup-admin')['AccessKey']['AccessKeyId']
ec2 = boto3.client('ec2', **kw)
vpc = ec2.create_vpc(CidrBlock='10.0.0.0/16')['Vpc']['VpcId']
sg = ec2.create_security_group(GroupName='bastion', Description='b', VpcId=vpc)['GroupId']
ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
    {'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22, 'IpRanges': [{'CidrIp': '0.0.0.0/0'}]}])
image = ec2.describe_images(Owners=['amazon'])['Images'][0]['ImageId']
miner = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType='p3.2xlarge',
    Placement={'AvailabilityZone': 'us-east-1a'})['Instances'][0]['InstanceId']
policy = iam.create_policy(PolicyName='attacker-admin', PolicyDocument=json.dumps({'Version': '2012-10-17',
    'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}))['Policy']
admin = policy['Arn']
iam.attach_user_policy(UserName='backup-admin', PolicyArn=admin)
ec2.create_key_pair(KeyName='miner')
vol = ec2.create_volume(AvailabilityZone='us-east-1a', Size=8)['VolumeId']
snap = ec2.create_snapshot(VolumeId=vol)['SnapshotId']
ec2.modify_snapshot_attribute(SnapshotId=snap, Attribute='createVolumePermission',
    OperationType='add', UserIds=['999988887777'])
s3 = boto3.client('s3', **kw)
s3.create_bucket(Bucket='trail-bucket')
ct = boto3.client('cloudtrail', **kw)
ct.create_trail(Name='org-trail', S3BucketName='trail-bucket', EnableLogFileValidation=True)
ct.put_event_selectors(TrailName='org-trail', EventSelectors=[{'ReadWriteType': 'ReadOnly',
    'IncludeManagementEvents': True}])
print(json.dumps({'backup': backup, 'policy': policy['PolicyId'], 'leaked': leaked, 'made': made, 'sg': sg, 'miner': miner, 'snap': snap}))
"#,
    ))
    .unwrap();
    let id = |k: &str| ids[k].as_str().unwrap().to_string();
    let who = serde_json::json!({"type": "IAMUser", "userName": "ci-deployer",
        "arn": "arn:aws:iam::123456789012:user/ci-deployer", "accountId": "123456789012",
        "accessKeyId": id("leaked")});
    let record = |minute: u32, name: &str, source: &str, req: Value, resp: Value| {
        serde_json::json!({"eventVersion": "1.09",
            "eventTime": format!("2026-11-02T10:{minute:02}:00Z"), "eventSource": source,
            "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7",
            "recipientAccountId": "123456789012", "eventID": format!("ev-{minute}"),
            "userIdentity": who, "requestParameters": req, "responseElements": resp})
    };
    let records = vec![
        record(
            0,
            "CreateUser",
            "iam.amazonaws.com",
            serde_json::json!({"userName": "backup-admin"}),
            serde_json::json!({"user": {"userName": "backup-admin", "userId": id("backup"),
                "arn": "arn:aws:iam::123456789012:user/backup-admin"}}),
        ),
        record(
            1,
            "CreateAccessKey",
            "iam.amazonaws.com",
            serde_json::json!({"userName": "backup-admin"}),
            serde_json::json!({"accessKey": {"accessKeyId": id("made"), "userName": "backup-admin"}}),
        ),
        record(
            2,
            "RunInstances",
            "ec2.amazonaws.com",
            serde_json::json!({}),
            serde_json::json!({"instancesSet": {"items": [{"instanceId": id("miner"),
                "instanceType": "p3.2xlarge"}]}}),
        ),
        record(
            4,
            "AttachUserPolicy",
            "iam.amazonaws.com",
            serde_json::json!({"userName": "backup-admin",
                "policyArn": "arn:aws:iam::123456789012:policy/attacker-admin"}),
            Value::Null,
        ),
        record(
            5,
            "CreateKeyPair",
            "ec2.amazonaws.com",
            serde_json::json!({"keyName": "miner"}),
            serde_json::json!({"keyName": "miner"}),
        ),
        record(
            6,
            "ModifySnapshotAttribute",
            "ec2.amazonaws.com",
            serde_json::json!({"snapshotId": id("snap"), "createVolumePermission":
                {"add": {"items": [{"userId": "999988887777"}]}}}),
            Value::Null,
        ),
        record(
            9,
            "CreatePolicy",
            "iam.amazonaws.com",
            serde_json::json!({"policyName": "attacker-admin"}),
            serde_json::json!({"policy": {"policyName": "attacker-admin", "policyId": id("policy"),
                "arn": "arn:aws:iam::123456789012:policy/attacker-admin"}}),
        ),
        record(
            8,
            "PutEventSelectors",
            "cloudtrail.amazonaws.com",
            serde_json::json!({"trailName": "org-trail", "eventSelectors": [
                {"readWriteType": "ReadOnly", "includeManagementEvents": true}]}),
            Value::Null,
        ),
        record(
            7,
            "StopLogging",
            "cloudtrail.amazonaws.com",
            serde_json::json!({"name": "org-trail"}),
            Value::Null,
        ),
        record(
            3,
            "AuthorizeSecurityGroupIngress",
            "ec2.amazonaws.com",
            serde_json::json!({"groupId": id("sg"), "ipPermissions": {"items": [{"ipProtocol": "tcp",
                "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}),
            serde_json::json!({"_return": true}),
        ),
    ];
    let (_dir, home) = hunted_on_moto(&moto, records, "leaked key");
    let squall = |home: &std::path::Path| common::moto::squall(home, &moto.url);
    let proposed = json_of(squall(&home).args(["respond", "C-0001", "--format", "json"]));
    let actions: Vec<&str> = proposed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "acquire-instance",
            "deactivate-access-key",
            "deactivate-access-key",
            "contain-user",
            "stop-instance",
            "detach-policy",
            "delete-key-pair",
            "replace-world-rule",
            "unshare-snapshot",
            "start-logging",
            "restore-trail",
            "delete-user",
            "delete-policy",
            "rotate-access-key",
        ],
        "{proposed:#}"
    );
    squall(&home)
        .args(["respond", "C-0001", "--approve", "all"])
        .assert()
        .success();
    // Without --yes, plans only: nothing changes in the account.
    squall(&home)
        .args(["respond", "C-0001", "--run", "--region", "us-east-1"])
        .assert()
        .success();
    let state = || -> Value {
        serde_json::from_str(&setup(
            &moto,
            &format!(
                r#"
iam = boto3.client('iam', **kw)
ec2 = boto3.client('ec2', **kw)
users = sorted(u['UserName'] for u in iam.list_users()['Users'])
keys = {{k['AccessKeyId']: k['Status'] for u in users
        for k in iam.list_access_keys(UserName=u)['AccessKeyMetadata']}}
state = ec2.describe_instances(InstanceIds=['{miner}'])['Reservations'][0]['Instances'][0]['State']['Name']
snaps = ec2.describe_snapshots(OwnerIds=['self'], Filters=[{{'Name': 'tag:squall:case', 'Values': ['C-0001']}}])['Snapshots']
perms = ec2.describe_security_groups(GroupIds=['{sg}'])['SecurityGroups'][0]['IpPermissions']
world = [p for p in perms if any(r['CidrIp'] == '0.0.0.0/0' for r in p.get('IpRanges', []))]
attached = [p['PolicyArn'] for u in users for p in iam.list_attached_user_policies(UserName=u)['AttachedPolicies']]
pairs = [k['KeyName'] for k in ec2.describe_key_pairs()['KeyPairs']]
shared = [p.get('UserId') for p in ec2.describe_snapshot_attribute(SnapshotId='{snap}',
    Attribute='createVolumePermission')['CreateVolumePermissions']]
ct = boto3.client('cloudtrail', **kw)
logging = ct.get_trail_status(Name='org-trail')['IsLogging']
selectors = [s['ReadWriteType'] for s in ct.get_event_selectors(TrailName='org-trail')['EventSelectors']]
policies = [p['PolicyName'] for p in iam.list_policies(Scope='Local')['Policies']]
print(json.dumps({{'keys': keys, 'state': state, 'snapshots': len(snaps), 'world': len(world),
    'attached': attached, 'pairs': pairs, 'shared': shared, 'logging': logging, 'users': users,
    'selectors': selectors, 'policies': policies}}))
"#,
                miner = id("miner"),
                sg = id("sg"),
                snap = id("snap")
            ),
        ))
        .unwrap()
    };
    let untouched = state();
    assert_eq!(untouched["state"], "running");
    assert_eq!(untouched["snapshots"], 0);
    assert_eq!(untouched["world"], 1);
    assert_eq!(untouched["pairs"], serde_json::json!(["miner"]));
    assert_eq!(untouched["logging"], false);
    assert_eq!(untouched["selectors"], serde_json::json!(["ReadOnly"]));
    assert_eq!(untouched["policies"], serde_json::json!(["attacker-admin"]));

    // Carried out: acquired before stopped, keys off, the world rule gone.
    let out = squall(&home)
        .args([
            "respond",
            "C-0001",
            "--yes",
            "--region",
            "us-east-1",
            "--format",
            "json",
        ])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("by hand: rotate the step's key with `squall recover aws key KEY --rotate"),
        "{stderr}"
    );
    let done = state();
    assert_eq!(done["keys"][id("leaked")], "Inactive", "{done}");
    // The attacker's user is gone with its key, and the policy it wrote with it.
    assert_eq!(done["users"], serde_json::json!(["ci-deployer"]), "{done}");
    assert!(done["keys"].get(id("made")).is_none(), "{done}");
    assert_eq!(done["state"], "stopped", "{done}");
    assert!(done["snapshots"].as_u64().unwrap() >= 1, "{done}");
    assert_eq!(done["world"], 0, "{done}");
    assert_eq!(done["attached"], serde_json::json!([]), "{done}");
    assert_eq!(done["pairs"], serde_json::json!([]), "{done}");
    assert_eq!(done["shared"], serde_json::json!([]), "{done}");
    assert_eq!(done["logging"], true, "{done}");
    assert_eq!(done["selectors"], serde_json::json!(["All"]), "{done}");
    assert_eq!(done["policies"], serde_json::json!([]), "{done}");
    let shown = json_of(squall(&home).args(["respond", "C-0001", "--format", "json"]));
    let status: Vec<&str> = shown
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        status,
        [
            "done", "done", "done", "done", "done", "done", "done", "done", "done", "done", "done",
            "done", "done", "approved"
        ],
        "{shown:#}"
    );
    // Again, saying where the new secret goes: the leaked key is rotated too, its secret in
    // an owner-only file and nowhere in what Squall prints or records.
    let secrets = home.join("secrets");
    let again = squall(&home)
        .args([
            "respond",
            "C-0001",
            "--yes",
            "--region",
            "us-east-1",
            "--secret-dir",
        ])
        .arg(&secrets)
        .assert()
        .success();
    let file = secrets.join(format!("{}.credentials", id("leaked")));
    let written = std::fs::read_to_string(&file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&secrets), 0o700);
    }
    let secret = written
        .lines()
        .find_map(|l| l.split_once("aws_secret_access_key").map(|(_, v)| v))
        .map(|v| v.trim_start_matches([' ', '=']).trim().to_string())
        .unwrap_or_else(|| panic!("no secret in {}", file.display()));
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&again.get_output().stdout),
        String::from_utf8_lossy(&again.get_output().stderr)
    );
    assert!(!printed.contains(&secret), "the secret was printed");
    let rotated = state();
    let active: Vec<&String> = rotated["keys"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, s)| *s == "Active")
        .map(|(k, _)| k)
        .collect();
    assert_eq!(active.len(), 1, "{rotated}");
    assert!(
        written.contains(active[0].as_str()),
        "the new key is the one written"
    );
    let shown = json_of(squall(&home).args(["respond", "C-0001", "--format", "json"]));
    assert!(
        shown
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "done"),
        "{shown:#}"
    );
    squall(&home)
        .args(["ledger", "verify", "C-0001"])
        .assert()
        .success();
    let stored =
        String::from_utf8_lossy(&std::fs::read(home.join("squall.db")).unwrap()).to_string();
    assert!(!stored.contains(&secret), "the secret was recorded");
    // Each action's record says where it acted, so a step is done only in its own account.
    let entries = common::moto::ledger(&home, &moto);
    let verified: Vec<&Value> = entries
        .iter()
        .filter(|e| e["kind"] == "action.verified")
        .collect();
    assert!(!verified.is_empty());
    for e in verified {
        assert_eq!(e["payload"]["account"], "123456789012", "{e}");
        assert_eq!(e["payload"]["region"], "us-east-1", "{e}");
    }
}

/// The stolen-instance-credentials drill against moto: a web server's role credentials used
/// from outside to mint a key for a service user and make a role its own account may assume;
/// the proposal acquires the server before isolating it, cuts the role's sessions and the
/// minted key, and deletes the backdoor role once described, in four Squall commands after the
/// hunt.
#[test]
fn stolen_instance_credentials_are_answered_from_the_instance_to_the_key_they_minted() {
    use common::moto::{moto, setup};
    let Some(moto) = moto() else { return };
    let ids: Value = serde_json::from_str(&setup(
        &moto,
        r#"
iam = boto3.client('iam', **kw)
iam.create_role(RoleName='web-role', AssumeRolePolicyDocument=json.dumps({'Version': '2012-10-17',
    'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 'ec2.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]}))
iam.create_instance_profile(InstanceProfileName='web-profile')
iam.add_role_to_instance_profile(InstanceProfileName='web-profile', RoleName='web-role')
iam.create_user(UserName='svc-reports')
minted = iam.create_access_key(UserName='svc-reports')['AccessKey']['AccessKeyId']
ops = iam.create_role(RoleName='ops-support', AssumeRolePolicyDocument=json.dumps({'Version': '2012-10-17',
    'Statement': [{'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::999988887777:root'}, 'Action': 'sts:AssumeRole'}]}))['Role']['RoleId']
iam.put_role_policy(RoleName='ops-support', PolicyName='support', PolicyDocument=json.dumps({'Version': '2012-10-17',
    'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}))
ec2 = boto3.client('ec2', **kw)
vpc = ec2.create_vpc(CidrBlock='10.0.0.0/16')['Vpc']['VpcId']
sub = ec2.create_subnet(VpcId=vpc, CidrBlock='10.0.1.0/24', AvailabilityZone='us-east-1a')['Subnet']['SubnetId']
web = ec2.create_security_group(GroupName='web', Description='w', VpcId=vpc)['GroupId']
image = ec2.describe_images(Owners=['amazon'])['Images'][0]['ImageId']
i = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=sub, SecurityGroupIds=[web],
    IamInstanceProfile={'Name': 'web-profile'})['Instances'][0]['InstanceId']
print(json.dumps({'instance': i, 'minted': minted, 'web': web, 'ops': ops}))
"#,
    ))
    .unwrap();
    let id = |k: &str| ids[k].as_str().unwrap().to_string();
    let instance = id("instance");
    let who = instance_role("web-role", &instance, "ASIASTOLEN0000000001");
    let record = serde_json::json!({"eventVersion": "1.09", "eventTime": "2026-11-02T10:01:00Z",
        "eventSource": "iam.amazonaws.com", "eventName": "CreateAccessKey",
        "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.66",
        "recipientAccountId": "123456789012", "eventID": "ev-1", "userIdentity": who,
        "requestParameters": {"userName": "svc-reports"},
        "responseElements": {"accessKey": {"accessKeyId": id("minted"), "userName": "svc-reports"}}});
    // And a way back in: a role its own account may assume.
    let backdoor = serde_json::json!({"eventVersion": "1.09", "eventTime": "2026-11-02T10:02:00Z",
        "eventSource": "iam.amazonaws.com", "eventName": "CreateRole",
        "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.66",
        "recipientAccountId": "123456789012", "eventID": "ev-2", "userIdentity": who,
        "requestParameters": {"roleName": "ops-support"},
        "responseElements": {"role": {"roleName": "ops-support", "roleId": id("ops"),
            "arn": "arn:aws:iam::123456789012:role/ops-support"}}});
    let (_dir, home) = hunted_on_moto(&moto, vec![record, backdoor], "stolen role");
    let squall = |home: &std::path::Path| common::moto::squall(home, &moto.url);
    let proposed = json_of(squall(&home).args(["respond", "C-0001", "--format", "json"]));
    let steps: Vec<(String, String)> = proposed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["action"].as_str().unwrap().to_string(),
                s["resource"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("acquire-instance", instance.as_str()),
        ("deactivate-access-key", &id("minted")),
        ("contain-role", "web-role"),
        ("contain-role", "ops-support"),
        ("isolate-instance", instance.as_str()),
        ("delete-role", "ops-support"),
    ]
    .iter()
    .map(|(a, r)| (a.to_string(), r.to_string()))
    .collect();
    assert_eq!(steps, expected, "{proposed:#}");
    let isolate = &proposed[4];
    assert_eq!(isolate["after"][0], 1, "isolated only once acquired");
    approve_all_and_carry_out(&moto, &home);
    let state: Value = serde_json::from_str(&setup(
        &moto,
        &format!(
            r#"
iam = boto3.client('iam', **kw)
ec2 = boto3.client('ec2', **kw)
d = ec2.describe_instances(InstanceIds=['{instance}'])['Reservations'][0]['Instances'][0]
groups = sorted(g['GroupName'] for n in d['NetworkInterfaces'] for g in n['Groups'])
snaps = ec2.describe_snapshots(OwnerIds=['self'], Filters=[{{'Name': 'tag:squall:case', 'Values': ['C-0001']}}])['Snapshots']
keys = [k['Status'] for k in iam.list_access_keys(UserName='svc-reports')['AccessKeyMetadata']]
roles = sorted(r['RoleName'] for r in iam.list_roles()['Roles'])
print(json.dumps({{'groups': groups, 'state': d['State']['Name'], 'snapshots': len(snaps),
    'role_policies': iam.list_role_policies(RoleName='web-role')['PolicyNames'], 'keys': keys,
    'roles': roles}}))
"#
        ),
    ))
    .unwrap();
    assert_eq!(state["state"], "running", "isolated, not stopped: {state}");
    assert_eq!(
        state["groups"],
        serde_json::json!(["squall-isolation"]),
        "{state}"
    );
    assert!(state["snapshots"].as_u64().unwrap() >= 1, "{state}");
    assert_eq!(
        state["role_policies"],
        serde_json::json!(["SquallRevokeOlderSessions"]),
        "{state}"
    );
    assert_eq!(state["keys"], serde_json::json!(["Inactive"]), "{state}");
    // The attacker's way back in is gone; the web server's role stays.
    assert_eq!(state["roles"], serde_json::json!(["web-role"]), "{state}");
    assert_all_done(&moto, &home);
}

/// The open-bastion drill against moto: SSH open to the world before the incident (no log
/// shows who opened it), the bastion brute-forced and its role's credentials used from it to
/// launch a miner with a new key pair. The inventory's finding joins the logs: the proposal
/// closes the rule too. Five commands: inventory, hunt, respond, approve, carry out.
#[test]
fn an_open_bastion_is_closed_as_well_as_what_its_credentials_did() {
    use common::moto::{moto, setup};
    let Some(moto) = moto() else { return };
    let ids: Value = serde_json::from_str(&setup(
        &moto,
        r#"
iam = boto3.client('iam', **kw)
iam.create_role(RoleName='bastion-role', AssumeRolePolicyDocument=json.dumps({'Version': '2012-10-17',
    'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 'ec2.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]}))
iam.create_instance_profile(InstanceProfileName='bastion-profile')
iam.add_role_to_instance_profile(InstanceProfileName='bastion-profile', RoleName='bastion-role')
ec2 = boto3.client('ec2', **kw)
vpc = ec2.create_vpc(CidrBlock='10.0.0.0/16')['Vpc']['VpcId']
sub = ec2.create_subnet(VpcId=vpc, CidrBlock='10.0.1.0/24', AvailabilityZone='us-east-1a')['Subnet']['SubnetId']
ssh = ec2.create_security_group(GroupName='bastion-ssh', Description='b', VpcId=vpc)['GroupId']
ec2.authorize_security_group_ingress(GroupId=ssh, IpPermissions=[
    {'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22, 'IpRanges': [{'CidrIp': '0.0.0.0/0'}]}])
image = ec2.describe_images(Owners=['amazon'])['Images'][0]['ImageId']
bastion = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=sub, SecurityGroupIds=[ssh],
    IamInstanceProfile={'Name': 'bastion-profile'})['Instances'][0]['InstanceId']
ec2.create_key_pair(KeyName='pivot')
miner = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=sub, InstanceType='p3.8xlarge',
    KeyName='pivot')['Instances'][0]['InstanceId']
print(json.dumps({'bastion': bastion, 'miner': miner, 'ssh': ssh}))
"#,
    ))
    .unwrap();
    let id = |k: &str| ids[k].as_str().unwrap().to_string();
    let bastion = id("bastion");
    let who = instance_role("bastion-role", &bastion, "ASIABASTION000000001");
    let record = |minute: u32, name: &str, req: Value, resp: Value| {
        serde_json::json!({"eventVersion": "1.09",
            "eventTime": format!("2026-11-02T10:{minute:02}:00Z"),
            "eventSource": "ec2.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
            "sourceIPAddress": "10.0.1.15", "recipientAccountId": "123456789012",
            "eventID": format!("ev-{minute}"), "userIdentity": who,
            "requestParameters": req, "responseElements": resp})
    };
    let records = vec![
        record(
            1,
            "CreateKeyPair",
            serde_json::json!({"keyName": "pivot"}),
            serde_json::json!({"keyName": "pivot"}),
        ),
        record(
            2,
            "RunInstances",
            serde_json::json!({"instanceType": "p3.8xlarge"}),
            serde_json::json!({"instancesSet": {"items": [{"instanceId": id("miner"),
                "instanceType": "p3.8xlarge", "keyName": "pivot"}]}}),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let log = dir.path().join("trail.json");
    std::fs::write(&log, serde_json::json!({ "Records": records }).to_string()).unwrap();
    let squall = |home: &std::path::Path| common::moto::squall(home, &moto.url);
    squall(&home)
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
    squall(&home)
        .args([
            "hunt",
            "--new-case",
            "open bastion",
            "-q",
            "--format",
            "jsonl",
        ])
        .arg(&log)
        .assert()
        .success();
    let proposed = json_of(squall(&home).args(["respond", "C-0001", "--format", "json"]));
    let steps: Vec<String> = proposed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["action"].as_str().unwrap(),
                s["resource"].as_str().unwrap()
            )
        })
        .collect();
    let miner = id("miner");
    let ssh = id("ssh");
    assert_eq!(
        steps,
        [
            format!("acquire-instance {bastion}"),
            format!("acquire-instance {miner}"),
            "contain-role bastion-role".to_string(),
            format!("isolate-instance {bastion}"),
            format!("stop-instance {miner}"),
            "delete-key-pair pivot".to_string(),
            format!("replace-world-rule {ssh}"),
        ],
        "{proposed:#}"
    );
    let harden = proposed.as_array().unwrap().last().unwrap();
    assert_eq!(harden["phase"], "harden");
    assert!(
        harden["reason"]
            .as_str()
            .unwrap()
            .contains("tcp 22 from 0.0.0.0/0"),
        "{harden}"
    );
    approve_all_and_carry_out(&moto, &home);
    let state: Value = serde_json::from_str(&setup(
        &moto,
        &format!(
            r#"
iam = boto3.client('iam', **kw)
ec2 = boto3.client('ec2', **kw)
def inst(i):
    return ec2.describe_instances(InstanceIds=[i])['Reservations'][0]['Instances'][0]
b = inst('{bastion}')
perms = ec2.describe_security_groups(GroupIds=['{ssh}'])['SecurityGroups'][0]['IpPermissions']
world = [p for p in perms if any(r['CidrIp'] == '0.0.0.0/0' for r in p.get('IpRanges', []))]
print(json.dumps({{'bastion_groups': sorted(g['GroupName'] for n in b['NetworkInterfaces'] for g in n['Groups']),
    'bastion': b['State']['Name'], 'miner': inst('{miner}')['State']['Name'], 'world': len(world),
    'pairs': [k['KeyName'] for k in ec2.describe_key_pairs()['KeyPairs']],
    'role_policies': iam.list_role_policies(RoleName='bastion-role')['PolicyNames']}}))
"#
        ),
    ))
    .unwrap();
    assert_eq!(state["bastion"], "running", "{state}");
    assert_eq!(
        state["bastion_groups"],
        serde_json::json!(["squall-isolation"]),
        "{state}"
    );
    assert_eq!(state["miner"], "stopped", "{state}");
    assert_eq!(state["world"], 0, "{state}");
    assert_eq!(state["pairs"], serde_json::json!([]), "{state}");
    assert_eq!(
        state["role_policies"],
        serde_json::json!(["SquallRevokeOlderSessions"]),
        "{state}"
    );
    assert_all_done(&moto, &home);
}

/// A role Squall itself runs as is never contained by the run: that would cut the run off.
#[test]
fn the_role_squall_runs_as_is_left_to_other_credentials() {
    use common::moto::{moto, setup};
    let Some(moto) = moto() else { return };
    let creds: Value = serde_json::from_str(&setup(
        &moto,
        r#"
iam = boto3.client('iam', **kw)
iam.create_role(RoleName='ir-role', AssumeRolePolicyDocument=json.dumps({'Version': '2012-10-17',
    'Statement': [{'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::123456789012:root'}, 'Action': 'sts:AssumeRole'}]}))
c = boto3.client('sts', **kw).assume_role(RoleArn='arn:aws:iam::123456789012:role/ir-role',
    RoleSessionName='responder')['Credentials']
print(json.dumps({'ak': c['AccessKeyId'], 'sk': c['SecretAccessKey'], 'token': c['SessionToken']}))
"#,
    ))
    .unwrap();
    // The attacker holds a session of the same role and uses it to stop the trail.
    let who = serde_json::json!({"type": "AssumedRole", "accessKeyId": "ASIASTOLENIR00000001",
        "accountId": "123456789012", "arn": "arn:aws:sts::123456789012:assumed-role/ir-role/x",
        "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "ir-role",
            "arn": "arn:aws:iam::123456789012:role/ir-role"}}});
    let record = serde_json::json!({"eventVersion": "1.09", "eventTime": "2026-11-02T10:01:00Z",
        "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging",
        "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.66",
        "recipientAccountId": "123456789012", "eventID": "ev-1", "userIdentity": who,
        "requestParameters": {"name": "org-trail"}, "responseElements": null});
    let (_dir, home) = hunted_on_moto(&moto, vec![record], "ir role");
    let step = json_of(
        common::moto::squall(&home, &moto.url).args(["respond", "C-0001", "--format", "json"]),
    );
    let n = step
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["action"] == "contain-role" && s["resource"] == "ir-role")
        .expect("the role's sessions are to be cut")["step"]
        .to_string();
    common::moto::squall(&home, &moto.url)
        .args(["respond", "C-0001", "--approve", &n])
        .assert()
        .success();
    let s = |k: &str| creds[k].as_str().unwrap().to_string();
    common::moto::squall(&home, &moto.url)
        .env("AWS_ACCESS_KEY_ID", s("ak"))
        .env("AWS_SECRET_ACCESS_KEY", s("sk"))
        .env("AWS_SESSION_TOKEN", s("token"))
        .args(["respond", "C-0001", "--yes", "--region", "us-east-1"])
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "Squall runs as a session of role ir-role",
        ));
    let policies: Value = serde_json::from_str(&setup(
        &moto,
        "print(json.dumps(boto3.client('iam', **kw).list_role_policies(RoleName='ir-role')['PolicyNames']))",
    ))
    .unwrap();
    assert_eq!(
        policies,
        serde_json::json!([]),
        "the run did not cut itself off"
    );
}

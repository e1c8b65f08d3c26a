//! Containment, acquisition, release and recovery on AWS, against a real moto server (one per
//! test). Each story checks the cloud's state with boto3, not with Squall's own reading of it.

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::moto::{Moto, ledger, moto, setup};
use serde_json::Value;

fn squall(home: &Path, moto: &Moto) -> Command {
    common::moto::squall(home, &moto.url)
}

fn new_case(home: &Path, moto: &Moto) {
    common::moto::new_case(home, moto, "Compromised web server");
}

fn kinds(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

fn json_out(cmd: &mut Command) -> Value {
    let out = cmd.assert().success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

const WEB_SERVER: &str = r#"
ec2 = boto3.client('ec2', **kw)
iam = boto3.client('iam', **kw)
vpc = ec2.create_vpc(CidrBlock='10.0.0.0/16')['Vpc']['VpcId']
sub = ec2.create_subnet(VpcId=vpc, CidrBlock='10.0.1.0/24', AvailabilityZone='us-east-1a')['Subnet']['SubnetId']
web = ec2.create_security_group(GroupName='web', Description='w', VpcId=vpc)['GroupId']
ssh = ec2.create_security_group(GroupName='ssh', Description='s', VpcId=vpc)['GroupId']
iam.create_role(RoleName='app', AssumeRolePolicyDocument=json.dumps({'Version': '2012-10-17',
    'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 'ec2.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]}))
iam.create_instance_profile(InstanceProfileName='app-profile')
iam.add_role_to_instance_profile(InstanceProfileName='app-profile', RoleName='app')
image = ec2.describe_images(Owners=['amazon'])['Images'][0]['ImageId']
i = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=sub, SecurityGroupIds=[web, ssh],
    IamInstanceProfile={'Name': 'app-profile'})['Instances'][0]['InstanceId']
eip = ec2.allocate_address(Domain='vpc')['AllocationId']
ec2.associate_address(AllocationId=eip, InstanceId=i)
print(json.dumps({'instance': i, 'web': web, 'ssh': ssh, 'eip': eip}))
"#;

/// The instance as boto3 sees it.
fn web_state(moto: &Moto, ids: &Value) -> Value {
    let script = format!(
        r#"
ids = json.loads({ids:?})
ec2 = boto3.client('ec2', **kw)
iam = boto3.client('iam', **kw)
i = ids['instance']
d = ec2.describe_instances(InstanceIds=[i])['Reservations'][0]['Instances'][0]
groups = sorted(g['GroupId'] for n in d['NetworkInterfaces'] for g in n['Groups'])
assoc = [a['IamInstanceProfile']['Arn'] for a in ec2.describe_iam_instance_profile_associations(
    Filters=[{{'Name': 'instance-id', 'Values': [i]}}])['IamInstanceProfileAssociations'] if a['State'] == 'associated']
addr = ec2.describe_addresses(AllocationIds=[ids['eip']])['Addresses'][0].get('InstanceId') or None
tp = ec2.describe_instance_attribute(InstanceId=i, Attribute='disableApiTermination')['DisableApiTermination']['Value']
iso = ec2.describe_security_groups(Filters=[{{'Name': 'group-name', 'Values': ['squall-isolation']}}])['SecurityGroups']
pol = iam.list_role_policies(RoleName='app')['PolicyNames']
deny = iam.get_role_policy(RoleName='app', PolicyName=pol[0])['PolicyDocument'] if pol else None
print(json.dumps({{'groups': groups, 'profiles': assoc, 'eip_on': addr, 'termination_protection': tp,
    'isolation_group': [g['GroupId'] for g in iso], 'isolation_rules': [len(g['IpPermissions']) + len(g['IpPermissionsEgress']) for g in iso],
    'role_policies': pol, 'deny': deny, 'state': d['State']['Name']}}))
"#,
        ids = ids.to_string()
    );
    serde_json::from_str(&setup(moto, &script)).unwrap()
}

#[test]
fn isolating_an_instance_cuts_network_credentials_and_addresses_and_release_restores_them() {
    let Some(moto) = moto() else { return };
    let ids: Value = serde_json::from_str(&setup(&moto, WEB_SERVER)).unwrap();
    let instance = ids["instance"].as_str().unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    new_case(h, &moto);
    let original = web_state(&moto, &ids);
    let mut groups = vec![ids["web"].clone(), ids["ssh"].clone()];
    groups.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    assert_eq!(original["groups"], Value::Array(groups.clone()));
    assert_eq!(original["eip_on"], instance);

    // The plan alone: warns the case is not triaged, changes nothing, records nothing.
    let out = squall(h, &moto)
        .args([
            "contain",
            "aws",
            "instance",
            instance,
            "--case",
            "C-0001",
            "--isolate",
        ])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("plan: isolate-instance"), "{stderr}");
    assert!(
        stderr.contains("warning: the attacker will notice"),
        "{stderr}"
    );
    assert!(stderr.contains("role app"), "{stderr}");
    assert_eq!(web_state(&moto, &ids), original);
    assert_eq!(kinds(&ledger(h, &moto)), vec!["case.opened"]);
    // An unknown id among them is its own failure; the real one is still planned.
    let out = squall(h, &moto)
        .args([
            "contain",
            "aws",
            "instance",
            instance,
            "i-0123456789abcdef0",
            "--case",
            "C-0001",
            "--isolate",
            "--format",
            "json",
        ])
        .assert()
        .code(3);
    let planned: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(planned[0]["status"], "planned", "{planned}");
    assert_eq!(planned[1]["status"], "failed", "{planned}");
    assert!(
        planned[1]["error"]
            .as_str()
            .unwrap()
            .contains("i-0123456789abcdef0"),
        "{planned}"
    );

    // Approved: isolated, and verified by a fresh read.
    let outcomes = json_out(squall(h, &moto).args([
        "contain",
        "aws",
        "instance",
        instance,
        "--case",
        "C-0001",
        "--isolate",
        "--yes",
        "--format",
        "json",
    ]));
    assert_eq!(outcomes[0]["status"], "verified", "{outcomes}");
    let isolated = web_state(&moto, &ids);
    assert_eq!(
        isolated["groups"], isolated["isolation_group"],
        "{isolated}"
    );
    assert_eq!(isolated["isolation_rules"], serde_json::json!([0]));
    assert_eq!(isolated["profiles"], serde_json::json!([]));
    assert_eq!(isolated["eip_on"], Value::Null);
    assert_eq!(isolated["termination_protection"], true);
    assert_eq!(
        isolated["state"], "running",
        "isolation must not stop the instance"
    );
    assert_eq!(
        isolated["role_policies"],
        serde_json::json!(["SquallRevokeOlderSessions"])
    );
    let deny = &isolated["deny"]["Statement"][0];
    assert_eq!(deny["Effect"], "Deny");
    assert!(deny["Condition"]["DateLessThan"]["aws:TokenIssueTime"].is_string());
    assert_eq!(
        kinds(&ledger(h, &moto)),
        vec![
            "case.opened",
            "action.planned",
            "action.executed",
            "action.verified"
        ]
    );

    // Again: nothing to do, recorded as such.
    let again = json_out(squall(h, &moto).args([
        "contain",
        "aws",
        "instance",
        instance,
        "--case",
        "C-0001",
        "--isolate",
        "--yes",
        "--format",
        "json",
    ]));
    assert_eq!(again[0]["status"], "unchanged", "{again}");
    assert_eq!(web_state(&moto, &ids)["groups"], isolated["groups"]);

    // Release: back to the recorded prior state (the role's older sessions stay denied).
    let released = json_out(squall(h, &moto).args([
        "release", "aws", "instance", instance, "--case", "C-0001", "--yes", "--format", "json",
    ]));
    assert_eq!(released[0]["status"], "verified", "{released}");
    let back = web_state(&moto, &ids);
    assert_eq!(back["groups"], Value::Array(groups));
    assert_eq!(back["profiles"], original["profiles"]);
    assert_eq!(back["eip_on"], instance);
    assert_eq!(back["termination_protection"], false);
    assert_eq!(
        back["role_policies"],
        serde_json::json!(["SquallRevokeOlderSessions"])
    );

    // Stop, then hibernate is already done.
    let stopped = json_out(squall(h, &moto).args([
        "contain", "aws", "instance", instance, "--case", "C-0001", "--stop", "--yes", "--format",
        "json",
    ]));
    assert_eq!(stopped[0]["status"], "verified", "{stopped}");
    assert_eq!(web_state(&moto, &ids)["state"], "stopped");
    let hibernated = json_out(squall(h, &moto).args([
        "contain",
        "aws",
        "instance",
        instance,
        "--case",
        "C-0001",
        "--hibernate",
        "--yes",
        "--format",
        "json",
    ]));
    assert_eq!(hibernated[0]["action"], "hibernate-instance");
    assert_eq!(
        hibernated[0]["status"], "unchanged",
        "already stopped: {hibernated}"
    );
    // Exactly one way to contain an instance at a time.
    squall(h, &moto)
        .args([
            "contain",
            "aws",
            "instance",
            instance,
            "--case",
            "C-0001",
            "--stop",
            "--isolate",
        ])
        .assert()
        .code(2);
}

#[test]
fn isolation_leaves_no_world_open_group_behind_for_inventory_or_recovery() {
    let Some(moto) = moto() else { return };
    let script = WEB_SERVER.replace(
        "print(json.dumps({'instance': i, 'web': web, 'ssh': ssh, 'eip': eip}))\n",
        "second = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=sub, SecurityGroupIds=[web])['Instances'][0]['InstanceId']\n\
         other = ec2.create_vpc(CidrBlock='10.1.0.0/16')['Vpc']['VpcId']\n\
         fake = ec2.create_security_group(GroupName='squall-isolation-allow-all', Description='not Squall', VpcId=other)['GroupId']\n\
         ec2.authorize_security_group_ingress(GroupId=fake, IpPermissions=[{'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22, 'IpRanges': [{'CidrIp': '0.0.0.0/0'}]}])\n\
         print(json.dumps({'instance': i, 'second': second, 'vpc': vpc, 'fake': fake}))\n",
    );
    let ids: Value = serde_json::from_str(&setup(&moto, &script)).unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    new_case(h, &moto);
    // Squall's groups in the instance's VPC: their rules (ingress + egress) and their tags.
    let squall_groups = |moto: &Moto| -> Value {
        serde_json::from_str(&setup(
            moto,
            &format!(
                "ec2 = boto3.client('ec2', **kw)\ngs = ec2.describe_security_groups(Filters=[{{'Name': 'vpc-id', 'Values': [{vpc:?}]}}])['SecurityGroups']\nprint(json.dumps({{g['GroupName']: {{'rules': len(g['IpPermissions']) + len(g['IpPermissionsEgress']), 'purpose': {{t['Key']: t['Value'] for t in g.get('Tags', [])}}.get('squall:purpose')}} for g in gs if g['GroupName'].startswith('squall-')}}))",
                vpc = ids["vpc"].as_str().unwrap()
            ),
        ))
        .unwrap()
    };
    let isolate = |id: &str| {
        let out = json_out(
            squall(h, &moto)
                .args(["contain", "aws", "instance", id])
                .args("--case C-0001 --isolate --yes --format json".split(' ')),
        );
        assert_eq!(out[0]["status"], "verified", "{out}");
    };
    isolate(ids["instance"].as_str().unwrap());
    let groups = squall_groups(&moto);
    assert_eq!(
        groups,
        serde_json::json!({
            "squall-isolation": {"rules": 0, "purpose": "squall-isolation"},
            "squall-isolation-allow-all": {"rules": 0, "purpose": "squall-isolation-allow-all"},
        }),
        "the allow-all group is emptied once the interfaces moved on"
    );
    // The next isolation in the VPC puts the rules back for its pass, and empties them again.
    isolate(ids["second"].as_str().unwrap());
    assert_eq!(squall_groups(&moto), groups);

    // Even with its allow-all rules back (a run interrupted mid-pass), Squall's own group is
    // neither an inventory finding nor a rule to recover; a look-alike without its tag is both.
    let allow_all = setup(
        &moto,
        &format!(
            "ec2 = boto3.client('ec2', **kw)\ng = ec2.describe_security_groups(Filters=[{{'Name': 'vpc-id', 'Values': [{vpc:?}]}}, {{'Name': 'group-name', 'Values': ['squall-isolation-allow-all']}}])['SecurityGroups'][0]['GroupId']\nec2.authorize_security_group_ingress(GroupId=g, IpPermissions=[{{'IpProtocol': '-1', 'IpRanges': [{{'CidrIp': '0.0.0.0/0'}}]}}])\nprint(g)",
            vpc = ids["vpc"].as_str().unwrap()
        ),
    );
    let inv = json_out(
        squall(h, &moto).args("inventory aws --region us-east-1 --format json".split(' ')),
    );
    let open: Vec<&str> = inv["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "open-admin-port")
        .map(|f| f["resource"].as_str().unwrap())
        .collect();
    assert_eq!(open, vec![ids["fake"].as_str().unwrap()], "{inv}");
    let planned = json_out(squall(h, &moto).args([
        "recover", "aws", "firewall", "--case", "C-0001", "--format", "json",
    ]));
    let targets: Vec<&str> = planned
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["resource"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        vec![format!(
            "{}:tcp/22:0.0.0.0/0",
            ids["fake"].as_str().unwrap()
        )],
        "{planned}"
    );
    let out = squall(h, &moto)
        .args([
            "recover", "aws", "firewall", "--group", &allow_all, "--case", "C-0001",
        ])
        .assert()
        .success();
    assert!(
        String::from_utf8_lossy(&out.get_output().stderr).contains("no rule in us-east-1"),
        "Squall's own group is not a recovery target even when named"
    );
}

#[test]
fn terminating_is_refused_until_every_volume_is_acquired_and_verified() {
    let Some(moto) = moto() else { return };
    let script = WEB_SERVER.replace(
        "print(json.dumps({'instance': i, 'web': web, 'ssh': ssh, 'eip': eip}))\n",
        "v = ec2.create_volume(AvailabilityZone='us-east-1a', Size=2, Encrypted=True)['VolumeId']\n\
         ec2.attach_volume(VolumeId=v, InstanceId=i, Device='/dev/sdf')\n\
         print(json.dumps({'instance': i, 'data_volume': v}))\n",
    );
    let ids: Value = serde_json::from_str(&setup(&moto, &script)).unwrap();
    let instance = ids["instance"].as_str().unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    new_case(h, &moto);

    let out = squall(h, &moto)
        .args([
            "contain",
            "aws",
            "instance",
            instance,
            "--case",
            "C-0001",
            "--terminate",
            "--yes",
        ])
        .assert()
        .code(3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("refusing to terminate"), "{stderr}");
    assert!(
        stderr.contains(ids["data_volume"].as_str().unwrap()),
        "{stderr}"
    );

    let snapshots = |moto: &Moto| -> Value {
        serde_json::from_str(&setup(
            moto,
            "ec2 = boto3.client('ec2', **kw)\nsnaps = ec2.describe_snapshots(OwnerIds=['self'], Filters=[{'Name': 'tag:squall:case', 'Values': ['C-0001']}])['Snapshots']\nprint(json.dumps([{'id': s['SnapshotId'], 'tags': {t['Key']: t['Value'] for t in s['Tags']}, 'kms': s.get('KmsKeyId'), 'shared': [p.get('UserId') for p in ec2.describe_snapshot_attribute(SnapshotId=s['SnapshotId'], Attribute='createVolumePermission')['CreateVolumePermissions']]} for s in snaps]))",
        ))
        .unwrap()
    };
    let acquire = || {
        squall(h, &moto)
            .args(["acquire", "aws", "instance", instance])
            .args("--case C-0001 --forensic-account 999988887777 --yes --format json".split(' '))
            .assert()
            .success()
    };
    let out = acquire();
    let acquired: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    // Every volume's plan names its instance.
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("plan: acquire-volume vol-")
                && l.ends_with(&format!(" (instance {instance})")))
            .count(),
        2,
        "{stderr}"
    );
    assert_eq!(acquired.as_array().unwrap().len(), 2, "{acquired}");
    assert!(
        acquired
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["status"] == "verified"),
        "{acquired}"
    );
    let snaps = snapshots(&moto);
    let stage = |s: &str| -> Vec<&Value> {
        snaps
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["tags"]["squall:stage"] == s)
            .collect()
    };
    // Both volumes snapshotted; the one under the AWS-managed key copied under the share key,
    // and what is shared is always shareable.
    assert_eq!(stage("original").len(), 2, "{snaps}");
    let copies = stage("shareable");
    assert_eq!(copies.len(), 1, "{snaps}");
    assert_eq!(copies[0]["tags"]["squall:volume"], ids["data_volume"]);
    assert_eq!(copies[0]["shared"], serde_json::json!(["999988887777"]));
    for o in stage("original") {
        let is_data = o["tags"]["squall:volume"] == ids["data_volume"];
        assert_eq!(
            o["shared"],
            if is_data {
                serde_json::json!([])
            } else {
                serde_json::json!(["999988887777"])
            },
            "{o}"
        );
        assert_eq!(o["tags"]["squall:instance"], instance);
    }
    // Each snapshot is evidence of the case, named by its ARN with its volume, instance,
    // account and region; AWS gives no digest, so none is made up.
    let evidence = |h: &Path| -> Vec<Value> {
        let case = json_out(squall(h, &moto).args(["case", "show", "C-0001", "--format", "json"]));
        case["evidence"].as_array().unwrap().clone()
    };
    let recorded = evidence(h);
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    for o in stage("original") {
        let id = o["id"].as_str().unwrap();
        let volume = o["tags"]["squall:volume"].as_str().unwrap();
        let e = recorded
            .iter()
            .find(|e| e["path"] == format!("arn:aws:ec2:us-east-1::snapshot/{id}"))
            .unwrap_or_else(|| panic!("{id} not in {recorded:?}"));
        let description = e["description"].as_str().unwrap();
        for part in [
            id,
            volume,
            instance,
            "account 123456789012",
            "region us-east-1",
            "started 20",
        ] {
            assert!(description.contains(part), "{part} not in {description}");
        }
        assert_eq!(e["sha256"], "");
        assert_eq!(e["source"], format!("aws:ec2:volume/{volume}"));
    }
    let report = squall(h, &moto)
        .args(["report", "C-0001"])
        .assert()
        .success();
    let report = String::from_utf8_lossy(&report.get_output().stdout).to_string();
    assert!(report.contains("2 piece(s) of evidence"), "{report}");

    // Again: converges, no second snapshot.
    let again: Value = serde_json::from_slice(&acquire().get_output().stdout).unwrap();
    assert!(
        again
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["status"] == "unchanged"),
        "{again}"
    );
    assert_eq!(snapshots(&moto).as_array().unwrap().len(), 3);
    assert_eq!(evidence(h).len(), 2, "a re-run records no snapshot twice");

    // Now the evidence is there: terminate goes through.
    let gone = json_out(squall(h, &moto).args([
        "contain",
        "aws",
        "instance",
        instance,
        "--case",
        "C-0001",
        "--terminate",
        "--yes",
        "--format",
        "json",
    ]));
    assert_eq!(gone[0]["status"], "verified", "{gone}");
}

/// A sparse 1 GiB snapshot built through the EBS direct APIs (the only snapshots moto can read
/// back that way), and the SHA-256 of its full raw image computed independently.
const SPARSE_SNAPSHOT: &str = r#"
import base64, hashlib
ebs = boto3.client('ebs', **kw)
sid = ebs.start_snapshot(VolumeSize=1)['SnapshotId']
size = 512 * 1024
blocks = {}
for index in (0, 1, 3, 900, 2047):
    data = hashlib.sha256(str(index).encode()).digest() * (size // 32)
    blocks[index] = data
    ebs.put_snapshot_block(SnapshotId=sid, BlockIndex=index, BlockData=data, DataLength=size,
        Checksum=base64.b64encode(hashlib.sha256(data).digest()).decode(), ChecksumAlgorithm='SHA256')
ebs.complete_snapshot(SnapshotId=sid, ChangedBlocksCount=len(blocks))
h = hashlib.sha256()
zero = bytes(size)
for index in range(2048):
    h.update(blocks.get(index, zero))
print(json.dumps({'snapshot': sid, 'sha256': h.hexdigest()}))
"#;

#[test]
fn imaging_a_snapshot_hashes_every_block_and_resumes_after_an_interruption() {
    let Some(moto) = moto() else { return };
    let fixture: Value = serde_json::from_str(&setup(&moto, SPARSE_SNAPSHOT)).unwrap();
    let snap = fixture["snapshot"].as_str().unwrap();
    let want = fixture["sha256"].as_str().unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let images = h.join("images");
    new_case(h, &moto);
    let image = |h: &Path| {
        let out = squall(h, &moto)
            .args([
                "acquire", "aws", "snapshot", snap, "--case", "C-0001", "--image",
            ])
            .arg(&images)
            .arg("--yes")
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stderr).to_string()
    };
    // The plan alone: what would be read and where it goes; nothing read, nothing recorded.
    let out = squall(h, &moto)
        .args([
            "acquire", "aws", "snapshot", snap, "--case", "C-0001", "--image",
        ])
        .arg(&images)
        .args(["--format", "csv"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains(&format!("plan: image-snapshot {snap} (instance unknown)")),
        "{stderr}"
    );
    assert!(stderr.contains("add --yes"), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stdout),
        format!("resource,action,outcome,ledger_seq,error\n{snap},image-snapshot,planned,,\n")
    );
    assert!(!images.join(format!("{snap}.raw")).exists());
    assert_eq!(kinds(&ledger(h, &moto)), vec!["case.opened"]);
    let stderr = image(h);
    assert!(stderr.contains(want), "{stderr}");
    let raw = images.join(format!("{snap}.raw"));
    assert_eq!(std::fs::metadata(&raw).unwrap().len(), 1 << 30);
    assert_eq!(
        std::fs::read_to_string(images.join(format!("{snap}.raw.sha256"))).unwrap(),
        format!("{want}  {snap}.raw\n")
    );
    let case = json_out(squall(h, &moto).args(["case", "show", "C-0001", "--format", "json"]));
    let evidence = &case["evidence"][0];
    assert_eq!(evidence["sha256"], want, "{case}");
    assert_eq!(evidence["source"], format!("aws:ebs:snapshot/{snap}"));
    // Run again on the complete image: nothing read, nothing recorded twice.
    let again = json_out(
        squall(h, &moto)
            .args([
                "acquire", "aws", "snapshot", snap, "--case", "C-0001", "--image",
            ])
            .arg(&images)
            .args(["--yes", "--format", "json"]),
    );
    assert_eq!(again[0]["status"], "unchanged", "{again}");
    let case = json_out(squall(h, &moto).args(["case", "show", "C-0001", "--format", "json"]));
    assert_eq!(case["evidence"].as_array().unwrap().len(), 1, "{case}");

    // An interrupted run: four blocks durable, garbage after them. The next run keeps the
    // durable part (re-hashing it), fetches the rest, and ends with the same digest.
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&raw).unwrap();
        f.seek(SeekFrom::Start(900 * 524_288)).unwrap();
        f.write_all(&[0xAA; 4096]).unwrap();
        f.seek(SeekFrom::Start(1_500 * 524_288)).unwrap();
        f.write_all(&[0xBB; 4096]).unwrap();
    }
    std::fs::write(
        images.join(format!("{snap}.raw.progress")),
        format!(
            r#"{{"snapshot":"{snap}","block_size":524288,"volume_bytes":1073741824,"committed":2097152}}"#
        ),
    )
    .unwrap();
    let stderr = image(h);
    assert!(stderr.contains("resumed after 2097152 bytes"), "{stderr}");
    assert!(stderr.contains(want), "{stderr}");
    let out = std::process::Command::new("sha256sum")
        .arg(&raw)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(want));
    assert!(!images.join(format!("{snap}.raw.progress")).exists());
}

#[test]
fn containing_a_user_and_a_role_cuts_every_way_in_and_records_what_was_there() {
    let Some(moto) = moto() else { return };
    setup(
        &moto,
        r#"
iam = boto3.client('iam', **kw)
iam.create_user(UserName='mallory')
iam.create_access_key(UserName='mallory')
iam.create_access_key(UserName='mallory')
iam.create_login_profile(UserName='mallory', Password='Secret-Passw0rd!')
iam.upload_ssh_public_key(UserName='mallory', SSHPublicKeyBody='ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDtest mallory@laptop')
iam.create_role(RoleName='deployer', AssumeRolePolicyDocument=json.dumps({'Version': '2012-10-17',
    'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 'ec2.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]}))
"#,
    );
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    new_case(h, &moto);
    let user = json_out(squall(h, &moto).args([
        "contain", "aws", "user", "mallory", "--case", "C-0001", "--yes", "--format", "json",
    ]));
    assert_eq!(user[0]["status"], "verified", "{user}");
    let role = json_out(squall(h, &moto).args([
        "contain", "aws", "role", "deployer", "--case", "C-0001", "--yes", "--format", "json",
    ]));
    assert_eq!(role[0]["status"], "verified", "{role}");
    let state: Value = serde_json::from_str(&setup(
        &moto,
        r#"
iam = boto3.client('iam', **kw)
keys = [k['Status'] for k in iam.list_access_keys(UserName='mallory')['AccessKeyMetadata']]
try:
    iam.get_login_profile(UserName='mallory'); login = True
except iam.exceptions.NoSuchEntityException:
    login = False
ssh = iam.list_ssh_public_keys(UserName='mallory')['SSHPublicKeys']
print(json.dumps({'keys': keys, 'login': login, 'ssh': len(ssh),
    'user_policies': iam.list_user_policies(UserName='mallory')['PolicyNames'],
    'role_policies': iam.list_role_policies(RoleName='deployer')['PolicyNames']}))
"#,
    ))
    .unwrap();
    assert_eq!(state["keys"], serde_json::json!(["Inactive", "Inactive"]));
    assert_eq!(state["login"], false);
    assert_eq!(state["ssh"], 0);
    assert_eq!(
        state["user_policies"],
        serde_json::json!(["SquallRevokeOlderSessions"])
    );
    assert_eq!(
        state["role_policies"],
        serde_json::json!(["SquallRevokeOlderSessions"])
    );
    // The deleted SSH key is in the ledger, so the prior state is known.
    let entries = ledger(h, &moto);
    let planned = entries
        .iter()
        .find(|e| e["kind"] == "action.planned")
        .unwrap();
    assert!(
        planned["payload"]["plan"]["before"]["ssh_key_bodies"][0][1]
            .as_str()
            .unwrap()
            .contains("mallory@laptop")
    );
    // Again, a second later: keys, login and SSH keys stay as they are; the sessions cut-off
    // moves forward, so sessions minted in between die too (IAM compares to the second).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let again = json_out(squall(h, &moto).args([
        "contain", "aws", "user", "mallory", "--case", "C-0001", "--yes", "--format", "json",
    ]));
    assert_eq!(again[0]["status"], "verified", "{again}");
    let (first, second) = (&user[0]["observed"], &again[0]["observed"]);
    assert_eq!(first["access_keys"], second["access_keys"], "{again}");
    assert!(
        second["sessions_revoked_before"].as_str() > first["sessions_revoked_before"].as_str(),
        "{user} then {again}"
    );
}

#[test]
fn containing_a_role_again_moves_the_cut_off_to_now_and_says_which_is_in_force() {
    let Some(moto) = moto() else { return };
    setup(
        &moto,
        r#"
iam = boto3.client('iam', **kw)
iam.create_role(RoleName='deployer', AssumeRolePolicyDocument=json.dumps({'Version': '2012-10-17',
    'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 'ec2.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]}))
"#,
    );
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    new_case(h, &moto);
    let in_force = |moto: &Moto| -> String {
        setup(
            moto,
            "iam = boto3.client('iam', **kw)\nd = iam.get_role_policy(RoleName='deployer', PolicyName='SquallRevokeOlderSessions')['PolicyDocument']\nprint(d['Statement'][0]['Condition']['DateLessThan']['aws:TokenIssueTime'])",
        )
    };
    let contain = |h: &Path| {
        let out = squall(h, &moto)
            .args([
                "contain", "aws", "role", "deployer", "--case", "C-0001", "--yes", "--format",
                "json",
            ])
            .assert()
            .success();
        let outcome: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        (outcome, stderr)
    };
    let (first, _) = contain(h);
    assert_eq!(first[0]["status"], "verified", "{first}");
    let first_cut = in_force(&moto);
    // Sessions are minted after the containment (the attacker assumes the role again): the
    // cut-off, to the second, must move past them.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (again, stderr) = contain(h);
    assert_eq!(
        again[0]["status"], "verified",
        "a re-run changes the cut-off: {again}"
    );
    let cut = in_force(&moto);
    assert!(cut > first_cut, "{cut} is not after {first_cut}");
    assert_eq!(
        again[0]["observed"]["sessions_revoked_before"],
        cut.as_str()
    );
    assert!(
        stderr.contains(&format!("the cut-off moves from {first_cut} to {cut}")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "deployer: sessions issued before {cut} are denied (the cut-off in force)"
        )),
        "{stderr}"
    );
}

#[test]
fn recovering_replaces_world_open_rules_rotates_a_key_and_restores_a_disk() {
    let Some(moto) = moto() else { return };
    let ids: Value = serde_json::from_str(&setup(
        &moto,
        r#"
ec2 = boto3.client('ec2', **kw)
iam = boto3.client('iam', **kw)
vpc = ec2.create_vpc(CidrBlock='10.0.0.0/16')['Vpc']['VpcId']
sg = ec2.create_security_group(GroupName='bastion', Description='b', VpcId=vpc)['GroupId']
ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
    {'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22, 'IpRanges': [{'CidrIp': '0.0.0.0/0'}]},
    {'IpProtocol': 'tcp', 'FromPort': 443, 'ToPort': 443, 'IpRanges': [{'CidrIp': '0.0.0.0/0'}]}])
db = ec2.create_security_group(GroupName='db', Description='d', VpcId=vpc)['GroupId']
ec2.authorize_security_group_ingress(GroupId=db, IpPermissions=[
    {'IpProtocol': '-1', 'Ipv6Ranges': [{'CidrIpv6': '::/0'}]},
    {'IpProtocol': 'tcp', 'FromPort': 5432, 'ToPort': 5432, 'IpRanges': [{'CidrIp': '10.0.0.0/8'}]}])
iam.create_user(UserName='ci')
key = iam.create_access_key(UserName='ci')['AccessKey']['AccessKeyId']
image = ec2.describe_images(Owners=['amazon'])['Images'][0]['ImageId']
i = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, Placement={'AvailabilityZone': 'us-east-1a'})['Instances'][0]['InstanceId']
good = ec2.create_volume(AvailabilityZone='us-east-1a', Size=8)['VolumeId']
snap = ec2.create_snapshot(VolumeId=good, Description='golden')['SnapshotId']
print(json.dumps({'sg': sg, 'db': db, 'key': key, 'instance': i, 'snapshot': snap}))
"#,
    ))
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    new_case(h, &moto);

    let fixed = json_out(squall(h, &moto).args([
        "recover",
        "aws",
        "firewall",
        "--replace-with",
        "10.20.0.0/16",
        "--case",
        "C-0001",
        "--yes",
        "--format",
        "json",
    ]));
    assert_eq!(
        fixed.as_array().unwrap().len(),
        2,
        "SSH to 0.0.0.0/0 and everything to ::/0, not HTTPS: {fixed}"
    );
    assert!(
        fixed
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["status"] == "verified"),
        "{fixed}"
    );
    let db: Value = serde_json::from_str(&setup(
        &moto,
        &format!(
            "ec2 = boto3.client('ec2', **kw)\ng = ec2.describe_security_groups(GroupIds=[{:?}])['SecurityGroups'][0]\nprint(json.dumps(sorted([p['IpProtocol'], r.get('CidrIp') or r.get('CidrIpv6')] for p in g['IpPermissions'] for r in p['IpRanges'] + p['Ipv6Ranges'])))",
            ids["db"].as_str().unwrap()
        ),
    ))
    .unwrap();
    assert_eq!(
        db,
        serde_json::json!([["-1", "10.20.0.0/16"], ["tcp", "10.0.0.0/8"]]),
        "the world-open all-ports rule replaced, the private one kept"
    );
    let rules: Value = serde_json::from_str(&setup(
        &moto,
        &format!(
            "ec2 = boto3.client('ec2', **kw)\ng = ec2.describe_security_groups(GroupIds=[{:?}])['SecurityGroups'][0]\nprint(json.dumps(sorted([[p['FromPort'], r['CidrIp']] for p in g['IpPermissions'] for r in p['IpRanges']])))",
            ids["sg"].as_str().unwrap()
        ),
    ))
    .unwrap();
    assert_eq!(
        rules,
        serde_json::json!([[22, "10.20.0.0/16"], [443, "0.0.0.0/0"]])
    );

    let key = ids["key"].as_str().unwrap();
    // A secret file that cannot be written (a dangling link, a missing folder) is refused
    // before any key is made: the leaked key stays, and no secret is lost.
    let dangling = h.join("dangling.credentials");
    std::os::unix::fs::symlink(h.join("gone/creds"), &dangling).unwrap();
    for target in [h.join("no-such-folder/creds"), dangling] {
        squall(h, &moto)
            .args(["recover", "aws", "key", key, "--rotate", "--secret-file"])
            .arg(&target)
            .args(["--case", "C-0001", "--yes", "--format", "json"])
            .assert()
            .failure();
        let keys = setup(
            &moto,
            "iam = boto3.client('iam', **kw)\nprint(json.dumps(sorted(k['Status'] for k in iam.list_access_keys(UserName='ci')['AccessKeyMetadata'])))",
        );
        assert_eq!(
            keys,
            r#"["Active"]"#,
            "no key made for {}",
            target.display()
        );
    }
    let secret_file = h.join("ci.credentials");
    let out = squall(h, &moto)
        .args(["recover", "aws", "key", key, "--rotate", "--secret-file"])
        .arg(&secret_file)
        .args(["--case", "C-0001", "--yes", "--format", "json"])
        .assert()
        .success();
    let written = std::fs::read_to_string(&secret_file).unwrap();
    let secret = written
        .lines()
        .find_map(|l| l.strip_prefix("aws_secret_access_key = "))
        .unwrap()
        .to_string();
    assert!(secret.len() >= 20);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&secret_file)
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    let printed = [
        out.get_output().stdout.clone(),
        out.get_output().stderr.clone(),
        serde_json::to_vec(&ledger(h, &moto)).unwrap(),
    ]
    .concat();
    assert!(
        !String::from_utf8_lossy(&printed).contains(&secret),
        "the new secret leaked into output or the ledger"
    );
    let keys = setup(
        &moto,
        "iam = boto3.client('iam', **kw)\nprint(json.dumps(sorted(k['Status'] for k in iam.list_access_keys(UserName='ci')['AccessKeyMetadata'])))",
    );
    assert_eq!(keys, r#"["Active", "Inactive"]"#);

    let instance = ids["instance"].as_str().unwrap();
    let snap = ids["snapshot"].as_str().unwrap();
    let restored = json_out(squall(h, &moto).args([
        "recover",
        "aws",
        "instance",
        instance,
        "--from-snapshot",
        snap,
        "--case",
        "C-0001",
        "--yes",
        "--format",
        "json",
    ]));
    assert_eq!(restored[0]["status"], "verified", "{restored}");
    let root: Value = serde_json::from_str(&setup(&moto, &root_volume(instance))).unwrap();
    assert_eq!(root["from"], snap);
    assert_eq!(root["state"], "running");
    assert_eq!(
        root["kept"],
        serde_json::json!(["available"]),
        "old root kept"
    );
}

/// An instance, and a snapshot of another volume taken now (moto stamps it with the time).
const SNAPSHOT_OF_TODAY: &str = r#"
ec2 = boto3.client('ec2', **kw)
image = ec2.describe_images(Owners=['amazon'])['Images'][0]['ImageId']
i = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, Placement={'AvailabilityZone': 'us-east-1a'})['Instances'][0]['InstanceId']
v = ec2.create_volume(AvailabilityZone='us-east-1a', Size=8)['VolumeId']
print(json.dumps({'instance': i, 'snapshot': ec2.create_snapshot(VolumeId=v)['SnapshotId']}))
"#;

#[test]
fn restoring_from_a_snapshot_started_after_the_compromise_is_refused_unless_allowed() {
    let Some(moto) = moto() else { return };
    let ids: Value = serde_json::from_str(&setup(&moto, SNAPSHOT_OF_TODAY)).unwrap();
    let (instance, snap) = (
        ids["instance"].as_str().unwrap(),
        ids["snapshot"].as_str().unwrap(),
    );
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // The example incident: its earliest detection, 2026-10-02T09:12:40Z, is the compromise;
    // the snapshot moto just took was started after it.
    squall(h, &moto)
        .args(["hunt", "--new-case", "Example incident", "-q"])
        .assert()
        .success();
    let root_from = |moto: &Moto| {
        let root: Value = serde_json::from_str(&setup(moto, &root_volume(instance))).unwrap();
        root["from"].as_str().unwrap_or_default().to_string()
    };
    let was = root_from(&moto);
    let restore = |extra: &[&str]| {
        squall(h, &moto)
            .args(["recover", "aws", "instance", instance])
            .args([
                "--from-snapshot",
                snap,
                "--case",
                "C-0001",
                "--format",
                "json",
            ])
            .args(extra)
            .assert()
    };
    let out = restore(&["--yes"]).code(3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains(&format!(
            "refusing to restore {instance} from {snap}: it was started 20"
        )) && stderr.contains("not before the compromise at 2026-10-02T09:12:40.000Z")
            && stderr.contains("--allow-after-compromise"),
        "{stderr}"
    );
    assert_eq!(root_from(&moto), was, "nothing changed");

    // Allowed knowingly: the plan puts the two times side by side, and the restore goes on.
    let out = restore(&["--allow-after-compromise"]).success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("\"compromised_at\":\"2026-10-02T09:12:40.000Z\"")
            && stderr.contains("\"snapshot_started\":\"20")
            && stderr.contains("restored because --allow-after-compromise says it is clean"),
        "{stderr}"
    );
    let out = restore(&["--allow-after-compromise", "--yes"]).success();
    let restored: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(restored[0]["status"], "verified", "{restored}");
    assert_eq!(root_from(&moto), snap);
}

/// A boto3 script printing where the instance's root volume comes from (`from`, its
/// snapshot), the instance's state, and the volumes kept with the case's tag besides it.
fn root_volume(instance: &str) -> String {
    format!(
        "ec2 = boto3.client('ec2', **kw)\nd = ec2.describe_instances(InstanceIds=[{instance:?}])['Reservations'][0]['Instances'][0]\nroot = [b['Ebs']['VolumeId'] for b in d['BlockDeviceMappings'] if b['DeviceName'] == d['RootDeviceName']][0]\nkept = ec2.describe_volumes(Filters=[{{'Name': 'tag:squall:case', 'Values': ['C-0001']}}])['Volumes']\nprint(json.dumps({{'from': ec2.describe_volumes(VolumeIds=[root])['Volumes'][0].get('SnapshotId'), 'state': d['State']['Name'], 'kept': [v['State'] for v in kept if v['VolumeId'] != root]}}))"
    )
}

#[test]
fn org_inventory_reaches_every_account_through_the_ir_role() {
    let Some(moto) = moto() else { return };
    let member = setup(
        &moto,
        r#"
org = boto3.client('organizations', **kw)
org.create_organization(FeatureSet='ALL')
acct = org.create_account(Email='prod@example.com', AccountName='prod')['CreateAccountStatus']['AccountId']
creds = boto3.client('sts', **kw).assume_role(RoleArn=f'arn:aws:iam::{acct}:role/IR', RoleSessionName='setup')['Credentials']
there = dict(kw, aws_access_key_id=creds['AccessKeyId'], aws_secret_access_key=creds['SecretAccessKey'], aws_session_token=creds['SessionToken'])
ec2 = boto3.client('ec2', **there)
image = ec2.describe_images(Owners=['amazon'])['Images'][0]['ImageId']
ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, TagSpecifications=[{'ResourceType': 'instance', 'Tags': [{'Key': 'team', 'Value': 'payments'}]}])
print(acct)
"#,
    );
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let tag_map = h.join("tags.yaml");
    std::fs::write(&tag_map, "owner: [team]\n").unwrap();
    let all = json_out(
        squall(h, &moto)
            .args([
                "inventory",
                "aws",
                "--org",
                "--role-name",
                "IR",
                "--region",
                "us-east-1",
                "--format",
                "json",
                "--tag-map",
            ])
            .arg(&tag_map)
            .args(["--approved-vpc", "vpc-approved"]),
    );
    let accounts: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account"].as_str().unwrap())
        .collect();
    assert_eq!(accounts.len(), 2, "{all}");
    assert!(accounts.contains(&member.as_str()));
    let prod = all
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account"] == member.as_str())
        .unwrap();
    assert_eq!(prod["instances"].as_array().unwrap().len(), 2);
    assert_eq!(
        prod["instances"][0]["owner"], "payments",
        "the tag map names the owner tag"
    );
    let findings: Vec<&str> = prod["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(!findings.contains(&"unowned-instance"), "{findings:?}");
    assert_eq!(
        findings
            .iter()
            .filter(|k| **k == "instance-outside-approved-vpc")
            .count(),
        2
    );
    let listed = json_out(squall(h, &moto).args(["inventory", "list", "--format", "json"]));
    let prod = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == member.as_str())
        .unwrap();
    assert_eq!(prod["name"], "prod");
}

/// A proxy in front of moto that answers every fourth request with 503 and every other
/// fourth with 429 and the service's own throttling error, forwarding the rest; it keeps each
/// request it saw.
struct Faulty {
    url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    injected: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

fn faulty_proxy(upstream: &str) -> Faulty {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let injected = std::sync::Arc::new(AtomicUsize::new(0));
    let count = AtomicUsize::new(0);
    let counted = injected.clone();
    let proxy = common::proxy::proxy(upstream, move |text| {
        let n = count.fetch_add(1, Ordering::SeqCst);
        let (status, body) = match n % 4 {
            1 => ("503 Service Unavailable", String::new()),
            3 if text.contains("/ec2/aws4_request") => (
                "429 Too Many Requests",
                "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r</RequestID></Response>".to_string(),
            ),
            3 => (
                "429 Too Many Requests",
                "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>".to_string(),
            ),
            _ => return None,
        };
        counted.fetch_add(1, Ordering::SeqCst);
        Some(common::proxy::Answer {
            status,
            content_type: "text/xml",
            body: body.into_bytes(),
        })
    });
    Faulty {
        url: proxy.url,
        seen: proxy.seen,
        injected,
    }
}

#[test]
fn throttling_and_server_errors_are_retried_and_the_role_is_assumed_for_the_case() {
    let Some(moto) = moto() else { return };
    // A role in another account of the organization, reached through the IR role there.
    let account = "111122223333";
    setup(
        &moto,
        &format!(
            r#"
creds = boto3.client('sts', **kw).assume_role(RoleArn='arn:aws:iam::{account}:role/IR', RoleSessionName='setup')['Credentials']
there = dict(kw, aws_access_key_id=creds['AccessKeyId'], aws_secret_access_key=creds['SecretAccessKey'], aws_session_token=creds['SessionToken'])
iam = boto3.client('iam', **there)
for name in ('deployer', 'builder', 'reporter'):
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({{'Version': '2012-10-17',
        'Statement': [{{'Effect': 'Allow', 'Principal': {{'Service': 'ec2.amazonaws.com'}}, 'Action': 'sts:AssumeRole'}}]}}))
"#
        ),
    );
    let proxy = faulty_proxy(&moto.url);
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    new_case(h, &moto);
    let out = json_out(common::moto::squall(h, &proxy.url).args([
        "contain",
        "aws",
        "role",
        "deployer",
        "builder",
        "reporter",
        "--case",
        "C-0001",
        "--account",
        account,
        "--role-name",
        "IR",
        "--yes",
        "--format",
        "json",
    ]));
    let statuses: Vec<&str> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["verified"; 3], "{out}");
    let injected = proxy.injected.load(std::sync::atomic::Ordering::SeqCst);
    assert!(injected >= 3, "only {injected} faults were injected");
    // The target account's CloudTrail would name the case: the session is squall-C-0001.
    let seen = proxy.seen.lock().unwrap();
    assert!(
        seen.iter()
            .any(|r| r.contains("Action=AssumeRole") && r.contains("RoleSessionName=squall-C-0001")),
        "no AssumeRole with the case's session name"
    );
    // The policies landed in that account, not in the caller's.
    let there = setup(
        &moto,
        &format!(
            r#"
creds = boto3.client('sts', **kw).assume_role(RoleArn='arn:aws:iam::{account}:role/IR', RoleSessionName='check')['Credentials']
there = dict(kw, aws_access_key_id=creds['AccessKeyId'], aws_secret_access_key=creds['SecretAccessKey'], aws_session_token=creds['SessionToken'])
print(json.dumps(boto3.client('iam', **there).list_role_policies(RoleName='builder')['PolicyNames']))
"#
        ),
    );
    assert_eq!(there, r#"["SquallRevokeOlderSessions"]"#);
}

#[test]
fn a_failed_step_is_recorded_and_the_rerun_does_not_snapshot_twice() {
    let Some(moto) = moto() else { return };
    let ids: Value = serde_json::from_str(&setup(&moto, WEB_SERVER)).unwrap();
    let instance = ids["instance"].as_str().unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    new_case(h, &moto);
    // moto cannot copy a snapshot shared from another account: the forensic copy fails after
    // the snapshot was taken and shared.
    let acquire = |h: &Path| {
        squall(h, &moto)
            .args([
                "acquire",
                "aws",
                "instance",
                instance,
                "--case",
                "C-0001",
                "--forensic-account",
                "999988887777",
                "--forensic-role",
                "IR",
                "--yes",
                "--format",
                "json",
            ])
            .assert()
            .code(3)
    };
    let out = acquire(h);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("ec2:CopySnapshot failed on snap-"),
        "{stderr}"
    );
    let entries = ledger(h, &moto);
    let failed = entries.last().unwrap();
    assert_eq!(failed["kind"], "action.failed");
    assert_eq!(failed["payload"]["stage"], "execute");
    let count = |moto: &Moto| {
        setup(
            moto,
            "print(len(boto3.client('ec2', **kw).describe_snapshots(OwnerIds=['self'], Filters=[{'Name': 'tag:squall:case', 'Values': ['C-0001']}])['Snapshots']))",
        )
    };
    assert_eq!(count(&moto), "1");
    acquire(h);
    assert_eq!(count(&moto), "1", "the re-run reused the case's snapshot");
}

#[test]
fn an_image_killed_halfway_resumes_from_what_was_synced() {
    let Some(moto) = moto() else { return };
    // 256 MiB, every block written: long enough to be stopped after the first sync (64 MiB).
    let fixture: Value = serde_json::from_str(&setup(
        &moto,
        r#"
import base64, hashlib
ebs = boto3.client('ebs', **kw)
sid = ebs.start_snapshot(VolumeSize=1)['SnapshotId']
size = 512 * 1024
h = hashlib.sha256()
for index in range(2048):
    if index < 512:
        data = hashlib.sha256(index.to_bytes(8, 'little')).digest() * (size // 32)
        ebs.put_snapshot_block(SnapshotId=sid, BlockIndex=index, BlockData=data, DataLength=size,
            Checksum=base64.b64encode(hashlib.sha256(data).digest()).decode(), ChecksumAlgorithm='SHA256')
    else:
        data = bytes(size)
    h.update(data)
ebs.complete_snapshot(SnapshotId=sid, ChangedBlocksCount=512)
print(json.dumps({'snapshot': sid, 'sha256': h.hexdigest()}))
"#,
    ))
    .unwrap();
    let snap = fixture["snapshot"].as_str().unwrap();
    let want = fixture["sha256"].as_str().unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let images = h.join("images");
    new_case(h, &moto);
    let progress = images.join(format!("{snap}.raw.progress"));
    let committed = || -> u64 {
        std::fs::read(&progress)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v["committed"].as_u64())
            .unwrap_or(0)
    };
    let mut child = common::moto::squall_process(h, &moto.url)
        .args([
            "acquire", "aws", "snapshot", snap, "--case", "C-0001", "--image",
        ])
        .arg(&images)
        .args(["--image-concurrency", "2", "--yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while committed() == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the image finished before it could be interrupted"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let synced = committed();
    assert!(synced >= 64 << 20, "{synced}");
    assert!(!images.join(format!("{snap}.raw.sha256")).exists());

    let out = squall(h, &moto)
        .args([
            "acquire", "aws", "snapshot", snap, "--case", "C-0001", "--image",
        ])
        .arg(&images)
        .arg("--yes")
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("resumed after"), "{stderr}");
    assert!(stderr.contains(want), "{stderr}");
    let case = json_out(squall(h, &moto).args(["case", "show", "C-0001", "--format", "json"]));
    assert_eq!(
        case["evidence"].as_array().unwrap().len(),
        1,
        "one image, recorded once"
    );
}

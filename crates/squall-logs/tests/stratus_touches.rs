//! What each Stratus Red Team detonation changed, read from its real CloudTrail records.
//!
//! Each expectation was written from the technique's description and its records' request
//! parameters and response elements (not recorded from what the reader printed). Skipped, with
//! a message, when ../shared is absent; a failure under CI.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use squall_core::touched::{Change, Kind};
use squall_logs::Record;

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/stratus-red-team");
    assert!(
        p.is_dir() || std::env::var_os("CI").is_none(),
        "CI is set but ../shared/datasets/stratus-red-team is absent"
    );
    if !p.is_dir() {
        eprintln!("SKIPPED: ../shared/datasets/stratus-red-team is absent");
    }
    p.is_dir().then_some(p)
}

type Changed = (Kind, &'static str, Change);

/// (technique, the changes its successful calls made). Role assumptions and the session keys
/// they mint are checked apart: every technique run through a role has them.
const EXPECTED: &[(&str, &[Changed])] = &[
    (
        "aws.defense-evasion.cloudtrail-delete",
        &[(
            Kind::Trail,
            "stratus-red-team-cloudtraild-trail-kvrwohmiai",
            Change::Deleted,
        )],
    ),
    (
        "aws.defense-evasion.cloudtrail-event-selectors",
        &[(
            Kind::Trail,
            "stratus-red-team-ctes-trail-khlvciwdor",
            Change::Modified,
        )],
    ),
    (
        "aws.defense-evasion.cloudtrail-stop",
        &[(
            Kind::Trail,
            "stratus-red-team-ct-stop-trail-buykxbqejv",
            Change::Stopped,
        )],
    ),
    (
        "aws.defense-evasion.vpc-remove-flow-logs",
        &[(Kind::Monitoring, "fl-0e17aa62a21d4bbfe", Change::Deleted)],
    ),
    // RunInstances was refused (Client.UnauthorizedOperation): nothing launched.
    ("aws.execution.ec2-launch-unusual-instances", &[]),
    // Stop, replace the user data, start again.
    (
        "aws.execution.ec2-user-data",
        &[
            (Kind::Instance, "i-DDd6c7B0e18F0E35f", Change::Modified),
            (Kind::Instance, "i-DDd6c7B0e18F0E35f", Change::Stopped),
        ],
    ),
    (
        "aws.exfiltration.ec2-security-group-open-port-22-ingress",
        &[(Kind::Firewall, "sg-003dc7f1f1c686164", Change::Opened)],
    ),
    (
        "aws.exfiltration.ec2-share-ami",
        &[(Kind::Image, "ami-de1fbCab6ccB03e6D", Change::Shared)],
    ),
    (
        "aws.exfiltration.ec2-share-ebs-snapshot",
        &[(Kind::Snapshot, "snap-041993b54a9b3af6f", Change::Shared)],
    ),
    (
        "aws.exfiltration.rds-share-snapshot",
        &[(Kind::Snapshot, "exfiltration", Change::Shared)],
    ),
    (
        "aws.persistence.iam-backdoor-role",
        &[(
            Kind::Role,
            "stratus-red-team-backdoor-r-role",
            Change::Modified,
        )],
    ),
    (
        "aws.persistence.iam-backdoor-user",
        &[(Kind::AccessKey, "AKIAL80DWDVKKM0UXEER", Change::Created)],
    ),
    (
        "aws.persistence.iam-create-admin-user",
        &[
            (Kind::User, "malicious-iam-user", Change::Created),
            (Kind::AccessKey, "AKIAXAFZN8JEPF6L682H", Change::Created),
            (
                Kind::ManagedPolicy,
                "arn:aws:iam::aws:policy/AdministratorAccess",
                Change::Attached,
            ),
        ],
    ),
    (
        "aws.persistence.iam-create-backdoor-role",
        &[
            (
                Kind::Role,
                "stratus-red-team-malicious-iam-role",
                Change::Created,
            ),
            (
                Kind::ManagedPolicy,
                "arn:aws:iam::aws:policy/AdministratorAccess",
                Change::Attached,
            ),
        ],
    ),
    // The clean-up's DeleteLoginProfile failed (EntityTemporarilyUnmodifiable): not a change.
    (
        "aws.persistence.iam-create-user-login-profile",
        &[(
            Kind::LoginProfile,
            "stratus-red-team-login-profile-user",
            Change::Created,
        )],
    ),
    (
        "aws.privilege-escalation.iam-update-user-login-profile",
        &[(
            Kind::LoginProfile,
            "stratus-red-team-update-login-profile-user",
            Change::Modified,
        )],
    ),
    (
        "aws.persistence.sts-federation-token",
        &[(Kind::SessionKey, "ASIASTJKC5GCM7ZE6LUP", Change::Created)],
    ),
    (
        "aws.persistence.lambda-backdoor-function",
        &[(
            Kind::Function,
            "stratus-red-team-backdoor-f-func",
            Change::Opened,
        )],
    ),
    (
        "aws.persistence.lambda-overwrite-code",
        &[(
            Kind::Function,
            "stratus-red-team-olc-func-vayhjqkdav",
            Change::Modified,
        )],
    ),
    (
        "aws.persistence.lambda-layer-extension",
        &[(
            Kind::Function,
            "stratus-red-team-lambda-layer-simpleLambda",
            Change::Modified,
        )],
    ),
    (
        "aws.lateral-movement.ec2-instance-connect",
        &[
            (Kind::Instance, "i-fDb357cB7e99ad973", Change::Modified),
            (Kind::Instance, "i-6D7Fb8F606130A33d", Change::Modified),
            (Kind::Instance, "i-9d2abfF1798C34950", Change::Modified),
        ],
    ),
    (
        "aws.execution.ssm-send-command",
        &[
            (Kind::Instance, "i-00456A8D163f546Ff", Change::Modified),
            (Kind::Instance, "i-cfE23b1a7ceba6f86", Change::Modified),
            (Kind::Instance, "i-9D40CCFc0aE91CFa5", Change::Modified),
        ],
    ),
    (
        "aws.execution.ssm-start-session",
        &[
            (Kind::Instance, "i-eA1d1296c1dE3Aa1f", Change::Modified),
            (Kind::Instance, "i-d0b6DCBA8984dE148", Change::Modified),
            (Kind::Instance, "i-d3720C7af6fCfF2B2", Change::Modified),
        ],
    ),
    // Reads only: secrets, parameters, user data, password data.
    ("aws.credential-access.secretsmanager-retrieve-secrets", &[]),
    (
        "aws.credential-access.ssm-retrieve-securestring-parameters",
        &[],
    ),
];

fn records(path: &Path) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let records = v.get("Records").cloned().unwrap_or(v);
    records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.to_string())
        .collect()
}

#[test]
fn each_detonation_reads_as_the_changes_it_made() {
    let Some(dir) = corpus() else { return };
    let mut failures = Vec::new();
    for (technique, expected) in EXPECTED {
        let mut got = BTreeSet::new();
        for text in records(&dir.join(format!("{technique}.json"))) {
            let r = Record::parse(text.as_bytes(), None).unwrap();
            // Every record names who signed it.
            assert!(
                r.touches().iter().any(|t| t.kind == Kind::Principal),
                "{technique}: {text}"
            );
            if r.error().is_some() {
                continue;
            }
            for t in r.touches() {
                let minted_by_role = matches!((t.kind, t.change), (Kind::Role, Change::Assumed))
                    || (t.kind == Kind::SessionKey
                        && t.parent.as_deref().is_some_and(|p| p.starts_with("role ")));
                if t.change.is_change() && !minted_by_role {
                    got.insert((t.kind, t.id, t.change));
                }
            }
        }
        let want: BTreeSet<_> = expected
            .iter()
            .map(|(k, id, c)| (*k, id.to_string(), *c))
            .collect();
        if got != want {
            failures.push(format!("{technique}:\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn stolen_instance_credentials_lead_back_to_the_instance() {
    let Some(dir) = corpus() else { return };
    let path = dir.join("aws.credential-access.ec2-steal-instance-credentials.json");
    let instances: BTreeSet<String> = records(&path)
        .iter()
        .flat_map(|text| Record::parse(text.as_bytes(), None).unwrap().touches())
        .filter(|t| t.kind == Kind::Instance && t.change == Change::Used)
        .map(|t| format!("{} {}", t.id, t.parent.unwrap_or_default()))
        .collect();
    assert_eq!(
        instances,
        BTreeSet::from([
            "i-786a3A8B5C0d92eF4 role stratus-red-team-ec2-steal-credentials-role".to_string()
        ])
    );
}

#[test]
fn failed_calls_say_why() {
    let Some(dir) = corpus() else { return };
    let path = dir.join("aws.execution.ec2-launch-unusual-instances.json");
    let errors: Vec<String> = records(&path)
        .iter()
        .filter_map(|text| Record::parse(text.as_bytes(), None).unwrap().error())
        .collect();
    assert_eq!(errors, vec!["Client.UnauthorizedOperation".to_string()]);
}

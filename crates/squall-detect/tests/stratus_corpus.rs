//! SigmaHQ's AWS rules, unmodified, over Stratus Red Team's real CloudTrail detonations.
//!
//! Each expectation below was derived by reading the rule's detection logic against the
//! technique's records (not by recording what the engine printed); the reasoning is in the
//! comments. Skipped, with a message, when ../shared is absent.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use squall_detect::{Collector, HuntOptions, Progress, hunt, rules};
use squall_logs::discover;

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets");
    // Absent on a laptop without ../shared is a skip; in CI (which lays shared/ beside the
    // clone) it means the corpus went missing, and fails.
    assert!(
        p.is_dir() || std::env::var_os("CI").is_none(),
        "CI is set but ../shared/datasets is absent"
    );
    p.is_dir().then_some(p)
}

/// (technique file, SigmaHQ rule files expected to fire).
const EXPECTED: &[(&str, &[&str])] = &[
    // Every AssumedRole event whose session issuer is a Role fires aws_sts_assumerole_misuse;
    // the techniques run through a role show it, the ones run as an IAM user do not.
    (
        "aws.credential-access.ec2-get-password-data",
        &["aws_sts_assumerole_misuse"],
    ),
    // SendCommand without errorCode (null matches the absent field) fires ssm_malicious_usage.
    // GetCallerIdentity's user agent is Stratus's, not TruffleHog's.
    (
        "aws.credential-access.ec2-steal-instance-credentials",
        &[
            "aws_cloudtrail_ssm_malicious_usage",
            "aws_sts_assumerole_misuse",
        ],
    ),
    // No SigmaHQ rule names BatchGetSecretValue, GetSecretValue or GetParameters.
    (
        "aws.credential-access.secretsmanager-batch-retrieve-secrets",
        &[],
    ),
    ("aws.credential-access.secretsmanager-retrieve-secrets", &[]),
    (
        "aws.credential-access.ssm-retrieve-securestring-parameters",
        &[],
    ),
    // disable_logging lists StopLogging, UpdateTrail and DeleteTrail (not PutEventSelectors).
    (
        "aws.defense-evasion.cloudtrail-delete",
        &["aws_cloudtrail_disable_logging"],
    ),
    ("aws.defense-evasion.cloudtrail-event-selectors", &[]),
    (
        "aws.defense-evasion.cloudtrail-stop",
        &["aws_cloudtrail_disable_logging"],
    ),
    // Route 53 resolver query logging and LeaveOrganization have no SigmaHQ rule.
    ("aws.defense-evasion.dns-delete-logs", &[]),
    (
        "aws.defense-evasion.organizations-leave",
        &["aws_sts_assumerole_misuse"],
    ),
    (
        "aws.defense-evasion.vpc-remove-flow-logs",
        &["aws_cloudtrail_vpc_flow_logs_deleted"],
    ),
    (
        "aws.discovery.ec2-download-user-data",
        &["aws_sts_assumerole_misuse"],
    ),
    (
        "aws.execution.ec2-launch-unusual-instances",
        &["aws_sts_assumerole_misuse"],
    ),
    // startup_script_change wants requestParameters.attribute = userData; the record carries
    // requestParameters.userData instead, so it does not fire.
    ("aws.execution.ec2-user-data", &[]),
    (
        "aws.execution.ssm-send-command",
        &["aws_cloudtrail_ssm_malicious_usage"],
    ),
    ("aws.execution.ssm-start-session", &[]),
    (
        "aws.exfiltration.ec2-security-group-open-port-22-ingress",
        &["aws_cloudtrail_security_group_change_ingress_egress"],
    ),
    ("aws.exfiltration.ec2-share-ami", &[]),
    // Any ModifySnapshotAttribute fires snapshot_backup_exfiltration.
    (
        "aws.exfiltration.ec2-share-ebs-snapshot",
        &["aws_snapshot_backup_exfiltration"],
    ),
    ("aws.exfiltration.rds-share-snapshot", &[]),
    (
        "aws.impact.bedrock-invoke-model",
        &["aws_sts_assumerole_misuse"],
    ),
    // MFAUsed 'NO' matches 'No' (Sigma is case-insensitive); failed_authentication wants an
    // errorMessage the successful login lacks.
    (
        "aws.initial-access.console-login-without-mfa",
        &["aws_cloudtrail_console_login_success_without_mfa"],
    ),
    ("aws.lateral-movement.ec2-instance-connect", &[]),
    (
        "aws.lateral-movement.ec2-serial-console-send-ssh-public-key",
        &["aws_sts_assumerole_misuse"],
    ),
    ("aws.persistence.iam-backdoor-role", &[]),
    // backdoor_users_keys' filter compares the ARN with the literal text
    // "responseElements.accessKey.userName" (no fieldref), so every CreateAccessKey fires;
    // the S3 Browser rules need S3 Browser's user agent.
    (
        "aws.persistence.iam-backdoor-user",
        &["aws_iam_backdoor_users_keys"],
    ),
    (
        "aws.persistence.iam-create-admin-user",
        &["aws_iam_backdoor_users_keys"],
    ),
    ("aws.persistence.iam-create-backdoor-role", &[]),
    ("aws.persistence.iam-create-user-login-profile", &[]),
    ("aws.persistence.lambda-backdoor-function", &[]),
    // layers|contains '*' is "any value": the layer-extension technique sets layers.
    (
        "aws.persistence.lambda-layer-extension",
        &["aws_new_lambda_layer_attached"],
    ),
    ("aws.persistence.lambda-overwrite-code", &[]),
    ("aws.persistence.rolesanywhere-create-trust-anchor", &[]),
    ("aws.persistence.sts-federation-token", &[]),
    (
        "aws.privilege-escalation.iam-update-user-login-profile",
        &["aws_update_login_profile"],
    ),
];

#[test]
fn sigmahq_aws_rules_fire_as_their_logic_says_on_stratus_detonations() {
    let Some(shared) = shared() else {
        eprintln!("SKIPPED: ../shared/datasets is absent; the Stratus corpus test needs it");
        return;
    };
    let rule_dir = shared.join("sigmahq/rules/cloud/aws");
    let mut set = rules::load(&[rule_dir], false, None);
    assert!(set.problems.is_empty(), "{:?}", set.problems);
    let technique_files: BTreeSet<String> = std::fs::read_dir(shared.join("stratus-red-team"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".json").map(str::to_string)
        })
        .collect();
    let listed: BTreeSet<String> = EXPECTED.iter().map(|(t, _)| t.to_string()).collect();
    assert_eq!(
        listed, technique_files,
        "every technique file has an expectation"
    );

    for (technique, expected) in EXPECTED {
        let file = shared.join(format!("stratus-red-team/{technique}.json"));
        let found = discover(&[file]);
        let sink = Collector::default();
        let stats = hunt(
            &found.inputs,
            &mut set,
            &HuntOptions::default(),
            &Progress::default(),
            &sink,
        );
        let (detections, warnings) = sink.into_sorted();
        assert!(
            warnings.is_empty(),
            "{technique}: unexpected warnings {warnings:?}"
        );
        assert!(stats.records > 0, "{technique}: no records read");
        let fired: BTreeSet<String> = detections
            .iter()
            .map(|d| {
                let name = d.rule.source.rsplit('/').next().unwrap();
                name.trim_end_matches(".yml").to_string()
            })
            .collect();
        let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(fired, expected, "{technique}");
    }
}

#[test]
fn builtin_pack_catches_the_seed_causes_in_stratus_detonations() {
    let Some(shared) = shared() else {
        eprintln!("SKIPPED: ../shared/datasets is absent; the Stratus corpus test needs it");
        return;
    };
    // (technique, built-in rule title that must fire): each technique is one of the causes
    // the built-in pack exists for.
    let cases = [
        (
            "aws.exfiltration.ec2-security-group-open-port-22-ingress",
            "Security Group Opened to the World on an Admin Port",
        ),
        (
            "aws.persistence.iam-backdoor-user",
            "Access Key Created for Another IAM User",
        ),
        (
            "aws.exfiltration.ec2-share-ebs-snapshot",
            "Snapshot or Machine Image Shared Outside the Account",
        ),
        (
            "aws.exfiltration.ec2-share-ami",
            "Snapshot or Machine Image Shared Outside the Account",
        ),
        (
            "aws.exfiltration.rds-share-snapshot",
            "Snapshot or Machine Image Shared Outside the Account",
        ),
        (
            "aws.lateral-movement.ec2-instance-connect",
            "SSH Key Pushed to an EC2 Instance",
        ),
        (
            "aws.lateral-movement.ec2-serial-console-send-ssh-public-key",
            "SSH Key Pushed to an EC2 Instance",
        ),
        (
            "aws.defense-evasion.cloudtrail-stop",
            "CloudTrail Logging Stopped, Deleted or Narrowed",
        ),
        (
            "aws.defense-evasion.cloudtrail-delete",
            "CloudTrail Logging Stopped, Deleted or Narrowed",
        ),
        (
            "aws.defense-evasion.cloudtrail-event-selectors",
            "CloudTrail Logging Stopped, Deleted or Narrowed",
        ),
        (
            "aws.execution.ec2-launch-unusual-instances",
            "GPU, Very Large or Bulk EC2 Instance Launch",
        ),
        (
            "aws.initial-access.console-login-without-mfa",
            "Console Login Without MFA",
        ),
        (
            "aws.persistence.iam-create-admin-user",
            "IAM Principal Given Administrator Rights",
        ),
    ];
    let mut set = rules::load(&[], true, None);
    for (technique, title) in cases {
        let found = discover(&[shared.join(format!("stratus-red-team/{technique}.json"))]);
        let sink = Collector::default();
        hunt(
            &found.inputs,
            &mut set,
            &HuntOptions::default(),
            &Progress::default(),
            &sink,
        );
        let (detections, _) = sink.into_sorted();
        assert!(
            detections.iter().any(|d| d.rule.title == title),
            "{technique}: expected '{title}', got {:?}",
            detections.iter().map(|d| &d.rule.title).collect::<Vec<_>>()
        );
    }
}

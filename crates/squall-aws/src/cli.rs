//! AWS's own command-line arguments: its target flags (`--profile`, `--region`,
//! `--endpoint-url`, `--account`, `--role-name`) and its verbs, for a front end to register
//! under `contain|release|acquire|recover|inventory aws`. Built with the `cli` feature; each
//! verb turns into the shared response flags, the target and a [`crate::request`].

use std::path::PathBuf;

use clap::{Args, Subcommand};
use squall_core::cli::{Format, RESPONSE_HELP, Response};

use crate::Target;
use crate::request::{
    Contain, Holder, Imaging, InstanceContainment as How, Recover, Removal, Shared,
};

#[derive(Subcommand, Debug)]
pub enum ContainAws {
    /// Deactivate access keys (their users keep them, disabled, as evidence).
    #[command(after_help = RESPONSE_HELP)]
    Key {
        /// Access key ids (AKIA..., ASIA... keys are contained through their role).
        #[arg(required = true)]
        keys: Vec<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Contain IAM users: keys deactivated, console login and SSH public keys deleted (bodies
    /// recorded), sessions issued before now denied.
    #[command(after_help = RESPONSE_HELP)]
    User {
        #[arg(required = true)]
        users: Vec<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Contain IAM roles: every session issued before now denied (stolen temporary
    /// credentials stop working; new sessions still do).
    #[command(after_help = RESPONSE_HELP)]
    Role {
        #[arg(required = true)]
        roles: Vec<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Isolate, stop, hibernate or (after a verified acquisition) terminate instances.
    #[command(
        after_help = "Isolation keeps the instance running for the forensics: \
        termination protection on; every network interface moved through an allow-all group \
        (so live connections become untracked) into an empty isolation group (so they are cut); \
        the instance profile detached and its role's older sessions denied; Elastic IPs \
        disassociated. The prior state is recorded: `squall release aws instance` restores it.\n\n\
        --terminate refuses unless the case's ledger holds a verified acquisition of every \
        volume of the instance (`squall acquire aws instance`).\n\n\
        Examples:\n  squall contain aws instance i-0abc --case C-0001 --isolate\n  \
        squall contain aws instance i-0abc i-0def --case C-0001 --isolate --yes"
    )]
    Instance {
        #[arg(required = true)]
        instances: Vec<String>,
        #[command(flatten)]
        how: InstanceContainmentArgs,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
}

/// What to do to an instance: exactly one.
#[derive(Args, Debug, Clone, Copy)]
#[group(required = true, multiple = false)]
pub struct InstanceContainmentArgs {
    /// Cut the network, the instance's credentials and its public addresses; keep it running.
    #[arg(long)]
    pub isolate: bool,
    /// Stop it (memory is lost).
    #[arg(long)]
    pub stop: bool,
    /// Hibernate it (memory kept on the root volume; hibernation must be enabled at launch).
    #[arg(long)]
    pub hibernate: bool,
    /// Terminate it: only after every volume was acquired and verified in the case.
    #[arg(long)]
    pub terminate: bool,
}

#[derive(Subcommand, Debug)]
pub enum ReleaseAws {
    /// Undo an isolation: security groups, instance profile, Elastic IPs and termination
    /// protection as the isolation recorded them. The role's older sessions stay denied.
    #[command(after_help = RESPONSE_HELP)]
    Instance {
        #[arg(required = true)]
        instances: Vec<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum AcquireAws {
    /// Snapshot every volume of running instances (never stopped), tagged with the case, and
    /// optionally share and copy them to the forensic account and image them.
    #[command(
        after_help = "Snapshots are crash-consistent and invisible from inside the \
        instance. With --forensic-account, each snapshot is shared with that account (copied \
        first under a shareable KMS key when the volume uses the AWS-managed key, which cannot \
        be shared); with --forensic-role too, Squall assumes that role there and copies it. \
        With --image, each snapshot is read through the EBS direct APIs into DIR/<snapshot>.raw \
        with its SHA-256, recorded as evidence.\n\n\
        Examples:\n  squall acquire aws instance i-0abc --case C-0001 --yes\n  \
        squall acquire aws instance i-0abc --case C-0001 --forensic-account 999988887777 \
        --forensic-role IR --yes"
    )]
    Instance {
        #[arg(required = true)]
        instances: Vec<String>,
        /// The security team's account that receives the snapshots.
        #[arg(long, value_name = "ACCOUNT")]
        forensic_account: Option<String>,
        /// A role to assume in the forensic account to copy the shared snapshots there.
        #[arg(long, value_name = "NAME", requires = "forensic_account")]
        forensic_role: Option<String>,
        #[command(flatten)]
        image: ImageArgs,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Image existing snapshots through the EBS direct APIs into raw files with their SHA-256,
    /// recorded as evidence on the case. An interrupted image resumes where it stopped.
    ///
    /// The plan names each snapshot's instance, volume and start time; the reads show in the
    /// account's CloudTrail, so nothing is read without --yes. Snapshots are imaged one after
    /// the other (whatever --concurrency says), each one's blocks in parallel
    /// (--image-concurrency).
    ///
    /// Examples:
    ///   squall acquire aws snapshot snap-0123 --case C-0001 --image /cases/C-0001/images
    ///   squall acquire aws snapshot snap-0123 --case C-0001 --image /cases/C-0001/images --yes
    #[command(after_help = RESPONSE_HELP, verbatim_doc_comment)]
    Snapshot {
        #[arg(required = true)]
        snapshots: Vec<String>,
        #[command(flatten)]
        image: ImageArgs,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ImageArgs {
    /// Write raw images here: DIR/<snapshot>.raw and DIR/<snapshot>.raw.sha256.
    #[arg(long, value_name = "DIR")]
    pub image: Option<PathBuf>,
    /// Blocks fetched at once while imaging.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub image_concurrency: usize,
}

#[derive(Subcommand, Debug)]
pub enum RecoverAws {
    /// Replace rules open to the world (0.0.0.0/0, ::/0) on admin ports (SSH, RDP) or all
    /// ports: removed, and with --replace-with opened to that range instead.
    #[command(after_help = RESPONSE_HELP)]
    Firewall {
        /// The range that keeps access (the office, the VPN), added before the world rule goes.
        #[arg(long, value_name = "CIDR")]
        replace_with: Option<String>,
        /// Only these security groups [default: every group with such a rule].
        #[arg(long = "group", value_name = "SG")]
        groups: Vec<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Rotate a leaked access key: a new key for its user, the old one deactivated.
    #[command(after_help = RESPONSE_HELP)]
    Key {
        key: String,
        /// Required: only a new key is made this way.
        #[arg(long, required = true)]
        rotate: bool,
        /// Where the new key goes (a credentials-file profile, mode 0600, never overwritten);
        /// the secret is never printed or recorded.
        #[arg(long, value_name = "FILE")]
        secret_file: PathBuf,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Rebuild an instance's root volume from a known-good snapshot; the old root volume is
    /// kept, detached and tagged with the case.
    #[command(after_help = RESPONSE_HELP)]
    Instance {
        instance: String,
        /// A snapshot started before the compromise (the case's earliest detection).
        #[arg(long, value_name = "SNAPSHOT")]
        from_snapshot: String,
        /// Restore from a snapshot started after the compromise: only if you know it is clean.
        #[arg(long)]
        allow_after_compromise: bool,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Detach managed policies the attacker attached to a user, role or group.
    ///
    /// The policies themselves are kept as they are; a policy not attached is already done.
    ///
    /// Examples:
    ///   squall recover aws detach-policy --user mallory \
    ///     --policy-arn arn:aws:iam::aws:policy/AdministratorAccess --case C-0001
    ///   squall recover aws detach-policy --role app --policy-arn ARN --case C-0001 --yes
    #[command(after_help = RESPONSE_HELP, verbatim_doc_comment)]
    DetachPolicy {
        #[command(flatten)]
        holder: HolderArgs,
        /// The managed policy to detach (repeatable).
        #[arg(long = "policy-arn", value_name = "ARN", required = true)]
        policy_arns: Vec<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Delete inline policies the attacker put on a user, role or group (documents recorded).
    ///
    /// Each policy's full document is read into the plan's before first, so the ledger keeps
    /// it before the policy goes; a name the holder does not have is an error listing the ones
    /// it has. Squall's own SquallRevokeOlderSessions is refused.
    ///
    /// Examples:
    ///   squall recover aws delete-inline-policy --role app --policy backdoor --case C-0001
    ///   squall recover aws delete-inline-policy --role app --policy backdoor --case C-0001 --yes
    #[command(after_help = RESPONSE_HELP, verbatim_doc_comment)]
    DeleteInlinePolicy {
        #[command(flatten)]
        holder: HolderArgs,
        /// The inline policy's name (repeatable).
        #[arg(long = "policy", value_name = "NAME", required = true)]
        policies: Vec<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Make an earlier version of a customer-managed policy its default again.
    ///
    /// The plan shows the default document and the one restored; the attacker's version is
    /// kept, no longer in force.
    ///
    /// Examples:
    ///   squall recover aws policy-version arn:aws:iam::111122223333:policy/app \
    ///     --default-version v1 --case C-0001 --yes
    #[command(after_help = RESPONSE_HELP, verbatim_doc_comment)]
    PolicyVersion {
        /// The managed policy's ARN.
        policy_arn: String,
        /// The version to make the default again (v1, v2, ...).
        #[arg(long, value_name = "VERSION")]
        default_version: String,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Replace a role's trust policy with a known-good document from a file.
    ///
    /// The trust policy in force is recorded in the plan's before first.
    ///
    /// Examples:
    ///   squall recover aws trust-policy app --from-file app-trust.json --case C-0001
    ///   squall recover aws trust-policy app --from-file app-trust.json --case C-0001 --yes
    #[command(after_help = RESPONSE_HELP, verbatim_doc_comment)]
    TrustPolicy {
        /// The role's name.
        role: String,
        /// The trust policy document (JSON) to restore.
        #[arg(long, value_name = "FILE")]
        from_file: PathBuf,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Start stopped CloudTrail trails logging again, verified by GetTrailStatus.
    ///
    /// The plan says since when the trail was blind.
    ///
    /// Examples:
    ///   squall recover aws start-logging main-trail --case C-0001 --yes
    #[command(after_help = RESPONSE_HELP, verbatim_doc_comment)]
    StartLogging {
        /// Trail names or ARNs.
        #[arg(required = true)]
        trails: Vec<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Delete EC2 key pairs the attacker created (public keys recorded first).
    ///
    /// Each one's public key material is read first (DescribeKeyPairs with IncludePublicKey)
    /// into the plan's before; a name not found is an error, unless this case already deleted
    /// it. Instances launched with the key keep it in their authorized_keys.
    ///
    /// Examples:
    ///   squall recover aws delete-key-pair backdoor --region eu-west-1 --case C-0001
    ///   squall recover aws delete-key-pair backdoor --region eu-west-1 --case C-0001 --yes
    #[command(after_help = RESPONSE_HELP, verbatim_doc_comment)]
    DeleteKeyPair {
        /// Key pair names.
        #[arg(required = true)]
        names: Vec<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Stop sharing a snapshot or an AMI with the named accounts, or with everyone.
    ///
    /// Removes createVolumePermission (snapshot) or launchPermission (AMI) for each --from
    /// account, or for the public group with `--from all`; verified by reading the attribute
    /// back. Copies already made are out of reach.
    ///
    /// Examples:
    ///   squall recover aws unshare --snapshot snap-0123 --from 999988887777 --case C-0001
    ///   squall recover aws unshare --image ami-0123 --from all --case C-0001 --yes
    #[command(after_help = RESPONSE_HELP, verbatim_doc_comment)]
    Unshare {
        #[command(flatten)]
        what: SharedArgs,
        /// An account id to unshare from, or `all` for the public (repeatable).
        #[arg(long = "from", value_name = "ACCOUNT", required = true)]
        accounts: Vec<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Revoke one ingress rule the attacker opened (group, protocol, ports, range).
    ///
    /// Verified by reading the group's rules. A rule not there is already done; Squall's own
    /// isolation groups are refused.
    ///
    /// Examples:
    ///   squall recover aws revoke-rule --group sg-0123 --protocol tcp --port 4444 \
    ///     --cidr 198.51.100.9/32 --case C-0001 --yes
    ///   squall recover aws revoke-rule --group sg-0123 --protocol all --cidr 0.0.0.0/0 --case C-0001
    #[command(after_help = RESPONSE_HELP, verbatim_doc_comment)]
    RevokeRule {
        /// The security group.
        #[arg(long, value_name = "SG")]
        group: String,
        /// tcp, udp, icmp, icmpv6 or all.
        #[arg(long)]
        protocol: String,
        /// A port (22) or a range (8000-8080); not with protocol all.
        #[arg(long, value_name = "PORTS")]
        port: Option<String>,
        /// The range the rule admits, exactly as it is in the group.
        #[arg(long, value_name = "CIDR")]
        cidr: String,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Remove users' console logins (their login profiles).
    ///
    /// That each existed, and when it was made, is recorded; the password cannot be read, and
    /// comes back only as a new one.
    ///
    /// Examples:
    ///   squall recover aws disable-login mallory --case C-0001 --yes
    #[command(after_help = RESPONSE_HELP, verbatim_doc_comment)]
    DisableLogin {
        #[arg(required = true)]
        users: Vec<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Delete IAM users the attacker created, with everything on them (described first).
    ///
    /// Contain the user first (`contain aws user`); deleting is for what the attacker made
    /// for itself. The plan's before is the user's whole description: access keys, console
    /// login, SSH keys, signing certificates, service credentials, MFA devices, groups,
    /// attached policies and every inline policy's document. Nothing is removed until that
    /// plan reads back from the ledger, and nothing if the user changed since. Squall never
    /// deletes the identity it runs as. A user not found is an error, unless this case
    /// already deleted it.
    ///
    /// Examples:
    ///   squall recover aws delete-user backup-admin --case C-0001
    ///   squall recover aws delete-user backup-admin --case C-0001 --yes
    #[command(after_help = RESPONSE_HELP, verbatim_doc_comment)]
    DeleteUser {
        /// IAM user names.
        #[arg(required = true)]
        users: Vec<String>,
        /// The id IAM gave it when it was made (AIDA...): refused if the user of that name
        /// has another (a namesake made since). Only with one user.
        #[arg(long, value_name = "ID")]
        id: Option<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Delete IAM roles the attacker created, with their policies (described first).
    ///
    /// Contain the role first (`contain aws role`); deleting is for what the attacker made
    /// for itself, such as a role trusting its own account. The plan's before is the role's
    /// whole description: trust policy, attached policies, every inline policy's document,
    /// instance profiles and tags. Nothing is removed until that plan reads back from the
    /// ledger, and nothing if the role changed since. Squall never deletes the role its own
    /// session belongs to, nor a service-linked role. Sessions already issued last until
    /// they expire (contain aws role denies them).
    ///
    /// Examples:
    ///   squall recover aws delete-role ops-support --case C-0001
    ///   squall recover aws delete-role ops-support --case C-0001 --yes
    #[command(after_help = RESPONSE_HELP, verbatim_doc_comment)]
    DeleteRole {
        /// IAM role names.
        #[arg(required = true)]
        roles: Vec<String>,
        /// The id IAM gave it when it was made (AROA...): refused if the role of that name
        /// has another (a namesake made since). Only with one role.
        #[arg(long, value_name = "ID")]
        id: Option<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Delete customer-managed policies the attacker wrote (every version recorded first).
    ///
    /// The plan's before holds every version's document and everyone the policy is attached
    /// to; nothing is removed until that plan reads back from the ledger, and nothing if the
    /// policy changed since. Then it is detached from each, its other versions deleted, and
    /// the policy deleted. AWS's own policies are refused (detach them instead).
    ///
    /// Examples:
    ///   squall recover aws delete-policy arn:aws:iam::111122223333:policy/god-mode --case C-0001
    #[command(after_help = RESPONSE_HELP, verbatim_doc_comment)]
    DeletePolicy {
        /// Policy ARNs.
        #[arg(required = true, value_name = "POLICY_ARN")]
        policy_arns: Vec<String>,
        /// The id IAM gave it when it was made (ANPA...): refused if the policy of that name
        /// has another (a namesake made since). Only with one policy.
        #[arg(long, value_name = "ID")]
        id: Option<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
    /// Make trails the attacker narrowed record every management event again.
    ///
    /// For a trail still logging but blinded: event selectors that drop management events,
    /// keep only reads or exclude sources (PutEventSelectors), log file validation or global
    /// service events turned off (UpdateTrail). The earlier configuration is not in the log,
    /// so the trail is restored to what a response needs: every management event, read and
    /// write, from every source; log file validation and global service events on. Data
    /// event selectors are kept. The configuration in force is recorded in the plan first.
    /// Use start-logging for a stopped trail.
    ///
    /// Examples:
    ///   squall recover aws restore-trail org-trail --case C-0001
    ///   squall recover aws restore-trail org-trail --multi-region --case C-0001 --yes
    #[command(after_help = RESPONSE_HELP, verbatim_doc_comment)]
    RestoreTrail {
        /// Trail names or ARNs.
        #[arg(required = true)]
        trails: Vec<String>,
        /// Also make each a multi-region trail (whether it was one is not in the log).
        #[arg(long)]
        multi_region: bool,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
}

/// Whose policy: exactly one of a user, a role or a group.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct HolderArgs {
    /// An IAM user.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// An IAM role.
    #[arg(long, value_name = "NAME")]
    pub role: Option<String>,
    /// An IAM group.
    #[arg(long, value_name = "NAME")]
    pub group: Option<String>,
}

impl HolderArgs {
    fn holder(self) -> Holder {
        match self {
            HolderArgs { user: Some(u), .. } => Holder::User(u),
            HolderArgs { role: Some(r), .. } => Holder::Role(r),
            HolderArgs { group, .. } => Holder::Group(group.unwrap_or_default()),
        }
    }
}

/// What is shared: exactly one snapshot or one AMI.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct SharedArgs {
    /// An EBS snapshot.
    #[arg(long, value_name = "SNAPSHOT")]
    pub snapshot: Option<String>,
    /// An AMI.
    #[arg(long, value_name = "AMI")]
    pub image: Option<String>,
}

impl SharedArgs {
    fn shared(self) -> Shared {
        match self {
            SharedArgs {
                snapshot: Some(s), ..
            } => Shared::Snapshot(s),
            SharedArgs { image, .. } => Shared::Image(image.unwrap_or_default()),
        }
    }
}

/// Where and as whom to reach AWS: the standard credential chain, overridable.
#[derive(Args, Debug, Clone)]
pub struct AwsTargetArgs {
    /// A profile from ~/.aws/config (SSO and assume-role profiles work).
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// Region(s) to read; repeat for several [default: every enabled region].
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Another endpoint, e.g. a moto server (AWS_ENDPOINT_URL works too).
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Act in this account by assuming --role-name there (the session is named after the case).
    #[arg(long, value_name = "ACCOUNT", requires = "role_name")]
    pub account: Option<String>,
    /// The incident-response role (the team's emergency access): assumed in --account or in
    /// every --org account; `inventory aws` reports it missing.
    #[arg(long, value_name = "NAME", env = "SQUALL_AWS_ROLE")]
    pub role_name: Option<String>,
}

#[derive(Args, Debug)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub target: AwsTargetArgs,
    /// Every account of the organization (Organizations:ListAccounts from the management
    /// account), each reached by assuming --role-name.
    #[arg(long, requires = "role_name")]
    pub org: bool,
    /// Tag names for owner/purpose/env/data (YAML or TOML: `owner: [Owner, team]`, ...).
    #[arg(long, value_name = "FILE")]
    pub tag_map: Option<PathBuf>,
    /// VPCs instances may run in; an instance elsewhere is a finding (repeatable).
    #[arg(long = "approved-vpc", value_name = "VPC")]
    pub approved_vpcs: Vec<String>,
    /// Access keys older than this many days are findings.
    #[arg(long, default_value_t = 90)]
    pub max_key_age_days: i64,
    #[arg(short, long, value_enum)]
    pub format: Option<Format>,
}

impl AwsTargetArgs {
    /// Where the calls go (the workflow names the assumed role's session after the case).
    pub fn target(self) -> Target {
        Target {
            profile: self.profile,
            region: self.regions.first().cloned(),
            endpoint_url: self.endpoint_url,
            account: self.account,
            role_name: self.role_name,
            case: None,
        }
    }
}

impl ContainAws {
    /// The shared response flags, the target flags and what to contain.
    pub fn into_request(self) -> (Response, AwsTargetArgs, Contain) {
        match self {
            ContainAws::Key { keys, r, target } => (r, target, Contain::Keys(keys)),
            ContainAws::User { users, r, target } => (r, target, Contain::Users(users)),
            ContainAws::Role { roles, r, target } => (r, target, Contain::Roles(roles)),
            ContainAws::Instance {
                instances,
                how,
                r,
                target,
            } => {
                let how = match how {
                    h if h.isolate => How::Isolate,
                    h if h.terminate => How::Terminate,
                    h if h.hibernate => How::Hibernate,
                    _ => How::Stop,
                };
                (
                    r,
                    target,
                    Contain::Instances {
                        ids: instances,
                        how,
                    },
                )
            }
        }
    }
}

impl RecoverAws {
    /// The shared response flags, the target flags and what to recover.
    pub fn into_request(self) -> (Response, AwsTargetArgs, Recover) {
        match self {
            RecoverAws::Firewall {
                replace_with,
                groups,
                r,
                target,
            } => (
                r,
                target,
                Recover::Firewall {
                    replace_with,
                    groups,
                },
            ),
            RecoverAws::Key {
                key,
                rotate: _,
                secret_file,
                r,
                target,
            } => (r, target, Recover::Key { key, secret_file }),
            RecoverAws::Instance {
                instance,
                from_snapshot,
                allow_after_compromise,
                r,
                target,
            } => (
                r,
                target,
                Recover::Instance {
                    instance,
                    snapshot: from_snapshot,
                    allow_after_compromise,
                },
            ),
            RecoverAws::DetachPolicy {
                holder,
                policy_arns,
                r,
                target,
            } => (
                r,
                target,
                Recover::DetachPolicy {
                    holder: holder.holder(),
                    policy_arns,
                },
            ),
            RecoverAws::DeleteInlinePolicy {
                holder,
                policies,
                r,
                target,
            } => (
                r,
                target,
                Recover::DeleteInlinePolicy {
                    holder: holder.holder(),
                    policies,
                },
            ),
            RecoverAws::PolicyVersion {
                policy_arn,
                default_version,
                r,
                target,
            } => (
                r,
                target,
                Recover::PolicyVersion {
                    policy_arn,
                    version: default_version,
                },
            ),
            RecoverAws::TrustPolicy {
                role,
                from_file,
                r,
                target,
            } => (
                r,
                target,
                Recover::TrustPolicy {
                    role,
                    file: from_file,
                },
            ),
            RecoverAws::StartLogging { trails, r, target } => {
                (r, target, Recover::StartLogging(trails))
            }
            RecoverAws::DeleteKeyPair { names, r, target } => {
                (r, target, Recover::DeleteKeyPair(names))
            }
            RecoverAws::Unshare {
                what,
                accounts,
                r,
                target,
            } => (
                r,
                target,
                Recover::Unshare {
                    what: what.shared(),
                    accounts,
                },
            ),
            RecoverAws::RevokeRule {
                group,
                protocol,
                port,
                cidr,
                r,
                target,
            } => (
                r,
                target,
                Recover::RevokeRule {
                    group,
                    protocol,
                    ports: port,
                    cidr,
                },
            ),
            RecoverAws::DisableLogin { users, r, target } => {
                (r, target, Recover::DisableLogin(users))
            }
            RecoverAws::DeleteUser {
                users,
                id,
                r,
                target,
            } => (r, target, Recover::DeleteUser(Removal { names: users, id })),
            RecoverAws::DeleteRole {
                roles,
                id,
                r,
                target,
            } => (r, target, Recover::DeleteRole(Removal { names: roles, id })),
            RecoverAws::DeletePolicy {
                policy_arns,
                id,
                r,
                target,
            } => (
                r,
                target,
                Recover::DeletePolicy(Removal {
                    names: policy_arns,
                    id,
                }),
            ),
            RecoverAws::RestoreTrail {
                trails,
                multi_region,
                r,
                target,
            } => (
                r,
                target,
                Recover::RestoreTrail {
                    trails,
                    multi_region,
                },
            ),
        }
    }
}

impl ImageArgs {
    /// Imaging, when `--image DIR` asks for it.
    pub fn imaging(&self) -> Option<Imaging> {
        Some(Imaging {
            dir: self.image.clone()?,
            concurrency: self.image_concurrency,
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum CollectAws {
    /// CloudTrail's delivered logs for a window, fetched from the trail's bucket into the
    /// case, each file recorded as evidence with its SHA-256; the digests checked; what the
    /// bucket lacks asked of LookupEvents.
    #[command(
        after_help = "Finds the trail's bucket and prefix (DescribeTrails; or --bucket/--prefix), \
        an organization trail's layout (AWSLogs/o-…/ACCOUNT/) included, and lists only the day \
        folders of the window. Files are written to <home>/cases/CASE/logs/aws/ (digests to \
        digests/aws/), each as a .part until whole; a second run fetches only what is missing \
        and records what a killed run left unrecorded. The digest files are checked as AWS \
        describes: each signature against CloudTrail's public key for its region \
        (ListPublicKeys), their hash chain, and every log file's SHA-256. Where no file covers \
        the time (the trail was stopped, or delivery has not caught up), LookupEvents gives \
        the management events, written to a file of CloudTrail records and recorded too. \
        Then `squall hunt --case CASE` with no path hunts what was collected.\n\n\
        Exit codes: 0 collected; 1 the digests show files altered, deleted or inserted; 2 bad \
        usage, nothing collected, or a warning under --strict; 3 some files not fetched.\n\n\
        Examples:\n  squall collect aws logs --case C-0001 --since 48h\n  \
        squall collect aws logs --case C-0001 --since 2026-11-28 --until 2026-11-30 \
        --account 111122223333 --region eu-west-1\n  \
        squall collect aws logs --case C-0001 --since 7d --log-account 999988887777 \
        --role-name IncidentResponse"
    )]
    Logs(CollectLogsArgs),
}

#[derive(Args, Debug)]
pub struct CollectLogsArgs {
    /// The case the logs are collected into.
    #[arg(long)]
    pub case: String,
    /// The window's start: RFC 3339, a date (2026-11-28), or an age (90m, 24h, 7d).
    #[arg(long, value_name = "TIME")]
    pub since: String,
    /// The window's end (same forms) [default: now].
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only this account's logs (repeatable) [default: every account in the bucket].
    #[arg(long = "account", value_name = "ACCOUNT")]
    pub accounts: Vec<String>,
    /// Only this region's logs (repeatable) [default: every region in the bucket].
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// The bucket the logs are in, when the trail cannot be asked.
    #[arg(long, conflicts_with = "trail")]
    pub bucket: Option<String>,
    /// The trail's key prefix in --bucket (the part before AWSLogs/).
    #[arg(long, requires = "bucket")]
    pub prefix: Option<String>,
    /// Which trail's bucket to read, by name or ARN, when there are several.
    #[arg(long)]
    pub trail: Option<String>,
    /// The account holding the bucket (an organization's log archive), reached by assuming
    /// --role-name there.
    #[arg(long, value_name = "ACCOUNT", requires = "role_name")]
    pub log_account: Option<String>,
    /// A profile from ~/.aws/config (SSO and assume-role profiles work).
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// Another endpoint, e.g. a moto server (AWS_ENDPOINT_URL works too).
    #[arg(long, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// The incident-response role: assumed in --log-account, and in other accounts to ask
    /// LookupEvents there.
    #[arg(long, value_name = "NAME", env = "SQUALL_AWS_ROLE")]
    pub role_name: Option<String>,
    /// Files fetched at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub parallel: usize,
    /// Do not ask LookupEvents for what the bucket lacks.
    #[arg(long)]
    pub no_lookup: bool,
    /// At most this many events from LookupEvents in one run (it answers 50 a call, 2 calls
    /// a second).
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub lookup_limit: u64,
    /// Turn warnings into a failing exit code (2).
    #[arg(long, env = "SQUALL_STRICT")]
    pub strict: bool,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(short, long, value_enum)]
    pub format: Option<Format>,
}

impl CollectLogsArgs {
    /// Where the calls go.
    pub fn target(&self) -> Target {
        Target {
            profile: self.profile.clone(),
            region: None,
            endpoint_url: self.endpoint_url.clone(),
            account: None,
            role_name: self.role_name.clone(),
            case: Some(self.case.clone()),
        }
    }
}

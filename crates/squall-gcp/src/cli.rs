//! Google Cloud's own command-line arguments: its target flags (`--project`, `--zone`,
//! `--impersonate`, `--endpoint`) and its verbs, for a front end to register under
//! `contain|release gcp`. Built with the `cli` feature; each verb turns into the shared
//! response flags, the target and a [`crate::request`].

use clap::{Args, Subcommand, ValueEnum};
use squall_core::cli::{Format, RESPONSE_HELP, Response};

use crate::collect::AuditLog;

use crate::request::{Acquisition, Contain, InstanceContainment as How, InstanceRef, Recover};
use crate::{GcpError, Target};

#[derive(Subcommand, Debug)]
pub enum ContainGcp {
    /// Isolate, suspend or stop instances.
    #[command(
        after_help = "Isolation keeps the instance running for the forensics: deletion \
        protection on; deny-all firewall rules (ingress and egress, IPv4 and IPv6, priority 0, \
        where a deny beats every allow) on a network tag only this instance carries, in every \
        network it is on — never its service account, which other instances may share; the tag \
        put on; external addresses removed. It is verified through the instance's effective \
        firewalls: an organization or folder firewall policy that allows traffic is evaluated \
        before any VPC rule, and is reported as a failure. The prior state is recorded: `squall \
        release gcp instance` restores it.\n\n\
        --suspend keeps memory (Google's pause); --stop loses it. --delete refuses unless the \
        case's ledger holds a verified acquisition of every disk of the instance (`squall \
        acquire gcp instance`).\n\n\
        Instances are named projects/P/zones/Z/instances/N (as the audit logs name them), or \
        N with --project and --zone.\n\n\
        Examples:\n  squall contain gcp instance projects/acme-prod/zones/europe-west1-b/instances/web-1 --case C-0001 --isolate\n  \
        squall contain gcp instance web-1 --project acme-prod --zone europe-west1-b --case C-0001 --isolate --yes"
    )]
    Instance {
        #[arg(required = true)]
        instances: Vec<String>,
        #[command(flatten)]
        how: InstanceContainmentArgs,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: GcpTargetArgs,
    },
    /// Disable service accounts and every user-managed key of theirs (kept, disabled, as
    /// evidence): whatever holds their credentials stops working with Google Cloud.
    #[command(after_help = RESPONSE_HELP)]
    ServiceAccount {
        /// NAME@PROJECT.iam.gserviceaccount.com, or projects/P/serviceAccounts/EMAIL.
        #[arg(required = true)]
        accounts: Vec<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: GcpTargetArgs,
    },
    /// Disable service-account keys (a leaked key file), kept as evidence.
    #[command(after_help = RESPONSE_HELP)]
    SaKey {
        /// projects/P/serviceAccounts/EMAIL/keys/KEY_ID, as the audit logs name it.
        #[arg(required = true)]
        keys: Vec<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: GcpTargetArgs,
    },
    /// Remove SSH keys from instance metadata (each line recorded) and block the project's
    /// keys there; with --project-wide, from the project's metadata too.
    #[command(
        after_help = "Every key line is removed unless --user names whose (the text before the         first ':' of a line). Each line's body is kept in the plan in the ledger, as evidence.         Keys the guest agent already wrote into authorized_keys stay on the disk until it         removes them; OS Login ignores metadata keys altogether.

        Examples:
  squall contain gcp ssh-keys projects/acme-prod/zones/europe-west1-b/instances/web-1 --user backdoor --case C-0001
          squall contain gcp ssh-keys --project acme-prod --project-wide --case C-0001 --yes"
    )]
    SshKeys {
        instances: Vec<String>,
        /// Only these users' lines (repeatable).
        #[arg(long = "user", value_name = "NAME")]
        users: Vec<String>,
        /// The project's own metadata keys too (every instance that does not block them).
        #[arg(long)]
        project_wide: bool,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: GcpTargetArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum AcquireGcp {
    /// Snapshot every disk (zonal and regional) of running instances, labelled with the case,
    /// directly into the forensic project when one is given; each snapshot recorded as
    /// evidence.
    #[command(
        after_help = "Snapshots are crash-consistent and invisible from inside the instance. \
        With --forensic-project (or [gcp] forensic_project), each snapshot is made in that \
        project from the source disk, so the source project's people — and whoever holds \
        their credentials — cannot delete or change it; the identity needs \
        compute.disks.createSnapshot on the disk and compute.snapshots.create in the forensic \
        project. A re-run finds the case's snapshots by name and never takes a second one. \
        Google gives no digest of a snapshot: the evidence records its id and its source \
        disk's id.\n\n\
        Examples:\n  squall acquire gcp instance projects/acme-prod/zones/europe-west1-b/instances/web-1 --case C-0001\n  \
        squall acquire gcp instance web-1 --project acme-prod --zone europe-west1-b \
        --forensic-project acme-forensics --case C-0001 --yes\n  \
        squall acquire gcp instance web-1 --project acme-prod --zone europe-west1-b \
        --forensic-project acme-forensics --image /cases/C-0001/images \
        --image-bucket acme-forensics-images --case C-0001 --yes\n\n\
        --image DIR also makes a raw image of each snapshot with its SHA-256. Google has no \
        API that reads a disk's blocks, so a worker instance in the forensic project (no \
        external address; its subnet needs Private Google Access) reads a disk made from the \
        snapshot, attached read-only, hashing it as it streams it into the bucket; Squall \
        downloads it into DIR/<snapshot>.raw, hashing it again as it writes it, and records \
        it only when both digests and every size agree. The worker and its disk are deleted \
        afterwards; the object stays in the bucket. An interrupted download resumes."
    )]
    Instance {
        #[arg(required = true)]
        instances: Vec<String>,
        /// The security team's project that receives the snapshots.
        #[arg(long, value_name = "PROJECT")]
        forensic_project: Option<String>,
        #[command(flatten)]
        image: GcpImageArgs,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: GcpTargetArgs,
    },
}

/// `--image DIR` and the worker that reads each snapshot for it.
#[derive(Args, Debug, Clone)]
pub struct GcpImageArgs {
    /// Write raw images here: DIR/<snapshot>.raw and DIR/<snapshot>.raw.sha256.
    #[arg(long, value_name = "DIR")]
    pub image: Option<std::path::PathBuf>,
    /// The forensic project's bucket the worker streams each image into ([gcp] image_bucket).
    #[arg(long, value_name = "BUCKET")]
    pub image_bucket: Option<String>,
    /// The worker's zone (default: the instance's).
    #[arg(long, value_name = "ZONE")]
    pub worker_zone: Option<String>,
    /// The worker's subnet, `projects/P/regions/R/subnetworks/S`, with Private Google Access
    /// ([gcp] worker_subnet; default: the forensic project's `default` network).
    #[arg(long, value_name = "SUBNET")]
    pub worker_subnet: Option<String>,
    /// The worker's service account: it needs only to read and write objects in the bucket
    /// (`roles/storage.objectUser` there) ([gcp] worker_service_account; default: the
    /// project's default compute account, which often holds far more).
    #[arg(long, value_name = "EMAIL")]
    pub worker_service_account: Option<String>,
    /// The worker's machine type (its network and CPU bound how fast it reads).
    #[arg(long, value_name = "TYPE", default_value = "e2-standard-2")]
    pub worker_machine_type: String,
    /// The worker's boot image; not the one the suspect disk was made from (two disks with
    /// one root file-system UUID can boot the wrong one). It needs bash, python3 and gcloud.
    #[arg(
        long,
        value_name = "IMAGE",
        default_value = "projects/debian-cloud/global/images/family/debian-12"
    )]
    pub worker_image: String,
    /// How long a worker is waited for (`90m`, `12h`); one still reading is left running and
    /// a re-run waits for it again.
    #[arg(long, value_name = "DURATION", default_value = "12h", value_parser = humantime::parse_duration)]
    pub worker_wait: std::time::Duration,
}

impl GcpImageArgs {
    /// The imaging asked for, checked; none without --image. `zone` is the worker's when
    /// --worker-zone is not given.
    fn imaging(
        self,
        forensic_project: Option<&str>,
        zone: &str,
    ) -> Result<Option<crate::request::Imaging>, GcpError> {
        let Some(dir) = self.image else {
            return Ok(None);
        };
        if forensic_project.is_none() {
            return Err(GcpError::Invalid(
                "--image needs --forensic-project: the worker that reads the disk must run where the source project's people cannot reach it".into(),
            ));
        }
        let bucket = self.image_bucket.ok_or_else(|| {
            GcpError::Invalid(
                "--image needs --image-bucket (or [gcp] image_bucket): the bucket the worker writes the image into".into(),
            )
        })?;
        if !valid_bucket(&bucket) {
            return Err(GcpError::Invalid(format!(
                "--image-bucket {bucket:?} is not a bucket name"
            )));
        }
        let zone = self.worker_zone.unwrap_or_else(|| zone.to_string());
        for (flag, v) in [
            ("--worker-zone", zone.as_str()),
            ("--worker-machine-type", self.worker_machine_type.as_str()),
        ] {
            if !crate::request::valid_name(v) {
                return Err(GcpError::Invalid(format!("{flag} {v:?} is not valid")));
            }
        }
        if let Some(s) = &self.worker_subnet
            && !valid_path(s, &["projects", "regions", "subnetworks"])
        {
            return Err(GcpError::Invalid(format!(
                "--worker-subnet {s:?} is not projects/P/regions/R/subnetworks/S"
            )));
        }
        Ok(Some(crate::request::Imaging {
            dir,
            worker: crate::request::Worker {
                zone,
                subnet: self.worker_subnet,
                service_account: self
                    .worker_service_account
                    .unwrap_or_else(|| "default".to_string()),
                machine_type: self.worker_machine_type,
                boot_image: self.worker_image,
                bucket,
                wait: self.worker_wait,
            },
        }))
    }
}

/// A bucket name as Cloud Storage takes it (3 to 63 lower-case letters, digits, `-`, `_`,
/// `.`, starting and ending with a letter or digit).
fn valid_bucket(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"-_.".contains(&c))
        && b.starts_with(|c: char| c.is_ascii_alphanumeric())
        && b.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// `kinds[0]/X/kinds[1]/Y/...`, each value a valid name.
fn valid_path(path: &str, kinds: &[&str]) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    parts.len() == kinds.len() * 2
        && parts.chunks(2).zip(kinds).all(|(pair, kind)| {
            pair[0] == *kind
                && (crate::request::valid_name(pair[1]) || crate::request::valid_project(pair[1]))
        })
}

impl AcquireGcp {
    /// The shared response flags, the target flags and what to acquire (`forensic` fills an
    /// unset --forensic-project).
    pub fn into_request(
        self,
        forensic: Option<String>,
    ) -> Result<(Response, GcpTargetArgs, Acquisition), GcpError> {
        let AcquireGcp::Instance {
            instances,
            forensic_project,
            image,
            r,
            target,
        } = self;
        let forensic_project = forensic_project.or(forensic);
        if let Some(p) = &forensic_project
            && !crate::request::valid_project(p)
        {
            return Err(GcpError::Invalid(format!(
                "--forensic-project {p:?} is not a project id"
            )));
        }
        let instances = target.instances(&instances)?;
        let zone = instances
            .first()
            .map(|i| i.zone.clone())
            .unwrap_or_default();
        let image = image.imaging(forensic_project.as_deref(), &zone)?;
        Ok((
            r,
            target,
            Acquisition {
                instances,
                forensic_project,
                image,
            },
        ))
    }

    /// The imaging flags, for a front end to fill what they left unset from its config.
    pub fn image_mut(&mut self) -> &mut GcpImageArgs {
        let AcquireGcp::Instance { image, .. } = self;
        image
    }

    /// The target flags, for a front end to fill what they left unset from its config.
    pub fn target_mut(&mut self) -> &mut GcpTargetArgs {
        let AcquireGcp::Instance { target, .. } = self;
        target
    }
}

/// What to do to an instance: exactly one.
#[derive(Args, Debug, Clone, Copy)]
#[group(required = true, multiple = false)]
pub struct InstanceContainmentArgs {
    /// Cut it off from every network; keep it running.
    #[arg(long)]
    pub isolate: bool,
    /// Suspend it: memory kept (Google's "pause"); resumable.
    #[arg(long)]
    pub suspend: bool,
    /// Stop it (memory is lost).
    #[arg(long)]
    pub stop: bool,
    /// Delete it: only after every disk was acquired and verified in the case.
    #[arg(long)]
    pub delete: bool,
}

#[derive(Subcommand, Debug)]
pub enum ReleaseGcp {
    /// Undo an isolation: external addresses (the same ones when still free), tags and
    /// deletion protection as the isolation recorded them; its firewall rules deleted.
    #[command(after_help = RESPONSE_HELP)]
    Instance {
        #[arg(required = true)]
        instances: Vec<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: GcpTargetArgs,
    },
}

/// Where and as whom to reach Google Cloud: Application Default Credentials, overridable.
#[derive(Args, Debug, Clone, Default)]
pub struct GcpTargetArgs {
    /// The project, for resources named without one.
    #[arg(long, env = "CLOUDSDK_CORE_PROJECT", value_name = "PROJECT")]
    pub project: Option<String>,
    /// The zone, for instances named without one.
    #[arg(long, env = "CLOUDSDK_COMPUTE_ZONE", value_name = "ZONE")]
    pub zone: Option<String>,
    #[command(flatten)]
    pub identity: GcpIdentityArgs,
}

/// As whom and through where every Google Cloud verb calls: shared by the verbs that act on
/// one project and those that read many.
#[derive(Args, Debug, Clone, Default)]
pub struct GcpIdentityArgs {
    /// Act as this service account (the team's emergency access), through short-lived tokens
    /// from IAM Credentials; the ADC identity needs Service Account Token Creator on it.
    #[arg(long, env = "SQUALL_GCP_IMPERSONATE", value_name = "SA_EMAIL")]
    pub impersonate: Option<String>,
    /// Send every Google API call to this endpoint (a test server).
    #[arg(long, env = "SQUALL_GCP_ENDPOINT", value_name = "URL", hide = true)]
    pub endpoint: Option<String>,
}

impl GcpIdentityArgs {
    /// Where the calls go, for `case` when there is one.
    pub fn target(&self, project: Option<String>, case: Option<String>) -> Target {
        Target {
            project,
            impersonate: self.impersonate.clone(),
            endpoint: self.endpoint.clone(),
            case,
        }
    }
}

impl GcpTargetArgs {
    /// Where the calls go.
    pub fn target(&self) -> Target {
        self.identity.target(self.project.clone(), None)
    }

    /// The `--project` given, checked; `why` says what it is needed for.
    pub fn project_named(&self, why: &str) -> Result<String, GcpError> {
        self.project
            .clone()
            .filter(|p| crate::request::valid_project(p))
            .ok_or_else(|| GcpError::Invalid(why.to_string()))
    }

    /// The snapshot, image or disk `recover gcp unshare` names (clap lets one through): a
    /// name completed with `--project` (and a disk's with `--zone`), or a disk's whole path.
    fn shareable(
        &self,
        snapshot: Option<String>,
        image: Option<String>,
        disk: Option<String>,
    ) -> Result<crate::services::compute::Shareable, GcpError> {
        let (noun, name) = match (snapshot, image, disk) {
            (Some(s), _, _) => ("snapshots", s),
            (_, Some(i), _) => ("images", i),
            (_, _, Some(d)) => ("disks", d),
            _ => unreachable!("clap requires one"),
        };
        // A path says where the disk is, over --project and --zone (which may come from
        // gcloud's environment, CLOUDSDK_CORE_PROJECT and CLOUDSDK_COMPUTE_ZONE).
        let path = if noun == "disks" && name.starts_with("projects/") {
            name.clone()
        } else if noun == "disks" {
            let project = self.project_named("--project names the project the disk is in")?;
            let zone = self.zone.as_deref().ok_or_else(|| {
                GcpError::Invalid(
                    "--zone names the disk's zone (or give its path, projects/P/regions/R/disks/D for a regional disk)".to_string(),
                )
            })?;
            format!("projects/{project}/zones/{zone}/disks/{name}")
        } else {
            let project = self.project_named("--project names the project it is in")?;
            format!("projects/{project}/global/{noun}/{name}")
        };
        crate::services::compute::Shareable::parse(&path).ok_or_else(|| {
            GcpError::Invalid(format!(
                "{name:?} is not a {} name",
                noun.trim_end_matches('s')
            ))
        })
    }

    /// The instances named, completed with `--project` and `--zone`.
    pub fn instances(&self, names: &[String]) -> Result<Vec<InstanceRef>, GcpError> {
        names
            .iter()
            .map(|n| InstanceRef::parse(n, self.project.as_deref(), self.zone.as_deref()))
            .collect()
    }
}

impl ContainGcp {
    /// The target flags, for a front end to fill what they left unset from its config.
    pub fn target_mut(&mut self) -> &mut GcpTargetArgs {
        match self {
            ContainGcp::Instance { target, .. }
            | ContainGcp::ServiceAccount { target, .. }
            | ContainGcp::SaKey { target, .. }
            | ContainGcp::SshKeys { target, .. } => target,
        }
    }

    /// The shared response flags, the target flags and what to contain.
    pub fn into_request(self) -> Result<(Response, GcpTargetArgs, Contain), GcpError> {
        use crate::respond::{account_name, key_name};
        Ok(match self {
            ContainGcp::Instance {
                instances,
                how,
                r,
                target,
            } => {
                let how = match how {
                    h if h.isolate => How::Isolate,
                    h if h.suspend => How::Suspend,
                    h if h.delete => How::Delete,
                    _ => How::Stop,
                };
                let instances = target.instances(&instances)?;
                (r, target, Contain::Instances { instances, how })
            }
            ContainGcp::ServiceAccount {
                accounts,
                r,
                target,
            } => {
                let names = accounts
                    .iter()
                    .map(|a| account_name(a))
                    .collect::<Result<_, _>>()?;
                (r, target, Contain::ServiceAccounts(names))
            }
            ContainGcp::SaKey { keys, r, target } => {
                let names = keys.iter().map(|k| key_name(k)).collect::<Result<_, _>>()?;
                (r, target, Contain::Keys(names))
            }
            ContainGcp::SshKeys {
                instances,
                users,
                project_wide,
                r,
                target,
            } => {
                let instances = target.instances(&instances)?;
                let mut projects: Vec<String> = Vec::new();
                if project_wide {
                    projects = instances.iter().map(|i| i.project.clone()).collect();
                    if projects.is_empty() {
                        let p = target.project.clone().ok_or_else(|| {
                            GcpError::Invalid(
                                "--project-wide needs --project or an instance to take it from"
                                    .to_string(),
                            )
                        })?;
                        if !crate::request::valid_project(&p) {
                            return Err(GcpError::Invalid(format!("{p:?} is not a project id")));
                        }
                        projects.push(p);
                    }
                    projects.sort();
                    projects.dedup();
                } else if instances.is_empty() {
                    return Err(GcpError::Invalid(
                        "name instances, or --project-wide for the project's own keys".to_string(),
                    ));
                }
                (
                    r,
                    target,
                    Contain::SshKeys {
                        instances,
                        projects,
                        users,
                    },
                )
            }
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum CollectGcp {
    /// Cloud Audit Logs of projects for a window, through the Logging API, into the case:
    /// LogEntry JSON Lines, one file per project and UTC hour, each recorded as evidence with
    /// its SHA-256.
    #[command(
        after_help = "Asks entries.list for the window, oldest first, 1000 entries a page, and         writes each hour's entries to <home>/cases/CASE/logs/gcp/PROJECT/LOGS/YYYY/MM/DD/HH.jsonl         as a .part until whole. An hour that ended less than 30 minutes ago may still fill: it         is written as HH.partial-<when>.jsonl, and superseded (left out of hunts) once a later         run writes the whole hour. A second run re-hashes what the case holds and asks only for         the rest. Then `squall hunt --case CASE` with no path hunts what was collected.\n\n\
        Data Access logs exist only where they are turned on (`inventory gcp` says where not);         the Logging API keeps Admin Activity and System Event logs 400 days, the others 30 by         default — older entries are only in a sink's bucket.\n\n\
        Exit codes: 0 collected; 2 bad usage, nothing collected; 3 a project or hour could not         be collected.\n\n\
        Examples:\n  squall collect gcp logs --case C-0001 --since 48h --project acme-prod\n  \
        squall collect gcp logs --case C-0001 --since 2026-11-28 --until 2026-11-30 \
        --project acme-prod --project acme-data --log activity --log data-access"
    )]
    Logs(CollectLogsArgs),
}

/// An audit log, as the command line names it.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogArg {
    /// Admin Activity: every call that changes something.
    Activity,
    /// Data Access: reads, and writes of user data (where turned on).
    DataAccess,
    /// System Event: what Google's systems did (live migration, preemption).
    SystemEvent,
    /// Policy Denied: calls a VPC Service Controls or organization policy refused.
    Policy,
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
    /// A project whose logs to collect (repeatable).
    #[arg(
        long = "project",
        value_name = "PROJECT",
        env = "CLOUDSDK_CORE_PROJECT",
        value_delimiter = ','
    )]
    pub projects: Vec<String>,
    /// Which audit logs (repeatable) [default: all four].
    #[arg(long = "log", value_enum, value_name = "LOG")]
    pub logs: Vec<LogArg>,
    #[command(flatten)]
    pub identity: GcpIdentityArgs,
    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,
    /// Turn warnings into a failing exit code (2).
    #[arg(long, env = "SQUALL_STRICT")]
    pub strict: bool,
    #[arg(short, long, value_enum)]
    pub format: Option<Format>,
}

impl CollectLogsArgs {
    /// Where the calls go.
    pub fn target(&self) -> Target {
        self.identity.target(None, Some(self.case.clone()))
    }

    /// The projects, checked; the logs asked for (all when none named).
    pub fn scope(&self) -> Result<(Vec<String>, Vec<AuditLog>), GcpError> {
        if self.projects.is_empty() {
            return Err(GcpError::Invalid(
                "name the projects: --project P (repeatable), or [gcp] project".to_string(),
            ));
        }
        for p in &self.projects {
            if !crate::request::valid_project(p) {
                return Err(GcpError::Invalid(format!("{p:?} is not a project id")));
            }
        }
        let mut projects = self.projects.clone();
        projects.sort();
        projects.dedup();
        let mut logs: Vec<AuditLog> = self
            .logs
            .iter()
            .map(|l| match l {
                LogArg::Activity => AuditLog::Activity,
                LogArg::DataAccess => AuditLog::DataAccess,
                LogArg::SystemEvent => AuditLog::SystemEvent,
                LogArg::Policy => AuditLog::Policy,
            })
            .collect();
        if logs.is_empty() {
            logs = AuditLog::ALL.to_vec();
        }
        logs.sort();
        logs.dedup();
        Ok((projects, logs))
    }
}

#[derive(Subcommand, Debug)]
pub enum RecoverGcp {
    /// Replace VPC firewall rules that let the world (0.0.0.0/0, ::/0) in on SSH, RDP or
    /// every port: the world's ranges replaced with --replace-with, or the rule deleted (its
    /// whole description recorded first).
    #[command(
        after_help = "Finds enabled ingress allow rules with a world range and a protocol that \
        reaches port 22 or 3389 or every port (`all`, `tcp` with no ports), in --project, or \
        only the --rule names given. The rule is read again just before the change; one that \
        changed since the plan is left alone.\n\n\
        Examples:\n  squall recover gcp firewall --project acme-prod --case C-0001\n  \
        squall recover gcp firewall --project acme-prod --rule allow-ssh-temp --replace-with 10.20.0.0/16 --case C-0001 --yes"
    )]
    Firewall {
        /// Only these rules (repeatable) [default: every world-open rule of the project].
        #[arg(long = "rule", value_name = "NAME")]
        rules: Vec<String>,
        /// The range that keeps access (the office, the VPN).
        #[arg(long, value_name = "CIDR")]
        replace_with: Option<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: GcpTargetArgs,
    },
    /// Rotate a leaked service-account key: a new key for its account, its key file written
    /// only to --secret-file (mode 0600, never overwritten, never printed or recorded), then
    /// the old key disabled (kept, as evidence).
    #[command(after_help = RESPONSE_HELP)]
    Key {
        /// projects/P/serviceAccounts/EMAIL/keys/KEY_ID.
        key: String,
        /// Required: only a new key is made this way.
        #[arg(long, required = true)]
        rotate: bool,
        /// Where the new key file goes.
        #[arg(long, value_name = "FILE")]
        secret_file: std::path::PathBuf,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: GcpTargetArgs,
    },
    /// Delete service-account keys the attacker made, each once what identifies it (id,
    /// creation time, whether it was disabled) is in the plan.
    #[command(after_help = RESPONSE_HELP)]
    DeleteKey {
        /// The keys (`projects/P/serviceAccounts/EMAIL/keys/KEY_ID`).
        #[arg(required = true)]
        keys: Vec<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: GcpTargetArgs,
    },
    /// Delete log exclusions the attacker made (what matches one is dropped before any sink or
    /// bucket sees it), each once its filter is in the plan; or, with --as-before, put back
    /// one they changed. What they dropped stays gone.
    #[command(after_help = as_before_help())]
    LogExclusion {
        /// The exclusions (`projects/P/exclusions/NAME`, or NAME with --project).
        #[arg(required = true)]
        exclusions: Vec<String>,
        /// Put each back as the project's audit log says it was just before TIME (RFC 3339:
        /// the attacker's first change to it), instead of deleting it.
        #[arg(long, value_name = "TIME")]
        as_before: Option<chrono::DateTime<chrono::Utc>>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: GcpTargetArgs,
    },
    /// Turn log sinks the attacker disabled back on, with the destination and filter each
    /// has (recorded in the plan); or, with --as-before, put back one they redirected,
    /// narrowed or deleted.
    #[command(after_help = as_before_help())]
    LogSink {
        /// The sinks (`projects/P/sinks/NAME`, or NAME with --project).
        #[arg(required = true)]
        sinks: Vec<String>,
        /// Put each back as the project's audit log says it was just before TIME (RFC 3339:
        /// the attacker's first change to it), instead of only enabling it.
        #[arg(long, value_name = "TIME")]
        as_before: Option<chrono::DateTime<chrono::Utc>>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: GcpTargetArgs,
    },
    /// Put a stopped instance back on a known-good disk: a new boot disk made from
    /// --from-snapshot attached in place of the current one, which is kept, detached and
    /// labelled with the case, as evidence. The instance is left stopped.
    #[command(
        after_help = "The instance must be stopped first: acquire it (`squall acquire gcp \
        instance`), then `squall contain gcp instance --stop`. The plan warns when the snapshot \
        was taken after the case's first detection: it may hold what the attacker left.\n\n\
        Example:\n  squall recover gcp instance projects/acme-prod/zones/europe-west1-b/instances/web-1 \
        --from-snapshot web-1-nightly-1125 --case C-0001 --yes"
    )]
    Instance {
        /// The instance (`projects/P/zones/Z/instances/N`, or N with --project and --zone).
        instance: String,
        /// The snapshot (`projects/P/global/snapshots/S`, or S in the instance's project).
        #[arg(long, value_name = "SNAPSHOT")]
        from_snapshot: String,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: GcpTargetArgs,
    },
    /// Take a member out of a role the attacker granted on a project (or, with --folder or
    /// --organization, a folder or organization): every binding of the role, conditional ones
    /// too, each recorded; written back with the policy's etag, so a change made in between is
    /// never overwritten. A project's last owner is never removed.
    #[command(
        after_help = "Examples:\n  squall recover gcp remove-binding --project acme-prod --role roles/owner \
        --member user:mallory@evil.example --case C-0001\n  \
        squall recover gcp remove-binding --organization 123456789012 --role roles/iam.securityAdmin \
        --member serviceAccount:x@acme-dev.iam.gserviceaccount.com --case C-0001 --yes"
    )]
    RemoveBinding {
        /// The role (`roles/owner`, `projects/P/roles/NAME`).
        #[arg(long, value_name = "ROLE")]
        role: String,
        /// The member (`user:...`, `serviceAccount:...`, `group:...`, `domain:...`, `allUsers`).
        #[arg(long, value_name = "MEMBER")]
        member: String,
        /// A folder's policy instead of the project's.
        #[arg(long, value_name = "FOLDER_ID", conflicts_with = "organization")]
        folder: Option<String>,
        /// An organization's policy instead of the project's.
        #[arg(long, value_name = "ORG_ID")]
        organization: Option<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: GcpTargetArgs,
    },
    /// Delete firewall rules the attacker created, each once its whole description is in the
    /// plan (and so in the ledger).
    #[command(after_help = RESPONSE_HELP)]
    DeleteRule {
        /// The rules' names.
        #[arg(required = true)]
        rules: Vec<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: GcpTargetArgs,
    },
    /// Stop sharing a snapshot, image or disk with IAM members the attacker added (their own
    /// account, or `public`: allUsers and allAuthenticatedUsers).
    #[command(
        after_help = "The IAM policy is read, the members taken out of every binding (a binding \
        left empty goes) and written back with the etag it was read with, so a concurrent \
        change fails rather than being overwritten. Copies already made from it are out of \
        reach.\n\n\
        A disk is named projects/P/zones/Z/disks/D or projects/P/regions/R/disks/D (as the \
        audit logs name it), or D with --project and --zone.\n\n\
        Examples:\n  squall recover gcp unshare --snapshot web-1-snap --from user:mallory@evil.example --project acme-prod --case C-0001 --yes\n  \
        squall recover gcp unshare --image golden-7 --from public --project acme-prod --case C-0001 --yes\n  \
        squall recover gcp unshare --disk projects/acme-prod/zones/europe-west1-b/disks/db-data --from public --case C-0001 --yes",
        group = clap::ArgGroup::new("shared").required(true).multiple(false)
    )]
    Unshare {
        /// The snapshot's name.
        #[arg(long, value_name = "NAME", group = "shared")]
        snapshot: Option<String>,
        /// The image's name.
        #[arg(long, value_name = "NAME", group = "shared")]
        image: Option<String>,
        /// The disk: its path (which wins over --project and --zone), or its name with
        /// --project and --zone.
        #[arg(long, value_name = "DISK", group = "shared")]
        disk: Option<String>,
        /// An IAM member to take out (`user:...`, `serviceAccount:...`, `group:...`,
        /// `domain:...`, `allUsers`) or `public` (repeatable).
        #[arg(long, value_name = "MEMBER", required = true)]
        from: Vec<String>,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: GcpTargetArgs,
    },
}

impl RecoverGcp {
    /// The target flags, for a front end to fill what they left unset from its config.
    pub fn target_mut(&mut self) -> &mut GcpTargetArgs {
        match self {
            RecoverGcp::Firewall { target, .. }
            | RecoverGcp::Key { target, .. }
            | RecoverGcp::DeleteRule { target, .. }
            | RecoverGcp::RemoveBinding { target, .. }
            | RecoverGcp::Instance { target, .. }
            | RecoverGcp::DeleteKey { target, .. }
            | RecoverGcp::LogExclusion { target, .. }
            | RecoverGcp::LogSink { target, .. }
            | RecoverGcp::Unshare { target, .. } => target,
        }
    }

    /// The shared response flags, the target flags and what to recover.
    pub fn into_request(self) -> Result<(Response, GcpTargetArgs, Recover), GcpError> {
        let (rules, replace_with, r, target) = match self {
            RecoverGcp::DeleteKey { keys, r, target } => {
                let keys = keys
                    .iter()
                    .map(|k| crate::respond::key_name(k))
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok((r, target, Recover::DeleteKeys(keys)));
            }
            RecoverGcp::LogExclusion {
                exclusions,
                as_before,
                r,
                target,
            } => {
                let names = logging_names(&exclusions, "exclusions", &target)?;
                let what = match as_before {
                    Some(before) => Recover::RestoreLogging { names, before },
                    None => Recover::DeleteExclusions(names),
                };
                return Ok((r, target, what));
            }
            RecoverGcp::LogSink {
                sinks,
                as_before,
                r,
                target,
            } => {
                let names = logging_names(&sinks, "sinks", &target)?;
                let what = match as_before {
                    Some(before) => Recover::RestoreLogging { names, before },
                    None => Recover::EnableSinks(names),
                };
                return Ok((r, target, what));
            }
            RecoverGcp::Instance {
                instance,
                from_snapshot,
                r,
                target,
            } => {
                let at = InstanceRef::parse(
                    &instance,
                    target.project.as_deref(),
                    target.zone.as_deref(),
                )?;
                let snapshot = match from_snapshot.split('/').collect::<Vec<_>>().as_slice() {
                    ["projects", p, "global", "snapshots", n]
                        if crate::request::valid_project(p) && crate::request::valid_name(n) =>
                    {
                        from_snapshot.clone()
                    }
                    [n] if crate::request::valid_name(n) => {
                        format!("projects/{}/global/snapshots/{n}", at.project)
                    }
                    _ => {
                        return Err(GcpError::Invalid(format!(
                            "{from_snapshot:?} is not a snapshot (help: projects/P/global/snapshots/S or S)"
                        )));
                    }
                };
                return Ok((
                    r,
                    target,
                    Recover::Instance {
                        instance: at,
                        snapshot,
                    },
                ));
            }
            RecoverGcp::RemoveBinding {
                role,
                member,
                folder,
                organization,
                r,
                target,
            } => {
                let resource = match (folder, organization) {
                    (Some(f), _) => format!("folders/{f}"),
                    (None, Some(o)) => format!("organizations/{o}"),
                    (None, None) => format!(
                        "projects/{}",
                        target.project_named(
                            "--project (or --folder, --organization) names whose policy"
                        )?
                    ),
                };
                if !crate::request::valid_policy_holder(&resource) {
                    return Err(GcpError::Invalid(format!(
                        "{resource:?} holds no IAM policy"
                    )));
                }
                if !crate::request::valid_role(&role) {
                    return Err(GcpError::Invalid(format!("{role:?} is not an IAM role")));
                }
                if !crate::request::valid_member(&member) {
                    return Err(GcpError::Invalid(format!(
                        "{member:?} is not an IAM member"
                    )));
                }
                return Ok((
                    r,
                    target,
                    Recover::RemoveBinding {
                        resource,
                        role,
                        member,
                    },
                ));
            }
            RecoverGcp::DeleteRule { rules, r, target } => {
                let project = target.project_named("--project names the rules' project")?;
                for name in &rules {
                    if !crate::request::valid_name(name) {
                        return Err(GcpError::Invalid(format!(
                            "{name:?} is not a firewall rule's name"
                        )));
                    }
                }
                return Ok((r, target, Recover::DeleteRule { project, rules }));
            }
            RecoverGcp::Unshare {
                snapshot,
                image,
                disk,
                from,
                r,
                target,
            } => {
                let what = target.shareable(snapshot, image, disk)?;
                let mut members = Vec::new();
                for m in from {
                    if m == "public" {
                        members.extend(crate::respond::PUBLIC.iter().map(|p| p.to_string()));
                    } else if crate::request::valid_member(&m) {
                        members.push(m);
                    } else {
                        return Err(GcpError::Invalid(format!(
                            "--from {m:?} is not an IAM member (help: user:EMAIL, serviceAccount:EMAIL, group:EMAIL, domain:NAME, allUsers, or public)"
                        )));
                    }
                }
                return Ok((
                    r,
                    target,
                    Recover::Unshare {
                        what,
                        from: members,
                    },
                ));
            }
            RecoverGcp::Key {
                key,
                secret_file,
                r,
                target,
                ..
            } => {
                let key = crate::respond::key_name(&key)?;
                return Ok((r, target, Recover::Key { key, secret_file }));
            }
            RecoverGcp::Firewall {
                rules,
                replace_with,
                r,
                target,
            } => (rules, replace_with, r, target),
        };
        let project = target.project_named("--project names the project whose rules are fixed")?;
        for name in &rules {
            if !crate::request::valid_name(name) {
                return Err(GcpError::Invalid(format!(
                    "{name:?} is not a firewall rule's name"
                )));
            }
        }
        let replace_with = replace_with
            .map(|c| {
                c.parse::<ipnet::IpNet>()
                    .map(|n| n.trunc().to_string())
                    .map_err(|_| {
                        GcpError::Invalid(format!("--replace-with {c:?} is not a CIDR range"))
                    })
            })
            .transpose()?;
        if replace_with.as_deref().is_some_and(|c| c.ends_with("/0")) {
            return Err(GcpError::Invalid(
                "--replace-with must be narrower than the world".to_string(),
            ));
        }
        Ok((
            r,
            target,
            Recover::Firewall {
                project,
                rules,
                replace_with,
            },
        ))
    }
}

/// `squall inventory gcp`: projects named, or every project under an organization or folder.
#[derive(Args, Debug)]
#[command(
    after_help = "Reads each project through Resource Manager (labels, folders and organization \
    above it, IAM policies), Compute Engine (instances, firewall rules, subnets, peerings, \
    Interconnect and VPN, project metadata), IAM (service accounts, user-managed keys) and Logging \
    (sinks), four projects at a time. Findings: open-admin-port (0.0.0.0/0 or ::/0 on 22, 3389 or \
    every port), old-sa-key, data-access-logs-off, no-log-sink-out, flow-logs-off, \
    project-ssh-keys, os-login-off, ir-access-missing (--ir-member holds no role here or above), \
    unowned-project, project-unreadable. A read that is refused is a warning naming the call; \
    the finding it would have made is not guessed.\n\n\
    Each project is stored in the inventory, merged with what was imported: owner, purpose, \
    env and data from its labels (--label-map), regions, links to corp (Interconnect, VPN), \
    projects it reaches (peerings, Shared VPC), instances with their labels and addresses, \
    world-open rules. `squall triage` answers from it.\n\n\
    Exit codes: 0 read (findings are reported, not failures); 2 bad usage or no credentials; \
    3 a project or part of one could not be read.\n\n\
    Examples:\n  squall inventory gcp --project acme-prod --ir-member group:ir@acme.com\n  \
    squall inventory gcp --org 123456789012 --impersonate ir@acme-sec.iam.gserviceaccount.com"
)]
pub struct InventoryGcpArgs {
    /// A project to read (repeatable).
    #[arg(
        long = "project",
        value_name = "PROJECT",
        env = "CLOUDSDK_CORE_PROJECT",
        value_delimiter = ','
    )]
    pub projects: Vec<String>,
    /// Every active project of this organization (its number), through its folders.
    #[arg(long, value_name = "ORG_ID")]
    pub org: Option<String>,
    /// Every active project under this folder (its number), through its subfolders.
    #[arg(long, value_name = "FOLDER_ID")]
    pub folder: Option<String>,
    /// A member that must hold a role on every project, on it or inherited (repeatable):
    /// `group:ir@example.com`, `serviceAccount:ir@p.iam.gserviceaccount.com`.
    #[arg(long = "ir-member", value_name = "MEMBER")]
    pub ir_members: Vec<String>,
    /// Label keys for owner/purpose/env/data (YAML or TOML: `owner: [owner, team]`, ...).
    #[arg(long, value_name = "FILE")]
    pub label_map: Option<std::path::PathBuf>,
    /// User-managed service-account keys older than this many days are findings.
    #[arg(long, default_value_t = 90)]
    pub max_key_age_days: i64,
    #[command(flatten)]
    pub identity: GcpIdentityArgs,
    #[arg(short, long, value_enum)]
    pub format: Option<Format>,
}

impl InventoryGcpArgs {
    /// Where the calls go.
    pub fn target(&self) -> Target {
        self.identity.target(None, None)
    }

    /// What to read, checked (`labels` from `--label-map` or the caller's default).
    pub fn options(
        &self,
        labels: crate::inventory::LabelMap,
    ) -> Result<crate::inventory::Options, GcpError> {
        for p in &self.projects {
            if !crate::request::valid_project(p) {
                return Err(GcpError::Invalid(format!("{p:?} is not a project id")));
            }
        }
        let mut under = Vec::new();
        for (kind, id) in [("organizations", &self.org), ("folders", &self.folder)] {
            if let Some(id) = id {
                if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(GcpError::Invalid(format!(
                        "{id:?} is not a {} number",
                        &kind[..kind.len() - 1]
                    )));
                }
                under.push(format!("{kind}/{id}"));
            }
        }
        if self.projects.is_empty() && under.is_empty() {
            return Err(GcpError::Invalid(
                "name what to read: --project P (repeatable), --org N or --folder N, or [gcp] project".to_string(),
            ));
        }
        let labels = match &self.label_map {
            Some(path) => crate::inventory::LabelMap::load(path).map_err(GcpError::Invalid)?,
            None => labels,
        };
        Ok(crate::inventory::Options {
            projects: self.projects.clone(),
            under,
            labels,
            ir_members: self.ir_members.clone(),
            max_key_age_days: self.max_key_age_days,
        })
    }
}

/// How `--as-before` finds what to put back, then the shared response help.
fn as_before_help() -> String {
    format!(
        "With --as-before TIME, the project's Admin Activity audit log (kept 400 days) is read \
        up to TIME and every call that made, changed or deleted the sink or exclusion is \
        replayed: its settings then, and the records they come from, are in the plan. One whose \
        making is not in the log (older than that, or made by Google, as _Default is) is left \
        to restore by hand. A sink made again writes as the identity Google gives it now, shown in the \
        outcome: check that the destination lets it write.\n\n\
        Example:\n  squall recover gcp log-sink to-sec --project acme-prod --as-before 2026-11-28T09:14:02Z --case C-0001 --yes\n\n\
        {RESPONSE_HELP}"
    )
}

/// Sinks' or exclusions' names as `projects/P/KIND/NAME`, completed with `--project`.
fn logging_names(
    given: &[String],
    kind: &str,
    target: &GcpTargetArgs,
) -> Result<Vec<String>, GcpError> {
    given
        .iter()
        .map(|n| {
            let full = if n.contains('/') {
                n.clone()
            } else {
                format!("projects/{}/{kind}/{n}", target.project.as_deref().unwrap_or_default())
            };
            crate::request::valid_logging_name(&full, kind)
                .then_some(full)
                .ok_or_else(|| {
                    GcpError::Invalid(format!(
                        "{n:?} is not a log {} (help: projects/P/{kind}/NAME, or NAME with --project)",
                        &kind[..kind.len() - 1]
                    ))
                })
        })
        .collect()
}

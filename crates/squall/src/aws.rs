//! The AWS front end: its own target flags (`--profile`, `--region`, `--account`,
//! `--role-name`, ...) and verbs' arguments, turned into `squall_flow::aws` requests; plans and
//! outcomes printed. Every verb is planned first and changes nothing without `--yes`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use squall_case::text;
use squall_flow::Context;
use squall_flow::aws::{
    self as flow, Contain, ImageProgress, Imaged, Imaging, InstanceContainment as How, Recover,
};
use squall_flow::respond::{Outcomes, PlanShown};

use crate::cli::{Format, RESPONSE_HELP, Response};
use crate::config::AwsConfig;
use crate::{exit, render};

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
        how: InstanceContainment,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
}

/// What to do to an instance: exactly one.
#[derive(Args, Debug, Clone, Copy)]
#[group(required = true, multiple = false)]
pub struct InstanceContainment {
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
    Snapshot {
        #[arg(required = true)]
        snapshots: Vec<String>,
        #[command(flatten)]
        image: ImageArgs,
        #[arg(long)]
        case: String,
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
        #[arg(long, value_name = "SNAPSHOT")]
        from_snapshot: String,
        #[command(flatten)]
        r: Response,
        #[command(flatten)]
        target: AwsTargetArgs,
    },
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
    /// The target, with what the command line and environment left unset taken from the
    /// config file's `[aws]`.
    fn resolve(mut self, defaults: &AwsConfig) -> squall_aws::Target {
        defaults.apply(&mut self);
        squall_aws::Target {
            profile: self.profile,
            region: self.regions.first().cloned(),
            endpoint_url: self.endpoint_url,
            account: self.account,
            role_name: self.role_name,
            case: None,
        }
    }
}

impl Response {
    fn flow(&self) -> squall_flow::respond::Response {
        squall_flow::respond::Response {
            case: self.case.clone(),
            approved: self.yes,
            concurrency: self.concurrency,
        }
    }
}

/// Shows a plan on stderr (stdout is for the outcomes), warning once when the attacker will
/// notice before the case was triaged.
fn show(case: &str) -> impl FnMut(PlanShown<'_>) {
    move |shown| {
        let p = shown.plan;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "plan: {} {}\n  before: {}\n  after:  {}",
            text::terminal(&p.action),
            text::terminal(&p.resource),
            p.before,
            p.after
        );
        for n in &p.notes {
            let _ = writeln!(err, "  note: {}", text::terminal(n));
        }
        if p.already_done {
            let _ = writeln!(err, "  already done: nothing to change");
        } else if shown.warn_untriaged {
            let _ = writeln!(
                err,
                "  warning: the attacker will notice; case {case} is not triaged yet (scope first: `squall scope {case}`)"
            );
        }
    }
}

/// Prints each resource's outcome and the run's summary; FAILED when any resource failed.
fn finish(outcomes: &Outcomes, r: &Response) -> anyhow::Result<u8> {
    for o in outcomes.failed() {
        say!(
            "error: {} {}: {}",
            text::terminal(&o.action),
            text::terminal(&o.resource),
            text::terminal(o.error.as_deref().unwrap_or("failed"))
        );
    }
    let rows = &outcomes.outcomes;
    render::rows(
        render::format_or_default(r.format),
        rows,
        &["resource", "action", "outcome", "ledger_seq", "error"],
        |o| {
            vec![
                o.resource.clone(),
                o.action.clone(),
                o.status.name().to_string(),
                o.ledger_seq.map_or(String::new(), |s| s.to_string()),
                o.error.clone().unwrap_or_default(),
            ]
        },
        |out| {
            writeln!(
                out,
                "{:<24} {:<22} {:<10} {:<7} ERROR",
                "RESOURCE", "ACTION", "OUTCOME", "LEDGER"
            )?;
            for o in rows {
                writeln!(
                    out,
                    "{:<24} {:<22} {:<10} {:<7} {}",
                    text::terminal(&o.resource),
                    text::terminal(&o.action),
                    o.status,
                    o.ledger_seq.map_or("-".to_string(), |s| s.to_string()),
                    text::terminal(o.error.as_deref().unwrap_or(""))
                )?;
            }
            Ok(())
        },
    )?;
    say!("{}", outcomes.summary(&r.case));
    Ok(if outcomes.failed().next().is_some() {
        exit::FAILED
    } else {
        exit::OK
    })
}

/// `squall contain aws key|user|role|instance`.
pub fn contain(ctx: &Context, defaults: &AwsConfig, cmd: ContainAws) -> anyhow::Result<u8> {
    let (what, r, target) = match cmd {
        ContainAws::Key { keys, r, target } => (Contain::Keys(keys), r, target),
        ContainAws::User { users, r, target } => (Contain::Users(users), r, target),
        ContainAws::Role { roles, r, target } => (Contain::Roles(roles), r, target),
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
                Contain::Instances {
                    ids: instances,
                    how,
                },
                r,
                target,
            )
        }
    };
    let target = target.resolve(defaults);
    let outcomes = flow::contain(ctx, &r.flow(), &target, what, &mut show(&r.case))?;
    finish(&outcomes, &r)
}

/// `squall release aws instance`: the prior state comes from the case's ledger.
pub fn release(ctx: &Context, defaults: &AwsConfig, cmd: ReleaseAws) -> anyhow::Result<u8> {
    let ReleaseAws::Instance {
        instances,
        r,
        target,
    } = cmd;
    let target = target.resolve(defaults);
    let outcomes = flow::release(ctx, &r.flow(), &target, instances, &mut show(&r.case))?;
    finish(&outcomes, &r)
}

/// Shows each image's progress as a bar and says each result as soon as it is known.
fn image_progress(case: &str) -> impl FnMut(ImageProgress<'_>) {
    let style = indicatif::ProgressStyle::with_template(
        "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    let mut bar = None;
    move |event| match event {
        ImageProgress::Started(snap) => {
            let b = indicatif::ProgressBar::new(0).with_style(style.clone());
            b.set_message(format!("imaging {snap}"));
            bar = Some(b);
        }
        ImageProgress::Blocks { done, total } => {
            if let Some(b) = &bar {
                b.set_length(total);
                b.set_position(done);
            }
        }
        ImageProgress::Done(Imaged { snapshot, result }) => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            match result {
                Ok((img, e)) => say!(
                    "{snapshot}: {} ({} bytes{}) sha256 {} — evidence {} in case {case}",
                    img.path.display(),
                    img.bytes,
                    if img.resumed_bytes > 0 {
                        format!(", resumed after {} bytes", img.resumed_bytes)
                    } else {
                        String::new()
                    },
                    img.sha256,
                    e.id
                ),
                Err(e) => say!("error: imaging {snapshot}: {e}"),
            }
        }
    }
}

fn image_exit(imaged: &[Imaged]) -> u8 {
    if imaged.iter().any(|i| i.result.is_err()) {
        exit::FAILED
    } else {
        exit::OK
    }
}

/// `squall acquire aws instance|snapshot`.
pub fn acquire(ctx: &Context, defaults: &AwsConfig, cmd: AcquireAws) -> anyhow::Result<u8> {
    match cmd {
        AcquireAws::Instance {
            instances,
            forensic_account,
            forensic_role,
            image,
            r,
            target,
        } => {
            let req = flow::Acquisition {
                instances,
                forensic_account: forensic_account.or_else(|| defaults.forensic_account.clone()),
                forensic_role: forensic_role.or_else(|| defaults.forensic_role.clone()),
                image: image.imaging(),
            };
            let target = target.resolve(defaults);
            let (outcomes, imaged) = flow::acquire(
                ctx,
                &r.flow(),
                &target,
                req,
                &mut show(&r.case),
                &mut |w| say!("warning: {w}"),
                &mut image_progress(&r.case),
            )?;
            let code = finish(&outcomes, &r)?;
            Ok(code.max(image_exit(&imaged)))
        }
        AcquireAws::Snapshot {
            snapshots,
            image,
            case,
            target,
        } => {
            let Some(imaging) = image.imaging() else {
                anyhow::bail!("nothing to do: --image DIR says where the images go");
            };
            let target = target.resolve(defaults);
            let imaged = flow::image(
                ctx,
                &case,
                &target,
                &snapshots,
                &imaging,
                &mut image_progress(&case),
            )?;
            Ok(image_exit(&imaged))
        }
    }
}

impl ImageArgs {
    fn imaging(&self) -> Option<Imaging> {
        Some(Imaging {
            dir: self.image.clone()?,
            concurrency: self.image_concurrency,
        })
    }
}

/// `squall recover aws firewall|key|instance`.
pub fn recover(ctx: &Context, defaults: &AwsConfig, cmd: RecoverAws) -> anyhow::Result<u8> {
    let (what, r, target) = match cmd {
        RecoverAws::Firewall {
            replace_with,
            groups,
            r,
            target,
        } => (
            Recover::Firewall {
                replace_with,
                groups,
            },
            r,
            target,
        ),
        RecoverAws::Key {
            key,
            rotate: _,
            secret_file,
            r,
            target,
        } => (Recover::Key { key, secret_file }, r, target),
        RecoverAws::Instance {
            instance,
            from_snapshot,
            r,
            target,
        } => (
            Recover::Instance {
                instance,
                snapshot: from_snapshot,
            },
            r,
            target,
        ),
    };
    let target = target.resolve(defaults);
    match flow::recover(ctx, &r.flow(), &target, what, &mut show(&r.case))? {
        Ok(outcomes) => finish(&outcomes, &r),
        Err(region) => {
            say!("no rule in {region} is open to the world on admin or all ports");
            Ok(exit::OK)
        }
    }
}

/// `squall inventory aws [--org]`: read, report, and store each account in the inventory.
pub fn inventory(ctx: &Context, defaults: &AwsConfig, args: InventoryArgs) -> anyhow::Result<u8> {
    use squall_aws::inventory::{Options, TagMap};
    let approved_vpcs = match (&args.approved_vpcs, &defaults.approved_vpcs) {
        (given, Some(v)) if given.is_empty() => v.clone(),
        (given, _) => given.clone(),
    };
    let regions = {
        let mut t = args.target.clone();
        defaults.apply(&mut t);
        t.regions
    };
    let target = args.target.clone().resolve(defaults);
    let options = Options {
        regions,
        ir_role: target.role_name.clone(),
        max_key_age_days: args.max_key_age_days,
        approved_vpcs,
        tag_map: match &args.tag_map {
            Some(path) => TagMap::load(path).map_err(anyhow::Error::msg)?,
            None => defaults.tag_map.clone().unwrap_or_default(),
        },
    };
    let inventories = flow::inventory(ctx, &target, &options, args.org, &mut |w| {
        say!("warning: {w}")
    })?;
    let mut out = std::io::stdout().lock();
    match render::format_or_default(args.format) {
        Format::Table | Format::Csv => {
            for inv in &inventories {
                writeln!(
                    out,
                    "account {}: {} region(s), {} instance(s), {} access key(s), {} role(s) trusting other accounts, {} link(s) to corp, {} trail(s)",
                    inv.account,
                    inv.regions.len(),
                    inv.instances.len(),
                    inv.access_keys.len(),
                    inv.roles_trusting_others.len(),
                    inv.corp_links.len(),
                    inv.trails.len()
                )?;
                for f in &inv.findings {
                    writeln!(
                        out,
                        "  {:<6} {:<30} {:<12} {}",
                        f.severity,
                        f.kind,
                        text::terminal(f.region.as_deref().unwrap_or("global")),
                        text::terminal(&f.message)
                    )?;
                }
                if inv.findings.is_empty() {
                    writeln!(out, "  no findings")?;
                }
            }
        }
        Format::Jsonl => {
            for f in inventories.iter().flat_map(|i| &i.findings) {
                serde_json::to_writer(&mut out, f)?;
                writeln!(out)?;
            }
        }
        Format::Json if args.org => {
            serde_json::to_writer_pretty(&mut out, &inventories)?;
            writeln!(out)?;
        }
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &inventories[0])?;
            writeln!(out)?;
        }
    }
    say!("{} account(s) stored in the inventory", inventories.len());
    Ok(exit::OK)
}

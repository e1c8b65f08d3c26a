//! The AWS front end: AWS's own arguments (`squall_aws::cli`) with the config file's `[aws]`
//! defaults under them, handed to `squall_flow::aws`; plans and outcomes printed. Every verb is
//! planned first and changes nothing without `--yes`.

use std::io::Write;

use anyhow::Context as _;
use squall_aws::cli::{
    AcquireAws, AwsTargetArgs, CollectAws, InventoryArgs, RecoverAws, ReleaseAws,
};
use squall_aws::collect::Progress;
use squall_aws::request::Imaging;
use squall_core::text;
use squall_flow::Context;
use squall_flow::aws as flow;

pub use squall_aws::cli::ContainAws;

use crate::cli::{Format, Response};
use crate::config::AwsConfig;
use crate::respond;
use crate::{exit, render};

/// The target: the flags, and what they and the environment left unset from `[aws]`.
pub fn target(mut t: AwsTargetArgs, defaults: &AwsConfig) -> squall_aws::Target {
    crate::config::apply_aws(defaults, &mut t);
    t.target()
}

/// Plans are printed as the provider-neutral renderer prints them.
fn plans(r: &Response) -> impl FnMut(squall_flow::respond::PlanShown<'_>) {
    render::plan_printer(&r.case)
}

/// `squall contain aws key|user|role|instance`.
pub fn contain(ctx: &Context, defaults: &AwsConfig, cmd: ContainAws) -> anyhow::Result<u8> {
    let (r, t, what) = cmd.into_request();
    let target = target(t, defaults);
    let outcomes = flow::contain(ctx, &respond::response(&r), &target, what, &mut plans(&r))?;
    let code = render::outcomes(&outcomes, &r)?;
    cut_offs(&outcomes);
    Ok(code)
}

/// Says the session cut-off each contained principal has now, as read back (or found): the
/// time the analyst quotes, not the one the run meant to set.
fn cut_offs(outcomes: &squall_flow::respond::Outcomes) {
    for o in outcomes.outcomes.iter().filter(|o| o.status.holds()) {
        if let Some(t) = o
            .observed
            .as_ref()
            .and_then(|s| s["sessions_revoked_before"].as_str())
        {
            say!(
                "{}: sessions issued before {t} are denied (the cut-off in force)",
                o.resource
            );
        }
    }
}

/// `squall release aws instance`: the prior state comes from the case's ledger.
pub fn release(ctx: &Context, defaults: &AwsConfig, cmd: ReleaseAws) -> anyhow::Result<u8> {
    let ReleaseAws::Instance {
        instances,
        r,
        target,
    } = cmd;
    let target = self::target(target, defaults);
    let outcomes = flow::release(
        ctx,
        &respond::response(&r),
        &target,
        instances,
        &mut plans(&r),
    )?;
    render::outcomes(&outcomes, &r)
}

/// `--image DIR`, made absolute: the images are recorded as evidence by their paths, which
/// must name the same files from whatever folder the case is read in. (Not canonical: the
/// folder is made only when imaging starts, after the plan is approved.)
fn imaging(image: &squall_aws::cli::ImageArgs) -> anyhow::Result<Option<Imaging>> {
    image
        .imaging()
        .map(|mut imaging| {
            imaging.dir = std::path::absolute(&imaging.dir)
                .with_context(|| format!("--image {}", imaging.dir.display()))?;
            Ok(imaging)
        })
        .transpose()
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
                image: imaging(&image)?,
            };
            let target = self::target(target, defaults);
            let (outcomes, recorded, imaged) = flow::acquire(
                ctx,
                &respond::response(&r),
                &target,
                req,
                &mut plans(&r),
                &mut |w| say!("warning: {w}"),
                &mut respond::image_progress(&r.case),
            )?;
            let code = render::outcomes(&outcomes, &r)?;
            for e in &recorded {
                say!("{}: evidence {} in case {}", e.path, e.id, r.case);
            }
            Ok(code.max(respond::image_exit(&imaged)))
        }
        AcquireAws::Snapshot {
            snapshots,
            image,
            r,
            target,
        } => {
            let Some(imaging) = imaging(&image)? else {
                anyhow::bail!("nothing to do: --image DIR says where the images go");
            };
            let target = self::target(target, defaults);
            let (outcomes, _) = flow::image(
                ctx,
                &respond::response(&r),
                &target,
                &snapshots,
                &imaging,
                &mut plans(&r),
                &mut respond::image_progress(&r.case),
            )?;
            render::outcomes(&outcomes, &r)
        }
    }
}

/// `squall recover aws firewall|key|instance` and the verbs that undo the attacker's changes.
pub fn recover(ctx: &Context, defaults: &AwsConfig, cmd: RecoverAws) -> anyhow::Result<u8> {
    let (r, t, what) = cmd.into_request();
    let target = target(t, defaults);
    let flow_r = respond::response(&r);
    match flow::recover(ctx, &flow_r, &target, what, &mut plans(&r))? {
        Ok(outcomes) => render::outcomes(&outcomes, &r),
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
    let target = target(args.target.clone(), defaults);
    let options = Options {
        regions: match (&args.target.regions, &defaults.regions) {
            (given, Some(r)) if given.is_empty() => r.clone(),
            (given, _) => given.clone(),
        },
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
                    text::terminal(&inv.account),
                    inv.regions.len(),
                    inv.instances.len(),
                    inv.access_keys.len(),
                    inv.roles_trusting_others.len(),
                    inv.corp_links.len(),
                    inv.trails.len()
                )?;
                render::estate_findings(&mut out, &inv.findings)?;
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

/// `squall collect aws logs`: a bar on stderr while files arrive, then what was collected,
/// checked and filled; problems first.
pub fn collect(ctx: &Context, defaults: &AwsConfig, cmd: CollectAws) -> anyhow::Result<u8> {
    let CollectAws::Logs(mut args) = cmd;
    if args.role_name.is_none() {
        args.role_name.clone_from(&defaults.role_name);
    }
    if args.profile.is_none() {
        args.profile.clone_from(&defaults.profile);
    }
    // The configured regions are not a collection's: an attacker's region is often not one
    // the team works in. `--region` narrows it.
    let req = squall_flow::collect::CollectRequest {
        case: args.case.clone(),
        since: args.since.clone(),
        until: args.until.clone(),
        scope: squall_aws::collect::Scope {
            accounts: args.accounts.clone(),
            regions: args.regions.clone(),
            bucket: args.bucket.clone(),
            prefix: args.prefix.clone(),
            trail: args.trail.clone(),
            log_account: args.log_account.clone(),
            parallel: args.parallel,
            lookup: !args.no_lookup,
            lookup_limit: args.lookup_limit,
        },
    };
    let bar = (!args.quiet).then(|| {
        let b =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} files {msg} eta {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let started = std::time::Instant::now();
    let (mut total, mut done) = (0u64, 0u64);
    let mut progress = |p: Progress| {
        let Some(b) = &bar else { return };
        match p {
            Progress::Phase(m) => b.println(text::terminal(&m)),
            Progress::Listed { files, bytes } => {
                total = bytes;
                b.set_length(files);
            }
            Progress::Fetched { bytes } => {
                done += bytes;
                b.inc(1);
                let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
                b.set_message(format!(
                    "{}/{} ({}/s)",
                    indicatif::HumanBytes(done),
                    indicatif::HumanBytes(total),
                    indicatif::HumanBytes(rate as u64)
                ));
            }
        }
    };
    let collected =
        squall_flow::collect::collect_aws_logs(ctx, &args.target(), &req, &mut progress)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    render::collection(&args.case, &collected, args.format, args.strict)
}

//! The Google Cloud front end: its own arguments (`squall_gcp::cli`) with the config file's
//! `[gcp]` defaults under them, handed to `squall_flow::gcp`; plans and outcomes printed.
//! Every verb is planned first and changes nothing without `--yes`.

use anyhow::Context as _;
use squall_flow::Context;
use squall_flow::gcp as flow;
use squall_gcp::cli::{
    AcquireGcp, CollectGcp, ContainGcp, InventoryGcpArgs, RecoverGcp, ReleaseGcp,
};

use crate::config::GcpConfig;
use crate::render;
use crate::respond;

/// `squall contain gcp instance`.
pub fn contain(ctx: &Context, defaults: &GcpConfig, mut cmd: ContainGcp) -> anyhow::Result<u8> {
    crate::config::apply_gcp(defaults, cmd.target_mut());
    let (r, t, what) = cmd.into_request()?;
    let outcomes = flow::contain(
        ctx,
        &respond::response(&r),
        &t.target(),
        what,
        &mut render::plan_printer(&r.case),
    )?;
    render::outcomes(&outcomes, &r)
}

/// `squall release gcp instance`: the prior state comes from the case's ledger.
pub fn release(ctx: &Context, defaults: &GcpConfig, cmd: ReleaseGcp) -> anyhow::Result<u8> {
    let ReleaseGcp::Instance {
        instances,
        r,
        mut target,
    } = cmd;
    crate::config::apply_gcp(defaults, &mut target);
    let instances = target.instances(&instances)?;
    let outcomes = flow::release(
        ctx,
        &respond::response(&r),
        &target.target(),
        instances,
        &mut render::plan_printer(&r.case),
    )?;
    render::outcomes(&outcomes, &r)
}

/// `squall collect gcp logs`.
pub fn collect(ctx: &Context, defaults: &GcpConfig, cmd: CollectGcp) -> anyhow::Result<u8> {
    let CollectGcp::Logs(mut args) = cmd;
    if args.projects.is_empty() {
        args.projects.extend(defaults.project.clone());
    }
    crate::config::apply_gcp_identity(defaults, &mut args.identity);
    let (projects, logs) = args.scope()?;
    let req = squall_flow::collect::GcpCollectRequest {
        case: args.case.clone(),
        since: args.since.clone(),
        until: args.until.clone(),
        projects,
        logs,
    };
    let bar = (!args.quiet).then(|| {
        let b =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos} entries ({per_sec})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b
    });
    let mut progress = |n: u64| {
        if let Some(b) = &bar {
            b.inc(n);
        }
    };
    let collected =
        squall_flow::collect::collect_gcp_logs(ctx, &args.target(), &req, &mut progress)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    render::collection(&args.case, &collected, args.format, args.strict)
}

/// `squall acquire gcp instance`.
pub fn acquire(ctx: &Context, defaults: &GcpConfig, mut cmd: AcquireGcp) -> anyhow::Result<u8> {
    crate::config::apply_gcp(defaults, cmd.target_mut());
    let image = cmd.image_mut();
    for (flag, default) in [
        (&mut image.image_bucket, &defaults.image_bucket),
        (&mut image.worker_subnet, &defaults.worker_subnet),
        (
            &mut image.worker_service_account,
            &defaults.worker_service_account,
        ),
    ] {
        if flag.is_none() {
            flag.clone_from(default);
        }
    }
    let (r, t, mut req) = cmd.into_request(defaults.forensic_project.clone())?;
    // Absolute: images are recorded as evidence by their paths, which must name the same
    // files from whatever folder the case is read in.
    if let Some(imaging) = &mut req.image {
        imaging.dir = std::path::absolute(&imaging.dir)
            .with_context(|| format!("--image {}", imaging.dir.display()))?;
    }
    let (outcomes, recorded, imaged) = flow::acquire(
        ctx,
        &respond::response(&r),
        &t.target(),
        req,
        &mut render::plan_printer(&r.case),
        &mut |w| say!("warning: {w}"),
        &mut respond::image_progress(&r.case),
    )?;
    let code = render::outcomes(&outcomes, &r)?;
    for e in &recorded {
        say!("{}: evidence {} in case {}", e.path, e.id, r.case);
    }
    Ok(code.max(respond::image_exit(&imaged)))
}

/// `squall recover gcp firewall`.
pub fn recover(ctx: &Context, defaults: &GcpConfig, mut cmd: RecoverGcp) -> anyhow::Result<u8> {
    crate::config::apply_gcp(defaults, cmd.target_mut());
    let (r, t, what) = cmd.into_request()?;
    let outcomes = flow::recover(
        ctx,
        &respond::response(&r),
        &t.target(),
        what,
        &mut render::plan_printer(&r.case),
    )?;
    render::outcomes(&outcomes, &r)
}

/// `squall inventory gcp`: read, report, and store each project in the inventory.
pub fn inventory(
    ctx: &Context,
    defaults: &GcpConfig,
    mut args: InventoryGcpArgs,
) -> anyhow::Result<u8> {
    use squall_core::cli::Format;
    use squall_core::text;
    use std::io::Write;
    if args.projects.is_empty() && args.org.is_none() && args.folder.is_none() {
        args.projects.extend(defaults.project.clone());
    }
    crate::config::apply_gcp_identity(defaults, &mut args.identity);
    if args.ir_members.is_empty() {
        args.ir_members = defaults.ir_members.clone().unwrap_or_default();
    }
    let options = args.options(defaults.label_map.clone().unwrap_or_default())?;
    let mut warned = 0usize;
    let found = flow::inventory(ctx, &args.target(), &options, &mut |w| {
        warned += 1;
        say!("warning: {w}")
    })?;
    let mut out = std::io::stdout().lock();
    match render::format_or_default(args.format) {
        Format::Table | Format::Csv => {
            for inv in &found {
                if inv.read {
                    let keys: usize = inv.service_accounts.iter().map(|a| a.keys.len()).sum();
                    writeln!(
                        out,
                        "project {}: {} instance(s), {} firewall rule(s), {} service account(s) with {keys} user-managed key(s), {} sink(s), {} subnet(s), {} peering(s), {} link(s) to corp",
                        text::terminal(&inv.project),
                        inv.instances.len(),
                        inv.firewall_rules,
                        inv.service_accounts.len(),
                        inv.sinks.len(),
                        inv.subnets.len(),
                        inv.peerings.len(),
                        inv.corp_links.len(),
                    )?;
                } else {
                    writeln!(out, "project {}: not read", text::terminal(&inv.project))?;
                }
                render::estate_findings(&mut out, &inv.findings)?;
            }
        }
        Format::Jsonl => {
            for f in found.iter().flat_map(|i| &i.findings) {
                serde_json::to_writer(&mut out, f)?;
                writeln!(out)?;
            }
        }
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &found)?;
            writeln!(out)?;
        }
    }
    let stored = found.iter().filter(|i| i.read).count();
    say!("{stored} project(s) stored in the inventory");
    Ok(if warned > 0 {
        crate::exit::FAILED
    } else {
        crate::exit::OK
    })
}

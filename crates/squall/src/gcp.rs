//! The Google Cloud front end: its own arguments (`squall_gcp::cli`) with the config file's
//! `[gcp]` defaults under them, handed to `squall_flow::gcp`; plans and outcomes printed.
//! Every verb is planned first and changes nothing without `--yes`.

use squall_flow::Context;
use squall_flow::gcp as flow;
use squall_gcp::cli::{ContainGcp, ReleaseGcp};

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

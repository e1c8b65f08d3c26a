//! `squall inventory aws`, `contain aws`, `release aws`, `acquire aws`, `recover aws`: argument
//! wiring around `squall-aws`'s actions and the provider-neutral response driver.

use std::io::Write;

use anyhow::{Context as _, bail};
use serde_json::Value;
use squall_aws::respond::{self as verbs, Clients};
use squall_case::respond::{Action, Outcome, Run, Status};
use squall_case::{NewEvidence, SqliteStore, Store, text};

use crate::case_cmd::{Context, format_or_default};
use crate::cli::{
    AcquireAws, AcquireCommand, AwsTargetArgs, ContainAws, ContainCommand, Format, ImageArgs,
    RecoverAws, RecoverCommand, ReleaseAws, ReleaseCommand, Response,
};
use crate::config::AwsConfig;
use crate::exit;

fn target(t: &AwsTargetArgs, case: Option<&str>) -> squall_aws::Target {
    squall_aws::Target {
        profile: t.profile.clone(),
        region: t.regions.first().cloned(),
        endpoint_url: t.endpoint_url.clone(),
        account: t.account.clone(),
        role_name: t.role_name.clone(),
        case: case.map(str::to_string),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Plans, shows, and (approved) runs the actions; prints each resource's outcome.
fn respond<A: Action>(
    ctx: &Context,
    rt: &tokio::runtime::Runtime,
    r: &Response,
    actions: &[A],
) -> anyhow::Result<(Vec<Outcome>, u8)> {
    let mut store = ctx.store()?;
    let case = store.case(&r.case)?;
    let young = case.triaged_at.is_none();
    let mut warned = false;
    let show = |p: &squall_case::respond::Plan| {
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
        } else if p.visible_to_attacker && young && !warned {
            warned = true;
            let _ = writeln!(
                err,
                "  warning: the attacker will notice; case {} is not triaged yet (scope first: `squall scope {}`)",
                r.case, r.case
            );
        }
    };
    let outcomes = rt.block_on(
        Run {
            store: &mut store,
            case: &r.case,
            actor: &ctx.actor,
            approved: r.yes,
            concurrency: r.concurrency,
        }
        .run(actions, show),
    )?;
    for o in outcomes.iter().filter(|o| o.status == Status::Failed) {
        say!(
            "error: {} {}: {}",
            text::terminal(&o.action),
            text::terminal(&o.resource),
            text::terminal(o.error.as_deref().unwrap_or("failed"))
        );
    }
    print_outcomes(&outcomes, r.format)?;
    let failed = outcomes
        .iter()
        .filter(|o| o.status == Status::Failed)
        .count();
    let count = |s: Status| outcomes.iter().filter(|o| o.status == s).count();
    if !r.yes {
        say!(
            "nothing changed: add --yes to carry out the plan ({} resource(s){})",
            outcomes.len(),
            if failed > 0 {
                format!(", {failed} could not be planned")
            } else {
                String::new()
            }
        );
    } else {
        say!(
            "{} verified, {} already done (nothing changed), {} failed — recorded in case {}",
            count(Status::Verified),
            count(Status::Unchanged),
            failed,
            r.case
        );
    }
    Ok((outcomes, if failed > 0 { exit::FAILED } else { exit::OK }))
}

fn print_outcomes(outcomes: &[Outcome], format: Option<Format>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format_or_default(format) {
        Format::Table => {
            writeln!(
                out,
                "{:<24} {:<22} {:<10} {:<7} ERROR",
                "RESOURCE", "ACTION", "OUTCOME", "LEDGER"
            )?;
            for o in outcomes {
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
        }
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, outcomes)?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for o in outcomes {
                serde_json::to_writer(&mut out, o)?;
                writeln!(out)?;
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["resource", "action", "outcome", "ledger_seq", "error"])?;
            for o in outcomes {
                crate::output::csv_row(
                    &mut w,
                    [
                        o.resource.as_str(),
                        o.action.as_str(),
                        o.status.name(),
                        &o.ledger_seq.map_or(String::new(), |s| s.to_string()),
                        o.error.as_deref().unwrap_or(""),
                    ],
                )?;
            }
            w.flush()?;
        }
    }
    Ok(())
}

fn connect(rt: &tokio::runtime::Runtime, r: &Response) -> Clients {
    let config = rt.block_on(squall_aws::connect(&target(&r.target, Some(&r.case))));
    Clients::new(&config)
}

/// The payloads of the case's ledger entries of one kind, oldest first.
fn ledger_payloads(store: &SqliteStore, case: &str, kind: &str) -> anyhow::Result<Vec<Value>> {
    Ok(store
        .ledger(case)?
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.payload)
        .collect())
}

/// `squall contain aws key|user|role|instance`.
pub fn contain(ctx: &Context, defaults: &AwsConfig, cmd: ContainCommand) -> anyhow::Result<u8> {
    let ContainCommand::Aws(mut cmd) = cmd;
    match &mut cmd {
        ContainAws::Key { r, .. }
        | ContainAws::User { r, .. }
        | ContainAws::Role { r, .. }
        | ContainAws::Instance { r, .. } => defaults.apply(&mut r.target),
    }
    let rt = runtime()?;
    let now = verbs::now_utc();
    match cmd {
        ContainAws::Key { keys, r } => {
            let c = connect(&rt, &r);
            let actions: Vec<_> = keys
                .into_iter()
                .map(|key| verbs::DeactivateKey { c: c.clone(), key })
                .collect();
            Ok(respond(ctx, &rt, &r, &actions)?.1)
        }
        ContainAws::User { users, r } => {
            let c = connect(&rt, &r);
            let actions: Vec<_> = users
                .into_iter()
                .map(|user| verbs::ContainUser {
                    c: c.clone(),
                    user,
                    now: now.clone(),
                })
                .collect();
            Ok(respond(ctx, &rt, &r, &actions)?.1)
        }
        ContainAws::Role { roles, r } => {
            let c = connect(&rt, &r);
            let actions: Vec<_> = roles
                .into_iter()
                .map(|role| verbs::ContainRole {
                    c: c.clone(),
                    role,
                    now: now.clone(),
                })
                .collect();
            Ok(respond(ctx, &rt, &r, &actions)?.1)
        }
        ContainAws::Instance { instances, how, r } => {
            let c = connect(&rt, &r);
            let wait = std::time::Duration::from_secs(600);
            if how.isolate {
                let groups = std::sync::Arc::default();
                let survey = std::sync::Arc::new(verbs::Survey::new(instances.clone()));
                let actions: Vec<_> = instances
                    .into_iter()
                    .map(|id| verbs::IsolateInstance {
                        c: c.clone(),
                        id,
                        now: now.clone(),
                        groups: std::sync::Arc::clone(&groups),
                        survey: std::sync::Arc::clone(&survey),
                    })
                    .collect();
                Ok(respond(ctx, &rt, &r, &actions)?.1)
            } else if how.terminate {
                let store = ctx.store()?;
                let acquired: Vec<String> = ledger_payloads(&store, &r.case, "action.verified")?
                    .into_iter()
                    .filter(|p| p["action"] == "acquire-volume")
                    .filter_map(|p| p["resource"].as_str().map(str::to_string))
                    .collect();
                drop(store);
                let actions: Vec<_> = instances
                    .into_iter()
                    .map(|id| verbs::TerminateInstance {
                        c: c.clone(),
                        id,
                        case: r.case.clone(),
                        acquired: acquired.clone(),
                        wait,
                    })
                    .collect();
                Ok(respond(ctx, &rt, &r, &actions)?.1)
            } else {
                let actions: Vec<_> = instances
                    .into_iter()
                    .map(|id| verbs::StopInstance {
                        c: c.clone(),
                        id,
                        hibernate: how.hibernate,
                        wait,
                    })
                    .collect();
                Ok(respond(ctx, &rt, &r, &actions)?.1)
            }
        }
    }
}

/// `squall release aws instance`: the prior state comes from the case's ledger.
pub fn release(ctx: &Context, defaults: &AwsConfig, cmd: ReleaseCommand) -> anyhow::Result<u8> {
    let ReleaseCommand::Aws(ReleaseAws::Instance { instances, mut r }) = cmd;
    defaults.apply(&mut r.target);
    let store = ctx.store()?;
    let planned = ledger_payloads(&store, &r.case, "action.planned")?;
    drop(store);
    let mut actions = Vec::new();
    let rt = runtime()?;
    let c = connect(&rt, &r);
    for id in instances {
        // The last isolation that changed something holds the state to go back to; a re-run
        // that found it already isolated saw only the isolated state.
        let prior = planned
            .iter()
            .rev()
            .map(|p| &p["plan"])
            .find(|p| p["action"] == "isolate-instance" && p["resource"] == id.as_str() && p["already_done"] == false)
            .map(|p| p["before"]["prior"].clone())
            .with_context(|| {
                format!(
                    "case {} has no isolation of {id} to undo (help: `squall ledger export {}` shows what was done)",
                    r.case, r.case
                )
            })?;
        actions.push(verbs::ReleaseInstance {
            c: c.clone(),
            id,
            prior,
        });
    }
    Ok(respond(ctx, &rt, &r, &actions)?.1)
}

/// `squall acquire aws instance|snapshot`.
pub fn acquire(ctx: &Context, defaults: &AwsConfig, cmd: AcquireCommand) -> anyhow::Result<u8> {
    let AcquireCommand::Aws(mut cmd) = cmd;
    match &mut cmd {
        AcquireAws::Instance { r, .. } => defaults.apply(&mut r.target),
        AcquireAws::Snapshot { target, .. } => defaults.apply(target),
    }
    let rt = runtime()?;
    match cmd {
        AcquireAws::Instance {
            instances,
            forensic_account,
            forensic_role,
            image,
            r,
        } => {
            let t = target(&r.target, Some(&r.case));
            let config = rt.block_on(squall_aws::connect(&t));
            let c = Clients::new(&config);
            let forensic = match forensic_account.or_else(|| defaults.forensic_account.clone()) {
                Some(account) => {
                    let clients = match forensic_role.or_else(|| defaults.forensic_role.clone()) {
                        Some(role) => {
                            let ft = squall_aws::Target {
                                role_name: Some(role),
                                ..t.in_account(&account)
                            };
                            Some(Clients::new(&rt.block_on(squall_aws::connect(&ft))))
                        }
                        None => None,
                    };
                    Some(verbs::Forensic { account, clients })
                }
                None => None,
            };
            let mut actions = Vec::new();
            for id in &instances {
                let detail = rt.block_on(squall_aws::services::ec2::instance(&c.ec2, id))?;
                if detail.volumes.is_empty() {
                    say!(
                        "warning: {id} has no EBS volume to acquire (instance store is lost on stop)"
                    );
                }
                for v in detail.volumes {
                    actions.push(verbs::AcquireVolume {
                        c: c.clone(),
                        instance: id.clone(),
                        volume: v.volume,
                        case: r.case.clone(),
                        forensic: forensic.clone(),
                        wait: verbs::SNAPSHOT_WAIT,
                    });
                }
            }
            let (outcomes, mut code) = respond(ctx, &rt, &r, &actions)?;
            if let Some(dir) = &image.image
                && r.yes
            {
                let snapshots: Vec<String> = outcomes
                    .iter()
                    .filter(|o| o.status.holds())
                    .filter_map(|o| {
                        o.observed.as_ref()?["snapshot"]
                            .as_str()
                            .map(str::to_string)
                    })
                    .collect();
                if image_all(ctx, &rt, &config, &r.case, &snapshots, dir, &image)? != exit::OK {
                    code = exit::FAILED;
                }
            }
            Ok(code)
        }
        AcquireAws::Snapshot {
            snapshots,
            image,
            case,
            target: t,
        } => {
            let Some(dir) = &image.image else {
                bail!("nothing to do: --image DIR says where the images go");
            };
            ctx.store()?.case(&case)?;
            let config = rt.block_on(squall_aws::connect(&target(&t, Some(&case))));
            image_all(ctx, &rt, &config, &case, &snapshots, dir, &image)
        }
    }
}

/// Images snapshots one after the other (each one's blocks in parallel) and records each
/// image as evidence with its SHA-256.
fn image_all(
    ctx: &Context,
    rt: &tokio::runtime::Runtime,
    config: &squall_aws::SdkConfig,
    case: &str,
    snapshots: &[String],
    dir: &std::path::Path,
    args: &ImageArgs,
) -> anyhow::Result<u8> {
    let mut store = ctx.store()?;
    let mut code = exit::OK;
    for snap in snapshots {
        let bar = indicatif::ProgressBar::new(0).with_style(
            indicatif::ProgressStyle::with_template(
                "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(format!("imaging {snap}"));
        let result = rt.block_on(squall_aws::image::image_snapshot(
            config,
            snap,
            dir,
            args.image_concurrency,
            |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            },
        ));
        bar.finish_and_clear();
        match result {
            Ok(img) => {
                let e = store.add_evidence(
                    case,
                    &ctx.actor,
                    &NewEvidence {
                        path: img.path.display().to_string(),
                        sha256: img.sha256.clone(),
                        size: img.bytes,
                        description: format!(
                            "raw image of EBS snapshot {snap} ({} blocks with data), read through the EBS direct APIs",
                            img.blocks
                        ),
                        source: Some(format!("aws:ebs:snapshot/{snap}")),
                        stored_at: dir.display().to_string(),
                    },
                )?;
                say!(
                    "{snap}: {} ({} bytes{}) sha256 {} — evidence {} in case {case}",
                    img.path.display(),
                    img.bytes,
                    if img.resumed_bytes > 0 {
                        format!(", resumed after {} bytes", img.resumed_bytes)
                    } else {
                        String::new()
                    },
                    img.sha256,
                    e.id
                );
            }
            Err(e) => {
                say!("error: imaging {snap}: {e}");
                code = exit::FAILED;
            }
        }
    }
    Ok(code)
}

/// `squall recover aws firewall|key|instance`.
pub fn recover(ctx: &Context, defaults: &AwsConfig, cmd: RecoverCommand) -> anyhow::Result<u8> {
    let RecoverCommand::Aws(mut cmd) = cmd;
    match &mut cmd {
        RecoverAws::Firewall { r, .. }
        | RecoverAws::Key { r, .. }
        | RecoverAws::Instance { r, .. } => defaults.apply(&mut r.target),
    }
    let rt = runtime()?;
    match cmd {
        RecoverAws::Firewall {
            replace_with,
            groups,
            r,
        } => {
            let c = connect(&rt, &r);
            let rules = rt.block_on(squall_aws::services::ec2::ingress_rules(&c.ec2, &c.region))?;
            let actions: Vec<_> = rules
                .into_iter()
                .filter(|rule| groups.is_empty() || groups.contains(&rule.group_id))
                .filter(|rule| squall_aws::inventory::world_admin_exposure(rule).is_some())
                .map(|rule| verbs::FixWorldRule {
                    c: c.clone(),
                    rule: verbs::WorldRule {
                        group: rule.group_id,
                        protocol: rule.protocol,
                        from: rule.from_port,
                        to: rule.to_port,
                        cidr: rule.cidr,
                    },
                    replace_with: replace_with.clone(),
                })
                .collect();
            if actions.is_empty() {
                say!(
                    "no rule in {} is open to the world on admin or all ports",
                    c.region
                );
                return Ok(exit::OK);
            }
            Ok(respond(ctx, &rt, &r, &actions)?.1)
        }
        RecoverAws::Key {
            key,
            rotate: _,
            secret_file,
            r,
        } => {
            let c = connect(&rt, &r);
            let actions = [verbs::RotateKey {
                c,
                key,
                secret_file,
            }];
            Ok(respond(ctx, &rt, &r, &actions)?.1)
        }
        RecoverAws::Instance {
            instance,
            from_snapshot,
            r,
        } => {
            let c = connect(&rt, &r);
            let actions = [verbs::RestoreInstance {
                c,
                id: instance,
                snapshot: from_snapshot,
                case: r.case.clone(),
                wait: std::time::Duration::from_secs(900),
            }];
            Ok(respond(ctx, &rt, &r, &actions)?.1)
        }
    }
}

/// `squall inventory aws [--org]`: read, report, and store each account in the inventory.
pub fn inventory(
    ctx: &Context,
    defaults: &AwsConfig,
    store: &mut SqliteStore,
    mut args: crate::cli::AwsInventoryArgs,
) -> anyhow::Result<u8> {
    use squall_aws::inventory::{AwsInventory, Options, TagMap};
    defaults.apply(&mut args.target);
    if args.approved_vpcs.is_empty()
        && let Some(v) = &defaults.approved_vpcs
    {
        args.approved_vpcs.clone_from(v);
    }
    let t = target(&args.target, None);
    let options = Options {
        regions: args.target.regions.clone(),
        ir_role: args.target.role_name.clone(),
        max_key_age_days: args.max_key_age_days,
        approved_vpcs: args.approved_vpcs.clone(),
        tag_map: match &args.tag_map {
            Some(path) => TagMap::load(path).map_err(anyhow::Error::msg)?,
            None => defaults.tag_map.clone().unwrap_or_default(),
        },
    };
    let rt = runtime()?;
    let inventories: Vec<AwsInventory> = if args.org {
        let accounts = rt.block_on(squall_aws::inventory::organization(&t, &options))?;
        let mut found = Vec::new();
        for a in accounts {
            match (a.inventory, a.error) {
                (Some(mut inv), _) => {
                    let mut asset = inv.to_asset();
                    asset.name = Some(a.account.name.clone());
                    inv.errors
                        .iter()
                        .for_each(|e| say!("warning: {}: {e}", inv.account));
                    store_account(ctx, store, asset)?;
                    inv.errors.clear();
                    found.push(inv);
                }
                (None, e) => say!(
                    "warning: account {} ({}) not read: {}",
                    a.account.id,
                    a.account.name,
                    e.unwrap_or_default()
                ),
            }
        }
        found
    } else {
        let inv = rt.block_on(squall_aws::inventory::inventory(&t, &options))?;
        for e in &inv.errors {
            say!("warning: {e}");
        }
        store_account(ctx, store, inv.to_asset())?;
        vec![inv]
    };
    let format = format_or_default(args.format);
    let mut out = std::io::stdout().lock();
    match format {
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

/// Merges what the API knows into the stored record, keeping what the team wrote by hand.
fn store_account(
    ctx: &Context,
    store: &mut SqliteStore,
    found: squall_case::inventory::Asset,
) -> anyhow::Result<()> {
    // The hand-written fields kept are the inventory's log's, not an edited table's.
    let mut asset = store
        .inventory_checked()?
        .assets
        .into_iter()
        .find(|a| a.id == found.id && a.provider == found.provider)
        .unwrap_or_else(|| found.clone());
    asset.merge_from(found);
    store.import_inventory(&ctx.actor, "aws-api", std::slice::from_ref(&asset))?;
    Ok(())
}

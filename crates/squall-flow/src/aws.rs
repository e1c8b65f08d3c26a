//! AWS's verbs as workflows: typed requests in, outcomes out. The actions themselves (what
//! each one reads, changes and checks) are `squall_aws::respond`'s; this wires them to a case:
//! what earlier entries of the case's ledger say (the state an isolation replaced, the volumes
//! acquired), imaging into evidence, and the inventory merged with what the team wrote.

use std::sync::Arc;

use squall_aws::inventory::{AwsInventory, Options};
use squall_aws::respond::{self as verbs, Clients};
use squall_aws::{SdkConfig, Target};
use squall_case::{Evidence, NewEvidence, Store};

pub use squall_aws::request::{Acquisition, Contain, Imaging, InstanceContainment, Recover};

use crate::Context;
use crate::respond::{self, Outcomes, PlanShown, Response};

/// What imaging tells the front end while it runs.
pub enum ImageProgress<'a> {
    Started(&'a str),
    Blocks {
        done: u64,
        total: u64,
    },
    /// Imaged and recorded (or failed): said at once, before the next snapshot starts.
    Done(&'a Imaged),
}

/// One snapshot's image, recorded as evidence; or why it failed.
pub struct Imaged {
    pub snapshot: String,
    pub result: Result<(squall_aws::image::Image, Evidence), String>,
}

fn connect(rt: &tokio::runtime::Runtime, target: &Target, case: &str) -> (Clients, SdkConfig) {
    let t = Target {
        case: Some(case.to_string()),
        ..target.clone()
    };
    let config = rt.block_on(squall_aws::connect(&t));
    (Clients::new(&config), config)
}

/// `contain aws key|user|role|instance`.
pub fn contain(
    ctx: &Context,
    r: &Response,
    target: &Target,
    what: Contain,
    show: &mut dyn FnMut(PlanShown<'_>),
) -> anyhow::Result<Outcomes> {
    let rt = respond::runtime()?;
    let now = verbs::now_utc();
    let (c, _) = connect(&rt, target, &r.case);
    let wait = std::time::Duration::from_secs(600);
    match what {
        Contain::Keys(keys) => {
            let actions: Vec<_> = keys
                .into_iter()
                .map(|key| verbs::DeactivateKey { c: c.clone(), key })
                .collect();
            respond::run(ctx, &rt, r, &actions, show)
        }
        Contain::Users(users) => {
            let actions: Vec<_> = users
                .into_iter()
                .map(|user| verbs::ContainUser {
                    c: c.clone(),
                    user,
                    now: now.clone(),
                })
                .collect();
            respond::run(ctx, &rt, r, &actions, show)
        }
        Contain::Roles(roles) => {
            let actions: Vec<_> = roles
                .into_iter()
                .map(|role| verbs::ContainRole {
                    c: c.clone(),
                    role,
                    now: now.clone(),
                })
                .collect();
            respond::run(ctx, &rt, r, &actions, show)
        }
        Contain::Instances {
            ids,
            how: InstanceContainment::Isolate,
        } => {
            let groups = Arc::default();
            let survey = Arc::new(verbs::Survey::new(ids.clone()));
            let actions: Vec<_> = ids
                .into_iter()
                .map(|id| verbs::IsolateInstance {
                    c: c.clone(),
                    id,
                    now: now.clone(),
                    groups: Arc::clone(&groups),
                    survey: Arc::clone(&survey),
                })
                .collect();
            respond::run(ctx, &rt, r, &actions, show)
        }
        Contain::Instances {
            ids,
            how: InstanceContainment::Terminate,
        } => {
            // The guard: only volumes the case's ledger says were acquired and verified.
            let acquired = respond::history(ctx, &r.case)?.verified("acquire-volume");
            let actions: Vec<_> = ids
                .into_iter()
                .map(|id| verbs::TerminateInstance {
                    c: c.clone(),
                    id,
                    case: r.case.clone(),
                    acquired: acquired.clone(),
                    wait,
                })
                .collect();
            respond::run(ctx, &rt, r, &actions, show)
        }
        Contain::Instances { ids, how } => {
            let actions: Vec<_> = ids
                .into_iter()
                .map(|id| verbs::StopInstance {
                    c: c.clone(),
                    id,
                    hibernate: how == InstanceContainment::Hibernate,
                    wait,
                })
                .collect();
            respond::run(ctx, &rt, r, &actions, show)
        }
    }
}

/// `release aws instance`: each instance back to the state its last isolation in this case
/// replaced, as the ledger recorded it.
pub fn release(
    ctx: &Context,
    r: &Response,
    target: &Target,
    instances: Vec<String>,
    show: &mut dyn FnMut(PlanShown<'_>),
) -> anyhow::Result<Outcomes> {
    let history = respond::history(ctx, &r.case)?;
    let mut priors = Vec::new();
    for id in instances {
        let plan = history.last_change("isolate-instance", &id).ok_or_else(|| {
            anyhow::anyhow!(
                "case {} has no isolation of {id} to undo (help: `squall ledger export {}` shows what was done)",
                r.case,
                r.case
            )
        })?;
        priors.push((id, plan.before["prior"].clone()));
    }
    let rt = respond::runtime()?;
    let (c, _) = connect(&rt, target, &r.case);
    let actions: Vec<_> = priors
        .into_iter()
        .map(|(id, prior)| verbs::ReleaseInstance {
            c: c.clone(),
            id,
            prior,
        })
        .collect();
    respond::run(ctx, &rt, r, &actions, show)
}

/// `acquire aws instance`: every EBS volume snapshotted (the instance keeps running), shared
/// with and copied to the forensic account when one is given, and — approved, with imaging
/// asked for — imaged into evidence. `warn` hears of instances with nothing to acquire.
pub fn acquire(
    ctx: &Context,
    r: &Response,
    target: &Target,
    req: Acquisition,
    show: &mut dyn FnMut(PlanShown<'_>),
    warn: &mut dyn FnMut(String),
    progress: &mut dyn FnMut(ImageProgress<'_>),
) -> anyhow::Result<(Outcomes, Vec<Imaged>)> {
    let rt = respond::runtime()?;
    let (c, config) = connect(&rt, target, &r.case);
    let forensic = req.forensic_account.map(|account| {
        let clients = req.forensic_role.map(|role| {
            let t = Target {
                role_name: Some(role),
                case: Some(r.case.clone()),
                ..target.in_account(&account)
            };
            Clients::new(&rt.block_on(squall_aws::connect(&t)))
        });
        verbs::Forensic { account, clients }
    });
    let mut actions = Vec::new();
    for id in &req.instances {
        let detail = rt.block_on(squall_aws::services::ec2::instance(&c.ec2, id))?;
        if detail.volumes.is_empty() {
            warn(format!(
                "{id} has no EBS volume to acquire (instance store is lost on stop)"
            ));
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
    let outcomes = respond::run(ctx, &rt, r, &actions, show)?;
    let mut imaged = Vec::new();
    if let Some(imaging) = req.image.filter(|_| r.approved) {
        let snapshots: Vec<String> = outcomes
            .outcomes
            .iter()
            .filter(|o| o.status.holds())
            .filter_map(|o| {
                o.observed.as_ref()?["snapshot"]
                    .as_str()
                    .map(str::to_string)
            })
            .collect();
        imaged = image_all(ctx, &rt, &config, &r.case, &snapshots, &imaging, progress)?;
    }
    Ok((outcomes, imaged))
}

/// `acquire aws snapshot --image DIR`: existing snapshots imaged into evidence of `case`.
pub fn image(
    ctx: &Context,
    case: &str,
    target: &Target,
    snapshots: &[String],
    imaging: &Imaging,
    progress: &mut dyn FnMut(ImageProgress<'_>),
) -> anyhow::Result<Vec<Imaged>> {
    ctx.store()?.case(case)?;
    let rt = respond::runtime()?;
    let (_, config) = connect(&rt, target, case);
    image_all(ctx, &rt, &config, case, snapshots, imaging, progress)
}

/// Images snapshots one after the other (each one's blocks in parallel) and records each
/// image as evidence with its SHA-256.
fn image_all(
    ctx: &Context,
    rt: &tokio::runtime::Runtime,
    config: &SdkConfig,
    case: &str,
    snapshots: &[String],
    imaging: &Imaging,
    progress: &mut dyn FnMut(ImageProgress<'_>),
) -> anyhow::Result<Vec<Imaged>> {
    let mut store = ctx.store()?;
    let mut imaged = Vec::new();
    for snap in snapshots {
        progress(ImageProgress::Started(snap));
        let progress_cell = std::cell::RefCell::new(&mut *progress);
        let result = rt.block_on(squall_aws::image::image_snapshot(
            config,
            snap,
            &imaging.dir,
            imaging.concurrency,
            |done, total| (progress_cell.borrow_mut())(ImageProgress::Blocks { done, total }),
        ));
        let result = match result {
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
                        stored_at: imaging.dir.display().to_string(),
                    },
                )?;
                Ok((img, e))
            }
            Err(e) => Err(e.to_string()),
        };
        let done = Imaged {
            snapshot: snap.clone(),
            result,
        };
        progress(ImageProgress::Done(&done));
        imaged.push(done);
    }
    Ok(imaged)
}

/// `recover aws firewall|key|instance`. `Ok(None)` when there is nothing to fix, with the
/// region that was looked at.
pub fn recover(
    ctx: &Context,
    r: &Response,
    target: &Target,
    what: Recover,
    show: &mut dyn FnMut(PlanShown<'_>),
) -> anyhow::Result<Result<Outcomes, String>> {
    let rt = respond::runtime()?;
    let (c, _) = connect(&rt, target, &r.case);
    Ok(Ok(match what {
        Recover::Firewall {
            replace_with,
            groups,
        } => {
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
                return Ok(Err(c.region.clone()));
            }
            respond::run(ctx, &rt, r, &actions, show)?
        }
        Recover::Key { key, secret_file } => {
            let actions = [verbs::RotateKey {
                c,
                key,
                secret_file,
            }];
            respond::run(ctx, &rt, r, &actions, show)?
        }
        Recover::Instance { instance, snapshot } => {
            let actions = [verbs::RestoreInstance {
                c,
                id: instance,
                snapshot,
                case: r.case.clone(),
                wait: std::time::Duration::from_secs(900),
            }];
            respond::run(ctx, &rt, r, &actions, show)?
        }
    }))
}

/// `inventory aws [--org]`: each account read and stored in the inventory (merged with what
/// the team wrote by hand). `warn` hears of accounts or services that could not be read.
pub fn inventory(
    ctx: &Context,
    target: &Target,
    options: &Options,
    org: bool,
    warn: &mut dyn FnMut(String),
) -> anyhow::Result<Vec<AwsInventory>> {
    let rt = respond::runtime()?;
    let mut store = ctx.store()?;
    if !org {
        let inv = rt.block_on(squall_aws::inventory::inventory(target, options))?;
        for e in &inv.errors {
            warn(e.to_string());
        }
        store_account(ctx, &mut store, inv.to_asset())?;
        return Ok(vec![inv]);
    }
    let accounts = rt.block_on(squall_aws::inventory::organization(target, options))?;
    let mut found = Vec::new();
    for a in accounts {
        match (a.inventory, a.error) {
            (Some(mut inv), _) => {
                let mut asset = inv.to_asset();
                asset.name = Some(a.account.name.clone());
                for e in &inv.errors {
                    warn(format!("{}: {e}", inv.account));
                }
                store_account(ctx, &mut store, asset)?;
                inv.errors.clear();
                found.push(inv);
            }
            (None, e) => warn(format!(
                "account {} ({}) not read: {}",
                a.account.id,
                a.account.name,
                e.unwrap_or_default()
            )),
        }
    }
    Ok(found)
}

/// Merges what the API knows into the stored record, keeping what the team wrote by hand.
fn store_account(
    ctx: &Context,
    store: &mut squall_case::SqliteStore,
    found: squall_core::Asset,
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

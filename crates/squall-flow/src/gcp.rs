//! Google Cloud's verbs as workflows: typed requests in, outcomes out. The actions themselves
//! (what each one reads, changes and checks) are `squall_gcp::respond`'s; this wires them to a
//! case: what earlier entries of the case's ledger say (the state an isolation replaced).

use futures_util::StreamExt;
use squall_case::respond::Place;
use squall_gcp::Target;
use squall_gcp::request::InstanceRef;
use squall_gcp::respond::{self as verbs, Prior};
use squall_gcp::services::compute::Compute;

pub use squall_gcp::request::{Acquisition, Contain, Imaging, InstanceContainment, Recover};

pub use crate::respond::{ImageProgress, Imaged};

use crate::Context;
use crate::respond::{self, Outcomes, PlanShown, Response};

/// The Compute clients for `target`, and where they act: the project, when every resource
/// named is in one.
fn connect(
    rt: &tokio::runtime::Runtime,
    target: &Target,
    r: &Response,
    instances: &[InstanceRef],
) -> anyhow::Result<(Compute, Response)> {
    connect_at(
        rt,
        target,
        r,
        place(instances.iter().map(|i| i.project.as_str())),
    )
}

/// The Compute clients for `target`, acting at `place`.
fn connect_at(
    rt: &tokio::runtime::Runtime,
    target: &Target,
    r: &Response,
    place: Place,
) -> anyhow::Result<(Compute, Response)> {
    let compute = client(
        rt,
        target,
        r,
        |conn| async move { Compute::new(&conn).await },
    )?;
    Ok((compute, r.at(place)))
}

/// One of Google's clients for `target`, its calls made for `r`'s case: the credentials tried
/// once, then the client built.
fn client<C, F, Fut>(
    rt: &tokio::runtime::Runtime,
    target: &Target,
    r: &Response,
    make: F,
) -> anyhow::Result<C>
where
    F: FnOnce(squall_gcp::Connection) -> Fut,
    Fut: std::future::Future<Output = Result<C, squall_gcp::GcpError>>,
{
    let t = Target {
        case: Some(r.case.clone()),
        ..target.clone()
    };
    Ok(rt.block_on(async {
        let conn = squall_gcp::connect(&t).await?;
        make(conn).await
    })?)
}

/// Where a run acts: the project, when every resource named is in the same known one (`-`
/// is any).
fn place<'a>(projects: impl Iterator<Item = &'a str>) -> Place {
    let mut projects: Vec<&str> = projects.collect();
    projects.sort();
    projects.dedup();
    Place {
        account: match projects.as_slice() {
            [one] if *one != "-" => Some(one.to_string()),
            _ => None,
        },
        region: None,
    }
}

/// The prior state the case's last isolation of `at` recorded, unless a release after it was
/// verified: a release that failed halfway leaves a half-isolated instance, not the original.
fn isolation_prior(history: &squall_case::respond::History, at: &InstanceRef) -> Option<Prior> {
    let id = at.to_string();
    let last = history.last_of(&["isolate-instance", "release-instance"], &id)?;
    if last.plan.action == "release-instance" && last.verified {
        return None;
    }
    let isolation = history.last_change("isolate-instance", &id)?;
    serde_json::from_value(isolation.before["prior"].clone()).ok()
}

/// `contain gcp instance`.
pub fn contain(
    ctx: &Context,
    r: &Response,
    target: &Target,
    what: Contain,
    show: &mut dyn FnMut(PlanShown<'_>),
) -> anyhow::Result<Outcomes> {
    let rt = respond::runtime()?;
    let (instances, how) = match what {
        Contain::Instances { instances, how } => (instances, how),
        Contain::ServiceAccounts(names) => {
            let (iam, r) = connect_iam(&rt, target, r, &names)?;
            let actions: Vec<_> = names
                .into_iter()
                .map(|name| verbs::ContainServiceAccount {
                    iam: iam.clone(),
                    name,
                })
                .collect();
            return respond::run(ctx, &rt, &r, &actions, show);
        }
        Contain::Keys(names) => {
            let (iam, r) = connect_iam(&rt, target, r, &names)?;
            let actions: Vec<_> = names
                .into_iter()
                .map(|name| verbs::DisableKey {
                    iam: iam.clone(),
                    name,
                })
                .collect();
            return respond::run(ctx, &rt, &r, &actions, show);
        }
        Contain::SshKeys {
            instances,
            projects,
            users,
        } => return ssh_keys(ctx, &rt, r, target, instances, projects, users, show),
    };
    let history = respond::history(ctx, &r.case)?;
    let (c, r) = connect(&rt, target, r, &instances)?;
    let r = &r;
    match how {
        InstanceContainment::Isolate => {
            let actions: Vec<_> = instances
                .into_iter()
                .map(|at| verbs::IsolateInstance {
                    c: c.clone(),
                    carried: isolation_prior(&history, &at),
                    at,
                    case: r.case.clone(),
                })
                .collect();
            respond::run(ctx, &rt, r, &actions, show)
        }
        InstanceContainment::Delete => {
            // The guard: only disks the case's ledger says were acquired and verified.
            let acquired: Vec<(String, String)> = history
                .verified("acquire-disk")
                .into_iter()
                .filter_map(|disk| {
                    let plan = history.last_change("acquire-disk", &disk)?;
                    let snap = plan.after["snapshot"].as_str()?.to_string();
                    Some((disk, snap))
                })
                .collect();
            let actions: Vec<_> = instances
                .into_iter()
                .map(|at| verbs::DeleteInstance {
                    c: c.clone(),
                    at,
                    acquired: acquired.clone(),
                })
                .collect();
            respond::run(ctx, &rt, r, &actions, show)
        }
        InstanceContainment::Suspend | InstanceContainment::Stop => {
            let actions: Vec<_> = instances
                .into_iter()
                .map(|at| verbs::StopInstance {
                    c: c.clone(),
                    at,
                    suspend: how == InstanceContainment::Suspend,
                })
                .collect();
            respond::run(ctx, &rt, r, &actions, show)
        }
    }
}

/// `contain gcp ssh-keys`: the instances' keys removed and project keys blocked on them,
/// then (when asked) the projects' own keys.
#[allow(clippy::too_many_arguments)]
fn ssh_keys(
    ctx: &Context,
    rt: &tokio::runtime::Runtime,
    r: &Response,
    target: &Target,
    instances: Vec<InstanceRef>,
    projects: Vec<String>,
    users: Vec<String>,
    show: &mut dyn FnMut(PlanShown<'_>),
) -> anyhow::Result<Outcomes> {
    let (c, r) = connect(rt, target, r, &instances)?;
    let on_instances: Vec<_> = instances
        .into_iter()
        .map(|at| verbs::RemoveSshKeys {
            c: c.clone(),
            at,
            users: users.clone(),
        })
        .collect();
    let mut outcomes = respond::run(ctx, rt, &r, &on_instances, show)?;
    let on_projects: Vec<_> = projects
        .into_iter()
        .map(|project| verbs::RemoveProjectSshKeys {
            c: c.clone(),
            project,
            users: users.clone(),
        })
        .collect();
    let more = respond::run(ctx, rt, &r, &on_projects, show)?;
    outcomes.outcomes.extend(more.outcomes);
    Ok(outcomes)
}

/// The IAM client for `target`, and where it acts: the project, when every account named is
/// in one.
fn connect_iam(
    rt: &tokio::runtime::Runtime,
    target: &Target,
    r: &Response,
    names: &[String],
) -> anyhow::Result<(squall_gcp::services::iam::Iam, Response)> {
    let iam = client(rt, target, r, |conn| async move {
        squall_gcp::services::iam::client(&conn).await
    })?;
    let projects = names.iter().filter_map(|n| n.split('/').nth(1));
    Ok((iam, r.at(place(projects))))
}

/// `release gcp instance`: each instance back to the state its last isolation in this case
/// replaced, as the ledger recorded it.
pub fn release(
    ctx: &Context,
    r: &Response,
    target: &Target,
    instances: Vec<InstanceRef>,
    show: &mut dyn FnMut(PlanShown<'_>),
) -> anyhow::Result<Outcomes> {
    let history = respond::history(ctx, &r.case)?;
    let names: Vec<String> = instances.iter().map(InstanceRef::to_string).collect();
    let mut priors = Vec::new();
    for (at, prior) in instances
        .into_iter()
        .zip(respond::isolation_priors(&history, &r.case, &names)?)
    {
        let prior: Prior = serde_json::from_value(prior).map_err(|e| {
            anyhow::anyhow!(
                "the isolation of {at} in case {} did not record what it replaced: {e}",
                r.case
            )
        })?;
        priors.push((at, prior));
    }
    let rt = respond::runtime()?;
    let refs: Vec<InstanceRef> = priors.iter().map(|(at, _)| at.clone()).collect();
    let (c, r) = connect(&rt, target, r, &refs)?;
    let actions: Vec<_> = priors
        .into_iter()
        .map(|(at, prior)| verbs::ReleaseInstance {
            c: c.clone(),
            at,
            prior,
        })
        .collect();
    respond::run(ctx, &rt, &r, &actions, show)
}

/// `acquire gcp instance`: every disk snapshotted (the instance keeps running) into the
/// forensic project when one is given, each snapshot recorded as evidence of the case (once),
/// and — approved, with imaging asked for — each verified snapshot imaged and recorded.
/// `warn` hears of instances with nothing to acquire and snapshots taken but not recorded;
/// `progress` of each image as it grows.
pub fn acquire(
    ctx: &Context,
    r: &Response,
    target: &Target,
    req: Acquisition,
    show: &mut dyn FnMut(PlanShown<'_>),
    warn: &mut dyn FnMut(String),
    progress: &mut (dyn FnMut(ImageProgress<'_>) + Send),
) -> anyhow::Result<(Outcomes, Vec<squall_case::Evidence>, Vec<Imaged>)> {
    let rt = respond::runtime()?;
    let (c, r) = connect(&rt, target, r, &req.instances)?;
    let width = r.concurrency.max(1);
    // Every instance read at once (bounded), not one round trip after another.
    let details: Vec<_> = rt.block_on(
        futures_util::stream::iter(&req.instances)
            .map(|at| squall_gcp::services::compute::instance(&c, at))
            .buffered(width)
            .collect(),
    );
    let mut actions = Vec::new();
    for (at, detail) in req.instances.iter().zip(details) {
        let detail = detail?;
        if detail.disks.is_empty() {
            warn(format!(
                "{at} has no persistent disk to acquire (local SSDs are lost on stop)"
            ));
        }
        for source in &detail.disks {
            let Some(disk) = squall_gcp::services::compute::disk_path(source) else {
                warn(format!(
                    "{at}: a disk named {source:?} is not one Squall can read; not acquired"
                ));
                continue;
            };
            actions.push(verbs::AcquireDisk {
                c: c.clone(),
                instance: at.clone(),
                project: req
                    .forensic_project
                    .clone()
                    .unwrap_or_else(|| disk.split('/').nth(1).unwrap_or_default().to_string()),
                disk,
                case: r.case.clone(),
                wait: verbs::SNAPSHOT_WAIT,
            });
        }
    }
    let mut outcomes = respond::run(ctx, &rt, &r, &actions, show)?;
    let mut recorded = Vec::new();
    let mut imageable = Vec::new();
    if r.approved {
        let mut store = ctx.store()?;
        let held: Vec<&verbs::AcquireDisk> = actions
            .iter()
            .zip(&outcomes.outcomes)
            .filter(|(_, outcome)| {
                outcome.status.holds()
                    && outcome
                        .observed
                        .as_ref()
                        .is_some_and(|o| o["status"] == "READY" && o["of_this_disk"] == true)
            })
            .map(|(a, _)| a)
            .collect();
        let snapshots: Vec<_> =
            rt.block_on(
                futures_util::stream::iter(&held)
                    .map(|a| {
                        let name = verbs::snapshot_name(&r.case, &a.disk);
                        let c = &c;
                        async move {
                            squall_gcp::services::compute::snapshot(c, &a.project, &name).await
                        }
                    })
                    .buffered(width)
                    .collect(),
            );
        for (action, snap) in held.into_iter().zip(snapshots) {
            let name = verbs::snapshot_name(&r.case, &action.disk);
            match snap {
                Ok(Some(snap)) => {
                    recorded.push(respond::record_once(
                        &mut store,
                        &r.case,
                        &ctx.actor,
                        snapshot_evidence(&snap, action),
                    )?);
                    imageable.push(format!(
                        "projects/{}/global/snapshots/{}",
                        action.project, snap.name
                    ));
                }
                Ok(None) => warn(format!("{name} was verified but is gone now: not recorded")),
                Err(e) => warn(format!(
                    "{name} of {} was acquired but not recorded as evidence: {e} (help: run the acquisition again to record it)",
                    action.disk
                )),
            }
        }
    }
    let mut imaged = Vec::new();
    if let Some(imaging) = req
        .image
        .as_ref()
        .filter(|_| r.approved && !imageable.is_empty())
    {
        let (images, done) = image(
            ctx, &rt, target, &r, &c, &imageable, imaging, show, warn, progress,
        )?;
        // One table: the snapshots, then their images.
        outcomes.outcomes.extend(images.outcomes);
        imaged = done;
    } else if req.image.is_some() && !r.approved {
        warn(
            "with --yes, each snapshot is then imaged through a worker in the forensic project (its plan is shown then)".to_string(),
        );
    }
    Ok((outcomes, recorded, imaged))
}

/// Each snapshot imaged through a worker (one after the other: each one's download already
/// fills the line) and recorded as evidence with its SHA-256, once however often it is re-run.
#[allow(clippy::too_many_arguments)]
fn image(
    ctx: &Context,
    rt: &tokio::runtime::Runtime,
    target: &Target,
    r: &Response,
    c: &Compute,
    snapshots: &[String],
    imaging: &Imaging,
    show: &mut dyn FnMut(PlanShown<'_>),
    warn: &mut dyn FnMut(String),
    progress: &mut (dyn FnMut(ImageProgress<'_>) + Send),
) -> anyhow::Result<(Outcomes, Vec<Imaged>)> {
    let storage = client(rt, target, r, |conn| async move {
        squall_gcp::services::storage::client(&conn).await
    })?;
    let told = respond::Told::new(progress);
    let on_bytes = |snap: &str, done: u64, total: u64| told.bytes(snap, done, total);
    let actions: Vec<_> = snapshots
        .iter()
        .map(|snapshot| verbs::ImageSnapshot {
            c: c.clone(),
            storage: storage.clone(),
            snapshot: snapshot.clone(),
            worker: imaging.worker.clone(),
            case: r.case.clone(),
            dir: imaging.dir.clone(),
            wait: imaging.worker.wait,
            poll: verbs::WORKER_POLL,
            progress: &on_bytes,
            imaged: std::sync::Mutex::default(),
        })
        .collect();
    let forensic = snapshots
        .first()
        .and_then(|s| s.split('/').nth(1))
        .map(str::to_string);
    let one_by_one = Response {
        concurrency: 1,
        ..r.at(Place {
            account: forensic,
            region: None,
        })
    };
    let outcomes = respond::run(ctx, rt, &one_by_one, &actions, show)?;
    let mut store = ctx.store()?;
    let mut imaged = Vec::new();
    for (action, outcome) in actions.iter().zip(&outcomes.outcomes) {
        let result = match &outcome.observed {
            Some(o) if outcome.status.holds() => match serde_json::from_value(o["image"].clone()) {
                Ok(squall_core::image::OnDisk::Complete {
                    path,
                    sha256,
                    bytes,
                }) => {
                    let made = action
                        .imaged
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .take();
                    let img = made.unwrap_or_else(|| verbs::Image {
                        snapshot: action.snapshot.clone(),
                        path,
                        sha256,
                        bytes,
                        resumed_bytes: 0,
                        object: String::new(),
                        left_behind: Vec::new(),
                    });
                    let evidence = respond::record_once(
                        &mut store,
                        &r.case,
                        &ctx.actor,
                        image_evidence(&img, action, imaging),
                    )?;
                    Ok((img.made(), evidence, img.left_behind))
                }
                _ => Err("verified, but no complete image is on disk".to_string()),
            },
            _ => Err(outcome
                .error
                .clone()
                .unwrap_or_else(|| outcome.status.name().to_string())),
        };
        let done = match result {
            Ok((made, evidence, left_behind)) => {
                for left in left_behind {
                    warn(format!(
                        "imaging {}: could not delete {left} (help: delete it by hand)",
                        action.snapshot
                    ));
                }
                Imaged {
                    snapshot: action.snapshot.clone(),
                    result: Ok((made, evidence)),
                }
            }
            Err(e) => Imaged {
                snapshot: action.snapshot.clone(),
                result: Err(e),
            },
        };
        told.done(&done);
        imaged.push(done);
    }
    Ok((outcomes, imaged))
}

/// A raw image as evidence: the file, its SHA-256 and size, the snapshot it was read from
/// and how.
fn image_evidence(
    img: &verbs::Image,
    action: &verbs::ImageSnapshot<'_>,
    imaging: &Imaging,
) -> squall_case::NewEvidence {
    squall_case::NewEvidence {
        path: img.path.display().to_string(),
        sha256: img.sha256.clone(),
        size: img.bytes,
        description: format!(
            "raw image of Compute Engine snapshot {}, read from a disk made from it and attached read-only to worker {} in zone {}, streamed through {}; the worker's SHA-256 of the device and this one of the file agree",
            action.snapshot,
            verbs::worker_name(&action.case, &action.snapshot),
            imaging.worker.zone,
            if img.object.is_empty() {
                format!("gs://{}", imaging.worker.bucket)
            } else {
                img.object.clone()
            },
        ),
        source: Some(format!("//compute.googleapis.com/{}", action.snapshot)),
        stored_at: imaging.dir.display().to_string(),
    }
}

/// A snapshot Squall took, as evidence: named by its resource name, with what identifies its
/// content (its id, its source disk's id) and where it is kept. Google gives no digest of a
/// snapshot's contents, so none is recorded rather than one made up.
fn snapshot_evidence(
    snap: &squall_gcp::services::compute::Snapshot,
    a: &verbs::AcquireDisk,
) -> squall_case::NewEvidence {
    squall_case::NewEvidence {
        path: format!(
            "//compute.googleapis.com/projects/{}/global/snapshots/{}",
            a.project, snap.name
        ),
        sha256: String::new(),
        size: u64::try_from(snap.disk_size_gb).unwrap_or(0) << 30,
        description: format!(
            "Compute Engine snapshot {} (id {}) of disk {} (id {}) of instance {}, created {}, {} bytes stored; Google gives no digest of a snapshot",
            snap.name,
            snap.id,
            a.disk,
            snap.source_disk_id,
            a.instance,
            snap.created,
            snap.storage_bytes
        ),
        source: Some(format!("//compute.googleapis.com/{}", a.disk)),
        stored_at: format!("GCP project {}", a.project),
    }
}

/// `recover gcp firewall`: each world-open rule (of those named, or every one of the project)
/// narrowed or removed.
pub fn recover(
    ctx: &Context,
    r: &Response,
    target: &Target,
    what: Recover,
    show: &mut dyn FnMut(PlanShown<'_>),
) -> anyhow::Result<Outcomes> {
    let rt = respond::runtime()?;
    let (project, rules, replace_with) = match what {
        Recover::Key { key, secret_file } => {
            let (iam, r) = connect_iam(&rt, target, r, std::slice::from_ref(&key))?;
            let action = verbs::RotateKey {
                iam,
                name: key,
                secret_file,
            };
            return respond::run(ctx, &rt, &r, &[action], show);
        }
        Recover::DeleteRule { project, rules } => {
            let (c, r) = connect_at(&rt, target, r, place(std::iter::once(project.as_str())))?;
            let actions: Vec<_> = rules
                .into_iter()
                .map(|name| verbs::DeleteRule {
                    c: c.clone(),
                    project: project.clone(),
                    name,
                })
                .collect();
            return respond::run(ctx, &rt, &r, &actions, show);
        }
        Recover::DeleteKeys(keys) => {
            let (iam, r) = connect_iam(&rt, target, r, &keys)?;
            let actions: Vec<_> = keys
                .into_iter()
                .map(|name| verbs::DeleteKey {
                    iam: iam.clone(),
                    name,
                })
                .collect();
            return respond::run(ctx, &rt, &r, &actions, show);
        }
        Recover::DeleteExclusions(names) => {
            let (logging, r) = connect_logging(&rt, target, r, &names)?;
            let actions: Vec<_> = names
                .into_iter()
                .map(|name| verbs::DeleteExclusion {
                    logging: logging.clone(),
                    name,
                })
                .collect();
            return respond::run(ctx, &rt, &r, &actions, show);
        }
        Recover::EnableSinks(names) => {
            let (logging, r) = connect_logging(&rt, target, r, &names)?;
            let actions: Vec<_> = names
                .into_iter()
                .map(|name| verbs::EnableSink {
                    logging: logging.clone(),
                    name,
                })
                .collect();
            return respond::run(ctx, &rt, &r, &actions, show);
        }
        Recover::RestoreLogging { names, before } => {
            // The configuration client acts; the entries client reads the audit log's history.
            let (logging, entries) = client(&rt, target, r, |conn| async move {
                use squall_gcp::services::logging;
                Ok((
                    logging::client(&conn).await?,
                    logging::entries_client(&conn).await?,
                ))
            })?;
            let r = at_logging(r, &names);
            let actions: Vec<_> = names
                .into_iter()
                .map(|name| verbs::RestoreLogConfig {
                    logging: logging.clone(),
                    entries: entries.clone(),
                    name,
                    before,
                })
                .collect();
            return respond::run(ctx, &rt, &r, &actions, show);
        }
        Recover::Instance { instance, snapshot } => {
            let compromise =
                crate::case::compromised_at(&squall_case::CaseFile::load(&ctx.store()?, &r.case)?);
            let (c, r) = connect(&rt, target, r, std::slice::from_ref(&instance))?;
            let action = verbs::RestoreFromSnapshot {
                c,
                at: instance,
                snapshot,
                case: r.case.clone(),
                compromise,
            };
            return respond::run(ctx, &rt, &r, &[action], show);
        }
        Recover::RemoveBinding {
            resource,
            role,
            member,
        } => {
            let rm = client(&rt, target, r, |conn| async move {
                squall_gcp::services::resourcemanager::ResourceManager::new(&conn).await
            })?;
            let project = resource.strip_prefix("projects/").unwrap_or("-");
            let r = r.at(place(std::iter::once(project)));
            let action = verbs::RemoveBinding {
                rm,
                resource,
                role,
                member,
            };
            return respond::run(ctx, &rt, &r, &[action], show);
        }
        Recover::Unshare { what, from } => {
            let (c, r) = connect_at(&rt, target, r, place(std::iter::once(what.project())))?;
            let action = verbs::Unshare { c, what, from };
            return respond::run(ctx, &rt, &r, &[action], show);
        }
        Recover::Firewall {
            project,
            rules,
            replace_with,
        } => (project, rules, replace_with),
    };
    let (c, r) = connect_at(&rt, target, r, place(std::iter::once(project.as_str())))?;
    let names = if rules.is_empty() {
        rt.block_on(squall_gcp::services::compute::firewalls(&c, &project))?
            .into_iter()
            .filter(|f| verbs::world_open(f).is_some())
            .map(|f| f.name)
            .collect()
    } else {
        rules
    };
    let actions: Vec<_> = names
        .into_iter()
        .map(|name| verbs::FixWorldRule {
            c: c.clone(),
            project: project.clone(),
            name,
            replace_with: replace_with.clone(),
        })
        .collect();
    respond::run(ctx, &rt, &r, &actions, show)
}

/// `inventory gcp`: each project read and stored in the inventory (merged with what the team
/// wrote by hand). Projects that could not be read are returned with their findings, not
/// stored; `warn` hears of every read that failed.
pub fn inventory(
    ctx: &Context,
    target: &Target,
    options: &squall_gcp::inventory::Options,
    warn: &mut dyn FnMut(String),
) -> anyhow::Result<Vec<squall_gcp::inventory::GcpInventory>> {
    let rt = respond::runtime()?;
    let (found, unlisted) = rt.block_on(async {
        let conn = squall_gcp::connect(target).await?;
        squall_gcp::inventory::inventory(&conn, options).await
    })?;
    for e in unlisted {
        warn(e);
    }
    let mut store = crate::case::AccountStore::open(ctx, "gcp-api")?;
    for inv in &found {
        for e in &inv.errors {
            warn(format!("{}: {e}", inv.project));
        }
        if inv.read {
            store.put(inv.to_asset(&options.labels), &inv.resources())?;
        }
    }
    Ok(found)
}

/// The Logging configuration client for `target`, and where it acts: the project, when every
/// sink or exclusion named is in one.
fn connect_logging(
    rt: &tokio::runtime::Runtime,
    target: &Target,
    r: &Response,
    names: &[String],
) -> anyhow::Result<(squall_gcp::services::logging::ConfigServiceV2, Response)> {
    let logging = client(rt, target, r, |conn| async move {
        squall_gcp::services::logging::client(&conn).await
    })?;
    Ok((logging, at_logging(r, names)))
}

/// Where a run on sinks or exclusions (`projects/P/sinks/N`) acts: the project, when every
/// one named is in one.
fn at_logging(r: &Response, names: &[String]) -> Response {
    r.at(place(names.iter().filter_map(|n| n.split('/').nth(1))))
}

//! AWS's verbs as workflows: typed requests in, outcomes out. The actions themselves (what
//! each one reads, changes and checks) are `squall_aws::respond`'s; this wires them to a case:
//! what earlier entries of the case's ledger say (the state an isolation replaced, the volumes
//! acquired), imaging into evidence, and the inventory merged with what the team wrote.

use std::sync::Arc;

use squall_aws::image::{Image, OnDisk};
use squall_aws::inventory::{AwsInventory, Options};
use squall_aws::respond::{self as verbs, Clients};
use squall_aws::{SdkConfig, Target};
use squall_case::{Evidence, NewEvidence};

pub use squall_aws::request::{Acquisition, Contain, Imaging, InstanceContainment, Recover};

use crate::Context;
use crate::respond::{self, Outcomes, PlanShown, Response};

pub use crate::respond::{ImageProgress, Imaged};

/// What the front end tells of an EBS image.
fn told_of(img: &Image) -> squall_core::image::Made {
    squall_core::image::Made {
        path: img.path.clone(),
        sha256: img.sha256.clone(),
        bytes: img.bytes,
        resumed_bytes: img.resumed_bytes,
    }
}

/// Clients for `target`, and where they act: the account the credentials reach (unknown when
/// STS does not answer; the actions' own calls then say why) and the region.
fn connect(
    rt: &tokio::runtime::Runtime,
    target: &Target,
    r: &Response,
) -> (Clients, SdkConfig, Response) {
    let t = Target {
        case: Some(r.case.clone()),
        ..target.clone()
    };
    let config = rt.block_on(squall_aws::connect(&t));
    let c = Clients::new(&config);
    let place = squall_case::respond::Place {
        account: rt.block_on(squall_aws::account_id(&config)).ok(),
        region: Some(c.region.clone()),
    };
    (c, config, r.at(place))
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
    let (c, _, r) = connect(&rt, target, r);
    let r = &r;
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
    let priors = respond::isolation_priors(&history, &r.case, &instances)?;
    let rt = respond::runtime()?;
    let (c, _, r) = connect(&rt, target, r);
    let r = &r;
    let actions: Vec<_> = instances
        .into_iter()
        .zip(priors)
        .map(|(id, prior)| verbs::ReleaseInstance {
            c: c.clone(),
            id,
            prior,
        })
        .collect();
    respond::run(ctx, &rt, r, &actions, show)
}

/// `acquire aws instance`: every EBS volume snapshotted (the instance keeps running), shared
/// with and copied to the forensic account when one is given, each completed snapshot recorded
/// as evidence of the case (once), and — approved, with imaging asked for — imaged into
/// evidence. `warn` hears of instances with nothing to acquire.
pub fn acquire(
    ctx: &Context,
    r: &Response,
    target: &Target,
    req: Acquisition,
    show: &mut dyn FnMut(PlanShown<'_>),
    warn: &mut dyn FnMut(String),
    progress: &mut dyn FnMut(ImageProgress<'_>),
) -> anyhow::Result<(Outcomes, Vec<Evidence>, Vec<Imaged>)> {
    let rt = respond::runtime()?;
    let (c, config, r) = connect(&rt, target, r);
    let r = &r;
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
    let mut recorded = Vec::new();
    if r.approved {
        let mut store = ctx.store()?;
        for (action, outcome) in actions.iter().zip(&outcomes.outcomes) {
            let Some(state) = outcome.observed.as_ref().filter(|_| outcome.status.holds()) else {
                continue;
            };
            let (Some(id), "completed") = (
                state["snapshot"].as_str(),
                state["snapshot_state"].as_str().unwrap_or_default(),
            ) else {
                continue;
            };
            match rt.block_on(squall_aws::services::ec2::snapshot(&c.ec2, id)) {
                Ok(snap) => recorded.push(respond::record_once(
                    &mut store,
                    &r.case,
                    &ctx.actor,
                    snapshot_evidence(&snap, &action.instance, &c.region),
                )?),
                Err(e) => warn(format!(
                    "{id} of {} ({}) was acquired but not recorded as evidence: {e} (help: run the acquisition again to record it)",
                    action.volume, action.instance
                )),
            }
        }
    }
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
    Ok((outcomes, recorded, imaged))
}

/// A snapshot Squall took, as evidence: named by its ARN, with the volume, instance, account
/// and region it comes from and when it was started. AWS gives no digest of a snapshot's
/// contents, so none is recorded (the digest stays empty rather than made up); imaging the
/// snapshot gives one.
fn snapshot_evidence(
    snap: &squall_aws::services::ec2::Snapshot,
    instance: &str,
    region: &str,
) -> NewEvidence {
    let volume = snap.volume.as_deref().unwrap_or("an unknown volume");
    let account = snap.owner.as_deref().unwrap_or("unknown");
    let mut description = format!(
        "EBS snapshot {} of volume {volume} of instance {instance}, account {account}, region {region}, started {}",
        snap.id,
        snap.started.as_deref().unwrap_or("at an unknown time"),
    );
    if let Some(key) = &snap.kms_key {
        description.push_str(&format!(", encrypted under {key}"));
    }
    description.push_str(&format!(
        "; AWS gives no digest of a snapshot: `squall acquire aws snapshot {} --image DIR` makes a SHA-256",
        snap.id
    ));
    NewEvidence {
        path: format!("arn:aws:ec2:{region}::snapshot/{}", snap.id),
        sha256: String::new(),
        size: snap.size_gib.map_or(0, |g| g.max(0) as u64) << 30,
        description,
        source: Some(format!("aws:ec2:volume/{volume}")),
        stored_at: format!("AWS account {account}, region {region}"),
    }
}

/// `acquire aws snapshot --image DIR`: existing snapshots planned (instance, volume, start
/// time, what the folder holds already) and — approved — imaged one after the other, each
/// image recorded as evidence of the case (once, however often it is re-run). `progress` hears
/// of each image as it grows, and of each result once the run is over.
pub fn image(
    ctx: &Context,
    r: &Response,
    target: &Target,
    snapshots: &[String],
    imaging: &Imaging,
    show: &mut dyn FnMut(PlanShown<'_>),
    progress: &mut (dyn FnMut(ImageProgress<'_>) + Send),
) -> anyhow::Result<(Outcomes, Vec<Imaged>)> {
    let rt = respond::runtime()?;
    let (c, config, r) = connect(&rt, target, r);
    let r = &r;
    let told = respond::Told::new(progress);
    let on_bytes = |snap: &str, done: u64, total: u64| told.bytes(snap, done, total);
    let actions: Vec<_> = snapshots
        .iter()
        .map(|snap| verbs::ImageSnapshot {
            c: c.clone(),
            config: config.clone(),
            snapshot: snap.clone(),
            dir: imaging.dir.clone(),
            concurrency: imaging.concurrency,
            progress: &on_bytes,
            imaged: std::sync::Mutex::default(),
        })
        .collect();
    // One image at a time: each already reads its blocks in parallel.
    let one_by_one = Response {
        concurrency: 1,
        ..r.clone()
    };
    let outcomes = respond::run(ctx, &rt, &one_by_one, &actions, show)?;
    let mut store = ctx.store()?;
    let mut imaged = Vec::new();
    for (action, outcome) in actions.iter().zip(&outcomes.outcomes) {
        if !outcome.status.holds() {
            continue;
        }
        let made = action
            .imaged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let on_disk = outcome
            .observed
            .as_ref()
            .and_then(|o| serde_json::from_value(o["image"].clone()).ok());
        let Some(OnDisk::Complete {
            path,
            sha256,
            bytes,
        }) = on_disk
        else {
            continue;
        };
        let img = made.unwrap_or(Image {
            snapshot: action.snapshot.clone(),
            path,
            sha256,
            bytes,
            blocks: 0,
            resumed_bytes: 0,
        });
        let evidence = respond::record_once(
            &mut store,
            &r.case,
            &ctx.actor,
            image_evidence(&img, imaging),
        )?;
        let done = Imaged {
            snapshot: action.snapshot.clone(),
            result: Ok((told_of(&img), evidence)),
        };
        told.done(&done);
        imaged.push(done);
    }
    Ok((outcomes, imaged))
}

/// A raw image as evidence: the file, its SHA-256 and size, and the snapshot it was read from.
fn image_evidence(img: &squall_aws::image::Image, imaging: &Imaging) -> NewEvidence {
    let blocks = match img.blocks {
        0 => String::new(),
        n => format!(" ({n} blocks with data)"),
    };
    NewEvidence {
        path: img.path.display().to_string(),
        sha256: img.sha256.clone(),
        size: img.bytes,
        description: format!(
            "raw image of EBS snapshot {}{blocks}, read through the EBS direct APIs",
            img.snapshot
        ),
        source: Some(format!("aws:ebs:snapshot/{}", img.snapshot)),
        stored_at: imaging.dir.display().to_string(),
    }
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
                let e = respond::record_once(
                    &mut store,
                    case,
                    &ctx.actor,
                    image_evidence(&img, imaging),
                )?;
                Ok((told_of(&img), e))
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

/// `recover aws firewall|key|instance` and the verbs that undo what the attacker changed
/// (`detach-policy`, `delete-inline-policy`, `policy-version`, `trust-policy`,
/// `start-logging`, `restore-trail`, `delete-key-pair`, `unshare`, `revoke-rule`,
/// `disable-login`) or remove what it made (`delete-user`, `delete-role`, `delete-policy`).
/// `Ok(Err)` when the firewall has nothing to fix, with the region that was looked at.
pub fn recover(
    ctx: &Context,
    r: &Response,
    target: &Target,
    what: Recover,
    show: &mut dyn FnMut(PlanShown<'_>),
) -> anyhow::Result<Result<Outcomes, String>> {
    let rt = respond::runtime()?;
    let (c, _, r) = connect(&rt, target, r);
    let r = &r;
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
                    rule: verbs::IngressPermission {
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
        Recover::Instance {
            instance,
            snapshot,
            allow_after_compromise,
        } => {
            let actions = [verbs::RestoreInstance {
                c,
                id: instance,
                snapshot,
                case: r.case.clone(),
                wait: std::time::Duration::from_secs(900),
                compromised_at: crate::case::compromised_at(&squall_case::CaseFile::load(
                    &ctx.store()?,
                    &r.case,
                )?),
                allow_after_compromise,
            }];
            respond::run(ctx, &rt, r, &actions, show)?
        }
        Recover::DetachPolicy {
            holder,
            policy_arns,
        } => {
            let actions: Vec<_> = policy_arns
                .into_iter()
                .map(|policy_arn| verbs::DetachPolicy {
                    c: c.clone(),
                    holder: holder.clone(),
                    policy_arn,
                })
                .collect();
            respond::run(ctx, &rt, r, &actions, show)?
        }
        Recover::DeleteInlinePolicy { holder, policies } => {
            let history = respond::history(ctx, &r.case)?;
            let actions: Vec<_> = policies
                .into_iter()
                .map(|policy| verbs::DeleteInlinePolicy {
                    deleted_in_case: deleted_in_case(
                        r,
                        &history,
                        "delete-inline-policy",
                        &format!("{holder}:{policy}"),
                        None,
                    ),
                    c: c.clone(),
                    holder: holder.clone(),
                    policy,
                })
                .collect();
            respond::run(ctx, &rt, r, &actions, show)?
        }
        Recover::PolicyVersion {
            policy_arn,
            version,
        } => {
            let actions = [verbs::RestorePolicyVersion {
                c,
                policy_arn,
                version,
            }];
            respond::run(ctx, &rt, r, &actions, show)?
        }
        Recover::TrustPolicy { role, file } => {
            let shown = file.display().to_string();
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("reading {shown}: {e}"))?;
            let document: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!(
                    "{shown} is not JSON ({e}) (help: the trust policy document, as `aws iam get-role` shows it under AssumeRolePolicyDocument)"
                )
            })?;
            let actions = [verbs::RestoreTrustPolicy {
                c,
                role,
                document,
                file: shown,
            }];
            respond::run(ctx, &rt, r, &actions, show)?
        }
        Recover::StartLogging(trails) => {
            let actions: Vec<_> = trails
                .into_iter()
                .map(|trail| verbs::StartLogging {
                    c: c.clone(),
                    trail,
                })
                .collect();
            respond::run(ctx, &rt, r, &actions, show)?
        }
        Recover::DeleteKeyPair(names) => {
            let history = respond::history(ctx, &r.case)?;
            let actions: Vec<_> = names
                .into_iter()
                .map(|name| verbs::DeleteKeyPair {
                    deleted_in_case: deleted_in_case(
                        r,
                        &history,
                        "delete-key-pair",
                        &name,
                        Some(&c.region),
                    ),
                    c: c.clone(),
                    name,
                })
                .collect();
            respond::run(ctx, &rt, r, &actions, show)?
        }
        Recover::Unshare { what, accounts } => {
            let actions = [verbs::Unshare {
                c,
                what,
                from: accounts,
            }];
            respond::run(ctx, &rt, r, &actions, show)?
        }
        Recover::RevokeRule {
            group,
            protocol,
            ports,
            cidr,
        } => {
            let rule = verbs::ingress_permission(&group, &protocol, ports.as_deref(), &cidr)
                .map_err(anyhow::Error::msg)?;
            let actions = [verbs::RevokeRule { c, rule }];
            respond::run(ctx, &rt, r, &actions, show)?
        }
        Recover::DisableLogin(users) => {
            let actions: Vec<_> = users
                .into_iter()
                .map(|user| verbs::DisableLogin { c: c.clone(), user })
                .collect();
            respond::run(ctx, &rt, r, &actions, show)?
        }
        Recover::RestoreTrail {
            trails,
            multi_region,
        } => {
            let actions: Vec<_> = trails
                .into_iter()
                .map(|trail| verbs::RestoreTrail {
                    c: c.clone(),
                    trail,
                    multi_region,
                })
                .collect();
            respond::run(ctx, &rt, r, &actions, show)?
        }
        Recover::DeletePolicy(what) => {
            let history = respond::history(ctx, &r.case)?;
            let actions: Vec<_> = one_id(&what)?
                .map(|(arn, expected_id)| verbs::DeletePolicy {
                    deleted_in_case: deleted_in_case(r, &history, "delete-policy", &arn, None),
                    c: c.clone(),
                    policy_arn: arn,
                    expected_id,
                })
                .collect();
            respond::run(ctx, &rt, r, &actions, show)?
        }
        Recover::DeleteRole(what) => {
            let history = respond::history(ctx, &r.case)?;
            let actions: Vec<_> = one_id(&what)?
                .map(|(role, expected_id)| verbs::DeleteRole {
                    deleted_in_case: deleted_in_case(r, &history, "delete-role", &role, None),
                    c: c.clone(),
                    role,
                    expected_id,
                })
                .collect();
            respond::run(ctx, &rt, r, &actions, show)?
        }
        Recover::DeleteUser(what) => {
            let history = respond::history(ctx, &r.case)?;
            let actions: Vec<_> = one_id(&what)?
                .map(|(user, expected_id)| verbs::DeleteUser {
                    deleted_in_case: deleted_in_case(r, &history, "delete-user", &user, None),
                    c: c.clone(),
                    user,
                    expected_id,
                })
                .collect();
            respond::run(ctx, &rt, r, &actions, show)?
        }
    }))
}

/// The names a deletion names, each with the id it must have: an id names one thing, so it
/// comes with one name only.
fn one_id(
    what: &squall_aws::request::Removal,
) -> anyhow::Result<impl Iterator<Item = (String, Option<String>)> + '_> {
    if what.id.is_some() && what.names.len() != 1 {
        anyhow::bail!("--id names one resource: give exactly one with it");
    }
    Ok(what.names.iter().map(|n| (n.clone(), what.id.clone())))
}

/// Whether the case's ledger holds a verified deletion of `resource` by `action` in the
/// account `r` acts in (and `region`, when the deletion recorded one).
fn deleted_in_case(
    r: &Response,
    history: &squall_case::respond::History,
    action: &str,
    resource: &str,
    region: Option<&str>,
) -> bool {
    history.deleted(action, resource, r.place.account.as_deref(), region)
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
    let mut store = crate::case::AccountStore::open(ctx, "aws-api")?;
    if !org {
        let inv = rt.block_on(squall_aws::inventory::inventory(target, options))?;
        for e in &inv.errors {
            warn(e.to_string());
        }
        store.put(inv.to_asset(), &inv.resources())?;
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
                store.put(asset, &inv.resources())?;
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn a_snapshot_is_evidence_named_by_its_arn_with_where_it_comes_from_and_no_made_up_digest() {
        let snap = squall_aws::services::ec2::Snapshot {
            id: "snap-01".into(),
            state: "completed".into(),
            volume: Some("vol-1".into()),
            encrypted: true,
            kms_key: Some("arn:aws:kms:eu-west-1:111122223333:key/k".into()),
            tags: BTreeMap::new(),
            started: Some("2024-05-01T10:00:00Z".into()),
            size_gib: Some(8),
            owner: Some("111122223333".into()),
        };
        let e = snapshot_evidence(&snap, "i-1", "eu-west-1");
        assert_eq!(e.path, "arn:aws:ec2:eu-west-1::snapshot/snap-01");
        assert_eq!(e.sha256, "", "AWS gives no digest of a snapshot");
        assert_eq!(e.size, 8 << 30);
        assert_eq!(
            e.description,
            "EBS snapshot snap-01 of volume vol-1 of instance i-1, account 111122223333, region eu-west-1, started 2024-05-01T10:00:00Z, encrypted under arn:aws:kms:eu-west-1:111122223333:key/k; AWS gives no digest of a snapshot: `squall acquire aws snapshot snap-01 --image DIR` makes a SHA-256"
        );
        assert_eq!(e.source.as_deref(), Some("aws:ec2:volume/vol-1"));
        assert_eq!(e.stored_at, "AWS account 111122223333, region eu-west-1");
    }
}

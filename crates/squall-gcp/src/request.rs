//! Google Cloud's verbs as plain requests: what a front end asks for, before any case or store
//! is involved, and the names of what they act on.

use std::fmt;

use crate::GcpError;

/// An instance, named as Compute and the audit logs name it:
/// `projects/P/zones/Z/instances/N`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceRef {
    pub project: String,
    pub zone: String,
    pub name: String,
}

impl fmt::Display for InstanceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "projects/{}/zones/{}/instances/{}",
            self.project, self.zone, self.name
        )
    }
}

/// A Compute resource name: lowercase letters, digits and hyphens, starting with a letter
/// (RFC 1035), at most 63 characters.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A project id (6 to 30 of `[a-z0-9-]`), optionally domain-scoped (`example.com:proj`).
pub fn valid_project(s: &str) -> bool {
    let id = s.rsplit_once(':').map_or(s, |(domain, id)| {
        if domain.is_empty()
            || !domain
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        {
            ""
        } else {
            id
        }
    });
    (6..=30).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl InstanceRef {
    /// Reads `projects/P/zones/Z/instances/N` (also as a Compute URL or a
    /// `//compute.googleapis.com/...` resource name), `zones/Z/instances/N`, or a bare name,
    /// filling what is missing from `--project` and `--zone`.
    pub fn parse(
        arg: &str,
        project: Option<&str>,
        zone: Option<&str>,
    ) -> Result<InstanceRef, GcpError> {
        let bad = |why: &str| {
            GcpError::Invalid(format!(
                "instance {arg:?}: {why} (help: projects/PROJECT/zones/ZONE/instances/NAME, or NAME with --project and --zone)"
            ))
        };
        let path = arg
            .trim_start_matches("https://www.googleapis.com/compute/v1/")
            .trim_start_matches("https://compute.googleapis.com/compute/v1/")
            .trim_start_matches("//compute.googleapis.com/");
        let parts: Vec<&str> = path.split('/').collect();
        let (p, z, n) = match parts.as_slice() {
            ["projects", p, "zones", z, "instances", n] => (Some(*p), Some(*z), *n),
            ["zones", z, "instances", n] => (project, Some(*z), *n),
            [n] => (project, zone, *n),
            _ => return Err(bad("not an instance's name")),
        };
        let p = p.ok_or_else(|| bad("no project"))?;
        let z = z.ok_or_else(|| bad("no zone"))?;
        if !valid_project(p) {
            return Err(bad(&format!("{p:?} is not a project id")));
        }
        if !valid_name(z) {
            return Err(bad(&format!("{z:?} is not a zone")));
        }
        if !valid_name(n) {
            return Err(bad(&format!("{n:?} is not an instance name")));
        }
        Ok(InstanceRef {
            project: p.to_string(),
            zone: z.to_string(),
            name: n.to_string(),
        })
    }

    /// The region of its zone (`europe-west1-b` → `europe-west1`).
    pub fn region(&self) -> &str {
        self.zone.rsplit_once('-').map_or(&self.zone, |(r, _)| r)
    }
}

/// What `contain gcp instance` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceContainment {
    /// Cut off from every network (deny-all rules on a tag of its own, external addresses
    /// removed), kept running.
    Isolate,
    /// Suspended: memory kept (Google's "pause").
    Suspend,
    /// Stopped: memory lost.
    Stop,
    /// Deleted: only after every disk was acquired and verified in the case.
    Delete,
}

/// `acquire gcp instance`.
#[derive(Debug, Clone)]
pub struct Acquisition {
    pub instances: Vec<InstanceRef>,
    /// The security team's project the snapshots are made in; the disk's own when none.
    pub forensic_project: Option<String>,
    /// Image the snapshots too (only when approved, only into a forensic project).
    pub image: Option<Imaging>,
}

/// `--image DIR`: where the raw images go, and the worker that reads each snapshot.
#[derive(Debug, Clone)]
pub struct Imaging {
    pub dir: std::path::PathBuf,
    pub worker: Worker,
}

/// The short-lived instance that reads a snapshot's copy in the forensic project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worker {
    pub zone: String,
    /// `projects/P/regions/R/subnetworks/S` (with Private Google Access); the forensic
    /// project's `default` network when none.
    pub subnet: Option<String>,
    /// The worker's identity: it needs to create objects in the bucket, nothing else.
    pub service_account: String,
    pub machine_type: String,
    pub boot_image: String,
    /// The bucket the worker streams the image into.
    pub bucket: String,
    /// How long the worker is waited for.
    pub wait: std::time::Duration,
}

/// What `contain gcp` cuts off.
#[derive(Debug, Clone)]
pub enum Contain {
    Instances {
        instances: Vec<InstanceRef>,
        how: InstanceContainment,
    },
    /// Service accounts (`projects/P/serviceAccounts/EMAIL`), disabled with their
    /// user-managed keys.
    ServiceAccounts(Vec<String>),
    /// Service-account keys (`.../keys/ID`), disabled.
    Keys(Vec<String>),
    /// Metadata SSH keys: on these instances (project keys blocked there too) and, for each
    /// project in `projects`, project-wide; only `users`' lines when any are named.
    SshKeys {
        instances: Vec<InstanceRef>,
        projects: Vec<String>,
        users: Vec<String>,
    },
}

/// An IAM role's name: `roles/NAME`, or a custom role of a project or organization
/// (`projects/P/roles/NAME`, `organizations/N/roles/NAME`).
pub fn valid_role(r: &str) -> bool {
    let name = match r.split('/').collect::<Vec<_>>().as_slice() {
        ["roles", name] => *name,
        ["projects", p, "roles", name] if valid_project(p) => *name,
        ["organizations", n, "roles", name] if n.bytes().all(|b| b.is_ascii_digit()) => *name,
        _ => return false,
    };
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
}

/// An IAM member as a policy names it: `user:`, `serviceAccount:`, `group:`, `domain:` and an
/// address or domain, `principal:`/`principalSet:` and a path, or `allUsers`,
/// `allAuthenticatedUsers`.
pub fn valid_member(m: &str) -> bool {
    if m == "allUsers" || m == "allAuthenticatedUsers" {
        return true;
    }
    let Some((kind, rest)) = m.split_once(':') else {
        return false;
    };
    matches!(
        kind,
        "user" | "serviceAccount" | "group" | "domain" | "principal" | "principalSet" | "deleted"
    ) && !rest.is_empty()
        && rest.len() <= 512
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@._-+:/?=".contains(&b))
}

/// A log sink's or exclusion's name, `projects/P/KIND/NAME` (`KIND` `sinks` or `exclusions`):
/// letters, digits, `_`, `-`, `.`, up to 100.
pub fn valid_logging_name(name: &str, kind: &str) -> bool {
    match name.split('/').collect::<Vec<_>>().as_slice() {
        ["projects", p, k, n] => {
            *k == kind
                && valid_project(p)
                && !n.is_empty()
                && n.len() <= 100
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        }
        _ => false,
    }
}

/// A resource whose IAM policy holds roles: `projects/P`, `folders/N`, `organizations/N`.
pub fn valid_policy_holder(r: &str) -> bool {
    match r.split_once('/') {
        Some(("projects", p)) => valid_project(p),
        Some(("folders" | "organizations", n)) => {
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_are_read_in_every_form_google_writes_them() {
        let want = InstanceRef {
            project: "acme-prod".into(),
            zone: "europe-west1-b".into(),
            name: "web-1".into(),
        };
        for arg in [
            "projects/acme-prod/zones/europe-west1-b/instances/web-1",
            "https://www.googleapis.com/compute/v1/projects/acme-prod/zones/europe-west1-b/instances/web-1",
            "//compute.googleapis.com/projects/acme-prod/zones/europe-west1-b/instances/web-1",
        ] {
            assert_eq!(InstanceRef::parse(arg, None, None).unwrap(), want, "{arg}");
        }
        let short = InstanceRef::parse("web-1", Some("acme-prod"), Some("europe-west1-b"));
        assert_eq!(short.unwrap(), want);
        let zoned = InstanceRef::parse(
            "zones/europe-west1-b/instances/web-1",
            Some("acme-prod"),
            None,
        );
        assert_eq!(zoned.unwrap(), want);
        assert_eq!(
            want.to_string(),
            "projects/acme-prod/zones/europe-west1-b/instances/web-1"
        );
        assert_eq!(want.region(), "europe-west1");
    }

    #[test]
    fn names_that_could_walk_a_path_or_smuggle_text_are_refused() {
        for arg in [
            "web-1",
            "projects/acme-prod/zones/europe-west1-b/instances/../x",
            "projects/acme-prod/zones/europe-west1-b/instances/Web",
            "projects/acme-prod/zones/eu?x=1/instances/web",
            "projects/a/zones/europe-west1-b/instances/web",
            "projects/acme-prod/zones/europe-west1-b/instances/web\u{1b}[31m",
            "projects/acme-prod/zones/europe-west1-b/disks/web",
        ] {
            assert!(InstanceRef::parse(arg, None, None).is_err(), "{arg}");
        }
        assert!(valid_project("example.com:acme-prod"));
        assert!(!valid_project(":acme-prod"));
    }
}

/// What `recover gcp` fixes.
#[derive(Debug, Clone)]
pub enum Recover {
    /// Rules open to the world on admin or all ports in `project`, narrowed to `replace_with`
    /// or removed; only `rules` when given.
    Firewall {
        project: String,
        rules: Vec<String>,
        replace_with: Option<String>,
    },
    /// A leaked service-account key rotated; the new key file written to `secret_file`
    /// (owner-only, never overwritten).
    Key {
        key: String,
        secret_file: std::path::PathBuf,
    },
    /// Firewall rules the attacker created, deleted once wholly described.
    DeleteRule { project: String, rules: Vec<String> },
    /// Service-account keys the attacker made (`.../keys/ID`), deleted once disabled.
    DeleteKeys(Vec<String>),
    /// Log exclusions the attacker made (`projects/P/exclusions/NAME`), deleted.
    DeleteExclusions(Vec<String>),
    /// Log sinks the attacker disabled (`projects/P/sinks/NAME`), enabled.
    EnableSinks(Vec<String>),
    /// Log sinks or exclusions (`projects/P/sinks/NAME`, `projects/P/exclusions/NAME`) put
    /// back as the project's audit log says they were just before `before`.
    RestoreLogging {
        names: Vec<String>,
        before: chrono::DateTime<chrono::Utc>,
    },
    /// An instance's boot disk replaced with one made from `snapshot`
    /// (`projects/P/global/snapshots/S`), the old one kept.
    Instance {
        instance: InstanceRef,
        snapshot: String,
    },
    /// A member taken out of a role on a project, folder or organization (`projects/P`,
    /// `folders/N`, `organizations/N`).
    RemoveBinding {
        resource: String,
        role: String,
        member: String,
    },
    /// A snapshot, image or disk no longer shared with these IAM members.
    Unshare {
        what: crate::services::compute::Shareable,
        from: Vec<String>,
    },
}

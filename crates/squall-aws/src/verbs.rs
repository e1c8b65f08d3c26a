//! Which of AWS's verbs acts on a touched resource: what `squall scope` prints beside each
//! access key, user, role, instance and firewall the case's actors touched, so the responder
//! acts on twenty launched instances with one command instead of twenty pasted ids.

use squall_core::touched::{Change, Kind};

/// A Squall command that acts on resources: `contain aws instance ID... --isolate`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Verb {
    /// The words before the resources (`contain aws instance`).
    pub words: &'static [&'static str],
    /// The flag each resource follows (`--group`), or none when resources are positional.
    pub each: Option<&'static str>,
    /// Flags after the resources (`--isolate`).
    pub flags: &'static [&'static str],
}

impl Verb {
    /// The command's words for these resources (without `squall` and `--case`), in order.
    pub fn argv<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut argv: Vec<String> = self.words.iter().map(|w| w.to_string()).collect();
        for id in ids {
            argv.extend(self.each.map(String::from));
            argv.push(id.to_string());
        }
        argv.extend(self.flags.iter().map(|f| f.to_string()));
        argv
    }
}

const KEY: Verb = Verb {
    words: &["contain", "aws", "key"],
    each: None,
    flags: &[],
};
const USER: Verb = Verb {
    words: &["contain", "aws", "user"],
    each: None,
    flags: &[],
};
const ROLE: Verb = Verb {
    words: &["contain", "aws", "role"],
    each: None,
    flags: &[],
};
const INSTANCE: Verb = Verb {
    words: &["contain", "aws", "instance"],
    each: None,
    flags: &["--isolate"],
};
const FIREWALL: Verb = Verb {
    words: &["recover", "aws", "firewall"],
    each: Some("--group"),
    flags: &[],
};

/// The verb that acts on a resource, and the id it takes (a session key is contained through
/// its role, a login profile through its user). `parent` is the resource's `kind name` owner
/// (`role web-role`). A firewall is only a target when a rule was opened in it; resources no
/// Squall verb acts on yet (trails, policies, snapshots shared) have none.
pub fn acting_on(
    kind: Kind,
    id: &str,
    parent: Option<&str>,
    changes: &[Change],
) -> Option<(Verb, String)> {
    let owner = |prefix: &str| {
        parent
            .and_then(|p| p.strip_prefix(prefix))
            .map(str::to_string)
    };
    match kind {
        Kind::AccessKey if id.starts_with("AKIA") => Some((KEY, id.to_string())),
        Kind::SessionKey => owner("role ")
            .map(|r| (ROLE, r))
            .or_else(|| owner("user ").map(|u| (USER, u))),
        Kind::User | Kind::LoginProfile => Some((USER, id.to_string())),
        Kind::Role => Some((ROLE, id.to_string())),
        Kind::Instance if id.starts_with("i-") => Some((INSTANCE, id.to_string())),
        Kind::Firewall if changes.contains(&Change::Opened) && id.starts_with("sg-") => {
            Some((FIREWALL, id.to_string()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_touched_kind_finds_the_verb_that_acts_on_it() {
        let verb = |kind, id, parent, changes: &[Change]| {
            acting_on(kind, id, parent, changes).map(|(v, id)| v.argv([id.as_str()]).join(" "))
        };
        assert_eq!(
            verb(Kind::SessionKey, "ASIA1", Some("role web-role"), &[]).as_deref(),
            Some("contain aws role web-role")
        );
        assert_eq!(
            verb(Kind::Instance, "i-0abc", None, &[Change::Launched]).as_deref(),
            Some("contain aws instance i-0abc --isolate")
        );
        assert_eq!(
            verb(Kind::Firewall, "sg-1", None, &[Change::Opened]).as_deref(),
            Some("recover aws firewall --group sg-1")
        );
        assert_eq!(verb(Kind::Firewall, "sg-1", None, &[Change::Created]), None);
        assert_eq!(verb(Kind::Trail, "org", None, &[Change::Stopped]), None);
        // Session keys are contained through their role, never as keys.
        assert_eq!(verb(Kind::AccessKey, "ASIA1", None, &[]), None);
        assert_eq!(
            FIREWALL.argv(["sg-1", "sg-2"]).join(" "),
            "recover aws firewall --group sg-1 --group sg-2"
        );
    }
}

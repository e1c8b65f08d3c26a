//! Which of AWS's verbs acts on a touched resource: what `squall scope` prints beside each
//! access key, user, role, instance and firewall the case's actors touched, so the responder
//! acts on twenty launched instances with one command instead of twenty pasted ids.
//!
//! The ids come from logs the attacker wrote. An id is proposed only when it is a well-formed
//! AWS id of its kind (a user named `x; rm -rf ~` or `--yes` gets no command), and positional
//! ids follow `--`, so even a valid name that starts with a dash is never read as an option.

use squall_core::touched::{Change, Kind, Rule};

/// A Squall command that acts on resources: `contain aws instance ... --isolate`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Verb {
    /// The words before the resources (`contain aws instance`).
    pub words: &'static [&'static str],
    /// The flag each resource follows (`--group`), or none when resources are positional.
    pub each: Option<&'static str>,
    /// Flags that come with the verb (`--isolate`).
    pub flags: &'static [&'static str],
}

impl Verb {
    /// The command's words for these resources, without `squall`: the verb, its flags, the
    /// case, then the ids (after `--` when positional).
    pub fn argv<'a>(&self, case: &str, ids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut argv: Vec<String> = self.words.iter().map(|w| w.to_string()).collect();
        argv.extend(self.flags.iter().map(|f| f.to_string()));
        argv.extend(["--case".to_string(), case.to_string()]);
        if self.each.is_none() {
            argv.push("--".to_string());
        }
        for id in ids {
            argv.extend(self.each.map(String::from));
            argv.push(id.to_string());
        }
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

const STOP: Verb = Verb {
    words: &["contain", "aws", "instance"],
    each: None,
    flags: &["--stop"],
};
const ACQUIRE: Verb = Verb {
    words: &["acquire", "aws", "instance"],
    each: None,
    flags: &[],
};

/// The verb that carries out a proposed step (`squall respond`), by the action it names, and
/// the id it takes; `None` for an action no verb here carries out yet, or an id that is not a
/// well-formed AWS id of its kind.
pub fn for_action(action: &str, id: &str) -> Option<Verb> {
    let verb = match action {
        "deactivate-access-key" => KEY,
        "contain-user" => USER,
        "contain-role" => ROLE,
        "isolate-instance" => INSTANCE,
        "stop-instance" => STOP,
        "acquire-instance" => ACQUIRE,
        "replace-world-rule" => FIREWALL,
        _ => return None,
    };
    well_formed(&verb, id).then_some(verb)
}

/// The ports `recover aws firewall` closes when open to the world (SSH, RDP; every port).
const ADMIN_PORTS: [u32; 2] = [22, 3389];

/// The verb that acts on a resource, and the id it takes (a session key is contained through
/// its role, a login profile through its user). `parent` is the resource's `kind name` owner
/// (`role web-role`); `rules` are the firewall rules its changes added. A firewall is a target
/// only when a rule opened an administration port (or every port) to the world, which is what
/// `recover aws firewall` closes; resources no Squall verb acts on yet (trails, policies,
/// snapshots shared) have none, nor do ids that are not well-formed AWS ids.
pub fn acting_on(
    kind: Kind,
    id: &str,
    parent: Option<&str>,
    changes: &[Change],
    rules: &[Rule],
) -> Option<(Verb, String)> {
    let owner = |prefix: &str| {
        parent
            .and_then(|p| p.strip_prefix(prefix))
            .map(str::to_string)
    };
    let (verb, id) = match kind {
        Kind::AccessKey => (KEY, id.to_string()),
        Kind::SessionKey => owner("role ")
            .map(|r| (ROLE, r))
            .or_else(|| owner("user ").map(|u| (USER, u)))?,
        Kind::User | Kind::LoginProfile => (USER, id.to_string()),
        Kind::Role => (ROLE, id.to_string()),
        Kind::Instance => (INSTANCE, id.to_string()),
        Kind::Firewall => {
            let world_admin = rules
                .iter()
                .any(|r| r.ingress && r.is_world() && ADMIN_PORTS.iter().any(|p| r.covers(*p)));
            if !(changes.contains(&Change::Opened) && world_admin) {
                return None;
            }
            (FIREWALL, id.to_string())
        }
        _ => return None,
    };
    well_formed(&verb, &id).then_some((verb, id))
}

/// Whether `id` is an AWS id of the kind the verb takes.
fn well_formed(verb: &Verb, id: &str) -> bool {
    let hex_id = |prefix: &str| {
        id.strip_prefix(prefix).is_some_and(|hex| {
            matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| b.is_ascii_hexdigit())
        })
    };
    // IAM names: letters, digits and `+=,.@_-`, up to 64 characters.
    let iam_name = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    match verb.words.last() {
        Some(&"key") => {
            id.starts_with("AKIA")
                && (16..=128).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        }
        Some(&"user") | Some(&"role") => iam_name,
        Some(&"instance") => hex_id("i-"),
        Some(&"firewall") => hex_id("sg-"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(port: u32) -> Rule {
        Rule {
            ingress: true,
            protocol: "tcp".into(),
            ports: Some((port, port)),
            peers: vec!["0.0.0.0/0".into()],
        }
    }

    #[test]
    fn each_touched_kind_finds_the_verb_that_acts_on_it() {
        let verb = |kind, id, parent, changes: &[Change], rules: &[Rule]| {
            acting_on(kind, id, parent, changes, rules)
                .map(|(v, id)| v.argv("C-1", [id.as_str()]).join(" "))
        };
        assert_eq!(
            verb(Kind::SessionKey, "ASIA1", Some("role web-role"), &[], &[]).as_deref(),
            Some("contain aws role --case C-1 -- web-role")
        );
        assert_eq!(
            verb(Kind::Instance, "i-0123456789abcdef0", None, &[], &[]).as_deref(),
            Some("contain aws instance --isolate --case C-1 -- i-0123456789abcdef0")
        );
        assert_eq!(
            verb(
                Kind::Firewall,
                "sg-0123456789abcdef0",
                None,
                &[Change::Opened],
                &[world(22)]
            )
            .as_deref(),
            Some("recover aws firewall --case C-1 --group sg-0123456789abcdef0")
        );
        // Nothing recover closes: a world-open database port, a rule made but not opened.
        assert_eq!(
            verb(
                Kind::Firewall,
                "sg-0123456789abcdef0",
                None,
                &[Change::Opened],
                &[world(5432)]
            ),
            None
        );
        assert_eq!(
            verb(
                Kind::Firewall,
                "sg-0123456789abcdef0",
                None,
                &[Change::Created],
                &[world(22)]
            ),
            None
        );
        assert_eq!(
            verb(Kind::Trail, "org", None, &[Change::Stopped], &[]),
            None
        );
        // Session keys are contained through their role, never as keys.
        assert_eq!(
            verb(Kind::AccessKey, "ASIA1234567890123456", None, &[], &[]),
            None
        );
        assert_eq!(
            FIREWALL.argv("C-1", ["sg-1", "sg-2"]).join(" "),
            "recover aws firewall --case C-1 --group sg-1 --group sg-2"
        );
    }

    #[test]
    fn a_proposed_step_names_the_verb_that_carries_it_out() {
        let argv = |action, id| for_action(action, id).map(|v| v.argv("C-1", [id]).join(" "));
        assert_eq!(
            argv("stop-instance", "i-0123456789abcdef0").as_deref(),
            Some("contain aws instance --stop --case C-1 -- i-0123456789abcdef0")
        );
        assert_eq!(
            argv("acquire-instance", "i-0123456789abcdef0").as_deref(),
            Some("acquire aws instance --case C-1 -- i-0123456789abcdef0")
        );
        assert_eq!(argv("start-logging", "org"), None);
        assert_eq!(argv("contain-user", "x; rm"), None);
    }

    #[test]
    fn the_attackers_names_are_never_options_nor_anything_but_ids() {
        // A valid IAM name can start with dashes: it comes after `--`.
        let (verb, id) = acting_on(Kind::User, "--yes", None, &[], &[]).unwrap();
        assert_eq!(
            verb.argv("C-1", [id.as_str()]),
            ["contain", "aws", "user", "--case", "C-1", "--", "--yes"]
        );
        // Names no IAM would accept, ids of the wrong shape, another account's role ARN.
        for (kind, id) in [
            (Kind::User, "x; rm -rf ~"),
            (Kind::User, "evil\u{1b}[31m"),
            (Kind::Role, "arn:aws:iam::999900001111:role/deploy"),
            (Kind::Instance, "i-am-not-an-instance"),
            (Kind::AccessKey, "AKIA lower"),
        ] {
            assert_eq!(acting_on(kind, id, None, &[], &[]), None, "{id}");
        }
    }
}

//! Which of AWS's verbs acts on a touched resource: what `squall scope` prints beside each
//! access key, user, role, instance and firewall the case's actors touched, so the responder
//! acts on twenty launched instances with one command instead of twenty pasted ids.
//!
//! The ids come from logs the attacker wrote. An id is proposed only when it is a well-formed
//! AWS id of its kind (a user named `x; rm -rf ~` or `--yes` gets no command), and positional
//! ids follow `--`, so even a valid name that starts with a dash is never read as an option.

use squall_core::proposal::Step;
use squall_core::touched::{Change, Kind, Rule};

use crate::request::{Holder, Recover, Removal, Shared};

pub use squall_core::verb::{Verb, positional};

const KEY: Verb = positional(&["contain", "aws", "key"], &[]);
const USER: Verb = positional(&["contain", "aws", "user"], &[]);
const ROLE: Verb = positional(&["contain", "aws", "role"], &[]);
const INSTANCE: Verb = positional(&["contain", "aws", "instance"], &["--isolate"]);
const STOP: Verb = positional(&["contain", "aws", "instance"], &["--stop"]);
const ACQUIRE: Verb = positional(&["acquire", "aws", "instance"], &[]);
const FIREWALL: Verb = Verb {
    words: &["recover", "aws", "firewall"],
    each: Some("--group"),
    flags: &[],
};

/// The command that carries out a proposed step (`squall respond`), without `squall`: the
/// verb its action names, with `--case`, and every part of the step checked for the shape an
/// AWS id of its kind has (values given as `--flag=value` and names after `--`, so none reads
/// as an option); `None` for a step no verb carries out or whose parts are not well formed.
pub fn command_for(step: &Step, case: &str) -> Option<Vec<String>> {
    let mut argv = verb_for_step(step, case)?;
    // Where the resource is: its region, so the command acts there and nowhere else.
    if let Some(region) = &step.region {
        let fine = !region.is_empty()
            && region.len() <= 32
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !fine {
            return None;
        }
        let at = argv
            .iter()
            .position(|w| w == "--case")
            .unwrap_or(argv.len());
        argv.insert(at, format!("--region={region}"));
    }
    Some(argv)
}

fn verb_for_step(step: &Step, case: &str) -> Option<Vec<String>> {
    let id = step.resource.as_str();
    let with = |k: &str| step.with.get(k).map(String::as_str);
    let simple = match step.action.as_str() {
        "deactivate-access-key" => Some(KEY),
        "contain-user" => Some(USER),
        "contain-role" => Some(ROLE),
        "isolate-instance" => Some(INSTANCE),
        "stop-instance" => Some(STOP),
        "acquire-instance" => Some(ACQUIRE),
        "replace-world-rule" => Some(FIREWALL),
        _ => None,
    };
    if let Some(verb) = simple {
        return well_formed(&verb, id).then(|| verb.argv(case, [id]));
    }
    let recover = |verb: &str, flags: Vec<String>, names: Vec<&str>| {
        let mut argv: Vec<String> = ["recover", "aws", verb].map(String::from).to_vec();
        argv.extend(flags);
        argv.extend(["--case".to_string(), case.to_string()]);
        if !names.is_empty() {
            argv.push("--".to_string());
            argv.extend(names.into_iter().map(String::from));
        }
        argv
    };
    // `user/backup:arn:...` → (`--user=backup`, `arn:...`).
    let held = |resource: &str| -> Option<(String, String)> {
        let (kind, name, rest) = held(resource)?;
        Some((format!("--{kind}={name}"), rest.to_string()))
    };
    match step.action.as_str() {
        "detach-policy" => {
            let (holder, arn) = held(id)?;
            policy_arn(&arn).then(|| {
                recover(
                    "detach-policy",
                    vec![holder, format!("--policy-arn={arn}")],
                    vec![],
                )
            })
        }
        "delete-inline-policy" => {
            let (holder, name) = held(id)?;
            iam_name(&name).then(|| {
                recover(
                    "delete-inline-policy",
                    vec![holder, format!("--policy={name}")],
                    vec![],
                )
            })
        }
        "start-logging" => trail(id).then(|| recover("start-logging", vec![], vec![id])),
        "restore-trail" => {
            let multi =
                (with("multi_region") == Some("true")).then(|| "--multi-region".to_string());
            trail(id).then(|| recover("restore-trail", multi.into_iter().collect(), vec![id]))
        }
        "delete-key-pair" => printable(id).then(|| recover("delete-key-pair", vec![], vec![id])),
        "disable-login" => iam_name(id).then(|| recover("disable-login", vec![], vec![id])),
        "delete-user" | "delete-role" | "delete-policy" => {
            let fine = if step.action == "delete-policy" {
                policy_arn(id)
            } else {
                iam_name(id)
            };
            // The id IAM gave what the attacker made, when the record has it.
            let unique = match with("id") {
                Some(u) if !unique_id(u) => return None,
                u => u.map(|u| format!("--id={u}")),
            };
            fine.then(|| recover(&step.action, unique.into_iter().collect(), vec![id]))
        }
        "unshare-snapshot" | "unshare-image" => {
            let (flag, prefix) = if step.action == "unshare-snapshot" {
                ("--snapshot", "snap-")
            } else {
                ("--image", "ami-")
            };
            let from = with("from")?;
            let accounts: Vec<&str> = from.split(',').collect();
            let fine = hex_id(id, prefix)
                && accounts.iter().all(|a| {
                    *a == "all" || (a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
                });
            fine.then(|| {
                let mut flags = vec![format!("{flag}={id}")];
                flags.extend(accounts.iter().map(|a| format!("--from={a}")));
                recover("unshare", flags, vec![])
            })
        }
        "revoke-rule" => {
            let (group, protocol, cidr) = (with("group")?, with("protocol")?, with("cidr")?);
            let fine = hex_id(group, "sg-")
                && matches!(protocol, "tcp" | "udp" | "icmp" | "icmpv6" | "all")
                && cidr.parse::<ipnet_like::Cidr>().is_ok()
                && with("port").is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit() || b == b'-'));
            fine.then(|| {
                let mut flags = vec![
                    format!("--group={group}"),
                    format!("--protocol={protocol}"),
                    format!("--cidr={cidr}"),
                ];
                flags.extend(with("port").map(|p| format!("--port={p}")));
                recover("revoke-rule", flags, vec![])
            })
        }
        _ => None,
    }
}

/// A policy step's resource as the undo verbs name it, `user/backup:arn:...`: the holder's
/// kind and name (a well-formed IAM name), and the policy.
fn held(resource: &str) -> Option<(&str, &str, &str)> {
    let (holder, rest) = resource.split_once(':')?;
    let (kind, name) = holder.split_once('/')?;
    (matches!(kind, "user" | "role" | "group") && iam_name(name)).then_some((kind, name, rest))
}

/// The recover request that undoes a proposed step's change, from the step's resource and
/// `with`: the same parts [`command_for`] shows, so what runs is what was shown. `None` when
/// the step does not say enough (a holder that is not a user, role or group).
pub fn undo_request(step: &Step) -> Option<Recover> {
    let id = step.resource.clone();
    let with = |k: &str| step.with.get(k).cloned();
    let holder = || -> Option<(Holder, String)> {
        let (kind, name, rest) = held(&step.resource)?;
        let name = name.to_string();
        let holder = match kind {
            "user" => Holder::User(name),
            "role" => Holder::Role(name),
            _ => Holder::Group(name),
        };
        Some((holder, rest.to_string()))
    };
    let removal = |name: String| Removal {
        names: vec![name],
        id: with("id"),
    };
    Some(match step.action.as_str() {
        "detach-policy" => {
            let (holder, arn) = holder()?;
            Recover::DetachPolicy {
                holder,
                policy_arns: vec![arn],
            }
        }
        "delete-inline-policy" => {
            let (holder, name) = holder()?;
            Recover::DeleteInlinePolicy {
                holder,
                policies: vec![name],
            }
        }
        "start-logging" => Recover::StartLogging(vec![id]),
        "delete-key-pair" => Recover::DeleteKeyPair(vec![id]),
        "disable-login" => Recover::DisableLogin(vec![id]),
        "delete-user" => Recover::DeleteUser(removal(id)),
        "delete-role" => Recover::DeleteRole(removal(id)),
        "delete-policy" => Recover::DeletePolicy(removal(id)),
        "restore-trail" => Recover::RestoreTrail {
            trails: vec![id],
            multi_region: with("multi_region").as_deref() == Some("true"),
        },
        "unshare-snapshot" | "unshare-image" => Recover::Unshare {
            what: if step.action == "unshare-snapshot" {
                Shared::Snapshot(id)
            } else {
                Shared::Image(id)
            },
            accounts: with("from")?.split(',').map(String::from).collect(),
        },
        "revoke-rule" => Recover::RevokeRule {
            group: with("group")?,
            protocol: with("protocol")?,
            ports: with("port"),
            cidr: with("cidr")?,
        },
        _ => return None,
    })
}

/// IAM names: letters, digits and `+=,.@_-`, up to 128 characters.
fn iam_name(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// `arn:aws:iam::aws:policy/...` or `arn:aws:iam::123456789012:policy/path/name`.
fn policy_arn(arn: &str) -> bool {
    let Some(rest) = arn.strip_prefix("arn:aws:iam::") else {
        return false;
    };
    let Some((account, path)) = rest.split_once(":policy/") else {
        return false;
    };
    (account == "aws" || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
        && path.split('/').all(iam_name)
}

/// An IAM unique id (`AIDA...`, `AROA...`, `ANPA...`): letters and digits.
fn unique_id(id: &str) -> bool {
    (16..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A trail's name (`[A-Za-z0-9._-]`, 3 to 128) or its ARN.
fn trail(id: &str) -> bool {
    let name = match id.strip_prefix("arn:aws:cloudtrail:") {
        Some(rest) => match rest.rsplit_once(":trail/") {
            Some((_, name)) => name,
            None => return false,
        },
        None => id,
    };
    (3..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Printable ASCII, as EC2 allows in a key pair's name (up to 255).
fn printable(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// `prefix` and 8 or 17 hexadecimal digits.
fn hex_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|hex| {
        matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// CIDR ranges, checked without another crate: an IP address and a prefix length in range.
mod ipnet_like {
    pub struct Cidr;

    impl std::str::FromStr for Cidr {
        type Err = ();
        fn from_str(s: &str) -> Result<Cidr, ()> {
            let (ip, len) = s.split_once('/').ok_or(())?;
            let len: u8 = len.parse().map_err(|_| ())?;
            match ip.parse::<std::net::IpAddr>().map_err(|_| ())? {
                std::net::IpAddr::V4(_) if len <= 32 => Ok(Cidr),
                std::net::IpAddr::V6(_) if len <= 128 => Ok(Cidr),
                _ => Err(()),
            }
        }
    }
}

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
            // What `recover aws firewall` closes: the ports an inventory reports (SSH, RDP),
            // or every port, open to the world.
            let world_admin = rules.iter().any(|r| {
                r.ingress
                    && r.is_world()
                    && crate::inventory::ADMIN_PORTS
                        .iter()
                        .any(|(p, _)| r.covers(*p as u32))
            });
            if !(changes.contains(&Change::Opened) && world_admin) {
                return None;
            }
            (FIREWALL, id.to_string())
        }
        _ => return None,
    };
    well_formed(&verb, &id).then_some((verb, id))
}

/// A long-term access key's id (`AKIA` and upper-case letters and digits): what a key's
/// containment or rotation may be run on.
pub fn access_key_id(id: &str) -> bool {
    id.starts_with("AKIA")
        && (16..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Whether `id` is an AWS id of the kind the verb takes.
fn well_formed(verb: &Verb, id: &str) -> bool {
    match verb.words.last() {
        Some(&"key") => access_key_id(id),
        Some(&"user") | Some(&"role") => iam_name(id),
        Some(&"instance") => hex_id(id, "i-"),
        Some(&"firewall") => hex_id(id, "sg-"),
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
        let step = |action: &str, resource: &str, with: &[(&str, &str)]| Step {
            step: 1,
            phase: squall_core::proposal::Phase::Undo,
            provider: squall_core::Provider::Aws,
            action: action.into(),
            resource: resource.into(),
            account: None,
            region: None,
            with: with
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            reason: String::new(),
            record: None,
            after: vec![],
            by_hand: None,
        };
        let argv = |s: Step| command_for(&s, "C-1").map(|a| a.join(" "));
        assert_eq!(
            argv(step("stop-instance", "i-0123456789abcdef0", &[])).as_deref(),
            Some("contain aws instance --stop --case C-1 -- i-0123456789abcdef0")
        );
        assert_eq!(
            argv(step(
                "detach-policy",
                "user/backup:arn:aws:iam::aws:policy/AdministratorAccess",
                &[]
            ))
            .as_deref(),
            Some(
                "recover aws detach-policy --user=backup \
                 --policy-arn=arn:aws:iam::aws:policy/AdministratorAccess --case C-1"
            )
        );
        assert_eq!(
            argv(step("start-logging", "org-trail", &[])).as_deref(),
            Some("recover aws start-logging --case C-1 -- org-trail")
        );
        assert_eq!(
            argv(step(
                "unshare-snapshot",
                "snap-0123456789abcdef0",
                &[("from", "all,999988887777")]
            ))
            .as_deref(),
            Some(
                "recover aws unshare --snapshot=snap-0123456789abcdef0 --from=all \
                 --from=999988887777 --case C-1"
            )
        );
        let rule = [
            ("group", "sg-0123456789abcdef0"),
            ("protocol", "tcp"),
            ("port", "5432"),
            ("cidr", "0.0.0.0/0"),
        ];
        assert_eq!(
            argv(step(
                "revoke-rule",
                "sg-0123456789abcdef0:tcp/5432:0.0.0.0/0",
                &rule
            ))
            .as_deref(),
            Some(
                "recover aws revoke-rule --group=sg-0123456789abcdef0 --protocol=tcp \
                 --cidr=0.0.0.0/0 --port=5432 --case C-1"
            )
        );
        // What the attacker made goes by IAM's id too, when its record gave one.
        assert_eq!(
            argv(step(
                "delete-user",
                "backup",
                &[("id", "AIDABACKUP0000000001")]
            ))
            .as_deref(),
            Some("recover aws delete-user --id=AIDABACKUP0000000001 --case C-1 -- backup")
        );
        assert_eq!(
            argv(step("restore-trail", "org-trail", &[])).as_deref(),
            Some("recover aws restore-trail --case C-1 -- org-trail")
        );
        assert_eq!(
            argv(step(
                "restore-trail",
                "org-trail",
                &[("multi_region", "true")]
            ))
            .as_deref(),
            Some("recover aws restore-trail --multi-region --case C-1 -- org-trail")
        );
        // Attacker-shaped parts get no command.
        assert_eq!(
            argv(step(
                "delete-role",
                "ops",
                &[("id", "AROA --yes 0000000001")]
            )),
            None
        );
        assert_eq!(argv(step("contain-user", "x; rm", &[])), None);
        assert_eq!(argv(step("start-logging", "org\u{1b}[2J", &[])), None);
        assert_eq!(argv(step("delete-key-pair", "miner\n", &[])), None);
        assert_eq!(
            argv(step(
                "detach-policy",
                "user/x y:arn:aws:iam::aws:policy/A",
                &[]
            )),
            None
        );
        assert_eq!(
            argv(step(
                "unshare-image",
                "ami-0123456789abcdef0",
                &[("from", "everyone")]
            )),
            None
        );
        assert_eq!(argv(step("restore-trust-policy", "r", &[])), None);
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

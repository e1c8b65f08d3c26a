//! The estate inventory: what each account or project is, who owns it, and what it can reach.
//! Triage answers its questions from here, and anything not here is possible shadow IT.
//!
//! Imported from YAML or TOML (schema in the README); provider APIs fill the same records later.

use serde::Deserialize;

pub use squall_core::asset::{Asset, CorpReach, DataClass, Env, Provider, Resource};

/// What an inventory file lists: its accounts, and resources with their tags.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    #[serde(default)]
    pub accounts: Vec<Asset>,
    #[serde(default)]
    pub resources: Vec<Resource>,
}

/// Reads an inventory file; errors name the file, line and field.
pub fn parse(path: &std::path::Path, text: &str) -> Result<Inventory, String> {
    let is_toml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let file: Inventory = if is_toml {
        toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            match line {
                Some(l) => format!("{}:{l}: {}", path.display(), e.message()),
                None => format!("{}: {}", path.display(), e.message()),
            }
        })?
    } else {
        yaml_serde::from_str(text).map_err(|e| match e.location() {
            Some(l) => format!("{}:{}:{}: {e}", path.display(), l.line(), l.column()),
            None => format!("{}: {e}", path.display()),
        })?
    };
    let mut seen = std::collections::HashSet::new();
    for a in &file.accounts {
        if a.id.trim().is_empty() {
            return Err(format!("{}: an account has an empty id", path.display()));
        }
        if !seen.insert((a.provider, a.id.clone())) {
            return Err(format!(
                "{}: account {} is listed twice",
                path.display(),
                a.id
            ));
        }
    }
    let mut seen_resources = std::collections::HashSet::new();
    for r in &file.resources {
        if r.id.trim().is_empty() || r.account.trim().is_empty() {
            return Err(format!(
                "{}: a resource has an empty id or account",
                path.display()
            ));
        }
        if !seen_resources.insert((r.provider, r.account.clone(), r.id.clone())) {
            return Err(format!(
                "{}: resource {} of account {} is listed twice",
                path.display(),
                r.id,
                r.account
            ));
        }
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn yaml_and_toml_read_the_same_schema() {
        let yaml = "accounts:\n  - id: '111122223333'\n    provider: aws\n    env: prod\n    data: [pii]\n";
        let toml =
            "[[accounts]]\nid = '111122223333'\nprovider = 'aws'\nenv = 'prod'\ndata = ['pii']\n";
        let a = parse(Path::new("i.yaml"), yaml).unwrap();
        let b = parse(Path::new("i.toml"), toml).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.accounts[0].data, Some(vec![DataClass::Pii]));
        assert!(a.resources.is_empty());
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let yaml = "accounts:\n  - id: a\n    provider: aws\n    env: production\n";
        let err = parse(Path::new("inv.yaml"), yaml).unwrap_err();
        assert!(
            err.starts_with("inv.yaml:4:") && err.contains("production"),
            "{err}"
        );
        let toml = "[[accounts]]\nid = 'a'\nprovider = 'aws'\nowner_name = 'x'\n";
        let err = parse(Path::new("inv.toml"), toml).unwrap_err();
        assert!(
            err.starts_with("inv.toml:") && err.contains("owner_name"),
            "{err}"
        );
    }

    #[test]
    fn resources_are_listed_with_their_tags_and_named_once() {
        let yaml = "accounts: []\nresources:\n  - provider: aws\n    account: '111122223333'\n    id: i-0abc\n    kind: instance\n    tags: {Environment: prod}\n";
        let toml = "[[resources]]\nprovider = 'aws'\naccount = '111122223333'\nid = 'i-0abc'\nkind = 'instance'\ntags = { Environment = 'prod' }\n";
        let a = parse(Path::new("i.yaml"), yaml).unwrap();
        assert_eq!(a, parse(Path::new("i.toml"), toml).unwrap());
        assert_eq!(a.resources[0].tags["Environment"], "prod");
        let twice = format!("{toml}{toml}");
        let err = parse(Path::new("i.toml"), &twice).unwrap_err();
        assert!(err.contains("i-0abc") && err.contains("twice"), "{err}");
    }
}

//! The config file: a team's defaults, below environment variables and flags.
//!
//! Looked up at `--config`, else `$SQUALL_CONFIG`, else `$XDG_CONFIG_HOME/squall/config.toml`
//! (`~/.config/squall/config.toml`). A missing default file is fine; a named file that is
//! missing, or any file that does not parse, is an error that names it.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::cli::{Format, HuntArgs};

/// The whole file; each verb has its table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub hunt: HuntConfig,
    #[serde(default)]
    pub aws: AwsConfig,
}

/// `[aws]`: defaults for the AWS verbs (a flag or its environment variable wins).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    pub profile: Option<String>,
    pub regions: Option<Vec<String>>,
    /// The incident-response role (`--role-name`).
    pub role_name: Option<String>,
    /// VPCs instances may run in (`--approved-vpc`).
    pub approved_vpcs: Option<Vec<String>>,
    /// Tag names for owner/purpose/env/data (`[aws.tag_map]`, like a `--tag-map` file).
    pub tag_map: Option<squall_aws::inventory::TagMap>,
    /// Where acquisitions are shared (`--forensic-account`) and the role to copy them there.
    pub forensic_account: Option<String>,
    pub forensic_role: Option<String>,
}

impl AwsConfig {
    /// Fills what the command line and environment left unset.
    pub fn apply(&self, t: &mut squall_aws::cli::AwsTargetArgs) {
        if t.profile.is_none() {
            t.profile.clone_from(&self.profile);
        }
        if t.regions.is_empty()
            && let Some(r) = &self.regions
        {
            t.regions.clone_from(r);
        }
        if t.role_name.is_none() {
            t.role_name.clone_from(&self.role_name);
        }
    }
}

/// `[hunt]`: defaults for `squall hunt`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HuntConfig {
    pub rules: Option<Vec<PathBuf>>,
    pub no_builtin: Option<bool>,
    pub format: Option<String>,
    pub min_level: Option<String>,
    pub strict: Option<bool>,
    pub threads: Option<usize>,
    pub max_warnings: Option<u64>,
    pub max_record_mib: Option<usize>,
}

fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some(base.join("squall/config.toml"))
}

/// Reads the config that applies; `explicit` is `--config` or `$SQUALL_CONFIG`.
pub fn load(explicit: Option<&Path>) -> anyhow::Result<Config> {
    let (path, required) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => match default_path() {
            Some(p) => (p, false),
            None => return Ok(Config::default()),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Config::default());
        }
        Err(e) => return Err(e).with_context(|| format!("reading config {}", path.display())),
    };
    toml::from_str(&text).with_context(|| format!("config {} is not valid", path.display()))
}

impl HuntConfig {
    /// Fills what the command line and environment left unset. Flags are `true`-only switches,
    /// so the file can turn them on but a flag cannot be turned off by the file.
    pub fn apply(&self, args: &mut HuntArgs, from_cli: &CliSet) -> anyhow::Result<()> {
        if args.rules.is_empty()
            && let Some(rules) = &self.rules
        {
            args.rules = rules.clone();
        }
        args.no_builtin |= self.no_builtin.unwrap_or(false);
        args.strict |= self.strict.unwrap_or(false);
        if args.format.is_none()
            && let Some(f) = &self.format
        {
            args.format = Some(match f.as_str() {
                "table" => Format::Table,
                "json" => Format::Json,
                "jsonl" => Format::Jsonl,
                "csv" => Format::Csv,
                other => {
                    bail!("config: [hunt] format = '{other}' (expected table, json, jsonl or csv)")
                }
            });
        }
        if args.min_level.is_none()
            && let Some(l) = &self.min_level
        {
            args.min_level = Some(
                l.parse()
                    .map_err(|e| anyhow::anyhow!("config: [hunt] min_level: {e}"))?,
            );
        }
        if args.threads.is_none() {
            args.threads = self.threads;
        }
        if !from_cli.max_warnings
            && let Some(n) = self.max_warnings
        {
            args.max_warnings = n;
        }
        if !from_cli.max_record_mib
            && let Some(n) = self.max_record_mib
        {
            args.max_record_mib = n;
        }
        Ok(())
    }
}

/// Which defaulted options were given explicitly (clap fills defaults, so they cannot be told
/// apart from the value alone).
pub struct CliSet {
    pub max_warnings: bool,
    pub max_record_mib: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[hunt]\nrulez = []\n").unwrap();
        let err = format!("{:#}", load(Some(&path)).unwrap_err());
        assert!(err.contains("c.toml") && err.contains("rulez"), "{err}");
    }

    #[test]
    fn aws_defaults_fill_only_what_flags_left_unset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[aws]\nprofile = 'ir'\nregions = ['eu-west-1']\nrole_name = 'IR'\n[aws.tag_map]\nowner = ['team']\n",
        )
        .unwrap();
        let config = load(Some(&path)).unwrap();
        let mut t = squall_aws::cli::AwsTargetArgs {
            profile: Some("mine".into()),
            regions: vec![],
            endpoint_url: None,
            account: None,
            role_name: None,
        };
        config.aws.apply(&mut t);
        assert_eq!(t.profile.as_deref(), Some("mine"));
        assert_eq!(t.regions, vec!["eu-west-1"]);
        assert_eq!(t.role_name.as_deref(), Some("IR"));
        assert_eq!(config.aws.tag_map.unwrap().owner, vec!["team"]);
    }

    #[test]
    fn a_missing_named_file_is_an_error() {
        assert!(load(Some(Path::new("/no/such/squall.toml"))).is_err());
    }
}

//! The config file: a team's defaults, below environment variables and flags, for every
//! front end.
//!
//! Looked up at `--config`, else `$SQUALL_CONFIG`, else `$XDG_CONFIG_HOME/squall/config.toml`
//! (`~/.config/squall/config.toml`). A missing default file is fine; a named file that is
//! missing, or any file that does not parse, is an error that names it.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The whole file; each verb has its table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub hunt: HuntConfig,
    #[serde(default)]
    pub aws: AwsConfig,
    #[serde(default)]
    pub gcp: GcpConfig,
}

/// `[gcp]`: defaults for the Google Cloud verbs (a flag or its environment variable wins).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcpConfig {
    /// The project for resources named without one (`--project`).
    pub project: Option<String>,
    /// The zone for instances named without one (`--zone`).
    pub zone: Option<String>,
    /// The incident-response service account to act as (`--impersonate`).
    pub impersonate: Option<String>,
    /// The security team's project acquisitions go to (`--forensic-project`).
    pub forensic_project: Option<String>,
    /// The forensic project's bucket images are streamed through (`--image-bucket`), and
    /// the worker's subnet and service account (`--worker-subnet`,
    /// `--worker-service-account`).
    pub image_bucket: Option<String>,
    pub worker_subnet: Option<String>,
    pub worker_service_account: Option<String>,
    /// Members that must hold a role on every project (`--ir-member`).
    pub ir_members: Option<Vec<String>>,
    /// Label keys for owner/purpose/env/data (`[gcp.label_map]`, like a `--label-map` file).
    pub label_map: Option<squall_gcp::inventory::LabelMap>,
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
    pub aws_ip_ranges: Option<PathBuf>,
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
    fn a_missing_named_file_is_an_error() {
        assert!(load(Some(Path::new("/no/such/squall.toml"))).is_err());
    }
}

//! The config file's defaults under the command line: what flags and environment variables
//! left unset is taken from the file (`squall_flow::settings`, which reads it).

use anyhow::bail;

pub use squall_flow::settings::{AwsConfig, Config, GcpConfig, HuntConfig, load};

use crate::cli::{Format, HuntArgs};

/// Fills what the command line and environment left unset.
pub fn apply_aws(config: &AwsConfig, t: &mut squall_aws::cli::AwsTargetArgs) {
    if t.profile.is_none() {
        t.profile.clone_from(&config.profile);
    }
    if t.regions.is_empty()
        && let Some(r) = &config.regions
    {
        t.regions.clone_from(r);
    }
    if t.role_name.is_none() {
        t.role_name.clone_from(&config.role_name);
    }
}

/// Fills what the command line and environment left unset.
pub fn apply_gcp(config: &GcpConfig, t: &mut squall_gcp::cli::GcpTargetArgs) {
    if t.project.is_none() {
        t.project.clone_from(&config.project);
    }
    if t.zone.is_none() {
        t.zone.clone_from(&config.zone);
    }
    apply_gcp_identity(config, &mut t.identity);
}

/// Fills the impersonated account the command line and environment left unset.
pub fn apply_gcp_identity(config: &GcpConfig, t: &mut squall_gcp::cli::GcpIdentityArgs) {
    if t.impersonate.is_none() {
        t.impersonate.clone_from(&config.impersonate);
    }
}

/// Fills what the command line and environment left unset. Flags are `true`-only switches, so
/// the file can turn them on but a flag cannot be turned off by the file.
pub fn apply_hunt(
    config: &HuntConfig,
    args: &mut HuntArgs,
    from_cli: &CliSet,
) -> anyhow::Result<()> {
    if args.rules.is_empty()
        && let Some(rules) = &config.rules
    {
        args.rules = rules.clone();
    }
    args.no_builtin |= config.no_builtin.unwrap_or(false);
    args.strict |= config.strict.unwrap_or(false);
    if args.format.is_none()
        && let Some(f) = &config.format
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
        && let Some(l) = &config.min_level
    {
        args.min_level = Some(
            l.parse()
                .map_err(|e| anyhow::anyhow!("config: [hunt] min_level: {e}"))?,
        );
    }
    if args.threads.is_none() {
        args.threads = config.threads;
    }
    if args.aws_ip_ranges.is_none() {
        args.aws_ip_ranges.clone_from(&config.aws_ip_ranges);
    }
    if !from_cli.max_warnings
        && let Some(n) = config.max_warnings
    {
        args.max_warnings = n;
    }
    if !from_cli.max_record_mib
        && let Some(n) = config.max_record_mib
    {
        args.max_record_mib = n;
    }
    Ok(())
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
        apply_aws(&config.aws, &mut t);
        assert_eq!(t.profile.as_deref(), Some("mine"));
        assert_eq!(t.regions, vec!["eu-west-1"]);
        assert_eq!(t.role_name.as_deref(), Some("IR"));
        assert_eq!(config.aws.tag_map.unwrap().owner, vec!["team"]);
    }
}

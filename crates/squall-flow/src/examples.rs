//! The bundled example logs: a small, invented incident across AWS, GCP and Azure that Squall
//! hunts when run without paths, so a first run shows real output on any machine.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// (path under examples/logs, bytes), embedded at build time.
const FILES: &[(&str, &[u8])] = &[
    (
        "AWSLogs/111122223333/CloudTrail/eu-central-1/2026/10/02/111122223333_CloudTrail_eu-central-1_20261002T0910Z_q8Zk3vRf2LwU1pYt.json.gz",
        include_bytes!(
            "../../../examples/logs/AWSLogs/111122223333/CloudTrail/eu-central-1/2026/10/02/111122223333_CloudTrail_eu-central-1_20261002T0910Z_q8Zk3vRf2LwU1pYt.json.gz"
        ),
    ),
    (
        "AWSLogs/111122223333/CloudTrail/eu-central-1/2026/10/02/111122223333_CloudTrail_eu-central-1_20261002T0925Z_Hn4cXe7Ja0GmBs5d.json.gz",
        include_bytes!(
            "../../../examples/logs/AWSLogs/111122223333/CloudTrail/eu-central-1/2026/10/02/111122223333_CloudTrail_eu-central-1_20261002T0925Z_Hn4cXe7Ja0GmBs5d.json.gz"
        ),
    ),
    (
        "AWSLogs/111122223333/CloudTrail-Digest/eu-central-1/2026/10/02/111122223333_CloudTrail-Digest_eu-central-1_org-trail_eu-central-1_20261002T0930Z.json.gz",
        include_bytes!(
            "../../../examples/logs/AWSLogs/111122223333/CloudTrail-Digest/eu-central-1/2026/10/02/111122223333_CloudTrail-Digest_eu-central-1_org-trail_eu-central-1_20261002T0930Z.json.gz"
        ),
    ),
    (
        "gcp/cloudaudit.googleapis.com/activity/2026/10/02/09:00:00_09:59:59_S0.json",
        include_bytes!(
            "../../../examples/logs/gcp/cloudaudit.googleapis.com/activity/2026/10/02/09:00:00_09:59:59_S0.json"
        ),
    ),
    (
        "azure/insights-activity-logs/resourceId=/SUBSCRIPTIONS/7A1C2B3D-0000-4E5F-8A9B-C0D1E2F3A4B5/y=2026/m=10/d=02/h=09/m=00/PT1H.json",
        include_bytes!(
            "../../../examples/logs/azure/insights-activity-logs/resourceId=/SUBSCRIPTIONS/7A1C2B3D-0000-4E5F-8A9B-C0D1E2F3A4B5/y=2026/m=10/d=02/h=09/m=00/PT1H.json"
        ),
    ),
];

/// Writes the example logs into the Squall home (`<home>/examples/<version>`, owner-only like
/// the home) and returns the folder, so detections point at files the analyst can open and a
/// case can check again. Not in a shared temp folder: another user could plant logs there, or
/// links that make the write land elsewhere. Each file is written to a fresh name and renamed
/// into place (a rename replaces a link instead of following it), and only the bundled files
/// are hunted (see [`files`]).
pub fn materialize(home: Option<&Path>) -> anyhow::Result<PathBuf> {
    let home =
        home.context("no home directory for the example logs (help: set --home or SQUALL_HOME)")?;
    let root = home.join("examples").join(env!("CARGO_PKG_VERSION"));
    for (rel, bytes) in FILES {
        let path = root.join(rel);
        let is_plain_file = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file());
        if is_plain_file && std::fs::read(&path).is_ok_and(|existing| existing == *bytes) {
            continue;
        }
        let dir = path.parent().context("example path has a parent")?;
        squall_case::home::private_dir(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        let fresh = dir.join(format!(".squall-{}.tmp", std::process::id()));
        let _ = std::fs::remove_file(&fresh);
        let mut file = squall_case::home::new_private_file(&fresh)
            .with_context(|| format!("writing {}", fresh.display()))?;
        std::io::Write::write_all(&mut file, bytes)
            .with_context(|| format!("writing {}", fresh.display()))?;
        std::fs::rename(&fresh, &path).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(root)
}

/// The bundled files under `root`: what a hunt without paths reads, and nothing else that
/// may have been put beside them.
pub fn files(root: &Path) -> Vec<PathBuf> {
    FILES.iter().map(|(rel, _)| root.join(rel)).collect()
}

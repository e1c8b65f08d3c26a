//! The bundled example logs: a small, invented incident across AWS, GCP and Azure that Squall
//! hunts when run without paths, so a first run shows real output on any machine.

use std::path::PathBuf;

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

/// Writes the example logs to a folder under the system's temp dir (once per version) and
/// returns it, so detections point at files the analyst can open.
pub fn materialize() -> anyhow::Result<PathBuf> {
    let root = std::env::temp_dir().join(format!("squall-examples-{}", env!("CARGO_PKG_VERSION")));
    for (rel, bytes) in FILES {
        let path = root.join(rel);
        if std::fs::read(&path).is_ok_and(|existing| existing == *bytes) {
            continue;
        }
        let dir = path.parent().context("example path has a parent")?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(root)
}

//! CloudTrail: are the trails there, multi-region, and logging?

use aws_sdk_cloudtrail::Client;

use crate::AwsError;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Trail {
    pub name: String,
    pub home_region: Option<String>,
    pub multi_region: bool,
    pub logging: bool,
}

/// Every trail with whether it is multi-region and logging now: an incident without logs is blind.
pub async fn trails(client: &Client) -> Result<Vec<Trail>, AwsError> {
    let out = client
        .describe_trails()
        .send()
        .await
        .map_err(|e| AwsError::call("cloudtrail:DescribeTrails", "", e))?;
    let mut trails = Vec::new();
    for t in out.trail_list() {
        let name = t.name().unwrap_or_default().to_string();
        let arn = t.trail_arn().unwrap_or(&name).to_string();
        let status = client
            .get_trail_status()
            .name(&arn)
            .send()
            .await
            .map_err(|e| AwsError::call("cloudtrail:GetTrailStatus", &name, e))?;
        trails.push(Trail {
            name,
            home_region: t.home_region().map(str::to_string),
            multi_region: t.is_multi_region_trail().unwrap_or(false),
            logging: status.is_logging().unwrap_or(false),
        });
    }
    Ok(trails)
}

/// Whether a trail is logging now, and since when it stopped if it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailStatus {
    pub logging: bool,
    pub stopped_at: Option<String>,
}

/// A trail's status (`GetTrailStatus`), by name or ARN.
pub async fn trail_status(client: &Client, trail: &str) -> Result<TrailStatus, AwsError> {
    let out = client
        .get_trail_status()
        .name(trail)
        .send()
        .await
        .map_err(|e| AwsError::call("cloudtrail:GetTrailStatus", trail, e))?;
    Ok(TrailStatus {
        logging: out.is_logging().unwrap_or(false),
        stopped_at: out
            .stop_logging_time()
            .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), 0))
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    })
}

/// Starts a stopped trail logging again.
pub async fn start_logging(client: &Client, trail: &str) -> Result<(), AwsError> {
    client
        .start_logging()
        .name(trail)
        .send()
        .await
        .map_err(|e| AwsError::call("cloudtrail:StartLogging", trail, e))?;
    Ok(())
}

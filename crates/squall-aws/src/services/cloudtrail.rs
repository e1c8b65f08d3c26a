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

// ---- What restoring a trail's configuration reads and writes. ----

/// A trail's basic event selector, in the field names `aws cloudtrail get-event-selectors`
/// prints, so a plan's record reads like AWS's own.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Selector {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_write_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_management_events: Option<bool>,
    #[serde(default)]
    pub data_resources: Vec<DataResource>,
    #[serde(default)]
    pub exclude_management_event_sources: Vec<String>,
}

/// The objects a basic selector records data events of (`AWS::S3::Object` and prefixes).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataResource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(default)]
    pub values: Vec<String>,
}

/// An advanced event selector: every field condition must hold for an event to be recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Advanced {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub field_selectors: Vec<Field>,
}

/// One condition of an advanced selector.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Field {
    pub field: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub equals: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub starts_with: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ends_with: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_equals: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_starts_with: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_ends_with: Vec<String>,
}

/// A trail's event selectors: basic or advanced (a trail uses one kind at a time).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Selectors {
    pub basic: Vec<Selector>,
    pub advanced: Vec<Advanced>,
}

/// The trail's event selectors (`GetEventSelectors`).
pub async fn event_selectors(client: &Client, trail: &str) -> Result<Selectors, AwsError> {
    let out = client
        .get_event_selectors()
        .trail_name(trail)
        .send()
        .await
        .map_err(|e| AwsError::call("cloudtrail:GetEventSelectors", trail, e))?;
    let strings = |v: &[String]| v.to_vec();
    Ok(Selectors {
        basic: out
            .event_selectors()
            .iter()
            .map(|s| Selector {
                read_write_type: s.read_write_type().map(|t| t.as_str().to_string()),
                include_management_events: s.include_management_events(),
                data_resources: s
                    .data_resources()
                    .iter()
                    .map(|d| DataResource {
                        r#type: d.r#type().map(str::to_string),
                        values: strings(d.values()),
                    })
                    .collect(),
                exclude_management_event_sources: strings(s.exclude_management_event_sources()),
            })
            .collect(),
        advanced: out
            .advanced_event_selectors()
            .iter()
            .map(|a| Advanced {
                name: a.name().map(str::to_string),
                field_selectors: a
                    .field_selectors()
                    .iter()
                    .map(|f| Field {
                        field: f.field().to_string(),
                        equals: strings(f.equals()),
                        starts_with: strings(f.starts_with()),
                        ends_with: strings(f.ends_with()),
                        not_equals: strings(f.not_equals()),
                        not_starts_with: strings(f.not_starts_with()),
                        not_ends_with: strings(f.not_ends_with()),
                    })
                    .collect(),
            })
            .collect(),
    })
}

/// Replaces the trail's event selectors (`PutEventSelectors`), advanced ones when there are
/// any, else basic.
pub async fn put_event_selectors(
    client: &Client,
    trail: &str,
    selectors: &Selectors,
) -> Result<(), AwsError> {
    use aws_sdk_cloudtrail::types::{
        AdvancedEventSelector, AdvancedFieldSelector, EventSelector, ReadWriteType,
    };
    let call = |e| AwsError::Call {
        call: "cloudtrail:PutEventSelectors",
        on: format!(" on {trail}"),
        message: format!("{e}"),
    };
    let mut put = client.put_event_selectors().trail_name(trail);
    if selectors.advanced.is_empty() {
        for s in &selectors.basic {
            let mut b = EventSelector::builder()
                .set_read_write_type(s.read_write_type.as_deref().map(ReadWriteType::from))
                .set_include_management_events(s.include_management_events)
                .set_exclude_management_event_sources(Some(
                    s.exclude_management_event_sources.clone(),
                ));
            for d in &s.data_resources {
                b = b.data_resources(
                    aws_sdk_cloudtrail::types::DataResource::builder()
                        .set_type(d.r#type.clone())
                        .set_values(Some(d.values.clone()))
                        .build(),
                );
            }
            put = put.event_selectors(b.build());
        }
    } else {
        for a in &selectors.advanced {
            let mut b = AdvancedEventSelector::builder().set_name(a.name.clone());
            for f in &a.field_selectors {
                let some = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
                let field = AdvancedFieldSelector::builder()
                    .field(&f.field)
                    .set_equals(some(&f.equals))
                    .set_starts_with(some(&f.starts_with))
                    .set_ends_with(some(&f.ends_with))
                    .set_not_equals(some(&f.not_equals))
                    .set_not_starts_with(some(&f.not_starts_with))
                    .set_not_ends_with(some(&f.not_ends_with))
                    .build()
                    .map_err(call)?;
                b = b.field_selectors(field);
            }
            put = put.advanced_event_selectors(b.build().map_err(call)?);
        }
    }
    put.send()
        .await
        .map_err(|e| AwsError::call("cloudtrail:PutEventSelectors", trail, e))?;
    Ok(())
}

/// A trail's settings that decide what it sees and whether its files can be trusted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Settings {
    pub multi_region: bool,
    pub global_service_events: bool,
    pub log_file_validation: bool,
    pub bucket: Option<String>,
    pub home_region: Option<String>,
}

/// The trail's settings (`GetTrail`).
pub async fn settings(client: &Client, trail: &str) -> Result<Settings, AwsError> {
    let out = client
        .get_trail()
        .name(trail)
        .send()
        .await
        .map_err(|e| AwsError::call("cloudtrail:GetTrail", trail, e))?;
    let t = out.trail().ok_or_else(|| AwsError::Call {
        call: "cloudtrail:GetTrail",
        on: format!(" on {trail}"),
        message: "no trail in the answer".into(),
    })?;
    Ok(Settings {
        multi_region: t.is_multi_region_trail().unwrap_or(false),
        global_service_events: t.include_global_service_events().unwrap_or(false),
        log_file_validation: t.log_file_validation_enabled().unwrap_or(false),
        bucket: t.s3_bucket_name().map(str::to_string),
        home_region: t.home_region().map(str::to_string),
    })
}

/// Turns on what `UpdateTrail` can switch on: log file validation, global service events,
/// multi-region (each only when asked; the rest of the trail stays as it is).
pub async fn enable(
    client: &Client,
    trail: &str,
    validation: bool,
    global: bool,
    multi_region: bool,
) -> Result<(), AwsError> {
    let mut update = client.update_trail().name(trail);
    if validation {
        update = update.enable_log_file_validation(true);
    }
    if global || multi_region {
        update = update.include_global_service_events(true);
    }
    if multi_region {
        update = update.is_multi_region_trail(true);
    }
    update
        .send()
        .await
        .map_err(|e| AwsError::call("cloudtrail:UpdateTrail", trail, e))?;
    Ok(())
}

// ---- What collecting a trail's logs reads. ----

/// Where a trail delivers its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub name: String,
    pub arn: String,
    pub home_region: Option<String>,
    pub bucket: Option<String>,
    pub prefix: Option<String>,
    pub multi_region: bool,
    pub organization: bool,
    pub validation: bool,
}

/// Every trail this account sees, the organization's trail included (`DescribeTrails` with
/// shadow trails), with where it delivers.
pub async fn deliveries(client: &Client) -> Result<Vec<Delivery>, AwsError> {
    let out = client
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
        .map_err(|e| AwsError::call("cloudtrail:DescribeTrails", "", e))?;
    Ok(out
        .trail_list()
        .iter()
        .map(|t| Delivery {
            name: t.name().unwrap_or_default().to_string(),
            arn: t.trail_arn().unwrap_or_default().to_string(),
            home_region: t.home_region().map(str::to_string),
            bucket: t.s3_bucket_name().map(str::to_string),
            prefix: t
                .s3_key_prefix()
                .map(str::to_string)
                .filter(|p| !p.is_empty()),
            multi_region: t.is_multi_region_trail().unwrap_or(false),
            organization: t.is_organization_trail().unwrap_or(false),
            validation: t.log_file_validation_enabled().unwrap_or(false),
        })
        .collect())
}

/// A public key CloudTrail signed digest files with, in one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Hex, as digest files name it (`digestPublicKeyFingerprint`).
    pub fingerprint: String,
    /// DER (PKCS#1 RSA public key).
    pub der: Vec<u8>,
}

/// The keys whose private halves signed digests between `start` and `end` (`ListPublicKeys`,
/// in the client's region: each region signs with its own).
pub async fn public_keys(
    client: &Client,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<PublicKey>, AwsError> {
    let out = client
        .list_public_keys()
        .start_time(epoch(start))
        .end_time(epoch(end))
        .send()
        .await
        .map_err(|e| AwsError::call("cloudtrail:ListPublicKeys", "", e))?;
    Ok(out
        .public_key_list()
        .iter()
        .map(|k| PublicKey {
            fingerprint: k.fingerprint().unwrap_or_default().to_ascii_lowercase(),
            der: k.value().map(|b| b.as_ref().to_vec()).unwrap_or_default(),
        })
        .collect())
}

/// One page of `LookupEvents` between two times: each event's full record (`CloudTrailEvent`,
/// the JSON a delivered file holds) and the token for the next page.
pub async fn lookup_page(
    client: &Client,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
    token: Option<String>,
) -> Result<(Vec<String>, Option<String>), AwsError> {
    let out = client
        .lookup_events()
        .start_time(epoch(start))
        .end_time(epoch(end))
        .max_results(50)
        .set_next_token(token)
        .send()
        .await
        .map_err(|e| AwsError::call("cloudtrail:LookupEvents", "", e))?;
    Ok((
        out.events()
            .iter()
            .filter_map(|e| e.cloud_trail_event().map(str::to_string))
            .collect(),
        out.next_token().map(str::to_string),
    ))
}

/// A time as the SDK sends it.
fn epoch(t: chrono::DateTime<chrono::Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs(t.timestamp())
}

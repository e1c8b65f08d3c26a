//! S3, as collecting CloudTrail's delivered files needs it: where a bucket lives, what is under
//! a prefix, and an object's bytes and metadata.

use aws_sdk_s3::Client;

use crate::AwsError;

/// The region a bucket lives in (`GetBucketLocation`; no constraint means us-east-1, and the
/// legacy `EU` means eu-west-1): an S3 client elsewhere is redirected, not answered.
pub async fn bucket_region(client: &Client, bucket: &str) -> Result<String, AwsError> {
    let out = client
        .get_bucket_location()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| AwsError::call("s3:GetBucketLocation", bucket, e))?;
    Ok(match out.location_constraint().map(|c| c.as_str()) {
        None | Some("") => "us-east-1".to_string(),
        Some("EU") => "eu-west-1".to_string(),
        Some(region) => region.to_string(),
    })
}

/// The "folders" directly under `prefix` (which ends in `/`), each without the prefix and
/// the trailing `/`: account ids, an organization's id, regions.
pub async fn folders(client: &Client, bucket: &str, prefix: &str) -> Result<Vec<String>, AwsError> {
    Ok(list(client, bucket, prefix).await?.0)
}

/// An object as a listing gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub key: String,
    pub size: u64,
    pub etag: String,
}

/// The objects directly in the folder `prefix` (one day's folder holds a few hundred delivery
/// files); folders under it are not walked.
pub async fn objects(client: &Client, bucket: &str, prefix: &str) -> Result<Vec<Object>, AwsError> {
    Ok(list(client, bucket, prefix).await?.1)
}

/// `ListObjectsV2` of one folder, every page: the folders directly under `prefix` and the
/// objects directly in it.
async fn list(
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> Result<(Vec<String>, Vec<Object>), AwsError> {
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .delimiter("/")
        .into_paginator()
        .send();
    let (mut folders, mut objects) = (Vec::new(), Vec::new());
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| AwsError::call("s3:ListObjectsV2", &where_(bucket, prefix), e))?;
        folders.extend(page.common_prefixes().iter().filter_map(|p| {
            let name = p.prefix()?.strip_prefix(prefix)?.strip_suffix('/')?;
            Some(name.to_string())
        }));
        objects.extend(page.contents().iter().map(|o| Object {
            key: o.key().unwrap_or_default().to_string(),
            size: o.size().unwrap_or(0).max(0) as u64,
            etag: o.e_tag().unwrap_or_default().trim_matches('"').to_string(),
        }));
    }
    Ok((folders, objects))
}

/// An object's body, to be read chunk by chunk, with its user metadata (CloudTrail signs a
/// digest file in `x-amz-meta-signature`).
pub struct Body {
    pub stream: aws_sdk_s3::primitives::ByteStream,
    pub metadata: std::collections::HashMap<String, String>,
    pub size: u64,
}

/// `GetObject`.
pub async fn get(client: &Client, bucket: &str, key: &str) -> Result<Body, AwsError> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| AwsError::call("s3:GetObject", &where_(bucket, key), e))?;
    Ok(Body {
        size: out.content_length().unwrap_or(0).max(0) as u64,
        metadata: out.metadata().cloned().unwrap_or_default(),
        stream: out.body,
    })
}

fn where_(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

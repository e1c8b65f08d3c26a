//! AWS for Squall, through the official AWS SDK for Rust.
//!
//! [`connect`] resolves credentials the way every AWS tool does (environment, profiles, SSO,
//! IMDS; `AWS_ENDPOINT_URL` for a test server). [`inventory::inventory`] is the Prepare verb:
//! what the account holds and what is wrong with it. The service modules below it are thin:
//! one call each, paginated, returning plain values.

pub mod contain;
pub mod inventory;
mod services;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Where and as whom to talk to AWS.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// A profile from `~/.aws/config` (SSO and assume-role profiles included).
    pub profile: Option<String>,
    /// The region for global calls and the default region list.
    pub region: Option<String>,
    /// Another endpoint (a moto server in tests); `AWS_ENDPOINT_URL` works too.
    pub endpoint_url: Option<String>,
}

/// Errors naming the call and resource that failed, and what to try.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error(
        "no AWS credentials found (tried: environment, profile, web identity, ECS, EC2 instance metadata) (help: --profile or AWS_PROFILE, `aws sso login` for SSO profiles, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
    )]
    NoCredentials,
    #[error("{call} failed{on}: {message}")]
    Call {
        call: &'static str,
        on: String,
        message: String,
    },
}

impl AwsError {
    /// Wraps an SDK error with the call and the resource it was about.
    pub fn call<E: std::fmt::Display + std::fmt::Debug>(
        call: &'static str,
        on: &str,
        e: aws_sdk_ec2::error::SdkError<E>,
    ) -> AwsError {
        use aws_sdk_ec2::error::SdkError;
        if let SdkError::DispatchFailure(d) = &e
            && format!("{d:?}").contains("CredentialsNotLoaded")
        {
            return AwsError::NoCredentials;
        }
        let message = match &e {
            SdkError::ServiceError(s) => format!("{}", s.err()),
            SdkError::DispatchFailure(d) => format!("could not reach AWS ({d:?})"),
            SdkError::TimeoutError(_) => "timed out".to_string(),
            other => format!("{other}"),
        };
        AwsError::Call {
            call,
            on: if on.is_empty() {
                String::new()
            } else {
                format!(" on {on}")
            },
            message,
        }
    }
}

/// Loads the SDK configuration: the standard credential chain, standard retries with backoff
/// for throttling and 5xx answers, and an explicit region and endpoint when given.
pub async fn connect(target: &Target) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(
        RetryConfig::standard()
            .with_max_attempts(6)
            .with_initial_backoff(Duration::from_millis(200)),
    );
    if let Some(p) = &target.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &target.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(url) = &target.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;
    if config.region().is_none() {
        // Global services still need a signing region; us-east-1 is where they live.
        return config
            .into_builder()
            .region(Region::new("us-east-1"))
            .build();
    }
    config
}

//! AWS for Squall, through the official AWS SDK for Rust.
//!
//! [`connect`] resolves credentials the way every AWS tool does (environment, profiles, SSO,
//! IMDS; `AWS_ENDPOINT_URL` for a test server). [`inventory::inventory`] is the Prepare verb:
//! what the account holds and what is wrong with it. The service modules below it are thin:
//! one call each, paginated, returning plain values.

#[cfg(feature = "cli")]
pub mod cli;
pub mod collect;
pub mod image;
pub mod inventory;
pub mod propose;
pub mod request;
pub mod respond;
pub mod services;
pub mod verbs;

use std::time::Duration;

pub use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};

/// Where and as whom to talk to AWS.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// A profile from `~/.aws/config` (SSO and assume-role profiles included).
    pub profile: Option<String>,
    /// The region for global calls and the default region list.
    pub region: Option<String>,
    /// Another endpoint (a moto server in tests); `AWS_ENDPOINT_URL` works too.
    pub endpoint_url: Option<String>,
    /// Another account of the organization, reached by assuming `role_name` in it.
    pub account: Option<String>,
    /// The incident-response role to assume in `account` (the team's emergency access).
    pub role_name: Option<String>,
    /// Put in the assumed role's session name, so the target account's CloudTrail says which
    /// case the calls were made for.
    pub case: Option<String>,
}

impl Target {
    /// The same credentials, but in another account through the IR role.
    pub fn in_account(&self, account: &str) -> Target {
        Target {
            account: Some(account.to_string()),
            ..self.clone()
        }
    }
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
    pub fn call<E>(call: &'static str, on: &str, e: aws_sdk_ec2::error::SdkError<E>) -> AwsError
    where
        E: std::error::Error
            + aws_smithy_types::error::metadata::ProvideErrorMetadata
            + Send
            + Sync
            + 'static,
    {
        use aws_sdk_ec2::error::SdkError;
        if let SdkError::DispatchFailure(d) = &e
            && format!("{d:?}").contains("CredentialsNotLoaded")
        {
            return AwsError::NoCredentials;
        }
        let message = match &e {
            // An error the SDK does not model says only "unhandled error": say the service's
            // code and message, or its HTTP status when it gave none.
            SdkError::ServiceError(s) => {
                let text = s.err().to_string();
                let meta = s.err().meta();
                match (meta.code(), meta.message()) {
                    _ if !text.starts_with("unhandled error") => text,
                    (Some(code), Some(m)) => format!("{code}: {m}"),
                    (Some(code), None) => code.to_string(),
                    (None, _) => format!(
                        "the service answered HTTP {} without naming an error",
                        s.raw().status().as_u16()
                    ),
                }
            }
            SdkError::DispatchFailure(d) => format!("could not reach AWS ({d:?})"),
            SdkError::TimeoutError(_) => "timed out".to_string(),
            other => format!(
                "{}",
                aws_smithy_types::error::display::DisplayErrorContext(other)
            ),
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
    let mut config = loader.load().await;
    if config.region().is_none() {
        // Global services still need a signing region; us-east-1 is where they live.
        config = config
            .into_builder()
            .region(Region::new("us-east-1"))
            .build();
    }
    match (&target.account, &target.role_name) {
        (Some(account), Some(role)) => {
            let provider = aws_config::sts::AssumeRoleProvider::builder(format!(
                "arn:aws:iam::{account}:role/{role}"
            ))
            .session_name(session_name(target.case.as_deref()))
            .configure(&config)
            .build()
            .await;
            config
                .into_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build()
        }
        _ => config,
    }
}

/// `squall-C-0001` (session names allow `[\w+=,.@-]`, up to 64 characters).
pub fn session_name(case: Option<&str>) -> String {
    let mut name = String::from("squall");
    if let Some(case) = case {
        name.push('-');
        name.extend(case.chars().map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-_".contains(c) {
                c
            } else {
                '_'
            }
        }));
    }
    name.truncate(64);
    name
}

/// The account the credentials belong to (after any assumed role).
pub async fn account_id(config: &SdkConfig) -> Result<String, AwsError> {
    Ok(caller(config).await?.0)
}

/// Who the credentials are: their account and ARN (`arn:aws:sts::1:assumed-role/IR/alice`
/// for a role's session), so a response can tell its own role from the attacker's.
pub async fn caller(config: &SdkConfig) -> Result<(String, String), AwsError> {
    let who = identity(&aws_sdk_sts::Client::new(config)).await?;
    Ok((who.account, who.arn))
}

/// Who the credentials are, as `sts:GetCallerIdentity` says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub arn: String,
    /// IAM's unique id of the user or role behind them (`AIDA...`; `AROA...` for a role's
    /// session, without its `:session`): it names them whatever the case or path of a name.
    pub unique_id: String,
}

/// [`caller`] through an existing client, with the unique id too.
pub async fn identity(client: &aws_sdk_sts::Client) -> Result<Identity, AwsError> {
    let who = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::call("sts:GetCallerIdentity", "", e))?;
    Ok(Identity {
        account: who.account().unwrap_or_default().to_string(),
        arn: who.arn().unwrap_or_default().to_string(),
        unique_id: who
            .user_id()
            .unwrap_or_default()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string(),
    })
}

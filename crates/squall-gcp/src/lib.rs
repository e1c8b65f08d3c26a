//! Google Cloud for Squall, through Google's official Rust client libraries.
//!
//! [`connect`] finds credentials the way every Google tool does (Application Default
//! Credentials: a `gcloud auth application-default login`, a service-account key file, the
//! metadata server), optionally impersonating the incident-response service account
//! (`--impersonate`), the emergency-access path most IR teams keep. The clients retry
//! throttling and wait for Compute's operations with a bound; an endpoint override points them
//! all at one test server.

#[cfg(feature = "cli")]
pub mod cli;
pub mod collect;
pub mod inventory;
pub mod propose;
pub mod request;
pub mod respond;
pub mod services;

use std::path::PathBuf;
use std::time::Duration;

use google_cloud_auth::credentials::{self, Credentials};
use google_cloud_gax::error::Error as GaxError;
use google_cloud_gax::exponential_backoff::ExponentialBackoffBuilder;
use google_cloud_gax::retry_policy::{Aip194Strict, RetryPolicy, RetryPolicyExt};
use google_cloud_gax::retry_result::RetryResult;
use google_cloud_gax::retry_state::RetryState;
use serde_json::json;

/// Where and as whom to talk to Google Cloud.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// The project acted in, when a resource's name does not carry one.
    pub project: Option<String>,
    /// A service account to impersonate (the team's emergency access): its short-lived tokens
    /// come from IAM Credentials' `generateAccessToken`, asked with the ADC identity.
    pub impersonate: Option<String>,
    /// One endpoint for every Google API (a test server); Google's own when unset.
    pub endpoint: Option<String>,
    /// The case the calls are made for.
    pub case: Option<String>,
}

/// Errors naming the call and resource that failed, and what to try.
#[derive(Debug, thiserror::Error)]
pub enum GcpError {
    #[error(
        "Google Cloud credentials failed: {0} (help: `gcloud auth application-default login`, GOOGLE_APPLICATION_CREDENTIALS=key.json, or a VM's service account; with --impersonate, that identity needs Service Account Token Creator on the account)"
    )]
    NoCredentials(String),
    #[error("{call} failed{on}: {message}")]
    Call {
        call: &'static str,
        on: String,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
}

impl GcpError {
    /// Wraps a client error with the call and the resource it was about, saying Google's
    /// status and message (and nothing of the credentials).
    pub fn call(call: &'static str, on: &str, e: GaxError) -> GcpError {
        let message = if let Some(s) = e.status() {
            let code = e
                .http_status_code()
                .map_or(String::new(), |c| format!("HTTP {c} "));
            format!("{code}{:?}: {}", s.code, s.message)
        } else if e.is_authentication() {
            return GcpError::NoCredentials(chain(&e));
        } else if let Some(c) = e.http_status_code() {
            format!("HTTP {c}: {e}")
        } else if e.is_timeout() {
            "timed out".to_string()
        } else {
            e.to_string()
        };
        GcpError::Call {
            call,
            on: on_text(on),
            message,
        }
    }

    /// A failure a call's operation ended with, or the wait for it gave up.
    pub fn operation(call: &'static str, on: &str, message: String) -> GcpError {
        GcpError::Call {
            call,
            on: on_text(on),
            message,
        }
    }
}

/// What an error comes down to: Google's own message when a cause quotes Google's error
/// answer (a refused impersonation names the permission, two causes down), else the deepest
/// cause.
fn chain(e: &dyn std::error::Error) -> String {
    let mut last = e.to_string();
    let mut next = Some(e);
    while let Some(x) = next {
        let text = x.to_string();
        if let Some(m) = google_message(&text) {
            return m;
        }
        last = text;
        next = x.source();
    }
    last
}

/// The `error.message` of a Google error answer quoted in `text`.
fn google_message(text: &str) -> Option<String> {
    let start = text.find("{\"error\"")?;
    let mut stream =
        serde_json::Deserializer::from_str(&text[start..]).into_iter::<serde_json::Value>();
    let v = stream.next()?.ok()?;
    let e = &v["error"];
    let message = e["message"].as_str()?;
    Some(match e["code"].as_u64() {
        Some(code) => format!("HTTP {code}: {message}"),
        None => message.to_string(),
    })
}

pub(crate) fn on_text(on: &str) -> String {
    if on.is_empty() {
        String::new()
    } else {
        format!(" on {on}")
    }
}

/// Retries what Google asks clients to retry: throttling (`429`, `RESOURCE_EXHAUSTED`, a
/// request that was not carried out) always; unavailability and I/O errors as Google's own
/// policy does (only for idempotent calls: every mutation Squall sends carries a request id,
/// which makes it one).
#[derive(Debug)]
struct Retry;

impl RetryPolicy for Retry {
    fn on_error(&self, state: &RetryState, error: GaxError) -> RetryResult {
        let throttled = error.http_status_code() == Some(429)
            || error
                .status()
                .is_some_and(|s| s.code == google_cloud_gax::error::rpc::Code::ResourceExhausted);
        if throttled {
            return RetryResult::Continue(error);
        }
        Aip194Strict.on_error(state, error)
    }
}

/// How the clients of one run are configured: credentials, endpoint, retries.
#[derive(Clone, Debug)]
pub struct Connection {
    pub credentials: Credentials,
    pub endpoint: Option<String>,
}

impl Connection {
    /// A client builder set up the same way for every API.
    pub fn configure<F>(
        &self,
        b: google_cloud_gax::client_builder::ClientBuilder<F, Credentials>,
    ) -> google_cloud_gax::client_builder::ClientBuilder<F, Credentials> {
        let backoff = ExponentialBackoffBuilder::new()
            .with_initial_delay(Duration::from_millis(200))
            .with_maximum_delay(Duration::from_secs(10))
            .with_scaling(2.0)
            .clamp();
        let polling = ExponentialBackoffBuilder::new()
            .with_initial_delay(Duration::from_millis(250))
            .with_maximum_delay(Duration::from_secs(5))
            .with_scaling(1.5)
            .clamp();
        let mut b = b
            .with_credentials(self.credentials.clone())
            .with_retry_policy(Retry.with_attempt_limit(8))
            .with_backoff_policy(backoff)
            .with_polling_backoff_policy(polling);
        if let Some(e) = &self.endpoint {
            b = b.with_endpoint(e.clone());
        }
        b
    }
}

impl Connection {
    /// One of Google's clients, configured as every other ([`Connection::configure`]).
    pub async fn client<F, C>(
        &self,
        b: google_cloud_gax::client_builder::ClientBuilder<F, Credentials>,
    ) -> Result<C, GcpError>
    where
        F: google_cloud_gax::client_builder::internal::ClientFactory<
                Client = C,
                Credentials = Credentials,
            >,
    {
        self.configure(b)
            .build()
            .await
            .map_err(|e| GcpError::NoCredentials(e.to_string()))
    }
}

/// The credentials for `target`: Application Default Credentials, impersonating
/// `target.impersonate` when given.
pub fn credentials(target: &Target) -> Result<Credentials, GcpError> {
    let scopes = ["https://www.googleapis.com/auth/cloud-platform"];
    let Some(sa) = &target.impersonate else {
        return credentials::Builder::default()
            .with_scopes(scopes)
            .build()
            .map_err(|e| GcpError::NoCredentials(e.to_string()));
    };
    if !sa.contains('@') || sa.contains('/') || sa.contains(':') {
        return Err(GcpError::Invalid(format!(
            "--impersonate {sa:?} is not a service account's email (help: ir-responder@PROJECT.iam.gserviceaccount.com)"
        )));
    }
    let iam = target
        .endpoint
        .clone()
        .unwrap_or_else(|| "https://iamcredentials.googleapis.com".to_string());
    let url = format!("{iam}/v1/projects/-/serviceAccounts/{sa}:generateAccessToken");
    match adc_file() {
        // A file: wrapped as gcloud writes an impersonating ADC file, so the token exchange
        // goes to the endpoint this run was given.
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| GcpError::NoCredentials(format!("reading {}: {e}", path.display())))?;
            let source: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                GcpError::NoCredentials(format!("{} is not JSON: {e}", path.display()))
            })?;
            credentials::impersonated::Builder::new(json!({
                "type": "impersonated_service_account",
                "service_account_impersonation_url": url,
                "source_credentials": source,
            }))
            .with_scopes(scopes)
            .build()
            .map_err(|e| GcpError::NoCredentials(e.to_string()))
        }
        // The metadata server: Google's endpoint only.
        None => {
            let source = credentials::Builder::default()
                .build()
                .map_err(|e| GcpError::NoCredentials(e.to_string()))?;
            credentials::impersonated::Builder::from_source_credentials(source)
                .with_target_principal(sa.clone())
                .with_scopes(scopes)
                .build()
                .map_err(|e| GcpError::NoCredentials(e.to_string()))
        }
    }
}

/// Where Application Default Credentials come from when they are a file: the variable, else
/// gcloud's well-known file.
fn adc_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS") {
        return Some(PathBuf::from(p));
    }
    let base = match std::env::var_os("CLOUDSDK_CONFIG") {
        Some(c) => PathBuf::from(c),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".config/gcloud"),
    };
    let path = base.join("application_default_credentials.json");
    path.is_file().then_some(path)
}

/// The connection for `target`. Async because the credentials' token cache runs on the
/// caller's runtime.
///
/// The credentials are tried once here (a token fetched, or an impersonation refused), so a
/// run without them ends with one error before anything is planned, not one per resource.
pub async fn connect(target: &Target) -> Result<Connection, GcpError> {
    let credentials = credentials(target)?;
    credentials
        .headers(Default::default())
        .await
        .map_err(|e| GcpError::NoCredentials(chain(&e)))?;
    Ok(Connection {
        credentials,
        endpoint: target.endpoint.clone(),
    })
}

/// A label value naming the case (labels allow `[a-z0-9_-]`, up to 63 characters).
pub fn label_value(case: &str) -> String {
    let mut v: String = case
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    v.truncate(63);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_s_own_message_is_found_inside_a_transport_error() {
        let text = r#"the HTTP transport reports a [403] error: {"error":{"code":403,"message":"Permission 'iam.serviceAccounts.getAccessToken' denied","status":"PERMISSION_DENIED"}} trailing"#;
        assert_eq!(
            google_message(text).as_deref(),
            Some("HTTP 403: Permission 'iam.serviceAccounts.getAccessToken' denied")
        );
        assert_eq!(google_message("no json here"), None);
        assert_eq!(google_message(r#"{"error": 5}"#), None);
    }

    #[test]
    fn labels_name_the_case_in_the_characters_labels_allow() {
        assert_eq!(label_value("C-0001"), "c-0001");
        assert_eq!(label_value("Case 7/x"), "case_7_x");
        assert_eq!(label_value(&"x".repeat(100)).len(), 63);
    }
}

//! The HTTP side: one handler that authenticates the caller, applies injected faults, sends
//! each API's paths to its module, and records the call.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::{Call, REFRESH_TOKEN, USER, World};

type Shared = Arc<Mutex<World>>;

pub(crate) fn router(world: Shared) -> Router {
    Router::new().fallback(handle).with_state(world)
}

/// What a handler of one API gets.
pub(crate) struct Request<'a> {
    pub method: &'a Method,
    /// The path's segments, percent-decoded.
    pub segments: Vec<String>,
    pub query: &'a BTreeMap<String, String>,
    pub body: Value,
    pub principal: String,
    /// An injected fault to end this request's operation with.
    pub fail_operation: Option<ApiError>,
}

async fn handle(
    State(world): State<Shared>,
    method: Method,
    uri: Uri,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let latency = lock(&world).latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let path = uri.path();
    let shown = uri
        .path_and_query()
        .map_or(path.to_string(), |p| p.to_string());
    let mut w = lock(&world);
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let principal = w.tokens.get(token).cloned().unwrap_or_default();
    if path.starts_with("/storage/v1/") {
        let result = download(&mut w, path, &query, &headers, &principal);
        let status = match &result {
            Ok(r) => r.status(),
            Err(e) => e.status_code(),
        };
        w.calls.push(Call {
            method: method.to_string(),
            path: shown,
            principal,
            status: status.as_u16(),
        });
        return result.unwrap_or_else(|e| (e.status_code(), axum::Json(e.body())).into_response());
    }
    let result = answer(&mut w, &method, path, &query, &body, &principal);
    let (status, body) = match result {
        Ok(v) => (StatusCode::OK, v),
        Err(e) => (e.status_code(), e.body()),
    };
    let call = format!("{method} {shown}");
    w.calls.push(Call {
        method: method.to_string(),
        path: shown,
        principal,
        status: status.as_u16(),
    });
    crate::changes_due(&mut w, &call);
    (status, axum::Json(body)).into_response()
}

fn lock(world: &Shared) -> std::sync::MutexGuard<'_, World> {
    world.lock().unwrap_or_else(|p| p.into_inner())
}

/// Cloud Storage: authenticated, faults applied as to any call, then the media download.
fn download(
    w: &mut World,
    path: &str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    principal: &str,
) -> Result<Response, ApiError> {
    if principal.is_empty() {
        return Err(ApiError::new(
            401,
            "authError",
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        ));
    }
    let call = format!("GET {path}");
    if let Some(f) = w
        .faults
        .iter_mut()
        .find(|f| f.times > 0 && call.contains(&f.matches))
    {
        f.times -= 1;
        return Err(f.error());
    }
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decoded)
        .collect();
    crate::storage::media(w, &segments, query, headers)
}

/// A path segment with its `%XX` escapes decoded (object names carry `/` as `%2F`).
fn percent_decoded(segment: &str) -> String {
    let b = segment.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn answer(
    w: &mut World,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    body: &[u8],
    principal: &str,
) -> Result<Value, ApiError> {
    if path == "/token" {
        return token(w, body);
    }
    // Not Google's: how many calls were answered, for a benchmark to divide by.
    if path == "/_fake/calls" {
        return Ok(json!({"calls": w.calls.len()}));
    }
    if principal.is_empty() {
        return Err(ApiError::new(
            401,
            "authError",
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        ));
    }
    let mut fail_operation = None;
    let mut lost = None;
    let call = format!("{method} {path}");
    if let Some(f) = w
        .faults
        .iter_mut()
        .find(|f| f.times > 0 && call.contains(&f.matches))
    {
        f.times -= 1;
        if f.in_operation {
            fail_operation = Some(f.error());
        } else if f.answer_lost {
            lost = Some(f.error());
        } else {
            return Err(f.error());
        }
    }
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::invalid(format!("Invalid JSON payload received. {e}")))?
    };
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(|s| s.replace("%40", "@").replace("%3A", ":"))
        .collect();
    let req = Request {
        method,
        segments,
        query,
        body,
        principal: principal.to_string(),
        fail_operation,
    };
    let answer = match req.segments.first().map(String::as_str) {
        Some("compute") => crate::compute::handle(w, &req),
        Some("v1") if path.ends_with(":generateAccessToken") => generate_access_token(w, &req),
        Some("v1") => crate::iam::handle(w, &req),
        Some("v2") => crate::logging::handle(w, &req),
        Some("v3") => crate::resourcemanager::handle(w, &req),
        _ => Err(ApiError::not_found(path)),
    };
    match lost {
        Some(e) => Err(e),
        None => answer,
    }
}

/// OAuth 2.0's token endpoint: the refresh-token grant of a user login, as a form or (as
/// Google's endpoint also takes it) JSON.
fn token(w: &mut World, body: &[u8]) -> Result<Value, ApiError> {
    let form: BTreeMap<String, String> = if body.starts_with(b"{") {
        let v: BTreeMap<String, Value> = serde_json::from_slice(body)
            .map_err(|e| ApiError::invalid(format!("invalid JSON: {e}")))?;
        v.into_iter()
            .filter_map(|(k, v)| Some((k, v.as_str()?.to_string())))
            .collect()
    } else {
        serde_urlencoded::from_bytes(body)
            .map_err(|e| ApiError::invalid(format!("invalid form: {e}")))?
    };
    if form.get("grant_type").map(String::as_str) != Some("refresh_token")
        || form.get("refresh_token").map(String::as_str) != Some(REFRESH_TOKEN)
    {
        return Err(ApiError::new(400, "invalid_grant", "Bad Request"));
    }
    let n = w.next();
    let access = format!("ya29.fake-user-{n}");
    w.tokens.insert(access.clone(), format!("user:{USER}"));
    Ok(json!({
        "access_token": access,
        "expires_in": 3599,
        "token_type": "Bearer",
        "scope": "https://www.googleapis.com/auth/cloud-platform",
    }))
}

/// `iamcredentials.projects.serviceAccounts.generateAccessToken`: a token for the service
/// account, for a caller allowed to impersonate it.
fn generate_access_token(w: &mut World, req: &Request<'_>) -> Result<Value, ApiError> {
    let last = req.segments.last().cloned().unwrap_or_default();
    let email = last.trim_end_matches(":generateAccessToken").to_string();
    if !req.principal.starts_with("user:") || !w.impersonable.contains(&email) {
        return Err(ApiError::new(
            403,
            "forbidden",
            format!(
                "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist): {email}"
            ),
        ));
    }
    if req.body["scope"].as_array().is_none_or(|s| s.is_empty()) {
        return Err(ApiError::invalid("scope is required"));
    }
    let n = w.next();
    let access = format!("ya29.fake-sa-{n}");
    w.tokens
        .insert(access.clone(), format!("serviceAccount:{email}"));
    Ok(json!({
        "accessToken": access,
        "expireTime": "2099-01-01T00:00:00Z",
    }))
}

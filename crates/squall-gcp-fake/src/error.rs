//! Google's error format (`{"error": {"code", "message", "status", "errors": [...]}}`), and
//! the faults a test injects.

use axum::http::StatusCode;
use serde_json::{Value, json};

/// An answer that is an error, as Google writes it.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub message: String,
    /// `notFound`, `alreadyExists`, `conditionNotMet`, `rateLimitExceeded`, ...
    pub reason: &'static str,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            reason,
        }
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            404,
            "notFound",
            format!("The resource '{what}' was not found"),
        )
    }

    /// `409 alreadyExists`: a resource of that name is there already.
    pub fn already_exists(key: &str) -> ApiError {
        ApiError::new(
            409,
            "alreadyExists",
            format!("The resource '{key}' already exists"),
        )
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "invalid", message)
    }

    /// The canonical status name Google puts beside the HTTP code.
    fn status(&self) -> &'static str {
        match self.code {
            400 => "INVALID_ARGUMENT",
            401 => "UNAUTHENTICATED",
            403 => "PERMISSION_DENIED",
            404 => "NOT_FOUND",
            // Google answers a conflict of concurrent changes as ABORTED, a name taken as
            // ALREADY_EXISTS; both are HTTP 409.
            409 if self.reason == "aborted" => "ABORTED",
            409 => "ALREADY_EXISTS",
            412 => "FAILED_PRECONDITION",
            429 => "RESOURCE_EXHAUSTED",
            503 => "UNAVAILABLE",
            _ => "UNKNOWN",
        }
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn body(&self) -> Value {
        json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "status": self.status(),
                "errors": [{
                    "message": self.message,
                    "domain": "global",
                    "reason": self.reason,
                }],
            }
        })
    }
}

/// A fault a test injects: the next `times` requests whose `METHOD path` contains `matches`
/// answer with this error instead (or, for `in_operation`, start an operation that ends in it).
#[derive(Debug, Clone)]
pub struct Fault {
    pub matches: String,
    pub times: u32,
    pub code: u16,
    pub message: String,
    /// The request is accepted and its operation finishes with this error (how Compute reports
    /// most failures of a mutation), instead of the request itself failing.
    pub in_operation: bool,
    /// The request is carried out, but its answer is lost: the caller sees this error.
    pub answer_lost: bool,
}

impl Fault {
    /// `429 rateLimitExceeded`, `times` times: what a client must retry.
    pub fn throttle(matches: &str, times: u32) -> Fault {
        Fault {
            matches: matches.to_string(),
            times,
            code: 429,
            message: "Rate Limit Exceeded".to_string(),
            in_operation: false,
            answer_lost: false,
        }
    }

    /// `403 forbidden`: a permission the caller lacks.
    pub fn forbid(matches: &str, permission: &str) -> Fault {
        Fault {
            matches: matches.to_string(),
            times: u32::MAX,
            code: 403,
            message: format!("Required '{permission}' permission"),
            in_operation: false,
            answer_lost: false,
        }
    }

    /// An operation that finishes with an error.
    pub fn failed_operation(matches: &str, message: &str) -> Fault {
        Fault {
            matches: matches.to_string(),
            times: 1,
            code: 400,
            message: message.to_string(),
            in_operation: true,
            answer_lost: false,
        }
    }

    /// The request is carried out but the caller gets `503 backendError`, `times` times: a
    /// client retrying must not do it twice (Compute's `requestId` is for this).
    pub fn lost_answer(matches: &str, times: u32) -> Fault {
        Fault {
            matches: matches.to_string(),
            times,
            code: 503,
            message: "The service is currently unavailable.".to_string(),
            in_operation: false,
            answer_lost: true,
        }
    }

    pub(crate) fn error(&self) -> ApiError {
        let reason = match self.code {
            429 => "rateLimitExceeded",
            403 => "forbidden",
            404 => "notFound",
            409 => "alreadyExists",
            503 => "backendError",
            _ => "invalid",
        };
        ApiError::new(self.code, reason, self.message.clone())
    }
}

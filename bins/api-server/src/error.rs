//! [`ApiError`]: every error a handler returns, with its status, its stable [`ErrorCode`] and
//! its message; the one place that maps errors to status codes and JSON bodies.

use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use scheduler_store::{Refusal, RefusalKind, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::input::BODY_LIMIT;
use crate::openapi::{NoLogId, RejectedStatus};

/// What went wrong, as a client branches on it (contract, section 14): never needs the English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not JSON (or names a key twice).
    MalformedJson,
    /// A field, parameter or header has a value of the wrong type or form.
    InvalidField,
    /// A body field the endpoint does not know.
    UnknownField,
    /// The clip does not exist.
    ClipNotFound,
    /// The account does not exist.
    AccountNotFound,
    /// The account is on another platform.
    PlatformMismatch,
    /// The platform has no rules.
    UnknownPlatform,
    /// No slot fits the rules before the window end, within the horizon or the supported years.
    NoSlot,
    /// The requested time is more than 60 seconds in the past.
    PastTime,
    /// A time outside the supported years (1970 to 9999).
    OutOfRange,
    /// Nothing at that path, or no row with that id.
    NotFound,
    /// The id is taken.
    AlreadyExists,
    /// The row is not in a state that allows the change.
    InvalidState,
    /// The `Idempotency-Key` was used with another body.
    IdempotencyKeyReused,
    /// The lease is no longer this worker's.
    LeaseLost,
    /// The bearer token is missing or wrong.
    Unauthorized,
    /// The request comes from a web page of an origin the server does not allow.
    ForbiddenOrigin,
    /// The body (or the request's head) is too large.
    PayloadTooLarge,
    /// The path does not take that method.
    MethodNotAllowed,
    /// The database cannot answer now; a retry may succeed.
    Unavailable,
    /// A bug; the detail is in the server's log.
    Internal,
}

impl ErrorCode {
    /// Every code, in declaration order (`Internal` stays last).
    pub const ALL: [Self; 21] = [
        Self::MalformedJson,
        Self::InvalidField,
        Self::UnknownField,
        Self::ClipNotFound,
        Self::AccountNotFound,
        Self::PlatformMismatch,
        Self::UnknownPlatform,
        Self::NoSlot,
        Self::PastTime,
        Self::OutOfRange,
        Self::NotFound,
        Self::AlreadyExists,
        Self::InvalidState,
        Self::IdempotencyKeyReused,
        Self::LeaseLost,
        Self::Unauthorized,
        Self::ForbiddenOrigin,
        Self::PayloadTooLarge,
        Self::MethodNotAllowed,
        Self::Unavailable,
        Self::Internal,
    ];

    /// The code of an error answer that only has a status: actix's own and the HTTP layer's.
    /// An incomplete request (408: its head or body did not arrive in time) is malformed.
    pub fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::UNAUTHORIZED => Self::Unauthorized,
            StatusCode::FORBIDDEN => Self::ForbiddenOrigin,
            StatusCode::NOT_FOUND => Self::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::REQUEST_TIMEOUT => Self::MalformedJson,
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
                Self::PayloadTooLarge
            }
            StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable,
            s if s.is_server_error() => Self::Internal,
            _ => Self::InvalidField,
        }
    }

    /// The code as it is written in answers.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::MalformedJson => "malformed_json",
            Self::InvalidField => "invalid_field",
            Self::UnknownField => "unknown_field",
            Self::ClipNotFound => "clip_not_found",
            Self::AccountNotFound => "account_not_found",
            Self::PlatformMismatch => "platform_mismatch",
            Self::UnknownPlatform => "unknown_platform",
            Self::NoSlot => "no_slot",
            Self::PastTime => "past_time",
            Self::OutOfRange => "out_of_range",
            Self::NotFound => "not_found",
            Self::AlreadyExists => "already_exists",
            Self::InvalidState => "invalid_state",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::LeaseLost => "lease_lost",
            Self::Unauthorized => "unauthorized",
            Self::ForbiddenOrigin => "forbidden_origin",
            Self::PayloadTooLarge => "payload_too_large",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

/// The body of every error outside the schedule endpoints.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"error": "unknown field `scheduledFor`", "code": "unknown_field"}))]
pub struct ErrorBody {
    /// What is wrong, for a person.
    pub error: String,
    /// What is wrong, for a program.
    pub code: ErrorCode,
}

/// The schedule endpoints' rejected shape: `{"publish_log_id": "", "status": "rejected",
/// "reason": …, "code": …}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"publish_log_id": "", "status": "rejected", "reason": "Clip not found: clip_nope", "code": "clip_not_found"}))]
pub struct Rejected {
    /// Always empty.
    #[schema(value_type = NoLogId)]
    pub publish_log_id: String,
    /// Always `rejected`.
    #[schema(value_type = RejectedStatus)]
    pub status: String,
    /// Why, for a person.
    pub reason: String,
    /// Why, for a program.
    pub code: ErrorCode,
}

impl Rejected {
    /// The rejected shape.
    pub fn new(code: ErrorCode, reason: impl Into<String>) -> Self {
        Self {
            publish_log_id: String::new(),
            status: "rejected".to_owned(),
            reason: reason.into(),
            code,
        }
    }
}

impl From<ApiError> for Rejected {
    fn from(e: ApiError) -> Self {
        Self::new(e.code, e.message)
    }
}

impl From<Refusal> for Rejected {
    fn from(refusal: Refusal) -> Self {
        Self::new(refusal_code(refusal.kind), refusal.reason)
    }
}

/// An error answer: its status, code and message. A 5xx logs its detail and answers a generic
/// message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    /// Answer in the schedule endpoint's rejected shape.
    rejected_shape: bool,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            rejected_shape: false,
        }
    }

    /// 400 `malformed_json`.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::MalformedJson, message)
    }

    /// 400 `invalid_field`: a value of the wrong type or form.
    pub fn bad_field(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidField, message)
    }

    /// 422 `invalid_field`: a well-formed value the scheduler does not accept.
    pub fn unacceptable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidField,
            message,
        )
    }

    /// 400 `unknown_field`: a field the endpoint does not know, named.
    pub fn unknown_field(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::UnknownField,
            format!("unknown field `{}`", scheduler_core::shown(name)),
        )
    }

    /// 401 `unauthorized`.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "missing or invalid bearer token",
        )
    }

    /// 413 `payload_too_large`: a body over [`BODY_LIMIT`].
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("request body is larger than {BODY_LIMIT} bytes"),
        )
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    /// 500 `internal`; `detail` is logged, never sent.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            detail,
        )
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// This error as `POST /publishing/schedule` answers it: a 400 or 422 in the rejected
    /// shape; other errors as they are.
    pub fn into_schedule_error(mut self) -> Self {
        self.rejected_shape = matches!(
            self.status,
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY
        );
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

/// The code of a business rejection.
fn refusal_code(kind: RefusalKind) -> ErrorCode {
    match kind {
        RefusalKind::ClipNotFound => ErrorCode::ClipNotFound,
        RefusalKind::AccountNotFound => ErrorCode::AccountNotFound,
        RefusalKind::PlatformMismatch => ErrorCode::PlatformMismatch,
        RefusalKind::UnknownPlatform => ErrorCode::UnknownPlatform,
        RefusalKind::NoSlot => ErrorCode::NoSlot,
        RefusalKind::PastTime => ErrorCode::PastTime,
        RefusalKind::OutOfRange => ErrorCode::OutOfRange,
        RefusalKind::InvalidField => ErrorCode::InvalidField,
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            refusal_code(refusal.kind),
            refusal.reason,
        )
    }
}

impl From<scheduler_core::Rejection> for ApiError {
    fn from(rejection: scheduler_core::Rejection) -> Self {
        Refusal::from(rejection).into()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let (status, code) = match &e {
            StoreError::Rejected(refusal) => return refusal.clone().into(),
            StoreError::NotFound { .. } => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            StoreError::Conflict(_) => (StatusCode::CONFLICT, ErrorCode::AlreadyExists),
            StoreError::InvalidState(_) => (StatusCode::CONFLICT, ErrorCode::InvalidState),
            StoreError::LeaseLost(_) => (StatusCode::CONFLICT, ErrorCode::LeaseLost),
            StoreError::KeyReused(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::IdempotencyKeyReused,
            ),
            // The database is unreachable, every connection is busy, or the connection was
            // lost in the middle of the request: a retry may succeed.
            StoreError::Pool(_)
            | StoreError::Connect { .. }
            | StoreError::Unavailable(_)
            | StoreError::ReadOnly(_)
            | StoreError::ConnectionLost(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable)
            }
            StoreError::InvalidUrl(_)
            | StoreError::DatabaseFileNotFound(_)
            | StoreError::Migration(_)
            | StoreError::Corrupt(_)
            | StoreError::Internal(_)
            | StoreError::Database(_) => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
        };
        Self::new(status, code, e.to_string())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        let message = if self.status.is_server_error() {
            log::error!("{}: {}", self.status, self.message);
            if self.status == StatusCode::SERVICE_UNAVAILABLE {
                "database unavailable".to_owned()
            } else {
                "internal error".to_owned()
            }
        } else {
            self.message.clone()
        };
        if self.rejected_shape {
            return response.json(Rejected::new(self.code, message));
        }
        response.json(ErrorBody {
            error: message,
            code: self.code,
        })
    }
}

/// A handler result.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests;

//! [`ApiError`]: every error a handler returns, and the one place that maps errors to status
//! codes and JSON bodies.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use scheduler_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error outside the schedule endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What is wrong.
    pub error: String,
}

/// The schedule endpoints' rejected shape: `{"publish_log_id": "", "status": "rejected",
/// "reason": …}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Rejected {
    /// Always empty.
    pub publish_log_id: String,
    /// Always `rejected`.
    pub status: String,
    /// Why.
    pub reason: String,
}

impl Rejected {
    /// The rejected shape with `reason`.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            publish_log_id: String::new(),
            status: "rejected".to_owned(),
            reason: reason.into(),
        }
    }
}

/// An error answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: malformed JSON, a wrong field type, a bad query parameter.
    #[error("{0}")]
    BadRequest(String),
    /// 401: missing or wrong bearer token.
    #[error("missing or invalid bearer token")]
    Unauthorized,
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 408: the body did not arrive in time.
    #[error("{0}")]
    RequestTimeout(String),
    /// 413: the body is over the limit, in bytes.
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 422: input that is well-formed but not acceptable.
    #[error("{0}")]
    Unprocessable(String),
    /// A 400 or 422 of `POST /publishing/schedule`, in the rejected shape.
    #[error("{reason}")]
    ScheduleRejected {
        /// 400 or 422.
        status: StatusCode,
        /// Why.
        reason: String,
    },
    /// What the store said.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 500: a bug or an unexpected failure; the detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// This error as `POST /publishing/schedule` answers it: a 400 or 422 becomes the
    /// rejected shape; other errors stay.
    pub fn into_schedule_error(self) -> Self {
        let status = self.status_code();
        if status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY {
            let reason = match self {
                Self::ScheduleRejected { reason, .. } => reason,
                other => other.to_string(),
            };
            Self::ScheduleRejected { status, reason }
        } else {
            self
        }
    }
}

impl From<scheduler_core::Rejection> for ApiError {
    fn from(rejection: scheduler_core::Rejection) -> Self {
        Self::Unprocessable(rejection.to_string())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::ScheduleRejected { status, .. } => *status,
            Self::Store(e) => match e {
                StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
                StoreError::Conflict(_) => StatusCode::CONFLICT,
                StoreError::Rejected(_) | StoreError::KeyReused(_) => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                // The database is unreachable, every connection is busy, or the connection was
                // lost in the middle of the request: nothing was committed, a retry may succeed.
                StoreError::Pool(_)
                | StoreError::Connect { .. }
                | StoreError::Unavailable(_)
                | StoreError::ReadOnly(_)
                | StoreError::ConnectionLost(_) => StatusCode::SERVICE_UNAVAILABLE,
                StoreError::InvalidUrl(_)
                | StoreError::DatabaseFileNotFound(_)
                | StoreError::Migration(_)
                | StoreError::Corrupt(_)
                | StoreError::Internal(_)
                | StoreError::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let mut response = HttpResponse::build(status);
        if let Self::ScheduleRejected { reason, .. } = self {
            return response.json(Rejected::new(reason.clone()));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        let error = if status.is_server_error() {
            log::error!("{status}: {self}");
            if status == StatusCode::SERVICE_UNAVAILABLE {
                "database unavailable".to_owned()
            } else {
                "internal error".to_owned()
            }
        } else {
            self.to_string()
        };
        response.json(ErrorBody { error })
    }
}

/// A handler result.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;

    use super::*;

    fn body(e: &ApiError) -> (u16, serde_json::Value) {
        let response = e.error_response();
        let status = response.status().as_u16();
        let bytes = response.into_body().try_into_bytes().unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[test]
    fn store_errors_map_to_statuses() {
        let not_found = StoreError::NotFound {
            kind: "clip",
            id: "c".into(),
        };
        assert_eq!(
            body(&not_found.into()),
            (404, serde_json::json!({"error": "clip not found: c"}))
        );
        assert_eq!(body(&StoreError::Conflict("taken".into()).into()).0, 409);
        assert_eq!(body(&StoreError::Rejected("no".into()).into()).0, 422);
    }

    #[test]
    fn a_lost_connection_is_503() {
        let lost = StoreError::ConnectionLost("SSL SYSCALL error: EOF detected".into());
        assert_eq!(
            body(&lost.into()),
            (503, serde_json::json!({"error": "database unavailable"}))
        );
    }

    #[test]
    fn a_500_hides_its_detail() {
        let secret = StoreError::Corrupt("row 7 of table x is garbage".into());
        assert_eq!(
            body(&secret.into()),
            (500, serde_json::json!({"error": "internal error"}))
        );
        assert_eq!(
            body(&ApiError::Internal("panic in thread".into())),
            (500, serde_json::json!({"error": "internal error"}))
        );
    }

    #[test]
    fn schedule_errors_take_the_rejected_shape() {
        let e = ApiError::Unprocessable("Clip not found: c".into()).into_schedule_error();
        assert_eq!(
            body(&e),
            (
                422,
                serde_json::json!({"publish_log_id": "", "status": "rejected", "reason": "Clip not found: c"})
            )
        );
        let e = ApiError::Store(StoreError::Conflict("x".into())).into_schedule_error();
        assert_eq!(body(&e).0, 409);
    }
}

//! The middleware every request passes: `HEAD` served as `GET`, the bearer token, the body
//! limit, and JSON for every error answer.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{ErrorHandlerResponse, Next};
use actix_web::{web, HttpResponse, ResponseError};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::input::BODY_LIMIT;
use crate::routes::RouteTable;

/// The configured API token (a SHA-256 digest of it, compared in constant time), as app data.
#[derive(Debug, Clone)]
pub struct AuthToken(Option<[u8; 32]>);

impl AuthToken {
    /// No token, or the token's digest.
    pub fn new(token: Option<&str>) -> Self {
        Self(token.map(|t| digest(t.as_bytes())))
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Serves `HEAD` as `GET`, before routing: RFC 9110 asks every `GET` resource to answer `HEAD`
/// the same without a body, and the HTTP layer leaves the body out of an answer to a request
/// that arrived as `HEAD` (it decided that when it read the request).
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// With a token configured, every operation but the open ones ([`RouteTable::is_open`]) needs
/// `Authorization: Bearer <token>`; 401 otherwise.
pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let expected = req.app_data::<web::Data<AuthToken>>().and_then(|t| t.0);
    let open = || {
        req.app_data::<web::Data<RouteTable>>()
            .is_some_and(|table| table.is_open(req.method(), req.path()))
    };
    if let Some(expected) = expected.filter(|_| !open()) {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token)
            .map(|t| digest(t.as_bytes()));
        let ok = given.is_some_and(|g| bool::from(g.ct_eq(&expected)));
        if !ok {
            let response = ApiError::unauthorized().error_response();
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// 413 for a body whose `Content-Length` is over [`BODY_LIMIT`], on every route: one that reads
/// no body must not take one either. (A body without a length is cut off where it is read.)
pub async fn refuse_large_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT as u64) {
        let response = ApiError::too_large().error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// 400 `unknown_field` for a query parameter the operation does not take ([`RouteTable`]
/// reads them from the document), on every route: a misspelt filter must not answer the
/// unfiltered list as if it were the filtered one. In the schedule endpoint's rejected shape
/// where the document says its 400 has it.
pub async fn refuse_unknown_parameters(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let unknown = req
        .app_data::<web::Data<RouteTable>>()
        .and_then(|table| table.unknown_parameter(req.method(), req.path(), req.query_string()));
    if let Some(unknown) = unknown {
        let mut error = ApiError::unknown_field(&unknown.name);
        if unknown.rejected_shape {
            error = error.into_schedule_error();
        }
        let response = error.error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// The token of an `Authorization: Bearer <token>` value; the scheme's name is
/// case-insensitive (RFC 9110, section 11.1) and may be followed by several spaces.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start())
}

/// Makes every error answer JSON: actix's own come as text or empty; they get
/// `{"error": …, "code": …}`.
/// (The schedule endpoint answers its extractors' errors itself, in the rejected shape.) Every
/// error answer thus has a body, which `protocol_errors` relies on.
pub fn json_error_body<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .response()
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large().to_string(),
        StatusCode::NOT_FOUND => "not found".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed".to_owned(),
        _ if status.is_server_error() => {
            if let Some(e) = res.response().error() {
                log::error!("{status}: {e}");
            }
            "internal error".to_owned()
        }
        _ => res
            .response()
            .error()
            .map(ToString::to_string)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_lowercase()),
    };
    let mut response = HttpResponse::build(status);
    for (name, value) in res.response().headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            response.append_header((name.clone(), value.clone()));
        }
    }
    response.insert_header((
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    ));
    let response = response.json(ErrorBody {
        error: message,
        code: ErrorCode::for_status(status),
    });
    let (req, _) = res.into_parts();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}

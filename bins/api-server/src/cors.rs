//! Browsers. A web page's requests carry `Origin`, and a page may send a "simple" request
//! (a `POST` of `text/plain`) to any server without asking first; a server without a token
//! on the page's visitor's own machine would then create clips, schedule posts and run ticks
//! for whichever page the visitor opened. So a request with an `Origin` that is neither the
//! server's own nor listed in `--cors-origins` is refused (403 `forbidden_origin`) before it
//! reaches a handler, and the listed origins get real CORS answers: preflights answered,
//! `Access-Control-Allow-Origin` on every answer. Requests without `Origin` (curl, servers,
//! the tick-runner) are not browsers' and pass.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, ResponseError};

use crate::error::{ApiError, ErrorCode};
use crate::routes::RouteTable;

/// How long a browser may cache a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The request headers a page may send: the token, the body's type and the idempotency key.
const ALLOWED_HEADERS: &str = "authorization, content-type, idempotency-key";

/// The answer headers a page may read besides the simple ones.
const EXPOSED_HEADERS: &str = "location, allow, www-authenticate";

/// The origins other than the server's own whose pages may call the API, normalised
/// ([`normalise`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    /// Reads `--cors-origins`: each `http://host[:port]` or `https://host[:port]`, without a
    /// path. `*` is refused: it would let every page in, which is what the check is for.
    pub fn parse<S: AsRef<str>>(list: &[S]) -> Result<Self, String> {
        let mut origins = Vec::new();
        for item in list.iter().map(|s| s.as_ref().trim()) {
            if item.is_empty() {
                continue;
            }
            if item == "*" {
                return Err(
                    "--cors-origins does not take `*`: list each origin whose pages \
                            may call the API, such as https://app.example.com"
                        .to_owned(),
                );
            }
            let origin = normalise(item).ok_or_else(|| {
                format!(
                    "--cors-origins: {item:?} is not an origin: use scheme://host[:port] \
                     such as https://app.example.com or http://localhost:3000, without a path"
                )
            })?;
            if !origins.contains(&origin) {
                origins.push(origin);
            }
        }
        Ok(Self(origins))
    }

    fn contains(&self, origin: &str) -> bool {
        self.0.iter().any(|o| o == origin)
    }
}

/// An origin as browsers serialise it (RFC 6454): lower-case scheme and host, the scheme's
/// default port left out. `None` for anything else, `null` included.
fn normalise(origin: &str) -> Option<String> {
    let (scheme, authority) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    let authority = authority.strip_suffix('/').unwrap_or(authority);
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if authority.is_empty() || !authority.chars().all(valid) {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{authority}"))
}

/// Whether `origin` is the server's own: its host and port are the request's `Host`. (Behind a
/// proxy that rewrites `Host`, list the public origin in `--cors-origins`.)
fn is_own(origin: &str, req: &ServiceRequest) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    let Some(host) = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| normalise(&format!("{scheme}://{h}")))
    else {
        return false;
    };
    host.split_once("://").map(|(_, h)| h) == Some(authority)
}

/// Where a request stands with the origin check.
enum Verdict {
    /// No `Origin`, or the server's own: nothing to add.
    NotCrossOrigin,
    /// A listed origin: answer with CORS headers for it.
    Listed(HeaderValue),
    /// Refused.
    Forbidden(String),
}

fn verdict(req: &ServiceRequest) -> Verdict {
    let Some(sent) = req.headers().get(header::ORIGIN) else {
        return Verdict::NotCrossOrigin;
    };
    let text = sent.to_str().unwrap_or_default();
    let Some(origin) = normalise(text) else {
        return Verdict::Forbidden(text.to_owned());
    };
    if is_own(&origin, req) {
        return Verdict::NotCrossOrigin;
    }
    let listed = req
        .app_data::<web::Data<AllowedOrigins>>()
        .is_some_and(|allowed| allowed.contains(&origin));
    if listed {
        Verdict::Listed(sent.clone())
    } else {
        Verdict::Forbidden(origin)
    }
}

/// The origin check and the CORS answers (see the module's documentation). It runs before the
/// token check: a preflight carries no token, and a refused page learns nothing more.
pub async fn check_origin(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let origin = match verdict(&req) {
        Verdict::NotCrossOrigin => {
            return next
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body)
        }
        Verdict::Forbidden(origin) => {
            let error = ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::ForbiddenOrigin,
                format!(
                    "requests from pages of {} are not allowed: the server's operator can \
                     list the origin in --cors-origins",
                    scheduler_core::shown(&origin)
                ),
            );
            let mut response = error.error_response();
            vary(response.headers_mut());
            return Ok(req.into_response(response).map_into_right_body());
        }
        Verdict::Listed(origin) => origin,
    };
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let response = preflight_answer(&req, origin);
        return Ok(req.into_response(response).map_into_right_body());
    }
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
    vary(headers);
    Ok(response.map_into_left_body())
}

/// A listed origin's preflight: 204 with what the path takes, or 405 when it does not take the
/// method the page asks about.
fn preflight_answer(req: &ServiceRequest, origin: HeaderValue) -> HttpResponse {
    let allowed = req
        .app_data::<web::Data<RouteTable>>()
        .map(|table| table.allowed(req.path()))
        .unwrap_or_default();
    let asked = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|m| Method::from_bytes(m.as_bytes()).ok());
    let methods: Vec<&str> = allowed.iter().map(Method::as_str).collect();
    let mut response = if asked.is_some_and(|m| allowed.contains(&m)) {
        HttpResponse::NoContent().finish()
    } else if allowed.is_empty() {
        ApiError::not_found("not found").error_response()
    } else {
        let mut response = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::MethodNotAllowed,
            "method not allowed",
        )
        .error_response();
        if let Ok(allow) = HeaderValue::from_str(&methods.join(", ")) {
            response.headers_mut().insert(header::ALLOW, allow);
        }
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    if let Ok(methods) = HeaderValue::from_str(&methods.join(", ")) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, methods);
    }
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOWED_HEADERS),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE),
    );
    vary(headers);
    response
}

/// Answers differ by `Origin`: a cache must keep them apart.
fn vary(headers: &mut actix_web::http::header::HeaderMap) {
    headers.append(
        HeaderName::from_static("vary"),
        HeaderValue::from_static("origin"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_read_as_browsers_write_them() {
        let check = |text: &str, expected: Option<&str>| {
            assert_eq!(normalise(text).as_deref(), expected, "{text}");
        };
        check("https://App.Example.com", Some("https://app.example.com"));
        check("https://app.example.com/", Some("https://app.example.com"));
        check(
            "https://app.example.com:443",
            Some("https://app.example.com"),
        );
        check("http://localhost:80", Some("http://localhost"));
        check("http://localhost:3000", Some("http://localhost:3000"));
        check("https://localhost:80", Some("https://localhost:80"));
        check("http://[::1]:8000", Some("http://[::1]:8000"));
        check("HTTP://x", Some("http://x"));
        check("null", None);
        check("file://", None);
        check("ftp://x", None);
        check("https://", None);
        check("https://x/path", None);
        check("https://user@x", None);
        check("https://x?q", None);
    }

    #[test]
    fn the_list_is_origins_only() {
        let parsed = AllowedOrigins::parse(&[
            "https://a.example",
            " http://b:3000 ",
            "",
            "https://A.example:443",
        ]);
        assert_eq!(
            parsed,
            Ok(AllowedOrigins(vec![
                "https://a.example".to_owned(),
                "http://b:3000".to_owned()
            ]))
        );
        assert!(AllowedOrigins::parse(&["*"]).unwrap_err().contains("`*`"));
        assert!(AllowedOrigins::parse(&["a.example"])
            .unwrap_err()
            .contains("\"a.example\""));
        assert!(AllowedOrigins::parse(&["https://a.example/app"]).is_err());
    }
}

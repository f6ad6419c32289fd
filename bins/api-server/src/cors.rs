//! Browsers. A web page's requests carry `Origin`, and a page may send a "simple" request
//! (a `POST` of `text/plain`) to any server without asking first; a server without a token
//! on the page's visitor's own machine would then create clips, schedule posts and run ticks
//! for whichever page the visitor opened. So a request with an `Origin` that is neither the
//! server's own nor listed in `--cors-origins` is refused (403 `forbidden_origin`) before it
//! reaches a handler, and the listed origins get real CORS answers: preflights answered,
//! `Access-Control-Allow-Origin` on every answer. Requests without `Origin` (curl, servers,
//! the tick-runner) are not browsers' and pass.
//!
//! Long because its table tests (how origins are read, the listed origins, the hosts that
//! name no one else) sit beside the functions they pin; the code itself is about 335 lines.
//!
//! A page is the server's own only when it was loaded from the server by a name no one else
//! can point at it: `localhost` or an IP address. Otherwise DNS rebinding would let any page
//! pass: `evil.example` answers the browser's first lookup with its own address and the next
//! with 127.0.0.1, and the page's requests then carry `Origin` and `Host` alike. For the same
//! reason a server without a token answers only requests addressed to such names or to the
//! host of an origin it lists: a rebinding page's own reads carry no `Origin` at all. (With a
//! token, the token is what keeps such a page out; `--allow-unauthenticated` says every client
//! that reaches the address may drive the server, so it lifts the `Host` check.)
//!
//! With a token, a page is also the server's own when its origin is the request's `Host` by
//! any name, so that the calendar page works wherever the server is reached: a rebinding page
//! is another origin to the browser, so it can neither read the token the real page keeps nor
//! send it.
//!
//! Over 400 lines with its unit tests, which read the origin and host rules case by case.

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
/// ([`normalise`]), and whether every request's `Host` is checked (a server without a token,
/// unless `--allow-unauthenticated` accepted every client that reaches it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins {
    origins: Vec<String>,
    check_host: bool,
    token: bool,
}

impl AllowedOrigins {
    /// Reads `--cors-origins`: each `http://host[:port]` or `https://host[:port]`, without a
    /// path. `*` is refused: it would let every page in, which is what the check is for.
    /// `check_host`: answer only requests addressed to names DNS cannot redirect.
    pub fn parse<S: AsRef<str>>(list: &[S], check_host: bool) -> Result<Self, String> {
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
        Ok(Self {
            origins,
            check_host,
            token: false,
        })
    }

    /// Whether the server needs a token: then its own pages may reach it by any name.
    pub fn with_token(self, token: bool) -> Self {
        Self { token, ..self }
    }

    fn contains(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == origin)
    }

    /// Whether `authority` (a `Host`, normalised) is the host and port of a listed origin.
    fn lists_host(&self, authority: &str) -> bool {
        self.origins
            .iter()
            .any(|o| o.split_once("://").is_some_and(|(_, a)| a == authority))
    }
}

/// The request's `Host`, normalised as the authority of an origin with `scheme`.
fn host(req: &ServiceRequest, scheme: &str) -> Option<String> {
    let host = req.headers().get(header::HOST)?.to_str().ok()?;
    let origin = normalise(&format!("{scheme}://{host}"))?;
    Some(origin.split_once("://")?.1.to_owned())
}

/// Whether `authority` (`host[:port]`) names this machine in a way DNS cannot redirect:
/// `localhost` (and its subdomains, RFC 6761) or an IP address.
fn names_no_one_else(authority: &str) -> bool {
    let name = match authority.strip_prefix('[') {
        // An IPv6 literal.
        Some(rest) => {
            return rest
                .split_once(']')
                .is_some_and(|(ip, _)| ip.parse::<std::net::Ipv6Addr>().is_ok())
        }
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(name, port)| {
                if port.bytes().all(|b| b.is_ascii_digit()) {
                    name
                } else {
                    authority
                }
            }),
    };
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<std::net::Ipv4Addr>().is_ok()
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

/// Whether `origin` is the server's own: its host and port are the request's `Host`, and
/// that is `localhost` or an IP address, or the server needs a token (see the module's
/// documentation).
fn is_own(origin: &str, req: &ServiceRequest, token: bool) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    host(req, scheme).as_deref() == Some(authority) && (token || names_no_one_else(authority))
}

/// Where a request stands with the origin check.
enum Verdict {
    /// No `Origin`, or the server's own: nothing to add.
    NotCrossOrigin,
    /// A listed origin: answer with CORS headers for it.
    Listed(HeaderValue),
    /// Refused: a page of this origin.
    Forbidden(String),
    /// Refused: a request to this host, on a server without a token.
    ForbiddenHost(String),
}

fn verdict(req: &ServiceRequest) -> Verdict {
    let allowed = req.app_data::<web::Data<AllowedOrigins>>();
    let Some(sent) = req.headers().get(header::ORIGIN) else {
        // Not a browser's cross-origin request; but a tokenless server answers only requests
        // addressed to it by a name DNS cannot redirect.
        let check_host = allowed.is_some_and(|a| a.check_host);
        return match host(req, "http") {
            Some(authority)
                if check_host
                    && !names_no_one_else(&authority)
                    && !allowed.is_some_and(|a| a.lists_host(&authority)) =>
            {
                Verdict::ForbiddenHost(authority)
            }
            _ => Verdict::NotCrossOrigin,
        };
    };
    let text = sent.to_str().unwrap_or_default();
    let Some(origin) = normalise(text) else {
        return Verdict::Forbidden(text.to_owned());
    };
    if is_own(&origin, req, allowed.is_some_and(|a| a.token)) {
        return Verdict::NotCrossOrigin;
    }
    let listed = allowed.is_some_and(|allowed| allowed.contains(&origin));
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
    // With listed origins, an answer differs by `Origin`: a shared cache must not give one
    // answered without it to a listed page.
    let varies = req
        .app_data::<web::Data<AllowedOrigins>>()
        .is_some_and(|a| !a.origins.is_empty());
    let origin = match verdict(&req) {
        Verdict::NotCrossOrigin => {
            let mut response = next.call(req).await?;
            if varies {
                vary(response.headers_mut());
            }
            return Ok(response.map_into_left_body());
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
        Verdict::ForbiddenHost(authority) => {
            let error = ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::ForbiddenOrigin,
                format!(
                    "a server without an API token answers only requests to localhost or an IP \
                     address, not to {}: give the server a token (--api-token), or list the \
                     origin in --cors-origins",
                    scheduler_core::shown(&authority)
                ),
            );
            return Ok(req
                .into_response(error.error_response())
                .map_into_right_body());
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
        let parsed = AllowedOrigins::parse(
            &[
                "https://a.example",
                " http://b:3000 ",
                "",
                "https://A.example:443",
            ],
            false,
        )
        .unwrap();
        assert_eq!(parsed.origins, ["https://a.example", "http://b:3000"]);
        assert!(parsed.lists_host("b:3000") && parsed.lists_host("a.example"));
        assert!(!parsed.lists_host("b:3001"));
        let parse = |list: &[&str]| AllowedOrigins::parse(list, true);
        assert!(parse(&["*"]).unwrap_err().contains("`*`"));
        assert!(parse(&["a.example"]).unwrap_err().contains("\"a.example\""));
        assert!(parse(&["https://a.example/app"]).is_err());
    }

    #[test]
    fn only_localhost_and_addresses_name_no_one_else() {
        for authority in [
            "localhost",
            "localhost:8000",
            "app.localhost:3000",
            "127.0.0.1:8000",
            "10.0.0.7",
            "[::1]:8000",
            "[::1]",
        ] {
            assert!(names_no_one_else(authority), "{authority}");
        }
        for authority in [
            "evil.example:8000",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "scheduler:8000",
            "[evil]:80",
            "1.2.3:80",
        ] {
            assert!(!names_no_one_else(authority), "{authority}");
        }
    }
}

//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::routes::{accounts, health, ledger, publishing};

/// The OpenAPI 3 document of every endpoint (`GET /openapi.json`).
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Publishing scheduler API", description = "Schedules clips on social accounts inside each platform's posting window and gap."),
    paths(
        accounts::create_account, accounts::get_account, accounts::create_clip, accounts::get_clip,
        publishing::schedule, publishing::schedule_batch, publishing::list_clip_schedule,
        publishing::get_log, publishing::cancel, publishing::reschedule, publishing::tick,
        ledger::list_events, health::healthz, health::openapi,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// The POST paths that take an `Idempotency-Key` (its reuse with another body is a 422).
const IDEMPOTENT_PATHS: [&str; 4] = [
    "/accounts",
    "/clips",
    "/publishing/schedule",
    "/publishing/schedule/batch",
];

/// The paths that answer without a token even when one is configured.
pub const OPEN_PATHS: [&str; 2] = ["/healthz", "/openapi.json"];

/// Declares the bearer scheme, and on every operation whether it needs it: the open paths
/// have an empty `security`, every other operation requires `bearer` and documents its 401
/// (a server started without `--api-token` never sends it), its 503 (the database is
/// unreachable) and, when it reads a body, its 413 (a body over 256 KiB).
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        for (path, item) in &mut openapi.paths.paths {
            let open = OPEN_PATHS.contains(&path.as_str());
            if let Some(post) = item.post.as_mut().filter(|op| op.request_body.is_some()) {
                add_error(post, "413", "The body is larger than 256 KiB");
            }
            if let Some(post) = item
                .post
                .as_mut()
                .filter(|_| IDEMPOTENT_PATHS.contains(&path.as_str()))
            {
                add_error(
                    post,
                    "422",
                    "The Idempotency-Key was already used with a different body",
                );
            }
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                require_token(operation, open);
            }
        }
    }
}

fn require_token(operation: &mut Operation, open: bool) {
    if open {
        operation.security = Some(vec![SecurityRequirement::default()]);
        return;
    }
    operation.security = Some(vec![SecurityRequirement::new(
        "bearer",
        Vec::<String>::new(),
    )]);
    add_error(
        operation,
        "401",
        "Missing or invalid bearer token (only when the server has a token)",
    );
    add_error(operation, "503", "The database is unreachable");
}

/// Documents an `{"error": …}` answer with `status`, unless the operation documents one.
fn add_error(operation: &mut Operation, status: &str, description: &str) {
    let response = ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| response.into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_but_the_open_ones_requires_the_token() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let what = format!("{method} {path}");
                if OPEN_PATHS.contains(&path.as_str()) {
                    assert_eq!(op["security"], serde_json::json!([{}]), "{what}");
                    assert!(op["responses"].get("401").is_none(), "{what}");
                } else {
                    assert_eq!(
                        op["security"],
                        serde_json::json!([{"bearer": []}]),
                        "{what}"
                    );
                    assert!(op["responses"]["401"].is_object(), "{what}");
                    assert!(op["responses"]["503"].is_object(), "{what}");
                }
                if IDEMPOTENT_PATHS.contains(&path.as_str()) {
                    assert!(op["responses"]["422"].is_object(), "{what}");
                }
                assert_eq!(
                    op["responses"]["413"].is_object(),
                    op["requestBody"].is_object(),
                    "{what}"
                );
            }
        }
    }
}

//! The OpenAPI document: collected from the handlers as the route table registers them
//! (`routes::app`), then finished here with what every operation shares.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};

/// The document's own parts: its title and description; the paths come from the handlers.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(info(
    title = "Publishing scheduler API",
    description = "Schedules clips on social accounts inside each platform's posting window and gap."
))]
pub struct ApiDoc;

/// Finishes the collected document. Declares the bearer scheme and, on every operation, whether
/// it needs it: an operation that declares `security(())` is open; every other requires
/// `bearer` and documents its 401 (a server started without `--api-token` never sends it) and
/// its 503 (the database is unreachable). Every `POST`, `PUT` and `PATCH` documents its 413 (a
/// body over 256 KiB),
/// and every operation taking an `Idempotency-Key` its 422 for a key reused with another body.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    for item in doc.paths.paths.values_mut() {
        for with_body in [&mut item.post, &mut item.put, &mut item.patch] {
            if let Some(operation) = with_body.as_mut() {
                add_error(operation, "413", "The body is larger than 256 KiB");
            }
        }
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            let idempotent = operation
                .parameters
                .iter()
                .flatten()
                .any(|p| p.name == crate::idempotency::HEADER);
            if idempotent {
                add_error(
                    operation,
                    "422",
                    "The Idempotency-Key was already used with a different body",
                );
            }
            let open = operation
                .security
                .as_ref()
                .is_some_and(|s| s.iter().all(|r| r == &SecurityRequirement::default()));
            require_token(operation, open);
            add_error(
                operation,
                "403",
                "The request comes from a web page of an origin the server does not allow (--cors-origins)",
            );
        }
    }
    doc
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

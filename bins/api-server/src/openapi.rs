//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

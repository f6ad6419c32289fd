//! The OpenAPI document: collected from the handlers as the route table registers them
//! (`routes::app`), then finished here with what every operation shares.

use scheduler_core::RuleSet;
use std::collections::{BTreeMap, BTreeSet};

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayItems, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};

/// The document's own parts: its title, description, contact, server and tags; the paths come
/// from the handlers.
#[derive(Debug, utoipa::OpenApi)]
#[openapi(
    info(
        title = "Publishing scheduler API",
        description = "Schedules clips on social accounts inside each platform's posting window \
                       and gap. Every error answers `{\"error\": …, \"code\": …}`; a client \
                       branches on `code`.",
        contact(name = "Publishing scheduler maintainers")
    ),
    servers((url = "/", description = "The server that serves this document")),
    tags(
        (name = "accounts", description = "Social accounts: a platform and the time zone of their posting windows"),
        (name = "clips", description = "Clips: the videos posts publish"),
        (name = "publishing", description = "Scheduling posts, their publish logs, and the tick that makes due posts pending"),
        (name = "calendar", description = "Calendars: an account's iCalendar feed, opened by its read-only key"),
        (name = "series", description = "Recurring series: an RFC 5545 rule in the account's local time, each occurrence made once into a publish log"),
        (name = "ledger", description = "The ledger: an event for every change to a publish log or a series"),
        (name = "webhooks", description = "Subscriptions that post the ledger's events to a URL, signed the Standard Webhooks way, and their deliveries"),
        (name = "health", description = "For load balancers and tooling; no token needed"),
        (name = "monitoring", description = "Metrics for Prometheus"),
    )
)]
pub struct ApiDoc;

/// A platform of the server's rules; [`finish`] lists them as the schema's values.
#[derive(Debug)]
pub struct Platform;

impl PartialSchema for Platform {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A platform of the server's rules (built in: instagram, tiktok, youtube; a \
                 rules file may add others). Read case-insensitively.",
            ))
            .into()
    }
}

impl ToSchema for Platform {}

/// A string schema with one value: a field that always says the same.
macro_rules! one_value {
    ($(#[$meta:meta])* $name:ident = $value:literal) => {
        $(#[$meta])*
        #[derive(Debug)]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some([$value]))
                    .into()
            }
        }

        impl ToSchema for $name {}
    };
}

one_value!(
    /// `scheduled`: the `status` of a post just scheduled, and every log's `schedule_type`.
    JustScheduled = "scheduled"
);
one_value!(
    /// `rejected`: the `status` of a refused schedule request.
    RejectedStatus = "rejected"
);
one_value!(
    /// The empty `publish_log_id` of a refused schedule request.
    NoLogId = ""
);
/// What a ledger event is about: `publish_log` or `publish_series`.
#[derive(Debug)]
pub struct EventEntity;

impl PartialSchema for EventEntity {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([
                scheduler_store::events::ENTITY_PUBLISH_LOG,
                scheduler_store::events::ENTITY_PUBLISH_SERIES,
            ]))
            .into()
    }
}

impl ToSchema for EventEntity {}

/// A post's priority: `low`, `normal` or `high` (read in any case; written in lower case).
#[derive(Debug)]
pub struct Priority;

impl PartialSchema for Priority {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(scheduler_core::Priority::ALL.map(|p| p.as_str())))
            .description(Some("`low`, `normal` or `high`; read in any case."))
            .into()
    }
}

impl ToSchema for Priority {}

/// How a post's slot is chosen: `earliest` or `best`.
#[derive(Debug)]
pub struct Strategy;

impl PartialSchema for Strategy {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["earliest", "best"]))
            .description(Some(
                "`earliest` (omitted): the earliest valid slot from `scheduled_for`; `best`: the best free slot by engagement history within `within_days`. Read in any case.",
            ))
            .into()
    }
}

impl ToSchema for Strategy {}
one_value!(
    /// `ok`: the database answers.
    HealthOk = "ok"
);

/// Finishes the collected document. Lists the platforms of `rules`. Declares the bearer scheme
/// and, on every operation, whether it needs it: an operation that declares `security(())` is
/// open (`security: []`); every other requires `bearer` and documents its 401 (a server
/// started without `--api-token` never sends it) and its 503 (the database is unreachable).
/// Every operation documents its 400 (a query parameter it does not take, also when it takes
/// none) and its 403 (a web page of a foreign origin); every `POST`, `PUT` and `PATCH` its 413
/// (a body over 256 KiB), and every operation taking an `Idempotency-Key` its 422 for a key
/// reused with another body. A request body's schemas take no property they do not list (the
/// server answers 400 `unknown_field`), and an optional query parameter may be sent empty (an
/// HTML form sends `?limit=`; the server reads it as absent).
pub fn finish(mut doc: OpenApi, rules: &RuleSet) -> OpenApi {
    let components = doc.components.get_or_insert_with(Default::default);
    let mut platforms: Vec<&str> = rules.platforms().map(|(p, _)| p.as_str()).collect();
    platforms.sort_unstable();
    if let Some(RefOr::T(Schema::Object(platform))) = components.schemas.get_mut("Platform") {
        platform.enum_values = Some(platforms.into_iter().map(Into::into).collect());
    }
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    let mut bodies = Vec::new();
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
            let body_schemas = operation
                .request_body
                .iter()
                .flat_map(|body| body.content.values())
                .filter_map(|content| content.schema.as_ref());
            for schema in body_schemas {
                if let RefOr::Ref(r) = schema {
                    bodies.push(r.ref_location.clone());
                }
            }
            for parameter in operation.parameters.iter_mut().flatten() {
                if parameter.parameter_in == ParameterIn::Query
                    && parameter.required == Required::False
                {
                    // `allowEmptyValue` is in OpenAPI 3.1, but not among utoipa's fields.
                    parameter
                        .extensions
                        .get_or_insert_with(Default::default)
                        .insert("allowEmptyValue".to_owned(), true.into());
                }
            }
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
                "400",
                "A query parameter the operation does not take, or a malformed one (`unknown_field`, `invalid_field`)",
            );
            add_error(
                operation,
                "403",
                "The request comes from a web page of an origin the server does not allow (--cors-origins)",
            );
        }
    }
    if let Some(components) = doc.components.as_mut() {
        close_objects(&mut components.schemas, bodies);
    }
    doc
}

/// Sets `additionalProperties: false` on the component schemas at `refs`, and on those their
/// properties and items refer to.
fn close_objects(schemas: &mut BTreeMap<String, RefOr<Schema>>, mut refs: Vec<String>) {
    let mut done = BTreeSet::new();
    while let Some(location) = refs.pop() {
        let Some(name) = location.strip_prefix("#/components/schemas/") else {
            continue;
        };
        if !done.insert(name.to_owned()) {
            continue;
        }
        let Some(RefOr::T(Schema::Object(object))) = schemas.get_mut(name) else {
            continue;
        };
        if object.schema_type != SchemaType::Type(Type::Object) {
            continue;
        }
        object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
        for property in object.properties.values() {
            let inner = match property {
                RefOr::T(Schema::Array(array)) => match &array.items {
                    ArrayItems::RefOrSchema(items) => items.as_ref(),
                    ArrayItems::False => continue,
                },
                other => other,
            };
            if let RefOr::Ref(r) = inner {
                refs.push(r.ref_location.clone());
            }
        }
    }
}

fn require_token(operation: &mut Operation, open: bool) {
    if open {
        operation.security = Some(Vec::new());
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
    use serde_json::Value;

    use super::*;

    /// Every schema object in `value`, with the name of the property holding it.
    fn properties<'a>(value: &'a Value, out: &mut Vec<(&'a str, &'a Value)>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::Object(props)) = map.get("properties") {
                    out.extend(props.iter().map(|(k, v)| (k.as_str(), v)));
                }
                map.values().for_each(|v| properties(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| properties(v, out)),
            _ => {}
        }
    }

    #[test]
    fn the_document_says_what_the_server_does() {
        // The built-in platforms and one of a rules file.
        let rules = RuleSet::from_toml(
            "[platforms.threads]\nstart_hour = 22\nend_hour = 2\nmin_gap_minutes = 15\n",
        )
        .unwrap();
        let doc = serde_json::to_value(crate::routes::document(&rules)).unwrap();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["Platform"]["enum"],
            serde_json::json!(["instagram", "threads", "tiktok", "youtube"])
        );
        for (name, wanted) in [
            ("Status", "unconfirmed"),
            ("ScheduledBy", "campaign_orchestrator"),
            ("EventType", "publish_scheduled_created"),
            ("ErrorCode", "forbidden_origin"),
        ] {
            let values = schemas[name]["enum"].as_array().unwrap();
            assert!(values.contains(&wanted.into()), "{name}: {values:?}");
        }
        let mut props = Vec::new();
        properties(&doc, &mut props);
        for (name, schema) in props {
            let is_time = name.ends_with("_at")
                || name.starts_with("scheduled_for")
                || name.ends_with("window_end");
            if is_time {
                assert_eq!(schema["format"], "date-time", "{name}: {schema}");
            }
            let is_id = name == "id" || name.ends_with("_id");
            if is_id && schema.get("$ref").is_none() {
                assert_eq!(schema["maxLength"], 128, "{name}: {schema}");
            }
        }
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let what = format!("{method} {path}");
                assert!(
                    op["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{what}"
                );
                for (status, response) in op["responses"].as_object().unwrap() {
                    let description = response["description"].as_str().unwrap_or_default();
                    assert!(!description.is_empty(), "{what} {status}");
                }
                // An optional filter given empty is no filter; a required parameter must have a
                // value.
                for parameter in op["parameters"].as_array().into_iter().flatten() {
                    if parameter["in"] == "query" {
                        let optional = parameter["required"] != true;
                        assert_eq!(
                            parameter["allowEmptyValue"] == true,
                            optional,
                            "{what}: {parameter}"
                        );
                    }
                }
            }
        }
        for body in [
            "AccountIn",
            "ClipIn",
            "ScheduleIn",
            "RescheduleIn",
            "BatchIn",
        ] {
            assert_eq!(schemas[body]["additionalProperties"], false, "{body}");
        }
        assert_eq!(doc["servers"][0]["url"], "/");
    }
}

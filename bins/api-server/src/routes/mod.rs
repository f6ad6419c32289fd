//! The route table: every endpoint, once. Each handler declares its method and path (its
//! actix-web route macro) and its OpenAPI operation (`#[utoipa::path]`, with `security(())` on
//! the open ones); each module's `routes` function lists its handlers, one line each, and the
//! router, the OpenAPI document and the auth middleware all follow from that.

use actix_web::body::MessageBody;
use actix_web::dev::{ResourceDef, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::{web, App, HttpRequest, HttpResponse};
use scheduler_core::RuleSet;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::{OpenApi, PathItem, RefOr};
use utoipa::OpenApi as _;
use utoipa_actix_web::{AppExt, UtoipaApp};

use crate::error::{ErrorBody, ErrorCode};
use crate::openapi::ApiDoc;
use crate::state::AppState;

pub mod accounts;
pub mod calendar;
pub mod calendar_page;
pub mod health;
pub mod ledger;
pub mod logs;
pub mod monitoring;
pub mod publishing;
pub mod schedule;
pub mod series;
pub mod suggestions;
pub mod tick;
pub mod webhooks;

/// The application with every route, its OpenAPI document (`web::Data<OpenApi>`) and its
/// [`RouteTable`] (`web::Data<RouteTable>`) as app data. Middleware and the rest of the app
/// data are the caller's.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, collected) = register(App::new().into_utoipa_app()).split_for_parts();
    let doc = crate::openapi::finish(collected, &state.rules);
    let table = RouteTable::new(&doc);
    app.app_data(web::Data::new(state))
        .app_data(web::Data::new(doc))
        .app_data(web::Data::new(table))
        .default_service(web::to(fallback))
}

/// The OpenAPI document of every route, for a server with `rules`.
pub fn document(rules: &RuleSet) -> OpenApi {
    crate::openapi::finish(
        register(App::new().into_utoipa_app()).split_for_parts().1,
        rules,
    )
}

/// Every route, registered once: each module lists its handlers.
fn register<T>(app: UtoipaApp<T>) -> UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app.openapi(ApiDoc::openapi())
        .configure(health::routes)
        .configure(accounts::routes)
        .configure(suggestions::routes)
        .configure(calendar::routes)
        .configure(calendar_page::routes)
        .configure(schedule::routes)
        .configure(logs::routes)
        .configure(series::routes)
        .configure(publishing::routes)
        .configure(tick::routes)
        .configure(ledger::routes)
        .configure(webhooks::routes)
        .configure(monitoring::routes)
}

/// Every documented path with its methods, which of them answer without a token and which
/// query parameters they take: read from the OpenAPI document, so that what is served,
/// documented, open and accepted stay one thing.
#[derive(Debug)]
pub struct RouteTable {
    routes: Vec<Route>,
}

#[derive(Debug)]
struct Route {
    path: ResourceDef,
    /// Each method and what its operation says.
    methods: Vec<(Method, Op)>,
}

/// What the document says of one operation that the middleware needs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Op {
    /// Its `security` is `[]`.
    open: bool,
    /// Its query parameters.
    query: Vec<String>,
    /// Its 400 answer has the schedule endpoint's rejected shape.
    rejects: bool,
}

/// A query parameter no operation serving the request takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownParameter {
    /// Its name.
    pub name: String,
    /// Whether to answer in the rejected shape (the schedule endpoint's).
    pub rejected_shape: bool,
}

impl RouteTable {
    /// The table of `doc`'s operations.
    pub fn new(doc: &OpenApi) -> Self {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| Route {
                path: ResourceDef::new(path.as_str()),
                methods: operations(item),
            })
            .collect();
        Self { routes }
    }

    /// Whether `method` on `path` answers without a token (`HEAD` as its `GET`): when every
    /// route that could serve it is open. A path no route serves is not open: without a token
    /// it is 401, not 404.
    pub fn is_open(&self, method: &Method, path: &str) -> bool {
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        let mut serving = self
            .matching(path)
            .flat_map(|route| &route.methods)
            .filter(|(m, _)| m == method)
            .peekable();
        serving.peek().is_some() && serving.all(|(_, op)| op.open)
    }

    /// The first parameter of `query` that no operation serving `method` on `path` takes;
    /// `None` when all are taken, or when no operation serves the request (the answer is then
    /// 404 or 405) or the query string does not parse (the handler's extractor says why).
    pub fn unknown_parameter(
        &self,
        method: &Method,
        path: &str,
        query: &str,
    ) -> Option<UnknownParameter> {
        if query.is_empty() {
            return None;
        }
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        let serving: Vec<&Op> = self
            .matching(path)
            .flat_map(|route| &route.methods)
            .filter(|(m, _)| m == method)
            .map(|(_, op)| op)
            .collect();
        if serving.is_empty() {
            return None;
        }
        let pairs = web::Query::<Vec<(String, String)>>::from_query(query).ok()?;
        let name = pairs
            .into_inner()
            .into_iter()
            .map(|(name, _)| name)
            .find(|name| !serving.iter().any(|op| op.query.contains(name)))?;
        Some(UnknownParameter {
            name,
            rejected_shape: serving.iter().any(|op| op.rejects),
        })
    }

    /// The methods some route serves `path` with (`HEAD` beside `GET`), in a fixed order;
    /// empty when none does.
    pub fn allowed(&self, path: &str) -> Vec<Method> {
        let mut allowed: Vec<Method> = Vec::new();
        for (method, _) in self.matching(path).flat_map(|route| &route.methods) {
            let with_head = if method == Method::GET {
                vec![Method::GET, Method::HEAD]
            } else {
                vec![method.clone()]
            };
            for m in with_head {
                if !allowed.contains(&m) {
                    allowed.push(m);
                }
            }
        }
        allowed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        allowed
    }

    fn matching<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Route> + 'a {
        self.routes
            .iter()
            .filter(move |route| route.path.is_match(path))
    }
}

/// An OpenAPI path item's methods, each with what its operation says.
fn operations(item: &PathItem) -> Vec<(Method, Op)> {
    let read = |op: &utoipa::openapi::path::Operation| {
        Op {
        open: op
            .security
            .as_ref()
            .is_some_and(|s| s.iter().all(|r| r == &Default::default())),
        query: op
            .parameters
            .iter()
            .flatten()
            .filter(|p| p.parameter_in == ParameterIn::Query)
            .map(|p| p.name.clone())
            .collect(),
        rejects: match op.responses.responses.get("400") {
            Some(RefOr::T(response)) => response.content.values().any(|content| {
                matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Rejected"))
            }),
            _ => false,
        },
    }
    };
    [
        (Method::GET, &item.get),
        (Method::POST, &item.post),
        (Method::PUT, &item.put),
        (Method::PATCH, &item.patch),
        (Method::DELETE, &item.delete),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.as_ref().map(|op| (method, read(op))))
    .collect()
}

/// The answer when no route matched: 405 with the `Allow` header RFC 9110 requires when the
/// path is served with other methods, else 404.
pub async fn fallback(req: HttpRequest, table: web::Data<RouteTable>) -> HttpResponse {
    let allowed = table.allowed(req.path());
    if allowed.is_empty() {
        return HttpResponse::NotFound().json(ErrorBody {
            error: "not found".to_owned(),
            code: ErrorCode::NotFound,
        });
    }
    let allow: Vec<&str> = allowed.iter().map(Method::as_str).collect();
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, allow.join(", ")))
        .json(ErrorBody {
            error: "method not allowed".to_owned(),
            code: ErrorCode::MethodNotAllowed,
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_operation_but_the_open_ones_requires_the_token() {
        // What `openapi::finish` adds to every operation.
        let doc = serde_json::to_value(super::document(&Default::default())).unwrap();
        let open = [
            "get /healthz",
            "get /openapi.json",
            "get /accounts/{id}/calendar.ics",
            "get /calendar",
            "get /calendar/calendar.js",
            "get /calendar/calendar.css",
        ];
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let what = format!("{method} {path}");
                if open.contains(&what.as_str()) {
                    assert_eq!(op["security"], serde_json::json!([]), "{what}");
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
                let idempotent = op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"));
                if idempotent {
                    assert!(op["responses"]["422"].is_object(), "{what}");
                }
                assert_eq!(
                    op["responses"]["413"].is_object(),
                    ["post", "put", "patch"].contains(&method.as_str()),
                    "{what}"
                );
            }
        }
    }
}

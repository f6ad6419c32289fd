//! `GET /metrics`: what the server counts as it answers (requests, schedule outcomes, the
//! ticks it runs) and what it reads from the database at each scrape (the due backlog, the
//! oldest waiting posts), in the Prometheus (OpenMetrics) text format. Every instance keeps
//! its own registry: nothing global, so tests run many servers in one process.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use scheduler_store::{Backlog, TickOutcome};

use crate::error::ErrorCode;

/// A request's labels: the route's pattern (`/publishing/logs/{id}`, never the path itself,
/// whose ids would make a series per log), the method (one of HTTP's, else `other`) and the
/// status: all from fixed sets, so no client can create series at will.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

/// The method as a label: the standard ones by name, any other `other`.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == method.as_str())
        .unwrap_or("other")
}

/// What became of a schedule request: `scheduled` (as asked), `adjusted` (moved by the rules)
/// or `rejected`, with its code.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
    code: &'static str,
}

/// What a worker reported: `published`, or a failure's kind.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReportLabels {
    outcome: &'static str,
}

/// What became of a webhook attempt: `delivered`, `retrying` (failed, tried again later) or
/// `failed` (the last of the schedule).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    result: &'static str,
}

/// A gauge with a fractional value (NaN when unknown).
type FloatGauge = Gauge<f64, std::sync::atomic::AtomicU64>;

/// How a schedule request ended, for [`Metrics::schedule_outcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// At the time asked for.
    Scheduled,
    /// At another time the rules chose.
    Adjusted,
    /// Refused, with the code the client got.
    Rejected(ErrorCode),
}

/// The outcomes a write decided, read once it has committed: a handler hands a clone to its
/// write and counts them with [`Metrics::count`] after. An idempotent replay decides nothing
/// and counts nothing.
#[derive(Debug, Clone, Default)]
pub struct Outcomes(std::sync::Arc<std::sync::Mutex<Vec<Outcome>>>);

impl Outcomes {
    /// Notes one outcome.
    pub fn push(&self, outcome: Outcome) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(outcome);
    }
}

/// The registry and every series, shared by the server's workers.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RequestLabels, Histogram>,
    outcomes: Family<OutcomeLabels, Counter>,
    ticks_moved: Counter,
    tick_lateness: Histogram,
    claims: Counter,
    reports: Family<ReportLabels, Counter>,
    leases_expired: Counter,
    occurrences_made: Counter,
    webhook_deliveries: Family<DeliveryLabels, Counter>,
    webhook_stats: std::sync::OnceLock<std::sync::Arc<scheduler_webhooks::Stats>>,
    database_up: Gauge,
    due: FloatGauge,
    due_oldest_age: FloatGauge,
    pending: FloatGauge,
    pending_oldest_age: FloatGauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every series, registered under the `scheduler` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("scheduler");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern, method and status",
            requests.clone(),
        );
        // 1 ms to about 2 s.
        let durations = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 12))
        });
        registry.register_with_unit(
            "http_request_duration",
            "Time from a request's head to its answer, by route pattern, method and status",
            Unit::Seconds,
            durations.clone(),
        );
        let outcomes = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "schedule_outcomes",
            "Schedule requests (batch items included): scheduled as asked, adjusted, or rejected by code",
            outcomes.clone(),
        );
        let ticks_moved = Counter::default();
        registry.register(
            "tick_moved_logs",
            "Logs moved to pending by the ticks this server ran (the endpoint and --tick-interval)",
            ticks_moved.clone(),
        );
        // 0.1 s to about an hour.
        let tick_lateness = Histogram::new(exponential_buckets(0.1, 2.0, 16));
        registry.register_with_unit(
            "tick_lateness",
            "For each tick this server ran that moved a log: how long after its time the oldest log it moved was moved",
            Unit::Seconds,
            tick_lateness.clone(),
        );
        let claims = Counter::default();
        registry.register(
            "claimed_logs",
            "Logs claimed by workers through this server",
            claims.clone(),
        );
        let reports = Family::<ReportLabels, Counter>::default();
        registry.register(
            "publish_reports",
            "Workers' reports through this server: published, or a failure by kind (retryable, rate_limited, permanent, unknown)",
            reports.clone(),
        );
        let leases_expired = Counter::default();
        registry.register(
            "lease_expiries",
            "Processing logs whose worker's lease ran out, made unconfirmed by the ticks this server ran",
            leases_expired.clone(),
        );
        let occurrences_made = Counter::default();
        registry.register(
            "series_occurrences_made",
            "Logs made for recurring series' occurrences by the ticks this server ran (creating or changing a series makes its first ones too; those are not counted here)",
            occurrences_made.clone(),
        );
        let webhook_deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook attempts this server made, by result: delivered, retrying (failed, tried again later) or failed (the last attempt of the schedule)",
            webhook_deliveries.clone(),
        );
        let database_up = Gauge::default();
        registry.register(
            "database_up",
            "1 when the database answered this scrape's queries, else 0 (and the backlog series are NaN)",
            database_up.clone(),
        );
        let due = FloatGauge::default();
        registry.register(
            "due_backlog",
            "Scheduled posts whose time has come: the next tick's work",
            due.clone(),
        );
        let due_oldest_age = FloatGauge::default();
        registry.register_with_unit(
            "due_oldest_age",
            "How long ago the oldest due scheduled post's time was: how late ticking is, whoever ticks (0 when none is due)",
            Unit::Seconds,
            due_oldest_age.clone(),
        );
        let pending = FloatGauge::default();
        registry.register(
            "pending_logs",
            "Pending posts: moved by the tick, waiting for the publishing worker",
            pending.clone(),
        );
        let pending_oldest_age = FloatGauge::default();
        registry.register_with_unit(
            "pending_oldest_age",
            "How long ago the oldest pending post's time was (0 when none is pending)",
            Unit::Seconds,
            pending_oldest_age.clone(),
        );
        Self {
            registry,
            requests,
            durations,
            outcomes,
            ticks_moved,
            tick_lateness,
            claims,
            reports,
            leases_expired,
            occurrences_made,
            webhook_deliveries,
            webhook_stats: std::sync::OnceLock::new(),
            database_up,
            due,
            due_oldest_age,
            pending,
            pending_oldest_age,
        }
    }

    /// Counts a schedule request's outcome.
    pub fn schedule_outcome(&self, outcome: Outcome) {
        let labels = match outcome {
            Outcome::Scheduled => OutcomeLabels {
                outcome: "scheduled",
                code: "",
            },
            Outcome::Adjusted => OutcomeLabels {
                outcome: "adjusted",
                code: "",
            },
            Outcome::Rejected(code) => OutcomeLabels {
                outcome: "rejected",
                code: code.as_str(),
            },
        };
        self.outcomes.get_or_create(&labels).inc();
    }

    /// Counts the outcomes `outcomes` noted.
    pub fn count(&self, outcomes: &Outcomes) {
        let noted = std::mem::take(&mut *outcomes.0.lock().unwrap_or_else(|e| e.into_inner()));
        noted.into_iter().for_each(|o| self.schedule_outcome(o));
    }

    /// Counts logs claimed.
    pub fn claimed(&self, logs: usize) {
        self.claims.inc_by(logs as u64);
    }

    /// Counts a worker's report: `published`, or the failure's kind.
    pub fn reported(&self, outcome: &'static str) {
        self.reports.get_or_create(&ReportLabels { outcome }).inc();
    }

    /// Records a tick this server ran.
    pub fn tick(&self, outcome: &TickOutcome) {
        self.ticks_moved.inc_by(outcome.moved as u64);
        self.leases_expired.inc_by(outcome.leases_expired as u64);
        self.occurrences_made
            .inc_by(outcome.occurrences_made as u64);
        if let Some(late_by) = outcome.late_by {
            self.tick_lateness
                .observe(late_by.num_milliseconds() as f64 / 1000.0);
        }
    }

    /// Reads the webhook counters from `stats` at every scrape.
    pub fn watch_webhooks(&self, stats: std::sync::Arc<scheduler_webhooks::Stats>) {
        let _ = self.webhook_stats.set(stats);
    }

    /// The text of a scrape, with the backlog as read now (`None`: the database did not
    /// answer).
    pub fn render(&self, backlog: Option<&Backlog>) -> String {
        match backlog {
            Some(b) => {
                self.database_up.set(1);
                self.due.set(b.due as f64);
                self.due_oldest_age
                    .set(b.oldest_due.map_or(0.0, |t| seconds(b.now, t)));
                self.pending.set(b.pending as f64);
                self.pending_oldest_age
                    .set(b.oldest_pending.map_or(0.0, |t| seconds(b.now, t)));
            }
            None => {
                // Unknown, not zero: a zero would look healthy.
                self.database_up.set(0);
                self.due.set(f64::NAN);
                self.due_oldest_age.set(f64::NAN);
                self.pending.set(f64::NAN);
                self.pending_oldest_age.set(f64::NAN);
            }
        }
        if let Some(stats) = self.webhook_stats.get() {
            for (result, value) in [
                ("delivered", stats.delivered()),
                ("retrying", stats.retrying()),
                ("failed", stats.failed()),
            ] {
                let counter = self
                    .webhook_deliveries
                    .get_or_create(&DeliveryLabels { result });
                counter
                    .inner()
                    .store(value, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// `later - earlier` in seconds, never negative (a post due in the future is not late).
fn seconds(later: DateTime<Utc>, earlier: DateTime<Utc>) -> f64 {
    ((later - earlier).num_milliseconds() as f64 / 1000.0).max(0.0)
}

/// Counts every request and its duration, by the route's pattern: the outermost middleware
/// but the access log, so it sees every answer (401s, 403s and 404s included) and the
/// method as sent (`HEAD` before it is served as `GET`).
pub async fn record_request(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let response = next.call(req).await?;
    if let Some(metrics) = metrics {
        let labels = RequestLabels {
            route: response
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned()),
            method,
            status: response.status().as_u16(),
        };
        metrics.requests.get_or_create(&labels).inc();
        metrics
            .durations
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(response)
}

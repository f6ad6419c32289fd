//! One attempt: the event as a signed request, and what the receiver answered.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use scheduler_store::models::LedgerEvent;
use scheduler_store::webhooks::{Attempted, ClaimedDelivery, MAX_RESPONSE_BYTES};
use serde::Serialize;

use crate::address::PublicOnly;
use crate::signature::Secret;

/// The body of every delivery.
#[derive(Debug, Serialize)]
pub struct Payload<'a> {
    /// The event's type.
    #[serde(rename = "type")]
    pub event_type: &'a str,
    /// When the event was written (RFC 3339, UTC, whole seconds).
    pub timestamp: String,
    /// The event, as `GET /ledger/events` shows it.
    pub data: EventData<'a>,
}

/// A ledger event as the API shows it.
#[derive(Debug, Serialize)]
pub struct EventData<'a> {
    /// `evt_…`.
    pub id: &'a str,
    /// Its type.
    pub event_type: &'a str,
    /// `publish_log`.
    pub entity_type: &'a str,
    /// The log's id.
    pub entity_id: &'a str,
    /// Its details.
    pub metadata: &'a serde_json::Value,
    /// When it was written.
    pub created_at: String,
}

/// The body of the delivery of `event`.
pub fn payload(event: &LedgerEvent) -> Vec<u8> {
    let created_at = event.created_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let payload = Payload {
        event_type: &event.event_type,
        timestamp: created_at.clone(),
        data: EventData {
            id: &event.id,
            event_type: &event.event_type,
            entity_type: &event.entity_type,
            entity_id: &event.entity_id,
            metadata: &event.metadata,
            created_at,
        },
    };
    serde_json::to_vec(&payload).expect("a JSON value serializes")
}

/// The HTTP client of a deliverer: no redirects, no proxy (a proxy would resolve names where
/// the public-address check cannot see), the timeout for the whole exchange, and, unless
/// private addresses are allowed, a resolver that refuses names pointing inside.
pub(crate) fn client(timeout: Duration, allow_private: bool) -> reqwest::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_max_idle_per_host(64)
        .user_agent(concat!(
            "publishing-scheduler-webhooks/",
            env!("CARGO_PKG_VERSION")
        ));
    if !allow_private {
        builder = builder.dns_resolver(std::sync::Arc::new(PublicOnly));
    }
    builder.build()
}

/// What a deliverer needs to send to one subscription: its URL, read as the deliverer's policy
/// allows (a literal address inside is refused there; a name, by the client's resolver).
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub url: reqwest::Url,
    pub secret: Secret,
    pub timeout: Duration,
}

/// Makes one attempt of `delivery` to `target`: a 2xx answer within the timeout is delivered;
/// anything else (another status, a redirect, no answer, a refused address) is a failure with
/// its reason. At most [`MAX_RESPONSE_BYTES`] of the answer are read.
pub(crate) async fn attempt(
    client: &reqwest::Client,
    target: &Target,
    delivery: &ClaimedDelivery,
) -> Attempted {
    let event = &delivery.event;
    let failed = |status: Option<u16>, error: String, response: Option<String>| Attempted {
        event_seq: event.seq,
        attempt: delivery.attempt,
        delivered: false,
        status,
        error: Some(error),
        response,
    };
    let body = payload(event);
    let timestamp = Utc::now().timestamp();
    let signature = target.secret.sign(&event.id, timestamp, &body);
    let sent = client
        .post(target.url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &event.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(e) => return failed(None, describe(&e, target.timeout), None),
    };
    let status = response.status();
    let mut kept = Vec::new();
    // The rest of a long answer is not read: the connection closes with the response.
    while kept.len() < MAX_RESPONSE_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    kept.truncate(MAX_RESPONSE_BYTES);
    let text = String::from_utf8_lossy(&kept).into_owned();
    let text = (!text.is_empty()).then_some(text);
    if status.is_success() {
        return Attempted {
            event_seq: event.seq,
            attempt: delivery.attempt,
            delivered: true,
            status: Some(status.as_u16()),
            error: None,
            response: text,
        };
    }
    let error = if status.is_redirection() {
        let to = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("nowhere");
        format!("HTTP {status}: a redirect (to {to}), which webhooks do not follow")
    } else {
        format!("HTTP {status}")
    };
    failed(Some(status.as_u16()), error, text)
}

/// A failed request in words, its causes included.
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no answer within {} s", timeout.as_secs());
    }
    let mut text = if error.is_connect() {
        "cannot connect".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

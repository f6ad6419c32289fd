//! The user's publisher adapter: one POST per claimed post, and what its answer means.

use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::api::{ClaimedLog, Report};

/// The most characters of an adapter's answer kept in an error.
const MAX_ERROR_BODY: usize = 500;
/// The longest rate-limit wait passed on, in seconds (the api-server's limit: a week).
const MAX_RETRY_AFTER: u64 = 604_800;

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The adapter says the post is up.
    Published {
        platform_post_id: Option<String>,
        permalink: Option<String>,
        metrics: Option<serde_json::Map<String, Value>>,
    },
    /// It is not, or may not be: the kind says which.
    Failed {
        kind: &'static str,
        error: String,
        retry_after: Option<u64>,
    },
}

impl Outcome {
    fn failed(kind: &'static str, error: impl Into<String>) -> Self {
        Self::Failed {
            kind,
            error: error.into(),
            retry_after: None,
        }
    }

    /// A few words for the log.
    pub fn describe(&self) -> String {
        match self {
            Self::Published { .. } => "published".to_owned(),
            Self::Failed { kind, error, .. } => format!("failed ({kind}): {error}"),
        }
    }
}

impl From<Outcome> for Report {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Published {
                platform_post_id,
                permalink,
                metrics,
            } => Report::Complete {
                platform_post_id,
                permalink,
                metrics,
            },
            Outcome::Failed {
                kind,
                error,
                retry_after,
            } => Report::Fail {
                kind,
                error,
                retry_after,
            },
        }
    }
}

/// What an adapter's answer means: `status`, its `Retry-After` header if any, and its body.
/// 2xx → published (a JSON body may name `platform_post_id`, `permalink`, `metrics`); 429 →
/// `rate_limited`; 408 and 5xx → `retryable`; anything else → `permanent`.
pub fn outcome_of(
    status: u16,
    retry_after: Option<&str>,
    body: &str,
    now: DateTime<Utc>,
) -> Outcome {
    if (200..300).contains(&status) {
        let answer: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let text = |key: &str| {
            answer[key]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(128).collect())
        };
        return Outcome::Published {
            platform_post_id: text("platform_post_id"),
            permalink: answer["permalink"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(2048).collect()),
            metrics: answer["metrics"].as_object().map(known_metrics),
        };
    }
    let shown: String = body.chars().take(MAX_ERROR_BODY).collect();
    let error = format!("the publisher answered {status}: {shown}");
    match status {
        429 => Outcome::Failed {
            kind: "rate_limited",
            error,
            retry_after: retry_after.and_then(|v| seconds_until(v, now)),
        },
        408 | 500..=599 => Outcome::failed("retryable", error),
        _ => Outcome::failed("permanent", error),
    }
}

/// A `Retry-After` value (seconds, or an HTTP date) as seconds from `now`.
fn seconds_until(value: &str, now: DateTime<Utc>) -> Option<u64> {
    let value = value.trim();
    let seconds = match value.parse::<u64>() {
        Ok(s) => s,
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(value).ok()?;
            u64::try_from((at.with_timezone(&Utc) - now).num_seconds().max(0)).ok()?
        }
    };
    Some(seconds.min(MAX_RETRY_AFTER))
}

/// The adapter at one URL.
#[derive(Debug, Clone)]
pub struct Publisher {
    http: reqwest::Client,
    url: reqwest::Url,
}

impl Publisher {
    /// The adapter at `url`; each call may take `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self> {
        let url = reqwest::Url::parse(url)
            .with_context(|| format!("--publisher-url {url:?} is not a URL"))?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            // A host that drops packets must read as "not reached" (retryable), not as a
            // timeout after sending (unknown).
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A redirect of a POST would be followed as a GET: not a publish.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("failed to build the HTTP client")?;
        Ok(Self { http, url })
    }

    /// Posts `claim` to the adapter, with the clip and the account it names, and reads what
    /// happened. `Idempotency-Key` is the log's id, the same on every attempt: an adapter or
    /// platform that honours such keys never publishes a post twice.
    pub async fn publish(&self, claim: &ClaimedLog) -> Outcome {
        let body = json!({"log": claim.log, "clip": claim.clip, "account": claim.account,
                          "attempt": claim.attempt});
        let sent = self
            .http
            .post(self.url.clone())
            .header("Idempotency-Key", claim.id())
            .json(&body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => return outcome_of_error(&e),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match response.text().await {
            Ok(text) => outcome_of(status, retry_after.as_deref(), &text, Utc::now()),
            // The adapter answered, and then its answer broke: a 2xx means published, but
            // its details are lost; any other answer is what it is.
            Err(e) if (200..300).contains(&status) => {
                log::warn!("{}: the publisher's answer broke off: {e}", claim.id());
                outcome_of(status, None, "", Utc::now())
            }
            Err(_) => outcome_of(status, retry_after.as_deref(), "", Utc::now()),
        }
    }
}

/// What a failed request means: no connection is `retryable` (the post never left); a timeout
/// or a broken connection after sending is `unknown`.
fn outcome_of_error(e: &reqwest::Error) -> Outcome {
    let detail = format!("{e:#}");
    if e.is_connect() {
        Outcome::failed(
            "retryable",
            format!("the publisher could not be reached: {detail}"),
        )
    } else if e.is_timeout() {
        Outcome::failed(
            "unknown",
            format!("the publisher did not answer in time; the post may be up: {detail}"),
        )
    } else {
        Outcome::failed(
            "unknown",
            format!("the connection to the publisher broke; the post may be up: {detail}"),
        )
    }
}

/// The figures the api-server keeps (`views`, `likes`, `comments`, `shares` as counts, and
/// `measured_at`), from whatever an adapter put in `metrics`: anything else would make the
/// api-server refuse the whole report, and a published post must be reported.
fn known_metrics(metrics: &serde_json::Map<String, Value>) -> serde_json::Map<String, Value> {
    metrics
        .iter()
        .filter(|(key, value)| match key.as_str() {
            "views" | "likes" | "comments" | "shares" => value.as_u64().is_some(),
            "measured_at" => value
                .as_str()
                .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()),
            _ => false,
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_reports_as_the_contract_says() {
        let now: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let kind = |status: u16| match outcome_of(status, None, "no", now) {
            Outcome::Failed { kind, .. } => kind,
            Outcome::Published { .. } => "published",
        };
        for (status, expected) in [
            (200, "published"),
            (201, "published"),
            (204, "published"),
            (408, "retryable"),
            (500, "retryable"),
            (503, "retryable"),
            (429, "rate_limited"),
            (400, "permanent"),
            (401, "permanent"),
            (404, "permanent"),
            (422, "permanent"),
            (302, "permanent"),
        ] {
            assert_eq!(kind(status), expected, "{status}");
        }
        let published = outcome_of(
            200,
            None,
            r#"{"platform_post_id": "ig_1", "permalink": "https://x.example/p/1",
                "metrics": {"views": 2, "reach": 5, "likes": -1, "shares": 1, "measured_at": "2026-01-01T00:00:00Z"}}"#,
            now,
        );
        assert_eq!(
            published,
            Outcome::Published {
                platform_post_id: Some("ig_1".into()),
                permalink: Some("https://x.example/p/1".into()),
                // What the api-server does not keep is left out: it would refuse the report.
                metrics: json!({"views": 2, "shares": 1, "measured_at": "2026-01-01T00:00:00Z"})
                    .as_object()
                    .cloned(),
            }
        );
        let retry = |header: &str| match outcome_of(429, Some(header), "", now) {
            Outcome::Failed { retry_after, .. } => retry_after,
            other => panic!("{other:?}"),
        };
        assert_eq!(retry("120"), Some(120));
        assert_eq!(retry("Thu, 01 Jan 2026 00:02:00 GMT"), Some(120));
        assert_eq!(retry("Wed, 31 Dec 2025 00:00:00 GMT"), Some(0));
        assert_eq!(retry("99999999"), Some(604_800));
        assert_eq!(retry("soon"), None);
        let Outcome::Failed { error, .. } = outcome_of(500, None, &"x".repeat(10_000), now) else {
            panic!()
        };
        assert!(error.len() < 600, "{}", error.len());
    }
}

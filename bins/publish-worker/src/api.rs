//! The api-server, as the worker uses it: claims, heartbeats, reports, and the clip and
//! account of a post.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::{json, Value};

/// How long one call to the api-server may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A claimed post, as the api-server answered it.
#[derive(Debug, Clone, Deserialize)]
pub struct ClaimedLog {
    /// The log, in the API's JSON.
    pub log: Value,
    /// Its clip.
    pub clip: Value,
    /// Its account.
    pub account: Value,
    /// The token every report carries.
    pub lease_token: String,
    /// When the lease ends.
    pub lease_expires_at: String,
    /// Which attempt this is.
    pub attempt: u32,
}

impl ClaimedLog {
    /// The log's id.
    pub fn id(&self) -> &str {
        self.log["id"].as_str().unwrap_or_default()
    }
}

/// What the worker tells the api-server about an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    /// `complete`, with what the adapter said of the post.
    Complete {
        platform_post_id: Option<String>,
        permalink: Option<String>,
        metrics: Option<serde_json::Map<String, Value>>,
    },
    /// `fail`, with the kind, what happened, and a rate limit's wait in seconds.
    Fail {
        kind: &'static str,
        error: String,
        retry_after: Option<u64>,
    },
}

/// A client of one api-server.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    /// A client of the api-server at `base` (`http://host:port`).
    pub fn new(base: &str, token: Option<&str>) -> Result<Self> {
        let base = base.trim_end_matches('/').to_owned();
        reqwest::Url::parse(&base).with_context(|| format!("--api-url {base:?} is not a URL"))?;
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("failed to build the HTTP client")?;
        Ok(Self {
            http,
            base,
            token: token.map(str::to_owned),
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value)> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{path}: no answer"))?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .with_context(|| format!("{path}: answer cut"))?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    /// Claims up to `limit` posts.
    pub async fn claim(
        &self,
        worker_id: &str,
        limit: u32,
        lease_seconds: u32,
        platforms: &[String],
    ) -> Result<Vec<ClaimedLog>> {
        let body = json!({"worker_id": worker_id, "limit": limit, "lease_seconds": lease_seconds,
                          "platforms": platforms});
        let (status, answer) = self
            .call(reqwest::Method::POST, "/publishing/claims", Some(&body))
            .await?;
        if matches!(status, 401 | 403 | 422) {
            // A wrong token, a page-origin refusal or an unknown platform: waiting fixes none.
            return Err(anyhow::Error::new(Refused(format!(
                "the api-server refused the claim ({status}): {answer}"
            ))));
        }
        if status != 200 {
            bail!("claim answered {status}: {answer}");
        }
        #[derive(Deserialize)]
        struct Claims {
            claims: Vec<ClaimedLog>,
        }
        Ok(serde_json::from_value::<Claims>(answer)
            .context("claim answered an unexpected shape")?
            .claims)
    }

    /// Extends the lease on `id`. A heartbeat waits at most a third of the lease: the next
    /// one must still be in time when the server is slow.
    pub async fn heartbeat(&self, id: &str, token: &str, lease: Duration) -> Result<Beat> {
        let body = json!({"lease_token": token, "lease_seconds": lease.as_secs()});
        let path = format!("/publishing/logs/{}/heartbeat", segment(id));
        let call = self.call(reqwest::Method::POST, &path, Some(&body));
        let (status, answer) = tokio::time::timeout((lease / 3).min(CALL_TIMEOUT), call)
            .await
            .with_context(|| format!("{path}: no answer in time"))??;
        match status {
            200 => Ok(Beat::Held),
            409 | 404 => Ok(Beat::Lost),
            _ => bail!("heartbeat answered {status}: {answer}"),
        }
    }

    /// Sends `report` about `id`, again and again while the api-server cannot be reached or
    /// answers 5xx, until the lease would have ended (the tick then makes the post
    /// `unconfirmed`, which is what an unreported attempt is). A 4xx is final: the lease was
    /// lost (another claim or the tick moved the post) or the report was refused.
    pub async fn report(&self, id: &str, token: &str, report: &Report, lease: Duration) {
        let (what, mut body) = match report {
            Report::Complete {
                platform_post_id,
                permalink,
                metrics,
            } => (
                "complete",
                json!({"platform_post_id": platform_post_id, "permalink": permalink,
                       "metrics": metrics}),
            ),
            Report::Fail {
                kind,
                error,
                retry_after,
            } => (
                "fail",
                json!({"kind": kind, "error": error, "retry_after": retry_after}),
            ),
        };
        body["lease_token"] = json!(token);
        let path = format!("/publishing/logs/{}/{what}", segment(id));
        let give_up = Instant::now() + lease;
        let mut wait = Duration::from_millis(500);
        loop {
            match self.call(reqwest::Method::POST, &path, Some(&body)).await {
                Ok((200, _)) => return,
                Ok((status, answer)) if status < 500 => {
                    if matches!(report, Report::Complete { .. }) {
                        // The post is up and the scheduler will not know it by itself.
                        log::error!(
                            "{id}: published (platform_post_id {}), but the api-server refused \
                             the report ({status}: {answer}); settle it with POST \
                             /publishing/logs/{id}/confirm",
                            body["platform_post_id"]
                        );
                    } else {
                        log::warn!("{id}: {what} answered {status}: {answer}");
                    }
                    return;
                }
                Ok((status, answer)) => log::warn!("{id}: {what} answered {status}: {answer}"),
                Err(e) => log::warn!("{id}: {what}: {e:#}"),
            }
            if Instant::now() + wait > give_up {
                log::error!("{id}: {what} could not be reported before the lease ends");
                return;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(15));
        }
    }
}

/// Whether a heartbeat kept the lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beat {
    /// It did.
    Held,
    /// The lease is gone: the post moved on (its lease ran out, or another report came).
    Lost,
}

/// The api-server refused the worker itself (its token, its origin, its platforms): running
/// on cannot help.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// `id` as one path segment.
fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

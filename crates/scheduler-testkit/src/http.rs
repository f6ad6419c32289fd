//! An HTTP answer as the tests read it, from the async or the blocking client.

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;

/// An answer: status, headers, the body text, and the body parsed as JSON (`Value::Null` when
/// it is not JSON, which [`Response::is_json`] tells).
#[derive(Debug, Clone)]
pub struct Response {
    /// The status.
    pub status: StatusCode,
    /// Every header.
    pub headers: HeaderMap,
    /// The body.
    pub text: String,
    /// The body as JSON.
    pub body: Value,
}

impl Response {
    /// Reads a whole answer of the async client.
    pub async fn read(response: reqwest::Response) -> reqwest::Result<Self> {
        let (status, headers) = (response.status(), response.headers().clone());
        Ok(Self::new(status, headers, response.text().await?))
    }

    /// Reads a whole answer of the blocking client.
    pub fn read_blocking(response: reqwest::blocking::Response) -> reqwest::Result<Self> {
        let (status, headers) = (response.status(), response.headers().clone());
        Ok(Self::new(status, headers, response.text()?))
    }

    fn new(status: StatusCode, headers: HeaderMap, text: String) -> Self {
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            headers,
            text,
            body,
        }
    }

    /// The `Content-Type` header, or `""`.
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Whether the body is JSON with a JSON content type.
    pub fn is_json(&self) -> bool {
        self.content_type().starts_with("application/json")
            && serde_json::from_str::<Value>(&self.text).is_ok()
    }

    /// Asserts the status and that the body is `{"error": <non-empty string>, "code": code}`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert!(self.is_json(), "not JSON: {self:?}");
        let obj = self.body.as_object().expect("an object");
        assert_eq!(obj.len(), 2, "{}", self.text);
        assert!(
            obj["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{}",
            self.text
        );
        assert_eq!(obj["code"], code, "{}", self.text);
    }

    /// Asserts the status and the schedule endpoint's rejected shape with `code`; returns the
    /// reason.
    #[track_caller]
    pub fn assert_rejected(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert!(self.is_json(), "not JSON: {self:?}");
        let obj = self.body.as_object().expect("an object");
        assert_eq!(obj.len(), 4, "{}", self.text);
        assert_eq!(obj["publish_log_id"], "", "{}", self.text);
        assert_eq!(obj["status"], "rejected", "{}", self.text);
        assert_eq!(obj["code"], code, "{}", self.text);
        obj["reason"].as_str().expect("a reason").to_owned()
    }
}

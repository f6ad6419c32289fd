//! Signing the Standard Webhooks way: `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "{webhook-id}.{webhook-timestamp}.{body}">`, keyed with the secret's decoded bytes, so that
//! receivers verify with any of that specification's libraries.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What a secret begins with.
pub const SECRET_PREFIX: &str = "whsec_";

/// The bytes of a key this crate makes.
const KEY_BYTES: usize = 32;

/// A signing secret: `whsec_` and the base64 of its key.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    key: Vec<u8>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A secret that is not `whsec_` and base64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a webhook secret: it must be whsec_ and the base64 of a key")]
pub struct BadSecret;

impl Secret {
    /// A new secret of 32 bytes from the operating system's random source.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut key = vec![0; KEY_BYTES];
        getrandom::getrandom(&mut key)?;
        Ok(Self { key })
    }

    /// Reads `whsec_<base64>`.
    pub fn parse(text: &str) -> Result<Self, BadSecret> {
        let encoded = text.strip_prefix(SECRET_PREFIX).ok_or(BadSecret)?;
        let key = STANDARD.decode(encoded).map_err(|_| BadSecret)?;
        if key.is_empty() {
            return Err(BadSecret);
        }
        Ok(Self { key })
    }

    /// `whsec_<base64>`: what the subscriber is shown once.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.key))
    }

    /// The `webhook-signature` header's value for a message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        // HMAC takes a key of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks library's own check, which shares no code with ours.
    fn verify(secret: &str, id: &str, timestamp: i64, body: &[u8], signature: &str) -> bool {
        let mut headers = http::HeaderMap::new();
        headers.insert("webhook-id", id.parse().unwrap());
        headers.insert("webhook-timestamp", timestamp.to_string().parse().unwrap());
        headers.insert("webhook-signature", signature.parse().unwrap());
        standardwebhooks::Webhook::new(secret)
            .unwrap()
            .verify(body, &headers)
            .is_ok()
    }

    #[test]
    fn signatures_verify_with_the_specifications_library() {
        let now = chrono::Utc::now().timestamp();
        for _ in 0..20 {
            let secret = Secret::generate().unwrap();
            let text = secret.expose();
            assert!(text.starts_with("whsec_"));
            assert_eq!(Secret::parse(&text), Ok(secret.clone()));
            let body =
                br#"{"type":"publish_published","timestamp":"2026-12-06T10:00:00Z","data":{}}"#;
            let signature = secret.sign("evt_1", now, body);
            assert!(verify(&text, "evt_1", now, body, &signature));
            // Any change to the id, the time or the body breaks it.
            assert!(!verify(&text, "evt_2", now, body, &signature));
            assert!(!verify(&text, "evt_1", now + 1, body, &signature));
            assert!(!verify(&text, "evt_1", now, b"{}", &signature));
            let other = Secret::generate().unwrap().expose();
            assert!(!verify(&other, "evt_1", now, body, &signature));
        }
    }

    #[test]
    fn the_specifications_example_signs_as_published() {
        // The example of the Standard Webhooks specification.
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn only_whsec_base64_is_a_secret() {
        for bad in [
            "",
            "whsec_",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_!!!",
            "whsec_a",
        ] {
            assert_eq!(Secret::parse(bad), Err(BadSecret), "{bad:?}");
        }
        assert_eq!(format!("{:?}", Secret::generate().unwrap()), "Secret(…)");
    }
}

//! The chat and push webhooks: a JSON body, signed with the tenant's secret.
//!
//! Headers: `X-Baton-Event-Id` (the notification id, also the body's `id`,
//! for de-duplication), `X-Baton-Timestamp` (seconds since the epoch, by the
//! server's clock) and `X-Baton-Signature: sha256=<hex>`, the HMAC-SHA256 of
//! the exact body bytes under the tenant's signing secret. Anything but a
//! 2xx answer is a failed attempt and is retried. A URL whose address the
//! [`WebhookPolicy`] refuses is not sent to at all, and not retried.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::address::{self, WebhookPolicy};
use crate::domain::{Millis, NotifyChannel};
use crate::store::Outgoing;

pub const EVENT_ID_HEADER: &str = "x-baton-event-id";
pub const TIMESTAMP_HEADER: &str = "x-baton-timestamp";
pub const SIGNATURE_HEADER: &str = "x-baton-signature";

/// `sha256=<hex HMAC-SHA256 of body under secret>`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `signature` (the header's value) is the body's signature under
/// `secret`. Compared in constant time, so a receiver using this leaks
/// nothing about the expected value.
pub fn verify(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(digits) = signature.trim().strip_prefix("sha256=") else {
        return false;
    };
    // Odd lengths and non-hex digits are refused here, before any
    // comparison.
    let Ok(given) = hex::decode(digits) else {
        return false;
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The body for a channel: Slack's incoming-webhook shape for chat, a flat
/// object for push gateways.
pub fn payload(out: &Outgoing) -> serde_json::Value {
    let n = &out.notification;
    let link = n
        .conversation
        .as_ref()
        .map(|c| format!("/v1/conversations/{c}"));
    match out.channel {
        NotifyChannel::ChatWebhook => {
            let text = match &link {
                Some(link) => format!(
                    "*{}*\n{}\n<{link}|Open the conversation>",
                    n.title, n.message
                ),
                None => format!("*{}*\n{}", n.title, n.message),
            };
            serde_json::json!({
                "id": n.id,
                "type": n.kind,
                "text": text,
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "text": text}}
                ],
                "conversation": n.conversation,
                "agent": n.agent,
            })
        }
        _ => serde_json::json!({
            "id": n.id,
            "type": n.kind,
            "title": n.title,
            "body": n.message,
            "conversation": n.conversation,
            "agent": n.agent,
        }),
    }
}

/// Why a webhook attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook request failed: {0}")]
    Request(String),
    #[error("the webhook answered {0}")]
    Status(u16),
    /// The URL's address is one the policy refuses: trying again would
    /// only be refused again.
    #[error("refused: {0}")]
    Refused(String),
}

/// Post one signed notification. `client` must be `policy`'s
/// ([`WebhookPolicy::client`]): it checks the addresses of host names, and
/// this checks IP-literal hosts, which no resolver sees.
pub async fn send(
    client: &reqwest::Client,
    policy: WebhookPolicy,
    url: &str,
    secret: &str,
    out: &Outgoing,
    now: Millis,
) -> Result<(), WebhookError> {
    policy
        .check_url(url)
        .map_err(|refused| WebhookError::Refused(refused.to_string()))?;
    let body = serde_json::to_vec(&payload(out)).unwrap_or_default();
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(EVENT_ID_HEADER, out.notification.id.as_str())
        .header(TIMESTAMP_HEADER, (now.0 / 1000).to_string())
        .header(SIGNATURE_HEADER, sign(secret, &body))
        .body(body)
        .send()
        .await
        // The full error chain: "connection refused" is in a source.
        .map_err(|e| {
            if let Some(refused) = address::refusal(&e) {
                return WebhookError::Refused(refused);
            }
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(inner) = source {
                text.push_str(": ");
                text.push_str(&inner.to_string());
                source = inner.source();
            }
            WebhookError::Request(text)
        })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(WebhookError::Status(status.as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_published_hmac_sha256_test_vector() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn verify_accepts_the_signature_and_rejects_any_change() {
        let body = br#"{"id":"ntf_1","text":"hi"}"#;
        let signature = sign("secret-a", body);
        assert!(verify("secret-a", body, &signature));
        assert!(!verify("secret-b", body, &signature), "another secret");
        assert!(
            !verify("secret-a", br#"{"id":"ntf_1","text":"hi!"}"#, &signature),
            "another body"
        );
        assert!(
            !verify("secret-a", body, signature.trim_start_matches("sha256=")),
            "no scheme"
        );
        assert!(!verify("secret-a", body, "sha256=zz"), "not hex");
        assert!(
            !verify("secret-a", body, &signature[..signature.len() - 1]),
            "odd length"
        );
        assert!(
            verify(
                "secret-a",
                body,
                &signature.to_uppercase().replace("SHA256", "sha256")
            ),
            "upper-case hex is the same bytes"
        );
        assert!(!verify("secret-a", body, "sha256="), "empty");
    }
}

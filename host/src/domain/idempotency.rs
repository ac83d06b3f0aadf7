//! Idempotency keys: what a retried POST gets.
//!
//! Channels retry: a chat widget whose connection dropped, a mail relay
//! that timed out, a form service with its own retry queue. A request sent
//! with `Idempotency-Key` is run once per tenant and key; a repeat of it
//! gets the first answer again and creates nothing. Answers that changed
//! nothing because the server could not run them (5xx, or 429: no room
//! now) are not kept, so a retry may run the request after all.

use std::time::Duration;

use super::Invalid;

/// How long a key and its answer are kept.
pub const KEY_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest key taken: room for a UUID with a prefix, or a hash.
const MAX_KEY_LEN: usize = 255;

/// A client's `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        if value.is_empty() || value.len() > MAX_KEY_LEN {
            return Err(Invalid::new(format!(
                "must have 1 to {MAX_KEY_LEN} characters"
            )));
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Invalid::new(
                "must be visible ASCII characters, without spaces",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An answer as kept for repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub status: u16,
    /// The JSON body, as sent.
    pub body: String,
}

/// What a key holds when a request comes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key was free and is now this request's: run it.
    Taken,
    /// The same request ran before: answer what it answered.
    Replay(Recorded),
    /// The same request is running now (or its process stopped mid-way).
    Running,
    /// The key was used with another request: a client bug, never run.
    OtherRequest,
}

impl Claim {
    /// What a key already held means for a request with the same
    /// fingerprint (`same_request`) or another, given the answer recorded
    /// under it, if any.
    pub fn held(same_request: bool, recorded: Option<Recorded>) -> Self {
        match (same_request, recorded) {
            (false, _) => Claim::OtherRequest,
            (true, Some(answer)) => Claim::Replay(answer),
            (true, None) => Claim::Running,
        }
    }
}

/// Whether an answer with `status` is kept for the key's repeats. Every
/// answer is, except those that say the request was not run and may be
/// sent again: 429 (no room now) and 5xx.
pub fn keeps(status: u16) -> bool {
    status != 429 && status < 500
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_one_to_255_visible_characters() {
        assert!(IdempotencyKey::parse("retry-7f3c9a").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("two words").is_err());
        assert!(IdempotencyKey::parse("ключ").is_err());
    }

    #[test]
    fn a_held_key_replays_only_the_same_request_once_answered() {
        let answer = Recorded {
            status: 201,
            body: "{}".into(),
        };
        assert_eq!(
            Claim::held(true, Some(answer.clone())),
            Claim::Replay(answer.clone())
        );
        assert_eq!(Claim::held(true, None), Claim::Running);
        assert_eq!(Claim::held(false, Some(answer)), Claim::OtherRequest);
        assert_eq!(Claim::held(false, None), Claim::OtherRequest);
    }

    #[test]
    fn answers_that_ran_nothing_are_not_kept() {
        for kept in [200, 201, 400, 404, 409, 422] {
            assert!(keeps(kept), "{kept}");
        }
        for dropped in [429, 500, 503] {
            assert!(!keeps(dropped), "{dropped}");
        }
    }
}

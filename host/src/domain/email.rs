//! E-mail message ids (RFC 5322 `msg-id`): how replies find their thread.

use super::{Invalid, MessageId};

/// The domain of the message ids Baton makes; `.invalid` is reserved
/// (RFC 2606), so it can never collide with a real mail domain.
const OWN_DOMAIN: &str = "baton.invalid";
/// RFC 5322 lines are at most 998 characters.
const MAX_LEN: usize = 998;

/// An e-mail Message-ID such as `<CAK1234@mail.example.com>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailMessageId(String);

impl EmailMessageId {
    /// Parse `<left@right>`: angle brackets, one `@` with text on both
    /// sides, no spaces. Surrounding whitespace is ignored.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = value.trim();
        let inner = value
            .strip_prefix('<')
            .and_then(|v| v.strip_suffix('>'))
            .filter(|_| value.len() <= MAX_LEN);
        let valid = inner.is_some_and(|inner| {
            let parts = inner.split_once('@');
            parts.is_some_and(|(left, right)| {
                !left.is_empty() && !right.is_empty() && !right.contains('@')
            }) && !inner
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        });
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(Invalid::new(
                "must be a message id such as <abc123@mail.example.com>",
            ))
        }
    }

    /// The id of the e-mail Baton sends for one of its messages.
    pub fn for_message(id: &MessageId) -> Self {
        Self(format!("<{id}@{OWN_DOMAIN}>"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EmailMessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_need_brackets_and_an_at() {
        let id = EmailMessageId::parse(" <a.b@mail.example.com> ").expect("valid");
        assert_eq!(id.as_str(), "<a.b@mail.example.com>");
        for bad in [
            "", "a@b", "<ab>", "<@b>", "<a@>", "<a b@c>", "<a@b@c>", "<a<@b>",
        ] {
            assert!(EmailMessageId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn baton_ids_are_valid_and_name_the_message() {
        let message = MessageId::generate();
        let id = EmailMessageId::for_message(&message);
        assert_eq!(EmailMessageId::parse(id.as_str()), Ok(id.clone()));
        assert!(id.as_str().contains(message.as_str()));
    }
}

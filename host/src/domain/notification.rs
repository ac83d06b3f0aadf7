//! Member notifications: what happened (the type), where it goes (the
//! channels), each member's choices, and the webhook addresses they give.

use std::collections::{BTreeMap, BTreeSet};

use super::Invalid;

text_enum!(
    /// What a notification is about (LiveAgent's notification events).
    NotificationKind {
        /// A conversation or ticket was assigned to me.
        Assigned = "assigned",
        /// A customer replied to my (email, form or call) conversation.
        CustomerReplied = "customer_replied",
        /// A new conversation or ticket entered my team.
        NewInTeam = "new_in_team",
        /// A closed conversation of my team or mine was reopened.
        Reopened = "reopened",
        /// A new chat rang for me: given or offered to me, or waiting while
        /// nobody had it and I was available for chats.
        NewChat = "new_chat",
        /// A customer wrote in my chat.
        NewMessage = "new_message",
        /// A chat closed without any agent reply.
        MissedChat = "missed_chat",
        /// I was @mentioned in an internal note.
        Mention = "mention",
        /// A workflow plugin's `notify` action.
        Workflow = "workflow",
    }
);

text_enum!(
    /// Where a notification is delivered.
    NotifyChannel {
        /// The member's list and live stream in the app.
        InApp = "in_app",
        /// An e-mail to the member's address, through SMTP.
        Email = "email",
        /// A Slack-compatible incoming webhook.
        ChatWebhook = "chat_webhook",
        /// A mobile-push gateway's webhook.
        PushWebhook = "push_webhook",
    }
);

text_enum!(
    /// Where one delivery stands.
    DeliveryState {
        /// Waiting for its (next) attempt.
        Pending = "pending",
        Delivered = "delivered",
        /// Given up after the last attempt; the error is kept.
        Failed = "failed",
        /// Not sent on purpose (no SMTP configured, no webhook URL set).
        Skipped = "skipped",
    }
);

/// A member's channels per notification type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyPreferences(BTreeMap<NotificationKind, BTreeSet<NotifyChannel>>);

impl Default for NotifyPreferences {
    /// Every type in the app; being assigned and being mentioned by e-mail too.
    fn default() -> Self {
        Self(
            NotificationKind::ALL
                .iter()
                .map(|kind| {
                    let mut channels = BTreeSet::from([NotifyChannel::InApp]);
                    if matches!(kind, NotificationKind::Assigned | NotificationKind::Mention) {
                        channels.insert(NotifyChannel::Email);
                    }
                    (*kind, channels)
                })
                .collect(),
        )
    }
}

impl NotifyPreferences {
    /// The channels chosen for one type.
    pub fn channels(&self, kind: NotificationKind) -> BTreeSet<NotifyChannel> {
        self.0.get(&kind).cloned().unwrap_or_default()
    }

    /// Parse `{"assigned": ["in_app", "email"], ...}` over `base`: types not
    /// named keep their channels in `base`. Errors name the field
    /// (`types.assigned[1]`).
    pub fn parse_over(base: &Self, value: &serde_json::Value) -> Result<Self, (String, Invalid)> {
        let object = value.as_object().ok_or_else(|| {
            (
                "types".to_owned(),
                Invalid::new("must be an object of notification type to a list of channels"),
            )
        })?;
        let mut out = base.clone();
        for (key, channels) in object {
            let field = format!("types.{key}");
            let kind = NotificationKind::parse(key).map_err(|e| (field.clone(), e))?;
            let list = channels.as_array().ok_or_else(|| {
                (
                    field.clone(),
                    Invalid::new("must be a list of channels, e.g. [\"in_app\", \"email\"]"),
                )
            })?;
            let mut set = BTreeSet::new();
            for (i, channel) in list.iter().enumerate() {
                let at = format!("{field}[{i}]");
                let text = channel
                    .as_str()
                    .ok_or_else(|| (at.clone(), Invalid::new("must be a channel name")))?;
                set.insert(NotifyChannel::parse(text).map_err(|e| (at, e))?);
            }
            out.0.insert(kind, set);
        }
        Ok(out)
    }

    /// The stored and shown form: every type with its channels.
    pub fn to_json(&self) -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = NotificationKind::ALL
            .iter()
            .map(|kind| {
                let channels: Vec<&str> = self.channels(*kind).iter().map(|c| c.as_str()).collect();
                (kind.as_str().to_owned(), serde_json::json!(channels))
            })
            .collect();
        serde_json::Value::Object(map)
    }

    /// Read back the stored form over the defaults; anything unknown is dropped.
    pub fn from_stored(text: &str) -> Self {
        let mut out = Self::default();
        let raw: BTreeMap<String, Vec<String>> = serde_json::from_str(text).unwrap_or_default();
        for (key, channels) in raw {
            if let Ok(kind) = NotificationKind::parse(&key) {
                let set = channels
                    .iter()
                    .filter_map(|c| NotifyChannel::parse(c).ok())
                    .collect();
                out.0.insert(kind, set);
            }
        }
        out
    }
}

/// An `http` or `https` URL with a host, where a webhook is sent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Longest accepted URL.
    pub const MAX: usize = 2_000;

    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = value.trim();
        let invalid =
            || Invalid::new("must be an http or https URL such as https://hooks.example.com/T0/B0");
        if value.len() > Self::MAX {
            return Err(Invalid::new(format!(
                "must be at most {} characters",
                Self::MAX
            )));
        }
        let rest = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"))
            .ok_or_else(invalid)?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        // The host part, without credentials and port.
        let host = authority.rsplit('@').next().unwrap_or_default();
        let host = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => host.split(':').next().unwrap_or_default(),
        };
        let port_ok = match authority.rsplit_once(':') {
            Some((_, port)) if !authority.ends_with(']') && !port.contains(']') => {
                port.parse::<u16>().is_ok()
            }
            _ => true,
        };
        if host.is_empty() || !port_ok || value.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_in_app_everywhere_and_email_for_assigned_and_mentions() {
        let prefs = NotifyPreferences::default();
        assert_eq!(
            prefs.channels(NotificationKind::Assigned),
            BTreeSet::from([NotifyChannel::InApp, NotifyChannel::Email])
        );
        assert_eq!(
            prefs.channels(NotificationKind::NewChat),
            BTreeSet::from([NotifyChannel::InApp])
        );
    }

    #[test]
    fn preferences_parse_over_a_base_and_name_the_bad_field() {
        let base = NotifyPreferences::default();
        let prefs = NotifyPreferences::parse_over(
            &base,
            &json!({"new_chat": ["push_webhook"], "mention": []}),
        )
        .unwrap();
        assert_eq!(
            prefs.channels(NotificationKind::NewChat),
            BTreeSet::from([NotifyChannel::PushWebhook])
        );
        assert!(prefs.channels(NotificationKind::Mention).is_empty());
        assert_eq!(
            prefs.channels(NotificationKind::Assigned),
            base.channels(NotificationKind::Assigned)
        );
        let (field, _) =
            NotifyPreferences::parse_over(&base, &json!({"assigned": ["in_app", "fax"]}))
                .unwrap_err();
        assert_eq!(field, "types.assigned[1]");
        let (field, _) =
            NotifyPreferences::parse_over(&base, &json!({"birthday": []})).unwrap_err();
        assert_eq!(field, "types.birthday");
        assert_eq!(
            NotifyPreferences::from_stored(&prefs.to_json().to_string()),
            prefs
        );
    }

    #[test]
    fn webhook_urls_are_http_or_https_with_a_host() {
        for good in [
            "https://hooks.slack.com/services/T0/B0/x",
            "http://127.0.0.1:9000/hook",
            "http://[::1]:80/",
        ] {
            assert!(WebhookUrl::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "ftp://x.com",
            "https://",
            "hooks.slack.com",
            "http://x.com:99999/",
            "http://a b",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
    }
}

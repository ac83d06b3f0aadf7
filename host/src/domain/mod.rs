//! Domain types: typed ids, enums for every state, and values parsed at the
//! edge so the rest of the host never sees an unchecked string.

/// An enum stored and sent as lower-case text, parsed with a message that
/// lists the accepted values.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as stored and sent.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parse the text form, naming the accepted values on failure.
            pub fn parse(value: &str) -> Result<Self, $crate::domain::Invalid> {
                match value {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::domain::Invalid::new(format!(
                        "must be one of {}",
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                $name::parse(&text).map_err(serde::de::Error::custom)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({"type": "string", "enum": [$($text),+]})
            }
        }
    };
}

mod agent;
mod assignment;
mod bot;
mod conversation;
mod decision;
mod email;
mod event;
#[cfg(test)]
pub(crate) mod fixtures;
mod handoff;
mod hours;
pub mod idempotency;
mod ids;
mod lifecycle;
mod notification;
mod page;
mod plugin;
mod removal;
mod rule;
mod ticket;
mod time;
mod timer;

pub use agent::{
    AgentName, AgentPatch, AgentRecord, AgentWork, Capacity, Email, NewAgent, Presence, Role,
    TeamRecord, TeamUses, apply_work, assume_assigned,
};
pub use assignment::{Arrival, AssignmentMode, AssignmentSettings, RuleVerdict, arrival};
pub use bot::{BotRecord, answering_bot, first_owner};
pub use conversation::{
    Assignee, Author, Channel, ConversationRecord, ConversationStatus, HistoryRecord,
    MessageRecord, NewConversation, Priority, Routing, StatusChange,
};
pub use decision::{
    Change, EventRef, FoldedAssignment, HistoryEntry, Notice, Outcome, folded_assignment,
    others_may_follow,
};
pub use email::EmailMessageId;
pub use event::EventKind;
pub use handoff::{
    Desk, Destination, HandoffMessages, HandoffMode, HandoffNotice, HandoffResult, HandoffSettings,
    WhenUnassigned, handoff_result,
};
pub use hours::{BusinessHours, HoursJson};
pub use ids::NotificationId;
pub use ids::{
    AgentId, BotId, ConversationId, IdError, MessageId, PluginId, RuleId, TeamId, TenantId,
};
pub use ids::{CompanyId, PipelineId, StageId, TicketId};
pub use lifecycle::{
    MessageEffect, StatusEffect, TimerFiring, message_effect, status_effects, status_events,
    timer_firing,
};
pub use notification::{
    DeliveryState, NotificationKind, NotifyChannel, NotifyPreferences, WebhookUrl,
};
pub use page::{DEFAULT_LIMIT, MAX_LIMIT, Page, PageRequest, parse_limit, parse_row_cursor};
pub use plugin::{PluginKind, PluginUse, PluginUses, Slot};
pub use removal::{Removal, requeue_held};
pub use rule::{
    Condition, Conditions, Field, Match, Operator, Rule, Target, Wanted, folded_text, number_of,
};
pub use ticket::{
    BotKind, DEFAULT_PIPELINE, HelpDesk, PipelineRecord, Properties, StageMove, StageRecord,
    StatusSpec, TicketAccess, check_statuses, default_statuses, filed_ticket_name, following_stage,
    property_name, stage_move, ticket_name,
};
pub use time::{Millis, parse_duration_ms, parse_time};
pub use timer::TimerKind;

/// Why a value given to the API is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// What still uses something an admin wants gone, as words: each kind
/// counted and named ("1 member", "2 rules"), the kinds with none left
/// out. Empty when nothing uses it.
pub(crate) fn uses_in_words(uses: &[(u64, &str)]) -> Vec<String> {
    uses.iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}{}", if *n == 1 { "" } else { "s" }))
        .collect()
}

/// A non-empty, trimmed line of text of bounded length (names, subjects).
pub fn parse_line(value: &str, max: usize) -> Result<String, Invalid> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Invalid::new("must not be empty"));
    }
    if trimmed.chars().count() > max {
        return Err(Invalid::new(format!("must be at most {max} characters")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Invalid::new("must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

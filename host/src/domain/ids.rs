//! Typed ids. Each is a prefix plus a UUIDv7 in hex, so ids sort by creation
//! time and an id of one kind can never be passed where another is expected.

use std::fmt;

/// Why a string is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected an id of the form {prefix}_ followed by 32 hex digits")]
pub struct IdError {
    prefix: &'static str,
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A fresh id, later than every id made before it in this process.
            pub fn generate() -> Self {
                Self(format!("{}_{}", $prefix, uuid::Uuid::now_v7().simple()))
            }

            /// Parse an id, rejecting anything of another kind.
            pub fn parse(value: &str) -> Result<Self, IdError> {
                let hex = value
                    .strip_prefix(concat!($prefix, "_"))
                    .filter(|rest| rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit()));
                match hex {
                    Some(_) => Ok(Self(value.to_ascii_lowercase())),
                    None => Err(IdError { prefix: $prefix }),
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "pattern": concat!("^", $prefix, "_[0-9a-fA-F]{32}$"),
                })
            }
        }
    };
}

typed_id!(
    /// A tenant: one help desk, isolated from every other.
    TenantId, "ten"
);
typed_id!(
    /// A team (department) of agents.
    TeamId, "team"
);
typed_id!(
    /// A human agent.
    AgentId, "agt"
);
typed_id!(
    /// A bot that owns conversations on its channels until it hands over.
    BotId, "bot"
);
typed_id!(
    /// A customer conversation or ticket.
    ConversationId, "cnv"
);
typed_id!(
    /// One message of a conversation.
    MessageId, "msg"
);
typed_id!(
    /// One assignment rule.
    RuleId, "rule"
);
typed_id!(
    /// One uploaded plugin version.
    PluginId, "plg"
);
typed_id!(
    /// A help-desk ticket: a conversation with ticket properties.
    TicketId, "tkt"
);
typed_id!(
    /// A ticket pipeline: an ordered list of statuses.
    PipelineId, "pipe"
);
typed_id!(
    /// One status (stage) of a ticket pipeline.
    StageId, "stage"
);
typed_id!(
    /// A company tickets can be associated with.
    CompanyId, "cmp"
);
typed_id!(
    /// One notification to one member: the id every channel carries, so a
    /// receiver de-duplicates repeated deliveries by it.
    NotificationId, "ntf"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_other_kinds() {
        let id = AgentId::generate();
        assert_eq!(AgentId::parse(id.as_str()), Ok(id.clone()));
        assert!(TeamId::parse(id.as_str()).is_err());
        assert!(AgentId::parse("agt_xyz").is_err());
        assert!(AgentId::parse("").is_err());
    }

    #[test]
    fn ids_sort_by_creation() {
        let first = ConversationId::generate();
        let second = ConversationId::generate();
        assert!(first < second);
    }
}

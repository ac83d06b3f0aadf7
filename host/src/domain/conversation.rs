//! Conversation states and the parties in one.

use super::{AgentId, BotId, ConversationId, MessageId, Millis, TeamId, TenantId};

text_enum!(
    /// The channel a conversation arrived on.
    Channel {
        Chat = "chat",
        Email = "email",
        Call = "call",
        Form = "form",
    }
);

text_enum!(
    /// The life-cycle state the customer and agents see.
    ConversationStatus {
        Open = "open",
        Snoozed = "snoozed",
        Closed = "closed",
    }
);

impl ConversationStatus {
    /// Whether an assigned conversation in this status takes up room in
    /// its agent's capacity: only an open one. Snoozing or closing it frees
    /// the room, so the queue gets another try.
    pub fn holds_capacity(self) -> bool {
        self == ConversationStatus::Open
    }
}

text_enum!(
    /// Where a conversation stands in routing, beside its status.
    Routing {
        /// A bot owns it until a handoff trigger fires.
        Bot = "bot",
        /// Waiting for an agent with capacity.
        Queued = "queued",
        /// Offered to several agents; the first to accept owns it.
        Offered = "offered",
        /// A human agent owns it.
        Assigned = "assigned",
        /// Deliberately left without an owner.
        Unassigned = "unassigned",
        /// Turned away because the queue was full.
        Rejected = "rejected",
        /// Waiting in its team (or the inbox) for a person: a member takes
        /// it (`/v1/queue/{id}/answer`, joining as assignee) or someone
        /// assigns it. Neither the strategy nor a queue drain gives it out:
        /// a transfer to a team, or a new conversation in manual mode.
        Unclaimed = "unclaimed",
    }
);

text_enum!(
    /// How urgent a conversation is; the queue serves higher first.
    Priority {
        Low = "low",
        Normal = "normal",
        High = "high",
        Urgent = "urgent",
    }
);

impl Priority {
    /// The stored rank: higher is served first.
    pub fn rank(self) -> i64 {
        match self {
            Priority::Low => 0,
            Priority::Normal => 1,
            Priority::High => 2,
            Priority::Urgent => 3,
        }
    }

    pub fn from_rank(rank: i64) -> Self {
        match rank {
            i64::MIN..=0 => Priority::Low,
            1 => Priority::Normal,
            2 => Priority::High,
            _ => Priority::Urgent,
        }
    }
}

text_enum!(
    /// Who wrote a message.
    Author {
        Customer = "customer",
        Agent = "agent",
        Bot = "bot",
    }
);

/// Who owns a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    Agent(AgentId),
    Bot(BotId),
}

impl Assignee {
    /// "agent" or "bot", as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Assignee::Agent(_) => "agent",
            Assignee::Bot(_) => "bot",
        }
    }

    /// The owner's id as text.
    pub fn id(&self) -> &str {
        match self {
            Assignee::Agent(id) => id.as_str(),
            Assignee::Bot(id) => id.as_str(),
        }
    }

    /// Rebuild from the stored kind and id; `None` for anything unknown.
    pub fn from_parts(kind: Option<&str>, id: Option<&str>) -> Option<Self> {
        match (kind?, id?) {
            ("agent", id) => AgentId::parse(id).ok().map(Assignee::Agent),
            ("bot", id) => BotId::parse(id).ok().map(Assignee::Bot),
            _ => None,
        }
    }
}

impl schemars::JsonSchema for Assignee {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Assignee".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "object",
            "properties": {
                "kind": {"type": "string", "enum": ["agent", "bot"]},
                "id": {"type": "string"},
            },
            "required": ["kind", "id"],
        })
    }
}

impl serde::Serialize for Assignee {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("Assignee", 2)?;
        out.serialize_field("kind", self.kind())?;
        out.serialize_field("id", self.id())?;
        out.end()
    }
}

/// A change of status as asked for: snoozing carries when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    Open,
    /// Snoozed until a time (back to open then), or until the customer
    /// writes when `None`.
    Snooze(Option<super::Millis>),
    Close,
}

impl StatusChange {
    /// The status the conversation ends up in.
    pub fn status(self) -> ConversationStatus {
        match self {
            StatusChange::Open => ConversationStatus::Open,
            StatusChange::Snooze(_) => ConversationStatus::Snoozed,
            StatusChange::Close => ConversationStatus::Closed,
        }
    }
}

/// A new conversation, already validated.
#[derive(Debug, Clone)]
pub struct NewConversation {
    pub channel: Channel,
    pub subject: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    /// The agent who owns the contact (CRM-style), if any.
    pub contact_owner: Option<AgentId>,
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub message: Option<String>,
    pub priority: Priority,
}

/// A conversation as stored.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ConversationRecord {
    pub id: ConversationId,
    #[serde(skip)]
    pub tenant_id: TenantId,
    pub channel: Channel,
    pub subject: Option<String>,
    #[serde(skip)]
    pub contact_name: Option<String>,
    #[serde(skip)]
    pub contact_email: Option<String>,
    #[serde(skip)]
    pub contact_owner: Option<AgentId>,
    pub attributes: serde_json::Value,
    pub status: ConversationStatus,
    pub routing: Routing,
    pub priority: Priority,
    pub assignee: Option<Assignee>,
    pub team: Option<TeamId>,
    pub queued_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl ConversationRecord {
    /// How notices name the conversation: its subject, or its id when it
    /// has none. A subject is set when the conversation is created and
    /// never changes.
    pub fn subject_line(&self) -> String {
        self.subject.clone().unwrap_or_else(|| self.id.to_string())
    }
}

/// A message as stored.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct MessageRecord {
    pub id: MessageId,
    pub author: Author,
    pub body: String,
    pub internal: bool,
    pub created_at: Millis,
}

/// One entry of a conversation's responsibility history.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct HistoryRecord {
    pub at: Millis,
    pub action: String,
    pub assignee: Option<Assignee>,
    pub team: Option<TeamId>,
    pub decided_by: String,
    /// The assignment rule that matched, if one did.
    pub rule: Option<String>,
    pub plugin: Option<String>,
    pub plugin_version: Option<String>,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_open_conversations_hold_capacity() {
        let holding: Vec<ConversationStatus> = ConversationStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.holds_capacity())
            .collect();
        assert_eq!(holding, vec![ConversationStatus::Open]);
    }
}

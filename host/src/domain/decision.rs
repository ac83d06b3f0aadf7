//! The language routing decides in: the changes one event produces, the
//! history entry that explains each change of owner, and the notices sent
//! to members. Routing, handoff, workflows and the API build an
//! [`Outcome`]; the store applies it in one transaction.

use super::{
    AgentId, ConversationId, ConversationStatus, EventKind, MessageId, Millis, NotificationKind,
    TeamId, TenantId,
};

/// Who decided a change of owner, and why.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// "plugin", "fallback", "handoff", "workflow", "manual", ...
    pub decided_by: String,
    /// The assignment rule that matched, if one did.
    pub rule: Option<String>,
    pub plugin_name: Option<String>,
    pub plugin_version: Option<String>,
    pub reason: String,
}

/// One change to apply.
#[derive(Debug, Clone)]
pub enum Change {
    /// Give the conversation to an agent.
    Assign {
        conversation: ConversationId,
        agent: AgentId,
        team: Option<TeamId>,
        history: HistoryEntry,
    },
    /// Let it wait in the queue (of a team, if given).
    Queue {
        conversation: ConversationId,
        team: Option<TeamId>,
        history: HistoryEntry,
    },
    /// Leave it without an owner, waiting in its team (or the inbox) for
    /// a person to take it or assign it; queue drains leave it alone.
    Unclaim {
        conversation: ConversationId,
        team: Option<TeamId>,
        history: HistoryEntry,
    },
    /// Offer it to several agents at once.
    Offer {
        conversation: ConversationId,
        agents: Vec<AgentId>,
        history: HistoryEntry,
    },
    /// Turn it away (the queue is full): tell the customer and close it.
    Reject {
        conversation: ConversationId,
        message: String,
        history: HistoryEntry,
    },
    /// A history entry with no other change (e.g. an agent declined).
    History {
        conversation: ConversationId,
        action: String,
        agent: Option<AgentId>,
        history: HistoryEntry,
    },
    /// Leave it without an owner on purpose.
    Unassign {
        conversation: ConversationId,
        history: HistoryEntry,
    },
    SetStatus {
        conversation: ConversationId,
        status: ConversationStatus,
    },
    AddTag {
        conversation: ConversationId,
        tag: String,
    },
    AddNote {
        conversation: ConversationId,
        body: String,
    },
    /// A message to the customer, written by the system (as the bot). It
    /// starts no routing of its own.
    Say {
        conversation: ConversationId,
        body: String,
    },
    /// Notify members: a notification each, with a delivery per channel
    /// they chose for its type (see `store::notifications`).
    Notify(Notice),
    /// File the conversation as a ticket (nothing if it already is one)
    /// in the pipeline named by id or name, the default one when `None` or
    /// unknown, and write `ticket.created`.
    CreateTicket {
        conversation: ConversationId,
        subject: String,
        pipeline: Option<String>,
    },
    /// A plugin's key-value writes (`None` deletes).
    Kv {
        plugin: String,
        writes: Vec<(String, Option<Vec<u8>>)>,
    },
    Failure {
        conversation: Option<ConversationId>,
        plugin_name: String,
        plugin_version: String,
        failure: String,
        message: String,
        fallback: String,
    },
    /// A follow-up event for workflows.
    Event {
        kind: EventKind,
        conversation: Option<ConversationId>,
        agent: Option<AgentId>,
    },
    /// Keep an agent from being offered the conversation again (they
    /// declined it, or a workflow took it from them).
    Exclude {
        conversation: ConversationId,
        agent: AgentId,
    },
    /// Move the conversation's ticket to another status of its pipeline.
    SetStage {
        conversation: ConversationId,
        stage: String,
    },
    /// Add a follower.
    Follow {
        conversation: ConversationId,
        agent: AgentId,
    },
    RemoveTag {
        conversation: ConversationId,
        tag: String,
    },
    /// Start (or restart) a workflow's named timer.
    StartTimer {
        conversation: ConversationId,
        plugin: String,
        name: String,
        due: Millis,
    },
    CancelTimer {
        conversation: ConversationId,
        plugin: String,
        name: String,
    },
    /// The record of what one workflow did with the event.
    WorkflowRun {
        conversation: Option<ConversationId>,
        event_kind: EventKind,
        plugin_name: String,
        plugin_version: String,
        /// One line per action, in order.
        actions: Vec<String>,
        error: Option<String>,
    },
}

/// Everything one event produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub tenant: TenantId,
    pub event: Option<i64>,
    pub summary: String,
    pub changes: Vec<Change>,
}

/// What to record: one event's notice for its recipients.
#[derive(Debug, Clone)]
pub struct Notice {
    pub kind: NotificationKind,
    pub conversation: Option<ConversationId>,
    /// `{"agent": id}`, `{"team": id}`, `"assignee"` (or `"contact"`, which
    /// is no member and records nothing).
    pub recipient: serde_json::Value,
    pub message: String,
    /// The customer message the notice is about, if any.
    pub about: Option<MessageId>,
    /// Recorded at most once per member and key.
    pub once: Option<String>,
}

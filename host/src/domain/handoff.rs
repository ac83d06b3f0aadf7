//! A tenant's handoff process (HubSpot's "human handoff" settings): how and
//! where a bot's conversation goes when a trigger fires, and what the
//! customer is told.

use serde::{Deserialize, Serialize};

use super::{AgentId, TeamId};

text_enum!(
    /// How a handoff happens.
    HandoffMode {
        /// Assign to the next available human now.
        RealTime = "real-time",
        /// Assign to a human for later follow-up.
        Asynchronous = "asynchronous",
        /// Nobody takes over: the bot keeps answering.
        None = "none",
    }
);

text_enum!(
    /// Where handed-over conversations go.
    Desk {
        /// The conversations inbox.
        Inbox = "inbox",
        /// The help desk: the conversation becomes a ticket.
        HelpDesk = "help-desk",
        /// A ticket is created and routed by the assignment rules' conditions.
        TicketWorkflow = "ticket-workflow",
    }
);

text_enum!(
    /// What happens to a real-time handoff that nobody took.
    WhenUnassigned {
        /// The chat stays open in the unassigned view.
        KeepOpen = "keep-open",
        /// The chat is closed.
        Close = "close",
    }
);

/// Where a handoff goes: a desk, and for the inbox and help desk optionally
/// one team or one agent for every handoff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub desk: Desk,
    pub team: Option<TeamId>,
    pub agent: Option<AgentId>,
    /// The pipeline of the ticket (help desk and ticket workflow); the
    /// tenant's default when absent.
    pub pipeline: Option<String>,
}

/// What the customer is told; `None` says nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffMessages {
    /// A human is taking over (the team is in business hours and someone is free).
    pub available: Option<String>,
    /// Outside the team's business hours, or nobody is online.
    pub unavailable: Option<String>,
    /// A real-time handoff ended without an assignee.
    pub unassigned: Option<String>,
}

impl Default for HandoffMessages {
    fn default() -> Self {
        Self {
            available: Some("Connecting you with a member of our team now.".into()),
            unavailable: Some(
                "Our team is away right now. We have your message and will reply as soon as we are back."
                    .into(),
            ),
            unassigned: Some(
                "We have your request and will follow up as soon as someone from our team is free."
                    .into(),
            ),
        }
    }
}

/// The whole handoff process of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffSettings {
    pub mode: HandoffMode,
    pub destination: Destination,
    pub messages: HandoffMessages,
    pub when_unassigned: WhenUnassigned,
}

impl Default for HandoffSettings {
    /// A standard setup: real time, to whoever the strategy picks in the inbox.
    fn default() -> Self {
        Self {
            mode: HandoffMode::RealTime,
            destination: Destination {
                desk: Desk::Inbox,
                team: None,
                agent: None,
                pipeline: None,
            },
            messages: HandoffMessages::default(),
            when_unassigned: WhenUnassigned::KeepOpen,
        }
    }
}

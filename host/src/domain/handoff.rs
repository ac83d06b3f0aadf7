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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Destination {
    pub desk: Desk,
    pub team: Option<TeamId>,
    pub agent: Option<AgentId>,
    /// The pipeline of the ticket (help desk and ticket workflow); the
    /// tenant's default when absent.
    pub pipeline: Option<String>,
}

/// What the customer is told; `None` says nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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

/// Which of the [`HandoffMessages`] the customer is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffNotice {
    Available,
    Unavailable,
    Unassigned,
}

impl HandoffMessages {
    /// The text for `notice`; `None` says nothing.
    pub fn text(&self, notice: HandoffNotice) -> Option<&String> {
        match notice {
            HandoffNotice::Available => self.available.as_ref(),
            HandoffNotice::Unavailable => self.unavailable.as_ref(),
            HandoffNotice::Unassigned => self.unassigned.as_ref(),
        }
    }
}

/// How a handoff went, for the customer and for `when_unassigned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandoffResult {
    pub notice: HandoffNotice,
    /// A real-time handoff nobody took: `when_unassigned` applies.
    pub ended_unassigned: bool,
}

/// What a handoff tells the customer. `in_hours` and `free`: the
/// destination is inside its business hours, and someone in it had room;
/// `taken`: a real-time handoff was assigned or offered. Outside business
/// hours or with nobody free the team is unavailable, whatever the mode; the
/// unassigned message is for a real-time handoff someone could have taken
/// but routing left waiting (the strategy queued it, or failed).
pub fn handoff_result(
    asynchronous: bool,
    in_hours: bool,
    free: bool,
    taken: bool,
) -> HandoffResult {
    let notice = if asynchronous {
        if in_hours && free {
            HandoffNotice::Available
        } else {
            HandoffNotice::Unavailable
        }
    } else if taken {
        HandoffNotice::Available
    } else if !in_hours || !free {
        HandoffNotice::Unavailable
    } else {
        HandoffNotice::Unassigned
    };
    HandoffResult {
        notice,
        ended_unassigned: !asynchronous && !taken,
    }
}

/// The whole handoff process of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn result(notice: HandoffNotice, ended_unassigned: bool) -> HandoffResult {
        HandoffResult {
            notice,
            ended_unassigned,
        }
    }

    #[test]
    fn a_real_time_handoff_with_nobody_free_gets_the_unavailable_message() {
        // (in hours, someone free, taken)
        assert_eq!(
            handoff_result(false, true, true, true),
            result(HandoffNotice::Available, false)
        );
        assert_eq!(
            handoff_result(false, true, false, false),
            result(HandoffNotice::Unavailable, true)
        );
        assert_eq!(
            handoff_result(false, false, true, false),
            result(HandoffNotice::Unavailable, true)
        );
        assert_eq!(
            handoff_result(false, true, true, false),
            result(HandoffNotice::Unassigned, true)
        );
    }

    #[test]
    fn an_asynchronous_handoff_never_ends_unassigned() {
        assert_eq!(
            handoff_result(true, true, true, false),
            result(HandoffNotice::Available, false)
        );
        for (in_hours, free) in [(true, false), (false, true), (false, false)] {
            assert_eq!(
                handoff_result(true, in_hours, free, false),
                result(HandoffNotice::Unavailable, false)
            );
        }
    }

    #[test]
    fn each_notice_reads_its_own_message() {
        let messages = HandoffMessages {
            available: Some("a".into()),
            unavailable: None,
            unassigned: Some("u".into()),
        };
        assert_eq!(
            messages.text(HandoffNotice::Available).map(String::as_str),
            Some("a")
        );
        assert_eq!(messages.text(HandoffNotice::Unavailable), None);
        assert_eq!(
            messages.text(HandoffNotice::Unassigned).map(String::as_str),
            Some("u")
        );
    }
}

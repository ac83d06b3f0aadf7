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
    /// A follow-up event already handled in this outcome (see
    /// [`folded_assignment`]): written for the record, as handled with
    /// `summary`, so no dispatcher cycle takes it up again.
    HandledEvent {
        kind: EventKind,
        conversation: ConversationId,
        agent: AgentId,
        summary: String,
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
    /// The event handled, if the outcome handles one.
    pub event: Option<EventRef>,
    pub summary: String,
    pub changes: Vec<Change>,
}

/// An event an outcome handles: its id, and its depth in the chain of
/// events that caused it (the events the outcome causes are one deeper),
/// both known to whoever read the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef {
    pub id: i64,
    pub depth: u32,
}

/// What to record: one event's notice for its recipients.
#[derive(Debug, Clone)]
pub struct Notice {
    pub kind: NotificationKind,
    pub conversation: Option<ConversationId>,
    /// The conversation's [`subject_line`](super::ConversationRecord::subject_line)
    /// when whoever made the notice had the conversation at hand (a subject
    /// never changes); `None` has it read when the notice is recorded.
    pub subject_line: Option<String>,
    /// `{"agent": id}`, `{"team": id}`, `"assignee"` (or `"contact"`, which
    /// is no member and records nothing).
    pub recipient: serde_json::Value,
    pub message: String,
    /// The customer message the notice is about, if any.
    pub about: Option<MessageId>,
    /// Recorded at most once per member and key.
    pub once: Option<String>,
}

impl Change {
    /// The conversation whose owner this change sets, if it sets one.
    fn owner_of(&self) -> Option<&ConversationId> {
        match self {
            Change::Assign { conversation, .. }
            | Change::Queue { conversation, .. }
            | Change::Unclaim { conversation, .. }
            | Change::Offer { conversation, .. }
            | Change::Reject { conversation, .. }
            | Change::Unassign { conversation, .. } => Some(conversation),
            _ => None,
        }
    }
}

/// A `conversation.assigned` follow-up that can be handled in the outcome
/// that causes it, and what it would see there.
#[derive(Debug, PartialEq, Eq)]
pub struct FoldedAssignment<'a> {
    /// Where the follow-up is among the changes.
    pub event: usize,
    pub agent: &'a AgentId,
    /// The team the assignment gives the conversation, if it names one.
    pub team: Option<&'a TeamId>,
    /// Whether the agent took it themselves (then nobody is told).
    pub by_agent: bool,
}

/// The `conversation.assigned` follow-up of `conversation` that `changes`
/// can carry handled, instead of leaving it to a dispatcher cycle of its
/// own: when the changes set the conversation's owner exactly once, by an
/// assignment to the agent the one follow-up names, the follow-up sees the
/// conversation as that assignment leaves it, known without reading it
/// back. Anything more involved (an offer, a second change of owner, a
/// workflow moving it on) leaves the follow-up to its own cycle, which
/// reads the conversation as all of the changes left it.
pub fn folded_assignment<'a>(
    conversation: &ConversationId,
    changes: &'a [Change],
) -> Option<FoldedAssignment<'a>> {
    let mut owners = changes
        .iter()
        .filter(|change| change.owner_of() == Some(conversation));
    let (
        Some(Change::Assign {
            agent,
            team,
            history,
            ..
        }),
        None,
    ) = (owners.next(), owners.next())
    else {
        return None;
    };
    let assign_at = changes
        .iter()
        .position(|change| change.owner_of() == Some(conversation))?;
    let mut follow_ups = changes.iter().enumerate().filter(|(_, change)| {
        matches!(change, Change::Event {
            kind: EventKind::ConversationAssigned,
            conversation: Some(c),
            ..
        } if c == conversation)
    });
    let (Some((event, Change::Event { agent: named, .. })), None) =
        (follow_ups.next(), follow_ups.next())
    else {
        return None;
    };
    (event > assign_at && named.as_ref() == Some(agent)).then_some(FoldedAssignment {
        event,
        agent,
        team: team.as_ref(),
        by_agent: history.decided_by == "agent",
    })
}

/// Whether decisions for other conversations may be made after `changes`
/// (the outcome of routing `conversation`) before they are committed,
/// knowing what they change from memory. That holds when the changes set
/// nothing another decision reads except an agent's work (an assignment of
/// `conversation`, counted with [`assume_assigned`](super::assume_assigned))
/// and plugins' stored data (kept beside). Anything else (a queued
/// conversation counts against the queue's length, an offer, a status that
/// frees an agent, a change to another conversation) ends the group: the
/// next decision waits for the commit and reads what it left.
pub fn others_may_follow(conversation: &ConversationId, changes: &[Change]) -> bool {
    changes.iter().all(|change| match change {
        Change::Assign {
            conversation: c, ..
        }
        | Change::History {
            conversation: c, ..
        } => c == conversation,
        // Records no decision reads: notices, follow-up events, failures,
        // workflows' runs; and stored data, which the group keeps.
        Change::Notify(_)
        | Change::Event { .. }
        | Change::HandledEvent { .. }
        | Change::Failure { .. }
        | Change::WorkflowRun { .. }
        | Change::Kv { .. } => true,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation(n: u8) -> ConversationId {
        ConversationId::parse(&format!("cnv_{n:032x}")).expect("id")
    }

    fn agent(n: u8) -> AgentId {
        AgentId::parse(&format!("agt_{n:032x}")).expect("id")
    }

    fn entry(by: &str) -> HistoryEntry {
        HistoryEntry {
            decided_by: by.into(),
            rule: None,
            plugin_name: None,
            plugin_version: None,
            reason: "test".into(),
        }
    }

    fn assign(c: u8, a: u8, by: &str) -> Change {
        Change::Assign {
            conversation: conversation(c),
            agent: agent(a),
            team: None,
            history: entry(by),
        }
    }

    fn assigned(c: u8, a: u8) -> Change {
        Change::Event {
            kind: EventKind::ConversationAssigned,
            conversation: Some(conversation(c)),
            agent: Some(agent(a)),
        }
    }

    fn tag(c: u8) -> Change {
        Change::AddTag {
            conversation: conversation(c),
            tag: "vip".into(),
        }
    }

    #[test]
    fn a_single_assignment_carries_its_follow_up() {
        let changes = [tag(1), assign(1, 7, "plugin"), assigned(1, 7), tag(1)];
        let folded = folded_assignment(&conversation(1), &changes).expect("folded");
        assert_eq!(folded.event, 2);
        assert_eq!(folded.agent, &agent(7));
        assert_eq!(folded.team, None);
        assert!(!folded.by_agent);
        let taken = [assign(1, 7, "agent"), assigned(1, 7)];
        assert!(
            folded_assignment(&conversation(1), &taken)
                .expect("folded")
                .by_agent
        );
    }

    #[test]
    fn anything_more_involved_is_left_to_its_own_cycle() {
        let unassign = Change::Unassign {
            conversation: conversation(1),
            history: entry("manual"),
        };
        let cases: [(&str, Vec<Change>); 6] = [
            ("no assignment", vec![assigned(1, 7)]),
            ("no follow-up", vec![assign(1, 7, "plugin")]),
            (
                "a second change of owner",
                vec![assign(1, 7, "plugin"), assigned(1, 7), unassign],
            ),
            (
                "two follow-ups",
                vec![assign(1, 7, "plugin"), assigned(1, 7), assigned(1, 7)],
            ),
            (
                "the follow-up names someone else",
                vec![assign(1, 7, "plugin"), assigned(1, 8)],
            ),
            (
                "the follow-up before the assignment",
                vec![assigned(1, 7), assign(1, 7, "plugin")],
            ),
        ];
        for (case, changes) in cases {
            assert_eq!(
                folded_assignment(&conversation(1), &changes),
                None,
                "{case}"
            );
        }
        // Another conversation's assignment is not this one's.
        let other = [assign(2, 7, "plugin"), assigned(2, 7)];
        assert_eq!(folded_assignment(&conversation(1), &other), None);
    }

    #[test]
    fn others_follow_an_assignment_of_this_conversation_and_its_records_only() {
        let kv = Change::Kv {
            plugin: "round-robin".into(),
            writes: vec![("last".into(), Some(b"agt".to_vec()))],
        };
        let handled = Change::HandledEvent {
            kind: EventKind::ConversationAssigned,
            conversation: conversation(1),
            agent: agent(7),
            summary: "folded".into(),
        };
        assert!(others_may_follow(
            &conversation(1),
            &[assign(1, 7, "plugin"), kv, handled, assigned(1, 7)]
        ));
        assert!(others_may_follow(&conversation(1), &[]));
        let queued = Change::Queue {
            conversation: conversation(1),
            team: None,
            history: entry("plugin"),
        };
        let closed = Change::SetStatus {
            conversation: conversation(1),
            status: ConversationStatus::Closed,
        };
        let offered = Change::Offer {
            conversation: conversation(1),
            agents: vec![agent(7)],
            history: entry("plugin"),
        };
        for (case, change) in [
            ("another conversation assigned", assign(2, 7, "workflow")),
            ("queued", queued),
            ("closed", closed),
            ("offered", offered),
            ("tagged", tag(1)),
        ] {
            assert!(
                !others_may_follow(&conversation(1), &[assign(1, 7, "plugin"), change]),
                "{case}"
            );
        }
    }
}

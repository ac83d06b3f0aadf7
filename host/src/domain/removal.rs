//! What removing an agent does to the work they hold.
//!
//! An admin removes someone who left the team; nothing they did is lost
//! (their closed conversations, messages and history keep naming them),
//! but nothing may keep waiting on them either. Each conversation they
//! hold goes back to routing in its own team, keeping its place in the
//! queue, and says it changed hands so that the queue drains at once.

use serde::Serialize;

use super::{
    AgentId, AgentRecord, Assignee, Change, ConversationId, ConversationRecord, ConversationStatus,
    EventKind, HistoryEntry, Millis,
};

/// The changes removing `agent` makes to `held`: the conversations not
/// closed that are assigned to them or offered to them alone (an offer
/// shared with others stays with the others). Closed work is left as it
/// is: its owner is history.
pub fn requeue_held(agent: &AgentRecord, held: &[ConversationRecord]) -> Vec<Change> {
    let mine = Some(Assignee::Agent(agent.id.clone()));
    let mut changes = Vec::new();
    for c in held {
        if c.status == ConversationStatus::Closed {
            continue;
        }
        let reason = if c.assignee == mine {
            format!("requeued: {} ({}) was removed", agent.name, agent.id)
        } else {
            format!("offer withdrawn: {} ({}) was removed", agent.name, agent.id)
        };
        changes.push(Change::Queue {
            conversation: c.id.clone(),
            // `None` keeps the team it waits in.
            team: None,
            history: HistoryEntry {
                decided_by: "admin".into(),
                rule: None,
                plugin_name: None,
                plugin_version: None,
                reason,
            },
        });
        // Lets the team's free members take it now, as a transfer does.
        changes.push(Change::Event {
            kind: EventKind::ConversationTransferred,
            conversation: Some(c.id.clone()),
            agent: None,
        });
    }
    changes
}

/// What a removal did, as the admin is told.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct Removal {
    pub agent: AgentId,
    pub removed_at: Millis,
    /// The conversations that went back to routing.
    pub requeued: Vec<ConversationId>,
    /// Transfers to them that were still waiting for an answer.
    pub transfers_cancelled: u64,
    /// Their sign-in tokens, all revoked.
    pub tokens_revoked: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Presence, Routing, TeamId, fixtures};

    fn agent() -> AgentRecord {
        fixtures::agent(Presence::Available, serde_json::json!({"chat": 3}))
    }

    fn conversation(
        status: ConversationStatus,
        routing: Routing,
        assignee: Option<Assignee>,
    ) -> ConversationRecord {
        ConversationRecord {
            status,
            routing,
            assignee,
            team: Some(TeamId::generate()),
            ..fixtures::chat()
        }
    }

    #[test]
    fn held_work_goes_back_to_routing_in_its_team_and_closed_work_stays() {
        let ana = agent();
        let mine = Some(Assignee::Agent(ana.id.clone()));
        let open = conversation(ConversationStatus::Open, Routing::Assigned, mine.clone());
        let snoozed = conversation(ConversationStatus::Snoozed, Routing::Assigned, mine.clone());
        let offered = conversation(ConversationStatus::Open, Routing::Offered, None);
        let closed = conversation(ConversationStatus::Closed, Routing::Assigned, mine);
        let changes = requeue_held(
            &ana,
            &[open.clone(), snoozed.clone(), offered.clone(), closed],
        );

        let queued: Vec<(&ConversationId, &Option<TeamId>, &str)> = changes
            .iter()
            .filter_map(|change| match change {
                Change::Queue {
                    conversation,
                    team,
                    history,
                } => Some((conversation, team, history.reason.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(queued.len(), 3, "{changes:?}");
        assert_eq!(queued[0].0, &open.id);
        assert_eq!(queued[1].0, &snoozed.id);
        assert_eq!(queued[2].0, &offered.id);
        assert!(queued.iter().all(|(_, team, _)| team.is_none()));
        assert!(queued[0].2.starts_with("requeued: Ana"), "{}", queued[0].2);
        assert!(
            queued[2].2.starts_with("offer withdrawn: Ana"),
            "{}",
            queued[2].2
        );

        let events = changes
            .iter()
            .filter(|change| {
                matches!(
                    change,
                    Change::Event {
                        kind: EventKind::ConversationTransferred,
                        conversation: Some(_),
                        agent: None,
                    }
                )
            })
            .count();
        assert_eq!(events, 3);
    }

    #[test]
    fn nothing_held_changes_nothing() {
        assert!(requeue_held(&agent(), &[]).is_empty());
    }
}

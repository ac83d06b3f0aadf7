//! Which events notify whom. The dispatcher calls [`notices`] for every
//! event, after routing, and applies the changes it returns in the same
//! transaction as the event's outcome: a notification exists if and only if
//! its event was handled.
//!
//! | type | event | who |
//! | --- | --- | --- |
//! | `assigned` | `conversation.assigned` | the new assignee, unless they took it themselves |
//! | `customer_replied` | `message.received` from the customer, not a chat | the assignee |
//! | `new_message` | `message.received` from the customer in a chat | the assignee |
//! | `new_in_team` | the conversation has a team it had not been announced in (created, queued, assigned, transferred) | the team's members |
//! | `reopened` | `conversation.reopened` | the assignee and the team's members |
//! | `new_chat` | a chat created for humans, or handed over by its bot | the agent it was assigned or offered to; while nobody has it, the members available for chats (in its team, if it has one) |
//! | `missed_chat` | a chat closed with no agent reply (not one a bot kept) | the assignee, else the team, else every member working chats |

use std::collections::BTreeSet;

use crate::domain::{
    AgentId, Assignee, Author, Change, Channel, ConversationRecord, ConversationStatus, EventKind,
    FoldedAssignment, MessageRecord, Notice, NotificationKind, Presence, Routing, TeamId,
};
use crate::store::{EventRecord, Store, StoreError};

/// Longest excerpt of a customer message in a notification.
const EXCERPT: usize = 200;

/// The notifications one event causes. `routed` is what routing decided
/// for this event, not yet applied (`conversation` is as it was before).
pub async fn notices(
    store: &Store,
    event: &EventRecord,
    conversation: Option<&ConversationRecord>,
    message: Option<&MessageRecord>,
    routed: &[Change],
) -> Result<Vec<Change>, StoreError> {
    let Some(c) = conversation else {
        return Ok(Vec::new());
    };
    let mut out = Notices {
        conversation: c,
        changes: Vec::new(),
    };
    match event.kind {
        EventKind::ConversationAssigned => {
            if let Some(agent) = event.agent.clone().or_else(|| assignee(c)) {
                let took_it = store.self_assigned_by(&c.id).await?.as_ref() == Some(&agent);
                out.assigned(agent, took_it);
            }
        }
        EventKind::MessageReceived => {
            if let (Some(m), Some(agent)) = (message, assignee(c))
                && m.author == Author::Customer
                && !m.internal
            {
                let kind = if c.channel == Channel::Chat {
                    NotificationKind::NewMessage
                } else {
                    NotificationKind::CustomerReplied
                };
                out.push(
                    kind,
                    [agent],
                    format!("{} wrote: {}", contact(c), excerpt(&m.body)),
                    Some(m),
                    None,
                );
            }
        }
        EventKind::ConversationReopened => {
            let mut who: BTreeSet<AgentId> = assignee(c).into_iter().collect();
            if let Some(team) = &c.team {
                who.extend(store.team_members(&c.tenant_id, team).await?);
            }
            out.push(
                NotificationKind::Reopened,
                who,
                format!("{} was reopened.", describe(c)),
                None,
                None,
            );
        }
        // The handoff was applied before its event: the conversation shows
        // where it went.
        EventKind::ConversationHandedOver if c.channel == Channel::Chat => {
            let receivers = match (assignee(c), c.routing) {
                (Some(agent), _) => Receivers::Agents(vec![agent]),
                (None, Routing::Offered) => Receivers::Agents(offered(store, c).await?),
                (None, _) => Receivers::Waiting(c.team.clone()),
            };
            new_chat(store, &mut out, receivers).await?;
        }
        EventKind::ConversationCreated
            if c.channel == Channel::Chat && c.routing != Routing::Bot =>
        {
            new_chat(store, &mut out, receivers(c, routed)).await?;
        }
        EventKind::ConversationStatusChanged
            if c.status == ConversationStatus::Closed
                && c.channel == Channel::Chat
                && c.routing != Routing::Bot =>
        {
            if store.first_response_at(&c.id).await?.is_some() {
                return Ok(out.changes);
            }
            let who: Vec<AgentId> = match (assignee(c), &c.team) {
                (Some(agent), _) => vec![agent],
                (None, Some(team)) => store.team_members(&c.tenant_id, team).await?,
                (None, None) => store
                    .list_agents(&c.tenant_id)
                    .await?
                    .into_iter()
                    .filter(|a| a.capacity.on(Channel::Chat) > 0)
                    .map(|a| a.id)
                    .collect(),
            };
            out.push(
                NotificationKind::MissedChat,
                who,
                format!("{} closed without a reply from an agent.", describe(c)),
                None,
                Some(format!("missed_chat:{}", c.id)),
            );
        }
        _ => {}
    }
    if matches!(
        event.kind,
        EventKind::ConversationCreated
            | EventKind::ConversationAssigned
            | EventKind::ConversationQueued
            | EventKind::ConversationTransferred
    ) {
        out.announce_in_team(store).await?;
    }
    Ok(out.changes)
}

/// The notices of a `conversation.assigned` handled in the outcome that
/// causes it (see [`crate::domain::folded_assignment`]): what [`notices`] gives for that
/// event, for `c` as the assignment leaves it.
pub async fn folded_assigned(
    store: &Store,
    c: &ConversationRecord,
    folded: &FoldedAssignment<'_>,
) -> Result<Vec<Change>, StoreError> {
    let after = ConversationRecord {
        routing: Routing::Assigned,
        assignee: Some(Assignee::Agent(folded.agent.clone())),
        team: folded.team.cloned().or_else(|| c.team.clone()),
        queued_at: None,
        ..c.clone()
    };
    let mut out = Notices {
        conversation: &after,
        changes: Vec::new(),
    };
    out.assigned(folded.agent.clone(), folded.by_agent);
    out.announce_in_team(store).await?;
    Ok(out.changes)
}

struct Notices<'a> {
    conversation: &'a ConversationRecord,
    changes: Vec<Change>,
}

impl Notices<'_> {
    /// The new assignee hears it is theirs, unless they took it.
    fn assigned(&mut self, agent: AgentId, took_it: bool) {
        if !took_it {
            let message = format!("{} is now yours.", describe(self.conversation));
            self.push(NotificationKind::Assigned, [agent], message, None, None);
        }
    }

    /// A conversation entering a team is announced there once per team.
    async fn announce_in_team(&mut self, store: &Store) -> Result<(), StoreError> {
        let c = self.conversation;
        if let Some(team) = &c.team {
            let members = store.team_members(&c.tenant_id, team).await?;
            self.push(
                NotificationKind::NewInTeam,
                members,
                format!("{} entered your team.", describe(c)),
                None,
                Some(format!("new_in_team:{}:{team}", c.id)),
            );
        }
        Ok(())
    }

    fn push(
        &mut self,
        kind: NotificationKind,
        who: impl IntoIterator<Item = AgentId>,
        message: String,
        about: Option<&MessageRecord>,
        once: Option<String>,
    ) {
        let subject_line = self.conversation.subject_line();
        for agent in who {
            self.changes.push(Change::Notify(Notice {
                kind,
                conversation: Some(self.conversation.id.clone()),
                subject_line: Some(subject_line.clone()),
                recipient: serde_json::json!({ "agent": agent }),
                message: message.clone(),
                about: about.map(|m| m.id.clone()),
                once: once.clone(),
            }));
        }
    }
}

/// Who hears of a new chat.
enum Receivers {
    /// It rings for the agents routing gave or offered it to.
    Agents(Vec<AgentId>),
    /// Nobody has it yet: the members available for chats (in this team)
    /// hear it is waiting, since one of them may make room.
    Waiting(Option<TeamId>),
}

/// Who receives a chat routing has just decided on.
fn receivers(c: &ConversationRecord, routed: &[Change]) -> Receivers {
    let mut team = c.team.clone();
    for change in routed {
        match change {
            Change::Assign { agent, .. } => return Receivers::Agents(vec![agent.clone()]),
            Change::Offer { agents, .. } => return Receivers::Agents(agents.clone()),
            Change::Queue { team: queued, .. } => team.clone_from(queued),
            _ => {}
        }
    }
    Receivers::Waiting(team)
}

async fn offered(store: &Store, c: &ConversationRecord) -> Result<Vec<AgentId>, StoreError> {
    Ok(store
        .offers(&c.id)
        .await?
        .iter()
        .filter_map(|id| AgentId::parse(id).ok())
        .collect())
}

/// A new chat: each receiver hears of it once.
async fn new_chat(
    store: &Store,
    out: &mut Notices<'_>,
    receivers: Receivers,
) -> Result<(), StoreError> {
    let c = out.conversation;
    let who: Vec<AgentId> = match receivers {
        Receivers::Agents(agents) => agents,
        Receivers::Waiting(team) => {
            let members = match &team {
                Some(team) => Some(store.team_members(&c.tenant_id, team).await?),
                None => None,
            };
            store
                .list_agents(&c.tenant_id)
                .await?
                .into_iter()
                .filter(|a| a.presence == Presence::Available && a.capacity.on(Channel::Chat) > 0)
                .filter(|a| members.as_ref().is_none_or(|m| m.contains(&a.id)))
                .map(|a| a.id)
                .collect()
        }
    };
    out.push(
        NotificationKind::NewChat,
        who,
        format!("{} is waiting.", describe(c)),
        None,
        Some(format!("new_chat:{}", c.id)),
    );
    Ok(())
}

fn assignee(c: &ConversationRecord) -> Option<AgentId> {
    match &c.assignee {
        Some(Assignee::Agent(agent)) => Some(agent.clone()),
        _ => None,
    }
}

fn contact(c: &ConversationRecord) -> String {
    c.contact_name
        .clone()
        .or_else(|| c.contact_email.clone())
        .unwrap_or_else(|| "The customer".to_owned())
}

/// "The chat conversation "Order late" from Kim".
fn describe(c: &ConversationRecord) -> String {
    let subject = c.subject.as_deref().unwrap_or("(no subject)");
    format!(
        "The {} conversation \"{subject}\" from {}",
        c.channel,
        contact(c)
    )
}

fn excerpt(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(EXCERPT) {
        Some((cut, _)) => format!("{}…", &body[..cut]),
        None => body.to_owned(),
    }
}

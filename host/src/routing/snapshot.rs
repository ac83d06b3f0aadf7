//! Building the immutable snapshot a plugin sees from domain records.

use crate::domain::{
    AgentRecord, Assignee, Author, Channel, ConversationRecord, ConversationStatus, MessageRecord,
    Presence,
};
use crate::plugin::bindings::types;
use crate::plugin::{AgentState, Candidate};

pub(super) fn channel(channel: Channel) -> types::Channel {
    match channel {
        Channel::Chat => types::Channel::Chat,
        Channel::Email => types::Channel::Email,
        Channel::Call => types::Channel::Call,
        Channel::Form => types::Channel::Form,
    }
}

pub(super) fn status_from(status: types::ConversationStatus) -> ConversationStatus {
    match status {
        types::ConversationStatus::Open => ConversationStatus::Open,
        types::ConversationStatus::Snoozed => ConversationStatus::Snoozed,
        types::ConversationStatus::Closed => ConversationStatus::Closed,
    }
}

fn status(status: ConversationStatus) -> types::ConversationStatus {
    match status {
        ConversationStatus::Open => types::ConversationStatus::Open,
        ConversationStatus::Snoozed => types::ConversationStatus::Snoozed,
        ConversationStatus::Closed => types::ConversationStatus::Closed,
    }
}

pub(super) fn message(message: &MessageRecord) -> types::Message {
    types::Message {
        author: match message.author {
            Author::Customer => types::Author::Customer,
            Author::Agent => types::Author::Agent,
            Author::Bot => types::Author::Bot,
        },
        body: message.body.clone(),
        internal: message.internal,
        at_ms: message.created_at.0,
    }
}

pub(super) fn conversation(
    record: &ConversationRecord,
    messages: &[MessageRecord],
) -> types::Conversation {
    types::Conversation {
        id: record.id.to_string(),
        channel: channel(record.channel),
        subject: record.subject.clone(),
        status: status(record.status),
        contact: types::Contact {
            name: record.contact_name.clone(),
            email: record.contact_email.clone(),
        },
        attributes_json: record.attributes.to_string(),
        assignee: record.assignee.as_ref().map(|a| match a {
            Assignee::Agent(id) => types::Assignee::Agent(id.to_string()),
            Assignee::Bot(id) => types::Assignee::Bot(id.to_string()),
        }),
        team: record.team.as_ref().map(ToString::to_string),
        created_at_ms: record.created_at.0,
        recent_messages: messages.iter().map(message).collect(),
    }
}

pub(super) fn candidate(agent: &AgentRecord) -> Candidate {
    let load = |c: Channel| types::ChannelLoad {
        open: agent.load.get(&c).copied().unwrap_or(0),
        capacity: agent.capacity.on(c),
    };
    let state = AgentState {
        presence: match agent.presence {
            Presence::Available => types::Presence::Available,
            Presence::Away => types::Presence::Away,
            Presence::Offline => types::Presence::Offline,
        },
        load: types::ChannelLoads {
            chat: load(Channel::Chat),
            email: load(Channel::Email),
            call: load(Channel::Call),
            form: load(Channel::Form),
        },
        available_since_ms: agent.available_since.map(|t| t.0),
        idle_since_ms: agent.idle_since().map(|t| t.0),
        last_assigned_at_ms: agent.last_assigned_at.map(|t| t.0),
        handled: agent.handled,
    };
    Candidate {
        id: agent.id.to_string(),
        teams: agent.teams.iter().map(ToString::to_string).collect(),
        agent: state,
    }
}

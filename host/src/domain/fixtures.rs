//! Records the domain's and routing's unit tests start from.

use std::collections::HashMap;

use super::{
    AgentId, AgentRecord, Capacity, Channel, ConversationId, ConversationRecord,
    ConversationStatus, Millis, Presence, Priority, Role, Routing, TenantId, TicketAccess,
};

/// Ana, an agent of no team with `capacity` and no load.
pub(crate) fn agent(presence: Presence, capacity: serde_json::Value) -> AgentRecord {
    AgentRecord {
        id: AgentId::generate(),
        name: "Ana".into(),
        email: "ana@example.com".into(),
        role: Role::Agent,
        presence,
        teams: Vec::new(),
        capacity: Capacity::parse(&capacity).expect("capacity"),
        ticket_access: TicketAccess::Team,
        load: HashMap::new(),
        available_since: None,
        freed_at: None,
        last_assigned_at: None,
        handled: 0,
        created_at: Millis(0),
    }
}

/// An open chat no one has routed yet, in no team.
pub(crate) fn chat() -> ConversationRecord {
    ConversationRecord {
        id: ConversationId::generate(),
        tenant_id: TenantId::generate(),
        channel: Channel::Chat,
        subject: None,
        contact_name: None,
        contact_email: None,
        contact_owner: None,
        attributes: serde_json::json!({}),
        status: ConversationStatus::Open,
        routing: Routing::Unassigned,
        priority: Priority::Normal,
        assignee: None,
        team: None,
        queued_at: None,
        created_at: Millis(0),
        updated_at: Millis(0),
    }
}

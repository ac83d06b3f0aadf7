//! The event outbox.

use sqlx::Row;

use super::{Result, Store, opt_id};
use crate::domain::{AgentId, ConversationId, EventKind, MessageId, Millis, TenantId};

/// An event waiting for, or done with, dispatch.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub id: i64,
    pub tenant_id: TenantId,
    pub kind: EventKind,
    pub conversation: Option<ConversationId>,
    pub agent: Option<AgentId>,
    pub message: Option<MessageId>,
    pub created_at: Millis,
    /// How many events were handled on the way to this one (0: it came
    /// from outside, e.g. an API call).
    pub depth: u32,
    /// Kind-specific details: a fired timer's workflow and name.
    pub detail: Option<serde_json::Value>,
}

impl EventRecord {
    /// The workflow and name of a fired timer.
    pub fn timer(&self) -> Option<(&str, &str)> {
        let detail = self.detail.as_ref()?;
        Some((detail["plugin"].as_str()?, detail["timer"].as_str()?))
    }
}

/// Where a new event comes from in a chain of events, and what it carries.
#[derive(Debug, Clone, Default)]
pub(super) struct Origin {
    pub depth: u32,
    pub detail: Option<serde_json::Value>,
}

pub(super) async fn insert_event(
    tx: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    kind: EventKind,
    conversation: Option<&ConversationId>,
    agent: Option<&AgentId>,
    message: Option<&MessageId>,
    at: Millis,
) -> Result<i64> {
    insert_event_from(
        tx,
        tenant,
        kind,
        conversation,
        agent,
        message,
        at,
        &Origin::default(),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_event_from(
    tx: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    kind: EventKind,
    conversation: Option<&ConversationId>,
    agent: Option<&AgentId>,
    message: Option<&MessageId>,
    at: Millis,
    origin: &Origin,
) -> Result<i64> {
    let row = EventRow {
        tenant,
        kind,
        conversation,
        agent,
        message,
        at,
        origin,
    };
    row.insert(tx).await
}

/// The columns of one event to write.
struct EventRow<'a> {
    tenant: &'a TenantId,
    kind: EventKind,
    conversation: Option<&'a ConversationId>,
    agent: Option<&'a AgentId>,
    message: Option<&'a MessageId>,
    at: Millis,
    origin: &'a Origin,
}

impl EventRow<'_> {
    /// Write the event, pending. (Events written as already handled are
    /// written with the rest of their outcome's appends: `appends`.)
    async fn insert(&self, tx: &mut sqlx::AnyConnection) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO events (tenant_id, kind, conversation_id, agent_id, message_id, created_at,
                depth, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             RETURNING id",
        )
        .bind(self.tenant.as_str())
        .bind(self.kind.as_str())
        .bind(self.conversation.map(ConversationId::as_str))
        .bind(self.agent.map(AgentId::as_str))
        .bind(self.message.map(MessageId::as_str))
        .bind(self.at.0)
        .bind(i64::from(self.origin.depth))
        .bind(self.origin.detail.as_ref().map(ToString::to_string))
        .fetch_one(tx)
        .await?;
        Ok(id)
    }
}

/// The columns [`event_row`] reads, of `events` aliased `e`.
pub(super) const EVENT_COLUMNS: &str = "e.id, e.tenant_id, e.kind, e.conversation_id, e.agent_id,
    e.message_id, e.created_at, e.depth, e.detail";

pub(super) fn event_row(row: &sqlx::any::AnyRow) -> Option<EventRecord> {
    Some(EventRecord {
        id: row.get("id"),
        tenant_id: TenantId::parse(row.get("tenant_id")).ok()?,
        kind: EventKind::parse(row.get("kind")).ok()?,
        conversation: opt_id(row.get("conversation_id"), |s| {
            ConversationId::parse(s).ok()
        }),
        agent: opt_id(row.get("agent_id"), |s| AgentId::parse(s).ok()),
        message: opt_id(row.get("message_id"), |s| MessageId::parse(s).ok()),
        created_at: Millis(row.get("created_at")),
        depth: u32::try_from(row.get::<i64, _>("depth")).unwrap_or(0),
        detail: row
            .get::<Option<String>, _>("detail")
            .and_then(|d| serde_json::from_str(&d).ok()),
    })
}

impl Store {
    /// Mark an event done without other changes (e.g. one that needs nothing).
    pub async fn mark_processed(&self, event: i64, outcome: &str) -> Result<()> {
        self.execute_write(sqlx::query(
            "UPDATE events SET processed_at = $1, outcome = $2 WHERE id = $3 AND processed_at IS NULL",
        )
        .bind(self.now().0)
        .bind(outcome)
        .bind(event)
        )
        .await?;
        Ok(())
    }

    /// The highest event id written so far (0 if none).
    pub async fn last_event_id(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS id FROM events")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get("id"))
    }
}

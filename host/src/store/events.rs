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
}

pub(super) async fn insert_event(
    tx: &mut sqlx::SqliteConnection,
    tenant: &TenantId,
    kind: EventKind,
    conversation: Option<&ConversationId>,
    agent: Option<&AgentId>,
    message: Option<&MessageId>,
    at: Millis,
) -> Result<i64> {
    let result = sqlx::query(
        "INSERT INTO events (tenant_id, kind, conversation_id, agent_id, message_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(tenant.as_str())
    .bind(kind.as_str())
    .bind(conversation.map(ConversationId::as_str))
    .bind(agent.map(AgentId::as_str))
    .bind(message.map(MessageId::as_str))
    .bind(at.0)
    .execute(tx)
    .await?;
    Ok(result.last_insert_rowid())
}

impl Store {
    /// The oldest events not yet dispatched, in order.
    pub async fn pending_events(&self, limit: u32) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, kind, conversation_id, agent_id, message_id, created_at
             FROM events WHERE processed_at IS NULL ORDER BY id LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
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
                })
            })
            .collect())
    }

    /// Mark an event done without other changes (e.g. one that needs nothing).
    pub async fn mark_processed(&self, event: i64, outcome: &str) -> Result<()> {
        sqlx::query(
            "UPDATE events SET processed_at = ?, outcome = ? WHERE id = ? AND processed_at IS NULL",
        )
        .bind(self.now().0)
        .bind(outcome)
        .bind(event)
        .execute(&self.pool)
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

//! Simultaneous offers: a conversation offered to several agents at once
//! belongs to the first who accepts.

use sqlx::Row;

use super::{Result, Store, events::insert_event};
use crate::domain::{AgentId, ConversationId, EventKind, TenantId};

/// Why an offer could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptRefusal {
    /// No such conversation for this tenant.
    NotFound,
    /// The agent was not offered this conversation.
    NotOffered,
    /// The conversation is no longer on offer (someone accepted first).
    Taken,
}

impl Store {
    /// Accept an offer. The first agent to accept owns the conversation and
    /// every other offer is withdrawn; the conditional update makes two
    /// simultaneous accepts resolve to exactly one owner.
    pub async fn accept_offer(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        agent: &AgentId,
    ) -> Result<Result<i64, AcceptRefusal>> {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        // Write first: SQLite then takes the write lock at once and a
        // concurrent accept waits for it, instead of both reading and then
        // failing to upgrade to a writer.
        let taken = sqlx::query(
            "UPDATE conversations SET routing = 'assigned', assignee_kind = 'agent', assignee_id = $1,
                queued_at = NULL, updated_at = $2
             WHERE tenant_id = $3 AND id = $4 AND routing = 'offered'
               AND EXISTS (SELECT 1 FROM offers WHERE conversation_id = $5 AND agent_id = $6)",
        )
        .bind(agent.as_str())
        .bind(now.0)
        .bind(tenant.as_str())
        .bind(conversation.as_str())
        .bind(conversation.as_str())
        .bind(agent.as_str())
        .execute(&mut *tx)
        .await?;
        if taken.rows_affected() == 0 {
            let routing: Option<String> =
                sqlx::query("SELECT routing FROM conversations WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.as_str())
                    .bind(conversation.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|row| row.get("routing"));
            return Ok(Err(match routing.as_deref() {
                None => AcceptRefusal::NotFound,
                Some("offered") => AcceptRefusal::NotOffered,
                Some(_) => AcceptRefusal::Taken,
            }));
        }
        sqlx::query("DELETE FROM offers WHERE conversation_id = $1")
            .bind(conversation.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE agents SET last_assigned_at = $1, handled = handled + 1 WHERE id = $2")
            .bind(now.0)
            .bind(agent.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO assignment_history (conversation_id, at, action, assignee_kind, assignee_id,
                decided_by, reason) VALUES ($1, $2, 'assigned', 'agent', $3, 'agent', 'accepted the offer')",
        )
        .bind(conversation.as_str())
        .bind(now.0)
        .bind(agent.as_str())
        .execute(&mut *tx)
        .await?;
        let event = insert_event(
            &mut tx,
            tenant,
            EventKind::ConversationAssigned,
            Some(conversation),
            Some(agent),
            None,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(event))
    }

    /// Agents a conversation is currently offered to.
    pub async fn offers(&self, conversation: &ConversationId) -> Result<Vec<String>> {
        let rows =
            sqlx::query("SELECT agent_id FROM offers WHERE conversation_id = $1 ORDER BY agent_id")
                .bind(conversation.as_str())
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|row| row.get("agent_id")).collect())
    }
}

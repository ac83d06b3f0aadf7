//! The ticket behind a conversation, as routing (workflows) needs it.

use sqlx::Row;

use super::{Result, Store};
use crate::domain::{ConversationId, PipelineId, StageId, TenantId};

/// A ticket's identity and place in its pipeline.
#[derive(Debug, Clone)]
pub struct TicketSummary {
    pub id: String,
    pub name: String,
    /// The pipeline's id.
    pub pipeline: String,
    /// The status's id.
    pub stage: String,
    /// The channel it came from, "manual" or "split".
    pub source: String,
}

impl Store {
    pub async fn ticket_of_conversation(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
    ) -> Result<Option<TicketSummary>> {
        let row = sqlx::query(
            "SELECT id, name, pipeline_id, stage_id, source FROM tickets
             WHERE tenant_id = $1 AND conversation_id = $2",
        )
        .bind(tenant.as_str())
        .bind(conversation.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| TicketSummary {
            id: r.get("id"),
            name: r.get("name"),
            pipeline: r.get("pipeline_id"),
            stage: r.get("stage_id"),
            source: r.get("source"),
        }))
    }

    /// Whether `stage` is the id of a status of the tenant's `pipeline`.
    pub async fn stage_in_pipeline(
        &self,
        tenant: &TenantId,
        pipeline: &str,
        stage: &str,
    ) -> Result<bool> {
        let (Ok(pipeline), Ok(stage)) = (PipelineId::parse(pipeline), StageId::parse(stage)) else {
            return Ok(false);
        };
        Ok(self
            .pipeline(tenant, &pipeline)
            .await?
            .is_some_and(|p| p.stage(&stage).is_some()))
    }
}

//! The record of what workflows did.

use sqlx::Row;

use super::{Result, Store};
use crate::domain::{ConversationId, Millis, TenantId};

/// One workflow's handling of one event.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WorkflowRun {
    pub event: Option<i64>,
    pub event_kind: String,
    pub conversation: Option<String>,
    pub plugin: String,
    pub plugin_version: String,
    /// What it did, one line per action, in order.
    pub actions: Vec<String>,
    /// Why it did nothing (a failure, or the loop guard).
    pub error: Option<String>,
    pub at: Millis,
}

impl Store {
    /// Runs, newest first, optionally of one conversation.
    pub async fn workflow_runs(
        &self,
        tenant: &TenantId,
        conversation: Option<&ConversationId>,
        limit: u32,
    ) -> Result<Vec<WorkflowRun>> {
        let rows = sqlx::query(
            "SELECT event_id, event_kind, conversation_id, plugin_name, plugin_version, actions,
                    error, at
             FROM workflow_runs
             WHERE tenant_id = $1 AND ($2 IS NULL OR conversation_id = $3)
             ORDER BY id DESC LIMIT $4",
        )
        .bind(tenant.as_str())
        .bind(conversation.map(ConversationId::as_str))
        .bind(conversation.map(ConversationId::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| WorkflowRun {
                event: r.get("event_id"),
                event_kind: r.get("event_kind"),
                conversation: r.get("conversation_id"),
                plugin: r.get("plugin_name"),
                plugin_version: r.get("plugin_version"),
                actions: serde_json::from_str(r.get("actions")).unwrap_or_default(),
                error: r.get("error"),
                at: Millis(r.get("at")),
            })
            .collect())
    }
}

//! The record of what workflows did.

use sqlx::Row;

use super::{Result, Store};
use crate::domain::{ConversationId, Millis, Page, PageRequest, TenantId};

/// One workflow's handling of one event.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct WorkflowRun {
    /// Its place in the record: the list's cursor.
    #[serde(skip)]
    pub row: i64,
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
    /// A page of runs, newest first, optionally of one conversation.
    pub async fn workflow_runs(
        &self,
        tenant: &TenantId,
        conversation: Option<&ConversationId>,
        page: &PageRequest<i64>,
    ) -> Result<Page<WorkflowRun>> {
        let rows = sqlx::query(
            "SELECT id, event_id, event_kind, conversation_id, plugin_name, plugin_version, actions,
                    error, at
             FROM workflow_runs
             WHERE tenant_id = $1 AND ($2 IS NULL OR conversation_id = $3)
               AND ($4 IS NULL OR id < $5)
             ORDER BY id DESC LIMIT $6",
        )
        .bind(tenant.as_str())
        .bind(conversation.map(ConversationId::as_str))
        .bind(conversation.map(ConversationId::as_str))
        .bind(page.after)
        .bind(page.after)
        .bind(page.probe())
        .fetch_all(&self.pool)
        .await?;
        let found = rows
            .iter()
            .map(|r| WorkflowRun {
                row: r.get("id"),
                event: r.get("event_id"),
                event_kind: r.get("event_kind"),
                conversation: r.get("conversation_id"),
                plugin: r.get("plugin_name"),
                plugin_version: r.get("plugin_version"),
                actions: serde_json::from_str(r.get("actions")).unwrap_or_default(),
                error: r.get("error"),
                at: Millis(r.get("at")),
            })
            .collect();
        Ok(Page::from_probe(found, page.limit, |run| {
            run.row.to_string()
        }))
    }
}

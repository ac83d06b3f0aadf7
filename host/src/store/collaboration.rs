//! Followers, @mentions and the tenant's statistics.

use std::collections::BTreeMap;

use sqlx::Row;

use super::{Result, Store};
use crate::domain::{
    AgentId, ConversationId, Notice, NotificationKind, Page, PageRequest, TenantId,
};

/// Aggregates over the tenant's conversations.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Stats {
    pub conversations: u64,
    pub by_status: BTreeMap<String, u64>,
    pub by_channel: BTreeMap<String, u64>,
    pub by_tag: BTreeMap<String, u64>,
    /// Median milliseconds from creation to the first agent message.
    pub first_response_ms_median: Option<i64>,
    /// Median milliseconds from creation to closing.
    pub resolution_ms_median: Option<i64>,
    /// Help-desk tickets by pipeline and status.
    pub tickets: super::TicketStats,
}

fn median(mut values: Vec<i64>) -> Option<i64> {
    values.sort_unstable();
    values.get(values.len() / 2).copied()
}

impl Store {
    pub async fn followers(&self, conversation: &ConversationId) -> Result<Vec<AgentId>> {
        let rows = sqlx::query(
            "SELECT agent_id FROM followers WHERE conversation_id = $1 ORDER BY at, agent_id",
        )
        .bind(conversation.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| AgentId::parse(r.get("agent_id")).ok())
            .collect())
    }

    /// Add a follower; `false` if they already followed.
    pub async fn follow(
        &self,
        conversation: &ConversationId,
        agent: &AgentId,
        by: Option<&AgentId>,
    ) -> Result<bool> {
        let added = self.execute_write(sqlx::query(
            "INSERT INTO followers (conversation_id, agent_id, added_by, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(conversation.as_str())
        .bind(agent.as_str())
        .bind(by.map(AgentId::as_str))
        .bind(self.now().0)
        )
        .await?;
        Ok(added.rows_affected() == 1)
    }

    pub async fn unfollow(&self, conversation: &ConversationId, agent: &AgentId) -> Result<bool> {
        let removed = self
            .execute_write(
                sqlx::query("DELETE FROM followers WHERE conversation_id = $1 AND agent_id = $2")
                    .bind(conversation.as_str())
                    .bind(agent.as_str()),
            )
            .await?;
        Ok(removed.rows_affected() == 1)
    }

    /// Notify an agent of an @mention (type `mention`): recorded with a
    /// delivery per channel they chose, in one transaction.
    pub async fn notify_agent(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        agent: &AgentId,
        message: &str,
    ) -> Result<()> {
        let notice = Notice {
            kind: NotificationKind::Mention,
            conversation: Some(conversation.clone()),
            subject_line: None,
            recipient: serde_json::json!({ "agent": agent }),
            message: message.to_owned(),
            about: None,
            once: None,
        };
        self.record_notice(tenant, &notice).await?;
        Ok(())
    }

    /// A page of the notifications addressed to one agent, newest first,
    /// with their delivery state per channel.
    pub async fn notifications_for(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
        page: &PageRequest<i64>,
    ) -> Result<Page<serde_json::Value>> {
        Ok(self
            .agent_notifications(tenant, agent, page)
            .await?
            .map(|n| n.to_json()))
    }

    pub async fn stats(&self, tenant: &TenantId) -> Result<Stats> {
        let count = |rows: Vec<sqlx::any::AnyRow>| -> BTreeMap<String, u64> {
            rows.iter()
                .map(|r| {
                    (
                        r.get::<String, _>("k"),
                        u64::try_from(r.get::<i64, _>("n")).unwrap_or(0),
                    )
                })
                .collect()
        };
        let by_status = count(
            sqlx::query("SELECT status AS k, COUNT(*) AS n FROM conversations WHERE tenant_id = $1 GROUP BY status")
                .bind(tenant.as_str())
                .fetch_all(&self.pool)
                .await?,
        );
        let by_channel = count(
            sqlx::query("SELECT channel AS k, COUNT(*) AS n FROM conversations WHERE tenant_id = $1 GROUP BY channel")
                .bind(tenant.as_str())
                .fetch_all(&self.pool)
                .await?,
        );
        let by_tag = count(
            sqlx::query(
                "SELECT t.tag AS k, COUNT(*) AS n FROM conversation_tags t
                 JOIN conversations c ON c.id = t.conversation_id WHERE c.tenant_id = $1 GROUP BY t.tag",
            )
            .bind(tenant.as_str())
            .fetch_all(&self.pool)
            .await?,
        );
        let times = sqlx::query(
            "SELECT first_response_at - created_at AS first, closed_at - created_at AS resolved
             FROM conversations WHERE tenant_id = $1",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        let first: Vec<i64> = times
            .iter()
            .filter_map(|r| r.get::<Option<i64>, _>("first"))
            .collect();
        let resolved: Vec<i64> = times
            .iter()
            .filter_map(|r| r.get::<Option<i64>, _>("resolved"))
            .collect();
        Ok(Stats {
            conversations: by_status.values().sum(),
            by_status,
            by_channel,
            by_tag,
            first_response_ms_median: median(first),
            resolution_ms_median: median(resolved),
            tickets: self.ticket_stats(tenant).await?,
        })
    }
}

//! Reply drafts: one per member and ticket, seen only by their author.

use sqlx::Row;

use super::tickets::Visibility;
use super::{Result, Store};
use crate::domain::{AgentId, Millis, TenantId, TicketId};

/// An unsent reply.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct DraftRecord {
    pub ticket: TicketId,
    pub ticket_name: String,
    pub body: String,
    pub updated_at: Millis,
}

fn draft(row: &sqlx::any::AnyRow) -> Option<DraftRecord> {
    Some(DraftRecord {
        ticket: TicketId::parse(row.get("ticket_id")).ok()?,
        ticket_name: row.get("name"),
        body: row.get("body"),
        updated_at: Millis(row.get("updated_at")),
    })
}

impl Store {
    /// Save (or replace) the member's draft on a ticket.
    pub async fn put_draft(
        &self,
        ticket: &TicketId,
        author: &AgentId,
        body: &str,
    ) -> Result<Option<DraftRecord>> {
        self.execute_write(sqlx::query(
            "INSERT INTO ticket_drafts (ticket_id, agent_id, body, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (ticket_id, agent_id) DO UPDATE SET body = excluded.body,
                updated_at = excluded.updated_at",
        )
        .bind(ticket.as_str())
        .bind(author.as_str())
        .bind(body)
        .bind(self.now().0)
        )
        .await?;
        self.draft(ticket, author).await
    }

    /// The member's own draft on a ticket; nobody else's is ever returned.
    pub async fn draft(&self, ticket: &TicketId, author: &AgentId) -> Result<Option<DraftRecord>> {
        let row = sqlx::query(
            "SELECT d.ticket_id, t.name, d.body, d.updated_at FROM ticket_drafts d
             JOIN tickets t ON t.id = d.ticket_id
             WHERE d.ticket_id = $1 AND d.agent_id = $2",
        )
        .bind(ticket.as_str())
        .bind(author.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().and_then(draft))
    }

    pub async fn delete_draft(&self, ticket: &TicketId, author: &AgentId) -> Result<bool> {
        let deleted = self
            .execute_write(
                sqlx::query("DELETE FROM ticket_drafts WHERE ticket_id = $1 AND agent_id = $2")
                    .bind(ticket.as_str())
                    .bind(author.as_str()),
            )
            .await?;
        Ok(deleted.rows_affected() > 0)
    }

    /// The member's drafts on tickets they may still see, newest first.
    pub async fn drafts(
        &self,
        tenant: &TenantId,
        author: &AgentId,
        visibility: &Visibility,
    ) -> Result<Vec<DraftRecord>> {
        let mut out = Vec::new();
        let rows = sqlx::query(
            "SELECT d.ticket_id, t.name, d.body, d.updated_at FROM ticket_drafts d
             JOIN tickets t ON t.id = d.ticket_id
             WHERE t.tenant_id = $1 AND d.agent_id = $2 ORDER BY d.updated_at DESC",
        )
        .bind(tenant.as_str())
        .bind(author.as_str())
        .fetch_all(&self.pool)
        .await?;
        for found in rows.iter().filter_map(draft) {
            // Access can shrink after a draft is written (a new owner, a
            // changed access level): such drafts stay hidden.
            if self
                .ticket(tenant, &found.ticket, visibility)
                .await?
                .is_some()
            {
                out.push(found);
            }
        }
        Ok(out)
    }
}

//! Removing an agent and restoring one: the row stays (history, messages
//! and closed work keep naming them), marked with when it was removed.

use sqlx::Row;

use super::conversations::{COLUMNS, conversation};
use super::{Result, Store};
use crate::domain::{AgentId, AgentRecord, Millis, Outcome, Removal, TenantId, requeue_held};

impl Store {
    /// Remove `agent`, in one transaction: they are marked removed and
    /// offline, lose their tokens, follows and offers, transfers waiting
    /// on them are cancelled, and the work they held goes back to routing
    /// ([`requeue_held`]). `None` if they were removed already (or are
    /// not the tenant's). The ids are the events written, the last one
    /// the one to wait for.
    pub async fn remove_agent(
        &self,
        tenant: &TenantId,
        agent: &AgentRecord,
    ) -> Result<Option<(Removal, Vec<i64>)>> {
        let now = self.now();
        let id = agent.id.as_str();
        let mut tx = self.write_for(tenant).await?;
        // Marked first: from here no decision can give them more work
        // (`outcome::assign` takes only agents not removed), so what is
        // read next is all they will ever hold.
        let marked = sqlx::query(
            "UPDATE agents SET removed_at = $1, presence = 'offline', available_since = NULL
             WHERE tenant_id = $2 AND id = $3 AND removed_at IS NULL",
        )
        .bind(now.0)
        .bind(tenant.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if marked.rows_affected() == 0 {
            return Ok(None);
        }
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM conversations
             WHERE tenant_id = $1 AND status <> 'closed'
               AND ((assignee_kind = 'agent' AND assignee_id = $2)
                 OR (routing = 'offered'
                     AND EXISTS (SELECT 1 FROM offers o
                                 WHERE o.conversation_id = conversations.id AND o.agent_id = $3)
                     AND NOT EXISTS (SELECT 1 FROM offers o
                                     WHERE o.conversation_id = conversations.id
                                       AND o.agent_id <> $4)))
             ORDER BY id"
        ))
        .bind(tenant.as_str())
        .bind(id)
        .bind(id)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let held: Vec<_> = rows.iter().filter_map(conversation).collect();
        for sql in [
            "DELETE FROM offers WHERE agent_id = $1",
            "DELETE FROM followers WHERE agent_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        let tokens = sqlx::query("DELETE FROM member_tokens WHERE agent_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let transfers = sqlx::query(
            "UPDATE transfers SET status = 'cancelled' WHERE to_agent = $1 AND status = 'pending'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let changes = requeue_held(agent, &held);
        let events = self
            .apply_in(
                &mut tx,
                &Outcome {
                    tenant: tenant.clone(),
                    event: None,
                    summary: format!("agent {id} removed"),
                    changes,
                },
            )
            .await?;
        tx.commit().await?;
        let removal = Removal {
            agent: agent.id.clone(),
            removed_at: now,
            requeued: held.into_iter().map(|c| c.id).collect(),
            transfers_cancelled: transfers,
            tokens_revoked: tokens,
        };
        Ok(Some((removal, events)))
    }

    /// Bring a removed agent back, offline and without tokens (a member
    /// signs in again with a new one); `false` if there is no removed
    /// agent by that id.
    pub async fn restore_agent(&self, tenant: &TenantId, agent: &AgentId) -> Result<bool> {
        let done = self
            .execute_write(
                sqlx::query(
                    "UPDATE agents SET removed_at = NULL
                     WHERE tenant_id = $1 AND id = $2 AND removed_at IS NOT NULL",
                )
                .bind(tenant.as_str())
                .bind(agent.as_str()),
            )
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The removed agent holding `email`, if the one holding it is
    /// removed: a new agent cannot take the address, but the old one can
    /// be restored.
    pub async fn removed_agent_with_email(
        &self,
        tenant: &TenantId,
        email: &str,
    ) -> Result<Option<(AgentId, Millis)>> {
        let row = sqlx::query(
            "SELECT id, removed_at FROM agents
             WHERE tenant_id = $1 AND email = $2 AND removed_at IS NOT NULL",
        )
        .bind(tenant.as_str())
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|row| {
            let id = AgentId::parse(row.get::<&str, _>("id")).ok()?;
            Some((id, Millis(row.get("removed_at"))))
        }))
    }
}

//! Member credentials and ticket access. A member token lets a request act
//! as one agent of one tenant; like tenant API keys, only its hash is kept.

use sqlx::Row;

use super::tenants::key_hash;
use super::{Result, Store, TenantRecord};
use crate::domain::{AgentId, TenantId, TicketAccess};

impl Store {
    /// Issue a new token for the tenant's agent; `None` if there is no such
    /// agent. Earlier tokens stay valid.
    pub async fn issue_member_token(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
    ) -> Result<Option<String>> {
        if !self.agent_exists(tenant, agent).await? {
            return Ok(None);
        }
        let token = format!(
            "bm_{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        self.execute_write(
            sqlx::query(
                "INSERT INTO member_tokens (token_hash, tenant_id, agent_id, created_at)
             VALUES ($1, $2, $3, $4)",
            )
            .bind(key_hash(&token))
            .bind(tenant.as_str())
            .bind(agent.as_str())
            .bind(self.now().0),
        )
        .await?;
        Ok(Some(token))
    }

    /// Revoke every token of the tenant's agent (a lost device, a member
    /// leaving); `None` if there is no such agent, else how many went.
    pub async fn revoke_member_tokens(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
    ) -> Result<Option<u64>> {
        if !self.agent_exists(tenant, agent).await? {
            return Ok(None);
        }
        let done = self
            .execute_write(
                sqlx::query("DELETE FROM member_tokens WHERE tenant_id = $1 AND agent_id = $2")
                    .bind(tenant.as_str())
                    .bind(agent.as_str()),
            )
            .await?;
        Ok(Some(done.rows_affected()))
    }

    /// The tenant and agent a member token belongs to.
    pub async fn member_by_token(&self, token: &str) -> Result<Option<(TenantRecord, AgentId)>> {
        let row = sqlx::query(
            "SELECT t.id, t.name, m.agent_id FROM member_tokens m
             JOIN tenants t ON t.id = m.tenant_id WHERE m.token_hash = $1",
        )
        .bind(key_hash(token))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|r| {
            Some((
                TenantRecord {
                    id: TenantId::parse(r.get("id")).ok()?,
                    name: r.get("name"),
                },
                AgentId::parse(r.get("agent_id")).ok()?,
            ))
        }))
    }

    /// Change which tickets an agent sees; `false` if not the tenant's.
    pub async fn set_ticket_access(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
        access: TicketAccess,
    ) -> Result<bool> {
        // In the tenant's write transaction, like every write that raises
        // the tenant's state versions (migration 0045): the counter row is
        // then only ever taken under the tenant's lock, never in an order
        // that could deadlock with a decision being applied.
        let mut tx = self.write_for(tenant).await?;
        let updated =
            sqlx::query("UPDATE agents SET ticket_access = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(access.as_str())
                .bind(tenant.as_str())
                .bind(agent.as_str())
                .execute(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(updated.rows_affected() == 1)
    }
}

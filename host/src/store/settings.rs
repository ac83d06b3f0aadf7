//! Per-tenant settings, one JSON document per topic.

use sqlx::Row;

use super::{Result, Store};
use crate::domain::{AssignmentSettings, HandoffSettings, TenantId};

/// The settings topic holding the tenant's [`HandoffSettings`].
const HANDOFF_TOPIC: &str = "handoff";
/// The settings topic holding the tenant's [`AssignmentSettings`].
const ASSIGNMENT_TOPIC: &str = "assignment";

/// A topic's settings read inside a transaction; the defaults when unset
/// (or unreadable).
pub(super) async fn setting_in<T: serde::de::DeserializeOwned + Default>(
    conn: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    topic: &str,
) -> Result<T> {
    let row = sqlx::query("SELECT value FROM tenant_settings WHERE tenant_id = $1 AND topic = $2")
        .bind(tenant.as_str())
        .bind(topic)
        .fetch_optional(conn)
        .await?;
    Ok(row
        .and_then(|r| serde_json::from_str(r.get("value")).ok())
        .unwrap_or_default())
}

impl Store {
    pub async fn setting(
        &self,
        tenant: &TenantId,
        topic: &str,
    ) -> Result<Option<serde_json::Value>> {
        let row =
            sqlx::query("SELECT value FROM tenant_settings WHERE tenant_id = $1 AND topic = $2")
                .bind(tenant.as_str())
                .bind(topic)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|r| serde_json::from_str(r.get("value")).ok()))
    }

    pub async fn put_setting(
        &self,
        tenant: &TenantId,
        topic: &str,
        value: &serde_json::Value,
    ) -> Result<()> {
        // Under the tenant's write lock: the write raises the tenant's
        // state versions (see `Store::set_ticket_access`).
        let mut tx = self.write_for(tenant).await?;
        sqlx::query(
            "INSERT INTO tenant_settings (tenant_id, topic, value, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, topic) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(tenant.as_str())
        .bind(topic)
        .bind(value.to_string())
        .bind(self.now().0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// The tenant's handoff process; the standard one until they set theirs.
    pub async fn handoff_settings(&self, tenant: &TenantId) -> Result<HandoffSettings> {
        Ok(self
            .setting(tenant, HANDOFF_TOPIC)
            .await?
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default())
    }

    pub async fn put_handoff_settings(
        &self,
        tenant: &TenantId,
        settings: &HandoffSettings,
    ) -> Result<()> {
        let value = serde_json::to_value(settings).unwrap_or_default();
        self.put_setting(tenant, HANDOFF_TOPIC, &value).await
    }
}

impl Store {
    /// The tenant's assignment mode; automatic until they choose.
    pub async fn assignment_settings(&self, tenant: &TenantId) -> Result<AssignmentSettings> {
        Ok(self
            .setting(tenant, ASSIGNMENT_TOPIC)
            .await?
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default())
    }

    pub async fn put_assignment_settings(
        &self,
        tenant: &TenantId,
        settings: &AssignmentSettings,
    ) -> Result<()> {
        let value = serde_json::to_value(settings).unwrap_or_default();
        self.put_setting(tenant, ASSIGNMENT_TOPIC, &value).await
    }
}

//! Routing bindings: a history per slot so that rollback restores the
//! previous binding exactly.

use sqlx::Row;

use super::{Result, Store};
use crate::domain::{Millis, Slot, TenantId};

/// A binding in force.
#[derive(Debug, Clone)]
pub struct BindingRecord {
    pub id: i64,
    pub slot: Slot,
    pub spec: serde_json::Value,
    pub created_at: Millis,
}

impl Store {
    /// The binding in force for a slot: the newest not rolled back.
    pub async fn current_binding(
        &self,
        tenant: &TenantId,
        slot: Slot,
    ) -> Result<Option<BindingRecord>> {
        let row = sqlx::query(
            "SELECT id, spec, created_at FROM bindings
             WHERE tenant_id = ? AND slot = ? AND rolled_back_at IS NULL
             ORDER BY id DESC LIMIT 1",
        )
        .bind(tenant.as_str())
        .bind(slot.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| BindingRecord {
            id: row.get("id"),
            slot,
            spec: serde_json::from_str(row.get("spec")).unwrap_or_default(),
            created_at: Millis(row.get("created_at")),
        }))
    }

    pub async fn put_binding(
        &self,
        tenant: &TenantId,
        slot: Slot,
        spec: &serde_json::Value,
    ) -> Result<BindingRecord> {
        let now = self.now();
        let result = sqlx::query(
            "INSERT INTO bindings (tenant_id, slot, spec, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(tenant.as_str())
        .bind(slot.as_str())
        .bind(spec.to_string())
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        Ok(BindingRecord {
            id: result.last_insert_rowid(),
            slot,
            spec: spec.clone(),
            created_at: now,
        })
    }

    /// Roll back the binding in force. Returns false if there was none, in
    /// which case the slot already runs the built-in default.
    pub async fn rollback_binding(&self, tenant: &TenantId, slot: Slot) -> Result<bool> {
        let result = sqlx::query(
            "UPDATE bindings SET rolled_back_at = ? WHERE id = (
                SELECT id FROM bindings WHERE tenant_id = ? AND slot = ? AND rolled_back_at IS NULL
                ORDER BY id DESC LIMIT 1)",
        )
        .bind(self.now().0)
        .bind(tenant.as_str())
        .bind(slot.as_str())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }
}

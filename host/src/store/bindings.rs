//! Routing bindings: a history per slot so that rollback restores the
//! previous binding exactly.

use sqlx::Row;

use super::events::insert_event;
use super::{Result, Store};
use crate::domain::{EventKind, Millis, Slot, TenantId};

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
             WHERE tenant_id = $1 AND slot = $2 AND rolled_back_at IS NULL
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

    /// Put a new binding in force. A binding that may let queued
    /// conversations through writes a `queue.retry` event with it.
    pub async fn put_binding(
        &self,
        tenant: &TenantId,
        slot: Slot,
        spec: &serde_json::Value,
    ) -> Result<BindingWritten> {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        sqlx::query(
            "INSERT INTO bindings (tenant_id, slot, spec, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(tenant.as_str())
        .bind(slot.as_str())
        .bind(spec.to_string())
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        let retry = retry_event(&mut tx, tenant, slot, now).await?;
        tx.commit().await?;
        Ok(BindingWritten { retry })
    }

    /// Roll back the binding in force. Returns `None` if there was none, in
    /// which case the slot already runs the built-in default.
    pub async fn rollback_binding(
        &self,
        tenant: &TenantId,
        slot: Slot,
    ) -> Result<Option<BindingWritten>> {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        let result = sqlx::query(
            "UPDATE bindings SET rolled_back_at = $1 WHERE id = (
                SELECT id FROM bindings WHERE tenant_id = $2 AND slot = $3 AND rolled_back_at IS NULL
                ORDER BY id DESC LIMIT 1)",
        )
        .bind(now.0)
        .bind(tenant.as_str())
        .bind(slot.as_str())
        .execute(&mut *tx)
        .await?;
        if result.rows_affected() == 0 {
            return Ok(None);
        }
        let retry = retry_event(&mut tx, tenant, slot, now).await?;
        tx.commit().await?;
        Ok(Some(BindingWritten { retry }))
    }
}

/// What a change of binding wrote besides the binding.
#[derive(Debug, Clone, Copy)]
pub struct BindingWritten {
    /// The `queue.retry` event written with it, when the change may let
    /// queued conversations through; callers wait for it to be handled.
    pub retry: Option<i64>,
}

async fn retry_event(
    tx: &mut sqlx::AnyConnection,
    tenant: &TenantId,
    slot: Slot,
    now: Millis,
) -> Result<Option<i64>> {
    if !slot.retries_queue() {
        return Ok(None);
    }
    let event = insert_event(tx, tenant, EventKind::QueueRetry, None, None, None, now).await?;
    Ok(Some(event))
}

//! Dispatch leases: which process handles which tenant's events. Several
//! `baton serve` processes may share one database; each dispatches only
//! the tenants whose lease it holds, renewing them while it runs. A lease
//! that is not renewed (its process died or hangs) expires, and any process
//! may take it. The event's "processed" mark is written only while the
//! lease is held (see [`Store::apply_dispatched`]), so a process that lost
//! its lease cannot apply a decision another process is already making.

use sqlx::Row;

use super::events::EventRecord;
use super::{Result, Store};
use crate::domain::{Millis, TenantId};

impl Store {
    /// Renew, until `until`, every lease this process holds, and take one
    /// more: the tenant with the oldest pending event that no live lease
    /// of another process covers. One new tenant per pass spreads the
    /// tenants over the processes instead of the first to wake taking all.
    /// Whether a new tenant was taken.
    pub async fn claim_pending_tenants(&self, until: Millis) -> Result<bool> {
        let now = self.now();
        self.execute_write(
            sqlx::query("UPDATE dispatch_leases SET expires_at = $1 WHERE holder = $2")
                .bind(until.0)
                .bind(self.holder.as_ref()),
        )
        .await?;
        let taken = self
            .execute_write(
                sqlx::query(
                    "INSERT INTO dispatch_leases (tenant_id, holder, expires_at)
             SELECT e.tenant_id, $1, $2 FROM events e
             WHERE e.processed_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM dispatch_leases l
                               WHERE l.tenant_id = e.tenant_id
                                 AND (l.holder = $1 OR l.expires_at > $3))
             ORDER BY e.id LIMIT 1
             ON CONFLICT (tenant_id) DO UPDATE
                SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE dispatch_leases.expires_at <= $3",
                )
                .bind(self.holder.as_ref())
                .bind(until.0)
                .bind(now.0),
            )
            .await?;
        Ok(taken.rows_affected() > 0)
    }

    /// Take (or renew) one tenant's lease until `until`; whether this
    /// process holds it now.
    pub async fn claim_tenant(&self, tenant: &TenantId, until: Millis) -> Result<bool> {
        let taken = self.execute_write(sqlx::query(
            "INSERT INTO dispatch_leases (tenant_id, holder, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (tenant_id) DO UPDATE
                SET holder = excluded.holder, expires_at = excluded.expires_at
                WHERE dispatch_leases.holder = excluded.holder
                   OR dispatch_leases.expires_at <= $4",
        )
        .bind(tenant.as_str())
        .bind(self.holder.as_ref())
        .bind(until.0)
        .bind(self.now().0)
        )
        .await?;
        Ok(taken.rows_affected() > 0)
    }

    /// Give up every lease this process holds (on a clean stop), so
    /// another process need not wait for them to expire.
    pub async fn release_leases(&self) -> Result<()> {
        self.execute_write(
            sqlx::query("DELETE FROM dispatch_leases WHERE holder = $1").bind(self.holder.as_ref()),
        )
        .await?;
        Ok(())
    }

    /// The tenants this process holds a live lease on that have pending
    /// events, oldest pending event first, at most `limit`.
    pub async fn held_tenants_with_pending(&self, limit: u32) -> Result<Vec<TenantId>> {
        let rows = sqlx::query(
            "SELECT e.tenant_id, MIN(e.id) AS first FROM events e
             JOIN dispatch_leases l ON l.tenant_id = e.tenant_id
             WHERE e.processed_at IS NULL AND l.holder = $1 AND l.expires_at > $2
             GROUP BY e.tenant_id
             ORDER BY first LIMIT $3",
        )
        .bind(self.holder.as_ref())
        .bind(self.now().0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|row| TenantId::parse(row.get("tenant_id")).ok())
            .collect())
    }

    /// The oldest pending events of `tenant`, in order, while this process
    /// holds a live lease on it.
    pub async fn pending_events_of(
        &self,
        tenant: &TenantId,
        limit: u32,
    ) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {columns} FROM events e
             JOIN dispatch_leases l ON l.tenant_id = e.tenant_id
             WHERE e.processed_at IS NULL AND e.tenant_id = $1
               AND l.holder = $2 AND l.expires_at > $3
             ORDER BY e.id LIMIT $4",
            columns = super::events::EVENT_COLUMNS,
        ))
        .bind(tenant.as_str())
        .bind(self.holder.as_ref())
        .bind(self.now().0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().filter_map(super::events::event_row).collect())
    }

    /// The id of the oldest event nobody has handled yet, if any.
    pub async fn oldest_pending_event(&self) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT MIN(id) AS id FROM events WHERE processed_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get::<Option<i64>, _>("id"))
    }
}

//! The service's backlog as the database holds it, for `GET /metrics`:
//! what waits for the dispatcher, in the delivery outboxes, and in each
//! tenant's queue. A handful of counts, read once per scrape.

use std::time::Duration;

use sqlx::Row;

use super::{Result, Store};
use crate::domain::TenantId;
use crate::metrics::ServiceState;

impl Store {
    pub async fn service_state(&self) -> Result<ServiceState> {
        let events = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM events
             WHERE processed_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        let oldest: Option<i64> = events.try_get("oldest")?;
        // The manual clock of tests may stand before an event's stamp.
        let lag_ms = oldest.map_or(0, |at| self.now().0.saturating_sub(at).max(0));
        let queues = sqlx::query(
            "SELECT tenant_id, COUNT(*) AS n FROM conversations
             WHERE routing = 'queued' AND status = 'open'
             GROUP BY tenant_id ORDER BY tenant_id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .filter_map(|row| {
            let tenant = TenantId::parse(row.get::<&str, _>("tenant_id")).ok()?;
            Some((tenant, count(row.get("n"))))
        })
        .collect();
        Ok(ServiceState {
            dispatcher_lag: Duration::from_millis(lag_ms.unsigned_abs()),
            events_pending: count(events.try_get("n")?),
            notification_outbox: self.pending("notification_deliveries").await?,
            mail_outbox: self.pending("outbound_mail").await?,
            queues,
        })
    }

    /// Rows of an outbox still to be sent or retried.
    async fn pending(&self, table: &'static str) -> Result<u64> {
        let row = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM {table} WHERE state = 'pending'"
        ))
        .fetch_one(&self.pool)
        .await?;
        Ok(count(row.try_get("n")?))
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

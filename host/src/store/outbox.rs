//! The claim protocol the delivery outboxes share (a notification's
//! deliveries, a reply's e-mail): rows with a `state`, the `attempts` made
//! and when the next one is `due_at`. A claim counts the attempt and moves
//! the row to its retry time before anything is sent, so a crash mid-send
//! leaves it due again then: at least once, never lost.

use sqlx::Row;

use super::notifications::AttemptResult;
use super::{Result, Store};
use crate::domain::{DeliveryState, Millis};

/// Which outbox.
#[derive(Debug, Clone, Copy)]
pub(super) enum Outbox {
    NotificationDeliveries,
    OutboundMail,
}

impl Outbox {
    fn table(self) -> &'static str {
        match self {
            Self::NotificationDeliveries => "notification_deliveries",
            Self::OutboundMail => "outbound_mail",
        }
    }
}

/// What an attempt leaves in its row: the state, the error, and when it
/// was delivered.
fn outcome(result: &AttemptResult, now: Millis) -> (DeliveryState, Option<&str>, Option<i64>) {
    match result {
        AttemptResult::Delivered => (DeliveryState::Delivered, None, Some(now.0)),
        AttemptResult::Skipped(reason) => (DeliveryState::Skipped, Some(reason.as_str()), None),
        AttemptResult::Failed { error, give_up } => (
            if *give_up {
                DeliveryState::Failed
            } else {
                DeliveryState::Pending
            },
            Some(error.as_str()),
            None,
        ),
    }
}

impl Store {
    /// Pending rows due by now: (id, attempts so far), oldest first.
    pub(super) async fn outbox_due(&self, outbox: Outbox, limit: u32) -> Result<Vec<(i64, u32)>> {
        let rows = sqlx::query(&format!(
            "SELECT id, attempts FROM {} WHERE state = 'pending' AND due_at <= $1
             ORDER BY due_at, id LIMIT $2",
            outbox.table()
        ))
        .bind(self.now().0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let attempts: i64 = r.get("attempts");
                (r.get("id"), u32::try_from(attempts).unwrap_or(0))
            })
            .collect())
    }

    /// The earliest pending row's due time, if any.
    pub(super) async fn outbox_next_due(&self, outbox: Outbox) -> Result<Option<Millis>> {
        let row = sqlx::query(&format!(
            "SELECT MIN(due_at) AS due FROM {} WHERE state = 'pending'",
            outbox.table()
        ))
        .fetch_one(&self.pool)
        .await?;
        Ok(row.get::<Option<i64>, _>("due").map(Millis))
    }

    /// Claim the next attempt at each row of `due` (id, attempts seen so
    /// far, and the retry time for this attempt) in one transaction; the
    /// ids claimed (not those another worker claimed first, or no longer
    /// due), in the order given.
    pub(super) async fn outbox_claim_all(
        &self,
        outbox: Outbox,
        due: &[(i64, u32, Millis)],
    ) -> Result<Vec<i64>> {
        let now = self.now();
        let statement = format!(
            "UPDATE {} SET attempts = attempts + 1, due_at = $1, updated_at = $2
             WHERE id = $3 AND state = 'pending' AND attempts = $4 AND due_at <= $5",
            outbox.table()
        );
        let mut tx = self.write().await?;
        let mut claimed = Vec::with_capacity(due.len());
        for &(id, attempts, retry_at) in due {
            let done = sqlx::query(&statement)
                .bind(retry_at.0)
                .bind(now.0)
                .bind(id)
                .bind(i64::from(attempts))
                .bind(now.0)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() > 0 {
                claimed.push(id);
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Record how each attempt of `results` ended, in one transaction.
    pub(super) async fn outbox_finish_all(
        &self,
        outbox: Outbox,
        results: &[(i64, AttemptResult)],
    ) -> Result<()> {
        let now = self.now();
        let statement = format!(
            "UPDATE {} SET state = $1, last_error = $2, delivered_at = $3, updated_at = $4
             WHERE id = $5 AND state = 'pending'",
            outbox.table()
        );
        let mut tx = self.write().await?;
        for (id, result) in results {
            let (state, error, delivered) = outcome(result, now);
            sqlx::query(&statement)
                .bind(state.as_str())
                .bind(error)
                .bind(delivered)
                .bind(now.0)
                .bind(*id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Claim the next attempt at a row seen with `attempts` so far; `false`
    /// if another worker claimed it first or it is no longer due.
    pub(super) async fn outbox_claim(
        &self,
        outbox: Outbox,
        id: i64,
        attempts: u32,
        retry_at: Millis,
    ) -> Result<bool> {
        let now = self.now();
        let claimed = self
            .execute_write(
                sqlx::query(&format!(
                    "UPDATE {} SET attempts = attempts + 1, due_at = $1, updated_at = $2
             WHERE id = $3 AND state = 'pending' AND attempts = $4 AND due_at <= $5",
                    outbox.table()
                ))
                .bind(retry_at.0)
                .bind(now.0)
                .bind(id)
                .bind(i64::from(attempts))
                .bind(now.0),
            )
            .await?;
        Ok(claimed.rows_affected() > 0)
    }

    /// Record how an attempt ended.
    pub(super) async fn outbox_finish(
        &self,
        outbox: Outbox,
        id: i64,
        result: &AttemptResult,
    ) -> Result<()> {
        let now = self.now();
        let (state, error, delivered) = outcome(result, now);
        self.execute_write(
            sqlx::query(&format!(
                "UPDATE {} SET state = $1, last_error = $2, delivered_at = $3, updated_at = $4
             WHERE id = $5 AND state = 'pending'",
                outbox.table()
            ))
            .bind(state.as_str())
            .bind(error)
            .bind(delivered)
            .bind(now.0)
            .bind(id),
        )
        .await?;
        Ok(())
    }
}

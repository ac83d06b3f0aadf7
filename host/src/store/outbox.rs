//! The claim protocol the delivery outboxes share (a notification's
//! deliveries, a reply's e-mail): rows with a `state`, the `attempts` made
//! and when the next one is `due_at`. A claim counts the attempt and moves
//! the row to its retry time before anything is sent, so a crash mid-send
//! leaves it due again then: at least once, never lost.

use std::collections::{BTreeMap, HashSet};

use sqlx::Row;

use super::notifications::AttemptResult;
use super::sql::placeholders;
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

/// How attempts ended, as written: the state, the error, when delivered.
type Ending<'a> = (&'a str, Option<&'a str>, Option<i64>);

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
    /// far, and the retry time for this attempt); the ids claimed (not
    /// those another worker claimed first, or no longer due), in the order
    /// given. Rows seen with the same attempts (nearly all: new rows have
    /// none) are claimed by one statement, so that a batch holds the one
    /// writer for a moment rather than a statement per row.
    pub(super) async fn outbox_claim_all(
        &self,
        outbox: Outbox,
        due: &[(i64, u32, Millis)],
    ) -> Result<Vec<i64>> {
        let now = self.now();
        let mut groups: BTreeMap<(u32, i64), Vec<i64>> = BTreeMap::new();
        for &(id, attempts, retry_at) in due {
            groups.entry((attempts, retry_at.0)).or_default().push(id);
        }
        let mut claimed = HashSet::with_capacity(due.len());
        for ((attempts, retry_at), ids) in groups {
            let statement = format!(
                "UPDATE {} SET attempts = attempts + 1, due_at = $1, updated_at = $2
                 WHERE id IN ({}) AND state = 'pending' AND attempts = $3 AND due_at <= $4
                 RETURNING id",
                outbox.table(),
                placeholders(5, ids.len()),
            );
            let mut query = sqlx::query_scalar::<_, i64>(&statement)
                .bind(retry_at)
                .bind(now.0)
                .bind(i64::from(attempts))
                .bind(now.0);
            for id in &ids {
                query = query.bind(*id);
            }
            let _turn = self.writer_turn().await;
            claimed.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(due
            .iter()
            .map(|&(id, _, _)| id)
            .filter(|id| claimed.contains(id))
            .collect())
    }

    /// Record how each attempt of `results` ended: one statement for the
    /// rows that ended alike (delivered; skipped for the same reason).
    pub(super) async fn outbox_finish_all(
        &self,
        outbox: Outbox,
        results: &[(i64, AttemptResult)],
    ) -> Result<()> {
        let now = self.now();
        let mut groups: BTreeMap<Ending<'_>, Vec<i64>> = BTreeMap::new();
        for (id, result) in results {
            let (state, error, delivered) = outcome(result, now);
            groups
                .entry((state.as_str(), error, delivered))
                .or_default()
                .push(*id);
        }
        for ((state, error, delivered), ids) in groups {
            let statement = format!(
                "UPDATE {} SET state = $1, last_error = $2, delivered_at = $3, updated_at = $4
                 WHERE id IN ({}) AND state = 'pending'",
                outbox.table(),
                placeholders(5, ids.len()),
            );
            let mut query = sqlx::query(&statement)
                .bind(state)
                .bind(error)
                .bind(delivered)
                .bind(now.0);
            for id in &ids {
                query = query.bind(*id);
            }
            self.execute_write(query).await?;
        }
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

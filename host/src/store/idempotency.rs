//! Idempotency keys: the first answer to a keyed POST, kept so that a
//! retry is answered the same and creates nothing. The rules (what a
//! repeat gets, how long a key lives) are [`crate::domain::idempotency`]'s;
//! this reads and writes the rows.

use sqlx::Row;

use super::{Result, Store};
use crate::domain::idempotency::{Claim, IdempotencyKey, KEY_LIFETIME, Recorded};
use crate::domain::{Millis, TenantId};

impl Store {
    /// Take `key` for a request with `fingerprint`, or say what the key
    /// already holds. A key older than its lifetime is free again.
    pub async fn claim_idempotency_key(
        &self,
        tenant: &TenantId,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> Result<Claim> {
        let now = self.now();
        let expired = Millis(now.0 - KEY_LIFETIME.as_millis() as i64);
        let mut tx = self.begin_write(&[tenant.as_str()]).await?;
        sqlx::query(
            "DELETE FROM idempotency_keys
             WHERE tenant_id = $1 AND idempotency_key = $2 AND created_at <= $3",
        )
        .bind(tenant.as_str())
        .bind(key.as_str())
        .bind(expired.0)
        .execute(&mut *tx)
        .await?;
        let taken = sqlx::query(
            "INSERT INTO idempotency_keys (tenant_id, idempotency_key, fingerprint, created_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(key.as_str())
        .bind(fingerprint)
        .bind(now.0)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let claim = if taken {
            Claim::Taken
        } else {
            let row = sqlx::query(
                "SELECT fingerprint, status, body FROM idempotency_keys
                 WHERE tenant_id = $1 AND idempotency_key = $2",
            )
            .bind(tenant.as_str())
            .bind(key.as_str())
            .fetch_one(&mut *tx)
            .await?;
            let recorded = row.get::<Option<i64>, _>("status").map(|status| Recorded {
                status: u16::try_from(status).unwrap_or(500),
                body: row.get::<Option<String>, _>("body").unwrap_or_default(),
            });
            Claim::held(row.get::<String, _>("fingerprint") == fingerprint, recorded)
        };
        tx.commit().await?;
        Ok(claim)
    }

    /// Keep the answer the request that took `key` gave.
    pub async fn record_idempotent_answer(
        &self,
        tenant: &TenantId,
        key: &IdempotencyKey,
        answer: &Recorded,
    ) -> Result<()> {
        self.execute_write(
            sqlx::query(
                "UPDATE idempotency_keys SET status = $1, body = $2
                 WHERE tenant_id = $3 AND idempotency_key = $4",
            )
            .bind(i64::from(answer.status))
            .bind(answer.body.as_str())
            .bind(tenant.as_str())
            .bind(key.as_str()),
        )
        .await?;
        Ok(())
    }

    /// Give `key` back: its request changed nothing (it failed on the
    /// server's side), so a retry may run it again.
    pub async fn release_idempotency_key(
        &self,
        tenant: &TenantId,
        key: &IdempotencyKey,
    ) -> Result<()> {
        self.execute_write(
            sqlx::query(
                "DELETE FROM idempotency_keys
                 WHERE tenant_id = $1 AND idempotency_key = $2 AND status IS NULL",
            )
            .bind(tenant.as_str())
            .bind(key.as_str()),
        )
        .await?;
        Ok(())
    }

    /// Forget keys past their lifetime; how many went.
    pub async fn purge_idempotency_keys(&self) -> Result<u64> {
        let expired = self.now().0 - KEY_LIFETIME.as_millis() as i64;
        Ok(self
            .execute_write(
                sqlx::query("DELETE FROM idempotency_keys WHERE created_at <= $1").bind(expired),
            )
            .await?
            .rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::clock::Clock;
    use crate::store::testing::TestDb;

    /// Keys are forgotten a day after they were taken, answered or not,
    /// and only then.
    #[tokio::test]
    async fn keys_are_purged_once_a_day_old() {
        for db in TestDb::all().await {
            let clock = Clock::manual(Millis(1_000_000));
            let store = Store::connect(&db.url, clock.clone()).await.expect("store");
            let (tenant, _) = store.create_tenant("Acme").await.expect("tenant");
            let early = IdempotencyKey::parse("early").unwrap();
            let late = IdempotencyKey::parse("late").unwrap();
            let taken = store
                .claim_idempotency_key(&tenant.id, &early, "f1")
                .await
                .expect("claim");
            assert_eq!(taken, Claim::Taken);
            let answer = Recorded {
                status: 201,
                body: "{\"id\":1}".into(),
            };
            store
                .record_idempotent_answer(&tenant.id, &early, &answer)
                .await
                .expect("record");
            clock.advance(Duration::from_secs(12 * 60 * 60));
            store
                .claim_idempotency_key(&tenant.id, &late, "f2")
                .await
                .expect("claim");
            assert_eq!(store.purge_idempotency_keys().await.expect("purge"), 0);
            assert_eq!(
                store
                    .claim_idempotency_key(&tenant.id, &early, "f1")
                    .await
                    .expect("again"),
                Claim::Replay(answer)
            );

            clock.advance(Duration::from_secs(12 * 60 * 60));
            assert_eq!(
                store.purge_idempotency_keys().await.expect("purge"),
                1,
                "the early key is a day old, the late one half a day"
            );
            assert_eq!(
                store
                    .claim_idempotency_key(&tenant.id, &late, "f2")
                    .await
                    .expect("late"),
                Claim::Running,
                "the late key is still held"
            );
            drop(store);
            db.drop_now().await;
        }
    }
}

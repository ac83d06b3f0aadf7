//! PostgreSQL: one server, any number of Baton processes.

use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use super::{Begun, Driver};
use crate::store::Result;

pub(super) struct Postgres;

/// The advisory lock every write transaction takes ("baton" in ASCII):
/// shared by writes to one tenant's data, exclusive for writes that belong
/// to no one tenant, whichever process they run in.
const WRITE_LOCK: i64 = 0x62_61_74_6f_6e;

impl Driver for Postgres {
    fn connect<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<AnyPool>> {
        async move {
            sqlx::any::install_default_drivers();
            Ok(AnyPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(30))
                // Checking a connection before each use is a round trip to
                // the server for every statement taken from the pool. A
                // connection the server dropped fails its next statement
                // instead, and is then closed: the dispatcher tries the
                // event again, a request answers 500 once. Idle connections
                // are closed after a minute, so few are left to go stale.
                .test_before_acquire(false)
                .idle_timeout(Duration::from_secs(60))
                .connect(url)
                .await?)
        }
        .boxed()
    }

    fn migrator(&self) -> sqlx::migrate::Migrator {
        sqlx::migrate!("./migrations/postgres")
    }

    /// Transaction-scoped advisory locks exclude writers across processes,
    /// per tenant: a tenant's writer holds [`WRITE_LOCK`] shared and the
    /// tenant's own lock exclusive (taken in a fixed order when there are
    /// several, so two batches cannot deadlock), so writers of different
    /// tenants run side by side; a write to no one tenant holds
    /// [`WRITE_LOCK`] exclusive. Under READ COMMITTED every statement after
    /// the locks sees what the previous writer committed.
    fn begin_write<'a>(
        &'a self,
        pool: &'a AnyPool,
        tenants: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Begun>> {
        async move {
            let mut tx = pool.begin().await?;
            if tenants.is_empty() {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(WRITE_LOCK)
                    .execute(&mut *tx)
                    .await?;
                return Ok(tx);
            }
            sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
                .bind(WRITE_LOCK)
                .execute(&mut *tx)
                .await?;
            let mut keys: Vec<&str> = tenants.to_vec();
            keys.sort_unstable();
            keys.dedup();
            for tenant in keys {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind(tenant)
                    .execute(&mut *tx)
                    .await?;
            }
            Ok(tx)
        }
        .boxed()
    }

    fn single_writer(&self) -> bool {
        false
    }

    fn capacity_on_channel(&self, column: &str, key: &str) -> String {
        format!("(({column})::jsonb ->> {key})::bigint")
    }
}

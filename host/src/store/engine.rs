//! The two database engines: what differs between SQLite and PostgreSQL.
//! Everything else in the store is SQL both engines read the same way:
//! `$1` placeholders, `ON CONFLICT`, `RETURNING`, integers as 64-bit
//! (flags are 0/1 integers, never booleans, because SQLite has none).

use std::time::Duration;

use futures_util::FutureExt as _;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use super::{Result, StoreError};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// One file, one process: the embedded default.
    Sqlite,
    /// One server, any number of Baton processes.
    Postgres,
}

/// The advisory lock every PostgreSQL write transaction takes ("baton" in
/// ASCII): shared by writes to one tenant's data, exclusive for writes that
/// belong to no one tenant, whichever process they run in.
const WRITE_LOCK: i64 = 0x62_61_74_6f_6e;

impl Engine {
    /// The engine a database URL names.
    pub fn of_url(url: &str) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Engine::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else {
            Err(StoreError::Unsupported(format!(
                "unsupported database URL {url:?}; expected sqlite://path or postgres://user@host/db"
            )))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }

    /// A connection pool on `url`; a SQLite file is created if missing.
    pub(super) async fn connect(self, url: &str) -> Result<AnyPool> {
        sqlx::any::install_default_drivers();
        match self {
            Engine::Sqlite => {
                let url = if url.contains("mode=") || url.contains(":memory:") {
                    url.to_owned()
                } else if url.contains('?') {
                    format!("{url}&mode=rwc")
                } else {
                    format!("{url}?mode=rwc")
                };
                Ok(AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _| {
                        async move {
                            // WAL lets readers run beside the one writer;
                            // writers queue behind each other (up to the
                            // busy timeout) instead of failing at once.
                            for pragma in [
                                "PRAGMA journal_mode = WAL",
                                "PRAGMA synchronous = NORMAL",
                                "PRAGMA foreign_keys = ON",
                                "PRAGMA busy_timeout = 10000",
                            ] {
                                sqlx::query(pragma).execute(&mut *conn).await?;
                            }
                            Ok(())
                        }
                        .boxed()
                    })
                    .connect(&url)
                    .await?)
            }
            Engine::Postgres => Ok(AnyPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(30))
                .connect(url)
                .await?),
        }
    }

    /// Apply this engine's migrations (`host/migrations/<engine>`).
    pub(super) async fn migrate(self, pool: &AnyPool) -> Result<()> {
        match self {
            Engine::Sqlite => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Engine::Postgres => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// A write transaction on the data of `tenants` (none: on everything).
    ///
    /// On SQLite `BEGIN IMMEDIATE` takes the database's one write lock at
    /// the start, so a transaction that reads before it writes waits for a
    /// concurrent writer instead of failing when it would have to upgrade
    /// its read lock; writers of different tenants queue too.
    ///
    /// On PostgreSQL transaction-scoped advisory locks do the same across
    /// processes, per tenant: a tenant's writer holds [`WRITE_LOCK`] shared
    /// and the tenant's own lock exclusive (taken in a fixed order when
    /// there are several, so two batches cannot deadlock), so writers of
    /// different tenants run side by side; a write to no one tenant holds
    /// [`WRITE_LOCK`] exclusive. Under READ COMMITTED every statement after
    /// the locks sees what the previous writer committed.
    pub(super) async fn begin_write(
        self,
        pool: &AnyPool,
        tenants: &[&str],
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        match self {
            Engine::Sqlite => Ok(pool.begin_with("BEGIN IMMEDIATE").await?),
            Engine::Postgres => {
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
        }
    }

    /// SQL for the integer under the key `key` (an SQL expression) of the
    /// JSON object in `column`, NULL when absent: an agent's capacity per
    /// channel is stored as such an object.
    pub(super) fn capacity_on_channel(self, column: &str, key: &str) -> String {
        match self {
            Engine::Sqlite => format!("json_extract({column}, '$.' || {key})"),
            Engine::Postgres => format!("(({column})::jsonb ->> {key})::bigint"),
        }
    }
}

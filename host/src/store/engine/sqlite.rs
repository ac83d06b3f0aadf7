//! SQLite, the embedded default: one file, one process.

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use super::{Begun, Driver};
use crate::store::Result;

pub(super) struct Sqlite;

impl Driver for Sqlite {
    /// A pool on the file, created if missing.
    fn connect<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<AnyPool>> {
        async move {
            sqlx::any::install_default_drivers();
            let url = if url.contains("mode=") || url.contains(":memory:") {
                url.to_owned()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            Ok(AnyPoolOptions::new()
                .max_connections(8)
                // A connection to a file does not go stale the way one over
                // a network does, and checking it costs a round trip to its
                // thread on every statement taken from the pool.
                .test_before_acquire(false)
                .after_connect(|conn, _| {
                    async move {
                        // WAL lets readers run beside the one writer;
                        // writers queue behind each other (up to the busy
                        // timeout) instead of failing at once.
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
        .boxed()
    }

    fn migrator(&self) -> sqlx::migrate::Migrator {
        sqlx::migrate!("./migrations/sqlite")
    }

    /// `BEGIN IMMEDIATE` takes the database's one write lock at the start,
    /// so a transaction that reads before it writes waits for a concurrent
    /// writer instead of failing when it would have to upgrade its read
    /// lock. Writers of different tenants queue too: the file has one.
    fn begin_write<'a>(
        &'a self,
        pool: &'a AnyPool,
        _tenants: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Begun>> {
        async move { Ok(pool.begin_with("BEGIN IMMEDIATE").await?) }.boxed()
    }

    fn single_writer(&self) -> bool {
        true
    }

    fn capacity_on_channel(&self, column: &str, key: &str) -> String {
        format!("json_extract({column}, '$.' || {key})")
    }
}

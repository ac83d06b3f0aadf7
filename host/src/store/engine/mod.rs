//! The two database engines. What each does its own way (connecting,
//! migrations, how a write transaction excludes other writers, the few SQL
//! functions that differ) is the [`Driver`] trait, implemented once per
//! engine in [`sqlite`] and [`postgres`]. Everything else in the store is
//! SQL both engines read the same way: `$1` placeholders, `ON CONFLICT`,
//! `RETURNING`, integers as 64-bit (flags are 0/1 integers, never booleans,
//! because SQLite has none).

mod postgres;
mod sqlite;

use futures_util::future::BoxFuture;
use sqlx::AnyPool;

use super::{Result, StoreError};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// One file, one process: the embedded default.
    Sqlite,
    /// One server, any number of Baton processes.
    Postgres,
}

/// A write transaction as an engine begins it.
pub(super) type Begun = sqlx::Transaction<'static, sqlx::Any>;

/// A write transaction, on either engine: used as the connection it runs
/// on (`&mut *tx`), then committed, or rolled back when dropped.
pub(crate) struct WriteTx {
    tx: Begun,
    /// SQLite: this process's writer turn (see `Store::begin_write`),
    /// given back when the transaction ends.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub(super) fn new(tx: Begun, turn: Option<tokio::sync::OwnedMutexGuard<()>>) -> Self {
        Self { tx, _turn: turn }
    }

    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// What one engine does its own way. The store holds the engine and asks
/// its driver; the SQL of every read and write is shared.
pub(super) trait Driver: Send + Sync {
    /// A connection pool on `url`.
    fn connect<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<AnyPool>>;

    /// This engine's migrations (`host/migrations/<engine>`).
    fn migrator(&self) -> sqlx::migrate::Migrator;

    /// A write transaction on the data of `tenants` (none: on everything).
    /// It waits for every other writer of those tenants, in any process,
    /// and then sees what they committed, so a transaction that reads
    /// before it writes decides on what is current; writes to everything
    /// exclude every writer.
    fn begin_write<'a>(
        &'a self,
        pool: &'a AnyPool,
        tenants: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Begun>>;

    /// Whether the database has one writer at a time whatever the tenants
    /// (SQLite): a process's writers then queue for it in the process (see
    /// `Store::begin_write`) instead of waiting in the database.
    fn single_writer(&self) -> bool;

    /// SQL for the integer under the key `key` (an SQL expression) of the
    /// JSON object in `column`, NULL when absent: an agent's capacity per
    /// channel is stored as such an object.
    fn capacity_on_channel(&self, column: &str, key: &str) -> String;
}

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

    /// This engine's own ways of doing what the store needs.
    pub(super) fn driver(self) -> &'static dyn Driver {
        match self {
            Engine::Sqlite => &sqlite::Sqlite,
            Engine::Postgres => &postgres::Postgres,
        }
    }
}

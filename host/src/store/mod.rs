//! Persistence. All SQL lives here, behind [`Store`]; the rest of the host
//! speaks in domain types. SQLite is the embedded default.

mod agent_work;
mod agents;
mod appends;
mod arriving;
mod bindings;
mod bots;
mod collaboration;
mod companies;
mod conversations;
mod creates;
mod drafts;
mod engine;
mod events;
mod gauges;
mod handling;
mod help_desk;
mod idempotency;
mod leases;
mod lifecycle;
mod members;
mod notifications;
mod offers;
mod outbound_mail;
mod outbox;
mod outcome;
mod pipelines;
mod plugins;
mod removal;
mod rules;
mod settings;
mod sql;
mod tenants;
#[cfg(test)]
pub(crate) mod testing;
mod ticket_changes;
mod ticket_edits;
mod ticket_link;
mod ticket_moves;
mod ticket_thread;
mod tickets;
mod timers;
mod versions;
mod workflow_runs;

use sqlx::AnyPool;

use crate::clock::Clock;
use crate::domain::{Millis, TenantId};

pub use engine::Engine;
use engine::WriteTx;

pub use arriving::Arriving;
pub use bindings::{BindingRecord, BindingWritten};
pub use collaboration::Stats;
pub use conversations::ConversationFilter;
pub use events::EventRecord;
pub use handling::{TransferRecord, transferred};
pub use lifecycle::CustomerView;
pub use notifications::{
    AttemptResult, DeliveryRecord, NotificationRecord, NotifySettings, Outgoing,
};
pub use offers::AcceptRefusal;
pub use outbound_mail::OutgoingMail;
pub use plugins::{FailureRecord, PluginRecord};
pub use tenants::TenantRecord;
pub use ticket_link::TicketSummary;
pub use timers::{LIFECYCLE_TOPIC, Lifecycle, TimerRecord};
pub use versions::StateVersions;
pub use workflow_runs::WorkflowRun;

pub use companies::CompanyRecord;
pub use drafts::DraftRecord;
pub use help_desk::{Delivery, HELP_DESK_TOPIC, InboundEmail};
pub use pipelines::PipelineRefusal;
pub use ticket_edits::{NewTicket, TicketPatch};
pub use ticket_moves::SplitRefusal;
pub use ticket_thread::{Reply, ThreadMessage};
pub use tickets::{TicketFilter, TicketRecord, TicketStats, Visibility};

/// Errors from the database layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Unsupported(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Map a unique-constraint violation to [`StoreError::Conflict`].
    fn conflict_on_unique(error: sqlx::Error, what: &str) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(what.to_owned())
            }
            _ => StoreError::Database(error),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The database behind one Baton process: SQLite embedded, or PostgreSQL
/// shared by several processes. Both engines run the same SQL (written in
/// the dialect they share, through sqlx's `Any` driver); what differs
/// between them (connecting, migrations, how a write transaction excludes
/// other writers) is each engine's [`engine::Driver`].
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    engine: Engine,
    clock: Clock,
    /// This process's name in the dispatch leases (see `leases`).
    holder: std::sync::Arc<str>,
    /// The database's one writer, where it has one (SQLite), taken in turn
    /// by this process's writers (see `Store::begin_write`).
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// New conversations waiting to be written together (see `creates`).
    creates: std::sync::Arc<creates::Creates>,
}

impl Store {
    /// Open (creating if missing) and migrate the database at `url`
    /// (`sqlite://path` or `postgres://user@host/db`); every timestamp
    /// written comes from `clock`.
    pub async fn connect(url: &str, clock: Clock) -> Result<Self> {
        let engine = Engine::of_url(url)?;
        let pool = engine.driver().connect(url).await?;
        engine.driver().migrator().run(&pool).await?;
        let holder = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        let store = Self {
            pool,
            engine,
            clock,
            holder: holder.into(),
            writer: std::sync::Arc::default(),
            creates: std::sync::Arc::default(),
        };
        // What migration 0030 could not do in SQL.
        store.hash_plain_customer_tokens().await?;
        Ok(store)
    }

    /// The current time by the store's clock.
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The engine this store runs on.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// How many of this build's migrations the database has not applied
    /// (a round trip to the database, so also whether it answers). Zero
    /// after start-up unless the database was replaced or restored from an
    /// older backup underneath the process.
    pub async fn migrations_pending(&self) -> Result<usize> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_all(&self.pool)
                .await?;
        let known = self.engine.driver().migrator();
        Ok(known
            .iter()
            .filter(|migration| !applied.contains(&migration.version))
            .count())
    }
}

impl Store {
    /// A write transaction that excludes every other writer (see
    /// [`engine::Driver::begin_write`]): for writes that belong to no one
    /// tenant.
    async fn write(&self) -> Result<WriteTx> {
        self.begin_write(&[]).await
    }

    /// A write transaction on one tenant's data: it waits for the other
    /// writers of that tenant (and for writes to every tenant), so a
    /// transaction that reads before it writes decides on what is current.
    async fn write_for(&self, tenant: &TenantId) -> Result<WriteTx> {
        self.begin_write(&[tenant.as_str()]).await
    }

    /// [`Store::write_for`] for several tenants at once (group commit).
    async fn write_for_all<'t>(
        &self,
        tenants: impl Iterator<Item = &'t TenantId>,
    ) -> Result<WriteTx> {
        let tenants: Vec<&str> = tenants.map(TenantId::as_str).collect();
        self.begin_write(&tenants).await
    }

    async fn begin_write(&self, tenants: &[&str]) -> Result<WriteTx> {
        let turn = self.writer_turn().await;
        let tx = self
            .engine
            .driver()
            .begin_write(&self.pool, tenants)
            .await?;
        Ok(WriteTx::new(tx, turn))
    }

    /// With one writer (SQLite), this process's turn at it: this process's
    /// writers (tenants' turns side by side, HTTP handlers, the notifier)
    /// queue for it here, in order, rather than each retrying on SQLite's
    /// busy timer, whose sleeps (up to 100 ms) would be the tail of every
    /// latency. `None` on engines with many writers.
    async fn writer_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        if self.engine.driver().single_writer() {
            Some(self.writer.clone().lock_owned().await)
        } else {
            None
        }
    }

    /// Run one write statement on its own (its own transaction), in this
    /// process's turn at the writer.
    async fn execute_write<'q>(
        &self,
        statement: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> std::result::Result<sqlx::any::AnyQueryResult, sqlx::Error> {
        let _turn = self.writer_turn().await;
        statement.execute(&self.pool).await
    }
}

/// Decode an optional id column, treating anything malformed as absent.
fn opt_id<T>(value: Option<String>, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
    value.as_deref().and_then(parse)
}

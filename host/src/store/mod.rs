//! Persistence. All SQL lives here, behind [`Store`]; the rest of the host
//! speaks in domain types. SQLite is the embedded default.

mod agents;
mod bindings;
mod bots;
mod collaboration;
mod companies;
mod conversations;
mod drafts;
mod events;
mod handling;
mod help_desk;
mod lifecycle;
mod members;
mod notifications;
mod offers;
mod outbound_mail;
mod outbox;
mod outcome;
mod pipelines;
mod plugins;
mod rules;
mod settings;
mod tenants;
mod ticket_changes;
mod ticket_edits;
mod ticket_link;
mod ticket_moves;
mod ticket_thread;
mod tickets;
mod timers;
mod workflow_runs;

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;

use crate::clock::Clock;
use crate::domain::Millis;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use agents::{AgentRecord, NewAgent, TeamRecord};
pub use bindings::{BindingRecord, BindingWritten};
pub use bots::BotRecord;
pub use collaboration::Stats;
pub use conversations::{
    ConversationFilter, ConversationRecord, HistoryRecord, MessageRecord, NewConversation,
};
pub use events::EventRecord;
pub use handling::{TransferRecord, transferred};
pub use lifecycle::CustomerView;
pub use notifications::{
    AttemptResult, DeliveryRecord, Notice, NotificationRecord, NotifySettings, Outgoing,
};
pub use offers::AcceptRefusal;
pub use outbound_mail::OutgoingMail;
pub use outcome::{Change, HistoryEntry, Outcome};
pub use plugins::{FailureRecord, PluginRecord};
pub use tenants::TenantRecord;
pub(crate) use tenants::hex;
pub use ticket_link::TicketSummary;
pub use timers::{LIFECYCLE_TOPIC, Lifecycle, TimerRecord};
pub use workflow_runs::WorkflowRun;

pub use companies::CompanyRecord;
pub use drafts::DraftRecord;
pub use help_desk::{Delivery, HELP_DESK_TOPIC, HelpDesk, InboundEmail};
pub use pipelines::{PipelineRecord, PipelineRefusal, StageRecord};
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

/// The database behind one Baton process.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    clock: Clock,
}

impl Store {
    /// Open (creating if missing) and migrate the database at `url`; every
    /// timestamp written comes from `clock`.
    pub async fn connect(url: &str, clock: Clock) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Err(StoreError::Unsupported(
                "PostgreSQL is not supported yet; use a sqlite:// URL".into(),
            ));
        }
        if !url.starts_with("sqlite:") {
            return Err(StoreError::Unsupported(format!(
                "unsupported database URL {url:?}; expected sqlite://path"
            )));
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // Writers queue behind each other instead of failing at once.
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let store = Self { pool, clock };
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
}

impl Store {
    /// A write transaction. `BEGIN IMMEDIATE` takes SQLite's write lock at
    /// the start, so a transaction that reads before it writes waits for a
    /// concurrent writer (up to the busy timeout) instead of failing when it
    /// would have to upgrade its read lock.
    async fn write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// Decode an optional id column, treating anything malformed as absent.
fn opt_id<T>(value: Option<String>, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
    value.as_deref().and_then(parse)
}

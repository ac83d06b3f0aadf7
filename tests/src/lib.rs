//! Test support: start the real server on a random loopback port with a
//! fresh database, and talk to it over HTTP.
//!
//! # Two halves: SQLite and PostgreSQL
//!
//! Every end-to-end test is written once, as `#[baton_e2e::test] async fn
//! name() { .. }`, and runs twice: `name::sqlite` and `name::postgres` (see
//! the `baton-e2e-macros` crate). Each half selects its engine for the
//! test's thread ([`engine::run`]); [`TestApp`] then starts its servers on
//! that engine:
//!
//! - SQLite: a `baton.db` file in the server's temporary directory.
//! - PostgreSQL: a fresh database per server directory,
//!   `baton_e2e_<pid>_<n>`, created on the server that the environment
//!   variable `BATON_TEST_POSTGRES_URL` points at (an admin URL such as
//!   `postgres://root@127.0.0.1:5432/test`; its user needs `CREATEDB`). A
//!   server restarted on the same directory, or started beside another
//!   with [`TestApp::spawn_beside`], uses the same database; it is dropped
//!   when no longer used (see [`engine`]).
//!
//! Without `BATON_TEST_POSTGRES_URL` (unset or empty) the PostgreSQL half
//! prints `skipped: PostgreSQL half needs BATON_TEST_POSTGRES_URL ...` on
//! stderr and passes without running. One half alone: `cargo test -p
//! baton-e2e -- ::sqlite` or `-- ::postgres`.

use baton_host::api::AppState;
use baton_host::api::admission::AdmissionLimits;
use baton_host::domain::Millis;
use baton_host::notify::address::WebhookPolicy;
use baton_host::notify::email::SmtpConfig;
use baton_host::plugin::SandboxLimits;
use baton_host::{App, Clock, Settings};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub use baton_e2e_macros::test;
pub use engine::{Database, Engine};

pub mod engine;
pub mod receivers;

/// Paths of the plugin components built from source by `build.rs`.
pub mod plugins {
    include!(concat!(env!("OUT_DIR"), "/test_plugins.rs"));
}

/// 2026-11-23T00:00:00Z, a Monday (09:00 in Tokyo): where manual clocks start.
pub const MONDAY_0000_UTC: Millis = Millis(1_795_392_000_000);

/// The operator token every test server uses.
pub const OPERATOR_TOKEN: &str = "test-operator-token";

/// The queue sweep's interval on test servers: long enough that a test
/// sees the queue retried only by what it does, unless it starts a server
/// with [`TestApp::spawn_sweeping`].
pub const TEST_QUEUE_SWEEP: std::time::Duration = std::time::Duration::from_secs(3_600);

/// Where test servers let webhooks go: every receiver in these tests
/// listens on loopback, so private addresses are allowed unless a test
/// starts its server with [`TestApp::spawn_with_webhooks`].
pub const TEST_WEBHOOKS: WebhookPolicy = WebhookPolicy {
    allow_private: true,
};

/// A running server and an HTTP client for it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// Keeps the database directory alive as long as the app: the SQLite
    /// file, or the name of the PostgreSQL database (see [`engine`]).
    pub dir: tempfile::TempDir,
    /// The server's clock: manual for tests that move time by hand.
    pub clock: Clock,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Holds the server's database; after `dir`, so that it is dropped
    /// after the directory (a PostgreSQL database goes with the last
    /// server on it once its directory is gone).
    _database: Database,
}

/// A response: status and JSON body (`null` if the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

/// What a test server is started with besides its database and clock.
struct Launch {
    limits: SandboxLimits,
    smtp: Option<SmtpConfig>,
    queue_sweep: std::time::Duration,
    webhooks: WebhookPolicy,
    admission: AdmissionLimits,
}

impl Default for Launch {
    fn default() -> Self {
        Self {
            limits: SandboxLimits::default(),
            smtp: None,
            queue_sweep: TEST_QUEUE_SWEEP,
            webhooks: TEST_WEBHOOKS,
            admission: AdmissionLimits::default(),
        }
    }
}

impl TestApp {
    /// Start a server on a fresh database.
    pub async fn spawn() -> Self {
        Self::spawn_with(
            tempfile::tempdir().expect("temp dir"),
            SandboxLimits::default(),
        )
        .await
    }

    /// Start a server on a fresh database whose clock stands still at
    /// `start` until the test moves it with [`TestApp::clock`].
    pub async fn spawn_at(start: Millis) -> Self {
        Self::spawn_on(
            tempfile::tempdir().expect("temp dir"),
            SandboxLimits::default(),
            Clock::manual(start),
        )
        .await
    }

    /// Start a server on the database in `dir` with the given limits.
    pub async fn spawn_with(dir: tempfile::TempDir, limits: SandboxLimits) -> Self {
        Self::spawn_on(dir, limits, Clock::system()).await
    }

    /// Start a server on the database in `dir` with the given limits and clock.
    pub async fn spawn_on(dir: tempfile::TempDir, limits: SandboxLimits, clock: Clock) -> Self {
        Self::spawn_full(dir, limits, clock, None).await
    }

    /// Start a server on a fresh database, on a manual clock at `start`,
    /// sending notification e-mail to the SMTP server at `smtp_url`.
    pub async fn spawn_with_smtp(start: Millis, smtp_url: &str) -> Self {
        let smtp = SmtpConfig::parse(smtp_url, "baton@example.com").expect("SMTP URL");
        Self::spawn_full(
            tempfile::tempdir().expect("temp dir"),
            SandboxLimits::default(),
            Clock::manual(start),
            Some(smtp),
        )
        .await
    }

    /// [`TestApp::spawn_on`] with an SMTP server for notification e-mail.
    pub async fn spawn_full(
        dir: tempfile::TempDir,
        limits: SandboxLimits,
        clock: Clock,
        smtp: Option<SmtpConfig>,
    ) -> Self {
        let database = Database::open(dir.path()).await;
        Self::start(
            database,
            dir,
            clock,
            Launch {
                limits,
                smtp,
                ..Launch::default()
            },
        )
        .await
    }

    /// Start a server on a fresh database that sweeps the queue every
    /// `every` (see [`TestApp::sweep`]).
    pub async fn spawn_sweeping(every: std::time::Duration) -> Self {
        Self::spawn_fresh(Launch {
            queue_sweep: every,
            ..Launch::default()
        })
        .await
    }

    /// Start a server on a fresh database whose tenants' requests are
    /// admitted within `admission`, with plugins limited by `limits`.
    pub async fn spawn_with_admission(limits: SandboxLimits, admission: AdmissionLimits) -> Self {
        Self::spawn_fresh(Launch {
            limits,
            admission,
            ..Launch::default()
        })
        .await
    }

    /// Start a server on a fresh database, on the system clock.
    async fn spawn_fresh(launch: Launch) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = Database::open(dir.path()).await;
        Self::start(database, dir, Clock::system(), launch).await
    }

    /// A second server process on this server's database and clock, as
    /// when several `baton` processes share one database.
    pub async fn spawn_beside(&self) -> Self {
        let database = Database::open(self.dir.path()).await;
        let own = tempfile::tempdir().expect("temp dir");
        Self::start(database, own, self.clock.clone(), Launch::default()).await
    }

    /// Start a server on the database in `dir`, on `clock`, with webhooks
    /// limited by `webhooks` instead of [`TEST_WEBHOOKS`].
    pub async fn spawn_with_webhooks(
        dir: tempfile::TempDir,
        clock: Clock,
        webhooks: WebhookPolicy,
    ) -> Self {
        let database = Database::open(dir.path()).await;
        Self::start(
            database,
            dir,
            clock,
            Launch {
                webhooks,
                ..Launch::default()
            },
        )
        .await
    }

    async fn start(
        database: Database,
        dir: tempfile::TempDir,
        clock: Clock,
        launch: Launch,
    ) -> Self {
        let settings = Settings {
            addr: "127.0.0.1:0".into(),
            database_url: database.url().to_owned(),
            operator_token: Some(OPERATOR_TOKEN.into()),
            limits: launch.limits,
            smtp: launch.smtp,
            webhooks: launch.webhooks,
            queue_sweep: launch.queue_sweep,
            dispatch_lease: Settings::DEFAULT_DISPATCH_LEASE,
            dispatch_concurrency: Settings::DEFAULT_DISPATCH_CONCURRENCY,
            admission: launch.admission,
            shutdown_grace: Settings::DEFAULT_SHUTDOWN_GRACE,
        };
        let app = App::start_with_clock(&settings, OPERATOR_TOKEN.into(), clock.clone())
            .await
            .expect("server starts");
        let state = app.state().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.serve(listener, async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        Self {
            base,
            client: reqwest::Client::new(),
            dir,
            clock,
            state,
            stop: Some(stop),
            task: Some(task),
            _database: database,
        }
    }

    /// Move the (manual) clock forward, then wait until every timer due by
    /// then has fired and the dispatcher has handled what that set off.
    pub async fn advance(&self, by: std::time::Duration) {
        assert!(
            self.clock.advance(by),
            "advance needs a server started with spawn_at"
        );
        self.settle().await;
    }

    /// Wait for one full pass of the timer worker, then until the
    /// dispatcher has handled every event, including those that handling
    /// events wrote.
    pub async fn settle(&self) {
        let wait = std::time::Duration::from_secs(10);
        assert!(self.state.timers.pass(wait).await, "timer pass finished");
        loop {
            let last = self.state.store.last_event_id().await.expect("events");
            assert!(
                self.state.dispatch.wait_settled(last, wait).await,
                "events dispatched"
            );
            if self.state.store.last_event_id().await.expect("events") == last {
                return;
            }
        }
    }

    /// The id of the last event written, by any tenant (0 before the first).
    pub async fn last_event_id(&self) -> i64 {
        self.state.store.last_event_id().await.expect("events")
    }

    /// Wait for the next queue sweep to run on its own schedule (the
    /// server must have been started with [`TestApp::spawn_sweeping`]),
    /// then for what it set off.
    pub async fn sweep(&self) {
        let wait = std::time::Duration::from_secs(10);
        assert!(
            self.state.dispatch.sweeps().next(wait).await,
            "a queue sweep ran"
        );
        self.settle().await;
    }

    /// [`TestApp::settle`], then one full pass of the notification worker:
    /// every delivery due by the clock now has been tried.
    pub async fn deliver(&self) {
        self.settle().await;
        self.deliver_now().await;
    }

    /// One full pass of the notification worker alone: after a restart,
    /// when the new dispatcher has no event of its own to wait for.
    pub async fn deliver_now(&self) {
        let wait = std::time::Duration::from_secs(10);
        assert!(self.state.notify.pass(wait).await, "delivery pass finished");
    }

    /// Stop the server and hand back its database directory.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let placeholder = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, placeholder)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("body read");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, body }
    }

    /// A request with an arbitrary body and content type.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(key)
            .header("content-type", content_type)
            .body(body);
        self.send(request).await
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        self.send(
            self.client
                .get(format!("{}{path}", self.base))
                .bearer_auth(key),
        )
        .await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Reply {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .bearer_auth(key)
                .json(&body),
        )
        .await
    }

    pub async fn put(&self, path: &str, key: &str, body: Value) -> Reply {
        self.send(
            self.client
                .put(format!("{}{path}", self.base))
                .bearer_auth(key)
                .json(&body),
        )
        .await
    }

    pub async fn patch(&self, path: &str, key: &str, body: Value) -> Reply {
        self.send(
            self.client
                .patch(format!("{}{path}", self.base))
                .bearer_auth(key)
                .json(&body),
        )
        .await
    }

    /// Create a tenant; returns its API key.
    pub async fn tenant(&self, name: &str) -> String {
        let reply = self
            .post("/v1/tenants", OPERATOR_TOKEN, json!({ "name": name }))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.body["api_key"].as_str().expect("api_key").to_owned()
    }

    /// Create an agent with the given chat capacity; returns its id.
    pub async fn agent(&self, key: &str, name: &str, chat_capacity: u32) -> String {
        let reply = self
            .post(
                "/v1/agents",
                key,
                json!({
                    "name": name,
                    "email": format!("{}@example.com", name.to_lowercase()),
                    "role": "agent",
                    "capacity": {"chat": chat_capacity, "email": 10, "call": 1}
                }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.body["id"].as_str().expect("id").to_owned()
    }

    /// Set an agent's presence.
    pub async fn presence(&self, key: &str, agent: &str, status: &str) {
        let reply = self
            .put(
                &format!("/v1/agents/{agent}/status"),
                key,
                json!({ "status": status }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    }

    /// Create a chat conversation; returns the conversation as created.
    pub async fn conversation(&self, key: &str, message: &str) -> Value {
        self.conversation_on(key, "chat", message).await
    }

    /// Create a conversation on `channel`; returns it as created.
    pub async fn conversation_on(&self, key: &str, channel: &str, message: &str) -> Value {
        let reply = self
            .post(
                "/v1/conversations",
                key,
                json!({
                    "channel": channel,
                    "subject": "Help",
                    "contact": {"name": "Kim", "email": "kim@example.com"},
                    "message": message
                }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.body
    }

    /// Close a conversation.
    pub async fn close(&self, key: &str, conversation: &str) {
        let path = format!("/v1/conversations/{conversation}/status");
        let reply = self.put(&path, key, json!({"status": "closed"})).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    }

    /// Bind a plugin (built-in name or id) as the assignment strategy.
    pub async fn bind_strategy(&self, key: &str, plugin: &str) {
        let reply = self
            .put("/v1/routing/assignment", key, json!({"plugin": plugin}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    }

    /// Upload a component from a file; returns the reply.
    pub async fn upload(&self, key: &str, path: &str) -> Reply {
        let bytes = std::fs::read(path).expect("component built");
        self.raw(
            reqwest::Method::POST,
            "/v1/plugins",
            key,
            "application/wasm",
            bytes,
        )
        .await
    }
}

/// Rows in a table of the database a stopped [`TestApp`] left in `dir`
/// (SQLite or PostgreSQL, whichever it ran on): for checking what was, or
/// was not, written.
pub async fn count_rows(dir: &std::path::Path, table: &str) -> i64 {
    use sqlx::Connection;
    let url = engine::url_of(dir);
    let sql = format!("SELECT COUNT(*) FROM {table}");
    if engine::tied_database(dir).is_some() {
        let mut db = sqlx::PgConnection::connect(&url)
            .await
            .expect("open the database");
        let count = sqlx::query_scalar(&sql)
            .fetch_one(&mut db)
            .await
            .expect("count rows");
        let _ = db.close().await;
        count
    } else {
        let mut db = sqlx::SqliteConnection::connect(&url)
            .await
            .expect("open the database");
        sqlx::query_scalar(&sql)
            .fetch_one(&mut db)
            .await
            .expect("count rows")
    }
}

/// Everything the database of the server in `dir` holds, to search for
/// what must not be stored: every byte of its SQLite files (the WAL
/// included), or every row of every table of its PostgreSQL database as
/// text. Blocks: for code that cannot await.
pub fn database_bytes(dir: &std::path::Path) -> Vec<u8> {
    if engine::tied_database(dir).is_none() {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(dir).expect("database directory") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                bytes.extend(std::fs::read(&path).expect("readable"));
            }
        }
        return bytes;
    }
    let url = engine::url_of(dir);
    engine::block_on_own_runtime(async move {
        use sqlx::Connection;
        let mut db = sqlx::PgConnection::connect(&url)
            .await
            .expect("open the database");
        let tables: Vec<(String, String)> = sqlx::query_as(
            "SELECT schemaname::text, tablename::text FROM pg_tables \
             WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
        )
        .fetch_all(&mut db)
        .await
        .expect("list tables");
        let mut bytes = Vec::new();
        for (schema, table) in tables {
            let sql = format!(
                r#"SELECT COALESCE(string_agg(t::text, E'\n'), '') FROM "{schema}"."{table}" t"#
            );
            let rows: String = sqlx::query_scalar(&sql)
                .fetch_one(&mut db)
                .await
                .expect("read a table");
            bytes.extend(rows.into_bytes());
            bytes.push(b'\n');
        }
        let _ = db.close().await;
        bytes
    })
}

/// The assignee id of a conversation, if an agent has it.
pub fn assigned_agent(conversation: &Value) -> Option<String> {
    let assignee = &conversation["assignee"];
    (assignee["kind"] == "agent").then(|| assignee["id"].as_str().unwrap_or_default().to_owned())
}

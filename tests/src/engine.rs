//! Which store engine a test runs on, and the databases its servers get.
//!
//! [`run`] selects the engine for one half of a `#[baton_e2e::test]` in a
//! thread-local: `#[tokio::test]` runs the test on a current-thread
//! runtime, so everything the test starts (servers, spawned tasks) sees
//! the same engine through [`Engine::current`].
//!
//! On PostgreSQL each test server's data directory is tied to a database
//! of its own, `baton_e2e_<pid>_<n>`, created through the admin URL in
//! [`POSTGRES_URL_VAR`]. Its name is kept in the file [`MARKER`] in the
//! directory, so a server restarted on that directory, or started beside
//! it, uses the same database. A database is dropped once no [`Database`]
//! holds it and its directory is gone: when the last one is dropped, or
//! when a test ends (one left by a stopped server that was never
//! restarted). What a killed test process left behind is dropped by the
//! next one: databases named after a process that no longer runs.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use sqlx::Connection as _;

/// The environment variable with the admin URL of the PostgreSQL server
/// the PostgreSQL half runs on; unset or empty, that half is skipped.
pub const POSTGRES_URL_VAR: &str = "BATON_TEST_POSTGRES_URL";

/// What [`POSTGRES_URL_VAR`] looks like.
pub const POSTGRES_URL_EXAMPLE: &str = "postgres://root@127.0.0.1:5432/test";

/// The file in a server's directory that names its PostgreSQL database.
pub const MARKER: &str = "postgres-database";

/// How every test database's name starts; then `<pid>_<n>`.
const PREFIX: &str = "baton_e2e_";

/// A store engine the end-to-end tests run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

thread_local! {
    static SELECTED: Cell<Engine> = const { Cell::new(Engine::Sqlite) };
}

impl Engine {
    /// The engine of the test running on this thread: SQLite outside
    /// [`run`] (the load generator, for one).
    pub fn current() -> Self {
        SELECTED.with(Cell::get)
    }
}

/// The admin URL from [`POSTGRES_URL_VAR`], if set.
pub fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// Run one half of a test on `engine`. The PostgreSQL half without
/// [`POSTGRES_URL_VAR`] says so on stderr and passes without running.
pub async fn run(engine: Engine, test: impl Future<Output = ()>) {
    if engine == Engine::Postgres && postgres_url().is_none() {
        eprintln!(
            "skipped: PostgreSQL half needs {POSTGRES_URL_VAR} (e.g. {POSTGRES_URL_EXAMPLE})"
        );
        return;
    }
    let _selected = Selected::new(engine);
    // Declared after the guard, so dropped before it (on a panic too):
    // the guard's sweep then sees the test's directories gone.
    let test = test;
    test.await;
}

/// Selects an engine on this thread; on drop, selects the one before and
/// drops the databases the test left unused.
struct Selected {
    before: Engine,
}

impl Selected {
    fn new(engine: Engine) -> Self {
        Self {
            before: SELECTED.replace(engine),
        }
    }
}

impl Drop for Selected {
    fn drop(&mut self) {
        SELECTED.set(self.before);
        let unused: Vec<String> = {
            let mut live = databases();
            let unused: Vec<String> = live
                .iter()
                .filter(|(_, use_)| use_.servers == 0 && !use_.home.exists())
                .map(|(name, _)| name.clone())
                .collect();
            for name in &unused {
                live.remove(name);
            }
            unused
        };
        drop_databases(unused);
    }
}

/// The database of the server whose data lives in a directory: a SQLite
/// file in it, or the PostgreSQL database it is tied to. While one is
/// held, its PostgreSQL database is not dropped.
#[derive(Debug)]
pub struct Database {
    url: String,
    postgres: Option<String>,
}

impl Database {
    /// The database for data in `dir` on the current engine; on
    /// PostgreSQL the one `dir` is tied to, created if it has none yet.
    pub async fn open(dir: &Path) -> Self {
        Self::open_on(Engine::current(), dir.to_owned()).await
    }

    /// [`Database::open`] for code that cannot await.
    pub fn open_blocking(dir: &Path) -> Self {
        let (engine, dir) = (Engine::current(), dir.to_owned());
        block_on_own_runtime(Self::open_on(engine, dir))
    }

    async fn open_on(engine: Engine, dir: PathBuf) -> Self {
        match engine {
            Engine::Sqlite => Self {
                url: sqlite_url(&dir),
                postgres: None,
            },
            Engine::Postgres => {
                let admin = postgres_url()
                    .unwrap_or_else(|| panic!("the PostgreSQL half needs {POSTGRES_URL_VAR}"));
                let name = match tied_database(&dir) {
                    Some(name) => name,
                    None => {
                        let name = create_database(&admin).await;
                        std::fs::write(dir.join(MARKER), &name)
                            .expect("note the database's name in its directory");
                        name
                    }
                };
                databases()
                    .entry(name.clone())
                    .or_insert(Use {
                        home: dir,
                        servers: 0,
                    })
                    .servers += 1;
                Self {
                    url: with_database(&admin, &name),
                    postgres: Some(name),
                }
            }
        }
    }

    /// The URL to give a server.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let Some(name) = self.postgres.take() else {
            return;
        };
        let unused = {
            let mut live = databases();
            match live.get_mut(&name) {
                Some(use_) => {
                    use_.servers -= 1;
                    let unused = use_.servers == 0 && !use_.home.exists();
                    if unused {
                        live.remove(&name);
                    }
                    unused
                }
                None => false,
            }
        };
        if unused {
            drop_databases(vec![name]);
        }
    }
}

/// The URL of the database that the data in `dir` is in, whichever the
/// engine: what [`Database::open`] gave the server that wrote it.
pub fn url_of(dir: &Path) -> String {
    match tied_database(dir) {
        Some(name) => with_database(
            &postgres_url().unwrap_or_else(|| panic!("{POSTGRES_URL_VAR} is not set")),
            &name,
        ),
        None => sqlite_url(dir),
    }
}

/// The PostgreSQL database `dir` is tied to, if any.
pub fn tied_database(dir: &Path) -> Option<String> {
    match std::fs::read_to_string(dir.join(MARKER)) {
        Ok(name) => Some(name.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("read {}: {e}", dir.join(MARKER).display()),
    }
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("baton.db").display())
}

/// `admin` with its database replaced by `name`, query string kept.
fn with_database(admin: &str, name: &str) -> String {
    let (base, query) = match admin.find('?') {
        Some(at) => admin.split_at(at),
        None => (admin, ""),
    };
    let host_at = base.find("://").map_or(0, |at| at + 3);
    let path_at = base[host_at..]
        .find('/')
        .map_or(base.len(), |at| host_at + at);
    format!("{}/{name}{query}", &base[..path_at])
}

/// A PostgreSQL database's users in this process.
struct Use {
    /// The directory tied to it: while it exists, the database may be
    /// wanted again.
    home: PathBuf,
    /// The [`Database`]s that hold it.
    servers: usize,
}

static DATABASES: Mutex<BTreeMap<String, Use>> = Mutex::new(BTreeMap::new());

fn databases() -> std::sync::MutexGuard<'static, BTreeMap<String, Use>> {
    DATABASES.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn admin_connection(admin: &str) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(admin)
        .await
        .unwrap_or_else(|e| panic!("connect to {POSTGRES_URL_VAR} ({admin}): {e}"))
}

/// A new, empty database: `baton_e2e_<pid>_<n>`.
async fn create_database(admin: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    static SWEPT: AtomicBool = AtomicBool::new(false);
    let mut connection = admin_connection(admin).await;
    if !SWEPT.swap(true, Ordering::SeqCst) {
        drop_abandoned(&mut connection).await;
    }
    let name = format!(
        "{PREFIX}{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    sqlx::query(&format!(r#"CREATE DATABASE "{name}""#))
        .execute(&mut connection)
        .await
        .unwrap_or_else(|e| panic!("create the test database {name}: {e}"));
    let _ = connection.close().await;
    name
}

/// Drop the test databases of processes that no longer run (killed
/// before their tests cleaned up). Needs /proc to tell; without it,
/// leaves them.
async fn drop_abandoned(connection: &mut sqlx::PgConnection) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let names: Vec<String> = match sqlx::query_scalar("SELECT datname::text FROM pg_database")
        .fetch_all(&mut *connection)
        .await
    {
        Ok(names) => names,
        Err(e) => {
            eprintln!("list databases to drop abandoned test ones: {e}");
            return;
        }
    };
    for name in names {
        let pid = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once('_'))
            .and_then(|(pid, n)| n.parse::<u64>().ok().and(pid.parse::<u32>().ok()));
        let Some(pid) = pid else { continue };
        if pid != std::process::id() && !proc.join(pid.to_string()).exists() {
            drop_database(connection, &name).await;
        }
    }
}

async fn drop_database(connection: &mut sqlx::PgConnection, name: &str) {
    let sql = format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#);
    if let Err(e) = sqlx::query(&sql).execute(connection).await {
        eprintln!("drop the test database {name}: {e}");
    }
}

/// Drop databases now, from code that cannot await (a `Drop`). Never
/// panics: a database that could not be dropped is reported on stderr
/// and left for the next test process.
fn drop_databases(names: Vec<String>) {
    if names.is_empty() {
        return;
    }
    let Some(admin) = postgres_url() else {
        eprintln!("{POSTGRES_URL_VAR} is gone: cannot drop {names:?}");
        return;
    };
    let dropped = std::thread::Builder::new()
        .name("drop test databases".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut connection = sqlx::PgConnection::connect(&admin).await?;
                for name in &names {
                    drop_database(&mut connection, name).await;
                }
                connection.close().await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .map_err(|e| e.to_string())
        .and_then(|thread| {
            thread
                .join()
                .map_err(|_| "panicked".to_owned())?
                .map_err(|e| e.to_string())
        });
    if let Err(e) = dropped {
        eprintln!("drop test databases: {e}");
    }
}

/// Run `future` to completion on a runtime of its own, on a thread of its
/// own: for code that cannot await but runs inside a test's runtime.
pub(crate) fn block_on_own_runtime<F>(future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(future)
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_is_replaced_in_the_admin_url() {
        let cases = [
            (
                "postgres://root@127.0.0.1:5432/test",
                "postgres://root@127.0.0.1:5432/db",
            ),
            ("postgres://root@localhost", "postgres://root@localhost/db"),
            (
                "postgresql://u:p@h/test?sslmode=disable",
                "postgresql://u:p@h/db?sslmode=disable",
            ),
            (
                "postgres://h:5432/?sslmode=disable",
                "postgres://h:5432/db?sslmode=disable",
            ),
        ];
        for (admin, expected) in cases {
            assert_eq!(with_database(admin, "db"), expected, "{admin}");
        }
    }
}

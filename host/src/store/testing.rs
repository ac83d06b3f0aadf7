//! Databases for the store's own tests: a SQLite file always, and a fresh
//! PostgreSQL database when `BATON_TEST_POSTGRES_URL` names a server (the
//! end-to-end tests' variable), dropped when the test is done.

use sqlx::Connection as _;

/// A database for one test; a PostgreSQL one is dropped on [`TestDb::drop_now`].
pub(crate) struct TestDb {
    pub(crate) url: String,
    admin: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// One database per engine this machine can run.
    pub(crate) async fn all() -> Vec<TestDb> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut dbs = vec![TestDb {
            url: format!("sqlite://{}", dir.path().join("baton.db").display()),
            admin: None,
            _dir: Some(dir),
        }];
        match std::env::var("BATON_TEST_POSTGRES_URL") {
            Ok(admin) if !admin.trim().is_empty() => {
                let name = format!("baton_unit_{}", uuid::Uuid::new_v4().simple());
                sqlx::any::install_default_drivers();
                let mut conn = sqlx::AnyConnection::connect(&admin)
                    .await
                    .expect("PostgreSQL server");
                sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut conn)
                    .await
                    .expect("create database");
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                dbs.push(TestDb {
                    url: format!("{base}/{name}"),
                    admin: Some((admin.clone(), name)),
                    _dir: None,
                });
            }
            _ => eprintln!("skipped: the PostgreSQL engine needs BATON_TEST_POSTGRES_URL"),
        }
        dbs
    }

    /// Drop a PostgreSQL database (the store using it must be dropped).
    pub(crate) async fn drop_now(self) {
        if let Some((admin, name)) = self.admin {
            let mut conn = sqlx::AnyConnection::connect(&admin)
                .await
                .expect("PostgreSQL server");
            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .expect("drop database");
        }
    }
}

/// Run `test` on a fresh store of each engine this machine can run, its
/// clock at 1 s.
pub(crate) async fn on_each_engine(test: impl AsyncFn(&super::Store)) {
    for db in TestDb::all().await {
        let clock = crate::clock::Clock::manual(crate::domain::Millis(1_000));
        let store = super::Store::connect(&db.url, clock).await.expect("store");
        test(&store).await;
        drop(store);
        db.drop_now().await;
    }
}

/// A chat from Kim saying "hello", as the store's tests create it.
pub(crate) fn kims_chat() -> crate::domain::NewConversation {
    crate::domain::NewConversation {
        channel: crate::domain::Channel::Chat,
        subject: Some("Help".into()),
        contact_name: None,
        contact_email: Some("kim@example.com".into()),
        contact_owner: None,
        attributes: serde_json::Map::new(),
        message: Some("hello".into()),
        priority: crate::domain::Priority::Normal,
    }
}

/// Ana, an agent of `tenant` taking three chats, as the store's tests
/// create her.
pub(crate) async fn ana(
    store: &super::Store,
    tenant: &crate::domain::TenantId,
) -> crate::domain::AgentRecord {
    use crate::domain::{Capacity, NewAgent, Role, TicketAccess};
    store
        .create_agent(
            tenant,
            NewAgent {
                name: "Ana".into(),
                email: "ana@example.com".into(),
                role: Role::Agent,
                teams: Vec::new(),
                capacity: Capacity::from_json("{\"chat\":3}"),
                ticket_access: TicketAccess::Own,
            },
        )
        .await
        .expect("agent")
}

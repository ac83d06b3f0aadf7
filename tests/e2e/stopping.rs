//! What an operator relies on: `/healthz` and `/readyz` answer without
//! credentials and say what is wrong; every response carries its request's
//! id; SIGTERM lets the requests in flight finish, routing included, and
//! the process exits 0.

use std::time::{Duration, Instant};

use baton_e2e::engine::{Database, url_of};
use baton_e2e::{OPERATOR_TOKEN, TestApp, plugins};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection as _;

use crate::server_process::ServerProcess;

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[baton_e2e::test]
async fn probes_answer_without_credentials_and_name_what_is_not_ready() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    let (status, live) = send(client.get(format!("{}/healthz", app.base))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(live, json!({"status": "ok"}));
    let (status, ready) = send(client.get(format!("{}/readyz", app.base))).await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    assert_eq!(
        ready,
        json!({
            "status": "ready",
            "checks": {"database": "ok", "migrations": "ok", "dispatcher": "running"}
        })
    );

    // The database restored from a backup older than this build: the
    // last migration is missing, and the process says so.
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&url_of(app.dir.path()))
        .await
        .expect("database");
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .execute(&mut db)
    .await
    .expect("a migration forgotten");
    let (status, ready) = send(client.get(format!("{}/readyz", app.base))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["status"], "not ready");
    assert_eq!(ready["checks"]["migrations"], "1 pending");
    assert_eq!(ready["checks"]["database"], "ok");
    // Liveness does not depend on the database.
    let (status, _) = send(client.get(format!("{}/healthz", app.base))).await;
    assert_eq!(status, StatusCode::OK);
}

#[baton_e2e::test]
async fn every_response_carries_its_requests_id() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::new();
    // The caller's id comes back as given, on errors too.
    let given = client
        .get(format!("{}/v1/conversations", app.base))
        .header("x-request-id", "ticket-4711")
        .send()
        .await
        .expect("answered");
    assert_eq!(given.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(given.headers()["x-request-id"], "ticket-4711");
    // Without one, each response gets an id of its own.
    let mut made = Vec::new();
    for path in ["/healthz", "/healthz", "/no/such/route"] {
        let response = client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("answered");
        let id = response.headers()["x-request-id"]
            .to_str()
            .expect("text")
            .to_owned();
        assert_eq!(id.len(), 36, "a UUID: {id}");
        made.push(id);
    }
    made.dedup();
    assert_eq!(made.len(), 3, "{made:?}");
}

/// A server whose tenant's strategy spends `plugin_ms` on every call (the
/// test plugin spin-forever, stopped by the wall-clock limit), stopping
/// within `grace_secs`; its tenant key.
async fn server_with_a_slow_strategy(
    database: &Database,
    plugin_ms: &str,
    grace_secs: &str,
) -> (ServerProcess, String) {
    let server = ServerProcess::start(
        database.url(),
        OPERATOR_TOKEN,
        &[
            ("BATON_PLUGIN_FUEL", "100000000000000"),
            ("BATON_PLUGIN_TIMEOUT_MS", plugin_ms),
            ("BATON_SHUTDOWN_GRACE_SECS", grace_secs),
        ],
    );
    let base = &server.base;
    let client = reqwest::Client::new();
    let (status, tenant) = send(
        client
            .post(format!("{base}/v1/tenants"))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&json!({"name": "Stopping"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{tenant}");
    let key = tenant["api_key"].as_str().expect("key").to_owned();
    // Someone to assign, so the strategy is called.
    let (status, agent) = send(
        client
            .post(format!("{base}/v1/agents"))
            .bearer_auth(&key)
            .json(&json!({"name": "Ava", "email": "ava@example.com", "role": "agent"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");
    let (status, _) = send(
        client
            .put(format!(
                "{base}/v1/agents/{}/status",
                agent["id"].as_str().expect("id")
            ))
            .bearer_auth(&key)
            .json(&json!({"status": "available"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let component = std::fs::read(plugins::SPIN_FOREVER).expect("spin-forever built");
    let (status, plugin) = send(
        client
            .post(format!("{base}/v1/plugins"))
            .bearer_auth(&key)
            .header("content-type", "application/wasm")
            .body(component),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{plugin}");
    let (status, bound) = send(
        client
            .put(format!("{base}/v1/routing/assignment"))
            .bearer_auth(&key)
            .json(&json!({"plugin": plugin["id"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{bound}");
    (server, key)
}

/// Create a conversation on a task of its own and return once its
/// routing is under way (the conversation is written and the request waits
/// for its routing); the task gives the reply, or the transport error.
async fn conversation_in_flight(
    base: &str,
    key: &str,
) -> tokio::task::JoinHandle<Result<(StatusCode, Value), reqwest::Error>> {
    let client = reqwest::Client::new();
    let request = client
        .post(format!("{base}/v1/conversations"))
        .bearer_auth(key)
        .json(&json!({
            "channel": "chat",
            "contact": {"name": "Kim"},
            "message": "Where is my order?"
        }));
    let in_flight = tokio::spawn(async move {
        let response = request.send().await?;
        let status = response.status();
        Ok((status, response.json().await?))
    });
    let waiting_since = Instant::now();
    loop {
        let (_, listed) = send(
            client
                .get(format!("{base}/v1/conversations"))
                .bearer_auth(key),
        )
        .await;
        if listed["items"].as_array().is_some_and(|l| !l.is_empty()) {
            return in_flight;
        }
        assert!(
            waiting_since.elapsed() < Duration::from_secs(30),
            "the conversation never appeared"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// SIGTERM while a conversation's routing is under way (its strategy
/// spends its whole second on the call): the request is answered, the
/// process exits 0, and the port takes no new connection afterwards.
#[baton_e2e::test]
async fn sigterm_lets_the_request_in_flight_finish_and_exits_zero() {
    let dir = tempfile::tempdir().expect("dir");
    let database = Database::open(dir.path()).await;
    let (mut server, key) = server_with_a_slow_strategy(&database, "1000", "20").await;
    let in_flight = conversation_in_flight(&server.base, &key).await;
    server.terminate();

    let (status, conversation) = in_flight
        .await
        .expect("the request task")
        .expect("the request in flight is answered");
    assert_eq!(status, StatusCode::CREATED, "{conversation}");
    // Routing ran to its end: the strategy ran out of time and the host's
    // fallback decided.
    assert_eq!(conversation["routing"], "assigned", "{conversation}");
    assert_eq!(
        conversation["history"][0]["decided_by"], "fallback",
        "{conversation}"
    );
    let exit = server.wait_for_exit(Duration::from_secs(30));
    assert!(exit.success(), "the process exited with {exit}");
    let client = reqwest::Client::new();
    assert!(
        client
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .is_err(),
        "the port still takes connections"
    );
}

/// A stop that outlasts its grace period ends anyway, with status 1: the
/// request in flight (its strategy takes 20 s) is cut off after the 1 s
/// grace, and its conversation waits in the database for the next start.
#[baton_e2e::test]
async fn a_stop_past_its_grace_period_exits_one() {
    let dir = tempfile::tempdir().expect("dir");
    let database = Database::open(dir.path()).await;
    let (mut server, key) = server_with_a_slow_strategy(&database, "20000", "1").await;
    let in_flight = conversation_in_flight(&server.base, &key).await;
    server.terminate();

    let exit = server.wait_for_exit(Duration::from_secs(15));
    assert_eq!(exit.code(), Some(1), "the process exited with {exit}");
    let reply = in_flight.await.expect("the request task");
    assert!(reply.is_err(), "answered after all: {reply:?}");
}

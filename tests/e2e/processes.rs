//! Several `baton serve` processes on one database: every conversation is
//! routed exactly once whichever process it arrives at, and a process
//! killed while it holds a tenant's events loses nothing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use baton_e2e::engine::Database;
use baton_e2e::{OPERATOR_TOKEN, assigned_agent};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection as _;

use crate::server_process::ServerProcess;

/// A dispatch lease short enough for a test to wait out.
const LEASE_SECS: &str = "2";

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// Create a chat conversation at `server`; `None` if the server did not
/// answer (it was killed meanwhile).
async fn create(client: &reqwest::Client, base: &str, key: &str, i: usize) -> Option<Value> {
    let reply = client
        .post(format!("{base}/v1/conversations"))
        .bearer_auth(key)
        .json(&json!({
            "channel": "chat",
            "subject": format!("Order {i}"),
            "contact": {"name": format!("Customer {i}"), "email": format!("c{i}@example.com")},
            "message": "Where is my order?"
        }))
        .send()
        .await
        .ok()?;
    assert_eq!(reply.status(), StatusCode::CREATED);
    reply.json().await.ok()
}

/// The process (by pid) holding the tenant's dispatch lease, if any.
async fn lease_holder(url: &str, tenant: &str) -> Option<u32> {
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(url).await.expect("database");
    let holder: Option<String> =
        sqlx::query_scalar("SELECT holder FROM dispatch_leases WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_optional(&mut db)
            .await
            .expect("lease read");
    holder.and_then(|h| h.split('-').next()?.parse().ok())
}

#[baton_e2e::test]
async fn three_processes_route_each_conversation_once_and_survive_a_kill() {
    let dir = tempfile::tempdir().expect("dir");
    let database = Database::open(dir.path()).await;
    let url = database.url().to_owned();
    let mut servers: Vec<ServerProcess> = (0..3)
        .map(|_| {
            ServerProcess::start(
                &url,
                OPERATOR_TOKEN,
                &[("BATON_DISPATCH_LEASE_SECS", LEASE_SECS)],
            )
        })
        .collect();
    let client = reqwest::Client::new();

    let (status, tenant) = send(
        client
            .post(format!("{}/v1/tenants", servers[0].base))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&json!({"name": "Shared"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{tenant}");
    let key = tenant["api_key"].as_str().expect("key").to_owned();
    let tenant_id = tenant["id"].as_str().expect("id").to_owned();
    for i in 0..8 {
        // Agents are made at different processes: all see the same data.
        let base = &servers[i % 3].base;
        let (status, agent) = send(
            client
                .post(format!("{base}/v1/agents"))
                .bearer_auth(&key)
                .json(&json!({
                    "name": format!("Agent {i}"),
                    "email": format!("agent{i}@example.com"),
                    "role": "agent",
                    "capacity": {"chat": 50}
                })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{agent}");
        let id = agent["id"].as_str().expect("id");
        let (status, _) = send(
            client
                .put(format!("{base}/v1/agents/{id}/status"))
                .bearer_auth(&key)
                .json(&json!({"status": "available"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }

    // 60 conversations at once, 20 through each process.
    let first = join_all((0..60).map(|i| create(&client, &servers[i % 3].base, &key, i))).await;
    assert!(first.iter().all(Option::is_some), "every process answered");

    // Kill the process that holds the tenant's events, in the middle of a
    // second wave sent to all three.
    let holder = lease_holder(&url, &tenant_id)
        .await
        .expect("a process holds the tenant");
    let victim = servers
        .iter()
        .position(|s| s.pid() == holder)
        .expect("the holder is one of ours");
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let wave = tokio::spawn({
        let (client, key) = (client.clone(), key.clone());
        async move {
            join_all((60..120).map(|i| {
                let (client, key, base) = (client.clone(), key.clone(), bases[i % 3].clone());
                async move { create(&client, &base, &key, i).await }
            }))
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    servers[victim].kill();
    let second = wave.await.expect("second wave");
    let survivor = servers[(victim + 1) % 3].base.clone();

    // Every conversation that exists, including those the killed process
    // wrote but never answered, ends up assigned exactly once, within a
    // short lease.
    let deadline = Instant::now() + Duration::from_secs(30);
    let conversations = loop {
        let (status, list) = send(
            client
                .get(format!("{survivor}/v1/conversations?limit=1000"))
                .bearer_auth(&key),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let list = list["items"].as_array().expect("a list").clone();
        let waiting = list.iter().filter(|c| assigned_agent(c).is_none()).count();
        if waiting == 0 {
            break list;
        }
        assert!(
            Instant::now() < deadline,
            "{waiting} of {} conversations still unassigned after the lease expired",
            list.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let answered = first.len() + second.iter().filter(|c| c.is_some()).count();
    assert!(
        conversations.len() >= answered,
        "{} conversations stored, {answered} answered",
        conversations.len()
    );
    assert!(
        second.iter().filter(|c| c.is_some()).count() >= 40,
        "the surviving processes answered their share"
    );

    let mut assigned: HashMap<String, u64> = HashMap::new();
    for conversation in &conversations {
        let id = conversation["id"].as_str().expect("id");
        let (status, detail) = send(
            client
                .get(format!("{survivor}/v1/conversations/{id}"))
                .bearer_auth(&key),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        let assignments = detail["history"]
            .as_array()
            .expect("history")
            .iter()
            .filter(|h| h["action"] == "assigned")
            .count();
        assert_eq!(assignments, 1, "one assignment for {id}: {detail}");
        *assigned
            .entry(assigned_agent(&detail).expect("assigned"))
            .or_default() += 1;
    }
    let (status, agents) = send(
        client
            .get(format!("{survivor}/v1/agents"))
            .bearer_auth(&key),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for agent in agents["items"].as_array().expect("agents") {
        let id = agent["id"].as_str().expect("id");
        assert_eq!(
            agent["load"]["chat"].as_u64().unwrap_or(0),
            assigned.get(id).copied().unwrap_or(0),
            "load of {id} equals its assignments: {agent}"
        );
    }
    drop(servers);
    drop(database);
}

/// Two servers on one database: an offer accepted through both at once is
/// won once, and each notification (a new chat offered to both agents)
/// reaches its receiver's webhook once although both servers' delivery
/// workers run.
#[baton_e2e::test]
async fn two_servers_award_an_offer_once_and_deliver_each_notification_once() {
    use baton_e2e::TestApp;
    use baton_e2e::receivers::WebhookReceiver;

    let first = TestApp::spawn().await;
    let second = first.spawn_beside().await;
    let key = first.tenant("Acme").await;
    let secret = first.get("/v1/settings/notifications", &key).await.body["signing_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let hook = WebhookReceiver::start(&secret).await;
    let mut agents = Vec::new();
    for name in ["Ana", "Ben"] {
        let agent = first.agent(&key, name, 10).await;
        let set = second
            .put(
                &format!("/v1/agents/{agent}/notifications/settings"),
                &key,
                json!({"types": {"new_chat": ["chat_webhook"]}, "chat_webhook_url": hook.url}),
            )
            .await;
        assert_eq!(set.status, StatusCode::OK, "{set:?}");
        second.presence(&key, &agent, "available").await;
        agents.push(agent);
    }
    second.bind_strategy(&key, "simultaneous-offer").await;

    for round in 0..3 {
        let conversation = first.conversation(&key, "who takes it?").await;
        assert_eq!(conversation["routing"], "offered", "{conversation}");
        let id = conversation["id"].as_str().expect("id").to_owned();
        let path = format!("/v1/conversations/{id}/accept");
        let (a, b) = tokio::join!(
            first.post(&path, &key, json!({"agent": agents[0]})),
            second.post(&path, &key, json!({"agent": agents[1]})),
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "round {round}: {a:?} {b:?}"
        );
        let detail = second
            .get(&format!("/v1/conversations/{id}"), &key)
            .await
            .body;
        let assignments = detail["history"]
            .as_array()
            .expect("history")
            .iter()
            .filter(|h| h["action"] == "assigned")
            .count();
        assert_eq!(assignments, 1, "{detail}");
    }

    // Both delivery workers pass over the same pending deliveries.
    first.settle().await;
    second.settle().await;
    tokio::join!(first.deliver_now(), second.deliver_now());
    tokio::join!(first.deliver_now(), second.deliver_now());
    // A new chat offered to both: one notification each, three times.
    let requests = hook.wait_for(6).await;
    assert_eq!(hook.processed().len(), 6, "{requests:?}");
    assert_eq!(hook.duplicates(), 0, "each notification sent once");
    assert_eq!(hook.requests().len(), 6, "{:?}", hook.requests());
}

/// Each process keeps the tenant's settings and agents in memory; a change
/// made through one process is what the other routes by at once, whichever
/// of them holds the tenant's events.
#[baton_e2e::test]
async fn a_change_made_through_one_server_routes_the_next_conversation_on_the_other() {
    use baton_e2e::TestApp;

    let first = TestApp::spawn().await;
    let second = first.spawn_beside().await;
    let key = first.tenant("Acme").await;
    let ana = first.agent(&key, "Ana", 10).await;
    first.presence(&key, &ana, "available").await;
    // Both processes have routed for the tenant, so both hold its state.
    for server in [&first, &second] {
        let warm = server.conversation(&key, "hello").await;
        assert_eq!(
            assigned_agent(&warm).as_deref(),
            Some(ana.as_str()),
            "{warm}"
        );
    }

    for round in 0..2 {
        let (writer, other) = if round == 0 {
            (&first, &second)
        } else {
            (&second, &first)
        };
        let manual = writer
            .put("/v1/settings/assignment", &key, json!({"mode": "manual"}))
            .await;
        assert_eq!(manual.status, StatusCode::OK, "{manual:?}");
        let waiting = other.conversation(&key, "settings moved").await;
        assert_eq!(waiting["routing"], "unclaimed", "round {round}: {waiting}");

        let automatic = writer
            .put(
                "/v1/settings/assignment",
                &key,
                json!({"mode": "automatic"}),
            )
            .await;
        assert_eq!(automatic.status, StatusCode::OK, "{automatic:?}");
        writer.presence(&key, &ana, "away").await;
        let queued = other.conversation(&key, "nobody free").await;
        assert_eq!(assigned_agent(&queued), None, "round {round}: {queued}");
        assert_eq!(queued["routing"], "queued", "round {round}: {queued}");

        // Back: the queued one goes to Ana as she returns.
        writer.presence(&key, &ana, "available").await;
        first.settle().await;
        second.settle().await;
        let path = format!("/v1/conversations/{}", queued["id"].as_str().expect("id"));
        let drained = other.get(&path, &key).await.body;
        assert_eq!(
            assigned_agent(&drained).as_deref(),
            Some(ana.as_str()),
            "{drained}"
        );
        let assigned = other.conversation(&key, "routed again").await;
        assert_eq!(
            assigned_agent(&assigned).as_deref(),
            Some(ana.as_str()),
            "{assigned}"
        );
    }
}

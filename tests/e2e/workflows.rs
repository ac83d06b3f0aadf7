//! Workflow plugins: the default templates configured without code, their
//! timers on a manual clock, conditions and switching off, the record of
//! what each did, and the guard that stops a loop between workflows.

use std::time::Duration;

use baton_e2e::{MONDAY_0000_UTC, TestApp, assigned_agent, plugins};
use reqwest::StatusCode;
use serde_json::{Value, json};

const MINUTE: Duration = Duration::from_secs(60);

fn id(c: &Value) -> String {
    c["id"].as_str().expect("id").to_owned()
}

async fn available(app: &TestApp, key: &str, name: &str) -> String {
    let agent = app.agent(key, name, 5).await;
    app.presence(key, &agent, "available").await;
    agent
}

async fn bind(app: &TestApp, key: &str, workflows: Value) {
    let reply = app
        .put(
            "/v1/routing/workflows",
            key,
            json!({"workflows": workflows}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
}

async fn get(app: &TestApp, key: &str, conversation: &str) -> Value {
    app.get(&format!("/v1/conversations/{conversation}"), key)
        .await
        .body
}

async fn runs(app: &TestApp, key: &str, conversation: &str) -> Vec<Value> {
    app.get(
        &format!("/v1/workflows/runs?conversation={conversation}"),
        key,
    )
    .await
    .body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[baton_e2e::test]
async fn assign_by_content_gives_questions_about_returns_to_their_agent() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let _ana = available(&app, &key, "Ana").await;
    let aya = available(&app, &key, "Aya").await;
    bind(
        &app,
        &key,
        json!([{"plugin": "assign-by-content", "config": {"rules": [
            {"phrases": ["return", "返品"], "agent": aya, "tag": "returns"}
        ]}}]),
    )
    .await;

    let c = id(&app.conversation(&key, "商品の返品をしたいです").await);
    app.settle().await;
    let now = get(&app, &key, &c).await;
    assert_eq!(assigned_agent(&now).as_deref(), Some(aya.as_str()), "{now}");
    assert_eq!(now["tags"], json!(["returns"]));
    let last = now["history"].as_array().and_then(|h| h.last()).cloned();
    assert_eq!(last.unwrap_or_default()["plugin"], "assign-by-content");
    let recorded = runs(&app, &key, &c).await;
    assert!(
        recorded.iter().any(|r| r["plugin"] == "assign-by-content"
            && r["actions"].to_string().contains("assigned to")),
        "{recorded:?}"
    );

    let other = id(&app.conversation(&key, "Where is my parcel?").await);
    app.settle().await;
    assert_eq!(get(&app, &key, &other).await["tags"], json!([]));
}

#[baton_e2e::test]
async fn handoff_rotation_gives_handed_over_conversations_to_owners_in_turn_per_channel() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let a = available(&app, &key, "Ana").await;
    let b = available(&app, &key, "Ben").await;
    let c = available(&app, &key, "Cai").await;
    let bot = app
        .post(
            "/v1/bots",
            &key,
            json!({"name": "Bot", "channels": ["chat", "email"]}),
        )
        .await;
    assert_eq!(bot.status, StatusCode::CREATED);
    bind(
        &app,
        &key,
        json!([{"plugin": "handoff-rotation", "config": {"rotations": {"chat": [a, b], "email": [c]}}}]),
    )
    .await;
    let mut owners = Vec::new();
    for channel in ["chat", "chat", "email", "chat"] {
        let conversation = id(&app.conversation_on(&key, channel, "Hello").await);
        let reply = app
            .post(
                &format!("/v1/conversations/{conversation}/messages"),
                &key,
                json!({"author": "customer", "body": "I need a human"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
        app.settle().await;
        owners.push(assigned_agent(&get(&app, &key, &conversation).await).unwrap_or_default());
    }
    assert_eq!(owners, vec![a.clone(), b, c, a]);
}

#[baton_e2e::test]
async fn inactivity_close_closes_quiet_conversations_and_its_timer_survives_a_restart() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    bind(
        &app,
        &key,
        json!([{"plugin": "inactivity-close", "config": {"after_minutes": 30, "message": "Closing for now.", "tag": "auto-closed"}}]),
    )
    .await;
    let quiet = id(&app.conversation(&key, "hello").await);
    let busy = id(&app.conversation(&key, "hello").await);
    app.settle().await;
    let pending = get(&app, &key, &quiet).await["workflow_timers"].clone();
    assert_eq!(pending[0]["workflow"], "inactivity-close", "{pending}");

    app.advance(20 * MINUTE).await;
    let reply = app
        .post(
            &format!("/v1/conversations/{busy}/messages"),
            &key,
            json!({"author": "agent", "body": "Anything else?"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    app.settle().await;

    // The server goes down; the quiet one's deadline passes meanwhile.
    let clock = app.clock.clone();
    let dir = app.stop().await;
    clock.advance(15 * MINUTE);
    let app = TestApp::spawn_on(dir, Default::default(), clock).await;
    app.settle().await;
    let closed = get(&app, &key, &quiet).await;
    assert_eq!(closed["status"], "closed", "{closed}");
    assert_eq!(closed["tags"], json!(["auto-closed"]));
    assert!(closed["messages"].to_string().contains("Closing for now."));
    assert_eq!(get(&app, &key, &busy).await["status"], "open");

    app.advance(20 * MINUTE).await;
    assert_eq!(get(&app, &key, &busy).await["status"], "closed");
    let closings = runs(&app, &key, &quiet)
        .await
        .iter()
        .filter(|r| r["event_kind"] == "timer.fired")
        .count();
    assert_eq!(closings, 1, "the timer fired once");
}

#[baton_e2e::test]
async fn reply_deadline_reassigns_when_the_assignee_stays_silent() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let first = available(&app, &key, "Ana").await;
    let second = available(&app, &key, "Ben").await;
    bind(
        &app,
        &key,
        json!([{"plugin": "reply-deadline", "config": {"minutes": 15}}]),
    )
    .await;
    let c = id(&app.conversation(&key, "hello").await);
    app.settle().await;
    let owner = assigned_agent(&get(&app, &key, &c).await).expect("assigned");
    let other = if owner == first { &second } else { &first };

    app.advance(14 * MINUTE).await;
    assert_eq!(
        assigned_agent(&get(&app, &key, &c).await),
        Some(owner.clone())
    );
    app.advance(MINUTE).await;
    let moved = get(&app, &key, &c).await;
    assert_eq!(
        assigned_agent(&moved).as_deref(),
        Some(other.as_str()),
        "{moved}"
    );
    assert!(
        moved["messages"]
            .to_string()
            .contains("did not reply within 15 minutes"),
        "an internal note says why: {moved}"
    );

    // The new owner answers in time: nothing more happens.
    let reply = app
        .post(
            &format!("/v1/conversations/{c}/messages"),
            &key,
            json!({"author": "agent", "body": "Hello, I can help."}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    app.settle().await;
    app.advance(30 * MINUTE).await;
    assert_eq!(
        assigned_agent(&get(&app, &key, &c).await).as_deref(),
        Some(other.as_str())
    );
}

#[baton_e2e::test]
async fn escalate_waiting_notifies_and_assigns_the_supervisor_after_the_limit() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    // Two agents (so solo mode does not apply), nobody available.
    app.agent(&key, "Ana", 3).await;
    let boss = app.agent(&key, "Boss", 3).await;
    bind(
        &app,
        &key,
        json!([{"plugin": "escalate-waiting", "config": {"minutes": 10, "supervisor": boss, "assign": true}}]),
    )
    .await;
    let c = app.conversation(&key, "hello?").await;
    assert_eq!(c["routing"], "queued", "{c}");
    let c = id(&c);
    app.advance(9 * MINUTE).await;
    assert_eq!(get(&app, &key, &c).await["routing"], "queued");
    app.advance(MINUTE).await;
    let escalated = get(&app, &key, &c).await;
    assert_eq!(
        assigned_agent(&escalated).as_deref(),
        Some(boss.as_str()),
        "{escalated}"
    );
    assert_eq!(escalated["tags"], json!(["escalated"]));
    let notes = app
        .get(&format!("/v1/agents/{boss}/notifications"), &key)
        .await
        .body["items"]
        .clone();
    assert!(
        notes.to_string().contains("waited over 10 minutes"),
        "{notes}"
    );
}

#[baton_e2e::test]
async fn a_loop_between_workflows_is_stopped_and_recorded() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    available(&app, &key, "Ana").await;
    let uploaded = app.upload(&key, plugins::FLIP_STATUS).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{uploaded:?}");
    let plugin = uploaded.body["id"].as_str().expect("id").to_owned();
    bind(
        &app,
        &key,
        json!([
            {"plugin": plugin, "config": {"from": "open", "to": "snoozed"}},
            {"plugin": plugin, "config": {"from": "snoozed", "to": "open"}},
        ]),
    )
    .await;
    let c = id(&app.conversation(&key, "hello").await);
    let reply = app
        .put(
            &format!("/v1/conversations/{c}/status"),
            &key,
            json!({"status": "snoozed", "for": "1h"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    app.settle().await;

    let recorded = runs(&app, &key, &c).await;
    let stopped: Vec<&Value> = recorded
        .iter()
        .filter(|r| r["error"].as_str().is_some_and(|e| e.contains("loop")))
        .collect();
    assert!(!stopped.is_empty(), "{recorded:?}");
    assert!(recorded.len() <= 20, "bounded: {} runs", recorded.len());
    let failures = app.get("/v1/plugins/failures", &key).await.body["items"].clone();
    assert!(
        failures
            .as_array()
            .expect("failures")
            .iter()
            .any(|f| f["plugin"] == "flip-status" && f["fallback"] == "stopped"),
        "{failures}"
    );
    // Routing goes on.
    let next = app.conversation(&key, "still working?").await;
    assert_eq!(next["routing"], "assigned", "{next}");
}

#[baton_e2e::test]
async fn workflows_run_only_when_enabled_and_their_conditions_hold() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let uploaded = app.upload(&key, plugins::TAG_ON_CREATE).await;
    let plugin = uploaded.body["id"].as_str().expect("id").to_owned();
    let bad = app
        .put(
            "/v1/routing/workflows",
            &key,
            json!({"workflows": [{"plugin": plugin, "conditions": {"items": [{"field": "channel", "op": "in", "value": []}]}}]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.body["error"]["field"],
        "workflows[0].conditions.items[0].value"
    );
    let strategy_flag = app
        .put(
            "/v1/routing/assignment",
            &key,
            json!({"plugin": "round-robin", "enabled": false}),
        )
        .await;
    assert_eq!(strategy_flag.status, StatusCode::UNPROCESSABLE_ENTITY);
    bind(
        &app,
        &key,
        json!([{"plugin": plugin, "conditions": {"items": [{"field": "channel", "op": "equals", "value": "email"}]}}]),
    )
    .await;
    let chat = id(&app.conversation(&key, "hi").await);
    let email = id(&app.conversation_on(&key, "email", "hi").await);
    app.settle().await;
    assert_eq!(get(&app, &key, &chat).await["tags"], json!([]));
    assert_eq!(get(&app, &key, &email).await["tags"], json!(["new"]));

    let off = app
        .put(
            "/v1/routing/workflows/tag-on-create/enabled",
            &key,
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{off:?}");
    assert_eq!(off.body["workflows"][0]["enabled"], false);
    let later = id(&app.conversation_on(&key, "email", "hi").await);
    app.settle().await;
    assert_eq!(get(&app, &key, &later).await["tags"], json!([]));
}

#[baton_e2e::test]
async fn template_configs_are_checked_at_binding() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let cases = [
        (
            json!({"plugin": "reply-deadline", "config": {"minutes": 0}}),
            "workflows[0].config.minutes",
        ),
        (
            json!({"plugin": "escalate-waiting", "config": {"minutes": 5}}),
            "workflows[0].config.supervisor",
        ),
        (
            json!({"plugin": "assign-by-content", "config": {"rules": [{"phrases": ["x"], "agent": "ana"}]}}),
            "workflows[0].config.rules[0].agent",
        ),
        (
            json!({"plugin": "inactivity-close", "config": {"after_minutes": 5, "after": 5}}),
            "workflows[0].config.after",
        ),
    ];
    for (entry, field) in cases {
        let reply = app
            .put("/v1/routing/workflows", &key, json!({"workflows": [entry]}))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{entry}: {reply:?}"
        );
        assert_eq!(reply.body["error"]["field"], field, "{entry}: {reply:?}");
    }
}

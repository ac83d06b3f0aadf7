//! Built-in strategies, presence, the queue, and the assignment mode
//! (automatic, or manual: new conversations wait for a person).

use std::collections::HashMap;

use baton_e2e::{TestApp, assigned_agent};
use reqwest::StatusCode;
use serde_json::json;

#[baton_e2e::test]
async fn round_robin_spreads_nine_conversations_three_three_three() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let mut agents = Vec::new();
    for name in ["Ana", "Ben", "Cho"] {
        let id = app.agent(&key, name, 5).await;
        app.presence(&key, &id, "available").await;
        agents.push(id);
    }
    let mut counts: HashMap<String, u32> = HashMap::new();
    let mut order = Vec::new();
    for i in 0..9 {
        let conversation = app.conversation(&key, &format!("question {i}")).await;
        let agent = assigned_agent(&conversation).expect("assigned at once");
        *counts.entry(agent.clone()).or_default() += 1;
        order.push(agent);
        let history = conversation["history"].as_array().expect("history");
        let last = history.last().expect("one entry");
        assert_eq!(last["plugin"], "round-robin");
        assert_eq!(last["plugin_version"], "0.1.0");
        assert_eq!(last["decided_by"], "plugin");
    }
    for agent in &agents {
        assert_eq!(counts.get(agent), Some(&3), "{counts:?}");
    }
    // A strict rotation: no agent twice in a row.
    assert!(order.windows(2).all(|pair| pair[0] != pair[1]), "{order:?}");
}

#[baton_e2e::test]
async fn least_loaded_picks_the_agent_with_fewest_open() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let mut agents = Vec::new();
    for name in ["Ana", "Ben", "Cho"] {
        let id = app.agent(&key, name, 5).await;
        app.presence(&key, &id, "available").await;
        agents.push(id);
    }
    let mut first = Vec::new();
    for i in 0..3 {
        first.push(app.conversation(&key, &format!("q{i}")).await);
    }
    // Close Ben's conversation: loads are now 1, 0, 1.
    let bens = first
        .iter()
        .find(|c| assigned_agent(c).as_deref() == Some(agents[1].as_str()))
        .expect("Ben has one");
    let id = bens["id"].as_str().expect("id");
    let closed = app
        .put(
            &format!("/v1/conversations/{id}/status"),
            &key,
            json!({"status": "closed"}),
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{closed:?}");

    let bound = app
        .put(
            "/v1/routing/assignment",
            &key,
            json!({"plugin": "least-loaded", "config": {}}),
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{bound:?}");
    let next = app.conversation(&key, "who is free?").await;
    // Round-robin would have gone on to Ana; least-loaded picks Ben.
    assert_eq!(assigned_agent(&next).as_deref(), Some(agents[1].as_str()));
    assert_eq!(next["history"][0]["plugin"], "least-loaded");
}

#[baton_e2e::test]
async fn an_away_or_offline_agent_gets_nothing() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let ana = app.agent(&key, "Ana", 10).await;
    let ben = app.agent(&key, "Ben", 10).await;
    let cho = app.agent(&key, "Cho", 10).await;
    app.presence(&key, &ana, "available").await;
    app.presence(&key, &ben, "away").await;
    app.presence(&key, &cho, "offline").await;
    for i in 0..4 {
        let conversation = app.conversation(&key, &format!("q{i}")).await;
        assert_eq!(assigned_agent(&conversation).as_deref(), Some(ana.as_str()));
    }
}

#[baton_e2e::test]
async fn a_waiting_conversation_is_assigned_when_an_agent_becomes_available() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let ana = app.agent(&key, "Ana", 1).await;
    let older = app.conversation(&key, "first").await;
    let newer = app.conversation(&key, "second").await;
    for c in [&older, &newer] {
        assert_eq!(c["routing"], "queued", "{c}");
        assert!(c["assignee"].is_null());
    }
    let queued = app.get("/v1/conversations?routing=queued", &key).await;
    assert_eq!(queued.body["items"].as_array().map(Vec::len), Some(2));

    // Ana takes one chat at a time: the oldest goes first.
    app.presence(&key, &ana, "available").await;
    let older_id = older["id"].as_str().expect("id");
    let newer_id = newer["id"].as_str().expect("id");
    let older_now = app
        .get(&format!("/v1/conversations/{older_id}"), &key)
        .await
        .body;
    let newer_now = app
        .get(&format!("/v1/conversations/{newer_id}"), &key)
        .await
        .body;
    assert_eq!(assigned_agent(&older_now).as_deref(), Some(ana.as_str()));
    assert_eq!(newer_now["routing"], "queued");

    // Closing frees her capacity for the next in line.
    app.put(
        &format!("/v1/conversations/{older_id}/status"),
        &key,
        json!({"status": "closed"}),
    )
    .await;
    let newer_now = app
        .get(&format!("/v1/conversations/{newer_id}"), &key)
        .await
        .body;
    assert_eq!(assigned_agent(&newer_now).as_deref(), Some(ana.as_str()));
    let actions: Vec<&str> = newer_now["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["action"].as_str())
        .collect();
    assert_eq!(actions, ["queued", "assigned"]);
}

#[baton_e2e::test]
async fn the_queue_shows_position_and_waiting_time_oldest_first() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let ana = app.agent(&key, "Ana", 1).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(app.conversation(&key, &format!("q{i}")).await["id"].clone());
    }
    let queue = app.get("/v1/queue", &key).await.body;
    assert_eq!(queue["length"], 3, "{queue}");
    let waiting = queue["waiting"].as_array().expect("waiting");
    for (i, entry) in waiting.iter().enumerate() {
        assert_eq!(entry["position"], i + 1);
        assert_eq!(entry["id"], ids[i]);
        assert!(
            entry["waiting_ms"].as_i64().is_some_and(|ms| ms >= 0),
            "{entry}"
        );
    }

    app.presence(&key, &ana, "available").await;
    let queue = app.get("/v1/queue", &key).await.body;
    assert_eq!(queue["length"], 2, "{queue}");
    assert_eq!(queue["waiting"][0]["id"], ids[1]);
    assert_eq!(queue["waiting"][0]["position"], 1);
}

#[baton_e2e::test]
async fn in_manual_mode_new_conversations_wait_unclaimed_unless_a_rule_assigns_them() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let ana = app.agent(&key, "Ana", 3).await;
    let ben = app.agent(&key, "Ben", 3).await;
    for agent in [&ana, &ben] {
        app.presence(&key, agent, "available").await;
    }
    let defaults = app.get("/v1/settings/assignment", &key).await;
    assert_eq!(defaults.status, StatusCode::OK, "{defaults:?}");
    assert_eq!(defaults.body, json!({"mode": "automatic"}));
    let set = app
        .put("/v1/settings/assignment", &key, json!({"mode": "manual"}))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    assert_eq!(set.body, json!({"mode": "manual"}));
    assert_eq!(
        app.get("/v1/settings/assignment", &key).await.body,
        json!({"mode": "manual"})
    );

    // LiveAgent with several agents: a new conversation stays unassigned,
    // though both are free, and stays so while routing reacts to a status.
    let waiting = app.conversation(&key, "my order is late").await;
    assert_eq!(waiting["routing"], "unclaimed", "{waiting}");
    assert_eq!(assigned_agent(&waiting), None);
    let path = format!("/v1/conversations/{}", waiting["id"].as_str().expect("id"));
    app.presence(&key, &ana, "away").await;
    app.presence(&key, &ana, "available").await;
    assert_eq!(app.get(&path, &key).await.body["routing"], "unclaimed");
    let customer = app
        .post(
            &format!("{path}/messages"),
            &key,
            json!({"author": "customer", "body": "hello?"}),
        )
        .await;
    assert_eq!(customer.status, StatusCode::CREATED, "{customer:?}");
    assert_eq!(
        app.get(&path, &key).await.body["routing"],
        "unclaimed",
        "a customer's message does not send it to the strategy"
    );
    let queue = app.get("/v1/queue", &key).await.body;
    assert_eq!(queue["waiting"][0]["id"], waiting["id"], "{queue}");
    assert_eq!(queue["waiting"][0]["routing"], "unclaimed", "{queue}");

    // A rule that assigns still applies.
    let rule = app
        .post(
            "/v1/rules",
            &key,
            json!({"name": "Orders to Ben",
                   "conditions": {"items": [{"field": "subject", "op": "equals", "value": "Order"}]},
                   "target": {"kind": "members", "agents": [ben]}}),
        )
        .await;
    assert_eq!(rule.status, StatusCode::CREATED, "{rule:?}");
    let routed = app
        .post(
            "/v1/conversations",
            &key,
            json!({"channel": "chat", "subject": "Order", "message": "where is it?"}),
        )
        .await;
    assert_eq!(routed.status, StatusCode::CREATED, "{routed:?}");
    assert_eq!(
        assigned_agent(&routed.body),
        Some(ben.clone()),
        "{routed:?}"
    );

    // An agent takes the unclaimed one.
    let taken = app
        .post(
            &format!("/v1/queue/{}/answer", waiting["id"].as_str().expect("id")),
            &key,
            json!({"agent": ana}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::OK, "{taken:?}");
    assert_eq!(
        assigned_agent(&app.get(&path, &key).await.body),
        Some(ana.clone())
    );

    // Back to automatic: new conversations go to the strategy again.
    let set = app
        .put(
            "/v1/settings/assignment",
            &key,
            json!({"mode": "automatic"}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    let automatic = app.conversation(&key, "another question").await;
    assert_eq!(automatic["routing"], "assigned", "{automatic}");
}

#[baton_e2e::test]
async fn a_sole_admin_still_gets_everything_in_manual_mode() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Solo shop").await;
    let me = app
        .post("/v1/agents", &key, json!({"name": "Owner", "email": "owner@example.com", "role": "admin", "capacity": {"chat": 1}}))
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let set = app
        .put("/v1/settings/assignment", &key, json!({"mode": "manual"}))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    let c = app.conversation(&key, "hello").await;
    assert_eq!(assigned_agent(&c), Some(me), "{c}");
}

#[baton_e2e::test]
async fn the_assignment_mode_is_checked() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    for (body, field) in [
        (json!({"mode": "random"}), "mode"),
        (json!({"mode": "manual", "rules": true}), "rules"),
    ] {
        let refused = app.put("/v1/settings/assignment", &key, body.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {refused:?}"
        );
        assert_eq!(refused.body["error"]["field"], field, "{body}: {refused:?}");
    }
    let missing = app.put("/v1/settings/assignment", &key, json!({})).await;
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{missing:?}"
    );
    assert_eq!(
        app.get("/v1/settings/assignment", &key).await.body,
        json!({"mode": "automatic"}),
        "refused changes left the default"
    );
}

//! Built-in strategies, presence and the queue.

use std::collections::HashMap;

use baton_e2e::{TestApp, assigned_agent};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
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

#[tokio::test]
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
    assert_eq!(queued.body.as_array().map(Vec::len), Some(2));

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

#[tokio::test]
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

//! One tenant can neither see nor use another's data or plugins.

use baton_e2e::{TestApp, assigned_agent, plugins};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn tenants_cannot_see_or_use_each_others_conversations_agents_or_plugins() {
    let app = TestApp::spawn().await;
    let a = app.tenant("Alpha").await;
    let b = app.tenant("Beta").await;
    let b_agent = app.agent(&b, "Bea", 5).await;
    app.presence(&b, &b_agent, "available").await;
    let b_conversation = app.conversation(&b, "beta's customer").await;
    let b_conversation = b_conversation["id"].as_str().expect("id").to_owned();
    let b_plugin = app.upload(&b, plugins::PICK_LAST).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();

    // Reading.
    assert_eq!(
        app.get(&format!("/v1/conversations/{b_conversation}"), &a)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/v1/agents/{b_agent}"), &a).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.get("/v1/conversations", &a).await.body, json!([]));
    assert_eq!(app.get("/v1/agents", &a).await.body, json!([]));
    let a_plugins = app.get("/v1/plugins", &a).await.body;
    assert!(
        a_plugins
            .as_array()
            .expect("list")
            .iter()
            .all(|p| p["id"] != b_plugin.as_str())
    );

    // Using.
    let status = app
        .put(
            &format!("/v1/agents/{b_agent}/status"),
            &a,
            json!({"status": "away"}),
        )
        .await;
    assert_eq!(status.status, StatusCode::NOT_FOUND);
    let message = app
        .post(
            &format!("/v1/conversations/{b_conversation}/messages"),
            &a,
            json!({"author": "agent", "body": "hi"}),
        )
        .await;
    assert_eq!(message.status, StatusCode::NOT_FOUND);
    let bind = app
        .put("/v1/routing/assignment", &a, json!({"plugin": b_plugin}))
        .await;
    assert_eq!(bind.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bind.body["error"]["field"], "plugin");

    // Routing never crosses tenants: A's conversation waits rather than
    // going to B's available agent.
    let a_conversation = app.conversation(&a, "alpha's customer").await;
    assert_eq!(assigned_agent(&a_conversation), None);
    assert_eq!(a_conversation["routing"], "queued");
    let bea = app.get(&format!("/v1/agents/{b_agent}"), &b).await.body;
    assert_eq!(bea["status"], "available");
}

#[tokio::test]
async fn requests_without_a_valid_key_are_refused() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get("/v1/agents", "wrong").await.status,
        StatusCode::UNAUTHORIZED
    );
    let reply = app
        .post("/v1/tenants", "not-the-operator", json!({"name": "X"}))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body["error"]["code"], "unauthorized");
    let key = app.tenant("Alpha").await;
    // A tenant key is not an operator token.
    assert_eq!(
        app.post("/v1/tenants", &key, json!({"name": "Y"}))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

//! One tenant can neither see nor use another's data or plugins.

use baton_e2e::{TestApp, assigned_agent, plugins};
use reqwest::StatusCode;
use serde_json::json;

#[baton_e2e::test]
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
    assert_eq!(
        app.get("/v1/conversations", &a).await.body["items"],
        json!([])
    );
    assert_eq!(app.get("/v1/agents", &a).await.body["items"], json!([]));
    let a_plugins = app.get("/v1/plugins", &a).await.body["items"].clone();
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

#[baton_e2e::test]
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

/// A list filtered by another tenant's conversation, agent, bot, pipeline
/// or status is a 404 naming the filter, as reading that id directly is;
/// the same filter with the tenant's own ids answers 200.
#[baton_e2e::test]
async fn list_filters_naming_another_tenants_ids_are_not_found() {
    let app = TestApp::spawn().await;
    let a = app.tenant("Alpha").await;
    let b = app.tenant("Beta").await;

    // Each tenant gets an agent, a bot, a conversation and a pipeline.
    let mut ids = Vec::new();
    for key in [&a, &b] {
        let agent = app.agent(key, "Ana", 5).await;
        let bot = app
            .post(
                "/v1/bots",
                key,
                json!({"name": "Answer bot", "channels": ["call"]}),
            )
            .await;
        assert_eq!(bot.status, StatusCode::CREATED, "{bot:?}");
        let conversation = app.conversation(key, "hello").await;
        let pipeline = app
            .post(
                "/v1/pipelines",
                key,
                json!({"name": "Returns", "statuses": [{"name": "Requested"}, {"name": "Done", "closed": true}]}),
            )
            .await;
        assert_eq!(pipeline.status, StatusCode::CREATED, "{pipeline:?}");
        let text = |v: &serde_json::Value| v.as_str().expect("id").to_owned();
        ids.push([
            (
                "/v1/workflows/runs",
                "conversation",
                text(&conversation["id"]),
            ),
            ("/v1/conversations", "assignee", agent),
            ("/v1/conversations", "assignee", text(&bot.body["id"])),
            ("/v1/tickets", "owner", app.agent(key, "Bo", 5).await),
            ("/v1/tickets", "pipeline", text(&pipeline.body["id"])),
            (
                "/v1/tickets",
                "status",
                text(&pipeline.body["statuses"][0]["id"]),
            ),
        ]);
    }

    for (own, theirs) in ids[0].iter().zip(&ids[1]) {
        let (path, field, own_id) = own;
        let mine = app.get(&format!("{path}?{field}={own_id}"), &a).await;
        assert_eq!(mine.status, StatusCode::OK, "{path}?{field}: {mine:?}");
        assert!(mine.body["items"].is_array(), "{mine:?}");

        let their_id = &theirs.2;
        let other = app.get(&format!("{path}?{field}={their_id}"), &a).await;
        assert_eq!(
            other.status,
            StatusCode::NOT_FOUND,
            "{path}?{field}: {other:?}"
        );
        assert_eq!(other.body["error"]["code"], "not_found", "{other:?}");
        assert_eq!(other.body["error"]["field"], *field, "{other:?}");
        assert!(
            other.body["error"]["message"]
                .as_str()
                .expect("message")
                .contains(their_id.as_str()),
            "{other:?}"
        );
        // Its owner still finds it.
        let theirs_own = app.get(&format!("{path}?{field}={their_id}"), &b).await;
        assert_eq!(theirs_own.status, StatusCode::OK, "{theirs_own:?}");
    }

    // An assignee that is neither an agent nor a bot id is a bad field.
    let team = app.get("/v1/conversations?assignee=team_1", &a).await;
    assert_eq!(team.status, StatusCode::UNPROCESSABLE_ENTITY, "{team:?}");
    assert_eq!(team.body["error"]["field"], "assignee");
}

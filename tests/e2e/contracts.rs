//! Contract versions: plugins built against the released 0.1.0 and 0.2.0
//! still run beside 0.3.0 ones, and a version the host does not run is
//! refused at upload with a message naming it and the supported ones.

use baton_e2e::{TestApp, assigned_agent, plugins};
use reqwest::StatusCode;
use serde_json::json;

#[baton_e2e::test]
async fn the_host_lists_the_contract_versions_it_runs() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let listed = app.get("/v1/plugins/contracts", &key).await.body;
    assert_eq!(listed["current"], "0.3.0", "{listed}");
    assert_eq!(listed["supported"], json!(["0.1.0", "0.2.0", "0.3.0"]));
    let builtins = app.get("/v1/plugins", &key).await.body["items"].clone();
    assert!(
        builtins
            .as_array()
            .expect("plugins")
            .iter()
            .all(|p| p["contract"] == "0.3.0"),
        "the built-ins are built against the current contract: {builtins}"
    );
}

#[baton_e2e::test]
async fn a_workflow_built_against_0_1_0_still_runs() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let team = app
        .post("/v1/teams", &key, json!({"name": "Legacy desk"}))
        .await
        .body["id"]
        .as_str()
        .expect("team")
        .to_owned();
    let uploaded = app.upload(&key, plugins::LEGACY_TAGGER).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{uploaded:?}");
    assert_eq!(uploaded.body["contract"], "0.1.0");
    assert_eq!(uploaded.body["kind"], "workflow");
    assert_eq!(uploaded.body["subscribes"], json!(["conversation.created"]));
    let bound = app
        .put(
            "/v1/routing/workflows",
            &key,
            json!({"workflows": [{"plugin": uploaded.body["id"], "config": {"team": team}}]}),
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{bound:?}");

    let c = app.conversation(&key, "hello from the past").await;
    let id = c["id"].as_str().expect("id").to_owned();
    app.settle().await;
    let now = app.get(&format!("/v1/conversations/{id}"), &key).await.body;
    assert_eq!(now["tags"], json!(["legacy"]), "{now}");
    assert_eq!(
        now["team"],
        team.as_str(),
        "a 0.1.0 action converted: {now}"
    );
    let failures = app.get("/v1/plugins/failures", &key).await.body["items"].clone();
    assert_eq!(failures, json!([]));
}

#[baton_e2e::test]
async fn a_strategy_built_against_0_2_0_still_gets_its_candidates_with_their_ids() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let mut agents = Vec::new();
    for name in ["Ana", "Ben", "Cho", "Dee"] {
        let id = app.agent(&key, name, 3).await;
        agents.push(id);
    }
    // Dee stays offline: the plugin must see her and pass her over.
    for id in &agents[..3] {
        app.presence(&key, id, "available").await;
    }
    let uploaded = app.upload(&key, plugins::LEGACY_PICKER).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{uploaded:?}");
    assert_eq!(uploaded.body["contract"], "0.2.0");
    assert_eq!(uploaded.body["kind"], "assignment-strategy");
    let bound = app
        .put(
            "/v1/routing/assignment",
            &key,
            json!({"plugin": uploaded.body["id"], "fallback": "queue"}),
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{bound:?}");

    let c = app.conversation(&key, "hello from 0.2.0").await;
    let id = c["id"].as_str().expect("id").to_owned();
    app.settle().await;
    let now = app.get(&format!("/v1/conversations/{id}"), &key).await.body;
    let mut available = agents[..3].to_vec();
    available.sort();
    assert_eq!(
        assigned_agent(&now).as_deref(),
        available.last().map(String::as_str),
        "the greatest id among the available ones, read from the 0.2.0 fields: {now}"
    );
    let decided = now["history"]
        .as_array()
        .expect("history")
        .iter()
        .find(|h| h["plugin"] == "legacy-picker")
        .unwrap_or_else(|| panic!("decided by the plugin: {now}"));
    assert_eq!(
        decided["reason"], "legacy-picker: greatest id of 4 candidates",
        "every agent in scope was converted down: {decided}"
    );
    let failures = app.get("/v1/plugins/failures", &key).await.body["items"].clone();
    assert_eq!(failures, json!([]));
}

#[baton_e2e::test]
async fn a_contract_version_the_host_does_not_run_is_refused_at_upload() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let refused = app.upload(&key, plugins::FUTURE_CONTRACT).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{refused:?}"
    );
    assert_eq!(refused.body["error"]["code"], "unsupported_contract");
    let message = refused.body["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("9.0.0") && message.contains("0.1.0, 0.2.0, 0.3.0"),
        "{message}"
    );
}

//! Contract versions: plugins built against the released 0.1.0 still run
//! beside 0.2.0 ones, and a version the host does not run is refused at
//! upload with a message naming it and the supported ones.

use baton_e2e::{TestApp, plugins};
use reqwest::StatusCode;
use serde_json::json;

#[baton_e2e::test]
async fn the_host_lists_the_contract_versions_it_runs() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let listed = app.get("/v1/plugins/contracts", &key).await.body;
    assert_eq!(listed["current"], "0.2.0", "{listed}");
    assert_eq!(listed["supported"], json!(["0.1.0", "0.2.0"]));
    let builtins = app.get("/v1/plugins", &key).await.body;
    assert!(
        builtins
            .as_array()
            .expect("plugins")
            .iter()
            .all(|p| p["contract"] == "0.2.0"),
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
    let failures = app.get("/v1/plugins/failures", &key).await.body;
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
        message.contains("9.0.0") && message.contains("0.1.0, 0.2.0"),
        "{message}"
    );
}

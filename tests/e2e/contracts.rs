//! Contract versions: plugins built against the released 0.1.0, 0.2.0 and
//! 0.3.0 still run beside 0.4.0 ones, 0.4.0 strategies see their candidates'
//! teams, and a version the host does not run is refused at upload with a
//! message naming it and the supported ones.

use baton_e2e::{TestApp, assigned_agent, plugins};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[baton_e2e::test]
async fn the_host_lists_the_contract_versions_it_runs() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let listed = app.get("/v1/plugins/contracts", &key).await.body;
    assert_eq!(listed["current"], "0.4.0", "{listed}");
    assert_eq!(
        listed["supported"],
        json!(["0.1.0", "0.2.0", "0.3.0", "0.4.0"])
    );
    let builtins = app.get("/v1/plugins", &key).await.body["items"].clone();
    assert!(
        builtins
            .as_array()
            .expect("plugins")
            .iter()
            .all(|p| p["contract"] == "0.4.0"),
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
    assert_no_failures(&app, &key).await;
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
        message.contains("9.0.0") && message.contains("0.1.0, 0.2.0, 0.3.0, 0.4.0"),
        "{message}"
    );
}

#[baton_e2e::test]
async fn a_strategy_built_against_0_2_0_still_gets_its_candidates_with_their_ids() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let agents = four_agents(&app, &key).await;
    // Dee stays offline: the plugin must see her and pass her over.
    for id in &agents[..3] {
        app.presence(&key, id, "available").await;
    }
    let plugin = upload_strategy(&app, &key, plugins::LEGACY_PICKER, "0.2.0").await;
    bind(&app, &key, json!({"plugin": plugin, "fallback": "queue"})).await;

    let (now, reason) = route(&app, &key, "legacy-picker").await;
    let mut available = agents[..3].to_vec();
    available.sort();
    assert_eq!(
        assigned_agent(&now).as_deref(),
        available.last().map(String::as_str),
        "the greatest id among the available ones, read from the 0.2.0 fields: {now}"
    );
    assert_eq!(
        reason, "legacy-picker: greatest id of 4 candidates",
        "every agent in scope was converted down"
    );
    assert_no_failures(&app, &key).await;
}

#[baton_e2e::test]
async fn a_strategy_built_against_0_3_0_still_reads_its_ids_from_one_string() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let team = app.post("/v1/teams", &key, json!({"name": "Sales"})).await;
    let agents = four_agents(&app, &key).await;
    // Teams exist since 0.4.0; a 0.3.0 plugin is called without them.
    join(&app, &key, &agents[1], json!([team.body["id"]])).await;
    // Ana stays offline: the plugin must see her and pass her over.
    for id in &agents[1..] {
        app.presence(&key, id, "available").await;
    }
    let plugin = upload_strategy(&app, &key, plugins::LEGACY_RANKER, "0.3.0").await;
    bind(&app, &key, json!({"plugin": plugin, "fallback": "queue"})).await;

    let (now, reason) = route(&app, &key, "legacy-ranker").await;
    let mut available = agents[1..].to_vec();
    available.sort();
    assert_eq!(
        assigned_agent(&now).as_deref(),
        available.first().map(String::as_str),
        "the smallest id among the available ones: {now}"
    );
    let mut all = agents.clone();
    all.sort();
    assert_eq!(
        reason,
        format!(
            "legacy-ranker: smallest id of 4 candidates ({})",
            all.join(",")
        ),
        "every id read back from the 0.3.0 layout"
    );
    assert_no_failures(&app, &key).await;
}

#[baton_e2e::test]
async fn a_strategy_sees_each_candidates_teams() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let mut teams = Vec::new();
    for name in ["Sales", "Support", "Billing"] {
        let team = app.post("/v1/teams", &key, json!({"name": name})).await;
        teams.push(team.body["id"].as_str().expect("team").to_owned());
    }
    let (sales, support, billing) = (&teams[0], &teams[1], &teams[2]);
    // Ana: sales; Ben: sales and support; Cho: none. Billing has nobody.
    let agents = four_agents(&app, &key).await;
    for (agent, member_of) in
        agents
            .iter()
            .zip([json!([sales]), json!([support, sales]), json!([])])
    {
        join(&app, &key, agent, member_of).await;
        app.presence(&key, agent, "available").await;
    }
    let (ana, ben) = (&agents[0], &agents[1]);
    let plugin = upload_strategy(&app, &key, plugins::PICK_LAST, "0.4.0").await;
    let mut ben_teams = [sales.clone(), support.clone()];
    ben_teams.sort();

    // Only support's member can have it, though the conversation has no team.
    let config = json!({"team": support});
    bind(&app, &key, json!({"plugin": plugin, "config": config})).await;
    let (now, reason) = route(&app, &key, "pick-last").await;
    assert_eq!(assigned_agent(&now).as_deref(), Some(ben.as_str()));
    assert!(
        reason.ends_with(&format!("teams [{}]", ben_teams.join(", "))),
        "Ben's two teams, in id order: {reason}"
    );

    // Sales has two members; the smallest id of them is chosen.
    let config = json!({"team": sales, "prefer": "first"});
    bind(&app, &key, json!({"plugin": plugin, "config": config})).await;
    let (now, _) = route(&app, &key, "pick-last").await;
    assert_eq!(assigned_agent(&now).as_deref(), Some(ana.min(ben).as_str()));

    // Nobody is in billing: the conversation waits.
    let config = json!({"team": billing});
    bind(
        &app,
        &key,
        json!({"plugin": plugin, "config": config, "fallback": "queue"}),
    )
    .await;
    let (waiting, _) = route(&app, &key, "pick-last").await;
    assert_eq!(assigned_agent(&waiting), None, "{waiting}");

    // The recorded case carries the teams, so it replays the same.
    let id = waiting["id"].as_str().expect("id");
    let cases = app
        .get(&format!("/v1/conversations/{id}/cases"), &key)
        .await
        .body;
    let case = cases
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["kind"] == "assignment")
        .unwrap_or_else(|| panic!("an assignment case: {cases}"));
    let recorded = case["input"]["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .find(|c| c["id"] == ben.as_str())
        .unwrap_or_else(|| panic!("Ben among the candidates: {case}"));
    assert_eq!(recorded["teams"], json!(ben_teams), "{recorded}");
    assert_no_failures(&app, &key).await;
}

/// Ana, Ben, Cho and Dee, offline, with room for three chats each.
async fn four_agents(app: &TestApp, key: &str) -> Vec<String> {
    let mut agents = Vec::new();
    for name in ["Ana", "Ben", "Cho", "Dee"] {
        agents.push(app.agent(key, name, 3).await);
    }
    agents
}

/// Make `agent` a member of exactly `teams`.
async fn join(app: &TestApp, key: &str, agent: &str, teams: Value) {
    let joined = app
        .patch(&format!("/v1/agents/{agent}"), key, json!({"teams": teams}))
        .await;
    assert_eq!(joined.status, StatusCode::OK, "{joined:?}");
}

/// Upload the strategy at `path`, checking the contract it was built
/// against; returns its id.
async fn upload_strategy(app: &TestApp, key: &str, path: &str, contract: &str) -> Value {
    let uploaded = app.upload(key, path).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{uploaded:?}");
    assert_eq!(uploaded.body["contract"], contract);
    assert_eq!(uploaded.body["kind"], "assignment-strategy");
    uploaded.body["id"].clone()
}

/// Bind the assignment slot as `binding` says.
async fn bind(app: &TestApp, key: &str, binding: Value) {
    let bound = app.put("/v1/routing/assignment", key, binding).await;
    assert_eq!(bound.status, StatusCode::OK, "{bound:?}");
}

/// A new conversation, routed: its detail and the reason `plugin` gave.
async fn route(app: &TestApp, key: &str, plugin: &str) -> (Value, String) {
    let c = app.conversation(key, "which agent?").await;
    let id = c["id"].as_str().expect("id").to_owned();
    app.settle().await;
    let now = app.get(&format!("/v1/conversations/{id}"), key).await.body;
    let reason = now["history"]
        .as_array()
        .expect("history")
        .iter()
        .rev()
        .find(|h| h["plugin"] == plugin)
        .and_then(|h| h["reason"].as_str())
        .unwrap_or_else(|| panic!("decided by {plugin}: {now}"))
        .to_owned();
    (now, reason)
}

async fn assert_no_failures(app: &TestApp, key: &str) {
    let failures = app.get("/v1/plugins/failures", key).await.body["items"].clone();
    assert_eq!(failures, json!([]));
}

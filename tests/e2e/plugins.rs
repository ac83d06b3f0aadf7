//! Uploading, binding, swapping and rolling back plugins, and what the
//! sandbox does with plugins that misbehave.

use baton_e2e::{TestApp, assigned_agent, plugins};
use baton_host::plugin::SandboxLimits;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A tenant with three available agents; returns (app, key, agent ids).
async fn three_agents() -> (TestApp, String, Vec<String>) {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let mut agents = Vec::new();
    for name in ["Ana", "Ben", "Cho"] {
        let id = app.agent(&key, name, 10).await;
        app.presence(&key, &id, "available").await;
        agents.push(id);
    }
    (app, key, agents)
}

async fn upload_and_bind(app: &TestApp, key: &str, path: &str, binding: Value) -> Value {
    let uploaded = app.upload(key, path).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{uploaded:?}");
    let mut binding = binding;
    binding["plugin"] = uploaded.body["id"].clone();
    let bound = app.put("/v1/routing/assignment", key, binding).await;
    assert_eq!(bound.status, StatusCode::OK, "{bound:?}");
    uploaded.body
}

fn last_history(conversation: &Value) -> Value {
    conversation["history"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .unwrap_or(Value::Null)
}

#[baton_e2e::test]
async fn an_uploaded_strategy_replaces_round_robin_and_rollback_restores_it() {
    let (app, key, agents) = three_agents().await;
    let plugin = upload_and_bind(
        &app,
        &key,
        plugins::PICK_LAST,
        json!({"config": {"prefer": "last"}}),
    )
    .await;
    assert_eq!(plugin["name"], "pick-last");
    assert_eq!(plugin["kind"], "assignment-strategy");
    let listed = app.get("/v1/plugins", &key).await.body["items"].clone();
    let names: Vec<&str> = listed
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in [
        "round-robin",
        "least-loaded",
        "keyword-handoff",
        "pick-last",
    ] {
        assert!(names.contains(&name), "{names:?}");
    }

    let newest = agents.iter().max().expect("agents").clone();
    for _ in 0..2 {
        let conversation = app.conversation(&key, "hi").await;
        assert_eq!(assigned_agent(&conversation), Some(newest.clone()));
        assert_eq!(last_history(&conversation)["plugin"], "pick-last");
    }

    let rolled = app
        .post("/v1/routing/assignment/rollback", &key, json!({}))
        .await;
    assert_eq!(rolled.status, StatusCode::OK, "{rolled:?}");
    assert_eq!(rolled.body["plugin"]["name"], "round-robin");
    let conversation = app.conversation(&key, "hi again").await;
    assert_eq!(last_history(&conversation)["plugin"], "round-robin");
    // Nothing left to roll back.
    let again = app
        .post("/v1/routing/assignment/rollback", &key, json!({}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[baton_e2e::test]
async fn a_config_that_breaks_the_plugins_schema_is_refused_naming_the_field() {
    let (app, key, _) = three_agents().await;
    let uploaded = app.upload(&key, plugins::PICK_LAST).await;
    let id = uploaded.body["id"].clone();
    let bad = app
        .put(
            "/v1/routing/assignment",
            &key,
            json!({"plugin": id, "config": {"prefer": "middle"}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    assert_eq!(bad.body["error"]["field"], "config.prefer");
    let unknown = app
        .put(
            "/v1/routing/assignment",
            &key,
            json!({"plugin": "no-such-plugin"}),
        )
        .await;
    assert_eq!(unknown.body["error"]["field"], "plugin");
    let wrong_kind = app
        .put(
            "/v1/routing/assignment",
            &key,
            json!({"plugin": "keyword-handoff"}),
        )
        .await;
    assert_eq!(wrong_kind.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The refused bindings left the default in force.
    let current = app.get("/v1/routing/assignment", &key).await.body;
    assert_eq!(current["plugin"]["name"], "round-robin");
}

/// Bind a misbehaving plugin, create a conversation, and return it with
/// the recorded failures.
async fn misbehave(path: &str, limits: SandboxLimits) -> (Value, Vec<Value>, String) {
    let app = TestApp::spawn_with(tempfile::tempdir().expect("dir"), limits).await;
    let key = app.tenant("Acme").await;
    let ana = app.agent(&key, "Ana", 5).await;
    app.presence(&key, &ana, "available").await;
    upload_and_bind(&app, &key, path, json!({})).await;
    let conversation = app.conversation(&key, "hello").await;
    let failures = app.get("/v1/plugins/failures", &key).await.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    (conversation, failures, ana)
}

#[baton_e2e::test]
async fn a_plugin_that_loops_forever_is_stopped_and_the_fallback_assigns() {
    let (conversation, failures, ana) =
        misbehave(plugins::SPIN_FOREVER, SandboxLimits::default()).await;
    assert_eq!(assigned_agent(&conversation), Some(ana));
    let last = last_history(&conversation);
    assert_eq!(last["decided_by"], "fallback");
    assert_eq!(last["plugin"], "round-robin");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["plugin"], "spin-forever");
    assert_eq!(failures[0]["plugin_version"], "0.1.0");
    assert_eq!(failures[0]["failure"], "out-of-fuel");
    assert_eq!(failures[0]["fallback"], "round-robin@0.1.0");
}

#[baton_e2e::test]
async fn the_wall_clock_limit_stops_a_loop_when_fuel_would_last_too_long() {
    let limits = SandboxLimits {
        fuel: u64::MAX / 2,
        timeout: std::time::Duration::from_millis(50),
        ..SandboxLimits::default()
    };
    let (conversation, failures, ana) = misbehave(plugins::SPIN_FOREVER, limits).await;
    assert_eq!(assigned_agent(&conversation), Some(ana));
    assert_eq!(failures[0]["failure"], "timeout", "{failures:?}");
}

#[baton_e2e::test]
async fn a_plugin_that_allocates_without_bound_is_stopped_by_the_memory_cap() {
    let (conversation, failures, ana) =
        misbehave(plugins::MEMORY_HOG, SandboxLimits::default()).await;
    assert_eq!(assigned_agent(&conversation), Some(ana));
    assert_eq!(failures[0]["plugin"], "memory-hog");
    assert_eq!(failures[0]["failure"], "memory-cap", "{failures:?}");
}

#[baton_e2e::test]
async fn a_decision_for_an_agent_that_is_not_a_candidate_is_rejected() {
    let (conversation, failures, ana) =
        misbehave(plugins::BAD_DECISION, SandboxLimits::default()).await;
    assert_eq!(assigned_agent(&conversation), Some(ana));
    assert_eq!(failures[0]["failure"], "invalid-answer", "{failures:?}");
    assert!(
        failures[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not a candidate")
    );
}

#[baton_e2e::test]
async fn the_queue_fallback_leaves_the_conversation_waiting() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let ana = app.agent(&key, "Ana", 5).await;
    app.presence(&key, &ana, "available").await;
    upload_and_bind(
        &app,
        &key,
        plugins::SPIN_FOREVER,
        json!({"fallback": "queue"}),
    )
    .await;
    let conversation = app.conversation(&key, "hello").await;
    assert_eq!(conversation["routing"], "queued", "{conversation}");
    assert!(
        last_history(&conversation)["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("spin-forever@0.1.0 failed")
    );
}

#[baton_e2e::test]
async fn a_drain_stops_at_the_first_conversation_a_broken_strategy_leaves_waiting() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let ana = app.agent(&key, "Ana", 5).await;
    app.presence(&key, &ana, "available").await;
    upload_and_bind(
        &app,
        &key,
        plugins::SPIN_FOREVER,
        json!({"fallback": "queue"}),
    )
    .await;
    for i in 0..3 {
        let conversation = app.conversation(&key, &format!("hello {i}")).await;
        assert_eq!(conversation["routing"], "queued", "{conversation}");
    }
    let failures = || async {
        app.get("/v1/plugins/failures", &key).await.body["items"]
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(failures().await, 3);
    // Ana coming back drains the queue: the first call fails again and
    // the drain stops there instead of running the broken strategy on every
    // waiting conversation while other tenants' events wait.
    app.presence(&key, &ana, "away").await;
    app.presence(&key, &ana, "available").await;
    app.settle().await;
    assert_eq!(failures().await, 4);
    let queue = app.get("/v1/queue", &key).await.body;
    assert_eq!(queue["length"], 3, "{queue}");
}

#[baton_e2e::test]
async fn uploads_that_are_not_plugins_are_refused_with_the_reason() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let junk = app
        .raw(
            reqwest::Method::POST,
            "/v1/plugins",
            &key,
            "application/wasm",
            b"not wasm at all".to_vec(),
        )
        .await;
    assert_eq!(junk.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(junk.body["error"]["code"], "not_a_component");
    let core = app
        .raw(
            reqwest::Method::POST,
            "/v1/plugins",
            &key,
            "application/wasm",
            b"\0asm\x01\0\0\0".to_vec(),
        )
        .await;
    assert_eq!(core.body["error"]["code"], "not_a_component");
    assert!(
        core.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("core")
    );
    let other = app.upload(&key, plugins::NOT_A_PLUGIN).await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY, "{other:?}");
    assert_eq!(other.body["error"]["code"], "unknown_world");
    let broken = app.upload(&key, plugins::DESCRIBE_FAILS).await;
    assert_eq!(
        broken.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{broken:?}"
    );
    assert_eq!(broken.body["error"]["code"], "describe_failed");
    let listed = app.get("/v1/plugins", &key).await.body["items"].clone();
    let uploads = listed
        .as_array()
        .expect("list")
        .iter()
        .filter(|p| p["builtin"] == false)
        .count();
    assert_eq!(uploads, 0, "nothing was stored: {listed}");
}

#[baton_e2e::test]
async fn compiled_plugins_survive_a_restart_without_recompiling() {
    let (app, key, agents) = three_agents().await;
    upload_and_bind(
        &app,
        &key,
        plugins::PICK_LAST,
        json!({"config": {"prefer": "first"}}),
    )
    .await;
    let dir = app.stop().await;

    let app = TestApp::spawn_with(dir, SandboxLimits::default()).await;
    let conversation = app.conversation(&key, "after restart").await;
    let oldest = agents.iter().min().expect("agents").clone();
    assert_eq!(assigned_agent(&conversation), Some(oldest));
    assert_eq!(last_history(&conversation)["plugin"], "pick-last");
    let stats = app
        .get("/v1/operator/stats", baton_e2e::OPERATOR_TOKEN)
        .await
        .body;
    assert_eq!(stats["compiles"], 0, "{stats}");
    // Every built-in and the upload came from the artefact cache.
    let plugins = app.get("/v1/plugins", &key).await.body["items"].clone();
    let count = plugins.as_array().map_or(0, Vec::len) as u64;
    assert!(count >= 4, "{plugins}");
    assert_eq!(stats["artifact_loads"].as_u64(), Some(count), "{stats}");
}

#[baton_e2e::test]
async fn compiled_code_past_the_cache_budget_is_dropped_and_reloaded_from_its_artefact() {
    // A budget smaller than any component: only the last one used stays.
    let limits = SandboxLimits {
        compiled_cache_bytes: 1,
        ..SandboxLimits::default()
    };
    let app = TestApp::spawn_with(tempfile::tempdir().expect("dir"), limits).await;
    let key = app.tenant("Acme").await;
    let ana = app.agent(&key, "Ana", 50).await;
    app.presence(&key, &ana, "available").await;
    let stats = || async {
        app.get("/v1/operator/stats", baton_e2e::OPERATOR_TOKEN)
            .await
            .body
    };
    let loads_before = stats().await["artifact_loads"].as_u64().expect("loads");
    for (round, strategy) in ["least-loaded", "round-robin", "least-loaded"]
        .into_iter()
        .enumerate()
    {
        app.bind_strategy(&key, strategy).await;
        let conversation = app.conversation(&key, &format!("round {round}")).await;
        assert_eq!(assigned_agent(&conversation), Some(ana.clone()));
        assert_eq!(last_history(&conversation)["plugin"], strategy);
        let now = stats().await;
        assert_eq!(now["cached"]["components"], 1, "{now}");
    }
    // Each switch found the other strategy evicted and loaded its artefact
    // again; nothing was compiled.
    let after = stats().await;
    let loads = after["artifact_loads"].as_u64().expect("loads");
    assert!(loads >= loads_before + 3, "{after}");
}

#[baton_e2e::test]
async fn a_workflow_tags_and_notes_new_conversations() {
    let (app, key, _) = three_agents().await;
    let uploaded = app.upload(&key, plugins::TAG_ON_CREATE).await;
    assert_eq!(uploaded.body["kind"], "workflow", "{uploaded:?}");
    let bound = app
        .put(
            "/v1/routing/workflows",
            &key,
            json!({"workflows": [{"plugin": "tag-on-create"}]}),
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{bound:?}");
    let created = app.conversation(&key, "hello").await;
    let id = created["id"].as_str().expect("id");
    let detail = app.get(&format!("/v1/conversations/{id}"), &key).await.body;
    assert_eq!(detail["tags"], json!(["new"]));
    let notes: Vec<&Value> = detail["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["internal"] == true)
        .collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["body"], "created by tag-on-create");
}

#[baton_e2e::test]
async fn built_in_names_are_reserved() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let copy = app.upload(&key, plugins::ROUND_ROBIN).await;
    assert_eq!(copy.status, StatusCode::UNPROCESSABLE_ENTITY, "{copy:?}");
    assert_eq!(copy.body["error"]["code"], "invalid_manifest");
}

#[baton_e2e::test]
async fn swapping_bindings_while_conversations_arrive_drops_and_repeats_nothing() {
    let (app, key, _) = three_agents().await;
    let app = std::sync::Arc::new(app);
    let creators: Vec<_> = (0..24)
        .map(|i| {
            let (app, key) = (app.clone(), key.clone());
            tokio::spawn(async move {
                app.conversation(&key, &format!("q{i}")).await["id"]
                    .as_str()
                    .map(str::to_owned)
            })
        })
        .collect();
    for i in 0..8 {
        let plugin = if i % 2 == 0 {
            "least-loaded"
        } else {
            "round-robin"
        };
        let bound = app
            .put("/v1/routing/assignment", &key, json!({"plugin": plugin}))
            .await;
        assert_eq!(bound.status, StatusCode::OK);
    }
    let mut ids = Vec::new();
    for creator in creators {
        ids.push(creator.await.expect("joined").expect("created"));
    }
    for id in ids {
        let detail = app.get(&format!("/v1/conversations/{id}"), &key).await.body;
        assert!(assigned_agent(&detail).is_some(), "{detail}");
        let assignments = detail["history"]
            .as_array()
            .expect("history")
            .iter()
            .filter(|h| h["action"] == "assigned")
            .count();
        assert_eq!(assignments, 1, "{detail}");
    }
}

#[baton_e2e::test]
async fn a_simultaneous_offer_goes_to_exactly_one_of_two_agents_accepting_at_once() {
    let (app, key, agents) = three_agents().await;
    app.bind_strategy(&key, "simultaneous-offer").await;
    let conversation = app.conversation(&key, "who wants it?").await;
    assert_eq!(conversation["routing"], "offered", "{conversation}");
    assert_eq!(conversation["offered_to"].as_array().map(Vec::len), Some(3));
    let id = conversation["id"].as_str().expect("id").to_owned();

    let path = format!("/v1/conversations/{id}/accept");
    let (first, second) = tokio::join!(
        app.post(&path, &key, json!({"agent": agents[0]})),
        app.post(&path, &key, json!({"agent": agents[1]})),
    );
    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{first:?} {second:?}"
    );
    let winner = if first.status == StatusCode::OK {
        &agents[0]
    } else {
        &agents[1]
    };

    let detail = app.get(&format!("/v1/conversations/{id}"), &key).await.body;
    assert_eq!(assigned_agent(&detail).as_ref(), Some(winner));
    assert_eq!(
        detail["offered_to"],
        json!([]),
        "the other offers are withdrawn"
    );
    let late = app.post(&path, &key, json!({"agent": agents[2]})).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{late:?}");
}

#[baton_e2e::test]
async fn cases_recorded_for_a_plugin_are_its_kind_with_its_bound_config() {
    let (app, key, _) = three_agents().await;
    let conversation = app.conversation(&key, "hello").await;
    let id = conversation["id"].as_str().expect("id");
    let path = format!("/v1/conversations/{id}/cases");
    let all = app.get(&path, &key).await;
    assert_eq!(all.status, StatusCode::OK, "{all:?}");
    let kinds: Vec<&str> = all
        .body
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"assignment") && kinds.contains(&"workflow"),
        "{kinds:?}"
    );
    // Spelled as the API spells the conversation itself.
    let recorded = &all.body[0]["input"]["conversation"];
    for field in ["id", "channel", "status", "subject", "attributes"] {
        assert_eq!(recorded[field], conversation[field], "{field}: {recorded}");
    }
    let candidate = &all.body[0]["input"]["candidates"][0];
    assert_eq!(candidate["presence"], "available", "{candidate}");
    let workflow = all
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "workflow");
    assert_eq!(workflow.unwrap()["input"]["kind"], "conversation-created");

    let bound = app
        .put(
            "/v1/routing/workflows",
            &key,
            json!({"workflows": [{"plugin": "inactivity-close", "config": {"after_minutes": 30}}]}),
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{bound:?}");
    let mine = app
        .get(&format!("{path}?plugin=inactivity-close"), &key)
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{mine:?}");
    let cases = mine.body.as_array().expect("cases");
    assert_eq!(cases.len(), 1, "{cases:?}");
    assert_eq!(cases[0]["kind"], "workflow");
    assert_eq!(cases[0]["config"], json!({"after_minutes": 30}));

    let unknown = app.get(&format!("{path}?plugin=nope"), &key).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{unknown:?}");
    assert_eq!(unknown.body["error"]["field"], "plugin");
}

//! What an admin sets up, they can change: agents (name, role, teams,
//! capacity, ticket access) and teams (renamed, removed once empty).

use baton_e2e::{TestApp, assigned_agent};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn patch(app: &TestApp, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .client
        .patch(format!("{}{path}", app.base))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("sent");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn delete(app: &TestApp, path: &str, key: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .delete(format!("{}{path}", app.base))
        .bearer_auth(key)
        .send()
        .await
        .expect("sent");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn team(app: &TestApp, key: &str, name: &str) -> String {
    let reply = app.post("/v1/teams", key, json!({ "name": name })).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    reply.body["id"].as_str().expect("id").to_owned()
}

#[baton_e2e::test]
async fn an_agent_is_edited_in_place_and_more_room_takes_waiting_work() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Desk").await;
    let support = team(&app, &key, "Support").await;
    let ana = app.agent(&key, "Ana", 1).await;
    app.presence(&key, &ana, "available").await;
    let first = app.conversation(&key, "first").await;
    let waiting = app.conversation(&key, "second").await;
    assert_eq!(assigned_agent(&first).as_deref(), Some(ana.as_str()));
    assert_eq!(assigned_agent(&waiting), None, "no room for a second");

    let path = format!("/v1/agents/{ana}");
    let (status, edited) = patch(
        &app,
        &path,
        &key,
        json!({"name": "Ana Bell", "role": "admin", "teams": [support], "ticket_access": "all",
               "capacity": {"chat": 2, "email": 10, "call": 1}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["name"], "Ana Bell");
    assert_eq!(edited["role"], "admin");
    assert_eq!(edited["teams"], json!([support]));
    assert_eq!(edited["ticket_access"], "all");
    assert_eq!(edited["capacity"]["chat"], 2);
    assert_eq!(
        edited["email"], "ana@example.com",
        "what the body leaves out stays"
    );
    assert_eq!(
        edited["load"]["chat"], 2,
        "the room went to the waiting chat: {edited}"
    );
    let id = waiting["id"].as_str().expect("id");
    let now = app.get(&format!("/v1/conversations/{id}"), &key).await.body;
    assert_eq!(assigned_agent(&now).as_deref(), Some(ana.as_str()), "{now}");

    // Bad fields are named, and nothing is changed.
    for (body, field) in [
        (json!({"capacity": {"fax": 1}}), "capacity.fax"),
        (json!({"teams": ["tm_nope"]}), "teams[0]"),
        (json!({"name": "", "role": "agent"}), "name"),
        (json!({"role": "boss"}), "role"),
        (json!({"email": "x@example.com"}), "email"),
    ] {
        let (status, error) = patch(&app, &path, &key, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    let unchanged = app.get(&path, &key).await.body;
    assert_eq!(unchanged["name"], "Ana Bell");
    assert_eq!(unchanged["role"], "admin");
    assert_eq!(unchanged["teams"], json!([support]));

    // Another tenant's agent is not there to edit.
    let other = app.tenant("Other").await;
    let (status, _) = patch(&app, &path, &other, json!({"name": "Mallory"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[baton_e2e::test]
async fn a_team_is_renamed_and_removed_once_nothing_uses_it() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Desk").await;
    let support = team(&app, &key, "Support").await;
    team(&app, &key, "Billing").await;
    let path = format!("/v1/teams/{support}");

    let (status, renamed) = patch(&app, &path, &key, json!({"name": "Customer care"})).await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["name"], "Customer care");
    let (status, taken) = patch(&app, &path, &key, json!({"name": "Billing"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{taken}");

    let reply = app
        .post(
            "/v1/agents",
            &key,
            json!({"name": "Ben", "email": "ben@example.com", "teams": [support]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let ben = reply.body["id"].as_str().expect("id").to_owned();
    let (status, refused) = delete(&app, &path, &key).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("1 member"), "{message}");
    let teams = app.get("/v1/teams", &key).await.body["items"].clone();
    assert_eq!(
        teams.as_array().map(Vec::len),
        Some(2),
        "still there: {teams}"
    );

    let (status, _) = patch(
        &app,
        &format!("/v1/agents/{ben}"),
        &key,
        json!({"teams": []}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = delete(&app, &path, &key).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let teams = app.get("/v1/teams", &key).await.body["items"].clone();
    assert_eq!(teams.as_array().map(Vec::len), Some(1), "{teams}");
    assert!(!teams.to_string().contains(&support));
    let (status, _) = delete(&app, &path, &key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[baton_e2e::test]
async fn an_uploaded_version_is_deleted_once_no_binding_uses_it() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Desk").await;
    let uploaded = app.upload(&key, baton_e2e::plugins::PICK_LAST).await;
    assert_eq!(uploaded.status, StatusCode::CREATED, "{uploaded:?}");
    let id = uploaded.body["id"].as_str().expect("id").to_owned();
    app.bind_strategy(&key, &id).await;
    let path = format!("/v1/plugins/{id}");

    let (status, refused) = delete(&app, &path, &key).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("1 binding"), "{message}");
    let (status, _) = delete(&app, "/v1/plugins/round-robin", &key).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a built-in is no tenant's to delete"
    );
    let other = app.tenant("Other").await;
    let (status, _) = delete(&app, &path, &other).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nor another tenant's upload");

    app.bind_strategy(&key, "round-robin").await;
    let (status, body) = delete(&app, &path, &key).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let listed = app.get("/v1/plugins", &key).await.body["items"].clone();
    assert!(!listed.to_string().contains(&id), "{listed}");
    let (status, _) = delete(&app, &path, &key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Routing goes on with the binding in force.
    let agent = app.agent(&key, "Ana", 3).await;
    app.presence(&key, &agent, "available").await;
    let chat = app.conversation(&key, "hello").await;
    assert_eq!(assigned_agent(&chat).as_deref(), Some(agent.as_str()));
}

async fn conversation(app: &TestApp, key: &str, id: &str) -> Value {
    let reply = app.get(&format!("/v1/conversations/{id}"), key).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.body
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("id").to_owned()
}

#[baton_e2e::test]
async fn a_removed_agent_s_open_work_is_requeued_their_history_kept_and_they_can_come_back() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Desk").await;
    let ana = app.agent(&key, "Ana", 2).await;
    let ben = app.agent(&key, "Ben", 1).await;
    app.presence(&key, &ana, "available").await;
    let done = id_of(&app.conversation(&key, "finished").await);
    app.close(&key, &done).await;
    let first = app.conversation(&key, "first").await;
    let second = app.conversation(&key, "second").await;
    for c in [&first, &second] {
        assert_eq!(assigned_agent(c).as_deref(), Some(ana.as_str()), "{c}");
    }
    let (first, second) = (id_of(&first), id_of(&second));
    let token = app
        .post(&format!("/v1/agents/{ana}/tokens"), &key, json!({}))
        .await;
    assert_eq!(token.status, StatusCode::CREATED, "{token:?}");
    let token = token.body["token"].as_str().expect("token").to_owned();
    assert_eq!(app.get("/v1/tickets", &token).await.status, StatusCode::OK);
    app.presence(&key, &ben, "available").await;

    let path = format!("/v1/agents/{ana}");
    let other = app.tenant("Other").await;
    let (status, _) = delete(&app, &path, &other).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's agent");
    let (status, removal) = delete(&app, &path, &key).await;
    assert_eq!(status, StatusCode::OK, "{removal}");
    assert_eq!(removal["agent"], ana.as_str());
    let mut requeued: Vec<&str> = removal["requeued"]
        .as_array()
        .expect("requeued")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    requeued.sort_unstable();
    let mut expected = vec![first.as_str(), second.as_str()];
    expected.sort_unstable();
    assert_eq!(requeued, expected, "the closed one stays hers: {removal}");
    assert_eq!(removal["tokens_revoked"], 1);

    // Ben had room for one; the other waits in the queue.
    let now = [
        conversation(&app, &key, &first).await,
        conversation(&app, &key, &second).await,
    ];
    let owners: Vec<Option<String>> = now.iter().map(assigned_agent).collect();
    assert_eq!(
        owners
            .iter()
            .filter(|o| o.as_deref() == Some(ben.as_str()))
            .count(),
        1,
        "{now:?}"
    );
    let waiting = now
        .iter()
        .find(|c| assigned_agent(c).is_none())
        .expect("one waits");
    assert_eq!(waiting["routing"], "queued", "{waiting}");
    for c in &now {
        let history = c["history"].to_string();
        assert!(history.contains("requeued: Ana"), "{history}");
    }
    let kept = conversation(&app, &key, &done).await;
    assert_eq!(
        assigned_agent(&kept).as_deref(),
        Some(ana.as_str()),
        "{kept}"
    );

    // Gone from the team and every door, and not removed twice.
    let agents = app.get("/v1/agents", &key).await.body["items"].clone();
    assert!(!agents.to_string().contains(&ana), "{agents}");
    assert!(agents.to_string().contains(&ben), "{agents}");
    assert_eq!(app.get(&path, &key).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/v1/tickets", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    let status = app
        .put(
            &format!("{path}/status"),
            &key,
            json!({"status": "available"}),
        )
        .await
        .status;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = delete(&app, &path, &key).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let again = app
        .post(
            "/v1/agents",
            &key,
            json!({"name": "Ana", "email": "ana@example.com"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{again:?}");
    let message = again.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("/v1/agents/{ana}/restore")),
        "{message}"
    );

    // Restored: offline and without a token, then back to work.
    let restored = app.post(&format!("{path}/restore"), &key, json!({})).await;
    assert_eq!(restored.status, StatusCode::OK, "{restored:?}");
    assert_eq!(restored.body["status"], "offline");
    assert_eq!(
        app.get("/v1/tickets", &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    let twice = app.post(&format!("{path}/restore"), &key, json!({})).await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
    app.presence(&key, &ana, "available").await;
    let id = waiting["id"].as_str().expect("id");
    let taken = conversation(&app, &key, id).await;
    assert_eq!(
        assigned_agent(&taken).as_deref(),
        Some(ana.as_str()),
        "{taken}"
    );
}

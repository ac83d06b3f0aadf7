//! Bot-owned conversations and the default handoff trigger.

use baton_e2e::{TestApp, assigned_agent};
use reqwest::StatusCode;
use serde_json::json;

async fn bot_setup() -> (TestApp, String, String) {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let bot = app
        .post(
            "/v1/bots",
            &key,
            json!({"name": "Answer bot", "channels": ["chat"]}),
        )
        .await;
    assert_eq!(bot.status, StatusCode::CREATED, "{bot:?}");
    let ana = app.agent(&key, "Ana", 3).await;
    app.presence(&key, &ana, "available").await;
    (app, key, ana)
}

async fn say(app: &TestApp, key: &str, conversation: &str, body: &str) -> serde_json::Value {
    let reply = app
        .post(
            &format!("/v1/conversations/{conversation}/messages"),
            key,
            json!({"author": "customer", "body": body}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    reply.body["conversation"].clone()
}

#[baton_e2e::test]
async fn asking_for_a_refund_hands_a_bot_conversation_to_a_human() {
    let (app, key, ana) = bot_setup().await;
    let conversation = app.conversation(&key, "Hello").await;
    assert_eq!(conversation["assignee"]["kind"], "bot", "{conversation}");
    assert_eq!(conversation["routing"], "bot");
    let id = conversation["id"].as_str().expect("id");

    let still_bot = say(&app, &key, id, "What are your opening hours?").await;
    assert_eq!(still_bot["assignee"]["kind"], "bot");

    let handed = say(&app, &key, id, "I want a refund").await;
    assert_eq!(
        assigned_agent(&handed).as_deref(),
        Some(ana.as_str()),
        "{handed}"
    );
    let history = handed["history"].as_array().expect("history");
    let handoff = history
        .iter()
        .find(|h| h["decided_by"] == "handoff")
        .expect("handoff recorded");
    assert_eq!(handoff["plugin"], "keyword-handoff");
    assert!(
        handoff["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("refund"),
        "{handoff}"
    );
}

#[baton_e2e::test]
async fn japanese_phrases_and_asking_for_a_human_hand_over_too() {
    let (app, key, ana) = bot_setup().await;
    for phrase in ["返金してください", "Can I talk to a human?"] {
        let conversation = app.conversation(&key, "こんにちは").await;
        let id = conversation["id"].as_str().expect("id");
        let handed = say(&app, &key, id, phrase).await;
        assert_eq!(
            assigned_agent(&handed).as_deref(),
            Some(ana.as_str()),
            "{phrase}: {handed}"
        );
    }
}

#[baton_e2e::test]
async fn custom_trigger_phrases_replace_the_defaults_and_can_target_a_team() {
    let (app, key, _ana) = bot_setup().await;
    let team = app
        .post("/v1/teams", &key, json!({"name": "Billing"}))
        .await
        .body["id"]
        .clone();
    let ben = app
        .post(
            "/v1/agents",
            &key,
            json!({"name": "Ben", "email": "ben@example.com", "teams": [team], "capacity": {"chat": 2}}),
        )
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.presence(&key, &ben, "available").await;
    let bound = app
        .put(
            "/v1/routing/handoff",
            &key,
            json!({"triggers": [{"plugin": "keyword-handoff", "config": {"phrases": ["invoice"], "team": team}}]}),
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{bound:?}");

    let conversation = app.conversation(&key, "Hello").await;
    let id = conversation["id"].as_str().expect("id");
    let stays = say(&app, &key, id, "I want a refund").await;
    assert_eq!(
        stays["assignee"]["kind"], "bot",
        "refund is no longer a trigger: {stays}"
    );
    let handed = say(&app, &key, id, "My invoice is wrong").await;
    // Only Ben is in the billing team, though Ana is available too.
    assert_eq!(
        assigned_agent(&handed).as_deref(),
        Some(ben.as_str()),
        "{handed}"
    );
    assert_eq!(handed["team"], team);

    let bad = app
        .put(
            "/v1/routing/handoff",
            &key,
            json!({"triggers": [{"plugin": "keyword-handoff", "config": {"mode": "later"}}]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["error"]["field"], "triggers[0].config.mode");
}

#[baton_e2e::test]
async fn assignment_rules_wait_until_the_bot_hands_over() {
    let (app, key, ana) = bot_setup().await;
    // A rule for every conversation: it must not run while the bot has one.
    let rule = app
        .post(
            "/v1/rules",
            &key,
            json!({"name": "Chats to Ana", "target": {"kind": "members", "agents": [ana]}}),
        )
        .await;
    assert_eq!(rule.status, StatusCode::CREATED, "{rule:?}");
    let conversation = app.conversation(&key, "Hello").await;
    assert_eq!(conversation["assignee"]["kind"], "bot");
    assert!(
        conversation["history"]
            .as_array()
            .expect("history")
            .iter()
            .all(|h| h["rule"].is_null())
    );
    let id = conversation["id"].as_str().expect("id");
    let handed = say(&app, &key, id, "I want to cancel").await;
    assert_eq!(assigned_agent(&handed).as_deref(), Some(ana.as_str()));
    let last = handed["history"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        last["rule"], "Chats to Ana",
        "rules run once the bot hands over: {handed}"
    );
}

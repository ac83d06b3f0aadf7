//! The tenant's handoff process: default triggers (the bot cannot answer,
//! the bot is paused), custom trigger phrases over the API, the mode,
//! destination, business hours and the messages the customer sees.

use std::time::Duration;

use baton_e2e::{MONDAY_0000_UTC, TestApp, assigned_agent, plugins};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Desk {
    app: TestApp,
    key: String,
    bot: String,
}

async fn desk(app: TestApp) -> Desk {
    let key = app.tenant("Acme").await;
    let bot = app
        .post(
            "/v1/bots",
            &key,
            json!({"name": "Answer bot", "channels": ["chat"]}),
        )
        .await;
    assert_eq!(bot.status, StatusCode::CREATED, "{bot:?}");
    let bot = bot.body["id"].as_str().expect("id").to_owned();
    Desk { app, key, bot }
}

impl Desk {
    async fn agent(&self, name: &str, available: bool) -> String {
        let id = self.app.agent(&self.key, name, 3).await;
        if available {
            self.app.presence(&self.key, &id, "available").await;
        }
        id
    }

    async fn chat(&self) -> String {
        let c = self.app.conversation(&self.key, "Hello").await;
        assert_eq!(c["routing"], "bot", "{c}");
        c["id"].as_str().expect("id").to_owned()
    }

    async fn say(&self, conversation: &str, body: Value) -> Value {
        let reply = self
            .app
            .post(
                &format!("/v1/conversations/{conversation}/messages"),
                &self.key,
                body,
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.body["conversation"].clone()
    }

    async fn customer(&self, conversation: &str, text: &str) -> Value {
        self.say(conversation, json!({"author": "customer", "body": text}))
            .await
    }

    async fn settings(&self, body: Value) {
        let reply = self.app.put("/v1/settings/handoff", &self.key, body).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    }

    async fn team(&self, name: &str, members: &[&str]) -> String {
        let team = self
            .app
            .post("/v1/teams", &self.key, json!({"name": name}))
            .await
            .body["id"]
            .as_str()
            .expect("team id")
            .to_owned();
        for member in members {
            let reply = self
                .app
                .post(
                    "/v1/agents",
                    &self.key,
                    json!({"name": member, "email": format!("{member}@example.com"), "teams": [team], "capacity": {"chat": 2}}),
                )
                .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
            let id = reply.body["id"].as_str().expect("id");
            self.app.presence(&self.key, id, "available").await;
        }
        team
    }
}

/// The public bot messages of a conversation: what the customer was told.
fn told(conversation: &Value) -> Vec<String> {
    conversation["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["author"] == "bot" && m["internal"] == false)
        .map(|m| m["body"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn handoff_entry(conversation: &Value) -> Value {
    conversation["history"]
        .as_array()
        .expect("history")
        .iter()
        .find(|h| h["decided_by"] == "handoff")
        .cloned()
        .unwrap_or_else(|| panic!("no handoff in {conversation}"))
}

#[baton_e2e::test]
async fn the_bot_saying_it_cannot_answer_hands_over() {
    let d = desk(TestApp::spawn().await).await;
    let ana = d.agent("Ana", true).await;

    // Said with the flag...
    let c = d.chat().await;
    let handed = d
        .say(
            &c,
            json!({"author": "bot", "body": "Let me find someone for you.", "cannot_answer": true}),
        )
        .await;
    assert_eq!(
        assigned_agent(&handed).as_deref(),
        Some(ana.as_str()),
        "{handed}"
    );
    let entry = handoff_entry(&handed);
    assert!(
        entry["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot answer"),
        "{entry}"
    );
    assert!(
        entry["plugin"].is_null(),
        "a default trigger of the host: {entry}"
    );

    // ...or in words the default trigger plugin knows.
    let c = d.chat().await;
    let still = d
        .say(&c, json!({"author": "bot", "body": "Our shop opens at 9."}))
        .await;
    assert_eq!(still["routing"], "bot");
    let handed = d
        .say(
            &c,
            json!({"author": "bot", "body": "Sorry, I can't answer that question."}),
        )
        .await;
    assert_eq!(
        assigned_agent(&handed).as_deref(),
        Some(ana.as_str()),
        "{handed}"
    );
    assert_eq!(handoff_entry(&handed)["plugin"], "keyword-handoff");

    let refused = d
        .app
        .post(
            &format!("/v1/conversations/{c}/messages"),
            &d.key,
            json!({"author": "customer", "body": "hm", "cannot_answer": true}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["error"]["field"], "cannot_answer");
}

#[baton_e2e::test]
async fn pausing_a_bot_hands_its_conversations_over_and_new_ones_skip_it() {
    let d = desk(TestApp::spawn().await).await;
    let ana = d.agent("Ana", true).await;
    let first = d.chat().await;
    let second = d.chat().await;

    let paused = d
        .app
        .put(
            &format!("/v1/bots/{}/status", d.bot),
            &d.key,
            json!({"status": "paused"}),
        )
        .await;
    assert_eq!(paused.status, StatusCode::OK, "{paused:?}");
    assert!(paused.body["paused_at"].is_string(), "{paused:?}");
    for c in [&first, &second] {
        let now = d
            .app
            .get(&format!("/v1/conversations/{c}"), &d.key)
            .await
            .body;
        assert_eq!(assigned_agent(&now).as_deref(), Some(ana.as_str()), "{now}");
        assert!(
            handoff_entry(&now)["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("paused"),
            "{now}"
        );
    }
    let direct = d.app.conversation(&d.key, "Hello").await;
    assert_eq!(
        direct["routing"], "assigned",
        "a paused bot takes nothing: {direct}"
    );

    let resumed = d
        .app
        .put(
            &format!("/v1/bots/{}/status", d.bot),
            &d.key,
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(resumed.status, StatusCode::OK);
    assert!(resumed.body["paused_at"].is_null());
    d.chat().await;
    let missing = d
        .app
        .put(
            "/v1/bots/bot_00000000000000000000000000000000/status",
            &d.key,
            json!({"status": "paused"}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[baton_e2e::test]
async fn custom_trigger_phrases_are_added_and_removed_over_the_api() {
    let d = desk(TestApp::spawn().await).await;
    d.agent("Ana", true).await;
    let listed = d.app.get("/v1/handoff/triggers", &d.key).await.body;
    assert!(
        listed["phrases"]
            .as_array()
            .expect("phrases")
            .contains(&json!("refund")),
        "{listed}"
    );
    assert_eq!(listed["defaults"].as_array().map(Vec::len), Some(3));

    let added = d
        .app
        .post("/v1/handoff/triggers", &d.key, json!({"phrase": "Invoice"}))
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{added:?}");
    let again = d
        .app
        .post("/v1/handoff/triggers", &d.key, json!({"phrase": "invoice"}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let empty = d
        .app
        .post("/v1/handoff/triggers", &d.key, json!({"phrase": "  "}))
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.body["error"]["field"], "phrase");
    let removed = d
        .app
        .client
        .delete(format!("{}/v1/handoff/triggers/refund", d.app.base))
        .bearer_auth(&d.key)
        .send()
        .await
        .expect("sent");
    assert_eq!(removed.status(), StatusCode::OK);
    let gone = d
        .app
        .client
        .delete(format!("{}/v1/handoff/triggers/refund", d.app.base))
        .bearer_auth(&d.key)
        .send()
        .await
        .expect("sent");
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);

    let c = d.chat().await;
    let stays = d.customer(&c, "I want a refund").await;
    assert_eq!(stays["routing"], "bot", "refund was removed: {stays}");
    let handed = d.customer(&c, "my INVOICE is wrong").await;
    assert_eq!(handed["routing"], "assigned", "{handed}");

    // Each change is a binding version: rolling back restores "refund".
    let back = d
        .app
        .post("/v1/routing/handoff/rollback", &d.key, json!({}))
        .await;
    assert_eq!(back.status, StatusCode::OK, "{back:?}");
    let listed = d.app.get("/v1/handoff/triggers", &d.key).await.body;
    assert!(
        listed["phrases"]
            .as_array()
            .expect("phrases")
            .contains(&json!("refund"))
    );
}

#[baton_e2e::test]
async fn with_handoff_mode_none_the_bot_keeps_answering() {
    let d = desk(TestApp::spawn().await).await;
    d.agent("Ana", true).await;
    d.settings(json!({"mode": "none", "destination": {"desk": "inbox"}}))
        .await;
    let c = d.chat().await;
    let after = d.customer(&c, "I want to talk to a human").await;
    assert_eq!(after["routing"], "bot", "{after}");
    let declined = after["history"]
        .as_array()
        .expect("history")
        .iter()
        .find(|h| h["action"] == "handoff-declined")
        .cloned()
        .unwrap_or_else(|| panic!("recorded: {after}"));
    assert!(
        declined["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("mode is none")
    );
}

#[baton_e2e::test]
async fn asynchronous_handoff_to_a_fixed_agent_assigns_them_even_when_away() {
    let d = desk(TestApp::spawn().await).await;
    let ben = d.agent("Ben", false).await;
    d.settings(json!({
        "mode": "asynchronous",
        "destination": {"desk": "inbox", "agent": ben},
        "messages": {"unavailable": "Ben will write back tomorrow."}
    }))
    .await;
    let c = d.chat().await;
    let handed = d.customer(&c, "refund please").await;
    assert_eq!(
        assigned_agent(&handed).as_deref(),
        Some(ben.as_str()),
        "{handed}"
    );
    assert!(
        handoff_entry(&handed)["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("asynchronous"),
        "{handed}"
    );
    assert_eq!(told(&handed), vec!["Ben will write back tomorrow."]);
}

#[baton_e2e::test]
async fn outside_business_hours_a_real_time_handoff_waits_with_the_unavailable_message() {
    // 09:00 on a Monday in Tokyo; the team opens at 10:00.
    let d = desk(TestApp::spawn_at(MONDAY_0000_UTC).await).await;
    let team = d.team("Billing", &["Kai"]).await;
    let hours = d
        .app
        .put(
            &format!("/v1/teams/{team}/hours"),
            &d.key,
            json!({"time_zone": "Asia/Tokyo", "weekly": {"mon": [["10:00", "18:00"]]}}),
        )
        .await;
    assert_eq!(hours.status, StatusCode::OK, "{hours:?}");
    d.settings(json!({
        "mode": "real-time",
        "destination": {"desk": "inbox", "team": team},
        "messages": {"available": "Kai is joining.", "unavailable": "We open at 10:00."}
    }))
    .await;

    let early = d.chat().await;
    let waiting = d.customer(&early, "refund please").await;
    assert_eq!(waiting["routing"], "queued", "{waiting}");
    assert_eq!(waiting["team"], team.as_str());
    assert_eq!(waiting["status"], "open", "kept open by default");
    assert_eq!(told(&waiting), vec!["We open at 10:00."]);

    d.app.advance(Duration::from_secs(3_600)).await;
    let on_time = d.chat().await;
    let handed = d.customer(&on_time, "refund please").await;
    assert_eq!(handed["routing"], "assigned", "{handed}");
    assert_eq!(told(&handed), vec!["Kai is joining."]);
}

#[baton_e2e::test]
async fn a_real_time_handoff_with_nobody_free_says_unavailable_and_stays_open_or_closes() {
    let d = desk(TestApp::spawn().await).await;
    d.agent("Ana", false).await;
    let c = d.chat().await;
    let open = d.customer(&c, "refund please").await;
    assert_eq!(open["status"], "open", "{open}");
    assert_eq!(open["routing"], "queued");
    assert_eq!(
        told(&open),
        vec![
            "Our team is away right now. We have your message and will reply as soon as we are back."
        ],
        "nobody is free: the unavailable message, as outside business hours"
    );

    d.settings(json!({
        "mode": "real-time",
        "destination": {"desk": "inbox"},
        "messages": {
            "unavailable": "Nobody is online: please write to us by e-mail.",
            "unassigned": "Someone will follow up.",
            "available": null
        },
        "when_unassigned": "close"
    }))
    .await;
    let c = d.chat().await;
    let closed = d.customer(&c, "refund please").await;
    assert_eq!(closed["status"], "closed", "{closed}");
    assert_eq!(
        told(&closed),
        vec!["Nobody is online: please write to us by e-mail."]
    );
}

#[baton_e2e::test]
async fn a_real_time_handoff_routing_left_waiting_with_someone_free_says_unassigned() {
    let d = desk(TestApp::spawn().await).await;
    d.agent("Ana", true).await;
    // Ana is free, but the strategy fails and its fallback is the queue.
    let bad = d.app.upload(&d.key, plugins::BAD_DECISION).await;
    assert_eq!(bad.status, StatusCode::CREATED, "{bad:?}");
    let bound = d
        .app
        .put(
            "/v1/routing/assignment",
            &d.key,
            json!({"plugin": bad.body["id"], "fallback": "queue"}),
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{bound:?}");
    d.settings(json!({
        "mode": "real-time",
        "destination": {"desk": "inbox"},
        "messages": {
            "unavailable": "Nobody is online.",
            "unassigned": "We have your request; someone will follow up."
        },
        "when_unassigned": "close"
    }))
    .await;
    let c = d.chat().await;
    let closed = d.customer(&c, "refund please").await;
    assert_eq!(closed["status"], "closed", "{closed}");
    assert_eq!(
        told(&closed),
        vec!["We have your request; someone will follow up."]
    );
}

#[baton_e2e::test]
async fn handoff_settings_are_checked_field_by_field() {
    let d = desk(TestApp::spawn().await).await;
    let ana = d.agent("Ana", true).await;
    let team = d.team("Billing", &[]).await;
    let defaults = d.app.get("/v1/settings/handoff", &d.key).await.body;
    assert_eq!(defaults["mode"], "real-time", "{defaults}");
    assert_eq!(defaults["destination"]["desk"], "inbox");
    assert_eq!(defaults["when_unassigned"], "keep-open");

    let inbox = json!({"desk": "inbox"});
    let cases = [
        (json!({"mode": "later", "destination": inbox}), "mode"),
        (json!({"destination": inbox}), "mode"),
        (
            json!({"mode": "real-time", "destination": {"desk": "attic"}}),
            "destination.desk",
        ),
        (
            json!({"mode": "real-time", "destination": {"desk": "inbox", "team": "team_00000000000000000000000000000000"}}),
            "destination.team",
        ),
        (
            json!({"mode": "real-time", "destination": {"desk": "inbox", "team": team, "agent": ana}}),
            "destination.agent",
        ),
        (
            json!({"mode": "real-time", "destination": {"desk": "inbox", "pipeline": "support"}}),
            "destination.pipeline",
        ),
        (
            json!({"mode": "real-time", "destination": {"desk": "ticket-workflow", "team": team}}),
            "destination.team",
        ),
        (
            json!({"mode": "real-time", "destination": inbox, "messages": {"available": ""}}),
            "messages.available",
        ),
        (
            json!({"mode": "real-time", "destination": inbox, "messages": {"unavailable": "x".repeat(1001)}}),
            "messages.unavailable",
        ),
        (
            json!({"mode": "real-time", "destination": inbox, "when_unassigned": "archive"}),
            "when_unassigned",
        ),
    ];
    for (body, field) in cases {
        let reply = d
            .app
            .put("/v1/settings/handoff", &d.key, body.clone())
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {reply:?}"
        );
        assert_eq!(reply.body["error"]["field"], field, "{body}: {reply:?}");
    }
    assert_eq!(
        d.app.get("/v1/settings/handoff", &d.key).await.body,
        defaults,
        "nothing was written"
    );

    let bad_hours = d
        .app
        .put(
            &format!("/v1/teams/{team}/hours"),
            &d.key,
            json!({"time_zone": "Asia/Tokyo", "weekly": {"mon": [["18:00", "09:00"]]}}),
        )
        .await;
    assert_eq!(bad_hours.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_hours.body["error"]["field"], "weekly.mon[0]");
    let zone = d
        .app
        .put(
            &format!("/v1/teams/{team}/hours"),
            &d.key,
            json!({"time_zone": "Tokyo", "weekly": {}}),
        )
        .await;
    assert_eq!(zone.body["error"]["field"], "time_zone");
    let set = d
        .app
        .put(
            &format!("/v1/teams/{team}/hours"),
            &d.key,
            json!({"time_zone": "Europe/Paris", "weekly": {"fri": [["09:00", "17:30"]]}}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK);
    let teams = d.app.get("/v1/teams", &d.key).await.body["items"].clone();
    assert_eq!(
        teams[0]["hours"]["weekly"]["fri"],
        json!([["09:00", "17:30"]]),
        "{teams}"
    );
    let cleared = d
        .app
        .client
        .delete(format!("{}/v1/teams/{team}/hours", d.app.base))
        .bearer_auth(&d.key)
        .send()
        .await
        .expect("sent");
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    assert!(d.app.get("/v1/teams", &d.key).await.body["items"][0]["hours"].is_null());
}

//! Notification delivery against real receivers on loopback: an SMTP sink,
//! webhook receivers that verify the signature and de-duplicate, and the
//! in-app Server-Sent Events stream; preferences, the LiveAgent event types,
//! retries on the manual clock and at-least-once delivery across a restart.

use std::time::Duration;

use baton_e2e::receivers::{SmtpLogin, SmtpSink, SseClient, WebhookReceiver, signature_valid};
use baton_e2e::{MONDAY_0000_UTC, Reply, TestApp, assigned_agent};
use baton_host::Clock;
use baton_host::notify::address::WebhookPolicy;
use baton_host::plugin::SandboxLimits;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// A member with chat and e-mail capacity, in `teams`, with a presence.
async fn member(
    app: &TestApp,
    key: &str,
    name: &str,
    teams: &[&str],
    chat: u32,
    presence: &str,
) -> String {
    let reply = app
        .post(
            "/v1/agents",
            key,
            json!({
                "name": name,
                "email": format!("{}@example.com", name.to_lowercase()),
                "role": "agent",
                "teams": teams,
                "capacity": {"chat": chat, "email": 10}
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    let agent = id(&reply.body);
    app.presence(key, &agent, presence).await;
    agent
}

async fn team(app: &TestApp, key: &str, name: &str) -> String {
    let reply = app.post("/v1/teams", key, json!({ "name": name })).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    id(&reply.body)
}

async fn notifications(app: &TestApp, key: &str, agent: &str) -> Vec<Value> {
    let reply = app
        .get(&format!("/v1/agents/{agent}/notifications"), key)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.body["items"].as_array().cloned().unwrap_or_default()
}

/// The member's notification types, oldest first.
async fn types(app: &TestApp, key: &str, agent: &str) -> Vec<String> {
    let mut list: Vec<String> = notifications(app, key, agent)
        .await
        .iter()
        .map(|n| n["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    list.reverse();
    list
}

async fn of_type(app: &TestApp, key: &str, agent: &str, kind: &str) -> Vec<Value> {
    notifications(app, key, agent)
        .await
        .into_iter()
        .filter(|n| n["type"] == kind)
        .collect()
}

async fn put_settings(app: &TestApp, key: &str, agent: &str, body: Value) -> Reply {
    app.put(
        &format!("/v1/agents/{agent}/notifications/settings"),
        key,
        body,
    )
    .await
}

async fn secret(app: &TestApp, key: &str) -> String {
    let reply = app.get("/v1/settings/notifications", key).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.body["signing_secret"]
        .as_str()
        .expect("secret")
        .to_owned()
}

async fn message(app: &TestApp, key: &str, conversation: &str, author: &str, body: &str) {
    let reply = app
        .post(
            &format!("/v1/conversations/{conversation}/messages"),
            key,
            json!({"author": author, "body": body}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
}

#[baton_e2e::test]
async fn email_goes_through_smtp_with_the_subject_link_and_a_message_id_from_the_notification() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_smtp(MONDAY_0000_UTC, &sink.url()).await;
    let key = app.tenant("Acme").await;
    let ana = member(&app, &key, "Ana", &[], 3, "available").await;
    let c = app.conversation(&key, "Where is my order?").await;
    assert_eq!(assigned_agent(&c), Some(ana.clone()));
    app.deliver().await;

    // Being assigned goes by e-mail by default; a new chat only in the app.
    let mail = sink.wait_for(1).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    let assigned = of_type(&app, &key, &ana, "assigned").await;
    assert_eq!(assigned.len(), 1);
    let ntf = id(&assigned[0]);
    assert!(ntf.starts_with("ntf_"), "{ntf}");
    let m = &mail[0];
    assert_eq!(m.to, vec!["ana@example.com".to_owned()]);
    assert_eq!(m.from, "baton@example.com");
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("Assigned to you: Help")
    );
    assert_eq!(
        m.header("Message-ID"),
        Some(format!("<{ntf}@baton.notifications>"))
    );
    assert_eq!(m.header("X-Baton-Event-Id"), Some(ntf.clone()));
    assert_eq!(
        m.header("Date").as_deref(),
        Some("Mon, 23 Nov 2026 00:00:00 +0000"),
        "the server's clock"
    );
    assert!(
        m.body().contains(&format!("/v1/conversations/{}", id(&c))),
        "{}",
        m.body()
    );
    assert!(m.body().contains("from Kim is now yours"), "{}", m.body());
    let deliveries = &assigned[0]["deliveries"];
    assert_eq!(deliveries["email"]["state"], "delivered", "{deliveries}");
    assert_eq!(deliveries["email"]["attempts"], 1);
    assert_eq!(deliveries["in_app"]["state"], "delivered");
    let new_chat = of_type(&app, &key, &ana, "new_chat").await;
    assert_eq!(new_chat.len(), 1);
    assert!(new_chat[0]["deliveries"].get("email").is_none());
}

/// The user and password in `BATON_SMTP_URL`, percent-decoded, log in to
/// a relay that takes mail only after AUTH.
#[baton_e2e::test]
async fn email_logs_in_to_the_relay_with_the_credentials_in_the_url() {
    let sink = SmtpSink::start_with_auth().await;
    let url = format!("smtp://ana%40desk:p%C3%A4ss%20w%3Ard@{}", sink.addr);
    let app = TestApp::spawn_with_smtp(MONDAY_0000_UTC, &url).await;
    let key = app.tenant("Acme").await;
    let ana = member(&app, &key, "Ana", &[], 3, "available").await;
    let c = app.conversation(&key, "Where is my order?").await;
    assert_eq!(assigned_agent(&c), Some(ana.clone()));
    app.deliver().await;

    let mail = sink.wait_for(1).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0].to, vec!["ana@example.com".to_owned()]);
    assert_eq!(
        sink.logins(),
        vec![SmtpLogin {
            user: "ana@desk".into(),
            password: "päss w:rd".into(),
        }]
    );
    let assigned = of_type(&app, &key, &ana, "assigned").await;
    let email = &assigned[0]["deliveries"]["email"];
    assert_eq!(email["state"], "delivered", "{email}");
}

#[baton_e2e::test]
async fn email_is_skipped_and_recorded_as_such_without_smtp() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let ana = member(&app, &key, "Ana", &[], 3, "available").await;
    app.conversation(&key, "hello").await;
    app.deliver().await;
    let assigned = of_type(&app, &key, &ana, "assigned").await;
    let email = &assigned[0]["deliveries"]["email"];
    assert_eq!(email["state"], "skipped", "{email}");
    assert_eq!(email["last_error"], "no SMTP server is configured");
    assert_eq!(email["attempts"], 1);
}

#[baton_e2e::test]
async fn chat_webhook_gets_slack_compatible_json_signed_with_the_tenant_secret() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let secret = secret(&app, &key).await;
    assert_eq!(secret, self::secret(&app, &key).await, "stable once made");
    // The receiver starts with the wrong secret and refuses the first try.
    let hook = WebhookReceiver::start("not-the-tenant-secret").await;
    let ana = member(&app, &key, "Ana", &[], 3, "available").await;
    let set = put_settings(
        &app,
        &key,
        &ana,
        json!({"types": {"assigned": ["chat_webhook"], "new_chat": []}, "chat_webhook_url": hook.url}),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    assert_eq!(set.body["types"]["assigned"], json!(["chat_webhook"]));
    assert_eq!(set.body["chat_webhook_url"], json!(hook.url));
    let c = app.conversation(&key, "Refund please").await;
    app.deliver().await;
    let first = hook.wait_for(1).await;
    assert_eq!(first[0].status, 401, "a wrong secret does not verify");
    assert_eq!(hook.bad_signatures(), 1);
    assert!(hook.processed().is_empty());
    let pending = &of_type(&app, &key, &ana, "assigned").await[0]["deliveries"]["chat_webhook"];
    assert_eq!(pending["state"], "pending", "{pending}");
    assert_eq!(pending["last_error"], "the webhook answered 401");

    hook.set_secret(&secret);
    app.advance(Duration::from_secs(10)).await;
    app.deliver().await;
    let requests = hook.wait_for(2).await;
    assert_eq!(requests.len(), 2, "{requests:?}");
    let got = &requests[1];
    assert_eq!(got.status, 200);
    let notification = &of_type(&app, &key, &ana, "assigned").await[0];
    assert_eq!(got.event_id, id(notification));
    assert_eq!(got.body["id"], notification["id"]);
    assert_eq!(got.body["type"], "assigned");
    assert_eq!(got.body["conversation"], json!(id(&c)));
    assert_eq!(got.body["agent"], json!(ana));
    let text = got.body["text"].as_str().expect("Slack's text");
    assert!(text.contains("Assigned to you: Help"), "{text}");
    assert!(
        text.contains(&format!("/v1/conversations/{}", id(&c))),
        "{text}"
    );
    assert_eq!(got.body["blocks"][0]["type"], "section");
    assert_eq!(
        got.timestamp,
        (MONDAY_0000_UTC.0 / 1000 + 10).to_string(),
        "seconds by the server's clock"
    );
    assert_eq!(hook.processed(), vec![id(notification)]);
    assert_eq!(
        notification["deliveries"]["chat_webhook"]["state"],
        "delivered"
    );
    assert_eq!(notification["deliveries"]["chat_webhook"]["attempts"], 2);
    assert!(notification["deliveries"].get("in_app").is_none());
}

#[baton_e2e::test]
async fn push_webhook_gets_the_flat_payload_and_a_rotated_secret_signs_from_then_on() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let old = secret(&app, &key).await;
    let hook = WebhookReceiver::start(&old).await;
    let ana = member(&app, &key, "Ana", &[], 3, "available").await;
    let set = put_settings(
        &app,
        &key,
        &ana,
        json!({"types": {"new_chat": ["push_webhook", "in_app"]}, "push_webhook_url": hook.url}),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    assert_eq!(
        set.body["types"]["new_chat"],
        json!(["in_app", "push_webhook"])
    );
    let c = app.conversation(&key, "Hi there").await;
    app.deliver().await;
    let got = hook.wait_for(1).await;
    assert_eq!(got.len(), 1, "only new_chat goes by push: {got:?}");
    assert_eq!(got[0].status, 200);
    let body = got[0].body.as_object().expect("object");
    let mut keys: Vec<&str> = body.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["agent", "body", "conversation", "id", "title", "type"]
    );
    assert_eq!(body["type"], "new_chat");
    assert_eq!(body["title"], "New chat: Help");
    assert_eq!(body["conversation"], json!(id(&c)));
    assert!(
        body["body"]
            .as_str()
            .unwrap_or_default()
            .contains("is waiting"),
        "{body:?}"
    );

    let rotated = app
        .post("/v1/settings/notifications/rotate-secret", &key, json!({}))
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{rotated:?}");
    let new = rotated.body["signing_secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    assert_ne!(new, old);
    assert_eq!(secret(&app, &key).await, new);
    app.conversation(&key, "Another one").await;
    app.deliver().await;
    let got = hook.wait_for(2).await;
    assert_eq!(got[1].status, 401, "signed with the new secret: {got:?}");
    assert_eq!(hook.bad_signatures(), 1);
    hook.set_secret(&new);
    app.advance(Duration::from_secs(10)).await;
    app.deliver().await;
    let got = hook.wait_for(3).await;
    assert_eq!(got[2].status, 200);
    assert_eq!(hook.unique().len(), 2);
}

#[baton_e2e::test]
async fn the_in_app_stream_delivers_live_and_replays_after_last_event_id() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let ana = member(&app, &key, "Ana", &[], 5, "available").await;
    let ben = member(&app, &key, "Ben", &[], 0, "available").await;
    let path = format!("/v1/agents/{ana}/notifications/stream");
    let mut stream = SseClient::connect(&app.base, &path, &key, None).await;
    assert_eq!(stream.status, StatusCode::OK);
    assert!(
        stream.content_type.starts_with("text/event-stream"),
        "{}",
        stream.content_type
    );

    let c = app.conversation(&key, "first").await;
    app.deliver().await;
    let mut live = Vec::new();
    while let Some(event) = stream.next(Duration::from_secs(5)).await {
        live.push(event);
        if live.iter().any(|e| e.data["type"] == "assigned") {
            break;
        }
    }
    let assigned = live
        .iter()
        .find(|e| e.data["type"] == "assigned")
        .expect("assigned arrives live");
    assert_eq!(assigned.id.as_deref(), assigned.data["id"].as_str());
    assert_eq!(assigned.data["conversation"], json!(id(&c)));
    assert_eq!(assigned.data["agent"], json!(ana));
    let last_seen = assigned.id.clone().expect("id");
    drop(stream);

    // Missed while away: two more conversations, and Ben's notice.
    let mention = app
        .post(
            &format!("/v1/conversations/{}/messages", id(&c)),
            &key,
            json!({"author": "agent", "body": "@ben@example.com look", "internal": true}),
        )
        .await;
    assert_eq!(mention.status, StatusCode::CREATED);
    app.conversation(&key, "second").await;
    app.conversation(&key, "third").await;
    app.deliver().await;
    let mut replay = SseClient::connect(&app.base, &path, &key, Some(&last_seen)).await;
    let mut missed = Vec::new();
    while let Some(event) = replay.next(Duration::from_millis(1500)).await {
        missed.push(event);
    }
    let expected: Vec<Value> = {
        // Everything of Ana's after the last seen one, oldest first.
        let mut list = notifications(&app, &key, &ana).await;
        list.reverse();
        let at = list
            .iter()
            .position(|n| n["id"] == json!(last_seen))
            .expect("seen one listed");
        list[at + 1..].iter().map(|n| n["id"].clone()).collect()
    };
    assert_eq!(expected.len(), 4, "two new chats, two assignments");
    let got: Vec<Value> = missed.iter().map(|e| json!(e.id)).collect();
    assert_eq!(got, expected, "replayed in order, nothing before or twice");
    assert!(missed.iter().all(|e| e.data["agent"] == json!(ana)));

    // Live again after the replay; another member's notices never show.
    app.conversation(&key, "fourth").await;
    app.deliver().await;
    let next = replay.next(Duration::from_secs(5)).await.expect("live");
    assert_eq!(next.data["type"], "new_chat");
    assert_eq!(next.data["agent"], json!(ana));
    assert_eq!(types(&app, &key, &ben).await, ["mention"]);
    let other = SseClient::connect(&app.base, &path, "bk_wrong", None).await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
    let bad = SseClient::connect(&app.base, &path, &key, Some("not-an-id")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[baton_e2e::test]
async fn preferences_decide_the_channels_and_bad_fields_are_named() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with_smtp(MONDAY_0000_UTC, &sink.url()).await;
    let key = app.tenant("Acme").await;
    let ana = member(&app, &key, "Ana", &[], 3, "available").await;
    let path = format!("/v1/agents/{ana}/notifications/settings");
    let defaults = app.get(&path, &key).await;
    assert_eq!(defaults.status, StatusCode::OK);
    assert_eq!(defaults.body["email"], "ana@example.com");
    assert_eq!(
        defaults.body["types"]["assigned"],
        json!(["in_app", "email"])
    );
    assert_eq!(
        defaults.body["types"]["mention"],
        json!(["in_app", "email"])
    );
    assert_eq!(defaults.body["types"]["new_chat"], json!(["in_app"]));
    assert_eq!(defaults.body["chat_webhook_url"], Value::Null);

    for (body, field) in [
        (
            json!({"types": {"assigned": ["in_app", "fax"]}}),
            "types.assigned[1]",
        ),
        (json!({"types": {"birthday": ["in_app"]}}), "types.birthday"),
        (json!({"types": {"assigned": "email"}}), "types.assigned"),
        (json!({"types": ["assigned"]}), "types"),
        (
            json!({"chat_webhook_url": "ftp://hooks.example.com/x"}),
            "chat_webhook_url",
        ),
        (json!({"push_webhook_url": "not a url"}), "push_webhook_url"),
        (json!({"push_webhook_url": 7}), "push_webhook_url"),
        (
            json!({"types": {"assigned": ["chat_webhook"]}}),
            "chat_webhook_url",
        ),
        (json!({"colour": "blue"}), "colour"),
    ] {
        let reply = put_settings(&app, &key, &ana, body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {reply:?}"
        );
        assert_eq!(reply.body["error"]["field"], field, "{body}: {reply:?}");
    }
    assert_eq!(
        app.get(&path, &key).await.body,
        defaults.body,
        "nothing half-written"
    );

    // Assignments turned off entirely: nothing is recorded or sent.
    let off = put_settings(&app, &key, &ana, json!({"types": {"assigned": []}})).await;
    assert_eq!(off.status, StatusCode::OK, "{off:?}");
    assert_eq!(off.body["types"]["assigned"], json!([]));
    assert_eq!(
        off.body["types"]["mention"],
        json!(["in_app", "email"]),
        "others kept"
    );
    let c = app.conversation(&key, "hello").await;
    assert_eq!(assigned_agent(&c), Some(ana.clone()));
    // A mention still goes by e-mail.
    message(&app, &key, &id(&c), "agent", "hi").await;
    let note = app
        .post(
            &format!("/v1/conversations/{}/messages", id(&c)),
            &key,
            json!({"author": "agent", "body": "@Ana please check", "internal": true}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED);
    app.deliver().await;
    assert_eq!(types(&app, &key, &ana).await, ["new_chat", "mention"]);
    let mail = sink.wait_for(1).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(
        mail[0].header("Subject").as_deref(),
        Some("You were mentioned: Help")
    );

    // Another tenant cannot read or change these settings.
    let other = app.tenant("Other").await;
    assert_eq!(app.get(&path, &other).await.status, StatusCode::NOT_FOUND);
    let reply = put_settings(&app, &other, &ana, json!({"types": {}})).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[baton_e2e::test]
async fn assigned_new_chat_new_message_and_missed_chat_reach_the_right_members() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let ana = member(&app, &key, "Ana", &[], 3, "available").await;
    let ben = member(&app, &key, "Ben", &[], 3, "away").await;
    // Available, but takes no chats.
    let cho = member(&app, &key, "Cho", &[], 0, "available").await;

    let c1 = app.conversation(&key, "hello").await;
    assert_eq!(assigned_agent(&c1), Some(ana.clone()));
    message(&app, &key, &id(&c1), "customer", "are you there?").await;
    // The agent's own message notifies nobody.
    message(&app, &key, &id(&c1), "agent", "yes").await;
    app.close(&key, &id(&c1)).await;
    app.deliver().await;
    assert_eq!(
        types(&app, &key, &ana).await,
        ["new_chat", "assigned", "new_message"],
        "answered before closing: not missed"
    );
    let new_message = &of_type(&app, &key, &ana, "new_message").await[0];
    assert_eq!(new_message["message"], "Kim wrote: are you there?");
    assert!(
        new_message["message_id"]
            .as_str()
            .unwrap_or_default()
            .starts_with("msg_")
    );

    // Closed with no agent reply: missed, once.
    let c2 = app.conversation(&key, "anyone?").await;
    app.close(&key, &id(&c2)).await;
    message(&app, &key, &id(&c2), "customer", "hello again").await;
    app.close(&key, &id(&c2)).await;
    app.deliver().await;
    let missed = of_type(&app, &key, &ana, "missed_chat").await;
    assert_eq!(missed.len(), 1, "{missed:?}");
    assert_eq!(missed[0]["conversation"], json!(id(&c2)));
    assert_eq!(missed[0]["title"], "Missed chat: Help");

    // Joining yourself is no news to you.
    let c3 = app.conversation_on(&key, "email", "invoice").await;
    let join = app
        .post(
            &format!("/v1/conversations/{}/join", id(&c3)),
            &key,
            json!({"agent": ben, "as": "assignee"}),
        )
        .await;
    assert_eq!(join.status, StatusCode::OK, "{join:?}");
    app.deliver().await;
    assert!(of_type(&app, &key, &ben, "assigned").await.is_empty());
    assert!(
        types(&app, &key, &ben).await.is_empty(),
        "away: no new chats either"
    );
    assert!(
        !types(&app, &key, &cho)
            .await
            .iter()
            .any(|t| t == "new_chat"),
        "takes no chats"
    );
}

/// A new chat rings for whoever receives it, not for every member online:
/// the agent it is given to, each agent it is offered to, and only while
/// nobody has it, everyone available for chats in its scope.
#[baton_e2e::test]
async fn a_new_chat_rings_for_the_agents_who_receive_it_and_for_everyone_only_while_it_waits() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let ana = member(&app, &key, "Ana", &[], 1, "available").await;
    let ben = member(&app, &key, "Ben", &[], 1, "available").await;
    let chats = |agent: String| {
        let (app, key) = (&app, &key);
        async move {
            let mut list: Vec<Value> = of_type(app, key, &agent, "new_chat")
                .await
                .iter()
                .map(|n| n["conversation"].clone())
                .collect();
            list.reverse();
            list
        }
    };

    let first = app.conversation(&key, "first").await;
    let took_first = assigned_agent(&first).expect("assigned");
    let other = if took_first == ana { &ben } else { &ana };
    let second = app.conversation(&key, "second").await;
    assert_eq!(assigned_agent(&second).as_ref(), Some(other));
    app.deliver().await;
    assert_eq!(chats(took_first.clone()).await, [json!(id(&first))]);
    assert_eq!(chats(other.clone()).await, [json!(id(&second))]);

    // Both are full: the third waits, and rings for both of them.
    let third = app.conversation(&key, "third").await;
    assert_eq!(third["routing"], "queued", "{third}");
    app.deliver().await;
    assert_eq!(
        chats(took_first.clone()).await,
        [json!(id(&first)), json!(id(&third))]
    );
    assert_eq!(
        chats(other.clone()).await,
        [json!(id(&second)), json!(id(&third))]
    );

    // Offered to both at once: it rings for each of them.
    app.close(&key, &id(&first)).await;
    app.close(&key, &id(&second)).await;
    app.close(&key, &id(&third)).await;
    app.bind_strategy(&key, "simultaneous-offer").await;
    let fourth = app.conversation(&key, "fourth").await;
    assert_eq!(fourth["routing"], "offered", "{fourth}");
    app.deliver().await;
    for agent in [&ana, &ben] {
        assert_eq!(
            chats(agent.clone()).await.last(),
            Some(&json!(id(&fourth))),
            "{agent}"
        );
    }
}

#[baton_e2e::test]
async fn customer_replied_new_in_team_and_reopened_reach_the_right_members() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let sales = team(&app, &key, "Sales").await;
    let ana = member(&app, &key, "Ana", &[&sales], 0, "away").await;
    let ben = member(&app, &key, "Ben", &[&sales], 0, "away").await;
    let cho = member(&app, &key, "Cho", &[], 0, "available").await;

    // An e-mail ticket: Cho (the only one available) gets it.
    let ticket = app
        .conversation_on(&key, "email", "my invoice is wrong")
        .await;
    assert_eq!(assigned_agent(&ticket), Some(cho.clone()));
    message(&app, &key, &id(&ticket), "customer", "any news?").await;
    app.deliver().await;
    let replied = of_type(&app, &key, &cho, "customer_replied").await;
    assert_eq!(replied.len(), 1);
    assert_eq!(replied[0]["message"], "Kim wrote: any news?");
    assert_eq!(replied[0]["title"], "Customer replied: Help");

    // Moved into Sales: both members hear it once; Cho does not.
    let moved = app
        .post(
            &format!("/v1/conversations/{}/transfer", id(&ticket)),
            &key,
            json!({"to": {"team": sales}}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{moved:?}");
    app.deliver().await;
    for agent in [&ana, &ben] {
        let news = of_type(&app, &key, agent, "new_in_team").await;
        assert_eq!(news.len(), 1, "{agent}: {news:?}");
        assert_eq!(news[0]["conversation"], json!(id(&ticket)));
    }
    assert!(of_type(&app, &key, &cho, "new_in_team").await.is_empty());

    // Ana takes it; it is closed, then the customer writes again.
    let join = app
        .post(
            &format!("/v1/conversations/{}/join", id(&ticket)),
            &key,
            json!({"agent": ana, "as": "assignee"}),
        )
        .await;
    assert_eq!(join.status, StatusCode::OK);
    app.close(&key, &id(&ticket)).await;
    message(&app, &key, &id(&ticket), "customer", "still wrong").await;
    app.deliver().await;
    for agent in [&ana, &ben] {
        assert_eq!(
            of_type(&app, &key, agent, "reopened").await.len(),
            1,
            "{agent} is in the team"
        );
    }
    assert!(of_type(&app, &key, &cho, "reopened").await.is_empty());
    assert_eq!(
        of_type(&app, &key, &ana, "customer_replied").await.len(),
        1,
        "the reply that reopened it"
    );
    assert_eq!(of_type(&app, &key, &cho, "customer_replied").await.len(), 1);
    assert_eq!(
        of_type(&app, &key, &ana, "new_in_team").await.len(),
        1,
        "announced in the team once"
    );

    // Reopened by hand too; a snooze ending is not a reopening.
    app.close(&key, &id(&ticket)).await;
    let reopen = app
        .put(
            &format!("/v1/conversations/{}/status", id(&ticket)),
            &key,
            json!({"status": "open"}),
        )
        .await;
    assert_eq!(reopen.status, StatusCode::OK, "{reopen:?}");
    let snooze = app
        .put(
            &format!("/v1/conversations/{}/status", id(&ticket)),
            &key,
            json!({"status": "snoozed", "for": "1h"}),
        )
        .await;
    assert_eq!(snooze.status, StatusCode::OK, "{snooze:?}");
    app.advance(Duration::from_secs(3600)).await;
    app.deliver().await;
    assert_eq!(of_type(&app, &key, &ana, "reopened").await.len(), 2);
    assert_eq!(of_type(&app, &key, &ben, "reopened").await.len(), 2);
}

#[baton_e2e::test]
async fn a_failing_webhook_is_retried_with_backoff_on_the_servers_clock() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let hook = WebhookReceiver::start(&secret(&app, &key).await).await;
    let ana = member(&app, &key, "Ana", &[], 3, "available").await;
    put_settings(
        &app,
        &key,
        &ana,
        json!({"types": {"assigned": ["push_webhook"], "new_chat": []}, "push_webhook_url": hook.url}),
    )
    .await;
    hook.fail_next(2);
    app.conversation(&key, "hello").await;
    app.deliver().await;
    assert_eq!(hook.wait_for(1).await.len(), 1);
    let push = |list: Vec<Value>| list[0]["deliveries"]["push_webhook"].clone();
    let first = push(of_type(&app, &key, &ana, "assigned").await);
    assert_eq!(first["state"], "pending");
    assert_eq!(first["attempts"], 1);
    assert_eq!(first["last_error"], "the webhook answered 500");
    assert_eq!(first["next_attempt_at"], "2026-11-23T00:00:10.000Z");

    // Not before the backoff is over: 10 s, then 20 s.
    app.advance(Duration::from_secs(9)).await;
    app.deliver().await;
    assert_eq!(hook.requests().len(), 1);
    app.advance(Duration::from_secs(1)).await;
    app.deliver().await;
    assert_eq!(hook.wait_for(2).await.len(), 2);
    let second = push(of_type(&app, &key, &ana, "assigned").await);
    assert_eq!(second["attempts"], 2);
    assert_eq!(second["next_attempt_at"], "2026-11-23T00:00:30.000Z");
    app.advance(Duration::from_secs(19)).await;
    app.deliver().await;
    assert_eq!(hook.requests().len(), 2);
    app.advance(Duration::from_secs(1)).await;
    app.deliver().await;
    let requests = hook.wait_for(3).await;
    assert_eq!(
        requests.iter().map(|r| r.status).collect::<Vec<_>>(),
        [500, 500, 200]
    );
    let done = push(of_type(&app, &key, &ana, "assigned").await);
    assert_eq!(done["state"], "delivered", "{done}");
    assert_eq!(done["attempts"], 3);
    assert_eq!(done["delivered_at"], "2026-11-23T00:00:30.000Z");
    assert_eq!(hook.processed().len(), 1, "delivered once");
    app.advance(Duration::from_secs(3600)).await;
    app.deliver().await;
    assert_eq!(hook.requests().len(), 3, "nothing after delivery");
}

#[baton_e2e::test]
async fn a_webhook_that_never_answers_fails_after_the_last_attempt() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let hook = WebhookReceiver::start(&secret(&app, &key).await).await;
    let ana = member(&app, &key, "Ana", &[], 3, "available").await;
    put_settings(
        &app,
        &key,
        &ana,
        json!({"types": {"assigned": ["chat_webhook"], "new_chat": []}, "chat_webhook_url": hook.url}),
    )
    .await;
    hook.fail_next(u32::MAX);
    app.conversation(&key, "hello").await;
    app.deliver().await;
    // 10 s, 20 s, 40 s, ... between the eight attempts.
    for wait in [10, 20, 40, 80, 160, 320, 640] {
        app.advance(Duration::from_secs(wait)).await;
        app.deliver().await;
    }
    assert_eq!(hook.wait_for(8).await.len(), 8);
    let chat = &of_type(&app, &key, &ana, "assigned").await[0]["deliveries"]["chat_webhook"];
    assert_eq!(chat["state"], "failed", "{chat}");
    assert_eq!(chat["attempts"], 8);
    assert_eq!(chat["last_error"], "the webhook answered 500");
    app.advance(Duration::from_secs(24 * 3600)).await;
    app.deliver().await;
    assert_eq!(hook.requests().len(), 8, "given up");
}

#[baton_e2e::test]
async fn a_pending_delivery_survives_a_restart_and_the_receiver_processes_it_once() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let hook = WebhookReceiver::start(&secret(&app, &key).await).await;
    let ana = member(&app, &key, "Ana", &[], 3, "available").await;
    put_settings(
        &app,
        &key,
        &ana,
        json!({"types": {"assigned": ["push_webhook"], "new_chat": []}, "push_webhook_url": hook.url}),
    )
    .await;
    // The receiver takes the first delivery but the sender never learns
    // (as after a crash between sending and recording).
    hook.process_then_fail(1);
    app.conversation(&key, "hello").await;
    app.deliver().await;
    assert_eq!(hook.wait_for(1).await.len(), 1);
    let ntf = id(&of_type(&app, &key, &ana, "assigned").await[0]);
    assert_eq!(hook.processed(), vec![ntf.clone()]);

    let clock = app.clock.clone();
    let dir = app.stop().await;
    let app = TestApp::spawn_on(dir, SandboxLimits::default(), clock).await;
    let pending = &of_type(&app, &key, &ana, "assigned").await[0]["deliveries"]["push_webhook"];
    assert_eq!(
        pending["state"], "pending",
        "kept across the restart: {pending}"
    );
    assert_eq!(pending["attempts"], 1);
    // Nothing before the retry time, on the same clock.
    app.deliver_now().await;
    assert_eq!(hook.requests().len(), 1);
    assert!(app.clock.advance(Duration::from_secs(10)));
    app.deliver_now().await;
    let requests = hook.wait_for(2).await;
    assert_eq!(requests.len(), 2);
    assert!(
        requests.iter().all(|r| r.event_id == ntf),
        "the same id: {requests:?}"
    );
    assert_eq!(hook.processed(), vec![ntf.clone()], "processed once");
    assert_eq!(hook.duplicates(), 1);
    let done = &of_type(&app, &key, &ana, "assigned").await[0]["deliveries"]["push_webhook"];
    assert_eq!(done["state"], "delivered");
    assert_eq!(done["attempts"], 2);
}

#[test]
fn the_receivers_signature_check_agrees_with_the_server() {
    let body = br#"{"id":"ntf_0","text":"hi"}"#;
    let signature = baton_host::notify::webhook::sign("s3cret", body);
    assert!(signature_valid("s3cret", body, &signature));
    assert!(baton_host::notify::webhook::verify(
        "s3cret", body, &signature
    ));
    assert!(!signature_valid("other", body, &signature));
    assert!(!signature_valid("s3cret", b"{}", &signature));
    assert!(!signature_valid("s3cret", body, "sha256=00"));
}

/// The production default: webhooks may not reach the server's own network.
const STRICT: WebhookPolicy = WebhookPolicy {
    allow_private: false,
};

#[baton_e2e::test]
async fn a_webhook_url_on_the_servers_own_network_is_refused_unless_the_operator_allows_it() {
    let strict = TestApp::spawn_with_webhooks(
        tempfile::tempdir().expect("temp dir"),
        Clock::manual(MONDAY_0000_UTC),
        STRICT,
    )
    .await;
    let key = strict.tenant("Acme").await;
    let ana = member(&strict, &key, "Ana", &[], 3, "available").await;
    for (field, url, kind) in [
        ("chat_webhook_url", "http://127.0.0.1:9/x", "loopback"),
        ("push_webhook_url", "http://[::1]:9/x", "loopback"),
        ("chat_webhook_url", "http://0x7f.1:9/x", "loopback"),
        ("push_webhook_url", "http://10.1.2.3/x", "private"),
        ("chat_webhook_url", "http://169.254.169.254/x", "link-local"),
        ("push_webhook_url", "http://[fd00::1]/x", "unique-local"),
        (
            "chat_webhook_url",
            "http://100.64.0.1/x",
            "carrier-grade NAT",
        ),
        ("push_webhook_url", "http://192.0.2.1/x", "documentation"),
    ] {
        let refused = put_settings(&strict, &key, &ana, json!({ field: url })).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {refused:?}"
        );
        assert_eq!(refused.body["error"]["field"], field, "{refused:?}");
        let message = refused.body["error"]["message"].as_str().expect("message");
        assert!(message.contains(kind), "{url}: {message}");
    }
    let kept = strict
        .get(&format!("/v1/agents/{ana}/notifications/settings"), &key)
        .await;
    assert_eq!(kept.body["chat_webhook_url"], Value::Null, "{kept:?}");
    assert_eq!(kept.body["push_webhook_url"], Value::Null, "{kept:?}");
    // A public address and a host name are accepted: a name is checked
    // when it is resolved, at delivery.
    for url in ["https://93.184.215.14/hook", "http://localhost:9/x"] {
        let set = put_settings(&strict, &key, &ana, json!({ "chat_webhook_url": url })).await;
        assert_eq!(set.status, StatusCode::OK, "{url}: {set:?}");
    }

    // With the setting on (as on every other test server), the same
    // loopback URL is accepted.
    let open = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = open.tenant("Acme").await;
    let ana = member(&open, &key, "Ana", &[], 3, "available").await;
    let set = put_settings(
        &open,
        &key,
        &ana,
        json!({"chat_webhook_url": "http://127.0.0.1:9/x"}),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    assert_eq!(set.body["chat_webhook_url"], "http://127.0.0.1:9/x");
}

/// The delivery's state after the first attempt, and that the receiver
/// never heard of it, even a day later.
async fn refused_once(app: &TestApp, key: &str, agent: &str, hook: &WebhookReceiver) -> Value {
    app.conversation(key, "hello").await;
    app.deliver().await;
    let first = of_type(app, key, agent, "assigned").await[0]["deliveries"]["chat_webhook"].clone();
    app.advance(Duration::from_secs(24 * 3600)).await;
    app.deliver().await;
    let later = &of_type(app, key, agent, "assigned").await[0]["deliveries"]["chat_webhook"];
    assert_eq!(*later, first, "not retried");
    assert!(hook.requests().is_empty(), "{:?}", hook.requests());
    first
}

#[baton_e2e::test]
async fn a_host_name_resolving_to_the_servers_own_network_fails_at_delivery_without_retries() {
    let app = TestApp::spawn_with_webhooks(
        tempfile::tempdir().expect("temp dir"),
        Clock::manual(MONDAY_0000_UTC),
        STRICT,
    )
    .await;
    let key = app.tenant("Acme").await;
    let hook = WebhookReceiver::start(&secret(&app, &key).await).await;
    let ana = member(&app, &key, "Ana", &[], 3, "available").await;
    // The receiver listens on 127.0.0.1; "localhost" names it.
    let url = hook.url.replace("127.0.0.1", "localhost");
    let set = put_settings(
        &app,
        &key,
        &ana,
        json!({"types": {"assigned": ["chat_webhook"], "new_chat": []}, "chat_webhook_url": url}),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    let chat = refused_once(&app, &key, &ana, &hook).await;
    assert_eq!(chat["state"], "failed", "{chat}");
    assert_eq!(chat["attempts"], 1, "{chat}");
    let error = chat["last_error"].as_str().expect("last_error");
    assert!(
        error.starts_with("refused: localhost resolves only to refused addresses"),
        "{error}"
    );
    assert!(error.contains("loopback"), "{error}");
}

#[baton_e2e::test]
async fn an_ip_literal_url_set_while_allowed_is_refused_at_delivery_once_the_setting_is_off() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let hook = WebhookReceiver::start(&secret(&app, &key).await).await;
    let ana = member(&app, &key, "Ana", &[], 3, "available").await;
    let set = put_settings(
        &app,
        &key,
        &ana,
        json!({"types": {"assigned": ["chat_webhook"], "new_chat": []}, "chat_webhook_url": hook.url}),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");

    // The operator turns the setting off and restarts.
    let clock = app.clock.clone();
    let dir = app.stop().await;
    let app = TestApp::spawn_with_webhooks(dir, clock, STRICT).await;
    let chat = refused_once(&app, &key, &ana, &hook).await;
    assert_eq!(chat["state"], "failed", "{chat}");
    assert_eq!(chat["attempts"], 1, "{chat}");
    let error = chat["last_error"].as_str().expect("last_error");
    assert!(
        error.starts_with("refused: 127.0.0.1 is a loopback address"),
        "{error}"
    );
}

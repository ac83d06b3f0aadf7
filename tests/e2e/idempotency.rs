//! `Idempotency-Key`: a channel's retry of a POST gets the first answer
//! and creates nothing, whether the first is done or still running; a key
//! reused for another request is refused; keys are a tenant's own and
//! live for a day.

use std::time::Duration;

use baton_e2e::{MONDAY_0000_UTC, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Answer {
    status: StatusCode,
    replayed: bool,
    body: Value,
}

async fn post_keyed(
    app: &TestApp,
    path: &str,
    auth: Option<&str>,
    key: &str,
    body: &Value,
) -> Answer {
    let mut request = app
        .client
        .post(format!("{}{path}", app.base))
        .header("idempotency-key", key)
        .json(body);
    if let Some(token) = auth {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("sent");
    Answer {
        status: response.status(),
        replayed: response.headers().get("idempotent-replayed").is_some(),
        body: response.json().await.unwrap_or(Value::Null),
    }
}

fn chat(message: &str) -> Value {
    json!({
        "channel": "chat",
        "subject": "Help",
        "contact": {"name": "Kim", "email": "kim@example.com"},
        "message": message
    })
}

async fn conversations(app: &TestApp, key: &str) -> usize {
    let listed = app.get("/v1/conversations", key).await;
    listed.body["items"].as_array().expect("a list").len()
}

#[baton_e2e::test]
async fn a_retried_conversation_gets_the_first_answer_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Retry").await;
    let agent = app.agent(&key, "Ana", 5).await;
    app.presence(&key, &agent, "available").await;

    let first = post_keyed(
        &app,
        "/v1/conversations",
        Some(&key),
        "chat-1",
        &chat("hello"),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert!(!first.replayed);
    let again = post_keyed(
        &app,
        "/v1/conversations",
        Some(&key),
        "chat-1",
        &chat("hello"),
    )
    .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert!(again.replayed, "a repeat says it repeats");
    assert_eq!(again.body, first.body, "the first answer, word for word");
    assert_eq!(conversations(&app, &key).await, 1);

    // The same key with another body is a client's mistake: refused, and
    // nothing is created.
    let other = post_keyed(
        &app,
        "/v1/conversations",
        Some(&key),
        "chat-1",
        &chat("bye"),
    )
    .await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.body
    );
    assert_eq!(other.body["error"]["code"], "idempotency_key_reused");
    assert_eq!(other.body["error"]["field"], "Idempotency-Key");
    assert_eq!(conversations(&app, &key).await, 1);

    // Keys are each tenant's own.
    let neighbour = app.tenant("Neighbour").await;
    let theirs = post_keyed(
        &app,
        "/v1/conversations",
        Some(&neighbour),
        "chat-1",
        &chat("hello"),
    )
    .await;
    assert_eq!(theirs.status, StatusCode::CREATED);
    assert!(!theirs.replayed);
    assert_ne!(theirs.body["id"], first.body["id"]);

    // A message to the conversation, retried: one message.
    let id = first.body["id"].as_str().expect("id");
    let path = format!("/v1/conversations/{id}/messages");
    let note = json!({"author": "customer", "body": "still there?"});
    let sent = post_keyed(&app, &path, Some(&key), "msg-1", &note).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
    let resent = post_keyed(&app, &path, Some(&key), "msg-1", &note).await;
    assert!(resent.replayed);
    let shown = app.get(&format!("/v1/conversations/{id}"), &key).await.body;
    let copies = shown["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["body"] == "still there?")
        .count();
    assert_eq!(copies, 1, "{shown}");
}

#[baton_e2e::test]
async fn a_refusal_is_repeated_and_a_bad_key_is_refused_by_name() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Forms").await;
    let bad = json!({"contact": {"email": "not an address"}});
    let refused = post_keyed(&app, "/v1/inbound/form", Some(&key), "form-1", &bad).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    let again = post_keyed(&app, "/v1/inbound/form", Some(&key), "form-1", &bad).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.replayed, "a refusal is an answer too");
    assert_eq!(again.body, refused.body);

    let form = json!({"contact": {"email": "lee@example.com"}, "message": "Call me"});
    let too_long = "k".repeat(256);
    let invalid = post_keyed(&app, "/v1/inbound/form", Some(&key), &too_long, &form).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        invalid.body["error"]["field"], "Idempotency-Key",
        "{}",
        invalid.body
    );
    assert_eq!(conversations(&app, &key).await, 0, "nothing was created");

    let filed = post_keyed(&app, "/v1/inbound/form", Some(&key), "form-2", &form).await;
    assert_eq!(filed.status, StatusCode::CREATED, "{}", filed.body);
    let refiled = post_keyed(&app, "/v1/inbound/form", Some(&key), "form-2", &form).await;
    assert!(refiled.replayed);
    assert_eq!(refiled.body, filed.body);
    assert_eq!(conversations(&app, &key).await, 1);
}

#[baton_e2e::test]
async fn retries_sent_together_create_one_conversation() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Eager").await;
    let body = chat("are you there?");
    let answers = futures_util::future::join_all(
        (0..6).map(|_| post_keyed(&app, "/v1/conversations", Some(&key), "burst", &body)),
    )
    .await;
    let created = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .count();
    for answer in &answers {
        assert!(
            answer.status == StatusCode::CREATED || answer.status == StatusCode::CONFLICT,
            "{}: {}",
            answer.status,
            answer.body
        );
        if answer.status == StatusCode::CONFLICT {
            assert_eq!(answer.body["error"]["field"], "Idempotency-Key");
        }
    }
    assert!(created >= 1);
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.status == StatusCode::CREATED && !a.replayed)
            .count(),
        1,
        "one ran; the others waited for it or were told it runs"
    );
    assert_eq!(conversations(&app, &key).await, 1);
}

#[baton_e2e::test]
async fn a_key_is_kept_for_a_day() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Daily").await;
    let body = chat("hello");
    let first = post_keyed(&app, "/v1/conversations", Some(&key), "daily", &body).await;
    assert_eq!(first.status, StatusCode::CREATED);
    app.advance(Duration::from_secs(23 * 60 * 60)).await;
    let within = post_keyed(&app, "/v1/conversations", Some(&key), "daily", &body).await;
    assert!(within.replayed, "23 hours on, still the first answer");
    app.advance(Duration::from_secs(60 * 60)).await;
    let after = post_keyed(&app, "/v1/conversations", Some(&key), "daily", &body).await;
    assert_eq!(after.status, StatusCode::CREATED);
    assert!(!after.replayed, "a day on, the key is free again");
    assert_ne!(after.body["id"], first.body["id"]);
    assert_eq!(conversations(&app, &key).await, 2);
}

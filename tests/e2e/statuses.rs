//! Open, snoozed, closed: explicit changes, reopening by messages, snooze
//! timers and closing after inactivity, all on a manual clock.

use std::time::Duration;

use baton_e2e::{MONDAY_0000_UTC, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn id(c: &Value) -> String {
    c["id"].as_str().expect("id").to_owned()
}

const MINUTE: Duration = Duration::from_secs(60);

async fn status(app: &TestApp, key: &str, conversation: &str) -> Value {
    app.get(&format!("/v1/conversations/{conversation}"), key)
        .await
        .body
}

async fn say(app: &TestApp, key: &str, conversation: &str, author: &str, body: &str) {
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
async fn a_snooze_ends_when_its_time_passes_and_fires_once() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let c = id(&app.conversation(&key, "where is my parcel?").await);
    let path = format!("/v1/conversations/{c}/status");

    let snoozed = app
        .put(&path, &key, json!({"status": "snoozed", "for": "2h"}))
        .await;
    assert_eq!(snoozed.status, StatusCode::OK, "{snoozed:?}");
    assert_eq!(snoozed.body["status"], "snoozed");
    assert_eq!(snoozed.body["snoozed_until"], "2026-11-23T02:00:00.000Z");
    let listed = app.get("/v1/conversations?status=snoozed", &key).await.body["items"].clone();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");

    app.advance(119 * MINUTE).await;
    assert_eq!(status(&app, &key, &c).await["status"], "snoozed");
    app.advance(MINUTE).await;
    let woke = status(&app, &key, &c).await;
    assert_eq!(woke["status"], "open", "{woke}");
    assert!(woke.get("snoozed_until").is_none(), "{woke}");

    // Closing and passing the old deadline again changes nothing: the timer
    // fired once and is spent.
    app.close(&key, &c).await;
    app.advance(180 * MINUTE).await;
    let later = status(&app, &key, &c).await;
    assert_eq!(later["status"], "closed");
    let reopenings = later["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|h| h["action"] == "reopened")
        .count();
    assert_eq!(reopenings, 1, "{later}");
}

#[baton_e2e::test]
async fn a_customer_message_wakes_a_snoozed_conversation_and_cancels_its_timer() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let c = id(&app.conversation(&key, "hello").await);
    let path = format!("/v1/conversations/{c}/status");
    let reply = app
        .put(
            &path,
            &key,
            json!({"status": "snoozed", "until": "2026-11-23T10:00:00+09:00"}),
        )
        .await;
    assert_eq!(reply.body["snoozed_until"], "2026-11-23T01:00:00.000Z");

    // An agent writing does not end a snooze; the customer writing does.
    say(&app, &key, &c, "agent", "We will check tomorrow").await;
    assert_eq!(status(&app, &key, &c).await["status"], "snoozed");
    say(&app, &key, &c, "customer", "Any news?").await;
    let woke = status(&app, &key, &c).await;
    assert_eq!(woke["status"], "open");
    assert!(woke.get("snoozed_until").is_none(), "{woke}");
    app.advance(120 * MINUTE).await;
    let history = status(&app, &key, &c).await["history"].clone();
    assert!(
        history
            .as_array()
            .expect("history")
            .iter()
            .all(|h| h["decided_by"] != "timer"),
        "the cancelled timer never fired: {history}"
    );
}

#[baton_e2e::test]
async fn a_new_message_from_either_side_reopens_a_closed_conversation() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    for author in ["customer", "agent"] {
        let c = id(&app.conversation(&key, "hello").await);
        app.close(&key, &c).await;
        assert_eq!(status(&app, &key, &c).await["status"], "closed");
        say(&app, &key, &c, author, "one more thing").await;
        assert_eq!(status(&app, &key, &c).await["status"], "open", "{author}");
    }
    // An internal note is not a message to the customer: it reopens nothing.
    let c = id(&app.conversation(&key, "hello").await);
    app.close(&key, &c).await;
    let note = app
        .post(
            &format!("/v1/conversations/{c}/messages"),
            &key,
            json!({"author": "agent", "body": "for the record", "internal": true}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED);
    assert_eq!(status(&app, &key, &c).await["status"], "closed");
}

#[baton_e2e::test]
async fn snoozing_needs_a_future_end_and_other_statuses_take_none() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let c = id(&app.conversation(&key, "hello").await);
    let path = format!("/v1/conversations/{c}/status");
    let cases = [
        (json!({"status": "snoozed"}), "until", "no end"),
        (
            json!({"status": "snoozed", "until": "2026-11-22T00:00:00Z"}),
            "until",
            "in the past",
        ),
        (
            json!({"status": "snoozed", "until": "tomorrow"}),
            "until",
            "not a time",
        ),
        (
            json!({"status": "snoozed", "for": "a while"}),
            "for",
            "not a duration",
        ),
        (
            json!({"status": "snoozed", "for": "1h", "until": "2026-11-24T00:00:00Z"}),
            "for",
            "both",
        ),
        (
            json!({"status": "closed", "for": "1h"}),
            "for",
            "close with an end",
        ),
        (json!({"status": "asleep"}), "status", "unknown status"),
    ];
    for (body, field, why) in cases {
        let reply = app.put(&path, &key, body).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{why}: {reply:?}"
        );
        assert_eq!(reply.body["error"]["field"], field, "{why}: {reply:?}");
    }
    assert_eq!(
        status(&app, &key, &c).await["status"],
        "open",
        "nothing changed"
    );
}

#[baton_e2e::test]
async fn conversations_close_after_the_tenants_inactivity_period() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let quiet = id(&app.conversation(&key, "hello").await);
    let busy = id(&app.conversation(&key, "hello again").await);

    let bad = app
        .put(
            "/v1/settings/lifecycle",
            &key,
            json!({"auto_close_after": "10s"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["error"]["field"], "auto_close_after");
    let set = app
        .put(
            "/v1/settings/lifecycle",
            &key,
            json!({"auto_close_after": "30m", "auto_close_message": "Closed for now: write again any time."}),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");
    assert_eq!(set.body["auto_close_after"], "30m");

    app.advance(20 * MINUTE).await;
    say(&app, &key, &busy, "agent", "Still there?").await;
    app.advance(10 * MINUTE).await;
    let closed = status(&app, &key, &quiet).await;
    assert_eq!(closed["status"], "closed", "{closed}");
    assert!(
        closed["messages"]
            .to_string()
            .contains("Closed for now: write again any time."),
        "{closed}"
    );
    let reason = closed["history"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(reason["decided_by"], "timer");
    assert_eq!(status(&app, &key, &busy).await["status"], "open");
    app.advance(20 * MINUTE).await;
    assert_eq!(status(&app, &key, &busy).await["status"], "closed");

    // Turning it off stops pending deadlines.
    let fresh = id(&app.conversation(&key, "new").await);
    let off = app
        .put(
            "/v1/settings/lifecycle",
            &key,
            json!({"auto_close_after": null}),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK);
    app.advance(120 * MINUTE).await;
    assert_eq!(status(&app, &key, &fresh).await["status"], "open");
}

#[baton_e2e::test]
async fn timers_survive_a_restart_and_fire_once() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let c = id(&app.conversation(&key, "hello").await);
    let reply = app
        .put(
            &format!("/v1/conversations/{c}/status"),
            &key,
            json!({"status": "snoozed", "for": "1h"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let clock = app.clock.clone();
    let dir = app.stop().await;

    // The process was down when the snooze ended; the next one fires it.
    clock.advance(90 * MINUTE);
    let app = TestApp::spawn_on(dir, Default::default(), clock).await;
    app.settle().await;
    let woke = status(&app, &key, &c).await;
    assert_eq!(woke["status"], "open", "{woke}");
    app.advance(MINUTE).await;
    let history = status(&app, &key, &c).await["history"].clone();
    let fired = history
        .as_array()
        .expect("history")
        .iter()
        .filter(|h| h["decided_by"] == "timer")
        .count();
    assert_eq!(fired, 1, "{history}");
}

#[baton_e2e::test]
async fn two_servers_on_one_database_fire_a_timer_once() {
    let first = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let second = first.spawn_beside().await;
    let key = first.tenant("Acme").await;
    let bound = first
        .put(
            "/v1/routing/workflows",
            &key,
            json!({"workflows": [{"plugin": "inactivity-close", "config": {"after_minutes": 30}}]}),
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{bound:?}");
    let quiet = id(&second.conversation(&key, "hello").await);
    let c = id(&first.conversation(&key, "hello").await);
    let reply = second
        .put(
            &format!("/v1/conversations/{c}/status"),
            &key,
            json!({"status": "snoozed", "for": "1h"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");

    // One clock for both: both timer workers see each timer come due.
    first.advance(31 * MINUTE).await;
    second.settle().await;
    first.advance(30 * MINUTE).await;
    second.settle().await;
    let woke = status(&second, &key, &c).await;
    assert_eq!(woke["status"], "open", "{woke}");
    let reopenings = woke["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|h| h["action"] == "reopened")
        .count();
    assert_eq!(reopenings, 1, "{woke}");
    // A workflow's timer too: one firing, one run, one closing.
    assert_eq!(status(&first, &key, &quiet).await["status"], "closed");
    let runs = first
        .get(&format!("/v1/workflows/runs?conversation={quiet}"), &key)
        .await
        .body["items"]
        .clone();
    let fired = runs
        .as_array()
        .expect("runs")
        .iter()
        .filter(|r| r["event_kind"] == "timer.fired")
        .count();
    assert_eq!(fired, 1, "{runs}");
}

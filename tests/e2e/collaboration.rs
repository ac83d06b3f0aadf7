//! Joining, following, @mentions and statistics.

use std::time::Duration;

use baton_e2e::{MONDAY_0000_UTC, TestApp, assigned_agent};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn id(c: &Value) -> String {
    c["id"].as_str().expect("id").to_owned()
}

async fn member(app: &TestApp, key: &str, name: &str, role: &str) -> String {
    let body = json!({"name": name, "email": format!("{}@example.com", name.to_lowercase()), "role": role});
    app.post("/v1/agents", key, body).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[baton_e2e::test]
async fn agents_join_admins_add_followers_and_mentions_follow_and_notify() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let ana = member(&app, &key, "Ana", "agent").await;
    let ben = member(&app, &key, "Ben", "agent").await;
    let boss = member(&app, &key, "Boss", "admin").await;
    let c = app.conversation(&key, "help").await;
    let path = format!("/v1/conversations/{}", id(&c));

    let joined = app
        .post(
            &format!("{path}/join"),
            &key,
            json!({"agent": ana, "as": "assignee"}),
        )
        .await;
    assert_eq!(joined.status, StatusCode::OK, "{joined:?}");
    let followed = app
        .post(
            &format!("{path}/join"),
            &key,
            json!({"agent": ben, "as": "follower"}),
        )
        .await;
    assert_eq!(followed.body["followers"], json!([ben]));
    let detail = app.get(&path, &key).await.body;
    assert_eq!(assigned_agent(&detail), Some(ana.clone()));

    // Adding someone else takes an admin.
    let add = |who: &str| {
        app.client
            .post(format!("{}{path}/followers", app.base))
            .bearer_auth(&key)
            .header("x-baton-agent", who)
            .json(&json!({"agent": boss}))
            .send()
    };
    assert_eq!(
        add(&ana).await.expect("sent").status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(add(&boss).await.expect("sent").status(), StatusCode::OK);

    // An @mention in an internal note: Cho follows and is notified.
    let cho = member(&app, &key, "Cho", "agent").await;
    let note = app
        .post(&format!("{path}/messages"), &key, json!({"author": "agent", "body": "@cho@example.com can you check the invoice?", "internal": true}))
        .await;
    assert_eq!(note.status, StatusCode::CREATED);
    let followers = app.get(&path, &key).await.body["followers"].clone();
    assert_eq!(followers, json!([ben, boss, cho]));
    let inbox = app
        .get(&format!("/v1/agents/{cho}/notifications"), &key)
        .await
        .body["items"]
        .clone();
    assert_eq!(inbox.as_array().map(Vec::len), Some(1), "{inbox}");
    assert_eq!(inbox[0]["conversation"], c["id"]);
    // A public message mentioning someone does not.
    app.post(
        &format!("{path}/messages"),
        &key,
        json!({"author": "agent", "body": "@Ana hello"}),
    )
    .await;
    assert_eq!(
        app.get(&format!("/v1/agents/{ana}/notifications"), &key)
            .await
            .body["items"],
        json!([])
    );
}

#[baton_e2e::test]
async fn statistics_count_by_tag_channel_and_status_and_time_responses() {
    let app = TestApp::spawn_at(MONDAY_0000_UTC).await;
    let key = app.tenant("Acme").await;
    let ana = app.agent(&key, "Ana", 10).await;
    app.presence(&key, &ana, "available").await;
    let a = app.conversation(&key, "one").await;
    let b = app.conversation_on(&key, "email", "two").await;
    let gone = app.conversation(&key, "three").await;
    for c in [&a, &b, &gone] {
        app.put(
            &format!("/v1/conversations/{}/tags", id(c)),
            &key,
            json!({"tags": ["billing"]}),
        )
        .await;
    }
    app.advance(Duration::from_secs(5 * 60)).await;
    app.post(
        &format!("/v1/conversations/{}/messages", id(&a)),
        &key,
        json!({"author": "agent", "body": "On it"}),
    )
    .await;
    app.advance(Duration::from_secs(15 * 60)).await;
    app.close(&key, &id(&a)).await;
    let admin = app
        .post(
            "/v1/agents",
            &key,
            json!({"name": "Boss", "email": "boss@example.com", "role": "admin"}),
        )
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let deleted = app
        .client
        .delete(format!("{}/v1/conversations/{}", app.base, id(&gone)))
        .bearer_auth(&key)
        .header("x-baton-agent", &admin)
        .json(&json!({"confirm": id(&gone)}))
        .send()
        .await
        .expect("sent");
    assert_eq!(deleted.status(), StatusCode::OK);

    let stats = app.get("/v1/stats", &key).await.body;
    assert_eq!(
        stats["conversations"], 2,
        "the deleted one no longer counts: {stats}"
    );
    assert_eq!(stats["by_tag"]["billing"], 2);
    assert_eq!(stats["by_channel"], json!({"chat": 1, "email": 1}));
    assert_eq!(stats["by_status"], json!({"closed": 1, "open": 1}));
    // Answered five minutes in, closed twenty minutes in (on the manual clock).
    assert_eq!(stats["first_response_ms_median"], 5 * 60_000, "{stats}");
    assert_eq!(stats["resolution_ms_median"], 20 * 60_000, "{stats}");
}

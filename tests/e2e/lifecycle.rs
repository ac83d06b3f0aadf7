//! Tags and notes, member and customer links, permanent deletion.

use baton_e2e::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

fn id(c: &Value) -> String {
    c["id"].as_str().expect("id").to_owned()
}

#[baton_e2e::test]
async fn tags_and_notes_are_kept_and_notes_are_at_most_500_characters() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let c = app.conversation(&key, "help").await;
    let path = format!("/v1/conversations/{}", id(&c));

    let tags = app
        .put(
            &format!("{path}/tags"),
            &key,
            json!({"tags": ["billing", "refund", "billing"]}),
        )
        .await;
    assert_eq!(tags.status, StatusCode::OK, "{tags:?}");
    assert_eq!(tags.body["tags"], json!(["billing", "refund"]));
    let bad = app
        .put(&format!("{path}/tags"), &key, json!({"tags": ["ok", ""]}))
        .await;
    assert_eq!(bad.body["error"]["field"], "tags[1]");

    let long = "x".repeat(501);
    let refused = app
        .put(&format!("{path}/note"), &key, json!({"note": long}))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["error"]["field"], "note");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("500")
    );
    let kept = app
        .put(
            &format!("{path}/note"),
            &key,
            json!({"note": "y".repeat(500)}),
        )
        .await;
    assert_eq!(kept.status, StatusCode::OK);
    let detail = app.get(&path, &key).await.body;
    assert_eq!(detail["note"].as_str().map(str::len), Some(500));
    assert_eq!(detail["tags"], json!(["billing", "refund"]));

    let contact = app
        .put(
            "/v1/contacts/kim@example.com/note",
            &key,
            json!({"note": "Prefers e-mail"}),
        )
        .await;
    assert_eq!(contact.status, StatusCode::OK, "{contact:?}");
    assert_eq!(
        app.get("/v1/contacts/kim@example.com", &key).await.body["note"],
        "Prefers e-mail"
    );
    let too_long = app
        .put(
            "/v1/contacts/kim@example.com/note",
            &key,
            json!({"note": "z".repeat(600)}),
        )
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Make a customer link for the conversation at `path`; returns its URL path.
async fn customer_link(app: &TestApp, key: &str, path: &str) -> String {
    let made = app.post(&format!("{path}/links"), key, json!({})).await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    assert_eq!(made.body["member"], path);
    made.body["customer"]
        .as_str()
        .expect("customer link")
        .to_owned()
}

/// Everything the server's database holds: every byte of its SQLite files
/// (the WAL included), or every row of its PostgreSQL database as text.
fn database_bytes(app: &TestApp) -> Vec<u8> {
    baton_e2e::database_bytes(app.dir.path())
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[baton_e2e::test]
async fn the_customer_link_is_shown_once_and_only_its_hash_is_stored() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let c = app.conversation(&key, "where is my parcel").await;
    let path = format!("/v1/conversations/{}", id(&c));
    let first = customer_link(&app, &key, &path).await;
    let token = first.strip_prefix("/v1/customer/").expect("token");
    assert!(token.starts_with("ct_") && token.len() > 60, "{token}");
    let view = app.get(&first, "").await;
    assert_eq!(view.status, StatusCode::OK, "{view:?}");
    assert!(view.body.to_string().contains("where is my parcel"));

    // Afterwards the links say one exists, but never show it again.
    let links = app.get(&format!("{path}/links"), &key).await;
    assert_eq!(links.status, StatusCode::OK, "{links:?}");
    assert_eq!(links.body["customer"], Value::Null);
    assert_eq!(links.body["customer_issued"], true);
    assert!(!links.body.to_string().contains(token));

    // The database holds the token's SHA-256, not the token.
    let bytes = database_bytes(&app);
    let hash: String = sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(holds(&bytes, &hash), "the hash is stored");
    assert!(!holds(&bytes, token), "the plain token is not");
    assert!(!holds(&bytes, &token[3..]), "nor its secret part");

    // A new link replaces the old one, which stops working.
    let second = customer_link(&app, &key, &path).await;
    assert_ne!(second, first);
    assert_eq!(app.get(&first, "").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&second, "").await.status, StatusCode::OK);

    // Another tenant cannot make one for this conversation.
    let other = app.tenant("Other").await;
    let theirs = app.post(&format!("{path}/links"), &other, json!({})).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{theirs:?}");
    assert_eq!(app.get(&second, "").await.status, StatusCode::OK);
}

#[baton_e2e::test]
async fn the_customer_link_shows_one_conversation_without_internal_notes() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let mine = app.conversation(&key, "my order is late").await;
    let theirs = app.conversation(&key, "someone else's secret").await;
    let path = format!("/v1/conversations/{}", id(&mine));
    let note = app
        .post(&format!("{path}/messages"), &key, json!({"author": "agent", "body": "internal: customer is a reseller", "internal": true}))
        .await;
    assert_eq!(note.status, StatusCode::CREATED);
    app.post(
        &format!("{path}/messages"),
        &key,
        json!({"author": "agent", "body": "We are on it"}),
    )
    .await;

    let before = app.get(&format!("{path}/links"), &key).await.body;
    assert_eq!(before["member"], path.as_str());
    assert_eq!(before["customer"], Value::Null);
    assert_eq!(before["customer_issued"], false);
    let customer = customer_link(&app, &key, &path).await;
    let other = customer_link(&app, &key, &format!("/v1/conversations/{}", id(&theirs))).await;
    assert_ne!(customer, other, "one secret per conversation");

    // No API key: the link alone is the credential.
    let view = app.get(&customer, "").await.body;
    let text = view.to_string();
    assert!(
        text.contains("my order is late") && text.contains("We are on it"),
        "{view}"
    );
    assert!(
        !text.contains("reseller"),
        "internal notes never reach the customer: {view}"
    );
    assert!(
        !text.contains("someone else"),
        "nor another customer's messages: {view}"
    );
    assert!(view.get("history").is_none() && view.get("assignee").is_none());

    let wrote = app
        .post(
            &format!("{customer}/messages"),
            "",
            json!({"body": "Any news?"}),
        )
        .await;
    assert_eq!(wrote.status, StatusCode::CREATED, "{wrote:?}");
    let member_view = app.get(&path, &key).await.body;
    assert!(member_view["messages"].to_string().contains("Any news?"));
    assert_eq!(
        app.get("/v1/customer/ct_guess", "").await.status,
        StatusCode::NOT_FOUND
    );
}

#[baton_e2e::test]
async fn permanent_delete_needs_an_admin_and_a_confirmation_and_leaves_nothing() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let agent = app.agent(&key, "Ana", 3).await;
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
    let c = app.conversation(&key, "please forget me").await;
    let path = format!("/v1/conversations/{}", id(&c));
    // A follower and a pending snooze refer to it too; they go with it.
    let follow = app
        .post(
            &format!("{path}/join"),
            &key,
            json!({"agent": agent, "as": "follower"}),
        )
        .await;
    assert_eq!(follow.status, StatusCode::OK, "{follow:?}");
    let snooze = app
        .put(
            &format!("{path}/status"),
            &key,
            json!({"status": "snoozed", "for": "1d"}),
        )
        .await;
    assert_eq!(snooze.status, StatusCode::OK, "{snooze:?}");
    let customer = customer_link(&app, &key, &path).await;
    let delete = |who: &str, body: Value| {
        app.client
            .delete(format!("{}{path}", app.base))
            .bearer_auth(&key)
            .header("x-baton-agent", who)
            .json(&body)
            .send()
    };
    let by_agent = delete(&agent, json!({"confirm": id(&c)}))
        .await
        .expect("sent");
    assert_eq!(by_agent.status(), StatusCode::FORBIDDEN);
    let unconfirmed = delete(&admin, json!({"confirm": "yes"}))
        .await
        .expect("sent");
    assert_eq!(unconfirmed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.get(&path, &key).await.status,
        StatusCode::OK,
        "nothing deleted yet"
    );

    let deleted = delete(&admin, json!({"confirm": id(&c)}))
        .await
        .expect("sent");
    assert_eq!(deleted.status(), StatusCode::OK);
    assert_eq!(app.get(&path, &key).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&customer, "").await.status, StatusCode::NOT_FOUND);
    let listed = app.get("/v1/conversations", &key).await.body["items"].clone();
    assert!(
        listed
            .as_array()
            .expect("list")
            .iter()
            .all(|x| x["id"] != c["id"])
    );
}

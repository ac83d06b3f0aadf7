//! Bad input gets a 4xx with a JSON error naming the field, and writes nothing.

use baton_e2e::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Case {
    what: &'static str,
    path: &'static str,
    body: Value,
    field: &'static str,
}

#[tokio::test]
async fn bad_fields_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let agent = json!({"name": "Ana", "email": "ana@example.com", "role": "agent", "capacity": {"chat": 2}});
    let with = |field: &str, value: Value| {
        let mut body = agent.clone();
        body[field] = value;
        body
    };
    let cases = [
        Case {
            what: "email without @",
            path: "/v1/agents",
            body: with("email", json!("ana")),
            field: "email",
        },
        Case {
            what: "unknown role",
            path: "/v1/agents",
            body: with("role", json!("boss")),
            field: "role",
        },
        Case {
            what: "unknown channel in capacity",
            path: "/v1/agents",
            body: with("capacity", json!({"fax": 1})),
            field: "capacity.fax",
        },
        Case {
            what: "negative capacity",
            path: "/v1/agents",
            body: with("capacity", json!({"chat": -1})),
            field: "capacity.chat",
        },
        Case {
            what: "team that is not an id",
            path: "/v1/agents",
            body: with("teams", json!(["sales"])),
            field: "teams[0]",
        },
        Case {
            what: "blank name",
            path: "/v1/agents",
            body: with("name", json!("  ")),
            field: "name",
        },
        Case {
            what: "name of the wrong type",
            path: "/v1/agents",
            body: with("name", json!(42)),
            field: "name",
        },
        Case {
            what: "missing name",
            path: "/v1/teams",
            body: json!({}),
            field: "name",
        },
        Case {
            what: "unknown field",
            path: "/v1/teams",
            body: json!({"name": "Sales", "colour": "red"}),
            field: "colour",
        },
        Case {
            what: "unknown channel",
            path: "/v1/conversations",
            body: json!({"channel": "pigeon"}),
            field: "channel",
        },
        Case {
            what: "bad contact email",
            path: "/v1/conversations",
            body: json!({"channel": "chat", "contact": {"email": "x"}}),
            field: "contact.email",
        },
        Case {
            what: "empty first message",
            path: "/v1/conversations",
            body: json!({"channel": "chat", "message": ""}),
            field: "message",
        },
    ];
    for case in cases {
        let reply = app.post(case.path, &key, case.body).await;
        assert!(reply.status.is_client_error(), "{}: {reply:?}", case.what);
        assert_eq!(
            reply.body["error"]["field"], case.field,
            "{}: {reply:?}",
            case.what
        );
        assert!(
            reply.body["error"]["code"].is_string() && reply.body["error"]["message"].is_string(),
            "{}",
            case.what
        );
    }
    // Nothing was half-written.
    assert_eq!(app.get("/v1/agents", &key).await.body, json!([]));
    assert_eq!(app.get("/v1/teams", &key).await.body, json!([]));
    assert_eq!(app.get("/v1/conversations", &key).await.body, json!([]));
}

#[tokio::test]
async fn malformed_json_and_wrong_content_types_get_json_errors() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    let malformed = app
        .raw(
            reqwest::Method::POST,
            "/v1/agents",
            &key,
            "application/json",
            b"{\"name\": ".to_vec(),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.body["error"]["code"], "malformed_json");
    let text = app
        .raw(
            reqwest::Method::POST,
            "/v1/teams",
            &key,
            "text/plain",
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(text.body["error"]["code"], "unsupported_media_type");
    let nowhere = app.get("/v1/nowhere", &key).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert_eq!(nowhere.body["error"]["code"], "not_found");
    let bad_message = app
        .post(
            "/v1/conversations/cnv_00000000000000000000000000000000/messages",
            &key,
            json!({"author": "alien", "body": "x"}),
        )
        .await;
    assert_eq!(bad_message.body["error"]["field"], "author");
}

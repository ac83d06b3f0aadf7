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

#[baton_e2e::test]
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
    assert_eq!(app.get("/v1/agents", &key).await.body["items"], json!([]));
    assert_eq!(app.get("/v1/teams", &key).await.body["items"], json!([]));
    assert_eq!(
        app.get("/v1/conversations", &key).await.body["items"],
        json!([])
    );
}

#[baton_e2e::test]
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

/// One request to the router's edges and the JSON error it must get.
struct EdgeCase {
    what: &'static str,
    method: reqwest::Method,
    path: String,
    /// Sent besides the tenant's API key.
    headers: &'static [(&'static str, &'static str)],
    body: Vec<u8>,
    status: StatusCode,
    code: &'static str,
    field: Option<&'static str>,
    /// Text the message must contain, e.g. the limit a body went over.
    mentions: &'static str,
    /// Methods the `Allow` header must list.
    allow: &'static [&'static str],
}

/// Errors that axum would answer itself (a method a route does not take, a
/// query string or path parameter that does not deserialize, a body over
/// its limit, a route that does not exist) are the JSON error shape too,
/// naming the field at fault.
#[baton_e2e::test]
async fn errors_at_the_routers_edges_are_json_naming_the_field() {
    // The built-in plugins load under the same limit at start-up, so it
    // cannot be much smaller than they are (a few hundred KiB).
    const COMPONENT_LIMIT: usize = 768 << 10;
    const JSON_LIMIT: usize = 1 << 20;
    let limits = baton_host::plugin::SandboxLimits {
        max_component_bytes: COMPONENT_LIMIT,
        ..Default::default()
    };
    let app = TestApp::spawn_with(tempfile::tempdir().expect("temp dir"), limits).await;
    let key = app.tenant("Acme").await;
    let json: &[(&str, &str)] = &[("content-type", "application/json")];
    let wasm: &[(&str, &str)] = &[("content-type", "application/wasm")];
    let big_json = serde_json::to_vec(&json!({"name": "x".repeat(JSON_LIMIT)})).expect("json");
    let conversation = "cnv_00000000000000000000000000000000";
    let ticket = "tkt_00000000000000000000000000000000";
    let case = |what, method, path: &str, status, code, field| EdgeCase {
        what,
        method,
        path: path.to_owned(),
        headers: &[],
        body: Vec::new(),
        status,
        code,
        field,
        mentions: "",
        allow: &[],
    };
    use reqwest::Method;
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    let cases = [
        EdgeCase {
            allow: &["GET", "POST"],
            ..case(
                "a method the route does not take",
                Method::DELETE,
                "/v1/teams",
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                None,
            )
        },
        EdgeCase {
            allow: &["PUT"],
            ..case(
                "a method a route with a parameter does not take",
                Method::GET,
                &format!("/v1/conversations/{conversation}/status"),
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                None,
            )
        },
        case(
            "a negative limit",
            Method::GET,
            "/v1/conversations?limit=-1",
            invalid,
            "invalid_field",
            Some("limit"),
        ),
        case(
            "a limit that is not a number",
            Method::GET,
            "/v1/tickets?limit=abc",
            invalid,
            "invalid_field",
            Some("limit"),
        ),
        case(
            "a limit that is not UTF-8",
            Method::GET,
            "/v1/conversations?limit=%FF",
            invalid,
            "invalid_field",
            Some("limit"),
        ),
        case(
            "a limit too large for its type",
            Method::GET,
            "/v1/plugins/failures?limit=4294967296",
            invalid,
            "invalid_field",
            Some("limit"),
        ),
        case(
            "an unknown query parameter",
            Method::GET,
            "/v1/workflows/runs?limit=5&colour=red",
            invalid,
            "invalid_field",
            Some("colour"),
        ),
        case(
            "a conversation id that is not UTF-8",
            Method::GET,
            "/v1/conversations/%FF",
            StatusCode::BAD_REQUEST,
            "invalid_path",
            Some("id"),
        ),
        case(
            "the second of two path parameters not UTF-8",
            Method::DELETE,
            &format!("/v1/conversations/{conversation}/followers/%C3%28"),
            StatusCode::BAD_REQUEST,
            "invalid_path",
            Some("agent"),
        ),
        EdgeCase {
            headers: json,
            body: big_json.clone(),
            mentions: "1048576",
            ..case(
                "a JSON body over the limit",
                Method::POST,
                "/v1/teams",
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                None,
            )
        },
        EdgeCase {
            headers: json,
            body: big_json,
            mentions: "1048576",
            ..case(
                "a follow body over the limit",
                Method::POST,
                &format!("/v1/tickets/{ticket}/followers"),
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                None,
            )
        },
        EdgeCase {
            headers: wasm,
            body: vec![0; COMPONENT_LIMIT + 1],
            mentions: "786432",
            ..case(
                "a component one byte over the configured limit",
                Method::POST,
                "/v1/plugins",
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                None,
            )
        },
        EdgeCase {
            headers: wasm,
            body: vec![0; 2 * COMPONENT_LIMIT],
            mentions: "786432",
            ..case(
                "a component well over the configured limit",
                Method::POST,
                "/v1/plugins",
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                None,
            )
        },
        case(
            "an unknown route",
            Method::GET,
            "/v1/nowhere",
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        ),
        case(
            "an unknown route under a known one",
            Method::POST,
            "/v1/teams/x/y/z",
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        ),
    ];
    for case in cases {
        let mut request = app
            .client
            .request(case.method.clone(), format!("{}{}", app.base, case.path))
            .bearer_auth(&key)
            .body(case.body);
        for (name, value) in case.headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap_or_default().to_owned())
                .unwrap_or_default()
        };
        let kind = header("content-type");
        let allow = header("allow");
        let text = response.text().await.expect("body read");
        let what = case.what;
        assert_eq!(status, case.status, "{what}: {text}");
        assert_eq!(kind, "application/json", "{what}: {text}");
        let body: Value = serde_json::from_str(&text).expect("a JSON body");
        let error = &body["error"];
        assert_eq!(error["code"], case.code, "{what}: {text}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{what}: {text}");
        assert!(message.contains(case.mentions), "{what}: {text}");
        match case.field {
            Some(field) => assert_eq!(error["field"], field, "{what}: {text}"),
            None => assert!(error.get("field").is_none(), "{what}: {text}"),
        }
        let allowed: Vec<&str> = allow.split(',').map(str::trim).collect();
        for method in case.allow {
            assert!(allowed.contains(method), "{what}: Allow: {allow}");
        }
    }
    // Nothing over a limit was written.
    assert_eq!(app.get("/v1/teams", &key).await.body["items"], json!([]));
    let plugins = app.get("/v1/plugins", &key).await.body["items"].clone();
    let uploaded = plugins.as_array().expect("plugins").iter();
    assert_eq!(uploaded.filter(|p| p["builtin"] == false).count(), 0);
}

/// Send raw bytes on a fresh connection and read the whole answer.
async fn raw_exchange(base: &str, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = base.strip_prefix("http://").expect("http base");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    String::from_utf8(answer).expect("utf-8")
}

#[baton_e2e::test]
async fn requests_refused_by_the_http_parser_get_the_json_error_shape_too() {
    let app = TestApp::spawn().await;
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100_000));
    let cases: [(&str, Vec<u8>, &str, &str); 2] = [
        (
            "a NUL byte in a header",
            b"GET /v1/agents HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n".to_vec(),
            "HTTP/1.1 400 ",
            "bad_request",
        ),
        (
            "a 100 KB URL",
            long_uri.into_bytes(),
            "HTTP/1.1 414 ",
            "uri_too_long",
        ),
    ];
    for (what, request, status, code) in cases {
        let answer = raw_exchange(&app.base, &request).await;
        assert!(answer.starts_with(status), "{what}: {answer}");
        let (head, body) = answer.split_once("\r\n\r\n").expect("head and body");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{what}: {head}"
        );
        let body: Value = serde_json::from_str(body).expect("a JSON body");
        assert_eq!(body["error"]["code"], code, "{what}");
        assert!(body["error"]["message"].is_string(), "{what}");
    }
    // The connection handling is otherwise unchanged.
    let fine = raw_exchange(
        &app.base,
        b"GET /v1/agents HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(fine.starts_with("HTTP/1.1 401 "), "{fine}");
    assert!(fine.contains("\"unauthorized\""), "{fine}");
}

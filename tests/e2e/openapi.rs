//! `GET /openapi.json` describes every route the server serves, with the
//! methods each path takes, the error shape and the credentials.
//!
//! Two directions. From the description to the router: every documented
//! operation is served (it does not fall to the "no such route" fallback or
//! a 405), and on a documented path every method the description leaves
//! out is refused with 405, so no method is served undocumented. From the
//! router to the description: the router is assembled in one file,
//! `host/src/api/mod.rs`, with aide's `api_route` only; a plain axum
//! `.route(` there (which aide cannot see) fails this test, and every path
//! given to `api_route` is in the description.

use std::collections::BTreeSet;

use baton_e2e::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The source that assembles the router.
fn router_source() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../host/src/api/mod.rs");
    std::fs::read_to_string(path).expect("host/src/api/mod.rs")
}

/// Every path literal given to `api_route` in the router's source.
fn routed_paths(source: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for (at, _) in source.match_indices("api_route(") {
        let rest = source[at + "api_route(".len()..].trim_start();
        let literal = rest
            .strip_prefix('"')
            .and_then(|rest| rest.split_once('"'))
            .map(|(path, _)| path.to_owned())
            .unwrap_or_else(|| panic!("api_route without a literal path: {}", &rest[..40]));
        paths.insert(literal);
    }
    paths
}

/// A concrete path for a template: each `{name}` becomes `x`, which no
/// id parses as, so nothing is found and nothing changes.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "x"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn is_fallback(reply: &baton_e2e::Reply) -> bool {
    reply.status == StatusCode::NOT_FOUND && reply.body["error"]["message"] == "no such route"
}

#[baton_e2e::test]
async fn the_description_covers_every_served_route_and_method() {
    let app = TestApp::spawn().await;
    let key = app.tenant("Acme").await;
    // The description is public: a client generator needs no key.
    let spec = app.get("/openapi.json", "").await;
    assert_eq!(spec.status, StatusCode::OK, "{spec:?}");
    let spec = spec.body;
    assert!(
        spec["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        spec["openapi"]
    );
    let paths = spec["paths"].as_object().expect("paths");

    // Router to description.
    let source = router_source();
    assert!(
        !source.contains(".route("),
        "host/src/api/mod.rs adds a route with axum's .route(, which the description cannot see; use api_route"
    );
    assert!(!source.contains(".nest(") && !source.contains("route_service("));
    let routed = routed_paths(&source);
    assert!(
        routed.len() > 80,
        "{} routes found in the source",
        routed.len()
    );
    for path in &routed {
        assert!(
            paths.contains_key(path),
            "{path} is routed but not described"
        );
    }

    // Description to router, method by method.
    let mut operations = 0;
    for (template, item) in paths {
        let path = concrete(template);
        for method in METHODS {
            let reply = app
                .raw(
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    &path,
                    &key,
                    "application/json",
                    b"{}".to_vec(),
                )
                .await;
            assert!(!is_fallback(&reply), "{method} {path}: {reply:?}");
            if item.get(method).is_some() {
                operations += 1;
                assert_ne!(
                    reply.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {template} is described but not served"
                );
            } else {
                assert_eq!(
                    reply.status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {template} is served but not described: {reply:?}"
                );
            }
        }
    }
    assert!(operations > 100, "{operations} operations");
}

/// Each operation says what it answers, takes and needs: a success
/// response, the shared error shape as the default, every path
/// parameter, and, unless it is public, the credentials it takes. The
/// error shape is what the server sends.
#[baton_e2e::test]
async fn every_operation_has_its_answer_parameters_errors_and_credentials() {
    let app = TestApp::spawn().await;
    let spec = app.get("/openapi.json", "").await.body;
    let error = &spec["components"]["schemas"]["Error"];
    assert_eq!(error["required"], serde_json::json!(["error"]), "{error}");
    assert_eq!(
        error["properties"]["error"]["required"],
        serde_json::json!(["code", "message"]),
        "{error}"
    );
    // What the server sends has that shape.
    let refused = app.get("/v1/agents", "no such key").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let fields: Vec<&String> = refused.body["error"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["code", "message"], "{:?}", refused.body);
    for scheme in ["api_key", "member_token", "operator_token"] {
        assert_eq!(
            spec["components"]["securitySchemes"][scheme]["scheme"], "bearer",
            "{scheme}"
        );
    }
    // Routes a caller reaches without a credential.
    let public = [
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/v1/plugins/contracts",
        "/v1/customer/{token}",
        "/v1/customer/{token}/messages",
    ];
    let mut ids = BTreeSet::new();
    for (template, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let at = format!("{method} {template}");
            let id = operation["operationId"].as_str().expect(&at);
            assert!(ids.insert(id.to_owned()), "{at}: operationId {id} twice");
            let responses = operation["responses"].as_object().expect(&at);
            assert!(
                responses.keys().any(|code| code.starts_with('2')),
                "{at}: no success response in {responses:?}"
            );
            // Any request can be refused (a 405, a 413, admission's 429).
            assert_eq!(
                operation["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/Error",
                "{at}"
            );
            let parameters: Vec<&Value> = operation["parameters"]
                .as_array()
                .map(|p| p.iter().collect())
                .unwrap_or_default();
            for name in template
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            {
                assert!(
                    parameters
                        .iter()
                        .any(|p| p["in"] == "path" && p["name"] == name && p["required"] == true),
                    "{at}: path parameter {name} is not described"
                );
            }
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            if public.contains(&template.as_str()) {
                assert!(!secured, "{at} is public");
            } else {
                assert!(secured, "{at} names no credential");
            }
        }
    }
}

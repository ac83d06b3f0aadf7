//! The API's JSON edge: fuzzed bodies sent through the real axum router
//! (`baton_host::api::router` over a server started by `App`, on a SQLite
//! file in a temporary directory) to the routes that parse a request body
//! into domain types.
//!
//! An input is `<route>\n<body>`: the first line names one of [`ROUTES`]
//! (any other first line picks one by its hash), the rest is the body. In
//! the body, `$AGENT`, `$TEAM`, `$CONVERSATION`, `$TICKET`, `$PIPELINE` and
//! `$STATUS` stand for ids of records made when the server starts, so that
//! seeds stay valid although ids are random.
//!
//! Findings: a 5xx answer, a 4xx whose body is not the API's JSON error
//! (`{"error": {"code", "message", "field"?}}`), a success whose body is
//! not JSON, or a panic anywhere in the server.

#![no_main]

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, StatusCode, header};
use baton_host::domain::Millis;
use baton_host::{App, Clock, Settings};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use tower::ServiceExt;

const OPERATOR_TOKEN: &str = "fuzz-operator-token";

/// 2026-11-23T00:00:00Z. The clock stands still, so no timer fires between
/// inputs and a request's outcome depends on the server's records only.
const START: Millis = Millis(1_795_392_000_000);

/// A fresh server (new database) after this many inputs, so that what
/// accepted bodies create does not pile up over a long run.
const INPUTS_PER_SERVER: u32 = 5_000;

#[derive(Clone, Copy)]
enum Verb {
    Post,
    Put,
    Patch,
}

/// Who sends the request.
#[derive(Clone, Copy)]
enum Credential {
    Operator,
    /// The tenant's API key, naming the tenant's admin in `X-Baton-Agent`
    /// for the calls that need a member.
    Tenant,
}

struct Route {
    name: &'static str,
    verb: Verb,
    /// With the same placeholders as bodies.
    path: &'static str,
    credential: Credential,
}

const fn route(name: &'static str, verb: Verb, path: &'static str) -> Route {
    Route {
        name,
        verb,
        path,
        credential: Credential::Tenant,
    }
}

/// The routes that take a JSON body, except the plugin upload (its body is
/// a component: the `upload` target) and the customer routes (their token
/// is in the path).
const ROUTES: &[Route] = &[
    Route {
        name: "tenants",
        verb: Verb::Post,
        path: "/v1/tenants",
        credential: Credential::Operator,
    },
    route("teams", Verb::Post, "/v1/teams"),
    route("team-hours", Verb::Put, "/v1/teams/$TEAM/hours"),
    route("agents", Verb::Post, "/v1/agents"),
    route("agent-status", Verb::Put, "/v1/agents/$AGENT/status"),
    route(
        "notification-settings",
        Verb::Put,
        "/v1/agents/$AGENT/notifications/settings",
    ),
    route(
        "ticket-access",
        Verb::Put,
        "/v1/agents/$AGENT/ticket-access",
    ),
    route("bots", Verb::Post, "/v1/bots"),
    route("conversations", Verb::Post, "/v1/conversations"),
    route(
        "messages",
        Verb::Post,
        "/v1/conversations/$CONVERSATION/messages",
    ),
    route(
        "conversation-status",
        Verb::Put,
        "/v1/conversations/$CONVERSATION/status",
    ),
    route(
        "transfer",
        Verb::Post,
        "/v1/conversations/$CONVERSATION/transfer",
    ),
    route("tags", Verb::Put, "/v1/conversations/$CONVERSATION/tags"),
    route("rules", Verb::Post, "/v1/rules"),
    route("rules-order", Verb::Put, "/v1/rules/order"),
    route("routing-assignment", Verb::Put, "/v1/routing/assignment"),
    route("routing-handoff", Verb::Put, "/v1/routing/handoff"),
    route("routing-workflows", Verb::Put, "/v1/routing/workflows"),
    route("handoff-settings", Verb::Put, "/v1/settings/handoff"),
    route("handoff-triggers", Verb::Post, "/v1/handoff/triggers"),
    route("queue-settings", Verb::Put, "/v1/settings/queue"),
    route("lifecycle-settings", Verb::Put, "/v1/settings/lifecycle"),
    route("help-desk-settings", Verb::Put, "/v1/settings/help-desk"),
    route("pipelines", Verb::Post, "/v1/pipelines"),
    route("pipeline-update", Verb::Put, "/v1/pipelines/$PIPELINE"),
    route("companies", Verb::Post, "/v1/companies"),
    route("tickets", Verb::Post, "/v1/tickets"),
    route("ticket-update", Verb::Patch, "/v1/tickets/$TICKET"),
    route("ticket-reply", Verb::Post, "/v1/tickets/$TICKET/replies"),
    route("ticket-comment", Verb::Post, "/v1/tickets/$TICKET/comments"),
    route("ticket-draft", Verb::Put, "/v1/tickets/$TICKET/draft"),
    route("ticket-move", Verb::Post, "/v1/tickets/$TICKET/move"),
    route("inbound-email", Verb::Post, "/v1/inbound/email"),
    route("inbound-form", Verb::Post, "/v1/inbound/form"),
];

/// The route an input names, and its body.
fn split(data: &[u8]) -> (&'static Route, &[u8]) {
    let (head, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&[][..], data),
    };
    let route = ROUTES
        .iter()
        .find(|r| r.name.as_bytes() == head)
        .unwrap_or_else(|| {
            let hash = head.iter().fold(0usize, |h, &b| {
                h.wrapping_mul(31).wrapping_add(usize::from(b))
            });
            &ROUTES[hash % ROUTES.len()]
        });
    (route, body)
}

/// `text` with every placeholder replaced by its id.
fn fill(text: &[u8], ids: &[(&'static str, String)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    'scan: while let Some((&first, tail)) = rest.split_first() {
        if first == b'$' {
            for (name, id) in ids {
                if let Some(after) = rest.strip_prefix(name.as_bytes()) {
                    out.extend_from_slice(id.as_bytes());
                    rest = after;
                    continue 'scan;
                }
            }
        }
        out.push(first);
        rest = tail;
    }
    out
}

/// A running server, its router and the records seeds refer to.
struct Server {
    runtime: tokio::runtime::Runtime,
    app: App,
    router: Router,
    api_key: String,
    admin: String,
    /// Placeholder and id, e.g. `("$AGENT", "agt_...")`.
    ids: Vec<(&'static str, String)>,
    inputs: u32,
    dir: tempfile::TempDir,
}

/// One answer: status and body.
struct Reply {
    status: StatusCode,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

async fn send(
    router: &Router,
    method: Method,
    path: &str,
    credential: &str,
    agent: Option<&str>,
    body: Vec<u8>,
) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {credential}"))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(agent) = agent {
        request = request.header("x-baton-agent", agent);
    }
    let request = request
        .body(Body::from(body))
        .expect("a well-formed request");
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let status = response.status();
    let body = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("the response body reads")
        .to_vec();
    Reply { status, body }
}

impl Server {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let dir = tempfile::Builder::new()
            .prefix("baton-fuzz-")
            .tempdir()
            .expect("a temporary directory");
        // The server's defaults (sandbox limits, no SMTP, ...) but for the
        // database and the operator token.
        let database_url = format!("sqlite://{}", dir.path().join("baton.db").display());
        let settings = Settings::from_env(|name| match name {
            "BATON_DATABASE_URL" => Some(database_url.clone()),
            "BATON_OPERATOR_TOKEN" => Some(OPERATOR_TOKEN.into()),
            _ => None,
        })
        .expect("the default settings");
        let app = runtime
            .block_on(App::start_with_clock(
                &settings,
                OPERATOR_TOKEN.into(),
                Clock::manual(START),
            ))
            .expect("the server starts");
        let router = baton_host::api::router(app.state().clone());
        let (api_key, admin, ids) = runtime.block_on(setup(&router));
        Self {
            runtime,
            app,
            router,
            api_key,
            admin,
            ids,
            inputs: 0,
            dir,
        }
    }

    /// Stop the server's tasks and delete its database.
    fn stop(self) {
        let Server {
            runtime,
            app,
            router,
            dir,
            ..
        } = self;
        drop(router);
        drop(app);
        runtime.shutdown_timeout(Duration::from_secs(10));
        drop(dir);
    }

    fn request(&self, route: &Route, body: &[u8]) -> Reply {
        let method = match route.verb {
            Verb::Post => Method::POST,
            Verb::Put => Method::PUT,
            Verb::Patch => Method::PATCH,
        };
        let path = String::from_utf8(fill(route.path.as_bytes(), &self.ids))
            .expect("paths and ids are ASCII");
        let (credential, agent) = match route.credential {
            Credential::Operator => (OPERATOR_TOKEN, None),
            Credential::Tenant => (self.api_key.as_str(), Some(self.admin.as_str())),
        };
        let body = fill(body, &self.ids);
        self.runtime
            .block_on(send(&self.router, method, &path, credential, agent, body))
    }
}

/// A tenant with a team, an admin, a conversation and a ticket (with a
/// contact, so it can be replied to). Returns the API key, the admin's id
/// and the placeholders' ids.
async fn setup(router: &Router) -> (String, String, Vec<(&'static str, String)>) {
    async fn call(
        router: &Router,
        method: Method,
        path: &str,
        credential: &str,
        body: Value,
    ) -> Value {
        let reply = send(
            router,
            method,
            path,
            credential,
            None,
            body.to_string().into_bytes(),
        )
        .await;
        assert!(
            reply.status.is_success(),
            "setup: {path} answered {}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
        reply.json()
    }
    fn text(value: &Value, at: &str) -> String {
        value
            .pointer(at)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("setup: no {at} in {value}"))
            .to_owned()
    }
    let tenant = call(
        router,
        Method::POST,
        "/v1/tenants",
        OPERATOR_TOKEN,
        json!({"name": "Fuzz"}),
    )
    .await;
    let key = text(&tenant, "/api_key");
    let team = call(
        router,
        Method::POST,
        "/v1/teams",
        &key,
        json!({"name": "Support"}),
    )
    .await;
    let team = text(&team, "/id");
    let admin = call(
        router,
        Method::POST,
        "/v1/agents",
        &key,
        json!({"name": "Ada", "email": "ada@example.com", "role": "admin", "teams": [team]}),
    )
    .await;
    let admin = text(&admin, "/id");
    call(
        router,
        Method::PUT,
        &format!("/v1/agents/{admin}/status"),
        &key,
        json!({"status": "available"}),
    )
    .await;
    let conversation = call(
        router,
        Method::POST,
        "/v1/conversations",
        &key,
        json!({"channel": "chat", "message": "Hello", "contact": {"email": "kim@example.com"}}),
    )
    .await;
    let conversation = text(&conversation, "/id");
    let pipelines = call(router, Method::GET, "/v1/pipelines", &key, Value::Null).await;
    let pipeline = text(&pipelines, "/0/id");
    let status = text(&pipelines, "/0/statuses/0/id");
    let ticket = call(
        router,
        Method::POST,
        "/v1/tickets",
        &key,
        json!({"name": "Refund", "pipeline": pipeline, "status": status,
               "contact": {"email": "kim@example.com", "name": "Kim"}}),
    )
    .await;
    let ticket = text(&ticket, "/id");
    let ids = vec![
        ("$AGENT", admin.clone()),
        ("$TEAM", team),
        ("$CONVERSATION", conversation),
        ("$TICKET", ticket),
        ("$PIPELINE", pipeline),
        ("$STATUS", status),
    ];
    (key, admin, ids)
}

/// Panics unless `body` is exactly the API's error shape.
fn check_error_shape(route: &Route, status: StatusCode, body: &[u8]) {
    let fail = |why: &str| -> ! {
        panic!(
            "{} {}: {why}: {}",
            route.name,
            status,
            String::from_utf8_lossy(body)
        )
    };
    let value: Value = serde_json::from_slice(body).unwrap_or_else(|_| fail("not JSON"));
    let Some(outer) = value.as_object() else {
        fail("not an object")
    };
    if outer.len() != 1 {
        fail("keys beside `error`");
    }
    let Some(error) = outer.get("error").and_then(Value::as_object) else {
        fail("no `error` object")
    };
    for (key, value) in error {
        match key.as_str() {
            "code" | "message" | "field" if value.is_string() => {}
            _ => fail(&format!("unexpected `error.{key}`")),
        }
    }
    for key in ["code", "message"] {
        if !error.contains_key(key) {
            fail(&format!("no `error.{key}`"));
        }
    }
}

static SERVER: Mutex<Option<Server>> = Mutex::new(None);

/// `BATON_FUZZ_TRACE=1`: print each input's route and answer, to check
/// what seeds reach (run the target on chosen files, not a whole campaign).
fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("BATON_FUZZ_TRACE").is_some_and(|v| v != "0"))
}

fuzz_target!(|data: &[u8]| {
    let (route, body) = split(data);
    let mut slot = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let server = slot.get_or_insert_with(Server::start);
    let reply = server.request(route, body);
    server.inputs += 1;
    if server.inputs >= INPUTS_PER_SERVER
        && let Some(server) = slot.take()
    {
        server.stop();
    }
    drop(slot);

    let status = reply.status;
    if trace() {
        eprintln!(
            "{} -> {status} {}",
            route.name,
            String::from_utf8_lossy(&reply.body)
        );
    }
    assert!(
        !status.is_server_error(),
        "{} answered {status}: {}",
        route.name,
        String::from_utf8_lossy(&reply.body)
    );
    if status.is_client_error() {
        check_error_shape(route, status, &reply.body);
    } else if !reply.body.is_empty() {
        assert!(
            serde_json::from_slice::<Value>(&reply.body).is_ok(),
            "{} answered {status} with a body that is not JSON: {}",
            route.name,
            String::from_utf8_lossy(&reply.body)
        );
    }
});

//! Help-desk tickets over HTTP: automatic and manual tickets, the thread
//! (replies, drafts, comments), managing tickets and members' access.

mod access;
mod automatic;
mod in_step;
mod manage;
mod manual;
mod thread;

use baton_e2e::receivers::SmtpSink;
use baton_e2e::{MONDAY_0000_UTC, Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A server with one tenant.
struct Desk {
    app: TestApp,
    key: String,
}

/// An agent with a member token.
struct Member {
    id: String,
    token: String,
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("id").to_owned()
}

/// The field a 422 names.
fn field(reply: &Reply) -> &str {
    reply.body["error"]["field"].as_str().unwrap_or_default()
}

/// The id of the status called `name` in `pipeline`.
fn status(pipeline: &Value, name: &str) -> String {
    pipeline["statuses"]
        .as_array()
        .expect("statuses")
        .iter()
        .find(|s| s["name"] == name)
        .map(id)
        .unwrap_or_else(|| panic!("no status {name} in {pipeline}"))
}

impl Desk {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let key = app.tenant("Acme").await;
        Self { app, key }
    }

    /// A desk that sends its e-mail through `sink`.
    async fn with_smtp(sink: &SmtpSink) -> Self {
        let app = TestApp::spawn_with_smtp(MONDAY_0000_UTC, &sink.url()).await;
        let key = app.tenant("Acme").await;
        Self { app, key }
    }

    /// Any request with `credential` (API key or member token), optionally
    /// naming the acting member in `X-Baton-Agent`.
    async fn call(
        &self,
        method: Method,
        path: &str,
        credential: &str,
        agent: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self
            .app
            .client
            .request(method, format!("{}{path}", self.app.base))
            .bearer_auth(credential);
        if let Some(agent) = agent {
            request = request.header("x-baton-agent", agent);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("body read");
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, &self.key, None, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, &self.key, None, Some(body))
            .await
    }

    async fn patch(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, &self.key, None, Some(body))
            .await
    }

    /// A request as a member, with their token.
    async fn member_call(
        &self,
        member: &Member,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        self.call(method, path, &member.token, None, body).await
    }

    /// An agent (`extra` adds fields such as `ticket_access` or `teams`)
    /// with a member token.
    async fn member(&self, name: &str, role: &str, extra: Value) -> Member {
        let mut body = json!({
            "name": name,
            "email": format!("{}@example.com", name.to_lowercase()),
            "role": role,
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let created = self.post("/v1/agents", body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        let agent = id(&created.body);
        let token = self
            .post(&format!("/v1/agents/{agent}/tokens"), json!({}))
            .await;
        assert_eq!(token.status, StatusCode::CREATED, "{token:?}");
        Member {
            id: agent,
            token: token.body["token"].as_str().expect("token").to_owned(),
        }
    }

    /// The default pipeline (made on first need).
    async fn pipeline(&self) -> Value {
        let all = self.get("/v1/pipelines").await;
        assert_eq!(all.status, StatusCode::OK, "{all:?}");
        all.body[0].clone()
    }

    /// A manual ticket in the default pipeline's first status, with a
    /// contact; `extra` adds or replaces fields.
    async fn ticket(&self, name: &str, extra: Value) -> Value {
        let pipeline = self.pipeline().await;
        let mut body = json!({
            "name": name,
            "pipeline": id(&pipeline),
            "status": status(&pipeline, "New"),
            "contact": {"email": "kim@example.com", "name": "Kim"},
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let created = self.post("/v1/tickets", body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        created.body
    }

    /// An inbound e-mail from Kim.
    async fn email(&self, message_id: &str, in_reply_to: Option<&str>, body: &str) -> Reply {
        self.post(
            "/v1/inbound/email",
            json!({
                "from": {"email": "kim@example.com", "name": "Kim"},
                "subject": "Broken invoice",
                "body": body,
                "message_id": message_id,
                "in_reply_to": in_reply_to,
            }),
        )
        .await
    }

    /// The ticket as the API key sees it.
    async fn fetch(&self, ticket: &str) -> Value {
        let reply = self.get(&format!("/v1/tickets/{ticket}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        reply.body
    }
}

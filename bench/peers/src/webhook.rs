//! The webhook way, as help desks offer custom routing: the desk POSTs the
//! request as JSON to the customer's HTTP endpoint and assigns whoever the
//! answer names. Here the endpoint is an axum server on 127.0.0.1 in the
//! same process, and the client (reqwest) keeps its connection alive, so
//! this is the cheapest a webhook can be: no network, no TLS, no
//! connection setup per decision.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::{Context, Result};
use axum::{Json, Router, routing::post};
use baton_host::plugin::AssignmentRequest;
use serde::{Deserialize, Serialize};
use tokio::runtime::Runtime;

/// The client side: a runtime driving reqwest, and where to post.
pub(crate) struct Webhook {
    runtime: Runtime,
    client: reqwest::Client,
    url: String,
}

impl Webhook {
    /// Starts the server on an ephemeral loopback port.
    pub(crate) fn start() -> Result<Self> {
        // One worker for the server; the caller's thread drives the client
        // through `block_on`, as a synchronous router would.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .context("starting the tokio runtime")?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(SocketAddr::from((
                Ipv4Addr::LOCALHOST,
                0,
            ))))
            .context("binding 127.0.0.1")?;
        let address = listener.local_addr()?;
        let app = Router::new().route("/route", post(endpoint));
        runtime.spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::Client::builder()
            .http1_only()
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            runtime,
            client,
            url: format!("http://{address}/route"),
        })
    }

    pub(crate) fn decide(&self, request: &AssignmentRequest) -> Result<Option<String>> {
        self.runtime.block_on(async {
            let response = self
                .client
                .post(&self.url)
                .json(request)
                .send()
                .await
                .context("posting to the webhook")?
                .error_for_status()?;
            let decision: Decision = response.json().await.context("reading its answer")?;
            Ok(decision.agent)
        })
    }
}

/// The endpoint's answer: the chosen agent, or `null` to leave it queued.
#[derive(Serialize, Deserialize)]
struct Decision {
    agent: Option<String>,
}

/// The customer's endpoint. Like the Extism guest, it declares only the
/// fields it reads from the JSON request and lets serde skip the rest.
async fn endpoint(Json(request): Json<endpoint::Request>) -> Json<Decision> {
    Json(Decision {
        agent: endpoint::least_loaded(request),
    })
}

/// What the customer's server would contain: its view of the request and
/// the rule, written against that view.
mod endpoint {
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub(super) struct Request {
        conversation: Conversation,
        candidates: Vec<Candidate>,
    }

    #[derive(Deserialize)]
    struct Conversation {
        channel: String,
    }

    #[derive(Deserialize)]
    struct Candidate {
        id: String,
        presence: String,
        load: Loads,
        last_assigned_at_ms: Option<i64>,
    }

    #[derive(Deserialize)]
    struct Loads {
        chat: Load,
        email: Load,
        call: Load,
        form: Load,
    }

    #[derive(Clone, Copy, Deserialize)]
    struct Load {
        open: u32,
        capacity: u32,
    }

    impl Loads {
        fn on(&self, channel: &str) -> Option<Load> {
            match channel {
                "Chat" => Some(self.chat),
                "Email" => Some(self.email),
                "Call" => Some(self.call),
                "Form" => Some(self.form),
                _ => None,
            }
        }

        fn total_open(&self) -> u32 {
            [self.chat, self.email, self.call, self.form]
                .iter()
                .fold(0u32, |sum, load| sum.saturating_add(load.open))
        }
    }

    /// Fewest open conversations over all channels among the agents who can
    /// take one on the conversation's channel; ties to the least recently
    /// assigned (never first), then the smallest id.
    pub(super) fn least_loaded(request: Request) -> Option<String> {
        let channel = request.conversation.channel;
        request
            .candidates
            .into_iter()
            .filter(|c| {
                c.presence == "Available"
                    && c.load
                        .on(&channel)
                        .is_some_and(|load| load.open < load.capacity)
            })
            .min_by(|a, b| {
                (a.load.total_open(), a.last_assigned_at_ms, &a.id).cmp(&(
                    b.load.total_open(),
                    b.last_assigned_at_ms,
                    &b.id,
                ))
            })
            .map(|c| c.id)
    }
}

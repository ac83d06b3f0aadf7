//! The HTTP API: axum routers, credentials and error mapping.

pub mod admission;
mod agents;
mod auto_close;
mod collaboration;
mod conversations;
pub mod error;
mod extract;
mod handling;
mod handoff;
mod health;
mod idempotency;
mod inbound;
mod lifecycle;
mod lookup;
mod members;
mod metrics;
mod notifications;
mod page;
pub mod parse_errors;
mod pipelines;
mod plugins;
mod queue;
mod routing;
mod rules;
mod tenants;
mod ticket_fields;
mod ticket_manage;
mod ticket_thread;
mod tickets;
mod workflow_runs;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::routing::{get, patch, post, put};
use axum::{Extension, Router, middleware};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::plugin::PluginRegistry;
use crate::routing::dispatcher::DispatchHandle;
use crate::store::Store;
use crate::worker::PassHandle;
pub use error::ApiError;
use extract::BodyLimit;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub plugins: Arc<PluginRegistry>,
    pub dispatch: Arc<DispatchHandle>,
    pub timers: Arc<PassHandle>,
    pub notify: Arc<crate::notify::NotifyHandle>,
    pub operator_token: Arc<str>,
    pub admission: Arc<admission::Admission>,
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// JSON bodies are small; components get their own, configurable cap.
const JSON_LIMIT: usize = 1 << 20;

pub fn router(state: AppState) -> Router {
    let component_limit = state.plugins.runtime().limits().max_component_bytes;
    // The POSTs a channel retries take an Idempotency-Key.
    let keyed = middleware::from_fn_with_state(state.clone(), idempotency::guard);
    let json_routes = Router::new()
        .route("/v1/tenants", post(tenants::create))
        .route("/v1/operator/stats", get(tenants::stats))
        .route(
            "/v1/teams",
            post(agents::create_team).get(agents::list_teams),
        )
        .route(
            "/v1/agents",
            post(agents::create_agent).get(agents::list_agents),
        )
        .route(
            "/v1/teams/{id}",
            patch(agents::patch_team).delete(agents::delete_team),
        )
        .route(
            "/v1/agents/{id}",
            get(agents::get_agent)
                .patch(agents::patch_agent)
                .delete(agents::remove_agent),
        )
        .route("/v1/agents/{id}/restore", post(agents::restore_agent))
        .route("/v1/agents/{id}/status", put(agents::set_status))
        .route("/v1/agents/{id}/capacity", put(agents::set_capacity))
        .route(
            "/v1/teams/{id}/hours",
            put(agents::set_team_hours).delete(agents::clear_team_hours),
        )
        .route("/v1/bots", post(agents::create_bot).get(agents::list_bots))
        .route("/v1/bots/{id}/status", put(agents::set_bot_status))
        .route(
            "/v1/settings/handoff",
            get(handoff::get_settings).put(handoff::put_settings),
        )
        .route(
            "/v1/handoff/triggers",
            get(handoff::get_triggers).post(handoff::add_trigger),
        )
        .route(
            "/v1/handoff/triggers/{phrase}",
            axum::routing::delete(handoff::remove_trigger),
        )
        .route(
            "/v1/conversations",
            post(conversations::create)
                .route_layer(keyed.clone())
                .get(conversations::list),
        )
        .route(
            "/v1/conversations/{id}",
            get(conversations::get).delete(lifecycle::delete),
        )
        .route(
            "/v1/conversations/{id}/messages",
            post(conversations::add_message).route_layer(keyed.clone()),
        )
        .route(
            "/v1/conversations/{id}/status",
            put(conversations::set_status),
        )
        .route("/v1/conversations/{id}/accept", post(conversations::accept))
        .route("/v1/conversations/{id}/cases", get(conversations::cases))
        .route("/v1/queue", get(queue::list))
        .route("/v1/queue/{id}/answer", post(handling::answer))
        .route("/v1/queue/{id}/decline", post(handling::decline))
        .route(
            "/v1/settings/queue",
            get(handling::get_queue_policy).put(handling::put_queue_policy),
        )
        .route(
            "/v1/settings/assignment",
            get(handling::get_assignment_settings).put(handling::put_assignment_settings),
        )
        .route(
            "/v1/settings/lifecycle",
            get(auto_close::get).put(auto_close::put),
        )
        .route("/v1/conversations/{id}/transfer", post(handling::transfer))
        .route("/v1/conversations/{id}/tags", put(lifecycle::set_tags))
        .route("/v1/conversations/{id}/join", post(collaboration::join))
        .route(
            "/v1/conversations/{id}/followers",
            post(collaboration::add_follower),
        )
        .route(
            "/v1/conversations/{id}/followers/{agent}",
            axum::routing::delete(collaboration::remove_follower),
        )
        .route(
            "/v1/agents/{id}/notifications",
            get(collaboration::notifications),
        )
        .route(
            "/v1/agents/{id}/notifications/settings",
            get(notifications::get_settings).put(notifications::put_settings),
        )
        .route(
            "/v1/agents/{id}/notifications/stream",
            get(notifications::stream),
        )
        .route(
            "/v1/settings/notifications",
            get(notifications::get_tenant_settings),
        )
        .route(
            "/v1/settings/notifications/rotate-secret",
            post(notifications::rotate_secret),
        )
        .route("/v1/stats", get(collaboration::stats))
        .route(
            "/v1/conversations/{id}/note",
            put(lifecycle::set_conversation_note),
        )
        .route(
            "/v1/conversations/{id}/links",
            get(lifecycle::links).post(lifecycle::new_link),
        )
        .route("/v1/contacts/{email}", get(lifecycle::get_contact))
        .route(
            "/v1/contacts/{email}/note",
            put(lifecycle::set_contact_note),
        )
        .route("/v1/customer/{token}", get(lifecycle::customer_view))
        .route(
            "/v1/customer/{token}/messages",
            post(lifecycle::customer_message).route_layer(keyed.clone()),
        )
        .route(
            "/v1/conversations/{id}/transfer/accept",
            post(handling::accept_transfer),
        )
        .route(
            "/v1/conversations/{id}/transfer/decline",
            post(handling::decline_transfer),
        )
        .route("/v1/rules", get(rules::list).post(rules::create))
        .route("/v1/rules/order", put(rules::reorder))
        .route("/v1/rules/changes", get(rules::changes))
        .route(
            "/v1/rules/{id}",
            get(rules::get).put(rules::update).delete(rules::delete),
        )
        .route("/v1/plugins", get(plugins::list))
        .route("/v1/plugins/failures", get(plugins::failures))
        .route("/v1/plugins/contracts", get(plugins::contracts))
        .route("/v1/plugins/{id}", axum::routing::delete(plugins::delete))
        .route("/v1/plugins/{id}/logs", get(plugins::logs))
        .route("/v1/routing", get(routing::get_all))
        .route("/v1/routing/{slot}", get(routing::get).put(routing::put))
        .route("/v1/routing/{slot}/rollback", post(routing::rollback))
        .route(
            "/v1/routing/workflows/{plugin}/enabled",
            put(routing::set_workflow_enabled),
        )
        .route("/v1/workflows/runs", get(workflow_runs::list))
        .merge(help_desk_routes(&state));
    let upload = Router::new().route("/v1/plugins", post(plugins::upload));
    let api = limit_body(json_routes, JSON_LIMIT)
        .merge(limit_body(upload, component_limit))
        .fallback(|| async { ApiError::not_found("such route") })
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            admission::admit,
        ));
    // Probes take no admission place: a tenant's flood cannot make the
    // process look down.
    Router::new()
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(metrics::scrape))
        .merge(api)
        // Inside the JSON-error mapping, which changes bodies, not statuses.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::measure,
        ))
        // Whatever error axum itself still answers in plain text (or with
        // no body) gets the JSON shape too.
        .layer(middleware::map_response(error::json_errors))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        // Outermost: every request has its id before anything logs.
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// The span every log line of a request is in: its method, path and id
/// (the caller's `X-Request-Id`, or one made for it and returned).
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|id| id.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    )
}

/// Cap the bodies `routes` read at `bytes`, and tell the body extractors
/// the cap so that their 413 can give it.
fn limit_body(routes: Router<AppState>, bytes: usize) -> Router<AppState> {
    routes
        .layer(DefaultBodyLimit::max(bytes))
        .layer(Extension(BodyLimit(bytes)))
}

/// A known route asked with a method it does not take. axum adds the
/// `Allow` header to this response afterwards.
async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{method} is not allowed on {}; the Allow header lists the methods that are",
            uri.path()
        ),
    )
}

/// Help-desk tickets, their pipelines, companies, inbound channels and
/// members' credentials.
fn help_desk_routes(state: &AppState) -> Router<AppState> {
    let keyed = middleware::from_fn_with_state(state.clone(), idempotency::guard);
    Router::new()
        .route("/v1/tickets", post(tickets::create).get(tickets::list))
        .route(
            "/v1/tickets/{id}",
            get(tickets::get)
                .patch(tickets::update)
                .delete(tickets::delete),
        )
        .route("/v1/tickets/{id}/replies", post(ticket_thread::reply))
        .route("/v1/tickets/{id}/comments", post(ticket_thread::comment))
        .route(
            "/v1/tickets/{id}/draft",
            get(ticket_thread::get_draft)
                .put(ticket_thread::put_draft)
                .delete(ticket_thread::delete_draft),
        )
        .route("/v1/drafts", get(ticket_thread::drafts))
        .route(
            "/v1/tickets/{id}/followers",
            post(ticket_manage::follow).delete(ticket_manage::unfollow),
        )
        .route("/v1/tickets/{id}/split", post(ticket_manage::split))
        .route("/v1/tickets/{id}/merge", post(ticket_manage::merge))
        .route("/v1/tickets/{id}/move", post(ticket_manage::move_to))
        .route(
            "/v1/pipelines",
            post(pipelines::create).get(pipelines::list),
        )
        .route(
            "/v1/pipelines/{id}",
            get(pipelines::get).put(pipelines::update),
        )
        .route(
            "/v1/companies",
            post(pipelines::create_company).get(pipelines::list_companies),
        )
        .route("/v1/companies/{id}", get(pipelines::get_company))
        .route(
            "/v1/inbound/email",
            post(inbound::email).route_layer(keyed.clone()),
        )
        .route("/v1/inbound/form", post(inbound::form).route_layer(keyed))
        .route(
            "/v1/settings/help-desk",
            get(inbound::get_settings).put(inbound::put_settings),
        )
        .route(
            "/v1/agents/{id}/tokens",
            post(members::issue_token).delete(members::revoke_tokens),
        )
        .route(
            "/v1/agents/{id}/ticket-access",
            put(members::set_ticket_access),
        )
}

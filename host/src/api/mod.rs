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
mod openapi;
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

use aide::axum::ApiRouter;
use aide::axum::routing::{delete, get, patch, post, post_with, put};
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
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
    // A description that disagrees with itself (a parameter or an answer
    // given twice) is a mistake in this file: loud in a debug build.
    aide::generate::on_error(|error| {
        tracing::error!(%error, "the API description");
        debug_assert!(false, "the API description: {error}");
    });
    // The POSTs a channel retries take an Idempotency-Key.
    let keyed = middleware::from_fn_with_state(state.clone(), idempotency::guard);
    let json_routes = ApiRouter::new()
        .api_route("/v1/tenants", post(tenants::create))
        .api_route("/v1/operator/stats", get(tenants::stats))
        .api_route(
            "/v1/teams",
            post(agents::create_team).get(agents::list_teams),
        )
        .api_route(
            "/v1/agents",
            post(agents::create_agent).get(agents::list_agents),
        )
        .api_route(
            "/v1/teams/{id}",
            patch(agents::patch_team).delete(agents::delete_team),
        )
        .api_route(
            "/v1/agents/{id}",
            get(agents::get_agent)
                .patch(agents::patch_agent)
                .delete(agents::remove_agent),
        )
        .api_route("/v1/agents/{id}/restore", post(agents::restore_agent))
        .api_route("/v1/agents/{id}/status", put(agents::set_status))
        .api_route("/v1/agents/{id}/capacity", put(agents::set_capacity))
        .api_route(
            "/v1/teams/{id}/hours",
            put(agents::set_team_hours).delete(agents::clear_team_hours),
        )
        .api_route("/v1/bots", post(agents::create_bot).get(agents::list_bots))
        .api_route("/v1/bots/{id}/status", put(agents::set_bot_status))
        .api_route(
            "/v1/settings/handoff",
            get(handoff::get_settings).put(handoff::put_settings),
        )
        .api_route(
            "/v1/handoff/triggers",
            get(handoff::get_triggers).post(handoff::add_trigger),
        )
        .api_route(
            "/v1/handoff/triggers/{phrase}",
            delete(handoff::remove_trigger),
        )
        .api_route(
            "/v1/conversations",
            post(conversations::create)
                .route_layer(keyed.clone())
                .get(conversations::list),
        )
        .api_route(
            "/v1/conversations/{id}",
            get(conversations::get).delete(lifecycle::delete),
        )
        .api_route(
            "/v1/conversations/{id}/messages",
            post(conversations::add_message).route_layer(keyed.clone()),
        )
        .api_route(
            "/v1/conversations/{id}/status",
            put(conversations::set_status),
        )
        .api_route("/v1/conversations/{id}/accept", post(conversations::accept))
        .api_route("/v1/conversations/{id}/cases", get(conversations::cases))
        .api_route("/v1/queue", get(queue::list))
        .api_route("/v1/queue/{id}/answer", post(handling::answer))
        .api_route("/v1/queue/{id}/decline", post(handling::decline))
        .api_route(
            "/v1/settings/queue",
            get(handling::get_queue_policy).put(handling::put_queue_policy),
        )
        .api_route(
            "/v1/settings/assignment",
            get(handling::get_assignment_settings).put(handling::put_assignment_settings),
        )
        .api_route(
            "/v1/settings/lifecycle",
            get(auto_close::get).put(auto_close::put),
        )
        .api_route("/v1/conversations/{id}/transfer", post(handling::transfer))
        .api_route("/v1/conversations/{id}/tags", put(lifecycle::set_tags))
        .api_route("/v1/conversations/{id}/join", post(collaboration::join))
        .api_route(
            "/v1/conversations/{id}/followers",
            post(collaboration::add_follower),
        )
        .api_route(
            "/v1/conversations/{id}/followers/{agent}",
            delete(collaboration::remove_follower),
        )
        .api_route(
            "/v1/agents/{id}/notifications",
            get(collaboration::notifications),
        )
        .api_route(
            "/v1/agents/{id}/notifications/settings",
            get(notifications::get_settings).put(notifications::put_settings),
        )
        .api_route(
            "/v1/agents/{id}/notifications/stream",
            get(notifications::stream),
        )
        .api_route(
            "/v1/settings/notifications",
            get(notifications::get_tenant_settings),
        )
        .api_route(
            "/v1/settings/notifications/rotate-secret",
            post(notifications::rotate_secret),
        )
        .api_route("/v1/stats", get(collaboration::stats))
        .api_route(
            "/v1/conversations/{id}/note",
            put(lifecycle::set_conversation_note),
        )
        .api_route(
            "/v1/conversations/{id}/links",
            get(lifecycle::links).post(lifecycle::new_link),
        )
        .api_route("/v1/contacts/{email}", get(lifecycle::get_contact))
        .api_route(
            "/v1/contacts/{email}/note",
            put(lifecycle::set_contact_note),
        )
        .api_route("/v1/customer/{token}", get(lifecycle::customer_view))
        .api_route(
            "/v1/customer/{token}/messages",
            post(lifecycle::customer_message).route_layer(keyed.clone()),
        )
        .api_route(
            "/v1/conversations/{id}/transfer/accept",
            post(handling::accept_transfer),
        )
        .api_route(
            "/v1/conversations/{id}/transfer/decline",
            post(handling::decline_transfer),
        )
        .api_route("/v1/rules", get(rules::list).post(rules::create))
        .api_route("/v1/rules/order", put(rules::reorder))
        .api_route("/v1/rules/changes", get(rules::changes))
        .api_route(
            "/v1/rules/{id}",
            get(rules::get).put(rules::update).delete(rules::delete),
        )
        .api_route("/v1/plugins", get(plugins::list))
        .api_route("/v1/plugins/failures", get(plugins::failures))
        .api_route("/v1/plugins/contracts", get(plugins::contracts))
        .api_route("/v1/plugins/{id}", delete(plugins::delete))
        .api_route("/v1/plugins/{id}/logs", get(plugins::logs))
        .api_route("/v1/routing", get(routing::get_all))
        .api_route("/v1/routing/{slot}", get(routing::get).put(routing::put))
        .api_route("/v1/routing/{slot}/rollback", post(routing::rollback))
        .api_route(
            "/v1/routing/workflows/{plugin}/enabled",
            put(routing::set_workflow_enabled),
        )
        .api_route("/v1/workflows/runs", get(workflow_runs::list))
        .merge(help_desk_routes(&state));
    let upload = ApiRouter::new().api_route(
        "/v1/plugins",
        post_with(
            plugins::upload,
            openapi::binary_body("application/wasm", "A compiled Wasm component"),
        ),
    );
    let api = limit_body(json_routes, JSON_LIMIT)
        .merge(limit_body(upload, component_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            admission::admit,
        ));
    // Probes take no admission place: a tenant's flood cannot make the
    // process look down.
    let probes = ApiRouter::new()
        .api_route("/healthz", get(health::live))
        .api_route("/readyz", get(health::ready))
        .api_route("/metrics", get(metrics::scrape))
        .api_route("/openapi.json", get(openapi::serve));
    let mut description = aide::openapi::OpenApi::default();
    let routes = probes.merge(api).finish_api(&mut description);
    routes
        .fallback(|| async { ApiError::not_found("such route") })
        .method_not_allowed_fallback(method_not_allowed)
        .layer(Extension(openapi::finish(description)))
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
fn limit_body(routes: ApiRouter<AppState>, bytes: usize) -> ApiRouter<AppState> {
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
fn help_desk_routes(state: &AppState) -> ApiRouter<AppState> {
    let keyed = middleware::from_fn_with_state(state.clone(), idempotency::guard);
    ApiRouter::new()
        .api_route("/v1/tickets", post(tickets::create).get(tickets::list))
        .api_route(
            "/v1/tickets/{id}",
            get(tickets::get)
                .patch(tickets::update)
                .delete(tickets::delete),
        )
        .api_route("/v1/tickets/{id}/replies", post(ticket_thread::reply))
        .api_route("/v1/tickets/{id}/comments", post(ticket_thread::comment))
        .api_route(
            "/v1/tickets/{id}/draft",
            get(ticket_thread::get_draft)
                .put(ticket_thread::put_draft)
                .delete(ticket_thread::delete_draft),
        )
        .api_route("/v1/drafts", get(ticket_thread::drafts))
        .api_route(
            "/v1/tickets/{id}/followers",
            post_with(
                ticket_manage::follow,
                openapi::optional_json_body::<ticket_manage::FollowerBody>(),
            )
            .delete_with(
                ticket_manage::unfollow,
                openapi::optional_json_body::<ticket_manage::FollowerBody>(),
            ),
        )
        .api_route("/v1/tickets/{id}/split", post(ticket_manage::split))
        .api_route("/v1/tickets/{id}/merge", post(ticket_manage::merge))
        .api_route("/v1/tickets/{id}/move", post(ticket_manage::move_to))
        .api_route(
            "/v1/pipelines",
            post(pipelines::create).get(pipelines::list),
        )
        .api_route(
            "/v1/pipelines/{id}",
            get(pipelines::get).put(pipelines::update),
        )
        .api_route(
            "/v1/companies",
            post(pipelines::create_company).get(pipelines::list_companies),
        )
        .api_route("/v1/companies/{id}", get(pipelines::get_company))
        .api_route(
            "/v1/inbound/email",
            post(inbound::email).route_layer(keyed.clone()),
        )
        .api_route("/v1/inbound/form", post(inbound::form).route_layer(keyed))
        .api_route(
            "/v1/settings/help-desk",
            get(inbound::get_settings).put(inbound::put_settings),
        )
        .api_route(
            "/v1/agents/{id}/tokens",
            post(members::issue_token).delete(members::revoke_tokens),
        )
        .api_route(
            "/v1/agents/{id}/ticket-access",
            put(members::set_ticket_access),
        )
}

//! `GET /metrics` (Prometheus, OpenMetrics text, operator token) and the
//! middleware that times every request by its route template.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::extract::Operator;
use super::openapi::Text;
use super::{ApiError, AppState};

/// The metrics, after reading the backlog gauges from the database. The
/// operator's token guards them: they name every tenant.
pub(super) async fn scrape(_: Operator, State(state): State<AppState>) -> Result<Text, ApiError> {
    let service = state.store.service_state().await?;
    let text = state.metrics.render(&service, state.plugins.cached());
    Ok(Text {
        media_type: crate::metrics::CONTENT_TYPE,
        text,
    })
}

/// Count and time the request under its route template; a path no route
/// matched counts as `unmatched`, a method outside HTTP's own as `other`,
/// so that no caller can add series by what it sends.
pub(super) async fn measure(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.http_request(
        method,
        route.as_deref().unwrap_or("unmatched"),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

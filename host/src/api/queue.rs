//! The queue as an admin or agent sees it: who is waiting, in what order,
//! for how long.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::Tenant;

/// Waiting conversations with their position (1 = served next) and how long
/// each has waited.
pub(super) async fn list(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let now = state.store.now();
    let waiting = state.store.waiting_conversations(&tenant.id).await?;
    let mut out = Vec::with_capacity(waiting.len());
    for (index, c) in waiting.iter().enumerate() {
        let since = c.queued_at.unwrap_or(c.created_at);
        out.push(json!({
            "position": index + 1,
            "id": c.id,
            "channel": c.channel,
            "subject": c.subject,
            "team": c.team,
            "routing": c.routing,
            "queued_at": since,
            "waiting_ms": since.until(now),
            "offered_to": state.store.offers(&c.id).await?,
        }));
    }
    Ok(Json(json!({ "length": out.len(), "waiting": out })))
}

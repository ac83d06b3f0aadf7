//! The queue as an admin or agent sees it: who is waiting, in what order,
//! for how long.

use crate::domain::{Channel, ConversationId, Millis, Routing, TeamId};
use axum::Json;
use axum::extract::State;

use super::AppState;
use super::error::ApiError;
use super::extract::Tenant;

/// Waiting conversations with their position (1 = served next) and how long
/// each has waited.
pub(super) async fn list(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
) -> Result<Json<Queue>, ApiError> {
    let now = state.store.now();
    let waiting = state.store.waiting_conversations(&tenant.id).await?;
    let mut out = Vec::with_capacity(waiting.len());
    for (index, c) in waiting.iter().enumerate() {
        let since = c.queued_at.unwrap_or(c.created_at);
        out.push(Waiting {
            position: index + 1,
            id: c.id.clone(),
            channel: c.channel,
            subject: c.subject.clone(),
            team: c.team.clone(),
            routing: c.routing,
            queued_at: since,
            waiting_ms: since.until(now),
            offered_to: state.store.offers(&c.id).await?,
        });
    }
    Ok(Json(Queue {
        length: out.len(),
        waiting: out,
    }))
}

/// The queue, served first to last.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct Queue {
    length: usize,
    waiting: Vec<Waiting>,
}

/// A conversation waiting in the queue.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct Waiting {
    /// 1 is served next.
    position: usize,
    id: ConversationId,
    channel: Channel,
    subject: Option<String>,
    team: Option<TeamId>,
    routing: Routing,
    queued_at: Millis,
    waiting_ms: i64,
    /// Agents it is offered to, waiting for an answer.
    offered_to: Vec<String>,
}

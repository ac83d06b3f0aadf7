//! `GET /v1/workflows/runs`: which workflow did what, event by event.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{Query, Tenant};
use super::lookup;
use crate::store::WorkflowRun;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RunsQuery {
    conversation: Option<String>,
    limit: Option<u32>,
}

pub(super) async fn list(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Query(query): Query<RunsQuery>,
) -> Result<Json<Vec<WorkflowRun>>, ApiError> {
    let conversation = match query.conversation.as_deref() {
        Some(raw) => {
            Some(lookup::filter_conversation(&state, &tenant.id, raw, "conversation").await?)
        }
        None => None,
    };
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(
        state
            .store
            .workflow_runs(&tenant.id, conversation.as_ref(), limit)
            .await?,
    ))
}

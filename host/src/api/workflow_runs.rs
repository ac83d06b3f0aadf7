//! `GET /v1/workflows/runs`: which workflow did what, event by event.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{Query, Tenant};
use super::{lookup, page};
use crate::domain::Page;
use crate::store::WorkflowRun;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RunsQuery {
    conversation: Option<String>,
    limit: Option<u32>,
    after: Option<String>,
}

pub(super) async fn list(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Query(query): Query<RunsQuery>,
) -> Result<Json<Page<WorkflowRun>>, ApiError> {
    let page = page::by_row(query.limit, query.after.as_deref())?;
    let conversation = match query.conversation.as_deref() {
        Some(raw) => {
            Some(lookup::filter_conversation(&state, &tenant.id, raw, "conversation").await?)
        }
        None => None,
    };
    Ok(Json(
        state
            .store
            .workflow_runs(&tenant.id, conversation.as_ref(), &page)
            .await?,
    ))
}

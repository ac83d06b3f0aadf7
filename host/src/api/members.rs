//! Members' credentials and ticket access.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{JsonBody, Path, Tenant};
use crate::domain::{AgentId, AgentRecord, TicketAccess};

fn agent_id(raw: &str) -> Result<AgentId, ApiError> {
    AgentId::parse(raw).map_err(|_| ApiError::not_found(format_args!("agent {raw}")))
}

/// Issue a member token: a request bearing it acts as this agent, sees the
/// tickets their access allows, and writes replies, comments and drafts
/// as them. It is shown once; only its hash is kept.
pub(super) async fn issue_token(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = agent_id(&raw)?;
    let token = state
        .store
        .issue_member_token(&tenant.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("agent {id}")))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "agent": id, "token": token })),
    ))
}

/// Revoke all of an agent's member tokens at once; requests bearing them
/// get 401 from then on. Issue a new one to let the member back in.
pub(super) async fn revoke_tokens(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = agent_id(&raw)?;
    let revoked = state
        .store
        .revoke_member_tokens(&tenant.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("agent {id}")))?;
    Ok(Json(json!({ "agent": id, "revoked": revoked })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AccessBody {
    ticket_access: TicketAccess,
}

/// Which tickets the agent sees: `all`, `team` or `own`.
pub(super) async fn set_ticket_access(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<AccessBody>,
) -> Result<Json<AgentRecord>, ApiError> {
    let id = agent_id(&raw)?;
    if !state
        .store
        .set_ticket_access(&tenant.id, &id, body.ticket_access)
        .await?
    {
        return Err(ApiError::not_found(format_args!("agent {id}")));
    }
    state
        .store
        .get_agent(&tenant.id, &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format_args!("agent {id}")))
}

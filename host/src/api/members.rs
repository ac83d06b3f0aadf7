//! Members' credentials and ticket access.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{JsonBody, Path, Tenant};
use super::openapi::Created;
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
) -> Result<Created<Token>, ApiError> {
    let id = agent_id(&raw)?;
    let token = state
        .store
        .issue_member_token(&tenant.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("agent {id}")))?;
    Ok(Created(Token { agent: id, token }))
}

/// Revoke all of an agent's member tokens at once; requests bearing them
/// get 401 from then on. Issue a new one to let the member back in.
pub(super) async fn revoke_tokens(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Revoked>, ApiError> {
    let id = agent_id(&raw)?;
    let revoked = state
        .store
        .revoke_member_tokens(&tenant.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("agent {id}")))?;
    Ok(Json(Revoked { agent: id, revoked }))
}

#[derive(Deserialize, schemars::JsonSchema)]
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

/// A member token, shown this once.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct Token {
    agent: AgentId,
    token: String,
}

/// How many of an agent's member tokens were revoked.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct Revoked {
    agent: AgentId,
    revoked: u64,
}

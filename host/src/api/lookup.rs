//! Finding what a request names: a conversation of the tenant, a ticket
//! the caller may see, the admin acting (member token or `X-Baton-Agent`).

use axum::http::{HeaderMap, StatusCode};

use super::AppState;
use super::error::ApiError;
use super::extract::{self, Actor};
use crate::domain::{
    AgentId, Assignee, BotId, ConversationId, ConversationRecord, PipelineId, Role, StageId,
    TenantId, TicketId,
};
use crate::store::TicketRecord;

/// The tenant's conversation with this id; a malformed id is a 404 too.
pub(super) async fn conversation(
    state: &AppState,
    tenant: &TenantId,
    raw: &str,
) -> Result<ConversationRecord, ApiError> {
    let id = ConversationId::parse(raw)
        .map_err(|_| ApiError::not_found(format_args!("conversation {raw}")))?;
    state
        .store
        .get_conversation(tenant, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("conversation {id}")))
}

/// The admin named in `X-Baton-Agent`, or a 403 saying `what` needs one.
pub(super) async fn admin(
    state: &AppState,
    tenant: &TenantId,
    headers: &HeaderMap,
    what: &str,
) -> Result<AgentId, ApiError> {
    let forbidden = |m: String| ApiError::new(StatusCode::FORBIDDEN, "forbidden", m);
    // A member token speaks for its member; with the API key the header
    // names who is acting.
    let member = match extract::bearer_of(headers) {
        Some(token) => state.store.member_by_token(token).await?,
        None => None,
    };
    let actor = match member {
        Some((owner, agent)) if owner.id == *tenant => agent,
        _ => headers
            .get("x-baton-agent")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| AgentId::parse(v).ok())
            .ok_or_else(|| forbidden("name the admin doing this in X-Baton-Agent".into()))?,
    };
    match state.store.get_agent(tenant, &actor).await? {
        Some(a) if a.role == Role::Admin => Ok(actor),
        _ => Err(forbidden(format!("only an admin may {what}"))),
    }
}

/// The ticket with this id if the caller may see it; a ticket they may not
/// see, like a malformed id, is a 404.
pub(super) async fn ticket(
    state: &AppState,
    actor: &Actor,
    raw: &str,
) -> Result<TicketRecord, ApiError> {
    let id = TicketId::parse(raw).map_err(|_| ApiError::not_found(format_args!("ticket {raw}")))?;
    state
        .store
        .ticket(&actor.tenant.id, &id, &actor.visibility)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("ticket {id}")))
}

/// What a list's query filter names must be the tenant's: a malformed id
/// is a 422 on `field`, and an id of another tenant (or of nothing) a 404
/// naming `field`, as on every other call, rather than an empty list that
/// would tell the caller nothing about whether the id exists elsewhere.
fn unknown(field: &str, what: impl std::fmt::Display) -> ApiError {
    ApiError::not_found(what).with_field(field)
}

/// A conversation named by a query filter.
pub(super) async fn filter_conversation(
    state: &AppState,
    tenant: &TenantId,
    raw: &str,
    field: &str,
) -> Result<ConversationId, ApiError> {
    let id = ConversationId::parse(raw).map_err(|e| ApiError::invalid(field, e))?;
    match state.store.get_conversation(tenant, &id).await? {
        Some(_) => Ok(id),
        None => Err(unknown(field, format_args!("conversation {id}"))),
    }
}

/// An agent named by a query filter.
pub(super) async fn filter_agent(
    state: &AppState,
    tenant: &TenantId,
    raw: &str,
    field: &str,
) -> Result<AgentId, ApiError> {
    let id = AgentId::parse(raw).map_err(|e| ApiError::invalid(field, e))?;
    if state.store.agent_exists(tenant, &id).await? {
        Ok(id)
    } else {
        Err(unknown(field, format_args!("agent {id}")))
    }
}

/// A conversation's assignee named by a query filter: an agent or a bot.
pub(super) async fn filter_assignee(
    state: &AppState,
    tenant: &TenantId,
    raw: &str,
    field: &str,
) -> Result<Assignee, ApiError> {
    if let Ok(bot) = BotId::parse(raw) {
        return if state.store.bot_exists(tenant, &bot).await? {
            Ok(Assignee::Bot(bot))
        } else {
            Err(unknown(field, format_args!("bot {bot}")))
        };
    }
    if AgentId::parse(raw).is_err() {
        return Err(ApiError::invalid(
            field,
            "expected an agent (agt_...) or bot (bot_...) id",
        ));
    }
    filter_agent(state, tenant, raw, field)
        .await
        .map(Assignee::Agent)
}

/// A pipeline named by a query filter.
pub(super) async fn filter_pipeline(
    state: &AppState,
    tenant: &TenantId,
    raw: &str,
    field: &str,
) -> Result<PipelineId, ApiError> {
    let id = PipelineId::parse(raw).map_err(|e| ApiError::invalid(field, e))?;
    match state.store.pipeline(tenant, &id).await? {
        Some(_) => Ok(id),
        None => Err(unknown(field, format_args!("pipeline {id}"))),
    }
}

/// A pipeline status named by a query filter.
pub(super) async fn filter_stage(
    state: &AppState,
    tenant: &TenantId,
    raw: &str,
    field: &str,
) -> Result<StageId, ApiError> {
    let id = StageId::parse(raw).map_err(|e| ApiError::invalid(field, e))?;
    if state.store.stage_exists(tenant, &id).await? {
        Ok(id)
    } else {
        Err(unknown(field, format_args!("status {id}")))
    }
}

//! Finding what a request names: a conversation of the tenant, the admin
//! acting in `X-Baton-Agent`.

use axum::http::{HeaderMap, StatusCode};

use super::AppState;
use super::error::ApiError;
use crate::domain::{AgentId, ConversationId, Role, TenantId};
use crate::store::ConversationRecord;

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
    let actor = headers
        .get("x-baton-agent")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| AgentId::parse(v).ok())
        .ok_or_else(|| forbidden("name the admin doing this in X-Baton-Agent".into()))?;
    match state.store.get_agent(tenant, &actor).await? {
        Some(a) if a.role == Role::Admin => Ok(actor),
        _ => Err(forbidden(format!("only an admin may {what}"))),
    }
}

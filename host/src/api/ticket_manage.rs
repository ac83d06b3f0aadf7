//! Managing tickets: following, splitting, merging and moving to another
//! pipeline.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::collaboration::Followers;
use super::conversations::ROUTING_WAIT;
use super::error::ApiError;
use super::extract::{Actor, Body, JsonBody, Path, parse_json};
use super::openapi::Created;
use super::ticket_fields::{not_merged, pipeline, status_in};
use super::tickets::{TicketDetail, detail, fresh};
use super::{AppState, lookup};
use crate::domain::{AgentId, MessageId, TicketId, parse_line};
use crate::store::{SplitRefusal, TicketRecord, Visibility};

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct FollowerBody {
    /// Someone else (admins only); the acting member when absent.
    agent: Option<AgentId>,
}

/// Who a follow or unfollow is for: the acting member, or someone an admin
/// names. The body may be empty.
async fn follower(state: &AppState, actor: &Actor, body: &[u8]) -> Result<AgentId, ApiError> {
    let body: FollowerBody = if body.iter().all(u8::is_ascii_whitespace) {
        FollowerBody::default()
    } else {
        parse_json(body)?
    };
    let me = actor.member.as_ref().map(|m| &m.id);
    match body.agent {
        Some(agent) if Some(&agent) != me => {
            actor.admin("add or remove other members as followers")?;
            if !state.store.agent_exists(&actor.tenant.id, &agent).await? {
                return Err(ApiError::invalid("agent", format!("no agent {agent}")));
            }
            Ok(agent)
        }
        _ => Ok(actor.member("following a ticket")?.id.clone()),
    }
}

pub(super) async fn follow(
    actor: Actor,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Body(body): Body,
) -> Result<Json<Followers>, ApiError> {
    let ticket = lookup::ticket(&state, &actor, &raw).await?;
    not_merged(&ticket)?;
    let agent = follower(&state, &actor, &body).await?;
    let by = actor.member.as_ref().map(|m| &m.id);
    state.store.follow(&ticket.conversation, &agent, by).await?;
    Ok(Json(Followers {
        followers: state.store.followers(&ticket.conversation).await?,
    }))
}

pub(super) async fn unfollow(
    actor: Actor,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Body(body): Body,
) -> Result<Json<Followers>, ApiError> {
    let ticket = lookup::ticket(&state, &actor, &raw).await?;
    let agent = follower(&state, &actor, &body).await?;
    if !state.store.unfollow(&ticket.conversation, &agent).await? {
        return Err(ApiError::not_found(format_args!(
            "follower {agent} of ticket {}",
            ticket.id
        )));
    }
    Ok(Json(Followers {
        followers: state.store.followers(&ticket.conversation).await?,
    }))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SplitBody {
    messages: Vec<String>,
    name: String,
}

/// Move some messages of a ticket into a new ticket (same contact,
/// company, owner, followers and pipeline; its first status). At least one
/// message stays.
/// The ticket split off, and the one it came from.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct Split {
    ticket: TicketDetail,
    from: TicketDetail,
}

pub(super) async fn split(
    actor: Actor,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<SplitBody>,
) -> Result<Created<Split>, ApiError> {
    let tenant = &actor.tenant.id;
    let ticket = lookup::ticket(&state, &actor, &raw).await?;
    not_merged(&ticket)?;
    let name = parse_line(&body.name, 500).map_err(|e| ApiError::invalid("name", e))?;
    if body.messages.is_empty() {
        return Err(ApiError::invalid(
            "messages",
            "name at least one message to move",
        ));
    }
    let mut messages: Vec<MessageId> = Vec::with_capacity(body.messages.len());
    for (i, raw) in body.messages.iter().enumerate() {
        let field = format!("messages[{i}]");
        let id = MessageId::parse(raw).map_err(|e| ApiError::invalid(&field, e))?;
        if messages.contains(&id) {
            return Err(ApiError::invalid(field, "appears twice"));
        }
        messages.push(id);
    }
    let (id, event) = match state
        .store
        .split_ticket(tenant, &ticket, &messages, &name)
        .await?
    {
        Ok(split) => split,
        Err(SplitRefusal::NotInTicket(i)) => {
            return Err(ApiError::invalid(
                format!("messages[{i}]"),
                format!("{} is not a message of this ticket", messages[i]),
            ));
        }
        Err(SplitRefusal::NothingLeft) => {
            return Err(ApiError::invalid(
                "messages",
                "at least one message must stay in the ticket",
            ));
        }
    };
    state.dispatch.wait_for(tenant, event, ROUTING_WAIT).await;
    let new = split_off(&state, tenant, &id).await?;
    Ok(Created(Split {
        ticket: detail(&state, &actor, &new).await?,
        from: fresh(&state, &actor, &ticket).await?,
    }))
}

async fn split_off(
    state: &AppState,
    tenant: &crate::domain::TenantId,
    id: &TicketId,
) -> Result<TicketRecord, ApiError> {
    state
        .store
        .ticket(tenant, id, &Visibility::All)
        .await?
        .ok_or_else(|| ApiError::internal(format!("split ticket {id} is gone")))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MergeBody {
    from: String,
}

/// Merge another ticket into this one: its messages, followers, tags and
/// drafts move here; it is closed and shows `merged_into`.
pub(super) async fn merge(
    actor: Actor,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<MergeBody>,
) -> Result<Json<TicketDetail>, ApiError> {
    let tenant = &actor.tenant.id;
    let into = lookup::ticket(&state, &actor, &raw).await?;
    not_merged(&into)?;
    let id = TicketId::parse(&body.from).map_err(|e| ApiError::invalid("from", e))?;
    // A ticket the caller may not see is "no ticket", as everywhere.
    let from = state
        .store
        .ticket(tenant, &id, &actor.visibility)
        .await?
        .ok_or_else(|| ApiError::invalid("from", format!("no ticket {id}")))?;
    if from.id == into.id {
        return Err(ApiError::invalid(
            "from",
            "a ticket cannot be merged into itself",
        ));
    }
    if let Some(earlier) = &from.merged_into {
        return Err(ApiError::invalid(
            "from",
            format!("{id} was already merged into {earlier}"),
        ));
    }
    if let Some(event) = state.store.merge_tickets(tenant, &into, &from).await? {
        state.dispatch.wait_for(tenant, event, ROUTING_WAIT).await;
    }
    Ok(Json(fresh(&state, &actor, &into).await?))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MoveBody {
    pipeline: String,
    status: String,
}

/// Move a ticket to another pipeline, into one of its statuses (a
/// conditional one needs its properties).
pub(super) async fn move_to(
    actor: Actor,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<MoveBody>,
) -> Result<Json<TicketDetail>, ApiError> {
    let tenant = &actor.tenant.id;
    let ticket = lookup::ticket(&state, &actor, &raw).await?;
    not_merged(&ticket)?;
    let target = pipeline(&state, tenant, &body.pipeline, "pipeline").await?;
    let stage = status_in(&target, &body.status, "status", &ticket.properties)?;
    if let Some(event) = state
        .store
        .move_ticket(tenant, &ticket, &target.id, &stage)
        .await?
    {
        state.dispatch.wait_for(tenant, event, ROUTING_WAIT).await;
    }
    Ok(Json(fresh(&state, &actor, &ticket).await?))
}

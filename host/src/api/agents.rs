//! Teams, agents and bots.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{JsonBody, Path, Query, Tenant};
use super::openapi::Created;
use super::page::PageQuery;
use crate::domain::{
    AgentId, AgentName, AgentPatch, AgentRecord, BotId, BotKind, BotRecord, BusinessHours,
    Capacity, Channel, Email, HoursJson, NewAgent, Page, Presence, Removal, Role, TeamId,
    TeamRecord, TenantId, TicketAccess, parse_line,
};
use crate::store::StoreError;
use axum::response::NoContent;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewTeam {
    name: String,
}

pub(super) async fn create_team(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewTeam>,
) -> Result<Created<TeamRecord>, ApiError> {
    let name = parse_line(&body.name, 200).map_err(|e| ApiError::invalid("name", e))?;
    let team = state.store.create_team(&tenant.id, &name).await?;
    Ok(Created(team))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TeamPatch {
    name: String,
}

/// Rename a team.
pub(super) async fn patch_team(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<TeamPatch>,
) -> Result<Json<TeamRecord>, ApiError> {
    let id = team_id(&id)?;
    let name = parse_line(&body.name, 200).map_err(|e| ApiError::invalid("name", e))?;
    if !state.store.rename_team(&tenant.id, &id, &name).await? {
        return Err(ApiError::not_found(format_args!("team {id}")));
    }
    state
        .store
        .list_teams(&tenant.id)
        .await?
        .into_iter()
        .find(|team| team.id == id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format_args!("team {id}")))
}

/// Delete a team nothing uses any more: no members, no open conversation
/// waiting in it, no rule sending work to it (409 saying which, if so).
pub(super) async fn delete_team(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<NoContent, ApiError> {
    let id = team_id(&id)?;
    let uses = state
        .store
        .delete_team(&tenant.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("team {id}")))?;
    match uses.refusal() {
        Some(refusal) => Err(ApiError::conflict(refusal)),
        None => Ok(NoContent),
    }
}

/// A page of the tenant's teams, by id (the order they were made).
pub(super) async fn list_teams(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<TeamRecord>>, ApiError> {
    let page = query.by_id(TeamId::parse)?;
    let teams = state.store.list_teams(&tenant.id).await?;
    Ok(Json(Page::slice(
        teams,
        &page,
        |t| t.id.clone(),
        |t| t.id.to_string(),
    )))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewAgentBody {
    name: String,
    email: String,
    #[serde(default = "default_role")]
    role: Role,
    #[serde(default)]
    teams: Vec<String>,
    #[serde(default = "default_capacity")]
    capacity: serde_json::Value,
    /// Which help-desk tickets the agent sees; by role when absent.
    ticket_access: Option<TicketAccess>,
}

fn default_role() -> Role {
    Role::Agent
}

fn default_capacity() -> serde_json::Value {
    serde_json::json!({"chat": 3, "email": 10, "call": 1, "form": 10})
}

/// A capacity object; a bad channel or limit names `capacity.<channel>`.
fn parse_capacity(value: &serde_json::Value) -> Result<Capacity, ApiError> {
    Capacity::parse(value).map_err(|(key, e)| {
        ApiError::invalid(
            if key.is_empty() {
                "capacity".into()
            } else {
                format!("capacity.{key}")
            },
            e,
        )
    })
}

/// Team ids, each the tenant's (a bad one names `teams[i]`), without
/// repeats.
async fn parse_teams(
    state: &AppState,
    tenant: &TenantId,
    raw: &[String],
) -> Result<Vec<TeamId>, ApiError> {
    let mut teams = Vec::new();
    for (i, raw) in raw.iter().enumerate() {
        let field = format!("teams[{i}]");
        let team = TeamId::parse(raw).map_err(|e| ApiError::invalid(&field, e))?;
        if !state.store.team_exists(tenant, &team).await? {
            return Err(ApiError::invalid(field, format!("no team {team}")));
        }
        if !teams.contains(&team) {
            teams.push(team);
        }
    }
    Ok(teams)
}

pub(super) async fn create_agent(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewAgentBody>,
) -> Result<Created<AgentRecord>, ApiError> {
    let name = AgentName::parse(&body.name).map_err(|e| ApiError::invalid("name", e))?;
    let email = Email::parse(&body.email).map_err(|e| ApiError::invalid("email", e))?;
    let capacity = parse_capacity(&body.capacity)?;
    let teams = parse_teams(&state, &tenant.id, &body.teams).await?;
    let agent = NewAgent {
        name: name.as_str().to_owned(),
        email: email.as_str().to_owned(),
        role: body.role,
        teams,
        capacity,
        ticket_access: body
            .ticket_access
            .unwrap_or_else(|| TicketAccess::default_for(body.role)),
    };
    let created = match state.store.create_agent(&tenant.id, agent).await {
        Err(StoreError::Conflict(_)) => {
            // The address may be a removed agent's, who can come back.
            let removed = state
                .store
                .removed_agent_with_email(&tenant.id, email.as_str())
                .await?;
            return Err(ApiError::conflict(match removed {
                Some((id, _)) => format!(
                    "the removed agent {id} has this email; restore them with POST /v1/agents/{id}/restore"
                ),
                None => "an agent with this email exists".to_owned(),
            }));
        }
        other => other?,
    };
    Ok(Created(created))
}

/// A page of the tenant's agents (removed ones left out), by id.
pub(super) async fn list_agents(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<AgentRecord>>, ApiError> {
    let page = query.by_id(AgentId::parse)?;
    let agents = state.store.list_agents(&tenant.id).await?;
    Ok(Json(Page::slice(
        agents,
        &page,
        |a| a.id.clone(),
        |a| a.id.to_string(),
    )))
}

fn agent_id(raw: &str) -> Result<AgentId, ApiError> {
    AgentId::parse(raw).map_err(|_| ApiError::not_found(format_args!("agent {raw}")))
}

pub(super) async fn get_agent(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<AgentRecord>, ApiError> {
    let id = agent_id(&id)?;
    let agent = state.store.get_agent(&tenant.id, &id).await?;
    agent
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format_args!("agent {id}")))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct StatusBody {
    status: Presence,
}

/// Change presence. The response comes after routing has reacted (e.g. a
/// queued conversation given to the agent who just became available).
pub(super) async fn set_status(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<StatusBody>,
) -> Result<Json<AgentRecord>, ApiError> {
    let id = agent_id(&id)?;
    let event = state
        .store
        .set_presence(&tenant.id, &id, body.status)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("agent {id}")))?;
    state
        .dispatch
        .wait_for(&tenant.id, event, Duration::from_secs(5))
        .await;
    let agent = state.store.get_agent(&tenant.id, &id).await?;
    agent
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format_args!("agent {id}")))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AgentPatchBody {
    name: Option<String>,
    role: Option<Role>,
    teams: Option<Vec<String>>,
    capacity: Option<serde_json::Value>,
    ticket_access: Option<TicketAccess>,
}

/// Change an agent: name, role, teams (the whole set), capacity, ticket
/// access; what the body leaves out stays. A change that may let them
/// take waiting work (more room, a new team) retries the queue first.
pub(super) async fn patch_agent(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AgentPatchBody>,
) -> Result<Json<AgentRecord>, ApiError> {
    let id = agent_id(&id)?;
    let before = state
        .store
        .get_agent(&tenant.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("agent {id}")))?;
    let patch = AgentPatch {
        name: body
            .name
            .as_deref()
            .map(AgentName::parse)
            .transpose()
            .map_err(|e| ApiError::invalid("name", e))?
            .map(|name| name.as_str().to_owned()),
        role: body.role,
        teams: match &body.teams {
            Some(raw) => Some(parse_teams(&state, &tenant.id, raw).await?),
            None => None,
        },
        capacity: body.capacity.as_ref().map(parse_capacity).transpose()?,
        ticket_access: body.ticket_access,
    };
    apply_patch(&state, &tenant.id, &before, &patch).await
}

/// Write `patch` over `before`, retrying the queue first when the change
/// may let the agent take waiting work, and answer with the agent as it
/// then stands (a waiting conversation may now be theirs).
async fn apply_patch(
    state: &AppState,
    tenant: &TenantId,
    before: &AgentRecord,
    patch: &AgentPatch,
) -> Result<Json<AgentRecord>, ApiError> {
    let after = patch.applied_to(before);
    let event = state
        .store
        .update_agent(tenant, &after, patch.opens_work(before))
        .await?;
    if let Some(event) = event {
        state
            .dispatch
            .wait_for(tenant, event, Duration::from_secs(5))
            .await;
    }
    let id = &before.id;
    let agent = state.store.get_agent(tenant, id).await?;
    agent
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format_args!("agent {id}")))
}

/// Remove an agent: their open work goes back to routing in its team,
/// their tokens, follows, offers and pending transfers end, and their
/// history stays. The response comes after routing has reacted (a
/// requeued conversation may already be someone else's).
pub(super) async fn remove_agent(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Removal>, ApiError> {
    let id = agent_id(&id)?;
    let agent = state
        .store
        .get_agent(&tenant.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("agent {id}")))?;
    let (removal, events) = state
        .store
        .remove_agent(&tenant.id, &agent)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("agent {id}")))?;
    for event in events {
        state
            .dispatch
            .wait_for(&tenant.id, event, Duration::from_secs(5))
            .await;
    }
    Ok(Json(removal))
}

/// Bring a removed agent back: offline, in the teams they were in, with
/// no tokens (a member is issued a new one).
pub(super) async fn restore_agent(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<AgentRecord>, ApiError> {
    let id = agent_id(&id)?;
    if !state.store.restore_agent(&tenant.id, &id).await? {
        return Err(ApiError::not_found(format_args!("removed agent {id}")));
    }
    let agent = state.store.get_agent(&tenant.id, &id).await?;
    agent
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format_args!("agent {id}")))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CapacityBody {
    capacity: serde_json::Value,
}

/// Set an agent's capacity per channel (the patch of just that). Raising
/// it retries the queue, and the response comes after that.
pub(super) async fn set_capacity(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CapacityBody>,
) -> Result<Json<AgentRecord>, ApiError> {
    let id = agent_id(&id)?;
    let capacity = parse_capacity(&body.capacity)?;
    let before = state
        .store
        .get_agent(&tenant.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("agent {id}")))?;
    let patch = AgentPatch {
        capacity: Some(capacity),
        ..AgentPatch::default()
    };
    apply_patch(&state, &tenant.id, &before, &patch).await
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewBot {
    name: String,
    channels: Vec<Channel>,
    /// `ai` (the default) or `rule-based`, whose conversations get no
    /// automatic ticket.
    #[serde(default = "ai")]
    kind: BotKind,
}

fn ai() -> BotKind {
    BotKind::Ai
}

pub(super) async fn create_bot(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewBot>,
) -> Result<Created<BotRecord>, ApiError> {
    let name = parse_line(&body.name, 200).map_err(|e| ApiError::invalid("name", e))?;
    if body.channels.is_empty() {
        return Err(ApiError::invalid(
            "channels",
            "must name at least one channel",
        ));
    }
    let bot = state
        .store
        .create_bot(&tenant.id, &name, body.channels, body.kind)
        .await?;
    Ok(Created(bot))
}

pub(super) async fn list_bots(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
) -> Result<Json<Vec<BotRecord>>, ApiError> {
    Ok(Json(state.store.list_bots(&tenant.id).await?))
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum BotStatus {
    Active,
    Paused,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct BotStatusBody {
    status: BotStatus,
}

/// Pause or resume a bot. Pausing hands its open conversations to humans
/// (a default handoff trigger) and sends new ones straight to them.
pub(super) async fn set_bot_status(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<BotStatusBody>,
) -> Result<Json<BotRecord>, ApiError> {
    let bot = BotId::parse(&id).map_err(|_| ApiError::not_found(format_args!("bot {id}")))?;
    let event = state
        .store
        .set_bot_paused(&tenant.id, &bot, body.status == BotStatus::Paused)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("bot {bot}")))?;
    if let Some(event) = event {
        state
            .dispatch
            .wait_for(&tenant.id, event, Duration::from_secs(5))
            .await;
    }
    state
        .store
        .list_bots(&tenant.id)
        .await?
        .into_iter()
        .find(|b| b.id == bot)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format_args!("bot {bot}")))
}

fn team_id(raw: &str) -> Result<TeamId, ApiError> {
    TeamId::parse(raw).map_err(|_| ApiError::not_found(format_args!("team {raw}")))
}

/// Set a team's weekly business hours:
/// `{"time_zone":"Asia/Tokyo","weekly":{"mon":[["09:00","18:00"]],...}}`.
pub(super) async fn set_team_hours(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(HoursJson(body)): JsonBody<HoursJson>,
) -> Result<Json<HoursJson>, ApiError> {
    let team = team_id(&raw)?;
    let hours = BusinessHours::parse(&body).map_err(|(path, e)| {
        ApiError::invalid(if path.is_empty() { "body".into() } else { path }, e)
    })?;
    if !state
        .store
        .set_team_hours(&tenant.id, &team, Some(&hours))
        .await?
    {
        return Err(ApiError::not_found(format_args!("team {team}")));
    }
    Ok(Json(HoursJson(hours.to_json())))
}

/// Remove a team's business hours: it is always open again.
pub(super) async fn clear_team_hours(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<NoContent, ApiError> {
    let team = team_id(&raw)?;
    if !state.store.set_team_hours(&tenant.id, &team, None).await? {
        return Err(ApiError::not_found(format_args!("team {team}")));
    }
    Ok(NoContent)
}

//! Joining and following conversations, @mentions in internal notes,
//! notifications, and the tenant's statistics.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use super::error::ApiError;
use super::extract::{JsonBody, Path, Query, Tenant};
use super::page::PageQuery;
use super::{AppState, lookup};
use crate::domain::{
    AgentId, AgentRecord, Change, ConversationId, EventKind, HistoryEntry, Outcome, Page, TenantId,
};
use crate::store::Stats;

async fn member(
    state: &AppState,
    tenant: &TenantId,
    id: &AgentId,
    field: &str,
) -> Result<AgentRecord, ApiError> {
    state
        .store
        .get_agent(tenant, id)
        .await?
        .ok_or_else(|| ApiError::invalid(field, format!("no agent {id}")))
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum JoinAs {
    Assignee,
    Follower,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct JoinBody {
    agent: AgentId,
    #[serde(rename = "as")]
    role: JoinAs,
}

/// An agent takes the conversation or joins it as a follower.
pub(super) async fn join(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<JoinBody>,
) -> Result<Json<Joined>, ApiError> {
    let id = lookup::conversation(&state, &tenant.id, &raw).await?.id;
    let agent = member(&state, &tenant.id, &body.agent, "agent").await?;
    match body.role {
        JoinAs::Follower => {
            state.store.follow(&id, &agent.id, Some(&agent.id)).await?;
        }
        JoinAs::Assignee => {
            let changes = vec![
                Change::Assign {
                    conversation: id.clone(),
                    agent: agent.id.clone(),
                    team: None,
                    history: HistoryEntry {
                        decided_by: "agent".into(),
                        rule: None,
                        plugin_name: None,
                        plugin_version: None,
                        reason: format!("{} joined as the assignee", agent.name),
                    },
                },
                Change::Event {
                    kind: EventKind::ConversationAssigned,
                    conversation: Some(id.clone()),
                    agent: Some(agent.id.clone()),
                },
            ];
            state
                .store
                .apply(&Outcome {
                    tenant: tenant.id.clone(),
                    event: None,
                    summary: String::new(),
                    changes,
                })
                .await?;
        }
    }
    Ok(Json(Joined {
        conversation: state.store.get_conversation(&tenant.id, &id).await?,
        followers: state.store.followers(&id).await?,
    }))
}

/// A conversation a member joined, and who follows it now.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct Joined {
    conversation: Option<crate::domain::ConversationRecord>,
    followers: Vec<AgentId>,
}

/// Who follows a conversation (or ticket).
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct Followers {
    pub followers: Vec<AgentId>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct FollowerBody {
    agent: AgentId,
}

/// An admin adds a follower.
pub(super) async fn add_follower(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<FollowerBody>,
) -> Result<Json<Followers>, ApiError> {
    let id = lookup::conversation(&state, &tenant.id, &raw).await?.id;
    let by = lookup::admin(
        &state,
        &tenant.id,
        &headers,
        "add other members as followers",
    )
    .await?;
    member(&state, &tenant.id, &body.agent, "agent").await?;
    state.store.follow(&id, &body.agent, Some(&by)).await?;
    Ok(Json(Followers {
        followers: state.store.followers(&id).await?,
    }))
}

pub(super) async fn remove_follower(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path((raw, agent)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Followers>, ApiError> {
    let id = lookup::conversation(&state, &tenant.id, &raw).await?.id;
    let agent = AgentId::parse(&agent)
        .map_err(|_| ApiError::not_found(format_args!("follower {agent}")))?;
    // Anyone may stop following; removing someone else takes an admin.
    let actor = headers.get("x-baton-agent").and_then(|v| v.to_str().ok());
    if actor != Some(agent.as_str()) {
        lookup::admin(
            &state,
            &tenant.id,
            &headers,
            "remove other members as followers",
        )
        .await?;
    }
    if !state.store.unfollow(&id, &agent).await? {
        return Err(ApiError::not_found(format_args!("follower {agent}")));
    }
    Ok(Json(Followers {
        followers: state.store.followers(&id).await?,
    }))
}

/// Members mentioned as `@email` or `@Name` in `body`.
pub(super) fn mentioned<'a>(body: &str, agents: &'a [AgentRecord]) -> Vec<&'a AgentRecord> {
    let words: Vec<String> = body
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '!' | '?' | '(' | ')'))
        .filter_map(|w| w.strip_prefix('@'))
        .map(|w| w.trim_end_matches('.').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    agents
        .iter()
        .filter(|a| {
            let email = a.email.to_lowercase();
            let name = a.name.to_lowercase();
            words.iter().any(|w| *w == email || *w == name)
        })
        .collect()
}

/// An internal note's @mentions: each member mentioned follows the
/// conversation and is notified.
pub(super) async fn mention(
    state: &AppState,
    tenant: &TenantId,
    id: &ConversationId,
    body: &str,
) -> Result<(), ApiError> {
    if !body.contains('@') {
        return Ok(());
    }
    let agents = state.store.list_agents(tenant).await?;
    for agent in mentioned(body, &agents) {
        state.store.follow(id, &agent.id, None).await?;
        state
            .store
            .notify_agent(
                tenant,
                id,
                &agent.id,
                &format!("You were mentioned in an internal note on {id}"),
            )
            .await?;
    }
    Ok(())
}

/// A page of a member's notifications, newest first.
pub(super) async fn notifications(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<Value>>, ApiError> {
    let agent =
        AgentId::parse(&raw).map_err(|_| ApiError::not_found(format_args!("agent {raw}")))?;
    if !state.store.agent_exists(&tenant.id, &agent).await? {
        return Err(ApiError::not_found(format_args!("agent {agent}")));
    }
    let page = query.by_row()?;
    Ok(Json(
        state
            .store
            .notifications_for(&tenant.id, &agent, &page)
            .await?,
    ))
}

/// Conversations by status, channel and tag, and median first-response and
/// resolution times. Deleted conversations no longer count.
pub(super) async fn stats(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
) -> Result<Json<Stats>, ApiError> {
    Ok(Json(state.store.stats(&tenant.id).await?))
}

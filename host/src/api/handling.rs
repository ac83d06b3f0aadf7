//! What agents do by hand: answer or decline a waiting conversation, and
//! transfer one to a colleague (who must accept) or to a team; and the
//! settings deciding what waits for them: the queue policy and the
//! assignment mode.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{JsonBody, Path, Tenant};
use super::{AppState, lookup};
use crate::domain::{
    AgentId, AssignmentSettings, Change, Channel, ConversationId, ConversationRecord,
    ConversationStatus, EventKind, HistoryEntry, HistoryRecord, Outcome, TeamId, TenantId,
};
use crate::routing::queue::{self, QueuePolicy};
use crate::store::transferred;

const ROUTING_WAIT: Duration = Duration::from_secs(5);

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AgentBody {
    agent: AgentId,
}

fn by_agent(reason: String) -> HistoryEntry {
    HistoryEntry {
        decided_by: "agent".into(),
        rule: None,
        plugin_name: None,
        plugin_version: None,
        reason,
    }
}

async fn agent(
    state: &AppState,
    tenant: &TenantId,
    agent: &AgentId,
    field: &str,
) -> Result<(), ApiError> {
    if state.store.agent_exists(tenant, agent).await? {
        Ok(())
    } else {
        Err(ApiError::invalid(field, format!("no agent {agent}")))
    }
}

/// Apply changes, wait for the routing they set off, and show the result.
async fn apply(
    state: &AppState,
    tenant: &TenantId,
    id: &ConversationId,
    changes: Vec<Change>,
) -> Result<Json<Handled>, ApiError> {
    let outcome = Outcome {
        tenant: tenant.clone(),
        event: None,
        summary: String::new(),
        changes,
    };
    let events = state.store.apply(&outcome).await?;
    if let Some(last) = events.iter().max() {
        state.dispatch.wait_for(tenant, *last, ROUTING_WAIT).await;
    }
    let conversation = state.store.get_conversation(tenant, id).await?;
    Ok(Json(Handled {
        conversation,
        history: state.store.history(id).await?,
    }))
}

/// A conversation after an agent handled it, with its history.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct Handled {
    conversation: Option<ConversationRecord>,
    history: Vec<HistoryRecord>,
}

fn waiting(c: &ConversationRecord) -> Result<(), ApiError> {
    if c.routing.takeable() && c.status == ConversationStatus::Open {
        Ok(())
    } else {
        Err(ApiError::conflict(format!(
            "conversation {} is not waiting in the queue",
            c.id
        )))
    }
}

/// An agent takes a waiting conversation. Answering a call while on one
/// ends the current call: a call line takes one at a time.
pub(super) async fn answer(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AgentBody>,
) -> Result<Json<Handled>, ApiError> {
    let c = lookup::conversation(&state, &tenant.id, &id).await?;
    waiting(&c)?;
    agent(&state, &tenant.id, &body.agent, "agent").await?;
    let mut changes = Vec::new();
    if c.channel == Channel::Call {
        for call in state.store.open_calls(&tenant.id, &body.agent).await? {
            changes.push(Change::SetStatus {
                conversation: call.clone(),
                status: ConversationStatus::Closed,
            });
            changes.push(Change::History {
                conversation: call,
                action: "ended".into(),
                agent: Some(body.agent.clone()),
                history: by_agent(format!(
                    "ended: the agent answered the queued call {}",
                    c.id
                )),
            });
        }
    }
    changes.push(Change::Assign {
        conversation: c.id.clone(),
        agent: body.agent.clone(),
        team: None,
        history: by_agent("answered from the queue".into()),
    });
    changes.push(Change::Event {
        kind: EventKind::ConversationAssigned,
        conversation: Some(c.id.clone()),
        agent: Some(body.agent),
    });
    apply(&state, &tenant.id, &c.id, changes).await
}

/// An agent declines a waiting conversation: it stays in the queue for
/// the others and is not given to this agent again.
pub(super) async fn decline(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AgentBody>,
) -> Result<Json<Handled>, ApiError> {
    let c = lookup::conversation(&state, &tenant.id, &id).await?;
    waiting(&c)?;
    agent(&state, &tenant.id, &body.agent, "agent").await?;
    state.store.decline(&tenant.id, &c.id, &body.agent).await?;
    apply(&state, &tenant.id, &c.id, Vec::new()).await
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(super) enum TransferTo {
    Agent(AgentId),
    Team(TeamId),
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TransferBody {
    to: TransferTo,
    #[serde(default)]
    note: String,
}

/// Transfer to an agent (it stays with the current one until the receiver
/// accepts) or to a team (it leaves the agent and waits unclaimed in the
/// team until a member takes it or someone assigns it: LiveAgent does not
/// hand a transferred ticket to the team's agents by itself).
pub(super) async fn transfer(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<TransferBody>,
) -> Result<Json<Handled>, ApiError> {
    let c = lookup::conversation(&state, &tenant.id, &id).await?;
    if body.note.chars().count() > 2000 {
        return Err(ApiError::invalid("note", "must be at most 2000 characters"));
    }
    let from = match &c.assignee {
        Some(crate::domain::Assignee::Agent(agent)) => Some(agent.clone()),
        _ => None,
    };
    let note = if body.note.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", body.note.trim())
    };
    match body.to {
        TransferTo::Agent(to) => {
            agent(&state, &tenant.id, &to, "to.agent").await?;
            if from.as_ref() == Some(&to) {
                return Err(ApiError::invalid(
                    "to.agent",
                    "the conversation is already theirs",
                ));
            }
            state
                .store
                .create_transfer(&c.id, from.as_ref(), &to, body.note.trim())
                .await?;
            let changes = vec![
                Change::AddNote {
                    conversation: c.id.clone(),
                    body: format!("Transfer to {to} requested{note}"),
                },
                Change::History {
                    conversation: c.id.clone(),
                    action: "transfer-requested".into(),
                    agent: Some(to.clone()),
                    history: by_agent(format!(
                        "transfer to {to} requested{note}; stays with the current agent until accepted"
                    )),
                },
            ];
            apply(&state, &tenant.id, &c.id, changes).await
        }
        TransferTo::Team(team) => {
            if !state.store.team_exists(&tenant.id, &team).await? {
                return Err(ApiError::invalid("to.team", format!("no team {team}")));
            }
            let changes = vec![
                Change::Unclaim {
                    conversation: c.id.clone(),
                    team: Some(team.clone()),
                    history: by_agent(format!(
                        "transferred to team {team}{note}; waits there for a member to take it"
                    )),
                },
                transferred(&c.id),
            ];
            apply(&state, &tenant.id, &c.id, changes).await
        }
    }
}

/// The receiver of a transfer accepts it, or declines it.
pub(super) async fn settle_transfer(
    state: &AppState,
    tenant: &TenantId,
    raw: &str,
    who: AgentId,
    accept: bool,
) -> Result<Json<Handled>, ApiError> {
    let c = lookup::conversation(state, tenant, raw).await?;
    let pending = state
        .store
        .pending_transfer(&c.id)
        .await?
        .filter(|t| t.to_agent == who.as_str())
        .ok_or_else(|| ApiError::invalid("agent", format!("no transfer to {who} is pending")))?;
    if !state
        .store
        .settle_transfer(pending.id, if accept { "accepted" } else { "declined" })
        .await?
    {
        return Err(ApiError::conflict("the transfer was settled already"));
    }
    let note = if pending.note.is_empty() {
        String::new()
    } else {
        format!(": {}", pending.note)
    };
    let from = pending.from_agent.as_deref().unwrap_or("nobody");
    let changes = if accept {
        vec![
            Change::Assign {
                conversation: c.id.clone(),
                agent: who.clone(),
                team: None,
                history: HistoryEntry {
                    decided_by: "transfer".into(),
                    ..by_agent(format!("accepted the transfer from {from}{note}"))
                },
            },
            transferred(&c.id),
        ]
    } else {
        vec![Change::History {
            conversation: c.id.clone(),
            action: "transfer-declined".into(),
            agent: Some(who),
            history: by_agent(format!(
                "declined the transfer from {from}; stays with {from}"
            )),
        }]
    };
    apply(state, tenant, &c.id, changes).await
}

pub(super) async fn accept_transfer(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AgentBody>,
) -> Result<Json<Handled>, ApiError> {
    settle_transfer(&state, &tenant.id, &id, body.agent, true).await
}

pub(super) async fn decline_transfer(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AgentBody>,
) -> Result<Json<Handled>, ApiError> {
    settle_transfer(&state, &tenant.id, &id, body.agent, false).await
}

pub(super) async fn get_queue_policy(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
) -> Result<Json<QueuePolicy>, ApiError> {
    Ok(Json(queue::policy(&state.store, &tenant.id).await?))
}

/// Set the queue's maximum length and what happens past it.
pub(super) async fn put_queue_policy(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    JsonBody(policy): JsonBody<QueuePolicy>,
) -> Result<Json<QueuePolicy>, ApiError> {
    match &policy.overflow {
        queue::Overflow::Team { team } if !state.store.team_exists(&tenant.id, team).await? => {
            return Err(ApiError::invalid(
                "overflow.team",
                format!("no team {team}"),
            ));
        }
        queue::Overflow::Reject { message }
            if message.trim().is_empty() || message.chars().count() > 1000 =>
        {
            return Err(ApiError::invalid(
                "overflow.message",
                "must have 1 to 1000 characters",
            ));
        }
        _ => {}
    }
    let value = serde_json::to_value(&policy).map_err(ApiError::internal)?;
    state
        .store
        .put_setting(&tenant.id, queue::TOPIC, &value)
        .await?;
    Ok(Json(policy))
}

pub(super) async fn get_assignment_settings(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
) -> Result<Json<AssignmentSettings>, ApiError> {
    Ok(Json(state.store.assignment_settings(&tenant.id).await?))
}

/// Choose how new conversations find an owner: `automatic` (the strategy
/// picks) or `manual` (they wait unclaimed for an agent to take them;
/// rules that assign still apply). Conversations already waiting stay as
/// they are.
pub(super) async fn put_assignment_settings(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    JsonBody(settings): JsonBody<AssignmentSettings>,
) -> Result<Json<AssignmentSettings>, ApiError> {
    state
        .store
        .put_assignment_settings(&tenant.id, &settings)
        .await?;
    Ok(Json(settings))
}

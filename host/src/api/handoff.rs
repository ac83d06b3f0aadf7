//! The handoff process: `GET/PUT /v1/settings/handoff` (mode, destination,
//! messages, what happens to a real-time handoff nobody took), and the
//! custom trigger phrases at `/v1/handoff/triggers`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{JsonBody, Path, Tenant};
use super::openapi::Created;
use crate::domain::{
    AgentId, Desk, Destination, HandoffMessages, HandoffMode, HandoffSettings, PluginKind, Slot,
    TeamId, TenantId, WhenUnassigned, parse_line,
};
use crate::plugin::defaults::KEYWORD_HANDOFF;
use crate::routing::spec::{self, Binding};

const MAX_MESSAGE: usize = 1_000;
const MAX_PHRASE: usize = 100;
const MAX_PHRASES: usize = 200;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DestinationBody {
    desk: Desk,
    team: Option<TeamId>,
    agent: Option<AgentId>,
    pipeline: Option<String>,
}

fn default_messages() -> MessagesBody {
    let d = HandoffMessages::default();
    MessagesBody {
        available: d.available,
        unavailable: d.unavailable,
        unassigned: d.unassigned,
    }
}

/// Each message may be left out (the default text) or `null` (say nothing).
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MessagesBody {
    #[serde(default = "default_available")]
    available: Option<String>,
    #[serde(default = "default_unavailable")]
    unavailable: Option<String>,
    #[serde(default = "default_unassigned")]
    unassigned: Option<String>,
}

fn default_available() -> Option<String> {
    HandoffMessages::default().available
}
fn default_unavailable() -> Option<String> {
    HandoffMessages::default().unavailable
}
fn default_unassigned() -> Option<String> {
    HandoffMessages::default().unassigned
}

fn keep_open() -> WhenUnassigned {
    WhenUnassigned::KeepOpen
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct HandoffBody {
    mode: HandoffMode,
    destination: DestinationBody,
    #[serde(default = "default_messages")]
    messages: MessagesBody,
    #[serde(default = "keep_open")]
    when_unassigned: WhenUnassigned,
}

fn message(field: &str, text: Option<String>) -> Result<Option<String>, ApiError> {
    match text {
        None => Ok(None),
        Some(text) => {
            let text = text.trim();
            if text.is_empty() || text.chars().count() > MAX_MESSAGE {
                return Err(ApiError::invalid(
                    field,
                    format!("must have 1 to {MAX_MESSAGE} characters, or be null to say nothing"),
                ));
            }
            Ok(Some(text.to_owned()))
        }
    }
}

/// Check the destination against the tenant's teams and agents.
async fn destination(
    state: &AppState,
    tenant: &TenantId,
    body: DestinationBody,
) -> Result<Destination, ApiError> {
    if body.desk == Desk::TicketWorkflow {
        for (field, given) in [
            ("destination.team", body.team.is_some()),
            ("destination.agent", body.agent.is_some()),
        ] {
            if given {
                return Err(ApiError::invalid(
                    field,
                    "a ticket workflow routes by the assignment rules; name a team or agent with the inbox or help desk",
                ));
            }
        }
    }
    if body.team.is_some() && body.agent.is_some() {
        return Err(ApiError::invalid(
            "destination.agent",
            "give a team or an agent, not both",
        ));
    }
    if let Some(team) = &body.team
        && !state.store.team_exists(tenant, team).await?
    {
        return Err(ApiError::invalid(
            "destination.team",
            format!("no team {team}"),
        ));
    }
    if let Some(agent) = &body.agent
        && !state.store.agent_exists(tenant, agent).await?
    {
        return Err(ApiError::invalid(
            "destination.agent",
            format!("no agent {agent}"),
        ));
    }
    let pipeline = match body.pipeline {
        None => None,
        Some(_) if body.desk == Desk::Inbox => {
            return Err(ApiError::invalid(
                "destination.pipeline",
                "only the help desk and ticket workflows make tickets",
            ));
        }
        Some(pipeline) => {
            let pipeline = parse_line(&pipeline, 200)
                .map_err(|e| ApiError::invalid("destination.pipeline", e))?;
            // A pipeline by id or by name, as workflows' create-ticket takes it.
            let known = state
                .store
                .pipelines(tenant)
                .await?
                .iter()
                .any(|p| p.id.as_str() == pipeline || p.name == pipeline);
            if !known {
                return Err(ApiError::invalid(
                    "destination.pipeline",
                    format!("no pipeline {pipeline:?} (give a pipeline's id or name)"),
                ));
            }
            Some(pipeline)
        }
    };
    Ok(Destination {
        desk: body.desk,
        team: body.team,
        agent: body.agent,
        pipeline,
    })
}

pub(super) async fn get_settings(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
) -> Result<Json<HandoffSettings>, ApiError> {
    Ok(Json(state.store.handoff_settings(&tenant.id).await?))
}

/// Replace the handoff process; the next handoff follows it.
pub(super) async fn put_settings(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<HandoffBody>,
) -> Result<Json<HandoffSettings>, ApiError> {
    let settings = HandoffSettings {
        mode: body.mode,
        destination: destination(&state, &tenant.id, body.destination).await?,
        messages: HandoffMessages {
            available: message("messages.available", body.messages.available)?,
            unavailable: message("messages.unavailable", body.messages.unavailable)?,
            unassigned: message("messages.unassigned", body.messages.unassigned)?,
        },
        when_unassigned: body.when_unassigned,
    };
    state
        .store
        .put_handoff_settings(&tenant.id, &settings)
        .await?;
    Ok(Json(settings))
}

/// The handoff binding with the index of its `keyword-handoff` entry (added
/// first, with its default config, if the tenant bound other triggers only).
async fn keyword_binding(
    state: &AppState,
    tenant: &TenantId,
) -> Result<(Binding, usize), ApiError> {
    let mut binding = spec::current(&state.store, tenant, Slot::Handoff).await?;
    if let Some(at) = binding.plugins.iter().position(|p| p.id == KEYWORD_HANDOFF) {
        return Ok((binding, at));
    }
    let entry = spec::resolve(
        &state.store,
        tenant,
        PluginKind::HandoffTrigger,
        KEYWORD_HANDOFF,
        json!({}),
        "",
    )
    .await?;
    binding.plugins.insert(0, entry);
    Ok((binding, 0))
}

/// The custom phrases in force: the binding's, or the plugin's defaults.
async fn phrases(
    state: &AppState,
    tenant: &TenantId,
    config: &Value,
) -> Result<Vec<String>, ApiError> {
    let list = match config.get("phrases") {
        Some(list) => list.clone(),
        None => state
            .store
            .find_plugin(tenant, KEYWORD_HANDOFF)
            .await?
            .map(|p| p.config_schema["properties"]["phrases"]["default"].clone())
            .unwrap_or_default(),
    };
    Ok(serde_json::from_value(list).unwrap_or_default())
}

/// The handoff triggers: the built-in ones, the tenant's phrases and the
/// plugins bound to the handoff slot.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct TriggersView {
    defaults: Vec<DefaultTrigger>,
    /// Words or phrases from the customer that hand over to a human.
    phrases: Vec<String>,
    plugins: Vec<BoundPlugin>,
}

/// A trigger every tenant has.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct DefaultTrigger {
    trigger: &'static str,
    fires: &'static str,
}

/// A plugin version bound to the handoff slot.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct BoundPlugin {
    plugin: String,
    name: String,
    version: String,
}

const DEFAULT_TRIGGERS: [(&str, &str); 3] = [
    (
        "bot-cannot-answer",
        "when the bot says it cannot answer (a bot message with cannot_answer, or one of the plugin's bot_phrases)",
    ),
    (
        "visitor-asks-for-human",
        "when the customer asks for a person (the plugin's human_phrases)",
    ),
    (
        "bot-paused",
        "when the bot owning the conversation is paused",
    ),
];

async fn triggers_view(state: &AppState, tenant: &TenantId) -> Result<TriggersView, ApiError> {
    let (binding, at) = keyword_binding(state, tenant).await?;
    let phrases = phrases(state, tenant, &binding.plugins[at].config).await?;
    let plugins = binding
        .plugins
        .iter()
        .map(|p| BoundPlugin {
            plugin: p.id.clone(),
            name: p.name.clone(),
            version: p.version.clone(),
        })
        .collect();
    Ok(TriggersView {
        defaults: DEFAULT_TRIGGERS
            .iter()
            .map(|&(trigger, fires)| DefaultTrigger { trigger, fires })
            .collect(),
        phrases,
        plugins,
    })
}

async fn save_phrases(
    state: &AppState,
    tenant: &TenantId,
    mut binding: Binding,
    at: usize,
    phrases: Vec<String>,
) -> Result<(), ApiError> {
    let mut config = binding.plugins[at].config.clone();
    if !config.is_object() {
        config = json!({});
    }
    config["phrases"] = json!(phrases);
    // Re-resolved so the config is checked against the plugin's schema.
    binding.plugins[at] = spec::resolve(
        &state.store,
        tenant,
        PluginKind::HandoffTrigger,
        &binding.plugins[at].id,
        config,
        "",
    )
    .await?;
    let spec = serde_json::to_value(&binding).map_err(ApiError::internal)?;
    state
        .store
        .put_binding(tenant, Slot::Handoff, &spec)
        .await?;
    Ok(())
}

pub(super) async fn get_triggers(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
) -> Result<Json<TriggersView>, ApiError> {
    Ok(Json(triggers_view(&state, &tenant.id).await?))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PhraseBody {
    phrase: String,
}

fn same(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// Add a word or phrase that hands a bot's conversation to a human. It is
/// a new version of the handoff binding, so it can be rolled back.
pub(super) async fn add_trigger(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<PhraseBody>,
) -> Result<Created<TriggersView>, ApiError> {
    let phrase =
        parse_line(&body.phrase, MAX_PHRASE).map_err(|e| ApiError::invalid("phrase", e))?;
    let (binding, at) = keyword_binding(&state, &tenant.id).await?;
    let mut list = phrases(&state, &tenant.id, &binding.plugins[at].config).await?;
    if list.iter().any(|p| same(p, &phrase)) {
        return Err(ApiError::conflict(format!(
            "{phrase:?} is already a trigger"
        )));
    }
    if list.len() >= MAX_PHRASES {
        return Err(ApiError::invalid(
            "phrase",
            format!("at most {MAX_PHRASES} trigger phrases"),
        ));
    }
    list.push(phrase);
    save_phrases(&state, &tenant.id, binding, at, list).await?;
    Ok(Created(triggers_view(&state, &tenant.id).await?))
}

pub(super) async fn remove_trigger(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(phrase): Path<String>,
) -> Result<Json<TriggersView>, ApiError> {
    let (binding, at) = keyword_binding(&state, &tenant.id).await?;
    let mut list = phrases(&state, &tenant.id, &binding.plugins[at].config).await?;
    let before = list.len();
    list.retain(|p| !same(p, phrase.trim()));
    if list.len() == before {
        return Err(ApiError::not_found(format_args!(
            "trigger phrase {phrase:?}"
        )));
    }
    save_phrases(&state, &tenant.id, binding, at, list).await?;
    Ok(Json(triggers_view(&state, &tenant.id).await?))
}

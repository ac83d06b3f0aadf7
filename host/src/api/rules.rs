//! Assignment rules over the API: add, edit, enable or disable, reorder,
//! delete (recorded, no confirmation), and read the change record.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{JsonBody, Path, Query, Tenant};
use super::openapi::Created;
use super::page::PageQuery;
use crate::domain::{
    Condition, Conditions, Match, Millis, Page, PluginKind, PluginUse, Rule, RuleId, Target,
    TenantId, parse_line,
};
use crate::routing::spec;

/// A rule as an admin writes it.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleBody {
    name: String,
    #[serde(default = "enabled")]
    enabled: bool,
    #[serde(default)]
    conditions: ConditionsBody,
    target: Target,
    /// `{"plugin", "config"}`; absent: the tenant's bound strategy.
    method: Option<MethodBody>,
    /// Where to insert a new rule (0 = top); the end when absent.
    position: Option<usize>,
}

/// Conditions as an admin writes them: built-in items plus rule-condition
/// plugins by reference.
#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ConditionsBody {
    #[serde(rename = "match", default)]
    combine: Match,
    #[serde(default)]
    items: Vec<Condition>,
    #[serde(default)]
    plugins: Vec<MethodBody>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MethodBody {
    plugin: String,
    #[serde(default = "empty")]
    config: Value,
}

fn enabled() -> bool {
    true
}

fn empty() -> Value {
    json!({})
}

/// A plugin a rule uses, with its config.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct PluginView {
    plugin: String,
    name: String,
    version: String,
    config: Value,
}

fn plugin_view(p: &PluginUse) -> PluginView {
    PluginView {
        plugin: p.id.clone(),
        name: p.name.clone(),
        version: p.version.clone(),
        config: p.config.clone(),
    }
}

/// A rule as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct RuleView {
    id: RuleId,
    /// Its place in the order rules are tried, from 0.
    position: u32,
    name: String,
    enabled: bool,
    conditions: ConditionsView,
    target: Target,
    /// The method; `null`: the tenant's bound assignment strategy.
    method: Option<PluginView>,
    created_at: Millis,
    updated_at: Millis,
}

/// A rule's conditions as the API shows them.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct ConditionsView {
    #[serde(rename = "match")]
    combine: Match,
    items: Vec<Condition>,
    plugins: Vec<PluginView>,
}

fn view(rule: &Rule) -> RuleView {
    RuleView {
        id: rule.id.clone(),
        position: rule.position,
        name: rule.name.clone(),
        enabled: rule.enabled,
        conditions: ConditionsView {
            combine: rule.conditions.combine,
            items: rule.conditions.items.clone(),
            plugins: rule.conditions.plugins.iter().map(plugin_view).collect(),
        },
        target: rule.target.clone(),
        method: rule.method.as_ref().map(plugin_view),
        created_at: rule.created_at,
        updated_at: rule.updated_at,
    }
}

/// A rule deleted: what it was.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct Deleted {
    deleted: RuleView,
}

/// Check every part of a rule body and build the rule.
async fn build(
    state: &AppState,
    tenant: &TenantId,
    id: RuleId,
    body: RuleBody,
    created: Millis,
) -> Result<Rule, ApiError> {
    let name = parse_line(&body.name, 200).map_err(|e| ApiError::invalid("name", e))?;
    if body.conditions.items.len() > 50 || body.conditions.plugins.len() > 5 {
        return Err(ApiError::invalid(
            "conditions.items",
            "at most 50 conditions",
        ));
    }
    for (i, condition) in body.conditions.items.iter().enumerate() {
        condition
            .check()
            .map_err(|e| ApiError::invalid(format!("conditions.items[{i}].value"), e))?;
    }
    if let Target::Members { agents, teams } = &body.target {
        if agents.is_empty() && teams.is_empty() {
            return Err(ApiError::invalid(
                "target",
                "name at least one agent or team",
            ));
        }
        for (i, agent) in agents.iter().enumerate() {
            if !state.store.agent_exists(tenant, agent).await? {
                return Err(ApiError::invalid(
                    format!("target.agents[{i}]"),
                    format!("no agent {agent}"),
                ));
            }
        }
        for (i, team) in teams.iter().enumerate() {
            if !state.store.team_exists(tenant, team).await? {
                return Err(ApiError::invalid(
                    format!("target.teams[{i}]"),
                    format!("no team {team}"),
                ));
            }
        }
    }
    let mut plugins = Vec::new();
    for (i, p) in body.conditions.plugins.into_iter().enumerate() {
        let at = format!("conditions.plugins[{i}]");
        plugins.push(
            spec::resolve(
                &state.store,
                tenant,
                PluginKind::RuleCondition,
                &p.plugin,
                p.config,
                &at,
            )
            .await?,
        );
    }
    let conditions = Conditions {
        combine: body.conditions.combine,
        items: body.conditions.items,
        plugins,
    };
    let method = match body.method {
        Some(m) => Some(
            spec::resolve(
                &state.store,
                tenant,
                PluginKind::AssignmentStrategy,
                &m.plugin,
                m.config,
                "method",
            )
            .await?,
        ),
        None => None,
    };
    Ok(Rule {
        id,
        position: 0,
        name,
        enabled: body.enabled,
        conditions,
        target: body.target,
        method,
        created_at: created,
        updated_at: state.store.now(),
    })
}

fn rule_id(raw: &str) -> Result<RuleId, ApiError> {
    RuleId::parse(raw).map_err(|_| ApiError::not_found(format_args!("rule {raw}")))
}

async fn find(state: &AppState, tenant: &TenantId, id: &RuleId) -> Result<Rule, ApiError> {
    state
        .store
        .list_rules(tenant)
        .await?
        .into_iter()
        .find(|r| &r.id == id)
        .ok_or_else(|| ApiError::not_found(format_args!("rule {id}")))
}

pub(super) async fn list(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
) -> Result<Json<Vec<RuleView>>, ApiError> {
    Ok(Json(
        state
            .store
            .list_rules(&tenant.id)
            .await?
            .iter()
            .map(view)
            .collect(),
    ))
}

pub(super) async fn create(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RuleBody>,
) -> Result<Created<RuleView>, ApiError> {
    let position = body.position;
    let rule = build(
        &state,
        &tenant.id,
        RuleId::generate(),
        body,
        state.store.now(),
    )
    .await?;
    let stored = state.store.insert_rule(&tenant.id, &rule, position).await?;
    Ok(Created(view(&stored)))
}

pub(super) async fn get(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RuleView>, ApiError> {
    Ok(Json(view(&find(&state, &tenant.id, &rule_id(&id)?).await?)))
}

/// Replace a rule (keeping its place); `"enabled": false` disables it.
pub(super) async fn update(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RuleBody>,
) -> Result<Json<RuleView>, ApiError> {
    let existing = find(&state, &tenant.id, &rule_id(&id)?).await?;
    if body.position.is_some() {
        return Err(ApiError::invalid(
            "position",
            "move rules with PUT /v1/rules/order",
        ));
    }
    let mut rule = build(&state, &tenant.id, existing.id, body, existing.created_at).await?;
    rule.position = existing.position;
    if !state.store.update_rule(&tenant.id, &rule).await? {
        return Err(ApiError::not_found(format_args!("rule {}", rule.id)));
    }
    Ok(Json(view(&rule)))
}

pub(super) async fn delete(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Deleted>, ApiError> {
    let id = rule_id(&id)?;
    let deleted = state.store.delete_rule(&tenant.id, &id).await?;
    deleted
        .map(|r| Json(Deleted { deleted: view(&r) }))
        .ok_or_else(|| ApiError::not_found(format_args!("rule {id}")))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct OrderBody {
    ids: Vec<RuleId>,
}

/// Put every rule in the given order.
pub(super) async fn reorder(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<OrderBody>,
) -> Result<Json<Vec<RuleView>>, ApiError> {
    state
        .store
        .reorder_rules(&tenant.id, &body.ids)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Conflict(message) => ApiError::invalid("ids", message),
            other => other.into(),
        })?;
    Ok(Json(
        state
            .store
            .list_rules(&tenant.id)
            .await?
            .iter()
            .map(view)
            .collect(),
    ))
}

/// A page of the changes to the rules, newest first.
pub(super) async fn changes(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<Value>>, ApiError> {
    let page = query.by_row()?;
    Ok(Json(state.store.rule_changes(&tenant.id, &page).await?))
}

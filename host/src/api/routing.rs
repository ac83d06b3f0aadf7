//! Binding plugins to the routing slots, and rolling bindings back.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{JsonBody, Path, Tenant};
use crate::domain::{Condition, Conditions, Match, Slot, TenantId};
use crate::routing::spec::{self, BindError, Binding, Fallback};
use crate::store::Store;

/// How long a binding change waits for the queue retry it set off.
const ROUTING_WAIT: Duration = Duration::from_secs(5);

fn slot(raw: &str) -> Result<Slot, ApiError> {
    Slot::parse(raw).map_err(|_| {
        ApiError::not_found(format_args!(
            "routing slot {raw:?} (use assignment, handoff or workflows)"
        ))
    })
}

impl From<BindError> for ApiError {
    fn from(error: BindError) -> Self {
        match error {
            BindError::Field { field, message } => ApiError::invalid(field, message),
            BindError::Store(store) => store.into(),
        }
    }
}

/// One plugin with its config, as given by an admin; a workflow may also
/// be switched off and given conditions.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PluginBody {
    plugin: String,
    #[serde(default = "empty_object")]
    config: Value,
    enabled: Option<bool>,
    conditions: Option<WorkflowConditions>,
}

/// A workflow's conditions: the built-in items of assignment rules.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct WorkflowConditions {
    #[serde(rename = "match", default)]
    combine: Match,
    #[serde(default)]
    items: Vec<Condition>,
}

/// Most conditions on one workflow.
const MAX_CONDITIONS: usize = 50;

impl PluginBody {
    /// The workflow-only parts, checked; `at` names the entry in errors.
    fn workflow_parts(
        &mut self,
        slot: Slot,
        at: &str,
    ) -> Result<(bool, Option<Box<Conditions>>), ApiError> {
        if slot != Slot::Workflows {
            for (field, given) in [
                ("enabled", self.enabled.is_some()),
                ("conditions", self.conditions.is_some()),
            ] {
                if given {
                    return Err(ApiError::invalid(
                        format!("{at}.{field}"),
                        "only workflows take this",
                    ));
                }
            }
        }
        let conditions = match self.conditions.take() {
            None => None,
            Some(body) => {
                if body.items.len() > MAX_CONDITIONS {
                    return Err(ApiError::invalid(
                        format!("{at}.conditions.items"),
                        format!("at most {MAX_CONDITIONS} conditions"),
                    ));
                }
                for (i, condition) in body.items.iter().enumerate() {
                    condition.check().map_err(|e| {
                        ApiError::invalid(format!("{at}.conditions.items[{i}].value"), e)
                    })?;
                }
                Some(Box::new(Conditions {
                    combine: body.combine,
                    items: body.items,
                    plugins: Vec::new(),
                }))
            }
        };
        Ok((self.enabled.unwrap_or(true), conditions))
    }
}

fn empty_object() -> Value {
    json!({})
}

/// The body of `PUT /v1/routing/{slot}`: `plugin` + `config` for the
/// assignment strategy, `triggers` for handoff, `workflows` for workflows.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct BindBody {
    plugin: Option<String>,
    config: Option<Value>,
    triggers: Option<Vec<PluginBody>>,
    workflows: Option<Vec<PluginBody>>,
    /// "default", "queue", or a plugin reference.
    fallback: Option<String>,
}

/// A slot's binding as the API shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct BindingView {
    slot: Slot,
    /// Whether the tenant bound it (else it runs the defaults).
    custom: bool,
    fallback: FallbackView,
    /// The assignment slot's strategy.
    #[serde(skip_serializing_if = "Option::is_none")]
    plugin: Option<Option<EntryView>>,
    /// The handoff slot's triggers, tried in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    triggers: Option<Vec<EntryView>>,
    /// The workflows slot's workflows.
    #[serde(skip_serializing_if = "Option::is_none")]
    workflows: Option<Vec<EntryView>>,
}

/// What runs when the bound plugins fail: `default`, `queue`, or a plugin.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub(super) enum FallbackView {
    Builtin(String),
    Plugin {
        plugin: String,
        name: String,
        version: String,
    },
}

/// One bound plugin version with its config; a workflow's also says
/// whether it is on, what it hears and when it runs.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct EntryView {
    plugin: String,
    name: String,
    version: String,
    config: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscribes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conditions: Option<Option<Conditions>>,
}

fn view(slot: Slot, binding: &Binding, custom: bool) -> BindingView {
    let entries: Vec<EntryView> = binding
        .plugins
        .iter()
        .map(|p| {
            let workflow = slot == Slot::Workflows;
            EntryView {
                plugin: p.id.clone(),
                name: p.name.clone(),
                version: p.version.clone(),
                config: p.config.clone(),
                enabled: workflow.then_some(p.enabled),
                subscribes: workflow.then(|| p.subscribes.clone()),
                conditions: workflow.then(|| p.conditions.as_deref().cloned()),
            }
        })
        .collect();
    let fallback = match &binding.fallback {
        Fallback::Default => FallbackView::Builtin("default".into()),
        Fallback::Queue => FallbackView::Builtin("queue".into()),
        Fallback::Plugin(p) => FallbackView::Plugin {
            plugin: p.id.clone(),
            name: p.name.clone(),
            version: p.version.clone(),
        },
    };
    let mut out = BindingView {
        slot,
        custom,
        fallback,
        plugin: None,
        triggers: None,
        workflows: None,
    };
    match slot {
        Slot::Assignment => out.plugin = Some(entries.into_iter().next()),
        Slot::Handoff => out.triggers = Some(entries),
        Slot::Workflows => out.workflows = Some(entries),
    }
    out
}

async fn current_view(
    store: &Store,
    tenant: &TenantId,
    slot: Slot,
) -> Result<BindingView, ApiError> {
    let custom = store.current_binding(tenant, slot).await?.is_some();
    Ok(view(
        slot,
        &spec::current(store, tenant, slot).await?,
        custom,
    ))
}

pub(super) async fn get_all(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
) -> Result<Json<BTreeMap<String, BindingView>>, ApiError> {
    let mut out = BTreeMap::new();
    for slot in Slot::ALL {
        out.insert(
            slot.as_str().to_owned(),
            current_view(&state.store, &tenant.id, *slot).await?,
        );
    }
    Ok(Json(out))
}

pub(super) async fn get(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<BindingView>, ApiError> {
    Ok(Json(
        current_view(&state.store, &tenant.id, slot(&raw)?).await?,
    ))
}

/// Bind a slot. Every plugin is resolved to an exact version and its config
/// validated before anything is written; the next event uses the binding.
pub(super) async fn put(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<BindBody>,
) -> Result<Json<BindingView>, ApiError> {
    let slot = slot(&raw)?;
    let kind = slot.kind();
    let store = &state.store;
    let plugins = match slot {
        Slot::Assignment => {
            let reference = body
                .plugin
                .ok_or_else(|| ApiError::invalid("plugin", "is required"))?;
            for (name, present) in [
                ("triggers", body.triggers.is_some()),
                ("workflows", body.workflows.is_some()),
            ] {
                if present {
                    return Err(ApiError::invalid(name, "belongs to another routing slot"));
                }
            }
            let config = body.config.unwrap_or_else(empty_object);
            vec![spec::resolve(store, &tenant.id, kind, &reference, config, "").await?]
        }
        Slot::Handoff | Slot::Workflows => {
            let (name, list) = match slot {
                Slot::Handoff => ("triggers", body.triggers),
                _ => ("workflows", body.workflows),
            };
            if body.plugin.is_some() || body.config.is_some() {
                return Err(ApiError::invalid(
                    "plugin",
                    format!("give a list in {name:?} for this slot"),
                ));
            }
            let list = list.ok_or_else(|| ApiError::invalid(name, "is required"))?;
            if list.len() > 20 {
                return Err(ApiError::invalid(name, "at most 20 entries"));
            }
            let mut resolved = Vec::new();
            for (i, mut entry) in list.into_iter().enumerate() {
                let at = format!("{name}[{i}]");
                let (enabled, conditions) = entry.workflow_parts(slot, &at)?;
                let mut resolved_entry =
                    spec::resolve(store, &tenant.id, kind, &entry.plugin, entry.config, &at)
                        .await?;
                resolved_entry.enabled = enabled;
                resolved_entry.conditions = conditions;
                resolved.push(resolved_entry);
            }
            resolved
        }
    };
    let fallback = match body.fallback.as_deref() {
        None | Some("default") => Fallback::Default,
        Some("queue") => Fallback::Queue,
        Some(reference) => Fallback::Plugin(
            spec::resolve(store, &tenant.id, kind, reference, empty_object(), "")
                .await
                .map_err(|e| match e {
                    BindError::Field { message, .. } => ApiError::invalid("fallback", message),
                    other => other.into(),
                })?,
        ),
    };
    let binding = Binding { plugins, fallback };
    let spec = serde_json::to_value(&binding).map_err(ApiError::internal)?;
    let written = store.put_binding(&tenant.id, slot, &spec).await?;
    retried(&state, &tenant.id, written.retry).await;
    Ok(Json(view(slot, &binding, true)))
}

/// Wait (a bounded time) for the queue retry a binding change set off, so
/// the answer comes after waiting conversations had their chance.
async fn retried(state: &AppState, tenant: &TenantId, event: Option<i64>) {
    if let Some(event) = event {
        state.dispatch.wait_for(tenant, event, ROUTING_WAIT).await;
    }
}

/// Restore the previous binding (the built-in default after the first).
pub(super) async fn rollback(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<BindingView>, ApiError> {
    let slot = slot(&raw)?;
    let Some(written) = state.store.rollback_binding(&tenant.id, slot).await? else {
        return Err(ApiError::conflict(format!(
            "the {slot} slot already runs the built-in default"
        )));
    };
    retried(&state, &tenant.id, written.retry).await;
    Ok(Json(current_view(&state.store, &tenant.id, slot).await?))
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct EnabledBody {
    enabled: bool,
}

/// Switch one bound workflow on or off (by plugin id or name): a new
/// version of the workflows binding, so it can be rolled back.
pub(super) async fn set_workflow_enabled(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(reference): Path<String>,
    JsonBody(body): JsonBody<EnabledBody>,
) -> Result<Json<BindingView>, ApiError> {
    let store = &state.store;
    let mut binding = spec::current(store, &tenant.id, Slot::Workflows).await?;
    let entry = binding
        .plugins
        .iter_mut()
        .find(|p| p.id == reference || p.name == reference)
        .ok_or_else(|| ApiError::not_found(format_args!("bound workflow {reference:?}")))?;
    entry.enabled = body.enabled;
    let spec = serde_json::to_value(&binding).map_err(ApiError::internal)?;
    store
        .put_binding(&tenant.id, Slot::Workflows, &spec)
        .await?;
    Ok(Json(view(Slot::Workflows, &binding, true)))
}

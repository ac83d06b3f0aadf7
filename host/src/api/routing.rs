//! Binding plugins to the routing slots, and rolling bindings back.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{JsonBody, Tenant};
use crate::domain::{Slot, TenantId};
use crate::routing::spec::{self, BindError, Binding, Fallback};
use crate::store::Store;

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

/// One plugin with its config, as given by an admin.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PluginBody {
    plugin: String,
    #[serde(default = "empty_object")]
    config: Value,
}

fn empty_object() -> Value {
    json!({})
}

/// The body of `PUT /v1/routing/{slot}`: `plugin` + `config` for the
/// assignment strategy, `triggers` for handoff, `workflows` for workflows.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BindBody {
    plugin: Option<String>,
    config: Option<Value>,
    triggers: Option<Vec<PluginBody>>,
    workflows: Option<Vec<PluginBody>>,
    /// "default", "queue", or a plugin reference.
    fallback: Option<String>,
}

fn view(slot: Slot, binding: &Binding, custom: bool) -> Value {
    let entries: Vec<Value> = binding
        .plugins
        .iter()
        .map(|p| json!({"plugin": p.id, "name": p.name, "version": p.version, "config": p.config}))
        .collect();
    let fallback = match &binding.fallback {
        Fallback::Default => json!("default"),
        Fallback::Queue => json!("queue"),
        Fallback::Plugin(p) => json!({"plugin": p.id, "name": p.name, "version": p.version}),
    };
    let mut out = json!({"slot": slot, "custom": custom, "fallback": fallback});
    match slot {
        Slot::Assignment => {
            out["plugin"] = entries.first().cloned().unwrap_or(Value::Null);
        }
        Slot::Handoff => out["triggers"] = json!(entries),
        Slot::Workflows => out["workflows"] = json!(entries),
    }
    out
}

async fn current_view(store: &Store, tenant: &TenantId, slot: Slot) -> Result<Value, ApiError> {
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
) -> Result<Json<Value>, ApiError> {
    let mut out = serde_json::Map::new();
    for slot in Slot::ALL {
        out.insert(
            slot.as_str().into(),
            current_view(&state.store, &tenant.id, *slot).await?,
        );
    }
    Ok(Json(Value::Object(out)))
}

pub(super) async fn get(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
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
) -> Result<Json<Value>, ApiError> {
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
            for (i, entry) in list.into_iter().enumerate() {
                let at = format!("{name}[{i}]");
                resolved.push(
                    spec::resolve(store, &tenant.id, kind, &entry.plugin, entry.config, &at)
                        .await?,
                );
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
    store.put_binding(&tenant.id, slot, &spec).await?;
    Ok(Json(view(slot, &binding, true)))
}

/// Restore the previous binding (the built-in default after the first).
pub(super) async fn rollback(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let slot = slot(&raw)?;
    if !state.store.rollback_binding(&tenant.id, slot).await? {
        return Err(ApiError::conflict(format!(
            "the {slot} slot already runs the built-in default"
        )));
    }
    Ok(Json(current_view(&state.store, &tenant.id, slot).await?))
}

//! What a routing binding holds: resolved plugin versions with validated
//! configs. A binding names an exact version, so uploading a newer version
//! never changes routing until an admin binds it.

use serde::{Deserialize, Serialize};

use crate::domain::{PluginKind, PluginUse, Slot, TenantId};
use crate::plugin::defaults::{KEYWORD_HANDOFF, ROUND_ROBIN};
use crate::plugin::schema::validate_config;
use crate::store::{PluginRecord, Store, StoreError};

/// What to do when the bound strategy fails.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Fallback {
    /// Run the built-in default of the slot.
    Default,
    /// Let the conversation wait in the queue.
    Queue,
    /// Run this plugin instead.
    Plugin(PluginUse),
}

/// A slot's binding in force.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Binding {
    /// The assignment strategy, or the handoff triggers / workflows in order.
    pub plugins: Vec<PluginUse>,
    pub fallback: Fallback,
}

/// Why a binding request was refused.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("{message}")]
    Field { field: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn field(field: impl Into<String>, message: impl Into<String>) -> BindError {
    BindError::Field {
        field: field.into(),
        message: message.into(),
    }
}

/// The use of a stored plugin version with `config`, enabled and with no
/// conditions.
fn use_of(record: &PluginRecord, config: serde_json::Value) -> PluginUse {
    PluginUse {
        id: record.id.clone(),
        name: record.name.clone(),
        version: record.version.clone(),
        sha256: record.sha256.clone(),
        subscribes: record.subscribes.clone(),
        config,
        enabled: true,
        conditions: None,
    }
}

/// Resolve a plugin reference for a slot and validate its config.
/// `at` is the JSON path of the entry, used in error fields.
pub async fn resolve(
    store: &Store,
    tenant: &TenantId,
    kind: PluginKind,
    reference: &str,
    config: serde_json::Value,
    at: &str,
) -> Result<PluginUse, BindError> {
    let plugin_field = if at.is_empty() {
        "plugin".to_owned()
    } else {
        format!("{at}.plugin")
    };
    let record = store.find_plugin(tenant, reference).await?.ok_or_else(|| {
        field(
            &plugin_field,
            format!("no plugin {reference:?} (give a plugin id or a name)"),
        )
    })?;
    if record.kind != kind {
        return Err(field(
            plugin_field,
            format!(
                "{} is a {}, this slot takes a {kind}",
                record.name, record.kind
            ),
        ));
    }
    if let Err(error) = validate_config(&record.config_schema, &config) {
        let name = if at.is_empty() {
            error.field
        } else {
            format!("{at}.{}", error.field)
        };
        return Err(field(name, error.message));
    }
    Ok(use_of(&record, config))
}

/// The binding a slot has when the tenant bound nothing.
pub async fn default_binding(
    store: &Store,
    tenant: &TenantId,
    slot: Slot,
) -> Result<Binding, BindError> {
    let plugins = match slot {
        Slot::Assignment => vec![
            resolve(
                store,
                tenant,
                slot.kind(),
                ROUND_ROBIN,
                serde_json::json!({}),
                "",
            )
            .await?,
        ],
        Slot::Handoff => vec![
            resolve(
                store,
                tenant,
                slot.kind(),
                KEYWORD_HANDOFF,
                serde_json::json!({}),
                "",
            )
            .await?,
        ],
        Slot::Workflows => Vec::new(),
    };
    Ok(Binding {
        plugins,
        fallback: Fallback::Default,
    })
}

/// The binding in force for a slot: the tenant's, or the default.
pub async fn current(store: &Store, tenant: &TenantId, slot: Slot) -> Result<Binding, BindError> {
    if let Some(record) = store.current_binding(tenant, slot).await? {
        if let Ok(binding) = serde_json::from_value::<Binding>(record.spec) {
            return Ok(binding);
        }
        tracing::error!(%tenant, %slot, "stored binding is unreadable; using the default");
    }
    default_binding(store, tenant, slot).await
}

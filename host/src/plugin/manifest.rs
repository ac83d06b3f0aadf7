//! Checking what a plugin says about itself.

use super::bindings::types;
use super::schema::check_schema;
use crate::domain::{EventKind, PluginKind};

/// A manifest that passed every check.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub kind: PluginKind,
    pub description: String,
    pub config_schema: serde_json::Value,
    pub subscribes: Vec<EventKind>,
}

pub fn kind_of(kind: types::PluginKind) -> PluginKind {
    match kind {
        types::PluginKind::AssignmentStrategy => PluginKind::AssignmentStrategy,
        types::PluginKind::HandoffTrigger => PluginKind::HandoffTrigger,
        types::PluginKind::Workflow => PluginKind::Workflow,
        types::PluginKind::RuleCondition => PluginKind::RuleCondition,
    }
}

pub fn event_kind(kind: types::EventKind) -> EventKind {
    match kind {
        types::EventKind::ConversationCreated => EventKind::ConversationCreated,
        types::EventKind::MessageReceived => EventKind::MessageReceived,
        types::EventKind::AgentStatusChanged => EventKind::AgentStatusChanged,
        types::EventKind::ConversationAssigned => EventKind::ConversationAssigned,
        types::EventKind::ConversationQueued => EventKind::ConversationQueued,
        types::EventKind::ConversationHandedOver => EventKind::ConversationHandedOver,
        types::EventKind::ConversationStatusChanged => EventKind::ConversationStatusChanged,
        types::EventKind::ConversationTransferred => EventKind::ConversationTransferred,
        types::EventKind::TicketCreated => EventKind::TicketCreated,
        types::EventKind::TimerFired => EventKind::TimerFired,
    }
}

/// Plugin names: lower-case letters, digits and dashes, as in package names.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
}

/// `MAJOR.MINOR.PATCH`, optionally with a `-pre` or `+build` suffix.
fn valid_version(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    version.len() <= 64
        && parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Check the manifest against the world the component actually implements.
pub fn check(raw: types::Manifest, world: PluginKind) -> Result<Manifest, String> {
    if !valid_name(&raw.name) {
        return Err(format!(
            "describe() returned the name {:?}; use 1-64 lower-case letters, digits and dashes",
            raw.name
        ));
    }
    if !valid_version(&raw.version) {
        return Err(format!(
            "describe() returned the version {:?}; use MAJOR.MINOR.PATCH",
            raw.version
        ));
    }
    let kind = kind_of(raw.kind);
    if kind != world {
        return Err(format!(
            "describe() says the plugin is a {kind} but the component implements {world}"
        ));
    }
    let config_schema: serde_json::Value = serde_json::from_str(&raw.config_schema)
        .map_err(|e| format!("describe() returned a config schema that is not JSON: {e}"))?;
    check_schema(&config_schema)
        .map_err(|e| format!("describe() returned an invalid config schema: {e}"))?;
    Ok(Manifest {
        name: raw.name,
        version: raw.version,
        kind,
        description: raw.description.chars().take(2000).collect(),
        config_schema,
        subscribes: raw.subscribes.into_iter().map(event_kind).collect(),
    })
}

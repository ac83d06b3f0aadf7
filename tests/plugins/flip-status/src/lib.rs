//! Test plugin: on `conversation-status-changed`, a conversation whose
//! status is `from` is set to `to`. Bound twice, open → snoozed and
//! snoozed → open, two workflows feed each other without end: the host's
//! loop guard must stop them.

use baton_sdk::{
    Action, ConversationStatus, Event, EventKind, Manifest, PluginError, PluginKind, Workflow, host,
};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Config {
    from: String,
    to: String,
}

fn status(name: &str) -> Result<ConversationStatus, PluginError> {
    match name {
        "open" => Ok(ConversationStatus::Open),
        "snoozed" => Ok(ConversationStatus::Snoozed),
        "closed" => Ok(ConversationStatus::Closed),
        other => Err(PluginError::InvalidConfig(format!("no status {other}"))),
    }
}

struct FlipStatus;

impl Workflow for FlipStatus {
    fn describe() -> Manifest {
        let status = json!({"enum": ["open", "snoozed", "closed"]});
        Manifest::new("flip-status", "0.1.0", PluginKind::Workflow)
            .description("Test plugin: sets status `to` whenever the status becomes `from`.")
            .config_schema(json!({
                "type": "object",
                "properties": {"from": status, "to": status},
                "required": ["from", "to"],
                "additionalProperties": false,
            }))
            .subscribes([EventKind::ConversationStatusChanged])
    }

    fn on_event(event: Event) -> Result<Vec<Action>, PluginError> {
        let config: Config = host::config()?;
        let (from, to) = (status(&config.from)?, status(&config.to)?);
        Ok(match &event.conversation {
            Some(c) if c.status == from => vec![Action::SetStatus(to)],
            _ => Vec::new(),
        })
    }
}

baton_sdk::export_workflow!(FlipStatus);

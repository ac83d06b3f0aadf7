//! Test plugin: on `ticket-created`, move the ticket to the status whose id
//! is `stage` in its config. The host must check that the status is one of
//! the ticket's pipeline and that a conditional status's properties are set.

use baton_sdk::{Action, Event, EventKind, Manifest, PluginError, PluginKind, Workflow, host};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct Config {
    stage: String,
}

struct StageOnTicket;

impl Workflow for StageOnTicket {
    fn describe() -> Manifest {
        Manifest::new("stage-on-ticket", "0.1.0", PluginKind::Workflow)
            .description("Test plugin: moves each new ticket to the status `stage`.")
            .config_schema(json!({
                "type": "object",
                "properties": {"stage": {"type": "string"}},
                "required": ["stage"],
                "additionalProperties": false,
            }))
            .subscribes([EventKind::TicketCreated])
    }

    fn on_event(event: Event) -> Result<Vec<Action>, PluginError> {
        let config: Config = host::config()?;
        Ok(match event.ticket {
            Some(_) => vec![Action::SetStage(config.stage)],
            None => Vec::new(),
        })
    }
}

baton_sdk::export_workflow!(StageOnTicket);

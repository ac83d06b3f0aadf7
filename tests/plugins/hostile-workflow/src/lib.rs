//! Test plugin: a workflow on `conversation-created` whose answer is too
//! many actions (`{"mode": "many"}`: 100,000 tags) or too large ones
//! (`{"mode": "large"}`: a 4 MiB internal note and tag).

use baton_sdk::{Action, Event, EventKind, Manifest, PluginError, PluginKind, Workflow, host};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
struct Config {
    mode: String,
}

struct HostileWorkflow;

impl Workflow for HostileWorkflow {
    fn describe() -> Manifest {
        Manifest::new("hostile-workflow", "0.1.0", PluginKind::Workflow)
            .description("Test plugin: answers with too many or too large actions.")
            .subscribes([EventKind::ConversationCreated])
            .config_schema(json!({
                "type": "object",
                "properties": {"mode": {"enum": ["many", "large"]}},
                "required": ["mode"],
                "additionalProperties": false,
            }))
    }

    fn on_event(_event: Event) -> Result<Vec<Action>, PluginError> {
        let config: Config = host::config()?;
        Ok(match config.mode.as_str() {
            "many" => (0..100_000)
                .map(|i| Action::AddTag(format!("tag-{i}")))
                .collect(),
            _ => vec![
                Action::AddInternalNote("n".repeat(4 << 20)),
                Action::AddTag("t".repeat(4 << 20)),
            ],
        })
    }
}

baton_sdk::export_workflow!(HostileWorkflow);

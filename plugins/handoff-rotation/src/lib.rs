//! Workflow template "reassign tickets for customer-agent handoff"
//! (HubSpot): when a bot hands a conversation over, give it to the next
//! owner in a rotation kept per original channel, so chats, e-mails, calls
//! and form submissions each have their own line of owners.
//!
//! Config: `{"rotations": {"chat": ["agt_…", "agt_…"], "email": ["agt_…"]}}`.
//! A channel without a rotation is left to the handoff process. The
//! position in each rotation is kept in the plugin's key-value store
//! (`next:<channel>`).

use baton_sdk::{
    Action, Event, EventKind, HandoffTarget, Manifest, PluginError, PluginKind, Workflow, host,
};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Channel name → agent ids, in turn order.
    #[serde(default)]
    rotations: BTreeMap<String, Vec<String>>,
}

struct HandoffRotation;

impl Workflow for HandoffRotation {
    fn describe() -> Manifest {
        let agents = json!({"type": "array", "items": {"type": "string", "pattern": "^agt_[0-9a-f]{32}$"}, "minItems": 1});
        baton_sdk::manifest!("handoff-rotation", PluginKind::Workflow)
            .description(
                "Reassign tickets for customer-agent handoff: a handed-over conversation goes \
                 to the next owner of a rotation kept per original channel.",
            )
            .config_schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "handoff-rotation",
                "type": "object",
                "properties": {
                    "rotations": {
                        "description": "Per channel, the agents who take handed-over conversations in turn.",
                        "type": "object",
                        "properties": {"chat": agents, "email": agents, "call": agents, "form": agents},
                        "additionalProperties": false,
                    },
                },
                "required": ["rotations"],
                "additionalProperties": false,
            }))
            .subscribes([EventKind::ConversationHandedOver])
    }

    fn on_event(event: Event) -> Result<Vec<Action>, PluginError> {
        let config: Config = host::config()?;
        let Some(channel) = event.conversation.as_ref().map(|c| c.channel.name()) else {
            return Ok(Vec::new());
        };
        let key = format!("next:{channel}");
        let position = host::kv::get(&key)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.parse().ok())
            .unwrap_or(0usize);
        let Some((agent, next)) = turn(&config, channel, position) else {
            return Ok(Vec::new());
        };
        if let Err(error) = host::kv::set(&key, next.to_string()) {
            host::warn(&format!(
                "handoff-rotation: could not move the rotation: {error:?}"
            ));
        }
        Ok(vec![Action::Assign(HandoffTarget::Agent(agent))])
    }
}

baton_sdk::export_workflow!(HandoffRotation);

/// The owner whose turn it is on `channel` at `position`, and the next position.
fn turn(config: &Config, channel: &str, position: usize) -> Option<(String, usize)> {
    let rotation = config.rotations.get(channel).filter(|r| !r.is_empty())?;
    let at = position % rotation.len();
    Some((rotation[at].clone(), (at + 1) % rotation.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        serde_json::from_value(
            json!({"rotations": {"chat": ["agt_a", "agt_b"], "email": ["agt_c"]}}),
        )
        .expect("config")
    }

    #[test]
    fn each_channel_rotates_on_its_own() {
        let config = config();
        assert_eq!(turn(&config, "chat", 0), Some(("agt_a".into(), 1)));
        assert_eq!(turn(&config, "chat", 1), Some(("agt_b".into(), 0)));
        assert_eq!(turn(&config, "email", 0), Some(("agt_c".into(), 0)));
        // A position past the end (the rotation got shorter) wraps around.
        assert_eq!(turn(&config, "chat", 7), Some(("agt_b".into(), 0)));
        assert_eq!(turn(&config, "call", 0), None);
    }
}

//! Test plugin: a workflow built directly against the frozen
//! `baton:plugin@0.1.0` contract (`wit/released/0.1.0`), as a plugin
//! compiled before 0.2.0 existed would be. On `conversation-created` it
//! tags the conversation "legacy" and moves it to the team named in its
//! config, exercising a 0.1.0 action the host must convert.

#![allow(unsafe_code, unreachable_pub)]

wit_bindgen::generate!({
    path: "../../../wit/released/0.1.0",
    world: "workflow",
});

use baton::plugin::host;
use baton::plugin::types::{
    Action, Event, EventKind, HandoffTarget, Manifest, PluginError, PluginKind,
};

struct LegacyTagger;

impl exports::baton::plugin::meta::Guest for LegacyTagger {
    fn describe() -> Manifest {
        Manifest {
            name: "legacy-tagger".into(),
            version: "0.1.0".into(),
            kind: PluginKind::Workflow,
            description: "Test plugin built against baton:plugin@0.1.0".into(),
            config_schema: r#"{"type":"object","properties":{"team":{"type":"string"}},"additionalProperties":false}"#.into(),
            subscribes: vec![EventKind::ConversationCreated],
        }
    }
}

impl exports::baton::plugin::automation::Guest for LegacyTagger {
    fn on_event(event: Event) -> Result<Vec<Action>, PluginError> {
        if event.kind != EventKind::ConversationCreated {
            return Ok(Vec::new());
        }
        let mut actions = vec![Action::AddTag("legacy".into())];
        // The config is JSON text; a plain search keeps this fixture free of
        // dependencies beyond wit-bindgen.
        let config = host::config();
        if let Some(team) = config
            .split("\"team\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        {
            actions.push(Action::Assign(HandoffTarget::Team(team.to_owned())));
        }
        Ok(actions)
    }
}

export!(LegacyTagger);

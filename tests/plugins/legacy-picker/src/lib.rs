//! Test plugin: an assignment strategy built directly against the frozen
//! `baton:plugin@0.2.0` contract (`wit/released/0.2.0`), as a plugin
//! compiled before 0.3.0 existed would be: its candidates carry their ids
//! as fields. It picks the available candidate with room on the
//! conversation's channel whose id is the greatest, so its choice tells it
//! apart from every default strategy, and names in its reason how many
//! candidates it was given.

#![allow(unsafe_code, unreachable_pub)]

wit_bindgen::generate!({
    path: "../../../wit/released/0.2.0",
    world: "assignment-strategy",
});

use baton::plugin::types::{
    AssignTo, AssignmentDecision, AssignmentRequest, Candidate, Channel, Manifest, PluginError,
    PluginKind, Presence,
};

struct LegacyPicker;

impl exports::baton::plugin::meta::Guest for LegacyPicker {
    fn describe() -> Manifest {
        Manifest {
            name: "legacy-picker".into(),
            version: "0.1.0".into(),
            kind: PluginKind::AssignmentStrategy,
            description: "Test plugin built against baton:plugin@0.2.0".into(),
            config_schema: "{}".into(),
            subscribes: Vec::new(),
        }
    }
}

fn can_take(candidate: &Candidate, channel: Channel) -> bool {
    let load = match channel {
        Channel::Chat => candidate.load.chat,
        Channel::Email => candidate.load.email,
        Channel::Call => candidate.load.call,
        Channel::Form => candidate.load.form,
    };
    candidate.presence == Presence::Available && load.open < load.capacity
}

impl exports::baton::plugin::strategy::Guest for LegacyPicker {
    fn decide(request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        let channel = request.conversation.channel;
        let chosen = request
            .candidates
            .iter()
            .filter(|c| can_take(c, channel))
            .max_by(|a, b| a.id.cmp(&b.id));
        Ok(match chosen {
            Some(agent) => AssignmentDecision::Assign(AssignTo {
                agent: agent.id.clone(),
                reason: format!(
                    "legacy-picker: greatest id of {} candidates",
                    request.candidates.len()
                ),
            }),
            None => AssignmentDecision::Queue("legacy-picker: nobody has room".into()),
        })
    }
}

export!(LegacyPicker);

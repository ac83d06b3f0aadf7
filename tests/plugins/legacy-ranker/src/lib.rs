//! Test plugin: an assignment strategy built directly against the frozen
//! `baton:plugin@0.3.0` contract (`wit/released/0.3.0`), as a plugin
//! compiled before 0.4.0 existed would be: its candidates are plain-number
//! records with their ids in one string, and carry no teams. It picks the
//! available candidate with room on the conversation's channel whose id is
//! the smallest, and names in its reason how many candidates it was given
//! and the ids it read, so a request laid out wrong shows.

#![allow(unsafe_code, unreachable_pub)]

wit_bindgen::generate!({
    path: "../../../wit/released/0.3.0",
    world: "assignment-strategy",
});

use baton::plugin::types::{
    AssignTo, AssignmentDecision, AssignmentRequest, Candidate, Channel, Manifest, PluginError,
    PluginKind,
};

struct LegacyRanker;

impl exports::baton::plugin::meta::Guest for LegacyRanker {
    fn describe() -> Manifest {
        Manifest {
            name: "legacy-ranker".into(),
            version: "0.1.0".into(),
            kind: PluginKind::AssignmentStrategy,
            description: "Test plugin built against baton:plugin@0.3.0".into(),
            config_schema: "{}".into(),
            subscribes: Vec::new(),
        }
    }
}

/// In 0.3.0 presence 0 is `available`.
fn can_take(candidate: &Candidate, channel: Channel) -> bool {
    let load = match channel {
        Channel::Chat => candidate.load.chat,
        Channel::Email => candidate.load.email,
        Channel::Call => candidate.load.call,
        Channel::Form => candidate.load.form,
    };
    candidate.presence == 0 && load.open < load.capacity
}

impl exports::baton::plugin::strategy::Guest for LegacyRanker {
    fn decide(request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        if request.id_ends.len() != request.candidates.len() {
            return Err(PluginError::InvalidInput(
                "ids and candidates differ".into(),
            ));
        }
        let mut ids = Vec::with_capacity(request.candidates.len());
        let mut start = 0;
        for &end in &request.id_ends {
            let id = request
                .ids
                .get(start..end as usize)
                .ok_or_else(|| PluginError::InvalidInput(format!("an id ends at {end}")))?;
            ids.push(id);
            start = end as usize;
        }
        let channel = request.conversation.channel;
        let chosen = ids
            .iter()
            .zip(&request.candidates)
            .filter(|(_, c)| can_take(c, channel))
            .map(|(id, _)| *id)
            .min();
        Ok(match chosen {
            Some(agent) => AssignmentDecision::Assign(AssignTo {
                agent: agent.into(),
                reason: format!(
                    "legacy-ranker: smallest id of {} candidates ({})",
                    ids.len(),
                    ids.join(",")
                ),
            }),
            None => AssignmentDecision::Queue("legacy-ranker: nobody has room".into()),
        })
    }
}

export!(LegacyRanker);

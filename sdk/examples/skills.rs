//! Example: a skills-based assignment strategy.
//!
//! Skills live in the config (the host's snapshot carries no skills, so a
//! tenant states them once, where the strategy reads them): which agent has
//! which skills, and which conversation attributes name the skills a
//! conversation needs. The conversation goes to the least-loaded available
//! agent who has every needed skill.
//!
//! ```json
//! {"agents": {"agt_…": ["billing", "ja"]}, "attributes": ["topic", "language"]}
//! ```
//!
//! Build: `cargo build -p baton-sdk --example skills --release --target wasm32-wasip2`.

use std::collections::BTreeMap;

use baton_sdk::{
    AssignTo, AssignmentDecision, AssignmentRequest, AssignmentStrategy, JsonSchema, Manifest,
    PluginError, PluginKind, host,
};
use serde::Deserialize;

/// Who has which skills, and where a conversation says what it needs.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Agent id → the skills they have.
    pub agents: BTreeMap<String, Vec<String>>,
    /// Conversation attributes whose values are needed skills.
    pub attributes: Vec<String>,
}

pub struct Skills;

impl AssignmentStrategy for Skills {
    fn describe() -> Manifest {
        Manifest::new("skills", "0.1.0", PluginKind::AssignmentStrategy)
            .description("The least-loaded available agent with every skill the conversation needs")
            .config_schema_for::<Config>()
    }

    fn decide(request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        let config: Config = host::config()?;
        Ok(choose(&config, &request))
    }
}

baton_sdk::export_assignment_strategy!(Skills);

/// The skills `request`'s conversation needs, from its attributes.
fn needed(config: &Config, request: &AssignmentRequest) -> Vec<String> {
    let attributes = request.conversation.attributes();
    config
        .attributes
        .iter()
        .filter_map(|key| attributes.get(key)?.as_str().map(str::to_lowercase))
        .collect()
}

pub fn choose(config: &Config, request: &AssignmentRequest) -> AssignmentDecision {
    let needs = needed(config, request);
    let channel = request.conversation.channel;
    let skilled = |id: &str| {
        let has = config.agents.get(id).map(Vec::as_slice).unwrap_or_default();
        needs
            .iter()
            .all(|n| has.iter().any(|h| h.eq_ignore_ascii_case(n)))
    };
    match request
        .available()
        .filter(|c| skilled(c.id))
        .min_by_key(|c| c.open_on(channel))
    {
        Some(agent) => AssignmentDecision::Assign(AssignTo {
            agent: agent.id.to_owned(),
            reason: format!("skills: {} has {:?}", agent.id, needs),
        }),
        None => AssignmentDecision::Queue(format!("skills: nobody free has {needs:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_sdk::Channel;
    use baton_sdk::testing::{agent, assignment, conversation};
    use serde_json::json;

    fn config() -> Config {
        serde_json::from_value(json!({
            "agents": {"agt_en": ["billing", "en"], "agt_ja": ["billing", "ja"], "agt_ja2": ["ja"]},
            "attributes": ["topic", "language"],
        }))
        .expect("config")
    }

    #[test]
    fn only_agents_with_every_needed_skill_qualify() {
        let request = assignment(
            conversation("cnv_1")
                .attribute("topic", json!("Billing"))
                .attribute("language", json!("ja")),
        )
        .candidate(agent("agt_en"))
        .candidate(agent("agt_ja2"))
        .candidate(agent("agt_ja").load(Channel::Chat, 2, 3))
        .build();
        match choose(&config(), &request) {
            AssignmentDecision::Assign(to) => assert_eq!(to.agent, "agt_ja"),
            other => panic!("{other:?}"),
        }
        let busy = assignment(conversation("cnv_2").attribute("language", json!("fr")))
            .candidate(agent("agt_en"))
            .build();
        assert!(matches!(
            choose(&config(), &busy),
            AssignmentDecision::Queue(_)
        ));
    }
}

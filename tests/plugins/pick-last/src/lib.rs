//! Test plugin: a working custom strategy. Among the agents who can take the
//! conversation it picks the greatest id, or the smallest with
//! `{"prefer": "first"}`, so tests can tell it apart from the defaults.
//! With `{"team": id}` it picks among that team's members only, whatever
//! the conversation's scope (the candidates' teams, since contract 0.4.0),
//! and its reason ends with the chosen agent's teams.

use baton_sdk::{
    AssignTo, AssignmentDecision, AssignmentRequest, AssignmentStrategy, Manifest, PluginError,
    PluginKind, host,
};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    prefer: Prefer,
    #[serde(default)]
    team: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Prefer {
    #[default]
    Last,
    First,
}

struct PickLast;

impl AssignmentStrategy for PickLast {
    fn describe() -> Manifest {
        Manifest::new("pick-last", "0.1.0", PluginKind::AssignmentStrategy)
            .description(
                "Test plugin: picks the eligible agent with the greatest (or smallest) id.",
            )
            .config_schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "pick-last",
                "type": "object",
                "properties": {
                    "prefer": {
                        "description": "\"last\" picks the greatest id, \"first\" the smallest.",
                        "enum": ["last", "first"],
                        "default": "last",
                    },
                    "team": {
                        "description": "Pick among this team's members only (a team id).",
                        "type": "string",
                    },
                },
                "additionalProperties": false,
            }))
    }

    fn decide(request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        let config: Config = host::config()?;
        let channel = request.conversation.channel;
        let eligible = request
            .candidates
            .iter()
            .filter(|c| c.can_take(channel) && config.team.as_deref().is_none_or(|t| c.in_team(t)));
        let chosen = match config.prefer {
            Prefer::Last => eligible.max_by(|a, b| a.id.cmp(b.id)),
            Prefer::First => eligible.min_by(|a, b| a.id.cmp(b.id)),
        };
        Ok(match chosen {
            Some(agent) => AssignmentDecision::Assign(AssignTo {
                agent: agent.id.to_owned(),
                reason: format!(
                    "pick-last: {} ({:?}), teams [{}]",
                    agent.id,
                    config.prefer,
                    agent.teams.iter().collect::<Vec<_>>().join(", ")
                ),
            }),
            None => AssignmentDecision::Queue("pick-last: nobody can take it".to_owned()),
        })
    }
}

baton_sdk::export_assignment_strategy!(PickLast);

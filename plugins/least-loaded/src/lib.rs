//! Assignment strategy: the agent with the fewest open conversations.
//!
//! Among the agents who can take the conversation, the one with the fewest
//! open conversations wins; `scope` says whether to count every channel or
//! only the conversation's. Ties go to whoever waited longest since their
//! last assignment (never assigned counts as longest), then to the smaller id,
//! so the same snapshot always gives the same answer.

use baton_sdk::{
    AssignTo, AssignmentDecision, AssignmentRequest, AssignmentStrategy, Candidate, Channel,
    Manifest, PluginError, PluginKind, host,
};
use serde::Deserialize;
use serde_json::json;

/// The plugin's config.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    scope: Scope,
}

/// Which open conversations count as load.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Scope {
    /// Open conversations on every channel.
    #[default]
    All,
    /// Open conversations on the conversation's channel only.
    Channel,
}

struct LeastLoaded;

impl AssignmentStrategy for LeastLoaded {
    fn describe() -> Manifest {
        baton_sdk::manifest!("least-loaded", PluginKind::AssignmentStrategy)
            .description(
                "Gives each conversation to the available agent with the fewest open \
                 conversations; ties go to whoever was assigned least recently.",
            )
            .config_schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "least-loaded",
                "type": "object",
                "properties": {
                    "scope": {
                        "description": "Which open conversations count: \"all\" counts \
                                        every channel, \"channel\" only the conversation's \
                                        channel.",
                        "enum": ["all", "channel"],
                        "default": "all",
                    },
                },
                "additionalProperties": false,
            }))
    }

    fn decide(request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        let config: Config = host::config()?;
        let channel = request.conversation.channel;
        Ok(
            match least_loaded(&request.candidates, channel, config.scope) {
                Some((agent, open)) => {
                    let counted = match config.scope {
                        Scope::All => "open conversations",
                        Scope::Channel => "open conversations on this channel",
                    };
                    AssignmentDecision::Assign(AssignTo {
                        agent: agent.id.to_owned(),
                        reason: format!(
                            "least-loaded: {} has the fewest {counted} ({open})",
                            agent.id
                        ),
                    })
                }
                None => AssignmentDecision::Queue(
                    "least-loaded: no agent can take this conversation now".to_owned(),
                ),
            },
        )
    }
}

baton_sdk::export_assignment_strategy!(LeastLoaded);

/// The eligible candidate with the least load, and that load.
fn least_loaded<'a>(
    candidates: impl IntoIterator<Item = Candidate<'a>>,
    channel: Channel,
    scope: Scope,
) -> Option<(Candidate<'a>, u32)> {
    candidates
        .into_iter()
        .filter(|c| c.can_take(channel))
        .map(|c| {
            let open = match scope {
                Scope::All => c.total_open(),
                Scope::Channel => c.open_on(channel),
            };
            (c, open)
        })
        // `None` sorts before every `Some`, so never-assigned agents count as
        // the longest waiting.
        .min_by(|(a, a_open), (b, b_open)| {
            (a_open, a.last_assigned_at_ms, a.id).cmp(&(b_open, b.last_assigned_at_ms, b.id))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_sdk::{ChannelLoad, ChannelLoads, Presence};

    fn agent(
        id: &'static str,
        chat: u32,
        email: u32,
        last_assigned: Option<i64>,
    ) -> Candidate<'static> {
        let load = |open| ChannelLoad { open, capacity: 5 };
        Candidate {
            id,
            presence: Presence::Available,
            load: ChannelLoads {
                chat: load(chat),
                email: load(email),
                call: load(0),
                form: load(0),
            },
            available_since_ms: None,
            idle_since_ms: None,
            last_assigned_at_ms: last_assigned,
            handled: 0,
            teams: Default::default(),
        }
    }

    fn pick(candidates: &[Candidate], scope: Scope) -> Option<(String, u32)> {
        least_loaded(candidates.iter().copied(), Channel::Chat, scope)
            .map(|(c, open)| (c.id.to_owned(), open))
    }

    #[test]
    fn scope_decides_what_counts() {
        let team = [agent("agt_a", 1, 0, None), agent("agt_b", 0, 3, None)];
        assert_eq!(pick(&team, Scope::All), Some(("agt_a".into(), 1)));
        assert_eq!(pick(&team, Scope::Channel), Some(("agt_b".into(), 0)));
    }

    #[test]
    fn ties_go_to_the_longest_waiting_then_the_smaller_id() {
        let team = [
            agent("agt_c", 1, 0, Some(200)),
            agent("agt_b", 1, 0, Some(100)),
            agent("agt_a", 1, 0, Some(300)),
        ];
        assert_eq!(pick(&team, Scope::All), Some(("agt_b".into(), 1)));
        let never = [agent("agt_b", 1, 0, Some(100)), agent("agt_z", 1, 0, None)];
        assert_eq!(pick(&never, Scope::All), Some(("agt_z".into(), 1)));
        let same = [agent("agt_b", 1, 0, None), agent("agt_a", 1, 0, None)];
        assert_eq!(pick(&same, Scope::All), Some(("agt_a".into(), 1)));
    }

    #[test]
    fn only_eligible_agents_count() {
        let mut away = agent("agt_a", 0, 0, None);
        away.presence = Presence::Away;
        let mut full = agent("agt_b", 0, 0, None);
        full.load.chat.open = 5;
        assert_eq!(pick(&[away, full], Scope::All), None);
        assert_eq!(
            pick(&[full, agent("agt_c", 4, 0, None)], Scope::All),
            Some(("agt_c".into(), 4))
        );
    }

    #[test]
    fn config_defaults_and_values() {
        let parse = |json: &str| serde_json::from_str::<Config>(json).map(|c| c.scope).ok();
        assert_eq!(parse("{}"), Some(Scope::All));
        assert_eq!(parse(r#"{"scope":"channel"}"#), Some(Scope::Channel));
        assert_eq!(parse(r#"{"scope":"team"}"#), None);
        assert_eq!(parse(r#"{"other":1}"#), None);
    }
}

//! Assignment strategy: the agent who has handled the fewest conversations.
//!
//! Among the agents who can take the conversation, the one with the smallest
//! `handled` count (conversations given to them in all, not just the open
//! ones) gets it, which evens out the number of conversations each agent
//! handles over time. Ties go to whoever has waited longest for work (an
//! agent with no idle time recorded counts as the longest), then to the
//! smaller id, so the same snapshot always gives the same answer.

use baton_sdk::{
    AssignTo, AssignmentDecision, AssignmentRequest, AssignmentStrategy, Candidate, Channel,
    Manifest, PluginError, PluginKind,
};
use serde_json::json;

struct FewestHandled;

impl AssignmentStrategy for FewestHandled {
    fn describe() -> Manifest {
        baton_sdk::manifest!("fewest-handled", PluginKind::AssignmentStrategy)
            .description(
                "Gives each conversation to the available agent who has handled the fewest \
                 conversations in all; ties go to whoever has waited longest for work.",
            )
            .config_schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "fewest-handled",
                "description": "fewest-handled takes no settings.",
                "type": "object",
                "properties": {},
                "additionalProperties": false,
            }))
    }

    fn decide(request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        let channel = request.conversation.channel;
        Ok(match fewest_handled(&request.candidates, channel) {
            Some(agent) => AssignmentDecision::Assign(AssignTo {
                agent: agent.id.to_owned(),
                reason: format!(
                    "fewest-handled: {} has handled the fewest conversations ({})",
                    agent.id, agent.handled
                ),
            }),
            None => AssignmentDecision::Queue(format!(
                "fewest-handled: no agent can take a {} conversation now",
                channel.name()
            )),
        })
    }
}

baton_sdk::export_assignment_strategy!(FewestHandled);

/// The eligible candidate with the smallest `handled`; ties go to the
/// earliest `idle_since_ms`, then the smaller id.
fn fewest_handled<'a>(
    candidates: impl IntoIterator<Item = Candidate<'a>>,
    channel: Channel,
) -> Option<Candidate<'a>> {
    candidates
        .into_iter()
        .filter(|c| c.can_take(channel))
        // `None` sorts before every `Some`: an agent with no recorded idle
        // time has, as far as we know, waited longest.
        .min_by(|a, b| (a.handled, a.idle_since_ms, a.id).cmp(&(b.handled, b.idle_since_ms, b.id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_sdk::{ChannelLoad, ChannelLoads, Presence};

    fn agent(
        id: &'static str,
        handled: u32,
        open: u32,
        idle_since: Option<i64>,
    ) -> Candidate<'static> {
        let none = ChannelLoad {
            open: 0,
            capacity: 0,
        };
        Candidate {
            id,
            presence: Presence::Available,
            load: ChannelLoads {
                chat: ChannelLoad { open, capacity: 3 },
                email: none,
                call: none,
                form: none,
            },
            available_since_ms: Some(0),
            idle_since_ms: idle_since,
            last_assigned_at_ms: None,
            handled,
            teams: Default::default(),
        }
    }

    fn pick(candidates: &[Candidate]) -> Option<String> {
        fewest_handled(candidates.iter().copied(), Channel::Chat).map(|c| c.id.to_owned())
    }

    #[test]
    fn fewest_handled_in_all_wins_not_fewest_open() {
        // B has more open now but fewer in all.
        let team = [
            agent("agt_a", 10, 0, Some(1)),
            agent("agt_b", 4, 2, Some(5)),
        ];
        assert_eq!(pick(&team).as_deref(), Some("agt_b"));
    }

    #[test]
    fn ties_go_to_the_longest_waiting_then_smaller_id() {
        let team = [
            agent("agt_a", 3, 0, Some(900)),
            agent("agt_b", 3, 0, Some(100)),
        ];
        assert_eq!(pick(&team).as_deref(), Some("agt_b"));
        let team = [agent("agt_a", 3, 0, Some(100)), agent("agt_b", 3, 0, None)];
        assert_eq!(pick(&team).as_deref(), Some("agt_b"));
        let team = [
            agent("agt_b", 3, 0, Some(100)),
            agent("agt_a", 3, 0, Some(100)),
        ];
        assert_eq!(pick(&team).as_deref(), Some("agt_a"));
    }

    #[test]
    fn only_agents_who_can_take_it() {
        let mut away = agent("agt_a", 0, 0, None);
        away.presence = Presence::Offline;
        let full = agent("agt_b", 0, 3, None);
        assert_eq!(pick(&[away, full]), None);
        let team = [away, full, agent("agt_c", 50, 1, Some(7))];
        assert_eq!(pick(&team).as_deref(), Some("agt_c"));
        assert_eq!(fewest_handled(team, Channel::Email), None);
        assert_eq!(pick(&[]), None);
    }
}

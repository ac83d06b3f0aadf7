//! Assignment strategy: the agent who has waited longest for work.
//!
//! Among the agents who can take the conversation, the one whose
//! `idle-since-ms` is earliest gets it: the agent who has gone longest
//! without work since becoming available or finishing their last
//! conversation. An agent with no idle time recorded counts as the longest
//! waiting. Ties go to whoever was assigned least recently (never assigned
//! first), then to the smaller id, so the same snapshot always gives the same
//! answer.

use baton_sdk::{
    AssignTo, AssignmentDecision, AssignmentRequest, AssignmentStrategy, Candidate, Channel,
    Manifest, PluginError, PluginKind,
};
use serde_json::json;

struct LongestWaiting;

impl AssignmentStrategy for LongestWaiting {
    fn describe() -> Manifest {
        baton_sdk::manifest!("longest-waiting", PluginKind::AssignmentStrategy)
            .description(
                "Gives each conversation to the available agent who has waited longest \
                 for work since becoming available or finishing their last conversation.",
            )
            .config_schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "longest-waiting",
                "description": "longest-waiting takes no settings.",
                "type": "object",
                "properties": {},
                "additionalProperties": false,
            }))
    }

    fn decide(request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        let channel = request.conversation.channel;
        Ok(match longest_waiting(&request.candidates, channel) {
            Some(agent) => {
                let reason = match agent.idle_since_ms {
                    Some(since) => format!(
                        "longest-waiting: {} has waited since {since} (ms since the epoch), \
                         the longest of those who can take it",
                        agent.id
                    ),
                    None => format!(
                        "longest-waiting: {} has no idle time recorded, which counts as \
                         the longest wait",
                        agent.id
                    ),
                };
                AssignmentDecision::Assign(AssignTo {
                    agent: agent.id.to_owned(),
                    reason,
                })
            }
            None => AssignmentDecision::Queue(format!(
                "longest-waiting: no agent can take a {} conversation now",
                channel.name()
            )),
        })
    }
}

baton_sdk::export_assignment_strategy!(LongestWaiting);

/// The eligible candidate with the earliest `idle_since_ms`; ties go to the
/// earliest `last_assigned_at_ms`, then the smaller id.
fn longest_waiting<'a>(
    candidates: impl IntoIterator<Item = Candidate<'a>>,
    channel: Channel,
) -> Option<Candidate<'a>> {
    candidates
        .into_iter()
        .filter(|c| c.can_take(channel))
        // `None` sorts before every `Some`: an agent with no recorded idle
        // time or no assignment yet has, as far as we know, waited longest.
        .min_by(|a, b| {
            (a.idle_since_ms, a.last_assigned_at_ms, a.id).cmp(&(
                b.idle_since_ms,
                b.last_assigned_at_ms,
                b.id,
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_sdk::{ChannelLoad, ChannelLoads, Presence};

    /// An available agent who takes one call at a time and has `open` calls.
    fn caller(id: &str, open: u32, idle_since: Option<i64>) -> Candidate<'_> {
        let none = ChannelLoad {
            open: 0,
            capacity: 0,
        };
        Candidate {
            id,
            presence: Presence::Available,
            load: ChannelLoads {
                chat: none,
                email: none,
                call: ChannelLoad { open, capacity: 1 },
                form: none,
            },
            available_since_ms: Some(0),
            idle_since_ms: idle_since,
            last_assigned_at_ms: None,
            handled: 0,
            teams: Default::default(),
        }
    }

    fn pick(candidates: &[Candidate]) -> Option<String> {
        longest_waiting(candidates.iter().copied(), Channel::Call).map(|c| c.id.to_owned())
    }

    #[test]
    fn the_agent_free_longest_gets_the_call() {
        // Ten agents on calls; A hung up at 1000, then B at 2000. The busy
        // ones have no idle time, which would win were they not filtered out.
        let busy: Vec<String> = (0..8).map(|i| format!("agt_busy{i}")).collect();
        let mut team: Vec<Candidate> = busy.iter().map(|id| caller(id, 1, None)).collect();
        team.push(caller("agt_b", 0, Some(2000)));
        team.push(caller("agt_a", 0, Some(1000)));
        assert_eq!(pick(&team).as_deref(), Some("agt_a"));

        // A takes that call and is busy again: B is next.
        let a = team.iter_mut().find(|c| c.id == "agt_a").unwrap();
        a.load.call.open = 1;
        a.idle_since_ms = None;
        assert_eq!(pick(&team).as_deref(), Some("agt_b"));
    }

    #[test]
    fn ties_go_to_least_recently_assigned_then_smaller_id() {
        let at = |id: &'static str, last: Option<i64>| {
            let mut c = caller(id, 0, Some(500));
            c.last_assigned_at_ms = last;
            c
        };
        let team = [at("agt_a", Some(300)), at("agt_c", Some(100))];
        assert_eq!(pick(&team).as_deref(), Some("agt_c"));
        let team = [at("agt_a", Some(100)), at("agt_z", None)];
        assert_eq!(pick(&team).as_deref(), Some("agt_z"));
        let team = [at("agt_b", None), at("agt_a", None)];
        assert_eq!(pick(&team).as_deref(), Some("agt_a"));
    }

    #[test]
    fn unknown_idle_time_counts_as_longest() {
        let team = [caller("agt_a", 0, Some(1)), caller("agt_b", 0, None)];
        assert_eq!(pick(&team).as_deref(), Some("agt_b"));
    }

    #[test]
    fn only_agents_who_can_take_it() {
        let mut away = caller("agt_a", 0, Some(1));
        away.presence = Presence::Away;
        let full = caller("agt_b", 1, Some(2));
        assert_eq!(pick(&[away, full]), None);
        assert_eq!(
            pick(&[away, caller("agt_c", 0, Some(9))]).as_deref(),
            Some("agt_c")
        );
        // Nobody works chat.
        assert_eq!(
            longest_waiting([caller("agt_d", 0, None)], Channel::Chat),
            None
        );
        assert_eq!(pick(&[]), None);
    }
}

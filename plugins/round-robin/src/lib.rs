//! Baton's default assignment strategy: agents take turns.
//!
//! Agents are ordered by id. The plugin remembers the last agent it gave a
//! conversation to (kv key [`LAST`]) and gives the next one to the first agent
//! after them in that order who can take it, wrapping around at the end.
//! Remembering an id rather than a position keeps the turn fair when agents
//! join, leave or go away between decisions.

use baton_sdk::{
    AssignTo, AssignmentDecision, AssignmentRequest, AssignmentStrategy, Candidate, Candidates,
    Channel, Manifest, PluginError, PluginKind, host,
};
use serde_json::json;

/// The kv key holding the id of the agent who got the last conversation.
const LAST: &str = "last";

struct RoundRobin;

impl AssignmentStrategy for RoundRobin {
    fn describe() -> Manifest {
        baton_sdk::manifest!("round-robin", PluginKind::AssignmentStrategy)
            .description(
                "Agents take turns in id order; each conversation goes to the next agent \
                 who is available with room on its channel.",
            )
            .config_schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "round-robin",
                "description": "round-robin takes no settings.",
                "type": "object",
                "properties": {},
                "additionalProperties": false,
            }))
    }

    fn decide(request: AssignmentRequest) -> Result<AssignmentDecision, PluginError> {
        let channel = request.conversation.channel;
        // Anything that is not valid UTF-8 cannot be an id we wrote: start over.
        let last = host::kv::get(LAST).and_then(|bytes| String::from_utf8(bytes).ok());
        let Some(next) = next_agent(&request.candidates, channel, last.as_deref()) else {
            return Ok(AssignmentDecision::Queue(format!(
                "round-robin: no agent can take a {} conversation now",
                channel.name()
            )));
        };
        if let Err(e) = host::kv::set(LAST, next.id) {
            // Still assign: a stalled rotation is better than an unassigned
            // conversation, and the log says why turns repeat.
            host::warn(&format!(
                "round-robin: could not remember {}: {e:?}",
                next.id
            ));
        }
        let reason = match &last {
            // Plain concatenation: `format!` costs a few times more inside
            // the sandbox, on every decision.
            Some(last) => ["round-robin: next after ", last].concat(),
            None => "round-robin: first in order".to_owned(),
        };
        Ok(AssignmentDecision::Assign(AssignTo {
            agent: next.id.to_owned(),
            reason,
        }))
    }
}

baton_sdk::export_assignment_strategy!(RoundRobin);

/// The first candidate, in id order, who can take `channel` and comes after
/// `last`; wraps around to the first who can when nobody comes after.
///
/// The host passes candidates in id order, so where `last` stands is found
/// by bisection and no id is compared more than a few times: comparing ids
/// that share a long prefix is most of what this decision would otherwise
/// cost in the sandbox.
fn next_agent<'a>(
    candidates: &'a Candidates,
    channel: Channel,
    last: Option<&str>,
) -> Option<Candidate<'a>> {
    let start = match last.map(|last| candidates.position(last)) {
        None => 0,
        // `last` is still a candidate: start after them.
        Some(Ok(at)) => at + 1,
        // `last` left: start where they would stand.
        Some(Err(at)) => at,
    };
    let after = candidates.iter().skip(start);
    let before = candidates.iter().take(start);
    after.chain(before).find(|c| c.can_take(channel))
}

#[cfg(test)]
mod tests {
    use super::*;
    use baton_sdk::testing::{CandidateBuilder, agent, assignment, conversation};

    fn team(agents: impl IntoIterator<Item = CandidateBuilder>) -> Candidates {
        agents
            .into_iter()
            .fold(assignment(conversation("cnv_1")), |request, a| {
                request.candidate(a)
            })
            .build()
            .candidates
    }

    fn pick(candidates: &Candidates, last: Option<&str>) -> Option<String> {
        next_agent(candidates, Channel::Chat, last).map(|c| c.id.to_owned())
    }

    #[test]
    fn takes_turns_in_id_order_and_wraps() {
        let team = team([agent("agt_c"), agent("agt_a"), agent("agt_b")]);
        assert_eq!(pick(&team, None).as_deref(), Some("agt_a"));
        assert_eq!(pick(&team, Some("agt_a")).as_deref(), Some("agt_b"));
        assert_eq!(pick(&team, Some("agt_b")).as_deref(), Some("agt_c"));
        assert_eq!(pick(&team, Some("agt_c")).as_deref(), Some("agt_a"));
    }

    #[test]
    fn skips_agents_who_cannot_take_it() {
        let team = team([
            agent("agt_a"),
            agent("agt_b").away(),
            agent("agt_c").load(Channel::Chat, 2, 2),
        ]);
        assert_eq!(pick(&team, Some("agt_a")).as_deref(), Some("agt_a"));
        // The last agent left the team: continue from where they stood.
        assert_eq!(pick(&team, Some("agt_aa")).as_deref(), Some("agt_a"));
        assert_eq!(pick(&team, Some("agt_0")).as_deref(), Some("agt_a"));
        assert_eq!(pick(&team, Some("agt_z")).as_deref(), Some("agt_a"));
        let full = self::team([agent("agt_a").load(Channel::Chat, 3, 3)]);
        assert_eq!(pick(&full, None), None);
    }

    #[test]
    fn a_departed_last_agent_hands_the_turn_to_the_next_in_order() {
        let team = team([agent("agt_a"), agent("agt_c"), agent("agt_e")]);
        assert_eq!(pick(&team, Some("agt_b")).as_deref(), Some("agt_c"));
        assert_eq!(pick(&team, Some("agt_d")).as_deref(), Some("agt_e"));
    }

    #[test]
    fn nobody_eligible() {
        let offline = team([agent("agt_a").offline()]);
        assert_eq!(pick(&offline, None), None);
        assert_eq!(pick(&team([]), Some("agt_a")), None);
    }
}
